package main

import (
	"context"
	"fmt"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/rating"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
	"github.com/musterhq/muster/domain/state"
)

// metagame is what the player, progression and worker targets and the
// console share: live-ops content, match results, and the stores that apply
// them.
type metagame struct {
	content     *content.Store
	matches     *match.Store
	servers     *match.Servers
	payer       *reward.Payer
	progression *progression.Store
	battlepass  *battlepass.Store
	challenges  *challenge.Store
	ratings     *rating.Store
	players     *player.Store
	notify      *notify.Store
	friends     *friend.Store
	presence    *presence.Tracker
	parties     *party.Service
	matchmaking *matchmaking.Service
}

// initMetagame builds the metagame stores and registers their content kinds.
func initMetagame(p *platform) error {
	g := &metagame{content: content.New(p.db), matches: match.New(p.db, nil), servers: match.NewServers(p.db, p.cfg.ServerCredentialCache)}
	g.payer = reward.NewPayer(p.inventory, p.ledger)
	g.progression = progression.New(p.db, g.payer, p.ledger)
	g.battlepass = battlepass.New(p.db, g.payer, p.ledger, battlepass.Config{Grace: p.cfg.BattlePassGrace})
	g.challenges = challenge.New(p.db, g.payer, challenge.Config{})
	ratings, err := rating.New(p.db, rating.Config{PoolOf: ratingPool})
	if err != nil {
		return fmt.Errorf("ratings: %w", err)
	}
	g.ratings = ratings
	g.notify = notify.NewStore(p.db, notify.Config{PublishWindow: p.cfg.RealtimeResumeWindow})
	g.friends = friend.NewStore(p.db, friend.Config{})
	accounts, bus := account.NewStore(p.db), push.New(p.state)
	g.presence = presence.New(p.state, bus, g.friends, accounts, presence.Config{TTL: p.cfg.RealtimePresenceTTL}, p.log)
	g.parties = party.New(party.Deps{Store: p.state, Bus: bus, Friends: g.friends, Accounts: accounts,
		Notifier: party.OutboxNotifier{DB: p.db}, Presence: g.presence, Log: p.log},
		party.Config{MaxSize: p.cfg.PartyMaxSize, DefaultSize: p.cfg.PartyDefaultSize})
	g.matchmaking = matchmaking.NewService(p.db, g.parties, g.ratings, accounts, bus, p.log)
	g.parties.SetQueue(g.matchmaking)
	g.players = player.New(p.db, p.state, p.inventory, player.Config{SettingsMaxBytes: p.cfg.SettingsMaxBytes, Log: p.log})
	g.content.Register(match.ModeKind())
	g.content.Register(season.ContentKind())
	g.content.Register(matchmaking.QueueKind())
	g.content.Register(g.battlepass.ContentKind())
	kinds := append(g.progression.ContentKinds(), g.challenges.ContentKinds()...)
	for _, k := range append(kinds, g.players.Kinds()...) {
		g.content.Register(k)
	}
	p.meta = g
	if p.dev {
		p.seeds = append(p.seeds, func(ctx context.Context) error { return seedDemoProgression(ctx, p) })
	}
	return nil
}

// consumers are the outbox consumers that apply accepted match results and
// deliver notifications (published through ps); the worker target runs them.
func (g *metagame) consumers(ps state.PubSub) []outbox.Consumer {
	return []outbox.Consumer{g.progression.Consumer(), g.battlepass.Consumer(), g.challenges.Consumer(), g.players.StatsConsumer(),
		g.ratings.Consumer(),
		// A level-up or prestige changes the profile players see.
		g.players.ProfileCacheConsumer(progression.TopicLevelUp),
		// Players' notifications: stored, then published to the gateways.
		g.notify.Consumer(), g.notify.Publisher(ps),
		// Matches no server could take wait again.
		g.matchmaking.RequeueConsumer()}
}

// registerConsumers subscribes the metagame consumers on the worker's relay.
func registerConsumers(p *platform) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range p.meta.consumers(p.state) {
		if err := p.relay.Register(ctx, c); err != nil {
			return fmt.Errorf("register consumer %s: %w", c.Name, err)
		}
	}
	return nil
}

// initPlayer serves players their profile, loadouts, settings and stats.
func initPlayer(p *platform) error {
	api.MountPlayer(p.public, api.Player{Players: p.meta.players, Verifier: p.tokens,
		Limiter: p.state, WriteLimit: auth.Rule(p.cfg.RatePlayerData), Log: p.log})
	return nil
}

// initProgression serves players their level, prestige, unlock trees, battle
// pass and challenges, and game servers the match routes.
func initProgression(p *platform) error {
	api.MountProgression(p.public, api.Progression{Progression: p.meta.progression, Verifier: p.tokens, Log: p.log})
	api.MountBattlePass(p.public, api.BattlePass{BattlePass: p.meta.battlepass, Verifier: p.tokens,
		Limiter: p.state, WriteLimit: auth.Rule(p.cfg.RateStore), Log: p.log})
	api.MountChallenges(p.public, api.Challenges{Challenges: p.meta.challenges, Verifier: p.tokens})
	api.MountMatches(p.public, api.Matches{Matches: p.meta.matches, Servers: p.meta.servers})
	return nil
}
