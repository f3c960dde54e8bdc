package fleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// duel is a 1v1 mode: matches of two players.
var duel = match.Mode{
	Name: "Test duel", Teams: 2, TeamSize: 2, MaxDurationSeconds: 600,
	Bounds: map[string]int64{match.StatKills: 50, match.StatSecondsPlayed: 600},
	XP:     match.XPRules{PerKill: 10, Win: 100, Max: 1000},
}

type env struct {
	conn     *sqlx.DB
	matches  *match.Store
	servers  *match.Servers
	registry *fleet.Registry
	sessions *fleet.Sessions
	notify   *notify.Store
	relay    *outbox.Relay
	mode     string
	region   string // unique to the test, so other tests' matches never land here
	server   match.Server
	cred     string
}

type options struct {
	alloc    func(e *env) fleet.Allocator // nil: the registry
	backfill fleet.Backfiller
	scfg     fleet.SessionsConfig
	config   fleet.Config
}

func newEnv(t testing.TB, o options) *env {
	t.Helper()
	ctx := context.Background()
	conn := testenv.DB(t)
	e := &env{conn: conn, matches: match.New(conn, nil), servers: match.NewServers(conn, time.Millisecond),
		notify: notify.NewStore(conn, notify.Config{}), region: economytest.Name("r")}
	e.registry = fleet.NewRegistry(conn, o.config)
	cs := content.New(conn)
	cs.Register(match.ModeKind())
	e.mode = economytest.Name("duel")
	body, _ := json.Marshal(duel)
	d, err := cs.SaveDraft(ctx, match.KindMode, e.mode, "", body, content.Edit{Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Publish(ctx, match.KindMode, e.mode, content.Edit{Expected: d.DraftRevision, Editor: "test"}); err != nil {
		t.Fatal(err)
	}
	e.server, e.cred = e.newServer(t)
	var alloc fleet.Allocator = e.registry
	if o.alloc != nil {
		alloc = o.alloc(e)
	}
	e.sessions = fleet.NewSessions(conn, alloc, e.matches, o.scfg, nil, nil)
	if o.backfill != nil {
		e.sessions.WithBackfill(o.backfill)
	}
	e.relay = outbox.NewRelay(conn, "", nil, nil, outbox.Config{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	for _, c := range append(e.sessions.Consumers(), e.notify.Consumer()) {
		if err := e.relay.Register(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) newServer(t testing.TB) (match.Server, string) {
	t.Helper()
	sv, cred, err := e.servers.Create(context.Background(), economytest.Name("srv"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return sv, cred
}

var port = 20000

// register registers an instance of e.server in e.region with capacity.
func (e *env) register(t *testing.T, capacity int) fleet.Instance {
	t.Helper()
	port++
	in, err := e.registry.Register(context.Background(), e.server, fleet.Registration{
		Fleet: "main", Region: e.region, Address: fmt.Sprintf("10.1.%d.%d:%d", port/250%250, port%250, port), Capacity: capacity, Version: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

type gamer struct {
	account int64
	public  string
}

func (e *env) gamers(t testing.TB, n int) []gamer {
	t.Helper()
	out := make([]gamer, n)
	for i := range out {
		out[i].account = economytest.Player(t, e.conn)
		if err := e.conn.Get(&out[i].public, `SELECT public_id FROM accounts WHERE id = $1`, out[i].account); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// formed is a match of the test's mode and region with one team per
// player.
func (e *env) formed(id string, players []gamer) matchmaking.Formed {
	f := matchmaking.Formed{MatchID: id, Queue: "ranked-duel", Mode: e.mode, Region: e.region, FormedAt: time.Now()}
	for _, p := range players {
		f.Teams = append(f.Teams, matchmaking.Team{Players: []matchmaking.Player{{AccountID: p.account, PlayerID: p.public, Ticket: "t-" + p.public}}})
	}
	return f
}

// form enqueues a formed match as the matchmaker does and delivers it.
func (e *env) form(t *testing.T, f matchmaking.Formed) {
	t.Helper()
	ctx := context.Background()
	tx, err := e.conn.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Enqueue(ctx, tx, matchmaking.TopicFormed, f); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	e.deliver(t)
}

func (e *env) deliver(t *testing.T) {
	t.Helper()
	if _, err := e.relay.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// allocation reads a match's allocation row.
func (e *env) allocation(t *testing.T, matchID string) (state string, instance *int64, attempts int) {
	t.Helper()
	row := struct {
		State    string `db:"state"`
		Instance *int64 `db:"instance_id"`
		Attempts int    `db:"attempts"`
	}{}
	if err := e.conn.Get(&row, `SELECT state, instance_id, attempts FROM fleet_allocations WHERE match_id = $1`, matchID); err != nil {
		t.Fatalf("allocation %s: %v", matchID, err)
	}
	return row.State, row.Instance, row.Attempts
}

// failures returns the allocation_failed events for matchID.
func (e *env) failures(t *testing.T, matchID string) []matchmaking.AllocationFailed {
	t.Helper()
	var payloads [][]byte
	err := e.conn.Select(&payloads, `SELECT payload FROM outbox_events WHERE topic = $1 AND payload->>'match_id' = $2`, matchmaking.TopicAllocationFailed, matchID)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]matchmaking.AllocationFailed, len(payloads))
	for i, p := range payloads {
		if err := json.Unmarshal(p, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// notifications returns the stored notifications of kind for a player.
func (e *env) notifications(t *testing.T, account int64, kind string) []json.RawMessage {
	t.Helper()
	ns, err := e.notify.List(context.Background(), account, 0, 200, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []json.RawMessage
	for _, n := range ns {
		if n.Kind == kind {
			out = append(out, n.Payload)
		}
	}
	return out
}

// silence makes an instance look silent for d.
func (e *env) silence(t *testing.T, id int64, d time.Duration) {
	t.Helper()
	if _, err := e.conn.Exec(`UPDATE fleet_instances SET heartbeat_at = now() - $2 * interval '1 millisecond' WHERE id = $1`, id, d.Milliseconds()); err != nil {
		t.Fatal(err)
	}
}

func unique(prefix string) string { return economytest.Name(prefix) }
