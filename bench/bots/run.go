// Package bots is `muster bots`: simulated players who play the game the
// way players do, over the real REST and realtime interfaces, to load a
// running platform end to end and check what it did. Each player logs in
// (registering on the first run), connects the socket, forms a party with
// friends, queues, plays matches on simulated dedicated servers that
// report results, reads XP and the battle pass back, buys offers and
// currency packs (through Checkout and a signed Stripe webhook), gives
// gifts and drops and resumes the socket, in the mix a scenario sets
// (docs/bots.md). The run is bounded in players and time, stays on
// loopback unless told otherwise, and ends with a report: rates and
// latency per operation, errors by code, realtime delivery latency, match
// waits, and the economy and ledger checks.
package bots

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one run.
type Config struct {
	Scenario Scenario
	Targets  Targets
	// ServerCredential is the game server credential (msv_...) the
	// simulated servers register with.
	ServerCredential string
	// WebhookSecret is the Stripe webhook signing secret the store target
	// verifies (MUSTER_STRIPE_WEBHOOK_SECRETS); empty: packs are skipped.
	WebhookSecret string
	// AllowRemote lets the bots load a platform that is not on this machine.
	AllowRemote bool
	// Progress receives the live status line (nil: none); Terminal
	// rewrites it in place.
	Progress io.Writer
	Terminal bool
	// Log receives the first failures in detail (nil: none).
	Log *slog.Logger
	// Sessions is a file of the players' refresh tokens (JSON, email to
	// token): read at the start, so that players refresh the sessions an
	// earlier run kept instead of logging in, and rewritten at the end.
	// Empty: every player logs in.
	Sessions string
	// Ledger verifies the platform's ledger once the players are done
	// (`muster ledger verify`'s code); nil skips the check.
	Ledger func(ctx context.Context) (LedgerCheck, error)
	// Checkout returns the id of the Checkout Session the store made at
	// Stripe for an order, which Stripe's events about it carry. Nil: the
	// simulated events name a session of their own, which the store takes
	// only after looking the order up, one event at a time.
	Checkout func(ctx context.Context, orderID string) (string, error)
	Seed     uint64
}

// LedgerCheck is the outcome of the ledger's verification.
type LedgerCheck struct {
	Transfers int64  `json:"transfers"`
	Entries   int64  `json:"entries"`
	Accounts  int64  `json:"accounts"`
	OK        bool   `json:"ok"`
	Error     string `json:"error,omitempty"`
}

// runner is one run's shared state.
type runner struct {
	cfg        Config
	sc         Scenario
	m          *metrics
	clients    *clients
	fleet      *fleet
	signer     *stripeSigner
	econ       economy
	progress   progression
	mixTotal   int
	runID      string // names the run in user agents and the servers' labels
	nonce      string // random: keys and Stripe ids never repeat an earlier run's, whatever the seed
	seed       uint64
	stop       atomic.Bool
	drainSlots chan struct{} // finishing's semaphore
	stoppedAt  atomic.Int64  // when the run's time was up (Unix ns); 0 before
	noPacks    atomic.Bool
	logged     atomic.Int64
	players    sync.Map // public id -> *bot, once logged in
	accounts   accounts
	saved      map[string]string // email -> refresh token kept by an earlier run
}

// maxLogged bounds the failures logged in detail.
const maxLogged = 20

