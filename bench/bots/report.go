package bots

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is what a run measured and found.
type Report struct {
	Date      string   `json:"date"`
	CPUs      int      `json:"cpus"`
	GoVersion string   `json:"go_version"`
	Targets   []string `json:"targets"`
	Realtime  []string `json:"realtime"`
	Scenario  Scenario `json:"scenario"`
	Seconds   float64  `json:"seconds"`          // from the first arrival to the end of play
	BotsCPU   float64  `json:"bots_cpu_seconds"` // the bots' own CPU time over the run, drain included

	Players struct {
		Arrived    int64 `json:"arrived"`
		Ready      int64 `json:"ready"` // logged in and connected
		Registered int64 `json:"registered"`
		Resumed    int64 `json:"resumed"`
		// GettingIn: arrival to logged in, the login queue (503
		// auth_busy answers) included.
		GettingIn Latency `json:"getting_in"`
	} `json:"players"`

	Requests struct {
		Calls    int64   `json:"calls"`
		PerSec   float64 `json:"per_second"`
		Failures int64   `json:"unexpected_errors"`
	} `json:"requests"`
	Ops    []OpReport   `json:"operations"`
	Errors []ErrorCount `json:"errors"`

	// Delivery is a notification's creation (its created_at) to its
	// arrival at the player, per kind and "all".
	Delivery      map[string]Latency `json:"notification_delivery"`
	Duplicates    int64              `json:"notification_duplicates"`
	FriendToParty Latency            `json:"friend_request_to_party_joined"`

	Matches struct {
		Started  int64   `json:"started"`
		Accepted int64   `json:"results_accepted"`
		Lost     int64   `json:"lost"`
		Requeued int64   `json:"party_tickets_requeued"`
		Late     int64   `json:"players_late"`
		Wait     Latency `json:"wait"` // ticket waiting to match.found
	} `json:"matches"`
	Progress Progress `json:"progress"`

	Gifts struct {
		Sent     int64 `json:"sent"`
		Accepted int64 `json:"accepted"`
	} `json:"gifts"`
	Economy []CurrencyCheck `json:"economy"`
	Ledger  *LedgerCheck    `json:"ledger,omitempty"`
	Notes   []string        `json:"notes,omitempty"`

	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
}

func (r *runner) report(started, ended time.Time) *Report {
	m := r.m
	elapsed := ended.Sub(started)
	rep := &Report{Date: started.UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Targets: r.cfg.Targets.Bases(), Realtime: r.cfg.Targets.Realtime, Scenario: r.sc, Seconds: elapsed.Seconds()}
	rep.Players.Arrived, rep.Players.Ready = m.arrived.Load(), m.ready.Load()
	rep.Players.Registered, rep.Players.Resumed = m.registered.Load(), m.resumed.Load()
	rep.Players.GettingIn = latencyOf(&m.gettingIn)
	rep.Requests.Calls = m.calls.Load()
	rep.Requests.PerSec = float64(rep.Requests.Calls) / max(elapsed.Seconds(), 1e-9)
	rep.Requests.Failures = m.failed.Load()
	rep.Ops = m.opReports(elapsed)
	rep.Errors = m.errorCounts()
	rep.Delivery = m.deliveries()
	rep.Duplicates = m.duplicates.Load()
	m.mu.Lock()
	rep.FriendToParty = latencyOf(&m.roundTrip)
	rep.Matches.Wait = latencyOf(&m.matchWait)
	m.mu.Unlock()
	rep.Matches.Started, rep.Matches.Accepted = m.matches.Load(), m.finished.Load()
	rep.Matches.Lost, rep.Matches.Late = m.matchesLost.Load(), r.fleet.late.Load()
	rep.Matches.Requeued = m.requeued.Load()
	rep.Progress = r.progress.report()
	rep.Gifts.Sent, rep.Gifts.Accepted = m.giftsSent.Load(), m.giftsAccepted.Load()
	rep.Economy = r.econ.result()
	if r.signer == nil && r.sc.Mix[ActBuyPack] > 0 {
		rep.Notes = append(rep.Notes, "packs were not bought: no Stripe webhook secret (MUSTER_STRIPE_WEBHOOK_SECRETS)")
	}
	if r.noPacks.Load() {
		rep.Notes = append(rep.Notes, "packs were not bought: the storefront lists none (is Stripe configured on the store target?)")
	}
	return rep
}

