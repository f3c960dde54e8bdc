package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/pprof"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
)

// sharedState is the fast shared state every service may use: Redis when
// several processes run, the in-process twin in dev.
type sharedState interface {
	state.Limiter
	state.KV
	state.PubSub
	state.Presence
}

// platform is what modules build a process from: the shared infrastructure
// and the places where modules mount routes and background work.
type platform struct {
	cfg      Config
	log      *slog.Logger
	dev      bool // muster dev: migrate on start and use in-process state
	seedDemo bool // muster dev on a local database: seed demo accounts
	reg      *prometheus.Registry
	metrics  *web.Metrics
	health   *web.Health
	tracing  *sdktrace.TracerProvider // nil unless otlp-endpoint is set

	db     *sqlx.DB
	state  sharedState
	public *fiber.App // nil unless a module serves the player API
	apps   []served   // listeners besides ops: the player API, the console
	relay  *outbox.Relay
	keys   *session.Keys
	deny   *session.DenyList
	tokens *session.Tokens
	hasher *account.Hasher
	auth   *auth.Service

	catalog   *catalog.Store
	ledger    *ledger.Ledger
	inventory *inventory.Store
	store     *store.Store
	meta      *metagame

	runners []runner
	seeds   []func(context.Context) error // demo content, run by dev after start-up
	closers []func() error
}

// served is a fiber app on its own listen address.
type served struct {
	name, addr string
	app        *fiber.App
	ln         net.Listener
}

type runner struct {
	name string
	run  func(ctx context.Context) error
}

func newPlatform(cfg Config, log *slog.Logger, dev bool) *platform {
	reg := web.NewRegistry()
	return &platform{cfg: cfg, log: log, dev: dev, reg: reg, metrics: web.NewMetrics(reg), health: web.NewHealth(2 * time.Second)}
}

func (p *platform) webConfig() web.Config {
	return web.Config{
		BodyLimit: p.cfg.BodyLimit, ReadTimeout: p.cfg.ReadTimeout, WriteTimeout: p.cfg.WriteTimeout, IdleTimeout: p.cfg.IdleTimeout,
		ProxyHeader: p.cfg.ProxyHeader, TrustedProxies: splitList(p.cfg.TrustedProxies),
		Tracing: p.tracerProvider(),
	}
}

// tracerProvider is the tracer provider, or nil (not a typed nil) when
// tracing is off so that web and the relay skip it entirely.
func (p *platform) tracerProvider() trace.TracerProvider {
	if p.tracing == nil {
		return nil
	}
	return p.tracing
}

// registerModules is the binary's module registry. Later targets
// (matchmaking) register here with their dependencies.
func registerModules() *modules {
	m := newModules()
	m.internal("database", initDatabase)
	m.internal("state", initState)
	m.internal("server", initServer)
	m.internal("tokens", initTokens, "database", "state")
	m.internal("relay", initRelay, "database")
	m.target("worker", initWorker, "database", "state", "economy", "payments", "metagame", "relay")
	m.internal("identity", initIdentity, "tokens")
	m.target("auth", initAuth, "identity", "server")
	m.internal("economy", initEconomy, "database")
	m.internal("payments", initPayments, "economy")
	m.target("store", initStore, "payments", "tokens", "server")
	m.target("inventory", initInventory, "economy", "tokens", "server")
	m.target("console", initConsole, "identity", "economy", "payments", "metagame")
	m.internal("metagame", initMetagame, "economy", "state")
	m.target("progression", initProgression, "metagame", "tokens", "server")
	m.target("player", initPlayer, "metagame", "tokens", "server")
	m.target("realtime", initRealtime, "metagame", "tokens", "server")
	m.target("sessions", initSessions, "metagame", "tokens", "server", "relay")
	m.target("matchmaking", initMatchmaking, "metagame", "tokens", "server")
	return m
}

func initDatabase(p *platform) error {
	if p.cfg.DatabaseURL == "" {
		return errors.New("database-url is required: set --database-url or MUSTER_DATABASE_URL")
	}
	// A database that does not answer in 5 s stops start-up with its reason.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := db.Open(ctx, p.cfg.DatabaseURL, db.Pool{MaxOpen: p.cfg.DBMaxOpen, MaxIdle: p.cfg.DBMaxIdle, MaxLifetime: p.cfg.DBConnMaxLifetime, MaxIdleTime: 5 * time.Minute})
	if err != nil {
		return err
	}
	p.closers = append(p.closers, conn.Close)
	mig, err := db.NewMigrator(conn)
	if err != nil {
		return err
	}
	if p.dev {
		applied, err := mig.Up(ctx)
		if err != nil {
			return err
		}
		for _, a := range applied {
			p.log.Info("migration applied", "version", a.Version, "name", a.Name)
		}
	}
	if err := mig.Check(ctx); err != nil {
		return err
	}
	p.db = conn
	p.reg.MustRegister(collectors.NewDBStatsCollector(conn.DB, "muster"))
	p.health.AddCheck("database", func(ctx context.Context) error { return conn.PingContext(ctx) })
	// Start-up refuses a schema behind or ahead of the binary; readiness
	// only fails when it is behind, so the migration of a rolling update
	// does not take the previous release's pods out of service.
	p.health.AddCheck("schema", mig.CheckNotBehind)
	return nil
}

