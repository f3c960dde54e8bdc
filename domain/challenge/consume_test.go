package challenge_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/test/testenv"
)

func TestGoalAmount(t *testing.T) {
	p := played(1, 3, map[string]int64{match.StatKills: 7, match.StatDamage: 1234, match.StatHeadshots: 2, match.StatAssists: 4, match.StatRevives: 1},
		map[string]int64{"smg": 5, "ar": 2})
	p.XP = 900
	tests := []struct {
		goal challenge.Goal
		mode string
		want int64
	}{
		{challenge.Goal{Metric: challenge.MetricKills}, "br", 7},
		{challenge.Goal{Metric: challenge.MetricKills, WeaponClass: "smg"}, "br", 5},
		{challenge.Goal{Metric: challenge.MetricKills, WeaponClass: "ar"}, "br", 2},
		{challenge.Goal{Metric: challenge.MetricKills, WeaponClass: "sniper"}, "br", 0},
		{challenge.Goal{Metric: challenge.MetricWins}, "br", 0},
		{challenge.Goal{Metric: challenge.MetricPlacement, Placement: 3}, "br", 1},
		{challenge.Goal{Metric: challenge.MetricPlacement, Placement: 2}, "br", 0},
		{challenge.Goal{Metric: challenge.MetricMatches}, "br", 1},
		{challenge.Goal{Metric: challenge.MetricXP}, "br", 900},
		{challenge.Goal{Metric: challenge.MetricDamage}, "br", 1234},
		{challenge.Goal{Metric: challenge.MetricHeadshots}, "br", 2},
		{challenge.Goal{Metric: challenge.MetricAssists}, "br", 4},
		{challenge.Goal{Metric: challenge.MetricRevives}, "br", 1},
		{challenge.Goal{Metric: challenge.MetricMatches, Modes: []string{"tdm"}}, "br", 0},
		{challenge.Goal{Metric: challenge.MetricMatches, Modes: []string{"tdm", "br"}}, "br", 1},
	}
	for _, tt := range tests {
		if got := tt.goal.Amount(tt.mode, p); got != tt.want {
			t.Errorf("%+v in %s: amount = %d, want %d", tt.goal, tt.mode, got, tt.want)
		}
	}
	won := played(1, 1, nil, nil)
	if got := (challenge.Goal{Metric: challenge.MetricWins}).Amount("br", won); got != 1 {
		t.Errorf("wins for a won match = %d, want 1", got)
	}
}

// allDrawn configures pools whose every challenge is drawn, so that the
// test knows each player's set.
func (f *fx) allDrawn() {
	f.t.Helper()
	item := reward.Reward{Items: []inventory.Line{{ItemID: f.item, Quantity: 2}}}
	f.configure([]challenge.Challenge{
		ch("smg_kills", challenge.MetricKills, 5, f.coins(100), func(c *challenge.Challenge) { c.Goal.WeaponClass = "smg" }),
		ch("win_one", challenge.MetricWins, 1, f.coins(30).Plus(item)),
		ch("play_two", challenge.MetricMatches, 2, f.coins(7)),
	}, 3, 0, []challenge.Challenge{
		ch("deal_damage", challenge.MetricDamage, 1000, f.coins(1000)),
	}, 1, 0)
}

