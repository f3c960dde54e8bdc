// Command muster is Muster's one binary: it serves any subset of the
// platform's targets, runs the embedded development platform, and applies
// database migrations.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `muster: a self-hosted backend for live-service multiplayer games

usage: muster <command> [flags]

commands:
  serve            run the targets named by --target (default all) against PostgreSQL and Redis
  dev              run every target in one process with demo data, finding or starting PostgreSQL
  migrate up       apply pending database migrations
  migrate status   list migrations and whether each is applied
  keys rotate      make a new access-token signing key active (nobody is logged out)
  keys reseal      re-seal signing keys and staff TOTP secrets under a new MUSTER_SECRET_KEY
                   (the current one in MUSTER_OLD_SECRET_KEY)
  staff create     create a console staff account: --email ADDRESS --role ROLE
  audit verify     check the audit log's hash chain
  ledger verify    check that every currency transfer balances and every balance matches its entries
  servers create   register a dedicated game server credential: --name NAME (printed once)
  fleet list       the registered game server processes and the load per region
  fleet drain ID   stop new matches going to a process (it finishes its own); fleet resume ID undoes it
  simulate         replay a day of matchmaking arrivals on a simulated clock: --queue, --peak, --duration
  bots             simulated players load a running platform end to end and check it: --players,
                   --duration, --ramp, --scenario, --target (docs/bots.md)
  health           exit 0 if the muster process on this host is ready (its ops listener's /readyz)
  version          print the version

Run "muster <command> -h" for the command's flags. Every flag can also be set
through its MUSTER_* environment variable (--database-url: MUSTER_DATABASE_URL).
`

// gcPercent is muster's GOGC unless the environment sets one: its live heap
// is small next to the memory it is given, so Go's default of 100 collects
// far more often than it needs to and takes CPU from requests. In a
// container, GOMEMLIMIT (set from the memory limit by deploy/k8s) still
// bounds the heap.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, registerModules(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one muster command with the modules of registry and returns
// the process exit code. A
// failure is reported on stderr as one line that names its cause.
func run(ctx context.Context, registry *modules, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, registry, rest, getenv, stderr)
	case "dev":
		err = cmdDev(ctx, registry, rest, getenv, stderr)
	case "migrate":
		err = cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "staff":
		err = cmdStaff(ctx, rest, getenv, stdout, stderr)
	case "keys":
		err = cmdKeys(ctx, rest, getenv, stdout, stderr)
	case "audit":
		err = cmdAudit(ctx, rest, getenv, stdout, stderr)
	case "ledger":
		err = cmdLedger(ctx, rest, getenv, stdout, stderr)
	case "servers":
		err = cmdServers(ctx, rest, getenv, stdout, stderr)
	case "fleet":
		err = cmdFleet(ctx, rest, getenv, stdout, stderr)
	case "simulate":
		err = cmdSimulate(ctx, rest, stdout, stderr)
	case "bots":
		err = cmdBots(ctx, rest, getenv, stdout, stderr)
	case "health":
		err = cmdHealth(ctx, rest, getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "muster", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "muster: unknown command %q; commands: serve, dev, migrate, keys, audit, ledger, servers, fleet, simulate, bots, staff, health, version\n", cmd)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "muster %s: %s\n", cmd, oneLine(err.Error()))
		return 1
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func cmdServe(ctx context.Context, registry *modules, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, _, err := parseConfig("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	mods, err := registry.resolve(cfg.Target)
	if err != nil {
		return err
	}
	if err := require(&cfg, "database-url", "redis-url"); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	logConfig(log, &cfg)
	return newPlatform(cfg, log, false).serve(ctx, mods)
}

// newLogger logs JSON, or text when stderr is a terminal and the format is auto.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	text := cfg.LogFormat == "text"
	if cfg.LogFormat == "auto" {
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				text = true
			}
		}
	}
	if text {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