func initState(p *platform) error {
	if p.cfg.RedisURL == "" {
		if !p.dev {
			return errors.New("redis-url is required: set --redis-url or MUSTER_REDIS_URL")
		}
		p.log.Info("shared state is in-process (single node only)")
		p.state = state.NewMemory()
		return nil
	}
	opts, err := redis.ParseURL(p.cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("redis-url is invalid: %w", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return fmt.Errorf("redis at %s is not reachable: %w", opts.Addr, err)
	}
	p.closers = append(p.closers, client.Close)
	p.state = state.NewRedis(client, p.cfg.RedisPrefix)
	p.health.AddCheck("redis", func(ctx context.Context) error { return client.Ping(ctx).Err() })
	return nil
}

// initServer creates the public HTTP app that service targets mount routes on.
func initServer(p *platform) error {
	p.public = web.New(p.webConfig(), p.log, p.metrics)
	p.public.Use(p.health.CloseWhenDraining())
	p.apps = append(p.apps, served{name: "http", addr: p.cfg.HTTPAddr, app: p.public})
	return nil
}

// initRelay runs the outbox relay of this process. The modules that
// consume events (the worker's consumers, sessions' allocator) register
// their consumers on p.relay; it delivers only theirs, so a process running
// only sessions allocates formed matches and nothing else.
func initRelay(p *platform) error {
	p.relay = outbox.NewRelay(p.db, p.cfg.DatabaseURL, p.log, p.reg, outbox.Config{MaxAttempts: p.cfg.OutboxMaxAttempts, PollInterval: p.cfg.OutboxPoll, Workers: p.cfg.OutboxWorkers, Tracing: p.tracerProvider()})
	p.runners = append(p.runners, runner{name: "outbox relay", run: p.relay.Run})
	return nil
}

// initWorker runs the worker's consumers on the relay, and its periodic
// jobs.
func initWorker(p *platform) error {
	p.runners = append(p.runners, housekeeping(p), sweeper(p), reconciler(p))
	return registerConsumers(p)
}

// serve initialises mods, serves until ctx ends, then shuts down gracefully:
// /readyz turns false, listeners stop accepting after the drain delay,
// in-flight requests and background work finish within the shutdown timeout.
func (p *platform) serve(ctx context.Context, mods []module) (err error) {
	defer p.close()
	if err := initTracing(p); err != nil {
		return err
	}
	for _, m := range mods {
		if err := m.init(p); err != nil {
			return fmt.Errorf("start %s: %w", m.name, err)
		}
	}
	if !p.seedDemo {
		p.seeds = nil
	}
	for _, seed := range p.seeds {
		seedCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err := seed(seedCtx)
		cancel()
		if err != nil {
			return fmt.Errorf("seed demo content: %w", err)
		}
	}
	if len(p.seeds) > 0 {
		p.log.Info("demo content ready (see README: demo player)", "demo_player", demoEmail)
	}

	ops := web.New(p.webConfig(), p.log, p.metrics)
	ops.Use(p.health.CloseWhenDraining())
	if p.cfg.OpsPprof {
		ops.Use(pprof.New())
	}
	web.MountOps(ops, p.health, p.reg)
	opsLn, err := net.Listen("tcp", p.cfg.OpsAddr)
	if err != nil {
		return fmt.Errorf("ops-addr %s: %w", p.cfg.OpsAddr, err)
	}
	for i := range p.apps {
		a := &p.apps[i]
		if a.ln, err = net.Listen("tcp", a.addr); err != nil {
			opsLn.Close()
			for _, b := range p.apps[:i] {
				b.ln.Close()
			}
			return fmt.Errorf("%s listen address %s: %w", a.name, a.addr, err)
		}
	}

	failed := make(chan error, 1+len(p.apps)+len(p.runners))
	go func() { failed <- listen("ops", ops, opsLn) }()
	for _, a := range p.apps {
		go func() { failed <- listen(a.name, a.app, a.ln) }()
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var work sync.WaitGroup
	for _, r := range p.runners {
		work.Add(1)
		go func() {
			defer work.Done()
			if err := r.run(workCtx); err != nil && workCtx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", r.name, err)
			}
		}()
	}
	attrs := []any{"ops_addr", opsLn.Addr().String()}
	for _, a := range p.apps {
		attrs = append(attrs, a.name+"_addr", a.ln.Addr().String())
	}
	p.log.Info("muster is up", attrs...)

	select {
	case <-ctx.Done():
		p.log.Info("shutting down", "drain_delay", p.cfg.DrainDelay.String(), "shutdown_timeout", p.cfg.ShutdownTimeout.String())
	case err = <-failed:
		p.log.Error("stopping after a failure", "err", err)
	}

	p.health.Drain()
	if err == nil && p.cfg.DrainDelay > 0 {
		time.Sleep(p.cfg.DrainDelay)
	}
	deadline, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, a := range p.apps {
		if e := a.app.ShutdownWithContext(deadline); e != nil {
			errs = append(errs, fmt.Errorf("%s shutdown: %w", a.name, e))
		}
	}
	stopWork()
	finished := make(chan struct{})
	go func() { work.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-deadline.Done():
		errs = append(errs, errors.New("background work did not stop before the shutdown timeout"))
	}
	if e := ops.ShutdownWithContext(deadline); e != nil {
		errs = append(errs, fmt.Errorf("ops shutdown: %w", e))
	}
	if err != nil {
		errs = append([]error{err}, errs...)
	}
	if len(errs) == 0 {
		p.log.Info("stopped cleanly")
	}
	return errors.Join(errs...)
}

func listen(name string, app *fiber.App, ln net.Listener) error {
	if err := app.Listener(ln); err != nil {
		return fmt.Errorf("%s listener: %w", name, err)
	}
	return nil
}

func (p *platform) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		_ = p.closers[i]()
	}
}
