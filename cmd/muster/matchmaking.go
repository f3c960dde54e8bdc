package main

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/rating"
)

// initMatchmaking runs the matchmaker (one replica per queue at a time,
// under a lease) and serves the players' queue routes.
func initMatchmaking(p *platform) error {
	mm := matchmaking.NewMatchmaker(p.db, p.meta.matchmaking, matchmaking.Config{Tick: p.cfg.MatchmakingTick, Lease: p.cfg.MatchmakingLease}, p.reg, p.log)
	p.runners = append(p.runners, runner{name: "matchmaker", run: mm.Run})
	api.MountMatchmaking(p.public, api.Matchmaking{Service: p.meta.matchmaking, Verifier: p.tokens,
		Limiter: p.state, WriteLimit: auth.Rule(p.cfg.RateMatchmaking), Log: p.log})
	return nil
}

// ratingPool places a match's ratings: a match the matchmaker formed in
// its queue's pool (what the queue reads when it matches), any other match
// a game server opened in its mode's pool (the demo queues are named after
// their modes, so both meet).
func ratingPool(ctx context.Context, tx *sqlx.Tx, matchID, mode string) (string, bool, error) {
	pool, ok, err := matchmaking.PoolOf(ctx, tx, matchID, mode)
	if err != nil || ok {
		return pool, ok, err
	}
	return rating.ModePool(ctx, tx, matchID, mode)
}
