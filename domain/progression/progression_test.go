package progression_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type env struct {
	t       *testing.T
	conn    *sqlx.DB
	content *content.Store
	led     *ledger.Ledger
	prog    *progression.Store
	relay   *outbox.Relay
	coins   string
	charm   catalog.Item
	skin    catalog.Item
}

var seq atomic.Int64

// newEnv builds progression over a fresh curve: levels of 1,000 XP up to
// level 5; level 2 gives a charm, level 3 coins; prestige up to rank 2, rank
// 1 gives a skin. The curve is the database's only one, so each test
// package run publishes it once per test database.
func newEnv(t *testing.T) *env {
	conn := testenv.DB(t)
	e := &env{t: t, conn: conn, content: content.New(conn), led: ledger.New(conn)}
	inv := inventory.NewStore(conn, e.led, inventory.Config{})
	e.prog = progression.New(conn, reward.NewPayer(inv, e.led), e.led)
	for _, k := range e.prog.ContentKinds() {
		e.content.Register(k)
	}
	e.coins = economytest.Currency(t, conn, "soft")
	e.charm = economytest.Item(t, conn, nil)
	e.skin = economytest.Item(t, conn, func(it *catalog.Item) { it.Kind, it.MaxStack = "skin", 1 })
	curve := progression.Curve{
		XPPerLevel: []int64{1000, 1000, 1000, 1000},
		Rewards: []progression.LevelReward{
			{Level: 2, Reward: reward.Reward{Items: []inventory.Line{{ItemID: e.charm.ID, Quantity: 2}}}},
			{Level: 3, Reward: reward.Reward{Currencies: []reward.Amount{{Currency: e.coins, Amount: 50}}}},
		},
		Prestige: progression.PrestigeRules{MaxRank: 2, Rewards: []progression.RankReward{{Rank: 1, Reward: reward.Reward{Items: []inventory.Line{{ItemID: e.skin.ID, Quantity: 1}}}}}},
	}
	e.publish(progression.KindCurve, progression.CurveID, curve)
	e.relay = outbox.NewRelay(conn, testenv.DBURL(t), slog.New(slog.DiscardHandler), nil, outbox.Config{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err := e.relay.Register(context.Background(), e.prog.Consumer()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) publish(kind, id string, body any) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	ctx := context.Background()
	expected := 0
	if d, err := e.content.Get(ctx, kind, id); err == nil {
		expected = d.DraftRevision
	}
	d, err := e.content.SaveDraft(ctx, kind, id, "", b, content.Edit{Expected: expected, Editor: "test"})
	if err != nil {
		e.t.Fatalf("save %s/%s: %v", kind, id, err)
	}
	if _, err := e.content.Publish(ctx, kind, id, content.Edit{Expected: d.DraftRevision, Editor: "test"}); err != nil {
		e.t.Fatalf("publish %s/%s: %v", kind, id, err)
	}
}

// matchEvent writes an accepted result giving each player xp[i].
func (e *env) matchEvent(matchID string, players []int64, xp ...int64) {
	e.t.Helper()
	ev := match.Accepted{MatchID: matchID, Mode: "test", StartedAt: time.Now(), EndedAt: time.Now()}
	for i, id := range players {
		ev.Players = append(ev.Players, match.AcceptedPlayer{PlayerResult: match.PlayerResult{AccountID: id, Team: 1, Placement: 1}, XP: xp[i]})
	}
	// Match ids reference matches: open one the way a server would.
	var server int64
	err := e.conn.Get(&server, `INSERT INTO game_servers (name, secret_hash) VALUES ($1, '\x00') ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`, "progression-test")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.conn.Exec(`INSERT INTO matches (id, server_id, mode, roster) VALUES ($1, $2, 'test', '{}') ON CONFLICT DO NOTHING`, matchID, server); err != nil {
		e.t.Fatal(err)
	}
	tx := e.conn.MustBegin()
	if _, err := outbox.Enqueue(context.Background(), tx, match.TopicAccepted, ev); err != nil {
		e.t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.relay.DeliverDue(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) state(id int64) progression.State {
	e.t.Helper()
	st, err := e.prog.State(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) held(id int64, item string) int {
	var n int
	_ = e.conn.Get(&n, `SELECT coalesce(sum(quantity), 0) FROM inventory_items WHERE account_id = $1 AND item_id = $2`, id, item)
	return n
}

func (e *env) balance(id int64) int64 {
	var n int64
	_ = e.conn.Get(&n, `SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE holder = $1 AND currency = $2`, string(ledger.Player(id)), e.coins)
	return n
}

func (e *env) levelUps(id int64) int {
	var n int
	_ = e.conn.Get(&n, `SELECT count(*) FROM outbox_events WHERE topic = $1 AND (payload->>'account_id')::bigint = $2`, progression.TopicLevelUp, id)
	return n
}

func matchID() string { return fmt.Sprintf("m%d-%d", time.Now().UnixNano(), seq.Add(1)) }

func TestMatchXPLevelsAndRewardsOnce(t *testing.T) {
	e := newEnv(t)
	a, b := economytest.Player(t, e.conn), economytest.Player(t, e.conn)
	id := matchID()
	e.matchEvent(id, []int64{a, b}, 2500, 400)
	e.matchEvent(id, []int64{a, b}, 2500, 400) // the same match delivered again
	sa, sb := e.state(a), e.state(b)
	if sa.Level != 3 || sa.XP != 2500 || sa.LevelXP != 500 || sa.NextLevelXP != 1000 {
		t.Fatalf("player a = %+v; want level 3 with 2500 XP", sa)
	}
	if sb.Level != 1 || sb.XP != 400 {
		t.Fatalf("player b = %+v; want level 1 with 400 XP", sb)
	}
	if e.held(a, e.charm.ID) != 2 || e.balance(a) != 50 || e.held(b, e.charm.ID) != 0 {
		t.Fatalf("rewards: a holds %d charms and %d coins, b %d charms; want 2, 50, 0", e.held(a, e.charm.ID), e.balance(a), e.held(b, e.charm.ID))
	}
	if e.levelUps(a) != 1 || e.levelUps(b) != 0 {
		t.Fatalf("level-up events: a %d, b %d; want 1 and 0", e.levelUps(a), e.levelUps(b))
	}
	// XP beyond the maximum level stays at its cap but counts in total XP.
	e.matchEvent(matchID(), []int64{a}, 9000)
	if sa = e.state(a); sa.Level != 5 || sa.XP != 4000 || sa.TotalXP != 11500 || !sa.CanPrestige || sa.NextLevelXP != 0 {
		t.Fatalf("after a big match = %+v; want level 5, XP 4000 capped, total 11500, can prestige", sa)
	}
}

func TestPrestige(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := economytest.Player(t, e.conn)
	if _, err := e.prog.Prestige(ctx, a, "p1"); !errors.Is(err, progression.ErrNotMaxLevel) {
		t.Fatalf("prestige at level 1: %v", err)
	}
	e.matchEvent(matchID(), []int64{a}, 4000)
	st, err := e.prog.Prestige(ctx, a, "p1")
	if err != nil || st.Prestige != 1 || st.Level != 1 || st.XP != 0 || st.TotalXP != 4000 {
		t.Fatalf("prestige = %+v, %v", st, err)
	}
	if again, err := e.prog.Prestige(ctx, a, "p1"); err != nil || !again.Replayed || again.Prestige != 1 {
		t.Fatalf("prestige replayed = %+v, %v", again, err)
	}
	if e.held(a, e.skin.ID) != 1 {
		t.Fatal("rank 1 reward not paid once")
	}
	// Levels are earned again in the new rank, with their rewards again.
	e.matchEvent(matchID(), []int64{a}, 4000)
	if e.held(a, e.charm.ID) != 4 {
		t.Fatalf("holds %d charms after reaching level 2 in two ranks; want 4", e.held(a, e.charm.ID))
	}
	if _, err := e.prog.Prestige(ctx, a, "p2"); err != nil {
		t.Fatal(err)
	}
	e.matchEvent(matchID(), []int64{a}, 4000)
	if _, err := e.prog.Prestige(ctx, a, "p3"); !errors.Is(err, progression.ErrPrestigeCap) {
		t.Fatalf("prestige past the cap: %v", err)
	}
}

func TestAdjust(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := economytest.Player(t, e.conn)
	var seen []string
	adj := progression.Adjustment{AccountID: a, XP: 1200, Key: "k1", Reason: "lost match", Also: func(_ *sqlx.Tx, before, after progression.State) error {
		seen = append(seen, fmt.Sprintf("%d->%d", before.Level, after.Level))
		return nil
	}}
	if st, err := e.prog.Adjust(ctx, adj); err != nil || st.Level != 2 {
		t.Fatalf("adjust = %+v, %v", st, err)
	}
	if st, err := e.prog.Adjust(ctx, adj); err != nil || !st.Replayed || st.XP != 1200 {
		t.Fatalf("adjust replayed = %+v, %v", st, err)
	}
	other := adj
	other.XP = 5
	if _, err := e.prog.Adjust(ctx, other); !errors.Is(err, progression.ErrKeyReused) {
		t.Fatalf("key reused: %v", err)
	}
	for _, bad := range []progression.Adjustment{{AccountID: a, XP: 0, Key: "k", Reason: "r"}, {AccountID: a, XP: 5, Key: "", Reason: "r"}, {AccountID: a, XP: 5, Key: "k", Reason: ""}} {
		if _, err := e.prog.Adjust(ctx, bad); !errors.Is(err, progression.ErrInvalid) {
			t.Errorf("adjust %+v: %v", bad, err)
		}
	}
	if len(seen) != 1 || seen[0] != "1->2" || e.held(a, e.charm.ID) != 2 {
		t.Fatalf("audit hook saw %v; charms %d", seen, e.held(a, e.charm.ID))
	}
}

func TestUnlockTree(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rifle := economytest.Item(t, e.conn, func(it *catalog.Item) { it.Kind, it.MaxStack = "weapon", 1 })
	scope := economytest.Item(t, e.conn, nil)
	tree := "tree-" + fmt.Sprint(seq.Add(1))
	e.publish(progression.KindTree, tree, progression.Tree{Name: "Rifle", Kind: "weapon", Nodes: []progression.Node{
		{ID: "base", Name: "Rifle", Reward: reward.Reward{Items: []inventory.Line{{ItemID: rifle.ID, Quantity: 1}}}},
		{ID: "scope", Name: "Scope", Requires: []string{"base"}, MinLevel: 2, Cost: &reward.Amount{Currency: e.coins, Amount: 30},
			Reward: reward.Reward{Items: []inventory.Line{{ItemID: scope.ID, Quantity: 1}}}},
	}})
	a := economytest.Player(t, e.conn)
	if _, err := e.prog.Unlock(ctx, a, tree, "scope", "u1"); !errors.Is(err, progression.ErrLocked) {
		t.Fatalf("scope before base: %v", err)
	}
	if u, err := e.prog.Unlock(ctx, a, tree, "base", "u2"); err != nil || u.Replayed {
		t.Fatalf("unlock base = %+v, %v", u, err)
	}
	if u, err := e.prog.Unlock(ctx, a, tree, "base", "u2"); err != nil || !u.Replayed {
		t.Fatalf("unlock base replayed = %+v, %v", u, err)
	}
	if _, err := e.prog.Unlock(ctx, a, tree, "base", "u3"); !errors.Is(err, progression.ErrAlreadyUnlocked) {
		t.Fatalf("unlock base again with a new key: %v", err)
	}
	if _, err := e.prog.Unlock(ctx, a, tree, "scope", "u4"); !errors.Is(err, progression.ErrLocked) {
		t.Fatalf("scope at level 1: %v", err)
	}
	e.matchEvent(matchID(), []int64{a}, 1000) // level 2, no coins yet (level 3 pays them)
	if _, err := e.prog.Unlock(ctx, a, tree, "scope", "u5"); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("scope without coins: %v", err)
	}
	if e.held(a, scope.ID) != 0 {
		t.Fatal("a refused unlock gave its reward")
	}
	e.matchEvent(matchID(), []int64{a}, 1000) // level 3: 50 coins
	if _, err := e.prog.Unlock(ctx, a, tree, "scope", "u6"); err != nil {
		t.Fatal(err)
	}
	if e.balance(a) != 20 || e.held(a, scope.ID) != 1 || e.held(a, rifle.ID) != 1 {
		t.Fatalf("after unlocks: %d coins, %d scopes, %d rifles; want 20, 1, 1", e.balance(a), e.held(a, scope.ID), e.held(a, rifle.ID))
	}
	trees, err := e.prog.Trees(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range trees {
		if ts.ID == tree && (len(ts.Nodes) != 2 || !ts.Nodes[0].Unlocked || !ts.Nodes[1].Unlocked) {
			t.Fatalf("tree state = %+v", ts)
		}
	}
	for node, want := range map[string]error{"nope": progression.ErrUnknownNode} {
		if _, err := e.prog.Unlock(ctx, a, tree, node, "x"+node); !errors.Is(err, want) {
			t.Errorf("unlock %s: %v", node, err)
		}
	}
	if _, err := e.prog.Unlock(ctx, a, "no-such-tree", "base", "y"); !errors.Is(err, progression.ErrUnknownTree) {
		t.Errorf("unknown tree: %v", err)
	}
}

func TestInvalidProgressionContent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cases := []struct {
		kind, id, body, field string
	}{
		{progression.KindCurve, "other", `{"xp_per_level":[100],"prestige":{"max_rank":0}}`, "id"},
		{progression.KindCurve, progression.CurveID, `{"xp_per_level":[],"prestige":{"max_rank":0}}`, "xp_per_level"},
		{progression.KindCurve, progression.CurveID, `{"xp_per_level":[100,0],"prestige":{"max_rank":0}}`, "xp_per_level[1]"},
		{progression.KindCurve, progression.CurveID, `{"xp_per_level":[100],"rewards":[{"level":3,"reward":{}}],"prestige":{"max_rank":0}}`, "rewards[0].level"},
		{progression.KindCurve, progression.CurveID, `{"xp_per_level":[100],"rewards":[{"level":2,"reward":{"items":[{"item_id":"nope","quantity":1}]}}],"prestige":{"max_rank":0}}`, "rewards[0].reward.items[0]"},
		{progression.KindTree, "t1", `{"name":"T","kind":"car","nodes":[]}`, "kind"},
		{progression.KindTree, "t1", `{"name":"T","kind":"weapon","nodes":[{"id":"b","name":"B","requires":["a"],"reward":{"currencies":[{"currency":"` + e.coins + `","amount":1}]}}]}`, "nodes[0].requires[0]"},
	}
	for _, c := range cases {
		d, _ := e.content.Get(ctx, c.kind, c.id)
		_, err := e.content.SaveDraft(ctx, c.kind, c.id, "", json.RawMessage(c.body), content.Edit{Expected: d.DraftRevision})
		var fe *content.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want a field error on %s", c.body, err, c.field)
		}
	}
}

// An item retired from the catalog after the curve that gives it was
// published cannot be granted any more; the level-up still happens, the
// rest of the reward is paid, and the match is not held up for every
// player in it.
func TestRetiredRewardItemDoesNotBlockTheMatch(t *testing.T) {
	e := newEnv(t)
	a, b := economytest.Player(t, e.conn), economytest.Player(t, e.conn)
	if _, err := e.conn.Exec(`UPDATE catalog_items SET retired = true WHERE id = $1`, e.charm.ID); err != nil {
		t.Fatal(err)
	}
	id := matchID()
	e.matchEvent(id, []int64{a, b}, 2500, 400)
	var failed []string
	if err := e.conn.Select(&failed, `SELECT d.last_error FROM outbox_deliveries d JOIN outbox_events ev ON ev.id = d.event_id
		WHERE ev.payload->>'match_id' = $1 AND d.state <> 'delivered'`, id); err != nil {
		t.Fatal(err)
	}
	if len(failed) != 0 {
		t.Fatalf("the match was not applied: %v", failed)
	}
	if sa, sb := e.state(a), e.state(b); sa.Level != 3 || sa.XP != 2500 || sb.XP != 400 {
		t.Fatalf("after the match: a %+v, b %+v; want a at level 3 with 2500 XP, b with 400", sa, sb)
	}
	if e.balance(a) != 50 || e.held(a, e.charm.ID) != 0 {
		t.Fatalf("a holds %d coins and %d retired charms; want 50 and 0", e.balance(a), e.held(a, e.charm.ID))
	}
}

// A player's idempotency key is theirs to choose: one that spells another
// node's reward ("<tree>:<node>:<currency>") must not take that reward's
// ledger key, or that node could never be unlocked.
func TestUnlockKeyDoesNotTakeARewardsKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	scope := economytest.Item(t, e.conn, nil)
	tree := "tree-" + fmt.Sprint(seq.Add(1))
	e.publish(progression.KindTree, tree, progression.Tree{Name: "Rifle", Kind: "weapon", Nodes: []progression.Node{
		{ID: "scope", Name: "Scope", Cost: &reward.Amount{Currency: e.coins, Amount: 30},
			Reward: reward.Reward{Items: []inventory.Line{{ItemID: scope.ID, Quantity: 1}}}},
		{ID: "grip", Name: "Grip", Reward: reward.Reward{Currencies: []reward.Amount{{Currency: e.coins, Amount: 10}}}},
	}})
	a := economytest.Player(t, e.conn)
	e.matchEvent(matchID(), []int64{a}, 2000) // level 3: 50 coins
	if _, err := e.prog.Unlock(ctx, a, tree, "scope", tree+":grip:"+e.coins); err != nil {
		t.Fatal(err)
	}
	if _, err := e.prog.Unlock(ctx, a, tree, "grip", "g1"); err != nil {
		t.Fatalf("unlock grip after a key that spells its reward: %v", err)
	}
	if e.balance(a) != 30 {
		t.Fatalf("balance %d; want 50 - 30 + 10", e.balance(a))
	}
}

// The API takes Idempotency-Keys of up to 200 bytes; an unlock with a
// cost must work with one that long.
func TestUnlockWithALongKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	scope := economytest.Item(t, e.conn, nil)
	tree := "tree-" + fmt.Sprint(seq.Add(1))
	e.publish(progression.KindTree, tree, progression.Tree{Name: "Rifle", Kind: "weapon", Nodes: []progression.Node{
		{ID: "scope", Name: "Scope", Cost: &reward.Amount{Currency: e.coins, Amount: 30},
			Reward: reward.Reward{Items: []inventory.Line{{ItemID: scope.ID, Quantity: 1}}}},
	}})
	a := economytest.Player(t, e.conn)
	e.matchEvent(matchID(), []int64{a}, 2000) // level 3: 50 coins
	key := strings.Repeat("k", 200)
	if _, err := e.prog.Unlock(ctx, a, tree, "scope", key); err != nil {
		t.Fatalf("unlock with a 200-byte key: %v", err)
	}
	if u, err := e.prog.Unlock(ctx, a, tree, "scope", key); err != nil || !u.Replayed {
		t.Fatalf("the same unlock again = %+v, %v; want replayed", u, err)
	}
	if e.balance(a) != 20 || e.held(a, scope.ID) != 1 {
		t.Fatalf("%d coins and %d scopes; want 20 and 1", e.balance(a), e.held(a, scope.ID))
	}
}

// Retries of one request that arrive while it is under way (a client that
// timed out, a double-clicked console form) answer its outcome, as a retry
// after it does: not an error that makes the caller think it failed and
// send it again under a new key.
func TestConcurrentRetriesAnswerTheFirst(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tree := "tree-" + fmt.Sprint(seq.Add(1))
	e.publish(progression.KindTree, tree, progression.Tree{Name: "Rifle", Kind: "weapon", Nodes: []progression.Node{
		{ID: "grip", Name: "Grip", Reward: reward.Reward{Currencies: []reward.Amount{{Currency: e.coins, Amount: 10}}}},
	}})
	cases := map[string]func(a int64) (replayed bool, err error){
		"adjust": func(a int64) (bool, error) {
			st, err := e.prog.Adjust(ctx, progression.Adjustment{AccountID: a, XP: 100, Key: "same", Reason: "support"})
			return st.Replayed, err
		},
		"prestige": func(a int64) (bool, error) {
			st, err := e.prog.Prestige(ctx, a, "same")
			return st.Replayed, err
		},
		"unlock": func(a int64) (bool, error) {
			u, err := e.prog.Unlock(ctx, a, tree, "grip", "same")
			return u.Replayed, err
		},
	}
	for name, do := range cases {
		t.Run(name, func(t *testing.T) {
			a := economytest.Player(t, e.conn)
			e.matchEvent(matchID(), []int64{a}, 4000) // the maximum level
			// Both attempts line up behind a lock on the player's progression.
			blocker := e.conn.MustBegin()
			defer blocker.Rollback()
			if _, err := blocker.Exec(`SELECT 1 FROM progression WHERE account_id = $1 FOR UPDATE`, a); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			replayed := make([]bool, 2)
			errs := make([]error, 2)
			for i := range 2 {
				wg.Go(func() { replayed[i], errs[i] = do(a) })
			}
			for waiting := 0; waiting < 2; time.Sleep(10 * time.Millisecond) {
				if err := e.conn.Get(&waiting, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
					t.Fatal(err)
				}
			}
			if err := blocker.Rollback(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil || replayed[0] == replayed[1] {
				t.Fatalf("two attempts answered (replayed %v, %v) and (%v, %v); want one done and one replayed", replayed[0], errs[0], replayed[1], errs[1])
			}
		})
	}
}
