package main

import (
	"context"
	"time"

	"github.com/musterhq/muster/console"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/staff"
	"github.com/musterhq/muster/web"
)

// initConsole serves the staff console on its own listener, which stays
// inside the studio's network in production.
func initConsole(p *platform) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	enf, err := rbac.New(ctx, p.db, p.state, p.log)
	if err != nil {
		return err
	}
	if err := enf.Seed(ctx); err != nil {
		return err
	}
	p.runners = append(p.runners, runner{name: "rbac reload", run: enf.Run})
	secret, _ := decodeSecretKey(p.cfg.SecretKey)
	st := staff.NewStore(p.db, p.hasher, secret, staff.Config{})
	if p.dev {
		p.seeds = append(p.seeds, func(ctx context.Context) error { return seedDemoStaff(ctx, st, p.log) })
	}
	d := console.Deps{DB: p.db, Auth: p.auth, Staff: st, RBAC: enf, Limiter: p.state, Log: p.log, Secure: p.cfg.Env == "production",
		Catalog: p.catalog, Ledger: p.ledger, Inventory: p.inventory, Store: p.store,
		Content: p.meta.content, Matches: p.meta.matches, Servers: p.meta.servers,
		Fleet: fleet.NewRegistry(p.db, fleet.Config{HeartbeatEvery: p.cfg.SessionsHeartbeat, HeartbeatTimeout: p.cfg.SessionsHeartbeatTimeout}), Progression: p.meta.progression,
		BattlePass: p.meta.battlepass}
	f := console.NewFrame(d)
	cfg := p.webConfig()
	cfg.ErrorPage = console.ErrorPage(f)
	app := web.New(cfg, p.log, p.metrics)
	app.Use(p.health.CloseWhenDraining())
	console.Mount(app, f, d)
	p.apps = append(p.apps, served{name: "console", addr: p.cfg.ConsoleAddr, app: app})
	return nil
}
