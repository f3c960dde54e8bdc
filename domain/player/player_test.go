package player_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// world is what the tests of this package share: the database, Redis, an
// inventory, the published rules and items that fit them.
type world struct {
	conn *sqlx.DB
	kv   state.KV
	inv  *inventory.Store

	primary, primary2, secondary, operator, banner, title, charm catalog.Item
}

var rulesOnce sync.Once

// rules are the slot rules every test of the package runs with.
var (
	loadoutRules = player.LoadoutRules{MaxLoadouts: 3, Slots: []player.Slot{
		{ID: "primary", ItemKinds: []string{"weapon"}, Tags: []string{"primary"}, Required: true},
		{ID: "secondary", ItemKinds: []string{"weapon"}, Tags: []string{"secondary"}},
		{ID: "operator", ItemKinds: []string{"operator"}},
	}}
	profileRules = player.ProfileRules{Slots: []player.Slot{
		{ID: "banner", ItemKinds: []string{"banner"}},
		{ID: "title", ItemKinds: []string{"charm"}, Tags: []string{"title"}},
	}}
)

// publish checks body with kind's Check and publishes it as kind/id. It
// writes content_documents itself: on this branch content.Store cannot
// save a draft of a new document (it scans a NULL published body).
func publish(t testing.TB, conn *sqlx.DB, kind content.Kind, id string, body any) {
	t.Helper()
	ctx := context.Background()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := kind.Check(ctx, conn, id, b); err != nil {
		t.Fatalf("check %s/%s: %v", kind.Name, id, err)
	}
	const q = `INSERT INTO content_documents (kind, id, name, published_version, published, published_at)
		VALUES ($1, $2, $2, 1, $3, now())
		ON CONFLICT (kind, id) DO UPDATE SET published = EXCLUDED.published,
			published_version = content_documents.published_version + 1, published_at = now()`
	if _, err := conn.ExecContext(ctx, q, kind.Name, id, b); err != nil {
		t.Fatalf("publish %s/%s: %v", kind.Name, id, err)
	}
}

func newWorld(t testing.TB) *world {
	t.Helper()
	conn := testenv.DB(t)
	client, prefix := testenv.Redis(t)
	rulesOnce.Do(func() {
		publish(t, conn, player.LoadoutRulesKind(), player.RulesID, loadoutRules)
		publish(t, conn, player.ProfileRulesKind(), player.RulesID, profileRules)
	})
	w := &world{conn: conn, kv: state.NewRedis(client, prefix), inv: inventory.NewStore(conn, ledger.New(conn), inventory.Config{})}
	item := func(kind string, tags ...string) catalog.Item {
		return economytest.Item(t, conn, func(it *catalog.Item) { it.Kind, it.Tags, it.MaxStack = kind, tags, 1 })
	}
	w.primary, w.primary2, w.secondary = item("weapon", "primary"), item("weapon", "primary"), item("weapon", "secondary")
	w.operator, w.banner, w.title, w.charm = item("operator"), item("banner"), item("charm", "title"), item("charm")
	return w
}

// store is one node's player store over the world's database and Redis.
func (w *world) store(cfg player.Config) *player.Store {
	cfg.Log = quiet
	return player.New(w.conn, w.kv, w.inv, cfg)
}

