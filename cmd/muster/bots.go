package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/bench/bots"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
)

// multiFlag is a flag that may be given more than once.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// devDatabases are where `muster dev` keeps its data on this machine: the
// local server, else its private cluster.
var devDatabases = []string{
	"postgres://postgres@127.0.0.1:5432/" + devDBName + "?sslmode=disable",
	"postgres://postgres@127.0.0.1:" + devPort + "/" + devDBName + "?sslmode=disable",
}

// cmdBots runs simulated players against a running platform and reports
// (bench/bots, docs/bots.md): `muster bots --players 2000 --duration 2m`
// against `muster dev`. It exits non-zero when a player met an unexpected
// error or a check failed.
func cmdBots(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	players := fs.Int("players", 0, "simulated players, 1 to 100000 (default: the scenario's, 20)")
	duration := fs.Duration("duration", 0, "how long they play, at most 1h (default: the scenario's, 1m)")
	ramp := fs.Float64("ramp", 0, "players arriving per second (default: the scenario's, 50)")
	scenario := fs.String("scenario", "", "scenario file, YAML or JSON (docs/bots.md); the flags above override it")
	var targets multiFlag
	fs.Var(&targets, "target", "base URL of muster's REST API, or TARGETS=URL for a process running some targets (repeat per process; default http://127.0.0.1:8080)")
	realtime := fs.String("realtime", "127.0.0.1:7350", "comma-separated TCP addresses of the realtime gateways")
	dbURL := fs.String("database-url", getenv("MUSTER_DATABASE_URL"), "the platform's PostgreSQL, for its ledger check and the bots' game server credential (default: MUSTER_DATABASE_URL, else muster dev's)")
	credential := fs.String("server-credential", getenv("MUSTER_BOTS_SERVER_CREDENTIAL"), "game server credential for the simulated servers (default: one made for the run and revoked after it)")
	secrets := getenv("MUSTER_STRIPE_WEBHOOK_SECRETS")
	secret := fs.String("stripe-webhook-secret", strings.TrimSpace(strings.Split(secrets, ",")[0]), "the store target's Stripe webhook secret, to sign the payments of packs (default: MUSTER_STRIPE_WEBHOOK_SECRETS's first; none: packs are skipped)")
	allowRemote := fs.Bool("allow-remote", false, "load targets that are not on this machine")
	asJSON := fs.Bool("json", false, "write the report as JSON on stdout (the progress line goes to stderr)")
	jsonFile := fs.String("json-file", "", "also write the report as JSON to this file")
	quiet := fs.Bool("quiet", false, "no progress line")
	seed := fs.Uint64("seed", 0, "random seed (0: from the clock)")
	sessions := fs.String("sessions", "", "file of the players' sessions: read so that they refresh the sessions an earlier run kept instead of logging in, rewritten at the end (empty: every player logs in)")
	enroll := fs.Bool("enroll", false, "instead of a run, create the players' missing accounts directly in the database (one password hash for all) and a session for each player --sessions holds none for, and exit; needs MUSTER_SECRET_KEY, the platform's")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	sc, err := bots.LoadScenario(*scenario)
	if err != nil {
		return err
	}
	if *players != 0 {
		sc.Players = *players
	}
	if *duration != 0 {
		sc.Duration = bots.Duration(*duration)
	}
	if *ramp != 0 {
		sc.Ramp = *ramp
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	if len(targets) == 0 {
		targets = multiFlag{"http://127.0.0.1:8080"}
	}
	t, err := bots.ParseTargets(targets, splitList(*realtime))
	if err != nil {
		return err
	}
	if remote := t.Remote(); remote != "" && !*allowRemote {
		return fmt.Errorf("%s is not on this machine: the bots load loopback targets only, unless --allow-remote", remote)
	}

	conn, err := openBotsDatabase(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer conn.Close()
	if *enroll {
		key, err := decodeSecretKey(getenv("MUSTER_SECRET_KEY"))
		if err != nil {
			return fmt.Errorf("--enroll needs the platform's MUSTER_SECRET_KEY: %w", err)
		}
		if *sessions == "" {
			return errors.New("--enroll needs --sessions, the file the sessions are written to")
		}
		e, err := bots.Enroll(ctx, conn, sc, *sessions, key, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "muster bots: enrolled %d players (%d accounts created) in %.1fs\n", e.Started, e.Created, e.Took.Seconds())
		return nil
	}
	cred := *credential
	if cred == "" {
		servers := match.NewServers(conn, 0)
		sv, c, err := servers.Create(ctx, fmt.Sprintf("bots-%s", time.Now().UTC().Format("20060102-150405.000")), "muster bots", nil)
		if err != nil {
			return fmt.Errorf("create the bots' game server credential: %w", err)
		}
		cred = c
		defer func() {
			if _, err := servers.Revoke(context.WithoutCancel(ctx), sv.ID, nil); err != nil {
				fmt.Fprintf(stderr, "muster bots: revoke game server credential %s: %v\n", sv.Name, err)
			}
		}()
	}

	progress := stderr
	if !*asJSON && !isTerminal(stderr) {
		progress = stdout
	}
	if *quiet {
		progress = nil
	}
	rep, err := bots.Run(ctx, bots.Config{
		Scenario: sc, Targets: t, ServerCredential: cred, WebhookSecret: *secret, AllowRemote: *allowRemote,
		Progress: progress, Terminal: isTerminal(progress), Seed: *seed, Sessions: *sessions,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Ledger: func(ctx context.Context) (bots.LedgerCheck, error) {
			sum, err := ledger.Verify(ctx, conn)
			return bots.LedgerCheck{Transfers: sum.Transfers, Entries: sum.Entries, Accounts: sum.Accounts}, err
		},
		Checkout: func(ctx context.Context, orderID string) (string, error) {
			var id string
			err := conn.GetContext(ctx, &id, `SELECT coalesce(checkout_id, '') FROM store_orders WHERE public_id = $1`, orderID)
			return id, err
		},
	})
	if err != nil {
		return err
	}
	if *asJSON {
		if err := rep.WriteJSON(stdout); err != nil {
			return err
		}
	} else {
		rep.WriteText(stdout)
	}
	if *jsonFile != "" {
		f, err := os.Create(*jsonFile)
		if err != nil {
			return err
		}
		err = rep.WriteJSON(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if !rep.Passed {
		return errors.New(strings.Join(rep.Failures, "; "))
	}
	return nil
}

// openBotsDatabase opens the platform's database: the URL given, else the
// first of muster dev's that answers. Its schema must be the binary's.
func openBotsDatabase(ctx context.Context, url string) (*sqlx.DB, error) {
	candidates := devDatabases
	if url != "" {
		candidates = []string{url}
	}
	var errs []string
	for _, u := range candidates {
		cfg := Config{DatabaseURL: u}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := openCurrent(cctx, cfg)
		cancel()
		if err == nil {
			return conn, nil
		}
		errs = append(errs, db.Redact(u)+": "+oneLine(err.Error()))
	}
	return nil, fmt.Errorf("no database for the ledger check (set --database-url or MUSTER_DATABASE_URL): %s", strings.Join(errs, "; "))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
