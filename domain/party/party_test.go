package party_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is a party service on real Redis and PostgreSQL, with a listener
// on the push channel.
type world struct {
	t     *testing.T
	db    *sqlx.DB
	svc   *party.Service
	rel   *friend.Store
	sub   state.Subscription
	acc   *account.Store
	pres  *presence.Tracker
	store *state.Redis
}

func newWorld(t *testing.T, cfg party.Config) *world {
	conn := testenv.DB(t)
	client, prefix := testenv.Redis(t)
	st := state.NewRedis(client, prefix)
	sub, err := st.Subscribe(t.Context(), push.Channel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	rel := friend.NewStore(conn, friend.Config{})
	acc := account.NewStore(conn)
	bus := push.New(st)
	pres := presence.New(st, bus, nil, acc, presence.Config{}, nil)
	svc := party.New(party.Deps{Store: st, Bus: bus, Friends: rel, Accounts: acc, Notifier: party.OutboxNotifier{DB: conn}, Presence: pres}, cfg)
	return &world{t: t, db: conn, svc: svc, rel: rel, sub: sub, acc: acc, pres: pres, store: st}
}

type who struct {
	id     int64
	public string
}

func (w *world) player() who {
	w.t.Helper()
	id := economytest.Player(w.t, w.db)
	a, err := w.acc.ByID(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return who{id, a.PublicID}
}

// invitation reads the last party.invite notification queued for p.
func (w *world) invitation(p who) party.Invitation {
	w.t.Helper()
	var raw []byte
	err := w.db.Get(&raw, `SELECT payload FROM outbox_events WHERE topic = 'notify.send' AND payload->>'account_id' = $1::text
		AND payload->>'kind' = 'party.invite' ORDER BY id DESC LIMIT 1`, p.id)
	if err != nil {
		w.t.Fatalf("no invitation for %d: %v", p.id, err)
	}
	var req struct {
		Payload party.Invitation `json:"payload"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		w.t.Fatal(err)
	}
	return req.Payload
}

// pushes collects the push events for account within d.
func (w *world) pushes(d time.Duration) []push.Event {
	var out []push.Event
	end := time.After(d)
	for {
		select {
		case m := <-w.sub.C():
			ev, err := push.Decode(m.Payload)
			if err != nil {
				w.t.Fatal(err)
			}
			out = append(out, ev)
		case <-end:
			return out
		}
	}
}

// befriend makes a and b friends through the friend store.
func (w *world) befriend(a, b who) {
	w.t.Helper()
	if _, err := w.rel.Request(context.Background(), a.id, b.public); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.rel.Accept(context.Background(), b.id, a.public); err != nil {
		w.t.Fatal(err)
	}
}

func members(v party.View) []string {
	var out []string
	for _, m := range v.Members {
		out = append(out, m.PlayerID)
	}
	return out
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

func TestInviteJoinLeave(t *testing.T) {
	w := newWorld(t, party.Config{})
	ctx := t.Context()
	lead, friend, stranger := w.player(), w.player(), w.player()
	w.befriend(lead, friend)

	v, err := w.svc.Create(ctx, lead.id, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if v.LeaderID != lead.public || v.MaxSize != 4 || len(v.Members) != 1 || v.InviteCode != "" {
		t.Fatalf("new party %+v", v)
	}
	_, err = w.svc.Create(ctx, lead.id, 0, false)
	wantErr(t, err, party.ErrInParty)

	wantErr(t, w.svc.Invite(ctx, lead.id, stranger.public), party.ErrNotFriends)
	wantErr(t, w.svc.Invite(ctx, lead.id, "p_nobody"), party.ErrNotFriends)
	_, err = w.svc.Join(ctx, stranger.id, v.ID, "")
	wantErr(t, err, party.ErrNotFound) // not invited

	if err := w.svc.Invite(ctx, lead.id, friend.public); err != nil {
		t.Fatal(err)
	}
	inv := w.invitation(friend)
	if inv.PartyID != v.ID || inv.FromPlayerID != lead.public || time.Until(inv.ExpiresAt) < 4*time.Minute {
		t.Fatalf("invitation %+v", inv)
	}
	joined, err := w.svc.Join(ctx, friend.id, inv.PartyID, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := members(joined); len(got) != 2 || got[1] != friend.public || joined.Version != 3 { // created, invited, joined
		t.Fatalf("after join %+v", joined)
	}
	evs := w.pushes(100 * time.Millisecond)
	if len(evs) == 0 || evs[len(evs)-1].Kind != party.KindState || len(evs[len(evs)-1].To) != 2 {
		t.Fatalf("pushes after join: %+v", evs)
	}
	// The invitation is used up.
	wantErr(t, w.svc.Leave(ctx, friend.id), nil)
	_, err = w.svc.Join(ctx, friend.id, inv.PartyID, "")
	wantErr(t, err, party.ErrNotFound)

	// The leader leaves: the party ends with its last member.
	if err := w.svc.Leave(ctx, lead.id); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Get(ctx, lead.id)
	wantErr(t, err, party.ErrNoParty)
	wantErr(t, w.svc.Leave(ctx, lead.id), party.ErrNoParty)
}

func TestLeaderHandoffKickPromote(t *testing.T) {
	w := newWorld(t, party.Config{})
	ctx := t.Context()
	a, b, c := w.player(), w.player(), w.player()
	v, err := w.svc.Create(ctx, a.id, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.InviteCode) != party.CodeLength {
		t.Fatalf("code %q", v.InviteCode)
	}
	for _, p := range []who{b, c} {
		if _, err := w.svc.Join(ctx, p.id, "", v.InviteCode); err != nil {
			t.Fatal(err)
		}
	}
	d := w.player()
	_, err = w.svc.Join(ctx, d.id, "", v.InviteCode)
	wantErr(t, err, party.ErrFull)
	if _, err := w.svc.Get(ctx, d.id); !errors.Is(err, party.ErrNoParty) {
		t.Fatalf("a refused joiner is in a party: %v", err)
	}

	wantErr(t, w.svc.Kick(ctx, b.id, c.public), party.ErrNotLeader)
	wantErr(t, w.svc.Promote(ctx, b.id, c.public), party.ErrNotLeader)
	if err := w.svc.Promote(ctx, a.id, b.public); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Kick(ctx, b.id, a.public); err != nil {
		t.Fatal(err)
	}
	evs := w.pushes(100 * time.Millisecond)
	var left *push.Event
	for i := range evs {
		if evs[i].Kind == party.KindLeft {
			left = &evs[i]
		}
	}
	if left == nil || len(left.To) != 1 || left.To[0] != a.id || string(left.Data) == "" {
		t.Fatalf("no kicked push for a: %+v", evs)
	}
	// b, the leader, leaves: c, the earliest remaining, leads.
	if err := w.svc.Leave(ctx, b.id); err != nil {
		t.Fatal(err)
	}
	got, err := w.svc.Get(ctx, c.id)
	if err != nil {
		t.Fatal(err)
	}
	if got.LeaderID != c.public || len(got.Members) != 1 {
		t.Fatalf("after the leader left %+v", got)
	}
	// Turning the code off frees it.
	if _, err := w.svc.Settings(ctx, c.id, 0, false); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Join(ctx, a.id, "", v.InviteCode)
	wantErr(t, err, party.ErrNotFound)
	_, err = w.svc.Settings(ctx, c.id, 99, false)
	wantErr(t, err, party.ErrInvalid)
}

func TestBlockedPlayersCannotJoinByCode(t *testing.T) {
	w := newWorld(t, party.Config{})
	ctx := t.Context()
	a, b := w.player(), w.player()
	v, err := w.svc.Create(ctx, a.id, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.rel.Block(ctx, b.id, a.public); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Join(ctx, b.id, "", v.InviteCode)
	wantErr(t, err, party.ErrNotFound)
}

// TestConcurrentJoinsNeverOverfill has more players than seats join by code
// at once: exactly the free seats are taken, and every refused player is in
// no party.
func TestConcurrentJoinsNeverOverfill(t *testing.T) {
	w := newWorld(t, party.Config{})
	ctx := t.Context()
	lead := w.player()
	v, err := w.svc.Create(ctx, lead.id, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	players := make([]who, 12)
	for i := range players {
		players[i] = w.player()
	}
	var wg sync.WaitGroup
	errs := make([]error, len(players))
	for i, p := range players {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.svc.Join(ctx, p.id, "", v.InviteCode)
		}()
	}
	wg.Wait()
	in := 0
	for i, err := range errs {
		_, got := w.svc.Get(ctx, players[i].id)
		switch {
		case err == nil:
			in++
			if got != nil {
				t.Fatalf("a joined player is in no party: %v", got)
			}
		case errors.Is(err, party.ErrFull):
			if !errors.Is(got, party.ErrNoParty) {
				t.Fatalf("a refused player is in a party: %v", got)
			}
		default:
			t.Fatalf("join: %v", err)
		}
	}
	final, err := w.svc.Get(ctx, lead.id)
	if err != nil {
		t.Fatal(err)
	}
	if in != 3 || len(final.Members) != 4 {
		t.Fatalf("%d joined, party has %d members", in, len(final.Members))
	}
}

func TestReadyCheckAndChat(t *testing.T) {
	w := newWorld(t, party.Config{})
	ctx := t.Context()
	a, b := w.player(), w.player()
	v, err := w.svc.Create(ctx, a.id, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Join(ctx, b.id, "", v.InviteCode); err != nil {
		t.Fatal(err)
	}
	wantErr(t, w.svc.ReadyCheck(ctx, b.id), party.ErrNotLeader)
	if err := w.svc.ReadyCheck(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Ready(ctx, b.id, true); err != nil {
		t.Fatal(err)
	}
	got, err := w.svc.Get(ctx, b.id)
	if err != nil {
		t.Fatal(err)
	}
	if got.ReadyCheckEnds == nil || !got.Members[0].Ready || !got.Members[1].Ready {
		t.Fatalf("ready check %+v", got)
	}
	w.pushes(50 * time.Millisecond)
	wantErr(t, w.svc.Chat(ctx, a.id, "   "), party.ErrInvalid)
	if err := w.svc.Chat(ctx, a.id, " gg "); err != nil {
		t.Fatal(err)
	}
	evs := w.pushes(100 * time.Millisecond)
	var line party.ChatLine
	if len(evs) != 1 || evs[0].Kind != party.KindChat || len(evs[0].To) != 2 || json.Unmarshal(evs[0].Data, &line) != nil || line.Text != "gg" || line.PlayerID != a.public {
		t.Fatalf("chat pushes %+v", evs)
	}
	var limited error
	for range 20 {
		if limited = w.svc.Chat(ctx, a.id, "spam"); limited != nil {
			break
		}
	}
	var rl *party.RateLimitError
	if !errors.As(limited, &rl) || rl.RetryAfter <= 0 {
		t.Fatalf("chat flood: %v", limited)
	}
	outsider := w.player()
	wantErr(t, w.svc.Chat(ctx, outsider.id, "hi"), party.ErrNoParty)
}

// TestPresenceFollowsParty: members online are in_party while the party
// has two or more, and online again when it does not.
func TestPresenceFollowsParty(t *testing.T) {
	w := newWorld(t, party.Config{})
	ctx := t.Context()
	a, b := w.player(), w.player()
	for _, p := range []who{a, b} {
		if err := w.pres.Connect(ctx, p.id, "c1", false); err != nil {
			t.Fatal(err)
		}
	}
	status := func(p who) presence.Status {
		m, err := w.pres.Lookup(ctx, []int64{p.id})
		if err != nil {
			t.Fatal(err)
		}
		return m[p.id].Status
	}
	v, err := w.svc.Create(ctx, a.id, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if status(a) != presence.Online {
		t.Fatalf("alone in a party: %s", status(a))
	}
	if _, err := w.svc.Join(ctx, b.id, "", v.InviteCode); err != nil {
		t.Fatal(err)
	}
	if status(a) != presence.InParty || status(b) != presence.InParty {
		t.Fatalf("together: %s %s", status(a), status(b))
	}
	got, _ := w.svc.Get(ctx, a.id)
	if got.Members[1].Status != presence.InParty {
		t.Fatalf("member status in the view: %+v", got.Members)
	}
	if err := w.svc.Leave(ctx, b.id); err != nil {
		t.Fatal(err)
	}
	if status(a) != presence.Online || status(b) != presence.Online {
		t.Fatalf("apart: %s %s", status(a), status(b))
	}
}

// TestStaleHintIsIgnored: a party that vanished (expired) does not keep its
// members from starting another.
func TestStaleHintIsIgnored(t *testing.T) {
	w := newWorld(t, party.Config{TTL: 100 * time.Millisecond})
	ctx := t.Context()
	a := w.player()
	if _, err := w.svc.Create(ctx, a.id, 0, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := w.svc.Get(ctx, a.id); !errors.Is(err, party.ErrNoParty) {
		t.Fatalf("an expired party: %v", err)
	}
	if _, err := w.svc.Create(ctx, a.id, 0, false); err != nil {
		t.Fatalf("a new party after the old one expired: %v", err)
	}
}