// player makes a player holding items.
func (w *world) player(t testing.TB, items ...catalog.Item) int64 {
	t.Helper()
	id := economytest.Player(t, w.conn)
	if len(items) == 0 {
		return id
	}
	var lines []inventory.Line
	for _, it := range items {
		lines = append(lines, inventory.Line{ItemID: it.ID, Quantity: 1})
	}
	_, err := w.inv.Grant(context.Background(), inventory.Grant{Key: economytest.Name("grant:"), AccountID: id, Source: "reward", Items: lines})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestLoadoutSlotsAreCheckedAgainstRulesAndInventory(t *testing.T) {
	w := newWorld(t)
	s := w.store(player.Config{})
	ctx := context.Background()
	p := w.player(t, w.primary, w.secondary, w.operator, w.charm)

	tests := []struct {
		name  string
		id    string
		lname string
		slots map[string]string
		want  error
	}{
		{"owned and fitting", "a", "Assault", map[string]string{"primary": w.primary.ID, "secondary": w.secondary.ID, "operator": w.operator.ID}, nil},
		{"optional slots empty", "b", "Lean", map[string]string{"primary": w.primary.ID, "secondary": ""}, nil},
		{"not owned", "c", "Other", map[string]string{"primary": w.primary2.ID}, player.ErrNotOwned},
		{"wrong kind", "c", "Other", map[string]string{"primary": w.primary.ID, "operator": w.charm.ID}, player.ErrItemNotAllowed},
		{"wrong tag", "c", "Other", map[string]string{"primary": w.secondary.ID}, player.ErrItemNotAllowed},
		{"unknown item", "c", "Other", map[string]string{"primary": "item.nothing"}, player.ErrItemNotAllowed},
		{"unknown slot", "c", "Other", map[string]string{"primary": w.primary.ID, "melee": w.charm.ID}, player.ErrUnknownSlot},
		{"required slot empty", "c", "Other", map[string]string{"secondary": w.secondary.ID}, player.ErrSlotRequired},
		{"bad id", "Has Spaces", "Other", map[string]string{"primary": w.primary.ID}, player.ErrInvalid},
		{"empty name", "c", "  ", map[string]string{"primary": w.primary.ID}, player.ErrInvalid},
		{"control character in name", "c", "a\x00b", map[string]string{"primary": w.primary.ID}, player.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := s.SaveLoadout(ctx, p, tt.id, player.LoadoutUpdate{Name: tt.lname, Slots: tt.slots})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				return
			}
			if l.Version != 1 || l.Name != tt.lname {
				t.Fatalf("saved %+v", l)
			}
			for k, v := range tt.slots {
				if l.Slots[k] != v {
					t.Fatalf("slot %s = %q, want %q", k, l.Slots[k], v)
				}
			}
		})
	}
	all, err := s.Loadouts(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "a" || all[1].ID != "b" {
		t.Fatalf("loadouts = %+v, want a and b", all)
	}
	if _, ok := all[1].Slots["secondary"]; ok {
		t.Fatalf("an empty slot was kept: %+v", all[1])
	}
}