func TestMatchCountsOnceAndCompletionPaysOnce(t *testing.T) {
	f := setup(t)
	f.allDrawn()
	a, b := f.player("US"), f.player("")

	// Match 1: a wins with 3 SMG kills; b only has AR kills.
	m1 := f.match("br",
		played(a, 1, map[string]int64{match.StatKills: 4, match.StatDamage: 600}, map[string]int64{"smg": 3, "ar": 1}),
		played(b, 2, map[string]int64{match.StatKills: 6, match.StatDamage: 300}, map[string]int64{"ar": 6}))
	f.deliver(m1)
	f.deliver(m1) // delivered again: counts once

	want := map[string]string{"smg_kills": "3/5", "win_one": "1/1 done", "play_two": "1/2", "deal_damage": "600/1000"}
	if got := progress(f.current(a)); !maps.Equal(got, want) {
		t.Fatalf("a after match 1 twice = %v, want %v", got, want)
	}
	wantB := map[string]string{"smg_kills": "0/5", "win_one": "0/1", "play_two": "1/2", "deal_damage": "300/1000"}
	if got := progress(f.current(b)); !maps.Equal(got, wantB) {
		t.Fatalf("b (AR kills only) = %v, want %v", got, wantB)
	}
	if got := f.balance(a); got != 30 {
		t.Fatalf("a's balance = %d, want 30 (win_one once)", got)
	}
	if got := f.held(a, f.item); got != 2 {
		t.Fatalf("a holds %d of the item, want 2", got)
	}

	// Match 2: a completes SMG kills, matches played and damage; the
	// progress stops at the target.
	f.clock.Set(f.clock.Now().Add(time.Hour))
	m2 := f.match("br",
		played(a, 5, map[string]int64{match.StatKills: 9, match.StatDamage: 2000}, map[string]int64{"smg": 9}),
		played(b, 1, map[string]int64{match.StatKills: 0}, nil))
	f.deliver(m2)
	f.deliver(m2)
	want = map[string]string{"smg_kills": "5/5 done", "win_one": "1/1 done", "play_two": "2/2 done", "deal_damage": "1000/1000 done"}
	if got := progress(f.current(a)); !maps.Equal(got, want) {
		t.Fatalf("a after match 2 = %v, want %v", got, want)
	}
	if got, want := f.balance(a), int64(30+100+7+1000); got != want {
		t.Fatalf("a's balance = %d, want %d", got, want)
	}
	if got := f.balance(b); got != 30+7 {
		t.Fatalf("b's balance = %d, want 37 (won match 2, played two)", got)
	}

	// Match 3: nothing left to complete; nothing more is paid.
	f.deliver(f.match("br", played(a, 1, map[string]int64{match.StatKills: 20, match.StatDamage: 5000}, map[string]int64{"smg": 20})))
	if got, want := f.balance(a), int64(1137); got != want {
		t.Fatalf("a's balance after a match with nothing left = %d, want %d", got, want)
	}
	for _, id := range []string{"smg_kills", "win_one", "play_two", "deal_damage"} {
		if n := f.announced(a, id); n != 1 {
			t.Errorf("%s announced %d times, want once", id, n)
		}
	}
	if n := f.announced(b, "smg_kills"); n != 0 {
		t.Errorf("b's smg_kills announced %d times, want never", n)
	}
	// The reward went under the documented key.
	var keys int
	v := f.current(a)
	key := challenge.RewardKey(v.Daily.Period, "smg_kills", a) + ":" + f.coin
	if err := f.conn.Get(&keys, `SELECT count(*) FROM ledger_transfers WHERE idem_key = $1`, key); err != nil || keys != 1 {
		t.Fatalf("transfers under %s = %d (%v), want 1", key, keys, err)
	}
}

