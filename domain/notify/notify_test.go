package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newStore(t testing.TB) (*notify.Store, *sqlx.DB) {
	conn := testenv.DB(t)
	return notify.NewStore(conn, notify.Config{}), conn
}

// add stores in in one transaction.
func add(t testing.TB, s *notify.Store, conn *sqlx.DB, in ...notify.New) []notify.Notification {
	t.Helper()
	var out []notify.Notification
	err := db.InTx(context.Background(), conn, nil, func(tx *sqlx.Tx) error {
		var err error
		out, err = s.Add(context.Background(), tx, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func seqsOf(ns []notify.Notification) []uint64 {
	out := make([]uint64, len(ns))
	for i, n := range ns {
		out[i] = n.Seq
	}
	return out
}

func TestAddNumbersEachPlayerFromOneInInputOrder(t *testing.T) {
	s, conn := newStore(t)
	a, b, c := economytest.Player(t, conn), economytest.Player(t, conn), economytest.Player(t, conn)
	got := add(t, s, conn,
		notify.New{AccountID: a, Kind: "test.first", Payload: map[string]int{"n": 1}},
		notify.New{AccountID: b, Kind: "test.first", Payload: map[string]int{"n": 2}},
		notify.New{AccountID: a, Kind: "test.second", Payload: map[string]int{"n": 3}},
		notify.New{AccountID: c, Kind: "test.first"},
		notify.New{AccountID: a, Kind: "test.third", Payload: json.RawMessage(`{"n":5}`)},
	)
	if want := []uint64{1, 1, 2, 1, 3}; !slices.Equal(seqsOf(got), want) {
		t.Fatalf("seqs = %v, want %v", seqsOf(got), want)
	}
	for i, want := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{}`, `{"n":5}`} {
		if string(got[i].Payload) != want || got[i].ID == "" || got[i].CreatedAt.IsZero() || got[i].ReadAt != nil {
			t.Fatalf("notification %d = %+v, want payload %s, an id, a time, unread", i, got[i], want)
		}
	}
	if got[0].Kind != "test.first" || got[2].Kind != "test.second" || got[4].Kind != "test.third" {
		t.Fatalf("kinds out of order: %+v", got)
	}
	// The next batch goes on from each player's last number.
	more := add(t, s, conn, notify.New{AccountID: c, Kind: "test.x"}, notify.New{AccountID: a, Kind: "test.x"})
	if want := []uint64{2, 4}; !slices.Equal(seqsOf(more), want) {
		t.Fatalf("second batch seqs = %v, want %v", seqsOf(more), want)
	}
	if last, err := s.LastSeq(context.Background(), a); err != nil || last != 4 {
		t.Fatalf("LastSeq(a) = %d, %v; want 4", last, err)
	}
	if last, err := s.LastSeq(context.Background(), economytest.Player(t, conn)); err != nil || last != 0 {
		t.Fatalf("LastSeq(new player) = %d, %v; want 0", last, err)
	}
}

// Concurrent transactions notifying the same players, in different orders,
// some rolled back: every player's committed seqs are 1..n with no gap and
// no repeat, and no transaction deadlocks.
func TestConcurrentAddsAreGapFreePerPlayer(t *testing.T) {
	s, conn := newStore(t)
	players := []int64{economytest.Player(t, conn), economytest.Player(t, conn), economytest.Player(t, conn)}
	const workers, rounds = 6, 15
	var mu sync.Mutex
	committed := map[int64]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for r := range rounds {
				var batch []notify.New
				for _, p := range players {
					for range rng.IntN(3) {
						batch = append(batch, notify.New{AccountID: p, Kind: "test.concurrent", Payload: map[string]int{"w": w, "r": r}})
					}
				}
				rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
				rollback := rng.IntN(4) == 0
				errRollback := errors.New("rolled back on purpose")
				err := db.InTx(context.Background(), conn, nil, func(tx *sqlx.Tx) error {
					if _, err := s.Add(context.Background(), tx, batch); err != nil {
						return err
					}
					time.Sleep(time.Duration(rng.IntN(2)) * time.Millisecond) // hold the locks a little
					if rollback {
						return errRollback
					}
					return nil
				})
				switch {
				case rollback && errors.Is(err, errRollback):
				case err != nil:
					t.Error(err)
					return
				default:
					mu.Lock()
					for _, n := range batch {
						committed[n.AccountID]++
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for _, p := range players {
		var seqs []uint64
		if err := conn.Select(&seqs, `SELECT seq FROM notifications WHERE account_id = $1 ORDER BY seq`, p); err != nil {
			t.Fatal(err)
		}
		for i, sq := range seqs {
			if sq != uint64(i+1) {
				t.Fatalf("player %d seqs = %v: want 1..%d with no gap", p, seqs, len(seqs))
			}
		}
		if len(seqs) != committed[p] {
			t.Fatalf("player %d has %d notifications, %d were committed", p, len(seqs), committed[p])
		}
		if last, err := s.LastSeq(context.Background(), p); err != nil || last != uint64(len(seqs)) {
			t.Fatalf("LastSeq = %d, %v; want %d", last, err, len(seqs))
		}
	}
}

func TestAddRefusesWhatCannotBeStored(t *testing.T) {
	s, conn := newStore(t)
	p := economytest.Player(t, conn)
	cases := []struct {
		name string
		in   notify.New
		want error
	}{
		{"no account", notify.New{Kind: "test.x"}, notify.ErrInvalid},
		{"empty kind", notify.New{AccountID: p}, notify.ErrInvalid},
		{"upper-case kind", notify.New{AccountID: p, Kind: "Test.X"}, notify.ErrInvalid},
		{"kind with a space", notify.New{AccountID: p, Kind: "test x"}, notify.ErrInvalid},
		{"long kind", notify.New{AccountID: p, Kind: strings.Repeat("a", 65)}, notify.ErrInvalid},
		{"array payload", notify.New{AccountID: p, Kind: "test.x", Payload: []int{1}}, notify.ErrInvalid},
		{"string payload", notify.New{AccountID: p, Kind: "test.x", Payload: "hello"}, notify.ErrInvalid},
		{"bad raw JSON", notify.New{AccountID: p, Kind: "test.x", Payload: json.RawMessage(`{"a":`)}, notify.ErrInvalid},
		{"NUL in payload", notify.New{AccountID: p, Kind: "test.x", Payload: map[string]string{"a": "\x00"}}, notify.ErrInvalid},
		{"huge payload", notify.New{AccountID: p, Kind: "test.x", Payload: map[string]string{"a": string(make([]byte, 9000))}}, notify.ErrInvalid},
		{"unknown account", notify.New{AccountID: 1 << 60, Kind: "test.x"}, notify.ErrUnknownAccount},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx, err := conn.Beginx()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := s.Add(context.Background(), tx, []notify.New{c.in}); !errors.Is(err, c.want) {
				t.Fatalf("Add = %v, want %v", err, c.want)
			}
		})
	}
	if last, _ := s.LastSeq(context.Background(), p); last != 0 {
		t.Fatalf("a refused notification took seq %d", last)
	}
}

func TestSinceAnswersWhatFollowsInOrder(t *testing.T) {
	s, conn := newStore(t)
	p, other := economytest.Player(t, conn), economytest.Player(t, conn)
	for i := range 7 {
		add(t, s, conn, notify.New{AccountID: p, Kind: "test.since", Payload: map[string]int{"i": i + 1}},
			notify.New{AccountID: other, Kind: "test.noise"})
	}
	ctx := context.Background()
	cases := []struct {
		after uint64
		limit int
		want  []uint64
	}{
		{0, 0, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{3, 0, []uint64{4, 5, 6, 7}},
		{3, 2, []uint64{4, 5}},
		{6, 10, []uint64{7}},
		{7, 10, []uint64{}},
		{1 << 63, 10, nil},
	}
	for _, c := range cases {
		got, err := s.Since(ctx, p, c.after, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqsOf(got), c.want) {
			t.Errorf("Since(%d, %d) = %v, want %v", c.after, c.limit, seqsOf(got), c.want)
		}
		for _, n := range got {
			var body struct{ I uint64 }
			if err := json.Unmarshal(n.Payload, &body); err != nil || body.I != n.Seq || n.Kind != "test.since" {
				t.Fatalf("Since answered %+v (another player's or another's payload)", n)
			}
		}
	}
}

func TestListAndMarkRead(t *testing.T) {
	s, conn := newStore(t)
	ctx := context.Background()
	p, other := economytest.Player(t, conn), economytest.Player(t, conn)
	var all []notify.Notification
	for range 6 {
		all = append(all, add(t, s, conn, notify.New{AccountID: p, Kind: "test.list"})...)
	}
	theirs := add(t, s, conn, notify.New{AccountID: other, Kind: "test.list"})

	list := func(before uint64, limit int, unread bool) []uint64 {
		t.Helper()
		got, err := s.List(ctx, p, before, limit, unread)
		if err != nil {
			t.Fatal(err)
		}
		return seqsOf(got)
	}
	unread := func() int {
		t.Helper()
		n, err := s.UnreadCount(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := list(0, 0, false); !slices.Equal(got, []uint64{6, 5, 4, 3, 2, 1}) {
		t.Fatalf("List = %v, want newest first", got)
	}
	if got := list(5, 2, false); !slices.Equal(got, []uint64{4, 3}) {
		t.Fatalf("List(before 5, 2) = %v, want [4 3]", got)
	}
	if unread() != 6 {
		t.Fatalf("unread = %d, want 6", unread())
	}

	if n, err := s.MarkRead(ctx, p, 3); err != nil || n != 3 {
		t.Fatalf("MarkRead(3) = %d, %v; want 3", n, err)
	}
	if n, err := s.MarkRead(ctx, p, 3); err != nil || n != 0 {
		t.Fatalf("MarkRead(3) again = %d, %v; want 0", n, err)
	}
	// Another player's id is ignored; an id marked twice counts once.
	n, err := s.MarkReadIDs(ctx, p, []string{all[4].ID, all[4].ID, theirs[0].ID, "00000000-0000-4000-8000-000000000000"})
	if err != nil || n != 1 {
		t.Fatalf("MarkReadIDs = %d, %v; want 1", n, err)
	}
	if got := list(0, 0, true); !slices.Equal(got, []uint64{6, 4}) {
		t.Fatalf("unread List = %v, want [6 4]", got)
	}
	if unread() != 2 {
		t.Fatalf("unread = %d, want 2", unread())
	}
	if c, _ := s.UnreadCount(ctx, other); c != 1 {
		t.Fatalf("the other player's unread = %d, want 1 (untouched)", c)
	}
	got, _ := s.List(ctx, p, 0, 0, false)
	for _, n := range got {
		if read := n.ReadAt != nil; read != (n.Seq <= 3 || n.Seq == 5) {
			t.Fatalf("seq %d read_at = %v", n.Seq, n.ReadAt)
		}
	}
	if _, err := s.MarkReadIDs(ctx, p, []string{"not-a-uuid"}); !errors.Is(err, notify.ErrInvalid) {
		t.Fatalf("MarkReadIDs(bad id) = %v, want ErrInvalid", err)
	}
}

func TestPruneDeletesOldReadAndVeryOld(t *testing.T) {
	s, conn := newStore(t)
	ctx := context.Background()
	p := economytest.Player(t, conn)
	ns := add(t, s, conn,
		notify.New{AccountID: p, Kind: "test.prune"}, // 1: 10 days, read -> deleted
		notify.New{AccountID: p, Kind: "test.prune"}, // 2: 10 days, unread -> kept
		notify.New{AccountID: p, Kind: "test.prune"}, // 3: 40 days, unread -> deleted
		notify.New{AccountID: p, Kind: "test.prune"}, // 4: new, read -> kept
	)
	age := func(seq uint64, days int) {
		if _, err := conn.Exec(`UPDATE notifications SET created_at = now() - $3 * interval '1 day' WHERE account_id = $1 AND seq = $2`, p, seq, days); err != nil {
			t.Fatal(err)
		}
	}
	age(1, 10)
	age(2, 10)
	age(3, 40)
	if _, err := s.MarkReadIDs(ctx, p, []string{ns[0].ID, ns[3].ID}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(ctx, 7*24*time.Hour, 30*24*time.Hour)
	if err != nil || n < 2 {
		t.Fatalf("Prune = %d, %v; want at least 2", n, err)
	}
	left, _ := s.Since(ctx, p, 0, 0)
	if got := seqsOf(left); !slices.Equal(got, []uint64{2, 4}) {
		t.Fatalf("after Prune %v remain, want [2 4]", got)
	}
	// Numbers are not reused after a prune.
	if more := add(t, s, conn, notify.New{AccountID: p, Kind: "test.prune"}); more[0].Seq != 5 {
		t.Fatalf("seq after prune = %d, want 5", more[0].Seq)
	}
}

func TestChannelAndMessage(t *testing.T) {
	if got := notify.ChannelFor(42); got != "notify:42" {
		t.Fatalf("ChannelFor(42) = %q", got)
	}
	if got := notify.ChannelFor(42 + notify.Shards); got != "notify:42" {
		t.Fatalf("ChannelFor(42+Shards) = %q: players share shard channels", got)
	}
	chans := notify.Channels()
	if len(chans) != notify.Shards || chans[0] != "notify:0" || chans[notify.Shards-1] != fmt.Sprintf("notify:%d", notify.Shards-1) {
		t.Fatalf("Channels = %v", chans)
	}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	n := notify.Notification{Seq: 7, ID: "0b7f3c52-1d6a-4c8e-9f00-3a1c2b4d5e6f", Kind: "progression.level_up", Payload: json.RawMessage(`{"level":12}`), CreatedAt: at}
	msg, err := notify.EncodeMessage(42, n)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"account_id":42,"seq":7,"id":"0b7f3c52-1d6a-4c8e-9f00-3a1c2b4d5e6f","kind":"progression.level_up","payload":{"level":12},"created_at":"2025-03-01T12:00:00Z","read_at":null}`
	if string(msg) != want {
		t.Fatalf("message = %s\nwant      %s", msg, want)
	}
	got, err := notify.DecodeMessage(msg)
	if err != nil || got.AccountID != 42 || got.Seq != 7 || got.ID != n.ID || got.Kind != n.Kind || string(got.Payload) != `{"level":12}` ||
		!got.CreatedAt.Equal(at) || got.Traceparent != "" {
		t.Fatalf("DecodeMessage = %+v, %v", got, err)
	}
	// A traced publisher adds its trace at the end; the account id stays
	// first, where MessageAccount reads it.
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traced, err := notify.Message{AccountID: 42, Notification: n, Traceparent: tp}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSuffix(want, "}") + `,"traceparent":"` + tp + `"}`; string(traced) != want {
		t.Fatalf("traced message = %s\nwant             %s", traced, want)
	}
	if got, err := notify.DecodeMessage(traced); err != nil || got.Traceparent != tp || got.Seq != 7 {
		t.Fatalf("DecodeMessage(traced) = %+v, %v", got, err)
	}
	if id, ok := notify.MessageAccount(traced); !ok || id != 42 {
		t.Fatalf("MessageAccount(traced) = %d, %v", id, ok)
	}
	for _, bad := range []string{``, `null`, `[]`, `{"seq":1}`, `{"account_id":1,"seq":0,"id":"x","kind":"k","payload":{}}`, `{"account_id":1,"seq":1,"id":"x","kind":"k"}`} {
		if _, err := notify.DecodeMessage([]byte(bad)); err == nil {
			t.Errorf("DecodeMessage(%s) accepted", bad)
		}
	}
}

func TestMessageAccount(t *testing.T) {
	n := notify.Notification{Seq: 1, ID: "0b7f3c52-1d6a-4c8e-9f00-3a1c2b4d5e6f", Kind: "k", Payload: json.RawMessage(`{}`), CreatedAt: time.Now()}
	for _, id := range []int64{1, 9, 10, 42, 1234567, 999_999_999_999_999_999} {
		msg, err := notify.EncodeMessage(id, n)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := notify.MessageAccount(msg); !ok || got != id {
			t.Errorf("MessageAccount(EncodeMessage(%d)) = %d, %v", id, got, ok)
		}
	}
	for _, bad := range []string{``, `{"account_id":`, `{"account_id":42`, `{"account_id":,"seq":1}`, `{"account_id":0,"seq":1}`,
		`{"account_id":007,"seq":1}`, `{"account_id":-4,"seq":1}`, `{"account_id":4.5,"seq":1}`, `{"account_id":"4","seq":1}`,
		`{"account_id":1234567890123456789,"seq":1}`, `{ "account_id":4,"seq":1}`, `{"seq":1,"account_id":4}`, `[]`} {
		if got, ok := notify.MessageAccount([]byte(bad)); ok {
			t.Errorf("MessageAccount(%s) = %d, ok", bad, got)
		}
	}
}

func ExampleChannelFor() {
	fmt.Println(notify.ChannelFor(42))
	// Output: notify:42
}
