package battlepass_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/test/testenv"
)

var ctx = context.Background()

func TestMatchXPReachesTiersAndPaysFreeRewardsOnce(t *testing.T) {
	f := newFixture(t)
	s := f.running(10)
	a, b, c := f.player(), f.player(), f.player()

	m := f.accepted(game{started: f.clock.Now().Add(-time.Hour), xp: map[int64]int64{a: 250, b: 50, c: 0}})
	f.deliver(m, f.clock.Now())
	f.deliver(m, f.clock.Now()) // delivered again: the match was applied

	tests := []struct {
		name      string
		player    int64
		xp        int64
		tier      int
		soft      int64
		tierXP    int64
		tierEvent []int
	}{
		{"two tiers reached", a, 250, 2, 20, 50, []int{2}},
		{"on the way to the first tier", b, 50, 0, 0, 50, nil},
		{"no XP earned", c, 0, 0, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := f.state(tt.player, s)
			if st.XP != tt.xp || st.Tier != tt.tier || st.TierXP != tt.tierXP || st.NextTierXP != 100 || st.Premium {
				t.Fatalf("state: xp %d tier %d tier_xp %d next %d premium %v; want xp %d tier %d tier_xp %d",
					st.XP, st.Tier, st.TierXP, st.NextTierXP, st.Premium, tt.xp, tt.tier, tt.tierXP)
			}
			if got := f.balance(tt.player, f.soft); got != tt.soft {
				t.Fatalf("soft coins = %d, want %d (free rewards of %d tiers, once)", got, tt.soft, tt.tier)
			}
			if got := f.holds(tt.player, f.token.ID); got != 0 {
				t.Fatalf("holds %d premium tokens without premium", got)
			}
			for i, ts := range st.Tiers {
				if ts.FreeClaimed != (i < tt.tier) || ts.PremiumClaimed {
					t.Fatalf("tier %d: free claimed %v premium claimed %v", ts.Tier.Tier, ts.FreeClaimed, ts.PremiumClaimed)
				}
			}
			if got := f.tierEvents(tt.player, s.ID); !slices.Equal(got, tt.tierEvent) {
				t.Fatalf("tier_reached events %v, want %v", got, tt.tierEvent)
			}
		})
	}

	// Another match: b crosses one tier, a three (one event: the highest).
	f.deliver(f.accepted(game{started: f.clock.Now(), xp: map[int64]int64{a: 300, b: 60}}), f.clock.Now())
	if st := f.state(a, s); st.Tier != 5 || f.balance(a, f.soft) != 50 || !slices.Equal(f.tierEvents(a, s.ID), []int{2, 5}) {
		t.Fatalf("a: tier %d, soft %d, events %v; want 5, 50, [2 5]", st.Tier, f.balance(a, f.soft), f.tierEvents(a, s.ID))
	}
	if st := f.state(b, s); st.Tier != 1 || f.balance(b, f.soft) != 10 || !slices.Equal(f.tierEvents(b, s.ID), []int{1}) {
		t.Fatalf("b: tier %d, soft %d, events %v; want 1, 10, [1]", st.Tier, f.balance(b, f.soft), f.tierEvents(b, s.ID))
	}

	// XP past the last tier is kept; the tier stops at the last.
	f.deliver(f.accepted(game{started: f.clock.Now(), xp: map[int64]int64{a: 5000}}), f.clock.Now())
	if st := f.state(a, s); st.Tier != 10 || st.XP != 5550 || st.TierXP != 0 || st.NextTierXP != 0 || f.balance(a, f.soft) != 100 {
		t.Fatalf("a at the end: %+v, soft %d", st, f.balance(a, f.soft))
	}
}