func TestProfileCosmeticsMustBeOwnedAndFit(t *testing.T) {
	w := newWorld(t)
	s := w.store(player.Config{})
	ctx := context.Background()
	p := w.player(t, w.banner, w.title, w.charm)

	_, err := s.SaveProfile(ctx, p, player.ProfileUpdate{Cosmetics: map[string]string{"title": w.charm.ID}})
	if !errors.Is(err, player.ErrItemNotAllowed) {
		t.Fatalf("untagged charm as title: %v", err)
	}
	_, err = s.SaveProfile(ctx, p, player.ProfileUpdate{Cosmetics: map[string]string{"banner": w.primary.ID}})
	if !errors.Is(err, player.ErrItemNotAllowed) {
		t.Fatalf("weapon as banner: %v", err)
	}
	got, err := s.SaveProfile(ctx, p, player.ProfileUpdate{Cosmetics: map[string]string{"banner": w.banner.ID, "title": w.title.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Cosmetics["banner"] != w.banner.ID || got.Level != 1 || got.Prestige != 0 || got.DisplayName == "" {
		t.Fatalf("profile = %+v", got)
	}

	// An item the player no longer holds cannot be equipped again.
	other := w.player(t)
	if _, err := s.SaveProfile(ctx, other, player.ProfileUpdate{Cosmetics: map[string]string{"banner": w.banner.ID}}); !errors.Is(err, player.ErrNotOwned) {
		t.Fatalf("unowned banner: %v", err)
	}
}

func TestStaleWritesAreRefusedWithTheCurrentDocument(t *testing.T) {
	w := newWorld(t)
	s := w.store(player.Config{})
	ctx := context.Background()
	p := w.player(t, w.primary, w.primary2, w.banner)

	stale := func(t *testing.T, err error) any {
		t.Helper()
		var se *player.StaleError
		if !errors.As(err, &se) || !errors.Is(err, player.ErrStaleVersion) {
			t.Fatalf("err = %v, want a stale version", err)
		}
		return se.Current
	}

	t.Run("profile", func(t *testing.T) {
		if _, err := s.SaveProfile(ctx, p, player.ProfileUpdate{Cosmetics: map[string]string{"banner": w.banner.ID}}); err != nil {
			t.Fatal(err)
		}
		_, err := s.SaveProfile(ctx, p, player.ProfileUpdate{Version: 0})
		cur, ok := stale(t, err).(player.Profile)
		if !ok || cur.Version != 1 || cur.Cosmetics["banner"] != w.banner.ID {
			t.Fatalf("current = %#v", cur)
		}
		if got, err := s.SaveProfile(ctx, p, player.ProfileUpdate{Version: 1}); err != nil || got.Version != 2 || len(got.Cosmetics) != 0 {
			t.Fatalf("save from the current version: %+v, %v", got, err)
		}
	})

	t.Run("loadout", func(t *testing.T) {
		one := map[string]string{"primary": w.primary.ID}
		two := map[string]string{"primary": w.primary2.ID}
		if _, err := s.SaveLoadout(ctx, p, "main", player.LoadoutUpdate{Name: "Main", Slots: one}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveLoadout(ctx, p, "main", player.LoadoutUpdate{Version: 1, Name: "Main", Slots: two}); err != nil {
			t.Fatal(err)
		}
		for _, from := range []int{0, 1, 3} {
			_, err := s.SaveLoadout(ctx, p, "main", player.LoadoutUpdate{Version: from, Name: "Old", Slots: one})
			cur, ok := stale(t, err).(player.Loadout)
			if !ok || cur.Version != 2 || cur.Slots["primary"] != w.primary2.ID {
				t.Fatalf("from version %d: current = %#v", from, cur)
			}
		}
		cur, _ := stale(t, s.DeleteLoadout(ctx, p, "main", 1)).(player.Loadout)
		if cur.Version != 2 {
			t.Fatalf("stale delete: current = %#v", cur)
		}
		if err := s.DeleteLoadout(ctx, p, "main", 2); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteLoadout(ctx, p, "main", 0); !errors.Is(err, player.ErrLoadoutNotFound) {
			t.Fatalf("delete again: %v", err)
		}
		_, err := s.SaveLoadout(ctx, p, "main", player.LoadoutUpdate{Version: 2, Name: "Main", Slots: one})
		if cur := stale(t, err); cur != nil {
			t.Fatalf("save of a deleted loadout: current = %#v, want nil", cur)
		}
	})

	t.Run("settings", func(t *testing.T) {
		if _, err := s.SaveSettings(ctx, p, 0, json.RawMessage(`{"fov": 90}`)); err != nil {
			t.Fatal(err)
		}
		for _, from := range []int{0, 2} {
			_, err := s.SaveSettings(ctx, p, from, json.RawMessage(`{"fov": 100}`))
			cur, ok := stale(t, err).(player.Settings)
			if !ok || cur.Version != 1 || string(cur.Body) != `{"fov":90}` {
				t.Fatalf("from version %d: current = %#v", from, cur)
			}
		}
	})
}

func TestLoadoutCountIsBoundedUnderConcurrentCreates(t *testing.T) {
	w := newWorld(t)
	s := w.store(player.Config{})
	ctx := context.Background()
	p := w.player(t, w.primary)

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.SaveLoadout(ctx, p, fmt.Sprintf("l%d", i), player.LoadoutUpdate{Name: "L", Slots: map[string]string{"primary": w.primary.ID}})
		})
	}
	wg.Wait()
	saved, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			saved++
		case errors.Is(err, player.ErrTooManyLoadouts):
			refused++
		default:
			t.Fatal(err)
		}
	}
	if saved != loadoutRules.MaxLoadouts || refused != len(errs)-saved {
		t.Fatalf("saved %d, refused %d; want %d saved", saved, refused, loadoutRules.MaxLoadouts)
	}
	all, err := s.Loadouts(ctx, p)
	if err != nil || len(all) != loadoutRules.MaxLoadouts {
		t.Fatalf("loadouts = %d, %v", len(all), err)
	}
	// Replacing one at the limit is fine.
	if _, err := s.SaveLoadout(ctx, p, all[0].ID, player.LoadoutUpdate{Version: 1, Name: "Renamed", Slots: all[0].Slots}); err != nil {
		t.Fatal(err)
	}
}