// Run plays the scenario against the targets and reports. The error is
// for a run that could not start (bad configuration, no server could
// register); failures during the run are in the report (Report.Passed).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	sc := cfg.Scenario
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if remote := cfg.Targets.Remote(); remote != "" && !cfg.AllowRemote {
		return nil, fmt.Errorf("%s is not on this machine: the bots load loopback targets only, unless --allow-remote", remote)
	}
	if cfg.ServerCredential == "" {
		return nil, errors.New("no game server credential for the simulated servers")
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	r := &runner{cfg: cfg, sc: sc, drainSlots: make(chan struct{}, drainCalls), m: newMetrics(), clients: newClients(sc.Accounts.PerAddress, cfg.AllowRemote),
		seed: cfg.Seed, runID: strconv.FormatUint(cfg.Seed%1_000_000_007, 36), accounts: accounts{probed: make(chan struct{})}}
	var nonce [6]byte
	_, _ = crand.Read(nonce[:])
	r.nonce = hex.EncodeToString(nonce[:])
	for _, w := range sc.Mix {
		r.mixTotal += w
	}
	if cfg.WebhookSecret != "" {
		r.signer = &stripeSigner{secret: cfg.WebhookSecret, run: r.nonce}
	}
	defer r.clients.close()
	var err error
	if r.saved, err = loadSessions(cfg.Sessions); err != nil {
		return nil, err
	}

	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	f, err := newFleet(setup, r)
	cancel()
	if err != nil {
		return nil, err
	}
	r.fleet = f

	started, cpu0 := time.Now(), cpuTime()
	play, stopPlay := context.WithTimeout(ctx, sc.Duration.D())
	defer stopPlay()
	// The drain's bound starts at the deadline; the players' last steps
	// (and the servers' last matches) must fit in it.
	drain, stopDrain := context.WithTimeout(context.WithoutCancel(ctx), sc.Duration.D()+sc.Drain.D())
	defer stopDrain()
	status, stopStatus := context.WithCancel(ctx)
	var statusDone sync.WaitGroup
	statusDone.Go(func() { progress(status, cfg.Progress, cfg.Terminal, r.m, sc.Players, started) })

	bots := r.cast()
	var wg sync.WaitGroup
	gap := time.Duration(float64(time.Second) / sc.Ramp)
	next := time.Now()
	for _, b := range bots {
		if play.Err() != nil {
			break
		}
		sleep(play, time.Until(next))
		next = next.Add(gap)
		wg.Go(func() { b.live(drain, play) })
	}
	<-play.Done()
	r.stoppedAt.Store(time.Now().UnixNano())
	r.stop.Store(true)
	f.end()
	wg.Wait()
	playEnded := time.Now()
	stopStatus()
	statusDone.Wait()
	f.close(drain)
	if err := saveSessions(cfg.Sessions, bots); err != nil {
		return nil, err
	}

	rep := r.report(started, playEnded)
	rep.BotsCPU = (cpuTime() - cpu0).Seconds()
	if cfg.Ledger != nil {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		lc, err := cfg.Ledger(lctx)
		cancel()
		if err != nil {
			lc = LedgerCheck{Error: err.Error()}
		} else {
			lc.OK = true
		}
		rep.Ledger = &lc
	}
	rep.decide()
	return rep, nil
}

// cast makes the players and their parties: from the first player on, a
// share of the players start a party of a drawn size, whose first player
// leads it; the rest play alone.
func (r *runner) cast() []*bot {
	sc := r.sc
	rng := rand.New(rand.NewPCG(r.seed, 1))
	out := make([]*bot, sc.Players)
	for i := range out {
		name := playerName(sc, i)
		out[i] = &bot{r: r, i: i, name: name, email: name + "@" + sc.Accounts.Domain, http: r.clients.forPlayer(i),
			rng: rand.New(rand.NewPCG(r.seed, uint64(i)+2)), inbox: make(chan any, 64), own: map[string]int64{}, owned: map[string]int{}}
		out[i].api = r.playerAPI(out[i])
	}
	for i := 0; i < len(out); {
		size := 1
		if sc.Parties.Share > 0 && rng.Float64() < sc.Parties.Share {
			size = min(sc.Parties.MinSize+rng.IntN(sc.Parties.MaxSize-sc.Parties.MinSize+1), len(out)-i)
		}
		if size > 1 {
			g := &group{leader: out[i], members: out[i+1 : i+size], ready: make(chan struct{}), size: size}
			for _, b := range out[i : i+size] {
				b.group = g
			}
		}
		i += size
	}
	return out
}

func (r *runner) stopping() bool { return r.stop.Load() }

// drainCalls bounds the players making their last calls at once: when the
// run's time is up every player leaves and reads their wallets and XP for
// the checks, and thousands of them at once would only measure that queue.
const drainCalls = 32

// finishing waits for one of the drain's call slots (or ctx) and returns
// its release.
func (r *runner) finishing(ctx context.Context) (release func()) {
	select {
	case r.drainSlots <- struct{}{}:
		return func() { <-r.drainSlots }
	case <-ctx.Done():
		return func() {}
	}
}

// byID is the bot playing the player with public id, nil for another.
func (r *runner) byID(id string) *bot {
	b, _ := r.players.Load(id)
	p, _ := b.(*bot)
	return p
}

// draw is a duration drawn uniformly from rg.
func (r *runner) draw(rng *rand.Rand, rg Range) time.Duration {
	lo, hi := rg.Min.D(), rg.Max.D()
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// timedServer runs one call of a simulated server as op; expected lists
// the error codes the server handles.
func (r *runner) timedServer(op string, call func() error, expected ...string) error {
	if r.stopping() {
		op = endOp + op // the drain: every match ends at once
	}
	t0 := time.Now()
	err := call()
	code := codeOf(err)
	ok := code == "cancelled" && r.stopping() || slices.Contains(expected, code)
	r.m.done(op, time.Since(t0), code, code != "" && ok)
	if code != "" && !ok {
		r.logf("server %s: %v", op, err)
	}
	return err
}

// logf logs the first failures in detail.
func (r *runner) logf(format string, a ...any) {
	if r.cfg.Log == nil || r.logged.Add(1) > maxLogged {
		return
	}
	r.cfg.Log.Warn(fmt.Sprintf(format, a...))
}