func TestMatchThroughTheRelay(t *testing.T) {
	f := newFixture(t)
	s := f.running(5)
	p := f.player()
	relay := outbox.NewRelay(f.conn, testenv.DBURL(t), slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(),
		outbox.Config{BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err := relay.Register(ctx, f.bp.Consumer()); err != nil {
		t.Fatal(err)
	}
	m := f.accepted(game{started: f.clock.Now(), xp: map[int64]int64{p: 120}})
	for range 2 { // the same results published twice
		tx, err := f.conn.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := outbox.Enqueue(ctx, tx, match.TopicAccepted, m); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for end := time.Now().Add(5 * time.Second); ; {
		n, err := relay.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pending int
		if err := f.conn.Get(&pending, `SELECT count(*) FROM outbox_deliveries WHERE consumer = $1 AND state <> 'delivered'`, battlepass.ConsumerName); err != nil {
			t.Fatal(err)
		}
		if n == 0 && pending == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d deliveries not delivered after 5s", pending)
		}
	}
	if st := f.state(p, s); st.XP != 120 || st.Tier != 1 || f.balance(p, f.soft) != 10 {
		t.Fatalf("after the relay: xp %d tier %d soft %d; want 120, 1, 10", st.XP, st.Tier, f.balance(p, f.soft))
	}
}

func TestPremiumUpgradeAtTier30(t *testing.T) {
	f := newFixture(t)
	s := f.running(50)
	p := f.player()
	f.deliver(f.accepted(game{started: f.clock.Now(), xp: map[int64]int64{p: 3050}}), f.clock.Now())
	f.fund(p, f.gems, 1200)
	if st := f.state(p, s); st.Tier != 30 || f.balance(p, f.soft) != 300 {
		t.Fatalf("before the upgrade: tier %d soft %d", st.Tier, f.balance(p, f.soft))
	}
	revenue := storeRevenue(t, f, f.gems)

	r, err := f.bp.Upgrade(ctx, p, s.ID, "upgrade-1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Replayed || r.Operation != battlepass.OpPremium || r.Price == nil || *r.Price != (battlepass.Price{Currency: f.gems, Amount: 500}) ||
		!r.State.Premium || r.State.Tier != 30 || r.State.PremiumAt == nil {
		t.Fatalf("receipt: %+v", r)
	}
	check := func(when string) {
		t.Helper()
		if got := f.holds(p, f.token.ID); got != 30 {
			t.Fatalf("%s: holds %d premium tokens, want 30 (tiers 1..30 once)", when, got)
		}
		if got := f.balance(p, f.soft); got != 300+30*20 {
			t.Fatalf("%s: soft coins %d, want %d", when, got, 300+30*20)
		}
		if got := f.balance(p, f.gems); got != 700 {
			t.Fatalf("%s: gems %d, want 700", when, got)
		}
		if got := storeRevenue(t, f, f.gems); got != revenue+500 {
			t.Fatalf("%s: store revenue %d, want %d", when, got, revenue+500)
		}
	}
	check("after the upgrade")
	for i, ts := range r.State.Tiers {
		if ts.PremiumClaimed != (i < 30) || ts.FreeClaimed != (i < 30) {
			t.Fatalf("tier %d: free %v premium %v", ts.Tier.Tier, ts.FreeClaimed, ts.PremiumClaimed)
		}
	}

	again, err := f.bp.Upgrade(ctx, p, s.ID, "upgrade-1")
	if err != nil || !again.Replayed || again.ID != r.ID || !again.State.Premium {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	check("after the replay")
	if _, err := f.bp.Upgrade(ctx, p, s.ID, "upgrade-2"); !errors.Is(err, battlepass.ErrAlreadyPremium) {
		t.Fatalf("second upgrade: %v, want ErrAlreadyPremium", err)
	}
	if _, err := f.bp.SkipTiers(ctx, p, s.ID, 1, "upgrade-1"); !errors.Is(err, battlepass.ErrKeyReused) {
		t.Fatalf("the upgrade's key for a skip: %v, want ErrKeyReused", err)
	}
	check("after the refusals")

	// Premium rewards now come with each tier reached.
	f.deliver(f.accepted(game{started: f.clock.Now(), xp: map[int64]int64{p: 100}}), f.clock.Now())
	if st := f.state(p, s); st.Tier != 31 || f.holds(p, f.token.ID) != 31 || f.balance(p, f.soft) != 310+31*20 {
		t.Fatalf("tier 31 as premium: tier %d tokens %d soft %d", st.Tier, f.holds(p, f.token.ID), f.balance(p, f.soft))
	}
}

func storeRevenue(t *testing.T, f *fixture, currency string) int64 {
	t.Helper()
	var n int64
	const q = `SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
		WHERE a.holder = $1 AND a.currency = $2`
	if err := f.conn.Get(&n, q, string(ledger.System(ledger.StoreRevenue)), currency); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSeasonBoundaryDuringMatch(t *testing.T) {
	f := newFixture(t)
	a := f.season(0, 20*24*time.Hour)
	b := f.season(20*24*time.Hour, 20*24*time.Hour)
	f.pass(a, f.doc(10))
	f.pass(b, f.doc(10))
	gap := f.season(50*24*time.Hour, 10*24*time.Hour) // no pass

	tests := []struct {
		name             string
		started, report  time.Time
		xpA, xpB         int64
		aTier, aRewarded int
	}{
		{"started in A, reported in A", a.EndsAt.Add(-2 * time.Hour), a.EndsAt.Add(-time.Hour), 150, 0, 1, 1},
		{"started in A, reported in B within the grace", a.EndsAt.Add(-time.Hour), a.EndsAt.Add(time.Hour), 150, 0, 1, 1},
		{"started in A, reported at the end of the grace", a.EndsAt.Add(-time.Hour), a.EndsAt.Add(battlepass.DefaultGrace - time.Second), 150, 0, 1, 1},
		{"started in A, reported after the grace", a.EndsAt.Add(-time.Hour), a.EndsAt.Add(battlepass.DefaultGrace + time.Second), 0, 0, 0, 0},
		{"started in B", b.StartsAt, b.StartsAt.Add(time.Hour), 0, 150, 0, 0},
		{"started before any season", a.StartsAt.Add(-time.Hour), a.StartsAt.Add(time.Hour), 0, 0, 0, 0},
		{"started in a season without a pass", gap.StartsAt.Add(time.Hour), gap.StartsAt.Add(2 * time.Hour), 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.player()
			f.clock.Set(tt.report)
			f.deliver(f.accepted(game{started: tt.started, xp: map[int64]int64{p: 150}}), tt.report)
			sa, sb := f.state(p, a), f.state(p, b)
			if sa.XP != tt.xpA || sb.XP != tt.xpB || sa.Tier != tt.aTier {
				t.Fatalf("A: xp %d tier %d, B: xp %d; want A %d tier %d, B %d", sa.XP, sa.Tier, sb.XP, tt.xpA, tt.aTier, tt.xpB)
			}
			want := int64(10 * tt.aRewarded)
			if tt.xpB > 0 {
				want = 10
			}
			if got := f.balance(p, f.soft); got != want {
				t.Fatalf("soft coins %d, want %d", got, want)
			}
		})
	}
}

func TestTierSkips(t *testing.T) {
	f := newFixture(t)
	s := f.running(10)
	p := f.player()
	f.deliver(f.accepted(game{started: f.clock.Now(), xp: map[int64]int64{p: 230}}), f.clock.Now()) // tier 2, 30 into tier 3
	f.fund(p, f.soft, 1000)                                                                         // plus 20 from tiers 1 and 2

	tests := []struct {
		name                string
		key                 string
		n                   int
		err                 error
		tiers, tier         int
		xp, charged, wallet int64
		replayed            bool
	}{
		{"three tiers, progress kept", "k1", 3, nil, 3, 5, 530, 150, 1020 - 150 + 30, false},
		{"the same key again", "k1", 3, nil, 3, 5, 530, 150, 900, true},
		{"the same key for another count", "k1", 2, battlepass.ErrKeyReused, 0, 5, 530, 0, 900, false},
		{"more than are left: capped and charged for what is left", "k2", 9, nil, 5, 10, 1030, 250, 900 - 250 + 50, false},
		{"at the last tier", "k3", 1, battlepass.ErrMaxTier, 0, 10, 1030, 0, 700, false},
		{"zero tiers", "k4", 0, battlepass.ErrInvalid, 0, 10, 1030, 0, 700, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := f.bp.SkipTiers(ctx, p, s.ID, tt.n, tt.key)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil {
				if r.Tiers != tt.tiers || r.Replayed != tt.replayed || r.Price == nil || r.Price.Amount != tt.charged || r.Price.Currency != f.soft {
					t.Fatalf("receipt: %+v", r)
				}
			}
			st := f.state(p, s)
			if st.Tier != tt.tier || st.XP != tt.xp {
				t.Fatalf("tier %d xp %d, want %d %d", st.Tier, st.XP, tt.tier, tt.xp)
			}
			if got := f.balance(p, f.soft); got != tt.wallet {
				t.Fatalf("soft coins %d, want %d", got, tt.wallet)
			}
		})
	}
	if got := f.tierEvents(p, s.ID); !slices.Equal(got, []int{2, 5, 10}) {
		t.Fatalf("tier_reached events %v, want [2 5 10]", got)
	}
}

func TestInsufficientFundsChangesNothing(t *testing.T) {
	f := newFixture(t)
	s := f.running(10)
	p := f.player()
	f.deliver(f.accepted(game{started: f.clock.Now(), xp: map[int64]int64{p: 300}}), f.clock.Now())
	f.fund(p, f.gems, 499)
	before := f.state(p, s)

	tests := []struct {
		name string
		do   func(key string) error
	}{
		{"premium", func(key string) error { _, err := f.bp.Upgrade(ctx, p, s.ID, key); return err }},
		{"tier skip", func(key string) error { _, err := f.bp.SkipTiers(ctx, p, s.ID, 4, key); return err }}, // 200 soft, holds 30
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do("broke-" + tt.name); !errors.Is(err, ledger.ErrInsufficientFunds) {
				t.Fatalf("err = %v, want ErrInsufficientFunds", err)
			}
			after := f.state(p, s)
			if after.Tier != before.Tier || after.XP != before.XP || after.Premium || after.Version != before.Version {
				t.Fatalf("state changed: %+v -> %+v", before, after)
			}
			if f.balance(p, f.gems) != 499 || f.balance(p, f.soft) != 30 || f.holds(p, f.token.ID) != 0 {
				t.Fatalf("wallet or inventory changed: gems %d soft %d tokens %d", f.balance(p, f.gems), f.balance(p, f.soft), f.holds(p, f.token.ID))
			}
			var ops int
			if err := f.conn.Get(&ops, `SELECT count(*) FROM battlepass_operations WHERE account_id = $1`, p); err != nil || ops != 0 {
				t.Fatalf("%d operations recorded (%v)", ops, err)
			}
		})
	}
	// Nothing was recorded under the key: once funded, it goes through.
	f.fund(p, f.gems, 1)
	if r, err := f.bp.Upgrade(ctx, p, s.ID, "broke-premium"); err != nil || r.Replayed || !r.State.Premium || f.holds(p, f.token.ID) != 3 {
		t.Fatalf("upgrade once funded: %+v, %v", r, err)
	}
}

func TestSeasonEndRules(t *testing.T) {
	f := newFixture(t)
	s := f.season(24*time.Hour, 10*24*time.Hour)
	f.pass(s, f.doc(10))
	p := f.player()
	f.fund(p, f.gems, 5000)
	f.fund(p, f.soft, 5000)
	adjust := func(key string) error {
		_, err := f.bp.Adjust(ctx, battlepass.Adjustment{AccountID: p, SeasonID: s.ID, Tiers: 1, Reason: "lost match", Staff: "alice", Key: key})
		return err
	}
	upgrade := func(key string) error { _, err := f.bp.Upgrade(ctx, p, s.ID, key); return err }
	skip := func(key string) error { _, err := f.bp.SkipTiers(ctx, p, s.ID, 1, key); return err }

	tests := []struct {
		name string
		at   time.Time
		do   func(string) error
		err  error
	}{
		{"upgrade before the start", s.StartsAt.Add(-time.Second), upgrade, battlepass.ErrSeasonNotStarted},
		{"adjust before the start", s.StartsAt.Add(-time.Second), adjust, battlepass.ErrSeasonNotStarted},
		{"skip at the end", s.EndsAt, skip, battlepass.ErrSeasonOver},
		{"upgrade at the end", s.EndsAt, upgrade, battlepass.ErrSeasonOver},
		{"adjust in the grace period", s.EndsAt.Add(time.Hour), adjust, nil},
		{"adjust after the grace period", s.EndsAt.Add(battlepass.DefaultGrace), adjust, battlepass.ErrSeasonOver},
		{"skip while it runs", s.EndsAt.Add(-time.Second), skip, nil},
		{"upgrade while it runs", s.StartsAt, upgrade, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clock.Set(tt.at)
			if err := tt.do(string(rune('a' + i))); !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
	f.clock.Set(s.EndsAt)
	if st := f.state(p, s); st.Tier != 2 || !st.Premium || st.Open {
		t.Fatalf("state: tier %d premium %v open %v; want 2, true, false", st.Tier, st.Premium, st.Open)
	}
}

func TestAdjust(t *testing.T) {
	f := newFixture(t)
	s := f.running(10)
	p := f.player()
	f.fund(p, f.gems, 500)
	if _, err := f.bp.Upgrade(ctx, p, s.ID, "u"); err != nil {
		t.Fatal(err)
	}
	adj := func(tiers int, xp int64, reason, staff, key string) (battlepass.Receipt, error) {
		tx, err := f.conn.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		r, err := f.bp.AdjustTx(ctx, tx, battlepass.Adjustment{AccountID: p, SeasonID: s.ID, Tiers: tiers, XP: xp, Reason: reason, Staff: staff, Key: key})
		if err == nil {
			err = tx.Commit()
		}
		return r, err
	}

	tests := []struct {
		name        string
		tiers       int
		xp          int64
		reason      string
		staff, key  string
		err         error
		gained, now int
		replayed    bool
	}{
		{"two tiers", 2, 0, "compensation", "alice", "a1", nil, 2, 2, false},
		{"retried", 2, 0, "compensation", "alice", "a1", nil, 2, 2, true},
		{"the same key for XP", 0, 150, "compensation", "alice", "a1", battlepass.ErrKeyReused, 0, 2, false},
		{"XP", 0, 150, "event", "bob", "a2", nil, 1, 3, false},
		{"tiers and XP", 1, 10, "x", "bob", "a3", battlepass.ErrInvalid, 0, 3, false},
		{"neither", 0, 0, "x", "bob", "a4", battlepass.ErrInvalid, 0, 3, false},
		{"no reason", 1, 0, " ", "bob", "a5", battlepass.ErrInvalid, 0, 3, false},
		{"no staff", 1, 0, "x", "", "a6", battlepass.ErrInvalid, 0, 3, false},
		{"past the last tier", 50, 0, "x", "bob", "a7", nil, 7, 10, false},
		{"at the last tier", 1, 0, "x", "bob", "a8", battlepass.ErrMaxTier, 0, 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := adj(tt.tiers, tt.xp, tt.reason, tt.staff, tt.key)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && (r.Tiers != tt.gained || r.Replayed != tt.replayed || r.Price != nil || r.State.Tier != tt.now) {
				t.Fatalf("receipt: %+v", r)
			}
			if st := f.state(p, s); st.Tier != tt.now || f.holds(p, f.token.ID) != tt.now || f.balance(p, f.soft) != int64(30*tt.now) {
				t.Fatalf("tier %d tokens %d soft %d; want tier %d with both tracks paid", st.Tier, f.holds(p, f.token.ID), f.balance(p, f.soft), tt.now)
			}
		})
	}
}

func TestStateAndTrack(t *testing.T) {
	f := newFixture(t)
	past := f.season(0, 10*24*time.Hour)
	f.pass(past, f.doc(3))
	d := f.doc(4)
	d.Tiers[1].XP = 300
	d.Tiers[2].Free = d.Tiers[2].Premium
	d.Tiers[3].Premium = d.Tiers[3].Free
	d.TierSkipPrice = nil
	cur := f.season(10*24*time.Hour, 10*24*time.Hour)
	f.pass(cur, d)
	noPass := f.season(30*24*time.Hour, 10*24*time.Hour)
	p := f.player()

	f.clock.Set(cur.StartsAt.Add(time.Hour))
	st, err := f.bp.State(ctx, p, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Season.ID != cur.ID || !st.Open || st.Tier != 0 || st.Version != 0 || st.LastTier != 4 || st.SkipPrice != nil || st.NextTierXP != 100 {
		t.Fatalf("state of a new player: %+v", st)
	}
	wantTotal := []int64{100, 400, 500, 600}
	for i, ts := range st.Tiers {
		if ts.Tier.Tier != i+1 || ts.TotalXP != wantTotal[i] || ts.FreeClaimed || ts.PremiumClaimed {
			t.Fatalf("tier %d: %+v", i+1, ts)
		}
	}
	track, err := f.bp.Track(ctx, cur.ID)
	if err != nil || track.Last() != 4 || track.Tiers[1].XP != 300 || track.Tiers[2].Free.Items[0].ItemID != f.token.ID || track.Version != 1 {
		t.Fatalf("track: %+v, %v", track, err)
	}

	f.deliver(f.accepted(game{started: f.clock.Now(), xp: map[int64]int64{p: 250}}), f.clock.Now())
	st = f.state(p, cur)
	if st.Tier != 1 || st.TierXP != 150 || st.NextTierXP != 300 || st.Version != 1 || st.UpdatedAt == nil {
		t.Fatalf("after a match: %+v", st)
	}

	f.clock.Set(noPass.StartsAt.Add(-time.Hour)) // between seasons: the one that ended last
	if st, err := f.bp.State(ctx, p, ""); err != nil || st.Season.ID != cur.ID || st.Open {
		t.Fatalf("between seasons: %+v, %v", st.Season, err)
	}
	f.clock.Set(noPass.StartsAt.Add(time.Hour))
	if _, err := f.bp.State(ctx, p, ""); !errors.Is(err, battlepass.ErrNoPass) {
		t.Fatalf("season without a pass: %v", err)
	}
	if _, err := f.bp.State(ctx, p, "no-such-season"); !errors.Is(err, battlepass.ErrNoSeason) {
		t.Fatalf("unknown season: %v", err)
	}
	if _, err := f.bp.SkipTiers(ctx, p, cur.ID, 1, "k"); !errors.Is(err, battlepass.ErrSeasonOver) {
		t.Fatalf("skip: %v", err)
	}
	f.clock.Set(cur.StartsAt.Add(time.Hour))
	if _, err := f.bp.SkipTiers(ctx, p, cur.ID, 1, "k"); !errors.Is(err, battlepass.ErrNotForSale) {
		t.Fatalf("skip without a price: %v", err)
	}
}