func TestSettingsMustBeASmallObject(t *testing.T) {
	w := newWorld(t)
	s := w.store(player.Config{SettingsMaxBytes: 64})
	ctx := context.Background()
	p := w.player(t)

	got, err := s.Settings(ctx, p)
	if err != nil || got.Version != 0 || string(got.Body) != `{}` {
		t.Fatalf("settings before any save: %+v, %v", got, err)
	}
	tests := []struct {
		body string
		want error
	}{
		{`[1,2]`, player.ErrInvalid},
		{`"text"`, player.ErrInvalid},
		{`null`, player.ErrInvalid},
		{`{"a":`, player.ErrInvalid},
		{`{"k":"` + string(make([]byte, 60)) + `"}`, player.ErrInvalid}, // NUL bytes: not JSON
		{`{"key":"` + fmt.Sprintf("%060d", 0) + `"}`, player.ErrSettingsTooLarge},
		{`{ "b" : 1, "a" : [1, 2] }`, nil},
	}
	for _, tt := range tests {
		_, err := s.SaveSettings(ctx, p, 0, json.RawMessage(tt.body))
		if !errors.Is(err, tt.want) {
			t.Errorf("%.20s: err = %v, want %v", tt.body, err, tt.want)
		}
	}
	got, err = s.Settings(ctx, p)
	if err != nil || got.Version != 1 || string(got.Body) != `{"b":1,"a":[1,2]}` {
		t.Fatalf("settings = %s v%d, %v; want the object as sent, compacted", got.Body, got.Version, err)
	}
}

