package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
)

// Demo metagame content: two modes, a running season with its battle pass,
// daily and weekly challenges, an XP curve with rewards and prestige, and
// unlock trees.
func demoContent(now time.Time) []struct {
	kind, id string
	body     any
} {
	items := func(id string) reward.Reward {
		return reward.Reward{Items: []inventory.Line{{ItemID: id, Quantity: 1}}}
	}
	coins := func(n int64) reward.Reward {
		return reward.Reward{Currencies: []reward.Amount{{Currency: credits, Amount: n}}}
	}
	bounds := map[string]int64{match.StatKills: 60, match.StatDeaths: 60, match.StatAssists: 60, match.StatDamage: 20000,
		match.StatHeadshots: 60, match.StatRevives: 30, match.StatScore: 20000, match.StatSecondsPlayed: 2700}
	classes := []string{"assault_rifle", "smg", "sniper", "shotgun", "pistol"}
	xpPerLevel := make([]int64, 49)
	for i := range xpPerLevel {
		xpPerLevel[i] = 1000 + int64(i)*100
	}
	start := now.Truncate(24*time.Hour).AddDate(0, 0, -7)
	tiers := make([]battlepass.DocTier, 50)
	for i := range tiers {
		tiers[i].Free = coins(100)
		switch {
		case i == 0:
			tiers[i].Premium = items("skin.vandal.neon")
		case i == 49:
			tiers[i].Premium = items("skin.ghost.nightfall")
		case i%10 == 9:
			tiers[i].Premium = items("skin.kestrel.molten")
		default:
			tiers[i].Premium = coins(250)
		}
	}
	ch := func(id, name string, g challenge.Goal, n int64) challenge.Challenge {
		return challenge.Challenge{ID: id, Name: name, Goal: g, Reward: coins(n), Weight: 1}
	}
	season1 := season.Season{Name: "Season 1: Landfall", StartsAt: start, EndsAt: start.AddDate(0, 0, 70)}
	return []struct {
		kind, id string
		body     any
	}{
		{match.KindMode, "br_quads", match.Mode{Name: "Battle Royale Quads", Teams: 38, TeamSize: 4, MaxDurationSeconds: 2700,
			Bounds: bounds, WeaponClasses: classes,
			XP: match.XPRules{PerMinute: 20, PerKill: 100, PerAssist: 40, PerRevive: 60, Win: 2000,
				Placement: []int64{1000, 700, 500, 400, 300, 200, 150, 100, 50, 25}, Max: 10000}}},
		{match.KindMode, "tdm_6v6", match.Mode{Name: "Team Deathmatch 6v6", Teams: 2, TeamSize: 6, MaxDurationSeconds: 900,
			Bounds: bounds, WeaponClasses: classes,
			XP: match.XPRules{PerMinute: 30, PerKill: 50, PerAssist: 20, Win: 500, Placement: []int64{500, 100}, Max: 5000}}},
		{season.Kind, "s1", season1},
		{matchmaking.KindQueue, "br_quads", matchmaking.Queue{Name: "Battle Royale Quads", Mode: "br_quads", TeamSize: 4, Teams: 38,
			Regions: []string{"eu-west", "us-east"}, PartyMin: 1, PartyMax: 4,
			Skill: matchmaking.Widening{Start: 4, PerSecond: 0.25, Max: 30}, Latency: matchmaking.Widening{Start: 60, PerSecond: 1, Max: 150},
			MaxWaitSeconds: 120, Fallback: matchmaking.FallbackBots, MinPlayers: 60, Backfill: true}},
		{matchmaking.KindQueue, "tdm_6v6", matchmaking.Queue{Name: "Team Deathmatch 6v6", Mode: "tdm_6v6", TeamSize: 6, Teams: 2,
			Regions: []string{"eu-west", "us-east"}, PartyMin: 1, PartyMax: 6,
			Skill: matchmaking.Widening{Start: 3, PerSecond: 0.2, Max: 20}, Latency: matchmaking.Widening{Start: 60, PerSecond: 1, Max: 120},
			MaxWaitSeconds: 90, Fallback: matchmaking.FallbackBots, MinPlayers: 4, Backfill: true}},
		{progression.KindCurve, progression.CurveID, progression.Curve{XPPerLevel: xpPerLevel,
			Rewards: []progression.LevelReward{{Level: 5, Reward: coins(500)}, {Level: 10, Reward: items("charm.dice")},
				{Level: 25, Reward: items("emote.salute")}, {Level: 50, Reward: coins(5000)}},
			Prestige: progression.PrestigeRules{MaxRank: 10, Rewards: []progression.RankReward{{Rank: 1, Reward: items("banner.founders")}}}}},
		{battlepass.Kind, "s1", battlepass.Doc{XPPerTier: 5000, Tiers: tiers,
			PremiumPrice: &battlepass.Price{Currency: "muster_points", Amount: 950}, TierSkipPrice: &battlepass.Price{Currency: "muster_points", Amount: 150}}},
		{challenge.KindPool, "daily", challenge.Pool{Challenges: []challenge.Challenge{
			ch("kills-10", "Get 10 kills", challenge.Goal{Metric: challenge.MetricKills, Target: 10}, 150),
			ch("ar-kills-5", "Get 5 kills with assault rifles", challenge.Goal{Metric: challenge.MetricKills, Target: 5, WeaponClass: "assault_rifle"}, 150),
			ch("smg-kills-5", "Get 5 kills with SMGs", challenge.Goal{Metric: challenge.MetricKills, Target: 5, WeaponClass: "smg"}, 150),
			ch("play-3", "Play 3 matches", challenge.Goal{Metric: challenge.MetricMatches, Target: 3}, 100),
			ch("top-10", "Place top 10 twice", challenge.Goal{Metric: challenge.MetricPlacement, Target: 2, Placement: 10, Modes: []string{"br_quads"}}, 200),
			ch("revive-3", "Revive 3 teammates", challenge.Goal{Metric: challenge.MetricRevives, Target: 3}, 150),
		}}},
		{challenge.KindPool, "weekly", challenge.Pool{Challenges: []challenge.Challenge{
			ch("win-3", "Win 3 matches", challenge.Goal{Metric: challenge.MetricWins, Target: 3}, 1000),
			ch("xp-50k", "Earn 50,000 XP", challenge.Goal{Metric: challenge.MetricXP, Target: 50000}, 800),
			ch("damage-20k", "Deal 20,000 damage", challenge.Goal{Metric: challenge.MetricDamage, Target: 20000}, 800),
			ch("headshots-50", "Land 50 headshots", challenge.Goal{Metric: challenge.MetricHeadshots, Target: 50}, 800),
		}}},
		{challenge.KindRotation, challenge.RotationID, challenge.Rotation{
			Regions: map[string]challenge.Region{
				"americas": {Timezone: "America/New_York", ResetAt: "04:00", Countries: []string{"US", "CA", "BR", "MX"}},
				"europe":   {Timezone: "Europe/Berlin", ResetAt: "04:00", Countries: []string{"DE", "FR", "GB", "PL", "ES", "IT"}},
			},
			DefaultRegion: "europe", WeeklyDay: "tuesday",
			Daily:  challenge.Slate{Pool: "daily", Count: 3, Rerolls: 1},
			Weekly: challenge.Slate{Pool: "weekly", Count: 3, Rerolls: 1},
		}},
		{progression.KindTree, "kestrel", progression.Tree{Name: "Kestrel AR", Kind: "weapon", Nodes: []progression.Node{
			{ID: "base", Name: "Kestrel AR", Reward: items("weapon.ar.kestrel")},
			{ID: "uav", Name: "UAV Token", Requires: []string{"base"}, MinLevel: 5, Cost: &reward.Amount{Currency: credits, Amount: 200}, Reward: items("consumable.uav")},
			{ID: "arctic", Name: "Arctic finish", Requires: []string{"uav"}, MinLevel: 20, Cost: &reward.Amount{Currency: credits, Amount: 1500}, Reward: items("skin.kestrel.arctic")},
		}}},
		{progression.KindTree, "operators", progression.Tree{Name: "Operators", Kind: "operator", Nodes: []progression.Node{
			{ID: "rook", Name: "Rook", MinLevel: 3, Reward: items("operator.rook")},
			{ID: "ghost", Name: "Ghost", Requires: []string{"rook"}, MinLevel: 15, Cost: &reward.Amount{Currency: credits, Amount: 2500}, Reward: items("operator.ghost")},
		}}},
	}
}

// seedDemoProgression publishes the demo metagame content that is not there
// yet; documents a designer already made are left as they are.
func seedDemoProgression(ctx context.Context, p *platform) error {
	for _, d := range demoContent(time.Now()) {
		if _, err := p.meta.content.Get(ctx, d.kind, d.id); err == nil {
			continue
		} else if !errors.Is(err, content.ErrNotFound) {
			return err
		}
		body, err := json.Marshal(d.body)
		if err != nil {
			return err
		}
		doc, err := p.meta.content.SaveDraft(ctx, d.kind, d.id, "", body, content.Edit{Editor: "muster dev"})
		if err != nil {
			return fmt.Errorf("seed %s %s: %w", d.kind, d.id, err)
		}
		if _, err := p.meta.content.Publish(ctx, d.kind, d.id, content.Edit{Expected: doc.DraftRevision, Editor: "muster dev"}); err != nil {
			return fmt.Errorf("publish %s %s: %w", d.kind, d.id, err)
		}
	}
	return nil
}
