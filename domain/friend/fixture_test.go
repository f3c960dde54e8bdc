package friend_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The store answers what presence and parties ask of friends.
var (
	_ presence.Friends = (*friend.Store)(nil)
	_ party.Friends    = (*friend.Store)(nil)
)

// fixture is a friend store over the test database.
type fixture struct {
	t     testing.TB
	conn  *sqlx.DB
	store *friend.Store
}

func newFixture(t testing.TB, cfg friend.Config) *fixture {
	conn := testenv.DB(t)
	return &fixture{t: t, conn: conn, store: friend.NewStore(conn, cfg)}
}

// gamer is a player account.
type gamer struct {
	id     int64
	public string
	name   string
}

func (f *fixture) gamer() gamer {
	f.t.Helper()
	id := economytest.Player(f.t, f.conn)
	a, err := account.NewStore(f.conn).ByID(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return gamer{id: id, public: a.PublicID, name: a.DisplayName}
}

// sent is a notification asked for through notify.Send.
type sent struct {
	Kind    string
	Payload friend.Payload
}

// sent lists the notifications asked for g, oldest first.
func (f *fixture) sent(g gamer) []sent {
	f.t.Helper()
	var raw [][]byte
	const q = `SELECT payload FROM outbox_events WHERE topic = $1 AND (payload->>'account_id')::bigint = $2 ORDER BY created_at, id`
	if err := f.conn.Select(&raw, q, notify.TopicSend, g.id); err != nil {
		f.t.Fatal(err)
	}
	var out []sent
	for _, b := range raw {
		var r notify.Request
		if err := json.Unmarshal(b, &r); err != nil {
			f.t.Fatal(err)
		}
		s := sent{Kind: r.Kind}
		if err := json.Unmarshal(r.Payload, &s.Payload); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// states answers how g's list shows each other player, by public id.
func (f *fixture) states(g gamer) map[string]friend.State {
	f.t.Helper()
	l, err := f.store.List(context.Background(), g.id)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]friend.State{}
	for _, group := range [][]friend.Relation{l.Friends, l.Incoming, l.Outgoing, l.Blocked} {
		for _, r := range group {
			if _, dup := out[r.PlayerID]; dup {
				f.t.Fatalf("%s is listed twice", r.PlayerID)
			}
			out[r.PlayerID] = r.State
		}
	}
	return out
}

// expectStates checks how g's list shows others; players not named must
// not be listed.
func (f *fixture) expectStates(g gamer, want map[string]friend.State) {
	f.t.Helper()
	got := f.states(g)
	if len(got) != len(want) {
		f.t.Fatalf("list of %s = %v, want %v", g.public, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			f.t.Fatalf("list of %s = %v, want %v", g.public, got, want)
		}
	}
}

// must fails the test on err.
func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// expectErr checks that err is want.
func (f *fixture) expectErr(err, want error) {
	f.t.Helper()
	if !errors.Is(err, want) {
		f.t.Fatalf("err = %v, want %v", err, want)
	}
}