func TestProfileReadsLevelAndDisplayNameOfOtherPackages(t *testing.T) {
	w := newWorld(t)
	s := w.store(player.Config{})
	ctx := context.Background()
	p := w.player(t)

	got, err := s.Profile(ctx, p)
	if err != nil || got.Level != 1 || got.Prestige != 0 || got.Version != 0 || len(got.Cosmetics) != 0 {
		t.Fatalf("new player's profile = %+v, %v", got, err)
	}
	if _, err := w.conn.Exec(`INSERT INTO progression (account_id, xp, level, prestige, total_xp) VALUES ($1, 10, 7, 2, 999)`, p); err != nil {
		t.Fatal(err)
	}
	if _, err := w.conn.Exec(`UPDATE accounts SET display_name = 'Renamed' WHERE id = $1`, p); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Profile(ctx, p); got.Level != 1 {
		t.Fatalf("the cached profile changed without an invalidation: %+v", got)
	}
	if err := s.Invalidate(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err = s.Profile(ctx, p)
	if err != nil || got.Level != 7 || got.Prestige != 2 || got.DisplayName != "Renamed" {
		t.Fatalf("profile after Invalidate = %+v, %v", got, err)
	}
	pub, err := s.PublicProfile(ctx, got.PlayerID)
	if err != nil || pub.AccountID != p || pub.Level != 7 {
		t.Fatalf("public profile = %+v, %v", pub, err)
	}
	if _, err := s.PublicProfile(ctx, "no-such-player"); !errors.Is(err, player.ErrNotFound) {
		t.Fatalf("unknown public id: %v", err)
	}
}

// TestWritesReachEveryNode runs two nodes over one database and one Redis:
// whatever one writes, the other reads next, though it had the document
// cached.
func TestWritesReachEveryNode(t *testing.T) {
	w := newWorld(t)
	a, b := w.store(player.Config{}), w.store(player.Config{})
	ctx := context.Background()
	p := w.player(t, w.primary, w.primary2, w.banner)

	// b caches all three documents.
	warm := func() {
		if _, err := b.Profile(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Loadouts(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Settings(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	warm()
	if _, err := a.SaveProfile(ctx, p, player.ProfileUpdate{Cosmetics: map[string]string{"banner": w.banner.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SaveLoadout(ctx, p, "x", player.LoadoutUpdate{Name: "X", Slots: map[string]string{"primary": w.primary.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SaveSettings(ctx, p, 0, json.RawMessage(`{"sens":3}`)); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		pr, err := b.Profile(ctx, p)
		if err != nil || pr.Version != 1 || pr.Cosmetics["banner"] != w.banner.ID {
			t.Fatalf("%s: profile = %+v, %v", what, pr, err)
		}
		ls, err := b.Loadouts(ctx, p)
		if err != nil || len(ls) != 1 || ls[0].Slots["primary"] != w.primary.ID {
			t.Fatalf("%s: loadouts = %+v, %v", what, ls, err)
		}
		st, err := b.Settings(ctx, p)
		if err != nil || string(st.Body) != `{"sens":3}` {
			t.Fatalf("%s: settings = %s, %v", what, st.Body, err)
		}
	}
	check("right after the writes")
	check("read again") // the tombstones keep readers on the database
	warm()

	// The next write is seen at once too, even though b read in between.
	if _, err := a.SaveLoadout(ctx, p, "x", player.LoadoutUpdate{Version: 1, Name: "X", Slots: map[string]string{"primary": w.primary2.ID}}); err != nil {
		t.Fatal(err)
	}
	ls, err := b.Loadouts(ctx, p)
	if err != nil || ls[0].Slots["primary"] != w.primary2.ID || ls[0].Version != 2 {
		t.Fatalf("loadouts after the second write = %+v, %v", ls, err)
	}
}

// TestCacheServesWarmReads checks that a warm read does not touch the
// database: the profile is changed under the cache's feet and the cached
// copy is still answered, until it is invalidated or expires.
//
// The windows are wide so that a loaded machine cannot break the test: a
// read only fills the cache when it took less than CacheHold/2 (2 s here),
// and the change plus the warm read must land within CacheTTL (3 s).
func TestCacheServesWarmReads(t *testing.T) {
	const ttl = 3 * time.Second
	w := newWorld(t)
	tests := []struct {
		name string
		kv   state.KV
	}{
		{"redis", w.kv},
		{"memory", state.NewMemory()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := player.New(w.conn, tt.kv, w.inv, player.Config{CacheTTL: ttl, CacheHold: 4 * time.Second, Log: quiet})
			ctx := context.Background()
			p := w.player(t)
			changed := "changed" + fmt.Sprint(p)
			if _, err := s.Profile(ctx, p); err != nil {
				t.Fatal(err)
			}
			filled := time.Now() // the copy was cached before this, so it expires by filled+ttl
			if _, err := w.conn.Exec(`UPDATE accounts SET display_name = $2 WHERE id = $1`, p, changed); err != nil {
				t.Fatal(err)
			}
			got, err := s.Profile(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if got.DisplayName == changed {
				t.Fatalf("a warm read went to the database (%v after the fill)", time.Since(filled))
			}
			// Past CacheTTL the copy must be gone; poll rather than trust one
			// read at the edge.
			time.Sleep(time.Until(filled.Add(ttl)))
			deadline := time.Now().Add(10 * time.Second)
			for {
				got, err := s.Profile(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if got.DisplayName == changed {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the copy outlived CacheTTL (%v) by 10s: %+v", ttl, got)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

func TestStoreWorksWithoutACache(t *testing.T) {
	w := newWorld(t)
	s := player.New(w.conn, nil, w.inv, player.Config{Log: quiet})
	ctx := context.Background()
	p := w.player(t, w.banner)
	if _, err := s.SaveProfile(ctx, p, player.ProfileUpdate{Cosmetics: map[string]string{"banner": w.banner.ID}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Profile(ctx, p); err != nil || got.Cosmetics["banner"] != w.banner.ID {
		t.Fatalf("profile = %+v, %v", got, err)
	}
}

func TestRulesDocumentsAreChecked(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		kind func() content.Kind
		id   string
		body string
		ok   bool
	}{
		{"loadout rules", player.LoadoutRulesKind, "default", `{"max_loadouts":5,"slots":[{"id":"primary","item_kinds":["weapon"],"tags":["primary"],"required":true}]}`, true},
		{"profile rules", player.ProfileRulesKind, "default", `{"slots":[{"id":"banner","item_kinds":["banner"]}]}`, true},
		{"another document id", player.LoadoutRulesKind, "ranked", `{"max_loadouts":5,"slots":[{"id":"primary","item_kinds":["weapon"]}]}`, false},
		{"no loadouts", player.LoadoutRulesKind, "default", `{"max_loadouts":0,"slots":[{"id":"primary","item_kinds":["weapon"]}]}`, false},
		{"too many loadouts", player.LoadoutRulesKind, "default", `{"max_loadouts":101,"slots":[{"id":"primary","item_kinds":["weapon"]}]}`, false},
		{"no slots", player.LoadoutRulesKind, "default", `{"max_loadouts":5,"slots":[]}`, false},
		{"unknown item kind", player.LoadoutRulesKind, "default", `{"max_loadouts":5,"slots":[{"id":"primary","item_kinds":["sword"]}]}`, false},
		{"slot twice", player.ProfileRulesKind, "default", `{"slots":[{"id":"banner","item_kinds":["banner"]},{"id":"banner","item_kinds":["banner"]}]}`, false},
		{"bad slot id", player.ProfileRulesKind, "default", `{"slots":[{"id":"Banner","item_kinds":["banner"]}]}`, false},
		{"slot without kinds", player.ProfileRulesKind, "default", `{"slots":[{"id":"banner","item_kinds":[]}]}`, false},
		{"unknown field", player.ProfileRulesKind, "default", `{"slots":[{"id":"banner","item_kinds":["banner"],"colour":"red"}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.kind().Check(ctx, nil, tt.id, json.RawMessage(tt.body))
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && !errors.Is(err, content.ErrInvalid) {
				t.Fatalf("err = %v, want content.ErrInvalid", err)
			}
		})
	}
}

// TestReadsAndWritesSurviveACacheOutage runs a store against a Redis that
// does not answer: every read and write still works, from PostgreSQL.
func TestReadsAndWritesSurviveACacheOutage(t *testing.T) {
	w := newWorld(t)
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = down.Close() })
	s := player.New(w.conn, state.NewRedis(down, "down:"), w.inv, player.Config{Log: quiet})
	ctx := context.Background()
	p := w.player(t, w.banner)
	if _, err := s.SaveProfile(ctx, p, player.ProfileUpdate{Cosmetics: map[string]string{"banner": w.banner.ID}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Profile(ctx, p); err != nil || got.Version != 1 {
		t.Fatalf("profile = %+v, %v", got, err)
	}
	if _, err := s.SaveSettings(ctx, p, 0, json.RawMessage(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Settings(ctx, p); err != nil || got.Version != 1 {
		t.Fatalf("settings = %+v, %v", got, err)
	}
	if err := s.Invalidate(ctx, p); err == nil {
		t.Fatal("Invalidate reported success with Redis down")
	}
}
