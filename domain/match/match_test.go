package match_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// quads is a small squads mode: 3 teams of 2.
var quads = match.Mode{
	Name: "Test squads", Teams: 3, TeamSize: 2, MaxDurationSeconds: 1800,
	Bounds:        map[string]int64{match.StatKills: 50, match.StatDeaths: 50, match.StatSecondsPlayed: 1800},
	WeaponClasses: []string{"ar", "smg"},
	XP:            match.XPRules{PerMinute: 10, PerKill: 100, Win: 500, Placement: []int64{300, 100}, Max: 5000},
}

type env struct {
	conn    *sqlx.DB
	store   *match.Store
	servers *match.Servers
	clock   time.Time
	server  match.Server
	mode    string
}

func newEnv(t *testing.T) *env {
	conn := testenv.DB(t)
	e := &env{conn: conn, servers: match.NewServers(conn, time.Second), clock: time.Now().Add(-10 * time.Minute)}
	e.store = match.New(conn, func() time.Time { return e.clock })
	cs := content.New(conn)
	cs.Register(match.ModeKind())
	e.mode = economytest.Name("squads")
	e.mode = e.mode[:min(len(e.mode), 60)]
	publish(t, cs, match.KindMode, e.mode, quads)
	sv, _, err := e.servers.Create(context.Background(), economytest.Name("srv"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.server = sv
	return e
}

func publish(t *testing.T, cs *content.Store, kind, id string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	ctx := context.Background()
	d, err := cs.SaveDraft(ctx, kind, id, "", b, content.Edit{Editor: "test"})
	if err != nil {
		t.Fatalf("save %s/%s: %v", kind, id, err)
	}
	if _, err := cs.Publish(ctx, kind, id, content.Edit{Expected: d.DraftRevision, Editor: "test"}); err != nil {
		t.Fatalf("publish %s/%s: %v", kind, id, err)
	}
}

// players creates n accounts and returns their public ids.
func (e *env) players(t *testing.T, n int) []string {
	out := make([]string, n)
	for i := range out {
		id := economytest.Player(t, e.conn)
		if err := e.conn.Get(&out[i], `SELECT public_id FROM accounts WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func (e *env) events(t *testing.T, matchID string) []match.Accepted {
	var payloads [][]byte
	err := e.conn.Select(&payloads, `SELECT payload FROM outbox_events WHERE topic = $1 AND payload->>'match_id' = $2`, match.TopicAccepted, matchID)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]match.Accepted, len(payloads))
	for i, p := range payloads {
		if err := json.Unmarshal(p, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func result(ids []string, kills ...int64) match.Result {
	var r match.Result
	for i, id := range ids {
		team := i/2 + 1
		r.Players = append(r.Players, match.PlayerResult{PlayerID: id, Team: team, Placement: team,
			Stats: map[string]int64{match.StatKills: kills[i], match.StatSecondsPlayed: 300}})
	}
	return r
}

func TestReportAcceptsOnceAndComputesXP(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := e.players(t, 4)
	m, err := e.store.Open(ctx, e.server, "m-"+economytest.Name("a"), e.mode, ids)
	if err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(6 * time.Minute)
	res := result(ids, 3, 0, 1, 2)
	res.Players[0].KillsByClass = map[string]int64{"ar": 2, "smg": 1}
	rc, err := e.store.Report(ctx, e.server, m.ID, res)
	if err != nil || rc.Status != match.StatusAccepted || rc.Replayed {
		t.Fatalf("report = %+v, %v", rc, err)
	}
	again, err := e.store.Report(ctx, e.server, m.ID, res)
	if err != nil || !again.Replayed || again.Status != match.StatusAccepted {
		t.Fatalf("same report again = %+v, %v; want replayed", again, err)
	}
	evs := e.events(t, m.ID)
	if len(evs) != 1 {
		t.Fatalf("%d accepted events, want 1", len(evs))
	}
	// Player 0: 5 minutes (50) + 3 kills (300) + win (500) + 1st place (300).
	want := map[string]int64{ids[0]: 1150, ids[1]: 850, ids[2]: 250, ids[3]: 350}
	for _, p := range evs[0].Players {
		if p.XP != want[p.PlayerID] || p.AccountID == 0 {
			t.Errorf("player %s: xp %d account %d, want xp %d", p.PlayerID, p.XP, p.AccountID, want[p.PlayerID])
		}
		if p.Won != (p.Placement == 1) {
			t.Errorf("player %s: won %v at placement %d", p.PlayerID, p.Won, p.Placement)
		}
	}
	changed := result(ids, 9, 0, 1, 2)
	if _, err := e.store.Report(ctx, e.server, m.ID, changed); !errors.Is(err, match.ErrAlreadyReported) {
		t.Fatalf("different results for a reported match: %v, want ErrAlreadyReported", err)
	}
	if len(e.events(t, m.ID)) != 1 {
		t.Fatal("a refused report published an event")
	}
}

func TestReportRefusesWhatIsWrong(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := e.players(t, 5)
	roster := ids[:4]
	m, err := e.store.Open(ctx, e.server, "m-"+economytest.Name("b"), e.mode, roster)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.servers.Create(ctx, economytest.Name("other"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(5 * time.Minute)
	cases := []struct {
		name   string
		server match.Server
		edit   func(*match.Result)
		want   error
	}{
		{"player not in the match", e.server, func(r *match.Result) { r.Players[3].PlayerID = ids[4] }, match.ErrNotInMatch},
		{"unknown player", e.server, func(r *match.Result) { r.Players[3].PlayerID = "nobody" }, match.ErrNotInMatch},
		{"another server", other, func(*match.Result) {}, match.ErrNotYourMatch},
		{"player twice", e.server, func(r *match.Result) { r.Players[1].PlayerID = r.Players[0].PlayerID }, match.ErrInvalidResult},
		{"team out of range", e.server, func(r *match.Result) { r.Players[0].Team = 4 }, match.ErrInvalidResult},
		{"team too big", e.server, func(r *match.Result) { r.Players[2].Team, r.Players[2].Placement = 1, 1 }, match.ErrInvalidResult},
		{"teammates placed apart", e.server, func(r *match.Result) { r.Players[1].Placement = 2 }, match.ErrInvalidResult},
		{"unknown stat", e.server, func(r *match.Result) { r.Players[0].Stats["flags"] = 1 }, match.ErrInvalidResult},
		{"negative stat", e.server, func(r *match.Result) { r.Players[0].Stats[match.StatKills] = -1 }, match.ErrInvalidResult},
		{"absurd stat", e.server, func(r *match.Result) { r.Players[0].Stats[match.StatKills] = match.MaxStat + 1 }, match.ErrInvalidResult},
		{"unknown weapon class", e.server, func(r *match.Result) { r.Players[0].KillsByClass = map[string]int64{"bow": 1} }, match.ErrInvalidResult},
		{"class kills above kills", e.server, func(r *match.Result) { r.Players[0].KillsByClass = map[string]int64{"ar": 5} }, match.ErrInvalidResult},
		// Two classes of 2^62 kills add up past int64 to a negative sum.
		{"class kills that overflow", e.server, func(r *match.Result) {
			r.Players[0].KillsByClass = map[string]int64{"ar": 1 << 62, "smg": 1 << 62}
		}, match.ErrInvalidResult},
		{"ended before start", e.server, func(r *match.Result) { t := e.clock.Add(-time.Hour); r.EndedAt = &t }, match.ErrInvalidResult},
		{"no players", e.server, func(r *match.Result) { r.Players = nil }, match.ErrInvalidResult},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := result(roster, 1, 1, 1, 1)
			c.edit(&res)
			if _, err := e.store.Report(ctx, c.server, m.ID, res); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	got, err := e.store.Get(ctx, m.ID)
	if err != nil || got.Status != match.StatusOpen || len(e.events(t, m.ID)) != 0 {
		t.Fatalf("after refused reports: status %q, %d events, %v; want open and none", got.Status, len(e.events(t, m.ID)), err)
	}
	// The server can still send correct results.
	if rc, err := e.store.Report(ctx, e.server, m.ID, result(roster, 1, 1, 1, 1)); err != nil || rc.Status != match.StatusAccepted {
		t.Fatalf("correct report after refusals = %+v, %v", rc, err)
	}
	if _, err := e.store.Report(ctx, e.server, "nope-"+economytest.Name("x"), result(roster, 1, 1, 1, 1)); !errors.Is(err, match.ErrMatchNotFound) {
		t.Fatalf("report for an unknown match: %v", err)
	}
}

func TestQuarantineReleaseAndDiscard(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := e.players(t, 2)
	open := func(name string) match.Match {
		m, err := e.store.Open(ctx, e.server, "m-"+economytest.Name(name), e.mode, ids)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := open("q1"), open("q2")
	e.clock = e.clock.Add(5 * time.Minute)
	for _, m := range []match.Match{a, b} {
		rc, err := e.store.Report(ctx, e.server, m.ID, result(ids, 51, 0)) // above the bound of 50 kills
		if err != nil || rc.Status != match.StatusQuarantined || rc.Reason == "" {
			t.Fatalf("report above bounds = %+v, %v; want quarantined with a reason", rc, err)
		}
		if n := len(e.events(t, m.ID)); n != 0 {
			t.Fatalf("a quarantined result published %d events", n)
		}
	}
	var audited []string
	review := match.Review{Staff: "alice", Reason: "tournament stomp", Also: func(_ *sqlx.Tx, before, after match.Match) error {
		audited = append(audited, before.Status+"->"+after.Status)
		return nil
	}}
	if _, err := e.store.Release(ctx, a.ID, review); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Discard(ctx, b.ID, review); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Release(ctx, a.ID, review); !errors.Is(err, match.ErrNotQuarantined) {
		t.Fatalf("second release: %v, want ErrNotQuarantined", err)
	}
	if len(e.events(t, a.ID)) != 1 || len(e.events(t, b.ID)) != 0 {
		t.Fatalf("released %d events, discarded %d; want 1 and 0", len(e.events(t, a.ID)), len(e.events(t, b.ID)))
	}
	if len(audited) != 2 || audited[0] != "quarantined->accepted" || audited[1] != "quarantined->discarded" {
		t.Fatalf("review hooks saw %v", audited)
	}
}

func TestOpen(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := e.players(t, 7)
	id := "m-" + economytest.Name("o")
	if _, err := e.store.Open(ctx, e.server, id, e.mode, ids[:3]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Open(ctx, e.server, id, e.mode, []string{ids[2], ids[0], ids[1]}); err != nil {
		t.Fatalf("opening the same match again: %v", err)
	}
	if _, err := e.store.Open(ctx, e.server, id, e.mode, ids[:2]); !errors.Is(err, match.ErrMatchExists) {
		t.Fatalf("same id, other roster: %v", err)
	}
	for name, c := range map[string]struct {
		mode    string
		players []string
		want    error
	}{
		"unknown mode":   {"nope", ids[:2], match.ErrUnknownMode},
		"too many":       {e.mode, ids, match.ErrInvalidRoster},
		"twice":          {e.mode, []string{ids[0], ids[0]}, match.ErrInvalidRoster},
		"unknown player": {e.mode, []string{"ghost"}, match.ErrInvalidRoster},
		"empty":          {e.mode, nil, match.ErrInvalidRoster},
	} {
		if _, err := e.store.Open(ctx, e.server, "m-"+economytest.Name("x"), c.mode, c.players); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestServerCredentials(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	servers := match.NewServers(conn, time.Millisecond)
	sv, cred, err := servers.Create(ctx, economytest.Name("eu-west"), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := servers.Authenticate(ctx, cred)
	if err != nil || got.ID != sv.ID {
		t.Fatalf("authenticate = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "msv_", cred + "x", cred[:len(cred)-1], "msv_999999_" + cred[len(cred)-10:], "Bearer " + cred} {
		if _, err := servers.Authenticate(ctx, bad); !errors.Is(err, match.ErrInvalidServer) {
			t.Errorf("authenticate(%q) = %v, want ErrInvalidServer", bad, err)
		}
	}
	if _, _, err := servers.Create(ctx, sv.Name, "alice", nil); !errors.Is(err, match.ErrInvalidServer) {
		t.Fatalf("duplicate name: %v", err)
	}
	// A revocation on another node takes effect once that node's cache expires.
	other := match.NewServers(conn, time.Millisecond)
	if _, err := other.Authenticate(ctx, cred); err != nil {
		t.Fatal(err)
	}
	if _, err := servers.Revoke(ctx, sv.ID, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := other.Authenticate(ctx, cred); !errors.Is(err, match.ErrInvalidServer) {
		t.Fatalf("revoked credential on another node: %v", err)
	}
}

// JoinIn grows an open match's roster for its own server only, and not once
// results are in.
func TestJoinInAddsPlayersToAnOpenMatch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := e.players(t, 4)
	id := "m-" + economytest.Name("join")
	if _, err := e.store.Open(ctx, e.server, id, e.mode, ids[:2]); err != nil {
		t.Fatal(err)
	}
	other, _, err := e.servers.Create(ctx, economytest.Name("srv"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.JoinIn(ctx, e.conn, other, id, ids[2:3]); !errors.Is(err, match.ErrNotYourMatch) {
		t.Fatalf("JoinIn by another server = %v, want ErrNotYourMatch", err)
	}
	if _, err := e.store.JoinIn(ctx, e.conn, e.server, id, []string{"p_nobody"}); !errors.Is(err, match.ErrInvalidRoster) {
		t.Fatalf("JoinIn of an unknown player = %v, want ErrInvalidRoster", err)
	}
	m, err := e.store.JoinIn(ctx, e.conn, e.server, id, []string{ids[2], ids[0]})
	if err != nil || len(m.Roster) != 3 {
		t.Fatalf("JoinIn = %+v, %v", m.Roster, err)
	}
	e.clock = e.clock.Add(6 * time.Minute)
	if _, err := e.store.Report(ctx, e.server, id, result(ids[:3], 1, 1, 1)); err != nil {
		t.Fatalf("results naming the joined player: %v", err)
	}
	if _, err := e.store.JoinIn(ctx, e.conn, e.server, id, ids[3:]); !errors.Is(err, match.ErrAlreadyReported) {
		t.Fatalf("JoinIn after the results = %v, want ErrAlreadyReported", err)
	}
}
