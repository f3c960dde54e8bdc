package main

import (
	"context"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/matchmaking"
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

// unratedPlayers rates every player 0 until the ratings service answers.
type unratedPlayers struct{}

func (unratedPlayers) Ordinals(_ context.Context, _ string, ids []int64) (map[int64]float64, error) {
	out := make(map[int64]float64, len(ids))
	for _, id := range ids {
		out[id] = 0
	}
	return out, nil
}
