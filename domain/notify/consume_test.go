package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

// pipeline is the two notification consumers on a relay of their own.
type pipeline struct {
	t     testing.TB
	conn  *sqlx.DB
	store *notify.Store
	relay *outbox.Relay
	names []string // consumers registered
}

func newPipeline(t testing.TB, ps state.PubSub, cfg notify.Config) *pipeline {
	return newPipelineWith(t, ps, cfg, outbox.Config{BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
}

func newPipelineWith(t testing.TB, ps state.PubSub, cfg notify.Config, rcfg outbox.Config) *pipeline {
	conn := testenv.DB(t)
	s := notify.NewStore(conn, cfg)
	relay := outbox.NewRelay(conn, testenv.DBURL(t), quiet, nil, rcfg)
	consumers := []outbox.Consumer{s.Consumer()}
	if ps != nil {
		consumers = append(consumers, s.Publisher(ps))
	}
	var names []string
	for _, c := range consumers {
		if err := relay.Register(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		names = append(names, c.Name)
	}
	return &pipeline{t: t, conn: conn, store: s, relay: relay, names: names}
}

// enqueue writes events in one transaction.
func (p *pipeline) enqueue(write func(ctx context.Context, tx *sqlx.Tx) error) {
	p.t.Helper()
	if err := db.InTx(context.Background(), p.conn, nil, func(tx *sqlx.Tx) error { return write(context.Background(), tx) }); err != nil {
		p.t.Fatal(err)
	}
}

// deliverAll runs the relay until no delivery of its consumers is pending
// (but for those backing off for long).
func (p *pipeline) deliverAll() {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := p.relay.DeliverDue(context.Background())
		if err != nil {
			p.t.Fatal(err)
		}
		if n == 0 {
			var pending int
			const q = `SELECT count(*) FROM outbox_deliveries WHERE consumer = ANY($1) AND state = 'pending' AND next_attempt_at < now() + interval '1 minute'`
			if err := p.conn.Get(&pending, q, pq.StringArray(p.names)); err != nil {
				p.t.Fatal(err)
			}
			if pending == 0 {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	p.t.Fatal("notification deliveries still pending after 10s")
}

func (p *pipeline) all(account int64) []notify.Notification {
	p.t.Helper()
	ns, err := p.store.Since(context.Background(), account, 0, notify.MaxPage)
	if err != nil {
		p.t.Fatal(err)
	}
	return ns
}

// stored returns the refs of the TopicStored events naming account.
func (p *pipeline) stored(account int64) []notify.Ref {
	p.t.Helper()
	var bodies []json.RawMessage
	const q = `SELECT payload FROM outbox_events WHERE topic = $1 AND payload @> jsonb_build_object('notifications', jsonb_build_array(jsonb_build_object('account_id', $2::bigint)))`
	if err := p.conn.Select(&bodies, q, notify.TopicStored, account); err != nil {
		p.t.Fatal(err)
	}
	var out []notify.Ref
	for _, b := range bodies {
		var st notify.Stored
		if err := json.Unmarshal(b, &st); err != nil {
			p.t.Fatal(err)
		}
		for _, r := range st.Notifications {
			if r.AccountID == account {
				out = append(out, r)
			}
		}
	}
	return out
}

func TestConsumerStoresEachEventOnce(t *testing.T) {
	p := newPipeline(t, nil, notify.Config{})
	a, b := economytest.Player(t, p.conn), economytest.Player(t, p.conn)
	var ids []string
	p.enqueue(func(ctx context.Context, tx *sqlx.Tx) error {
		got, err := outbox.EnqueueMany(ctx, tx, progression.TopicLevelUp, []progression.LevelUp{
			{AccountID: a, Level: 5, Prestige: 1, MatchID: "m-1"}, {AccountID: b, Level: 2}})
		if err != nil {
			return err
		}
		ids = append(ids, got...)
		for _, e := range []struct {
			topic   string
			payload any
		}{
			{battlepass.TopicTierReached, battlepass.TierReached{AccountID: a, Season: "s1", Tier: 9}},
			{challenge.TopicCompleted, challenge.Completed{AccountID: a, Challenge: "daily.kills", Period: "daily:2025-03-01"}},
		} {
			id, err := outbox.Enqueue(ctx, tx, e.topic, e.payload)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return notify.Send(ctx, tx, a, "party.invite", map[string]string{"party": "p-7"})
	})
	p.deliverAll()

	got := p.all(a)
	if len(got) != 4 {
		t.Fatalf("player a has %d notifications, want 4: %+v", len(got), got)
	}
	want := map[string]string{
		notify.KindLevelUp:            `{"level":5,"match_id":"m-1","prestige":1}`,
		notify.KindTierReached:        `{"tier":9,"season":"s1"}`,
		notify.KindChallengeCompleted: `{"period":"daily:2025-03-01","challenge":"daily.kills"}`,
		"party.invite":                `{"party":"p-7"}`,
	}
	for i, n := range got {
		if n.Seq != uint64(i+1) || want[n.Kind] != string(n.Payload) {
			t.Errorf("notification %d = seq %d %s %s, want seq %d and payload %s", i, n.Seq, n.Kind, n.Payload, i+1, want[n.Kind])
		}
		delete(want, n.Kind)
	}
	if len(want) != 0 {
		t.Errorf("kinds missing: %v", want)
	}
	if bs := p.all(b); len(bs) != 1 || bs[0].Kind != notify.KindLevelUp || string(bs[0].Payload) != `{"level":2,"prestige":0}` {
		t.Fatalf("player b = %+v", bs)
	}
	// TopicStored events name what was stored (one per batch of events).
	refs := p.stored(a)
	slices.SortFunc(refs, func(x, y notify.Ref) int { return int(x.Seq) - int(y.Seq) })
	if len(refs) != 4 || refs[0] != (notify.Ref{AccountID: a, Seq: 1}) || refs[3] != (notify.Ref{AccountID: a, Seq: 4}) {
		t.Fatalf("stored events for a = %+v, want seqs 1..4", refs)
	}

	// The relay delivers the events again, as after losing track of the
	// first deliveries: nothing more is stored or announced.
	ids = append(ids, p.sendIDs(a)...)
	if _, err := p.conn.Exec(`UPDATE outbox_deliveries SET state = 'pending' WHERE consumer = $1 AND event_id = ANY($2::uuid[])`, notify.ConsumerName, ids); err != nil {
		t.Fatal(err)
	}
	p.deliverAll()
	if n := len(p.all(a)); n != 4 {
		t.Fatalf("after redelivery player a has %d notifications, want 4", n)
	}
	if n := len(p.stored(a)); n != 4 {
		t.Fatalf("after redelivery %d stored refs for a, want 4", n)
	}
}

// sendIDs are the ids of the TopicSend events for account.
func (p *pipeline) sendIDs(account int64) []string {
	var ids []string
	if err := p.conn.Select(&ids, `SELECT id::text FROM outbox_events WHERE topic = $1 AND (payload->>'account_id')::bigint = $2`, notify.TopicSend, account); err != nil {
		p.t.Fatal(err)
	}
	return ids
}

func TestSendRefusesWhatCannotBeStored(t *testing.T) {
	conn := testenv.DB(t)
	tx, err := conn.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := notify.Send(context.Background(), tx, 1, "Bad Kind", nil); !errors.Is(err, notify.ErrInvalid) {
		t.Fatalf("Send(bad kind) = %v", err)
	}
	if err := notify.Send(context.Background(), tx, 1, "test.x", []string{"not", "an", "object"}); !errors.Is(err, notify.ErrInvalid) {
		t.Fatalf("Send(array payload) = %v", err)
	}
}

// A request for an account that does not exist cannot be stored: the
// delivery fails and, after the relay's attempts, is dead (visible to
// staff) rather than blocking anything else.
func TestSendToUnknownAccountGoesDead(t *testing.T) {
	p := newPipeline(t, nil, notify.Config{})
	good := economytest.Player(t, p.conn)
	p.enqueue(func(ctx context.Context, tx *sqlx.Tx) error {
		if err := notify.Send(ctx, tx, 1<<60, "test.nobody", nil); err != nil {
			return err
		}
		return notify.Send(ctx, tx, good, "test.somebody", nil)
	})
	p.deliverAll()
	if ns := p.all(good); len(ns) != 1 {
		t.Fatalf("the good request stored %d notifications", len(ns))
	}
	dead, err := outbox.Dead(context.Background(), p.conn, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(dead, func(d outbox.DeadDelivery) bool {
		return d.Consumer == notify.ConsumerName && d.Topic == notify.TopicSend
	}) {
		t.Fatalf("no dead notify.send delivery in %+v", dead)
	}
}

// receive waits for one message on sub.
func receive(t *testing.T, sub state.Subscription) (state.Message, bool) {
	t.Helper()
	select {
	case m := <-sub.C():
		return m, true
	case <-time.After(3 * time.Second):
		return state.Message{}, false
	}
}

func TestPublisherSendsOnThePlayersChannel(t *testing.T) {
	for _, impl := range []string{"redis", "memory"} {
		t.Run(impl, func(t *testing.T) {
			var ps state.PubSub = state.NewMemory()
			if impl == "redis" {
				client, prefix := testenv.Redis(t)
				ps = state.NewRedis(client, prefix)
			}
			p := newPipeline(t, ps, notify.Config{})
			a, b := economytest.Player(t, p.conn), economytest.Player(t, p.conn)
			subA, err := ps.Subscribe(context.Background(), notify.ChannelFor(a))
			if err != nil {
				t.Fatal(err)
			}
			defer subA.Close()
			subB, err := ps.Subscribe(context.Background(), notify.ChannelFor(b))
			if err != nil {
				t.Fatal(err)
			}
			defer subB.Close()

			p.enqueue(func(ctx context.Context, tx *sqlx.Tx) error {
				_, err := outbox.EnqueueMany(ctx, tx, progression.TopicLevelUp, []progression.LevelUp{{AccountID: a, Level: 3}})
				return err
			})
			p.deliverAll()
			m, ok := receive(t, subA)
			if !ok {
				t.Fatal("nothing published on player a's channel")
			}
			msg, err := notify.DecodeMessage(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			acct, n := msg.AccountID, msg.Notification
			stored := p.all(a)
			if m.Channel != notify.ChannelFor(a) || acct != a || len(stored) != 1 || n.Seq != 1 || n.ID != stored[0].ID ||
				n.Kind != notify.KindLevelUp || string(n.Payload) != string(stored[0].Payload) || !n.CreatedAt.Equal(stored[0].CreatedAt) {
				t.Fatalf("received %s on %s, stored %+v", m.Payload, m.Channel, stored)
			}
			select {
			case m := <-subB.C():
				t.Fatalf("player b received %s", m.Payload)
			case <-time.After(50 * time.Millisecond):
			}

			// A redelivered TopicStored event publishes again (at least
			// once); the seq lets the gateway drop the copy.
			if _, err := p.conn.Exec(`UPDATE outbox_deliveries d SET state = 'pending' FROM outbox_events e
				WHERE e.id = d.event_id AND d.consumer = $1 AND e.topic = $2 AND e.payload->'notifications'->0->>'account_id' = $3::text`,
				notify.PublisherName, notify.TopicStored, a); err != nil {
				t.Fatal(err)
			}
			if _, err := p.conn.Exec(`DELETE FROM outbox_processed WHERE consumer = $1`, notify.PublisherName); err != nil {
				t.Fatal(err)
			}
			p.deliverAll()
			if m, ok := receive(t, subA); !ok {
				t.Fatal("a redelivery did not publish again")
			} else if again, _ := notify.DecodeMessage(m.Payload); again.Seq != 1 || again.ID != n.ID {
				t.Fatalf("republished %s", m.Payload)
			}
		})
	}
}

// failingPubSub fails every publish.
type failingPubSub struct{ state.PubSub }

func (failingPubSub) Publish(context.Context, string, []byte) error {
	return errors.New("redis: connection refused")
}

func TestPublisherRetriesThenGivesUpOnStaleNotifications(t *testing.T) {
	ps := state.NewMemory()
	// A long backoff: the failed publish waits until the test makes it due.
	p := newPipelineWith(t, failingPubSub{ps}, notify.Config{}, outbox.Config{BaseBackoff: time.Hour, MaxBackoff: time.Hour})
	a := economytest.Player(t, p.conn)
	p.enqueue(func(ctx context.Context, tx *sqlx.Tx) error { return notify.Send(ctx, tx, a, "test.stale", nil) })
	// The store commits even though publishing fails.
	_, _ = p.relay.DeliverDue(context.Background())
	if ns := p.all(a); len(ns) != 1 {
		t.Fatalf("stored %d, want 1", len(ns))
	}
	var attempts int
	const q = `SELECT d.attempts FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
		WHERE d.consumer = $1 AND e.payload->'notifications'->0->>'account_id' = $2::text`
	if err := p.conn.Get(&attempts, q, notify.PublisherName, a); err != nil || attempts == 0 {
		t.Fatalf("publisher attempts = %d, %v; want a failed attempt", attempts, err)
	}

	// Once the notification is older than the publish window, the event is
	// settled without publishing, so a long Redis outage leaves no dead
	// deliveries behind.
	if _, err := p.conn.Exec(`UPDATE notifications SET created_at = now() - interval '10 minutes' WHERE account_id = $1`, a); err != nil {
		t.Fatal(err)
	}
	if _, err := p.conn.Exec(`UPDATE outbox_deliveries SET next_attempt_at = now() WHERE consumer = $1 AND state = 'pending'`, notify.PublisherName); err != nil {
		t.Fatal(err)
	}
	sub, err := ps.Subscribe(context.Background(), notify.ChannelFor(a))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p2 := newPipeline(t, ps, notify.Config{}) // a working Redis again
	p2.deliverAll()
	var st string
	const stateQ = `SELECT d.state FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
		WHERE d.consumer = $1 AND e.payload->'notifications'->0->>'account_id' = $2::text`
	if err := p.conn.Get(&st, stateQ, notify.PublisherName, a); err != nil || st != "delivered" {
		t.Fatalf("publisher delivery state = %q, %v; want delivered", st, err)
	}
	select {
	case m := <-sub.C():
		t.Fatalf("a stale notification was published: %s", m.Payload)
	case <-time.After(50 * time.Millisecond):
	}
}