func TestMatchCountsForThePeriodItEndedIn(t *testing.T) {
	f := setup(t)
	f.allDrawn()
	a := f.player("DE")
	// 03:59 in Berlin on 16 January: still the 15th's daily set.
	f.clock.Set(utc("2026-01-16T02:59:00Z"))
	m := f.match("br", played(a, 1, map[string]int64{match.StatKills: 1}, nil))
	// The event is applied after the day turned over.
	f.clock.Set(utc("2026-01-16T03:01:00Z"))
	f.deliver(m)

	now := f.current(a)
	if now.Daily.Period != "daily:2026-01-16" || progress(now)["win_one"] != "0/1" {
		t.Fatalf("today's set %s = %v, want daily:2026-01-16 untouched", now.Daily.Period, progress(now))
	}
	then, err := f.store.Current(f.ctx, a, utc("2026-01-16T02:59:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if then.Daily.Period != "daily:2026-01-15" || progress(then)["win_one"] != "1/1 done" {
		t.Fatalf("yesterday's set %s = %v, want daily:2026-01-15 with win_one done", then.Daily.Period, progress(then))
	}
	if f.balance(a) != 30 {
		t.Fatalf("balance = %d, want 30", f.balance(a))
	}
}

func TestMatchWithoutRotationChangesNothing(t *testing.T) {
	f := setup(t)
	if _, err := f.conn.Exec(`DELETE FROM content_documents WHERE kind = $1`, challenge.KindRotation); err != nil {
		t.Fatal(err)
	}
	a := f.player("")
	f.deliver(f.match("br", played(a, 1, nil, nil)))
	if _, err := f.store.Current(f.ctx, a, f.clock.Now()); err != challenge.ErrNotConfigured {
		t.Fatalf("Current = %v, want ErrNotConfigured", err)
	}
}

// TestMatchesArriveThroughTheOutbox runs the consumer under a real relay:
// a match.accepted event advances challenges, and delivering it again
// changes nothing.
func TestMatchesArriveThroughTheOutbox(t *testing.T) {
	f := setup(t)
	f.allDrawn()
	a := f.player("CA")
	relay := outbox.NewRelay(f.conn, testenv.DBURL(t), slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(),
		outbox.Config{BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err := relay.Register(f.ctx, f.store.Consumer()); err != nil {
		t.Fatal(err)
	}
	m := f.match("br", played(a, 1, map[string]int64{match.StatKills: 2}, map[string]int64{"smg": 2}))
	tx, err := f.conn.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	id, err := outbox.Enqueue(f.ctx, tx, match.TopicAccepted, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	deliverAll(t, relay)
	if _, err := f.conn.Exec(`UPDATE outbox_deliveries SET state = 'pending' WHERE event_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	deliverAll(t, relay)
	want := map[string]string{"smg_kills": "2/5", "win_one": "1/1 done", "play_two": "1/2", "deal_damage": "0/1000"}
	if got := progress(f.current(a)); !maps.Equal(got, want) {
		t.Fatalf("progress = %v, want %v", got, want)
	}
	var state string
	if err := f.conn.Get(&state, `SELECT state FROM outbox_deliveries WHERE event_id = $1 AND consumer = $2`, id, challenge.ConsumerName); err != nil || state != "delivered" {
		t.Fatalf("delivery state = %q (%v), want delivered", state, err)
	}
}

func deliverAll(t *testing.T, relay *outbox.Relay) {
	t.Helper()
	for range 100 {
		n, err := relay.DeliverDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("deliveries still due after 100 rounds")
}

// TestAHundredPlayersInOneMatch applies a full lobby, some of whom already
// have sets and some of whom are drawn theirs by the match.
func TestAHundredPlayersInOneMatch(t *testing.T) {
	f := setup(t)
	f.allDrawn()
	countries := []string{"US", "DE", "", "FR", "CA", "JP"}
	players := make([]result, 100)
	for i := range players {
		id := f.player(countries[i%len(countries)])
		if i%3 == 0 {
			f.current(id) // drawn before the match
		}
		players[i] = played(id, i/2+1, map[string]int64{match.StatKills: 1, match.StatDamage: int64(10 * i)}, map[string]int64{"smg": 1})
	}
	f.deliver(f.match("br", players...))
	for i, p := range players {
		got := progress(f.current(p.AccountID))
		win := "0/1"
		if i < 2 {
			win = "1/1 done"
		}
		if got["smg_kills"] != "1/5" || got["play_two"] != "1/2" || got["win_one"] != win {
			t.Fatalf("player %d: %v", i, got)
		}
	}
	if f.balance(players[0].AccountID) != 30 || f.balance(players[2].AccountID) != 0 {
		t.Fatalf("balances %d and %d, want 30 and 0", f.balance(players[0].AccountID), f.balance(players[2].AccountID))
	}
}
