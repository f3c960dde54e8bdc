package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/web/agones"
)

// The matchmaker fills the seats sessions ask for.
var _ fleet.Backfiller = (*matchmaking.Service)(nil)

// initSessions runs the sessions service: the game server routes of the
// fleet (register, heartbeat, allocations, players, end) and the player's
// live match, the sweeper of silent servers, and, on this process's relay,
// the consumers that allocate formed matches and end the allocations of
// matches whose results were accepted, with the loop that retries matches
// waiting for a server. Allocating here rather than in the worker keeps the
// allocator's settings (and the Agones token) in the sessions pods only.
func initSessions(p *platform) error {
	registry := fleet.NewRegistry(p.db, fleet.Config{HeartbeatEvery: p.cfg.SessionsHeartbeat, HeartbeatTimeout: p.cfg.SessionsHeartbeatTimeout})
	servers := p.meta.servers
	scfg := fleet.SessionsConfig{AllocateWithin: p.cfg.SessionsAllocateWithin, Fleet: p.cfg.SessionsFleet}
	var alloc fleet.Allocator = registry
	switch p.cfg.SessionsAllocator {
	case "agones":
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sv, err := servers.Named(ctx, p.cfg.AgonesServer)
		if err != nil {
			return fmt.Errorf("agones-server: %w", err)
		}
		var ca []byte
		if p.cfg.AgonesCAFile != "" {
			if ca, err = os.ReadFile(p.cfg.AgonesCAFile); err != nil {
				return fmt.Errorf("agones-ca-file: %w", err)
			}
		}
		if alloc, err = agones.New(agones.Config{BaseURL: p.cfg.AgonesURL, Namespace: p.cfg.AgonesNamespace,
			Token: p.cfg.AgonesToken, CA: ca, Fleet: p.cfg.SessionsFleet, Server: sv}); err != nil {
			return err
		}
	default:
		// The registry allocates in PostgreSQL: many matches per
		// transaction share one commit.
		scfg.Batch = 50
	}
	// Players who leave a running match are replaced from its queue when
	// the queue backfills: the matchmaker takes the request.
	sessions := fleet.NewSessions(p.db, alloc, p.meta.matches, scfg, p.log, p.reg).WithBackfill(p.meta.matchmaking)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range sessions.Consumers() {
		if err := p.relay.Register(ctx, c); err != nil {
			return fmt.Errorf("register consumer %s: %w", c.Name, err)
		}
	}
	api.MountSessions(p.public, api.Sessions{Registry: registry, Sessions: sessions, Servers: servers, Verifier: p.tokens})
	p.runners = append(p.runners,
		runner{name: "sessions retry", run: sessions.Run},
		runner{name: "fleet sweeper", run: func(ctx context.Context) error {
			return registry.RunSweeper(ctx, p.cfg.SessionsSweepEvery, p.log, p.reg)
		}})
	return nil
}
