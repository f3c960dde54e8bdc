package bots

import (
	"context"
	"fmt"
	"github.com/musterhq/muster/realtime/protocol/pb"
	"sort"
	"sync"
	"time"
)

// The economy check: every player's wallets at the end against what the
// run did to them. A wallet's movements since the start are its ledger
// lines after the transfer that was newest then; those the player caused
// in the store (counterparty system:store_revenue for offers,
// system:minted for packs) must add up to what the store's answers said
// (a replayed Idempotency-Key or webhook moves nothing twice), and the
// balance must equal the start plus every line (play's rewards included).

// economy sums the check over every player, per currency.
type economy struct {
	mu  sync.Mutex
	per map[string]*CurrencyCheck
}

// CurrencyCheck is one currency's expected and actual totals over the
// bots' players.
type CurrencyCheck struct {
	Currency string `json:"currency"`
	Players  int    `json:"players"`
	Start    int64  `json:"start"`
	// Store is what the store's answers said the players' purchases moved:
	// prices paid (negative) and packs credited.
	Store int64 `json:"store_expected"`
	// StoreLedger is the same movements as the ledger's lines show them.
	StoreLedger int64 `json:"store_ledger"`
	// Other is every other line: rewards of play, the battle pass, levels.
	Other    int64 `json:"other"`
	Expected int64 `json:"expected"` // Start + Store + Other
	Actual   int64 `json:"actual"`   // the balances read at the end
	// Mismatched counts players whose own wallet did not add up.
	Mismatched int  `json:"mismatched_players"`
	OK         bool `json:"ok"`
}

func (e *economy) add(c CurrencyCheck, mismatched bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.per == nil {
		e.per = map[string]*CurrencyCheck{}
	}
	t := e.per[c.Currency]
	if t == nil {
		t = &CurrencyCheck{Currency: c.Currency}
		e.per[c.Currency] = t
	}
	t.Players++
	t.Start += c.Start
	t.Store += c.Store
	t.StoreLedger += c.StoreLedger
	t.Other += c.Other
	t.Actual += c.Actual
	if mismatched {
		t.Mismatched++
	}
}

func (e *economy) result() []CurrencyCheck {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]CurrencyCheck, 0, len(e.per))
	for _, t := range e.per {
		c := *t
		c.Expected = c.Start + c.Store + c.Other
		c.OK = c.Expected == c.Actual && c.Store == c.StoreLedger && c.Mismatched == 0
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// storeCounterparty says whether a ledger line is one of the player's
// own store movements.
func storeCounterparty(c string) bool {
	return c == "system:store_revenue" || c == "system:minted"
}

// settle reads the player's wallets at the end and adds them to the check.
func (b *bot) settle(ctx context.Context) {
	if b.wallets == nil {
		return
	}
	ws, err := b.readWallets(ctx, false)
	if err != nil {
		b.r.m.fail("economy", "wallets_unread")
		return
	}
	for _, w := range ws {
		mark := b.wallets[w.Currency]
		lines, err := b.since(ctx, w, mark.top)
		if err != nil {
			b.r.m.fail("economy", "history_unread")
			return
		}
		c := CurrencyCheck{Currency: w.Currency, Start: mark.balance, Store: b.own[w.Currency], Actual: w.Balance}
		var sum int64
		for _, l := range lines {
			sum += l.Amount
			if storeCounterparty(l.Counterparty) {
				c.StoreLedger += l.Amount
			} else {
				c.Other += l.Amount
			}
		}
		bad := c.Start+sum != c.Actual || c.Store != c.StoreLedger
		if bad {
			b.r.logf("%s economy %s: start %d + lines %d != balance %d, or store %d != ledger %d",
				b.name, w.Currency, c.Start, sum, c.Actual, c.Store, c.StoreLedger)
		}
		b.r.econ.add(c, bad)
	}
}

// since is the wallet's lines after transfer top, paging back as needed.
func (b *bot) since(ctx context.Context, w wallet, top int64) ([]line, error) {
	var out []line
	page, next := w.History, w.Next
	for {
		for _, l := range page {
			if l.TransferID <= top {
				return out, nil
			}
			out = append(out, l)
		}
		if next == nil {
			return out, nil
		}
		before := *next
		if err := b.timed("walletHistory", func() error {
			var err error
			page, next, err = b.api.walletHistory(ctx, w.Currency, before)
			return err
		}); err != nil {
			return nil, err
		}
	}
}

// finish is the player's end of the run: cancel a waiting ticket, play a
// match that was already found (the servers end them at once), see the
// results reach progression, leave the party, settle the wallets, close.
func (b *bot) finish(ctx context.Context) {
	b.cancelTicket(ctx)
	b.idle(ctx, 2*time.Second)
	if b.accepted > 0 {
		b.awaitProgress(ctx)
	}
	done := b.r.finishing(ctx)
	if b.partyID != "" {
		_, _ = b.rt(ctx, "rt.PartyLeave", &pb.PartyLeave{})
		b.partyID = ""
	}
	b.settle(ctx)
	done()
	b.closeSocket()
}

// awaitProgress waits (up to 30 s) for accepted results to show as XP:
// the worker applies them after the server reported them.
func (b *bot) awaitProgress(ctx context.Context) {
	end := time.Now().Add(30 * time.Second)
	for {
		done := b.r.finishing(ctx)
		xp, tier, err := b.readProgress(ctx)
		done()
		if err != nil {
			return
		}
		if xp > b.xpStart {
			b.r.progress.add(xp-b.xpStart, tier-b.tierStart)
			return
		}
		if time.Now().After(end) || !sleep(ctx, time.Second) {
			b.fail("progression", flowErr("xp_not_applied", "%d accepted matches and no XP after 30 s", b.accepted))
			return
		}
	}
}

// progression sums the XP and tiers the players earned.
type progression struct {
	mu      sync.Mutex
	players int
	xp      int64
	tiers   int64
}

func (p *progression) add(xp int64, tiers int) {
	p.mu.Lock()
	p.players++
	p.xp += xp
	p.tiers += int64(tiers)
	p.mu.Unlock()
}

// Progress is what the players earned by playing, read back from the
// platform.
type Progress struct {
	Players    int     `json:"players"`
	MeanXP     float64 `json:"mean_xp"`
	MeanTiers  float64 `json:"mean_tiers"`
	Definition string  `json:"definition"`
}

func (p *progression) report() Progress {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := Progress{Players: p.players, Definition: "players with accepted results whose XP rose, and what they gained"}
	if p.players > 0 {
		out.MeanXP = float64(p.xp) / float64(p.players)
		out.MeanTiers = float64(p.tiers) / float64(p.players)
	}
	return out
}

func (c CurrencyCheck) String() string {
	status := "ok"
	if !c.OK {
		status = "MISMATCH"
	}
	return fmt.Sprintf("%-14s %6d players  start %10d  store %+10d (ledger %+10d)  other %+10d  expected %10d  actual %10d  %s",
		c.Currency, c.Players, c.Start, c.Store, c.StoreLedger, c.Other, c.Expected, c.Actual, status)
}