// decide sets Passed: no unexpected error, a ledger that verifies and an
// economy that adds up.
func (rep *Report) decide() {
	if rep.Requests.Failures > 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("%d unexpected errors", rep.Requests.Failures))
	}
	if rep.Players.Ready < rep.Players.Arrived {
		rep.Failures = append(rep.Failures, fmt.Sprintf("%d of %d players never got in", rep.Players.Arrived-rep.Players.Ready, rep.Players.Arrived))
	}
	for _, c := range rep.Economy {
		if !c.OK {
			rep.Failures = append(rep.Failures, "economy: "+c.Currency+" does not add up")
		}
	}
	if rep.Ledger != nil && !rep.Ledger.OK {
		rep.Failures = append(rep.Failures, "ledger verify: "+rep.Ledger.Error)
	}
	rep.Passed = len(rep.Failures) == 0
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteText writes the report for people.
func (rep *Report) WriteText(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	sc := rep.Scenario
	p("muster bots: %d players for %s (ramp %.0f/s), %s, %d CPUs, %s", sc.Players, sc.Duration.D(), sc.Ramp, rep.Date, rep.CPUs, rep.GoVersion)
	p("targets    %s; realtime %s", strings.Join(rep.Targets, " "), strings.Join(rep.Realtime, " "))
	p("players    %d arrived, %d in (%d registered now), %d socket drops resumed", rep.Players.Arrived, rep.Players.Ready, rep.Players.Registered, rep.Players.Resumed)
	gi := rep.Players.GettingIn
	p("getting in %d players, arrival to logged in (login queue included): p50 %.0f ms  p95 %.0f ms  p99 %.0f ms  max %.0f ms", gi.Count, gi.P50, gi.P95, gi.P99, gi.Max)
	p("requests   %d in %.1fs: %.0f/s, %d unexpected errors (the bots used %.1f s of CPU)", rep.Requests.Calls, rep.Seconds, rep.Requests.PerSec, rep.Requests.Failures, rep.BotsCPU)
	p("")
	p("%-26s %9s %8s %8s %9s %9s %9s %9s", "operation", "calls", "errors", "per s", "p50 ms", "p95 ms", "p99 ms", "max ms")
	ending := false
	for _, o := range rep.Ops {
		p("%-26s %9d %8d %8.1f %9.2f %9.2f %9.2f %9.2f", o.Op, o.Calls, o.Errors, o.PerSec, o.P50, o.P95, o.P99, o.Max)
		ending = ending || strings.HasPrefix(o.Op, endOp)
	}
	if ending {
		p("(%s...: the drain's calls, after the run's time, when every player leaves and every match ends)", endOp)
	}
	p("")
	if len(rep.Errors) == 0 {
		p("errors     none")
	} else {
		p("errors by code:")
		for _, e := range rep.Errors {
			kind := "UNEXPECTED"
			if e.Expected {
				kind = "expected"
			}
			p("  %-26s %-32s %8d  %s", e.Op, e.Code, e.Count, kind)
		}
	}
	p("")
	p("realtime delivery (notification created -> received; not in \"all\": %s... made while the player had no socket, %s... made in the drain), ms:", offlineKind, endOp)
	kinds := make([]string, 0, len(rep.Delivery))
	for k := range rep.Delivery {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		l := rep.Delivery[k]
		p("  %-28s %7d  p50 %8.2f  p95 %8.2f  p99 %8.2f  max %8.2f", k, l.Count, l.P50, l.P95, l.P99, l.Max)
	}
	l := rep.FriendToParty
	p("  %-28s %7d  p50 %8.2f  p95 %8.2f  p99 %8.2f  max %8.2f", "friend request -> in party", l.Count, l.P50, l.P95, l.P99, l.Max)
	p("  duplicates %d", rep.Duplicates)
	p("")
	mt := rep.Matches
	p("matches    %d started, %d results accepted, %d lost, %d players late, %d party tickets requeued", mt.Started, mt.Accepted, mt.Lost, mt.Late, mt.Requeued)
	p("match wait %d tickets: p50 %.0f ms  p95 %.0f ms  p99 %.0f ms  max %.0f ms", mt.Wait.Count, mt.Wait.P50, mt.Wait.P95, mt.Wait.P99, mt.Wait.Max)
	pr := rep.Progress
	p("progress   %d players saw XP: mean %.0f XP, %.2f battle pass tiers", pr.Players, pr.MeanXP, pr.MeanTiers)
	p("gifts      %d sent, %d accepted", rep.Gifts.Sent, rep.Gifts.Accepted)
	p("")
	p("economy (the bots' players, per currency):")
	for _, c := range rep.Economy {
		p("  %s", c)
	}
	if rep.Ledger != nil {
		if rep.Ledger.OK {
			p("ledger     verified: %d transfers, %d entries, %d accounts", rep.Ledger.Transfers, rep.Ledger.Entries, rep.Ledger.Accounts)
		} else {
			p("ledger     FAILED: %s", rep.Ledger.Error)
		}
	}
	for _, n := range rep.Notes {
		p("note       %s", n)
	}
	if rep.Passed {
		p("PASS")
	} else {
		p("FAIL: %s", strings.Join(rep.Failures, "; "))
	}
}
