package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is one test's relay over the package database, with topics and
// consumer names of its own so tests do not see each other's events.
type env struct {
	t     *testing.T
	conn  *sqlx.DB
	relay *outbox.Relay
	reg   *prometheus.Registry
	topic string
}

func newEnv(t *testing.T, cfg outbox.Config) *env {
	conn := testenv.DB(t)
	if _, err := conn.Exec(`CREATE TABLE IF NOT EXISTS outbox_test_effects (consumer text, event_id uuid, n int)`); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = time.Millisecond
		cfg.MaxBackoff = 2 * time.Millisecond
	}
	return &env{t: t, conn: conn, reg: reg, topic: t.Name() + ".happened",
		relay: outbox.NewRelay(conn, testenv.DBURL(t), quiet, reg, cfg)}
}

// consumer registers a consumer whose handler writes one effect row through
// the delivery's transaction, then returns fail(call number).
func (e *env) consumer(name string, fail func(n int) error) *atomic.Int32 {
	e.t.Helper()
	calls := &atomic.Int32{}
	err := e.relay.Register(context.Background(), outbox.Consumer{
		Name: e.t.Name() + "/" + name, Topics: []string{e.topic},
		Handle: func(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
			n := int(calls.Add(1))
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_test_effects VALUES ($1, $2, $3)`, name, ev.ID, n); err != nil {
				return err
			}
			if fail != nil {
				return fail(n)
			}
			return nil
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return calls
}

func (e *env) enqueue(commit bool) string {
	e.t.Helper()
	tx, err := e.conn.Beginx()
	if err != nil {
		e.t.Fatal(err)
	}
	id, err := outbox.Enqueue(context.Background(), tx, e.topic, map[string]any{"player_id": "p1", "xp": 100})
	if err != nil {
		e.t.Fatal(err)
	}
	if commit {
		err = tx.Commit()
	} else {
		err = tx.Rollback()
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) deliverAll() {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := e.relay.DeliverDue(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			var pending int
			_ = e.conn.Get(&pending, `SELECT count(*) FROM outbox_deliveries d JOIN outbox_events ev ON ev.id = d.event_id WHERE ev.topic = $1 AND d.state = 'pending'`, e.topic)
			if pending == 0 {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	e.t.Fatal("deliveries still pending after 5s")
}

func (e *env) effects(name string) int {
	var n int
	if err := e.conn.Get(&n, `SELECT count(*) FROM outbox_test_effects WHERE consumer = $1`, name); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestRolledBackEventIsNeverDelivered(t *testing.T) {
	e := newEnv(t, outbox.Config{})
	calls := e.consumer("a", nil)
	e.enqueue(false)
	committed := e.enqueue(true)
	e.deliverAll()
	if calls.Load() != 1 || e.effects("a") != 1 {
		t.Fatalf("handler calls = %d, effects = %d; want only the committed event", calls.Load(), e.effects("a"))
	}
	var got string
	if err := e.conn.Get(&got, `SELECT event_id FROM outbox_test_effects WHERE consumer = 'a'`); err != nil || got != committed {
		t.Fatalf("delivered %q, want %q (%v)", got, committed, err)
	}
}

func TestEveryConsumerOfATopicGetsTheEvent(t *testing.T) {
	e := newEnv(t, outbox.Config{})
	a := e.consumer("a", nil)
	b := e.consumer("b", nil)
	other := &atomic.Int32{}
	if err := e.relay.Register(context.Background(), outbox.Consumer{Name: t.Name() + "/other", Topics: []string{"elsewhere"},
		Handle: func(context.Context, *sqlx.Tx, outbox.Event) error { other.Add(1); return nil }}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.enqueue(true)
	}
	e.deliverAll()
	if a.Load() != 3 || b.Load() != 3 || other.Load() != 0 {
		t.Fatalf("a=%d b=%d other=%d, want 3 3 0", a.Load(), b.Load(), other.Load())
	}
}

func TestFailingConsumerGetsTheEventAgain(t *testing.T) {
	e := newEnv(t, outbox.Config{MaxAttempts: 5})
	calls := e.consumer("flaky", func(n int) error {
		if n < 3 {
			return errors.New("inventory service briefly down")
		}
		return nil
	})
	e.enqueue(true)
	e.deliverAll()
	if calls.Load() != 3 {
		t.Fatalf("handler calls = %d, want 3 (two failures, one success)", calls.Load())
	}
	// The failed attempts' writes were rolled back: one effect, from the third call.
	if got := e.effects("flaky"); got != 1 {
		t.Fatalf("effects = %d, want 1", got)
	}
	if got := sum(t, e.reg, "muster_outbox_failed_total"); got != 2 {
		t.Fatalf("failed_total = %v, want 2", got)
	}
}

func TestDuplicateDeliveryChangesNothing(t *testing.T) {
	e := newEnv(t, outbox.Config{})
	calls := e.consumer("once", nil)
	id := e.enqueue(true)
	e.deliverAll()
	// Deliver the same event again, as a relay would after losing track of
	// the first delivery.
	if _, err := e.conn.Exec(`UPDATE outbox_deliveries SET state = 'pending' WHERE event_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	e.deliverAll()
	if calls.Load() != 1 || e.effects("once") != 1 {
		t.Fatalf("calls = %d, effects = %d after a duplicate delivery, want 1 and 1", calls.Load(), e.effects("once"))
	}
}

func TestDeadEventIsVisibleAndRetryable(t *testing.T) {
	e := newEnv(t, outbox.Config{MaxAttempts: 3})
	var broken atomic.Bool
	broken.Store(true)
	calls := e.consumer("broken", func(int) error {
		if broken.Load() {
			return errors.New("reward table missing")
		}
		return nil
	})
	id := e.enqueue(true)
	e.deliverAll()
	if calls.Load() != 3 {
		t.Fatalf("calls = %d, want 3 attempts", calls.Load())
	}
	dead, err := outbox.Dead(context.Background(), e.conn, 100)
	if err != nil {
		t.Fatal(err)
	}
	var found *outbox.DeadDelivery
	for i := range dead {
		if dead[i].EventID == id {
			found = &dead[i]
		}
	}
	if found == nil || found.Attempts != 3 || found.LastError != "reward table missing" || found.Topic != e.topic {
		t.Fatalf("dead list = %+v, want event %s with 3 attempts", dead, id)
	}
	if got := sum(t, e.reg, "muster_outbox_dead_total"); got != 1 {
		t.Fatalf("dead_total = %v, want 1", got)
	}
	// Dead events are not retried on their own.
	e.deliverAll()
	if calls.Load() != 3 {
		t.Fatalf("a dead event was retried: calls = %d", calls.Load())
	}
	broken.Store(false)
	ok, err := outbox.Retry(context.Background(), e.conn, id, t.Name()+"/broken")
	if err != nil || !ok {
		t.Fatalf("Retry = %v, %v", ok, err)
	}
	e.deliverAll()
	if calls.Load() != 4 || e.effects("broken") != 1 {
		t.Fatalf("after retry calls = %d effects = %d, want 4 and 1", calls.Load(), e.effects("broken"))
	}
}

func TestConcurrentRelaysApplyEachEventOnce(t *testing.T) {
	conn := testenv.DB(t)
	if _, err := conn.Exec(`CREATE TABLE IF NOT EXISTS outbox_test_effects (consumer text, event_id uuid, n int)`); err != nil {
		t.Fatal(err)
	}
	topic := t.Name() + ".happened"
	const events = 60
	var calls atomic.Int32
	relays := make([]*outbox.Relay, 3)
	for i := range relays {
		relays[i] = outbox.NewRelay(conn, testenv.DBURL(t), quiet, nil, outbox.Config{})
		err := relays[i].Register(context.Background(), outbox.Consumer{Name: t.Name(), Topics: []string{topic},
			Handle: func(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
				calls.Add(1)
				_, err := tx.ExecContext(ctx, `INSERT INTO outbox_test_effects VALUES ('concurrent', $1, 0)`, ev.ID)
				return err
			}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range events {
		if err := db.InTx(context.Background(), conn, nil, func(tx *sqlx.Tx) error {
			_, err := outbox.Enqueue(context.Background(), tx, topic, map[string]int{"n": 1})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, r := range relays {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.DeliverDue(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var distinct int
	if err := conn.Get(&distinct, `SELECT count(DISTINCT event_id) FROM outbox_test_effects WHERE consumer = 'concurrent'`); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != events || distinct != events {
		t.Fatalf("calls = %d distinct = %d, want %d each", calls.Load(), distinct, events)
	}
}

func TestRunWakesOnCommit(t *testing.T) {
	// With an hour between polls, only the LISTEN wake-up can deliver in time.
	e := newEnv(t, outbox.Config{PollInterval: time.Hour})
	delivered := make(chan string, 1)
	if err := e.relay.Register(context.Background(), outbox.Consumer{Name: t.Name(), Topics: []string{e.topic},
		Handle: func(_ context.Context, _ *sqlx.Tx, ev outbox.Event) error {
			var payload struct {
				XP int `json:"xp"`
			}
			if err := ev.Decode(&payload); err != nil || payload.XP != 100 {
				return errors.New("payload did not round-trip")
			}
			delivered <- ev.ID
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.relay.Run(ctx) }()
	time.Sleep(300 * time.Millisecond) // let the first pass and LISTEN start
	id := e.enqueue(true)
	select {
	case got := <-delivered:
		if got != id {
			t.Fatalf("delivered %s, want %s", got, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event not delivered within 5s of commit")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
}

func TestEnqueueRejectsBadEvents(t *testing.T) {
	conn := testenv.DB(t)
	tx, err := conn.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := outbox.Enqueue(context.Background(), tx, "", 1); !errors.Is(err, outbox.ErrInvalidEvent) {
		t.Fatalf("empty topic: %v", err)
	}
	if _, err := outbox.Enqueue(context.Background(), tx, "x", func() {}); !errors.Is(err, outbox.ErrInvalidEvent) {
		t.Fatalf("unmarshalable payload: %v", err)
	}
}

// sum adds up every series of the counter called name.
func sum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func TestPruneKeepsWhatIsNotDone(t *testing.T) {
	e := newEnv(t, outbox.Config{MaxAttempts: 1, Retention: time.Hour})
	e.consumer("ok", nil)
	done := e.enqueue(true)
	e.deliverAll()
	failing := newEnv(t, outbox.Config{MaxAttempts: 1, Retention: time.Hour})
	failing.topic = e.topic + ".dead"
	failing.consumer("broken", func(int) error { return errors.New("no") })
	dead := failing.enqueue(true)
	failing.deliverAll()
	unrouted := newEnv(t, outbox.Config{Retention: time.Hour})
	unrouted.topic = e.topic + ".nobody"
	orphan := unrouted.enqueue(true)
	// Age every event of this test past the retention.
	if _, err := e.conn.Exec(`UPDATE outbox_events SET created_at = now() - interval '2 hours' WHERE id IN ($1, $2, $3)`, done, dead, orphan); err != nil {
		t.Fatal(err)
	}
	if _, err := e.relay.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	var left []string
	if err := e.conn.Select(&left, `SELECT id::text FROM outbox_events WHERE id IN ($1, $2, $3)`, done, dead, orphan); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != dead {
		t.Fatalf("after prune %v remain, want only the dead event %s", left, dead)
	}
}

func TestEnqueueManyDeliversEach(t *testing.T) {
	e := newEnv(t, outbox.Config{})
	calls := e.consumer("many", nil)
	tx, err := e.conn.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	payloads := []map[string]int{{"n": 1}, {"n": 2}, {"n": 3}}
	ids, err := outbox.EnqueueMany(context.Background(), tx, e.topic, payloads)
	if err != nil || len(ids) != 3 {
		t.Fatalf("EnqueueMany = %v, %v", ids, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	e.deliverAll()
	var got []int
	if err := e.conn.Select(&got, `SELECT (payload->>'n')::int FROM outbox_events WHERE topic = $1 ORDER BY 1`, e.topic); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || e.effects("many") != 3 || len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("calls %d, effects %d, payloads %v; want each of the 3 events once", calls.Load(), e.effects("many"), got)
	}
}

func TestBatchedConsumerCommitsTheGoodAndRetriesTheBad(t *testing.T) {
	e := newEnv(t, outbox.Config{})
	var calls, txs atomic.Int32
	seenTx := sync.Map{}
	err := e.relay.Register(context.Background(), outbox.Consumer{
		Name: t.Name() + "/batch", Topics: []string{e.topic}, Batch: 10,
		Handle: func(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
			n := calls.Add(1)
			if _, loaded := seenTx.LoadOrStore(tx, true); !loaded {
				txs.Add(1)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_test_effects VALUES ('batch', $1, $2)`, ev.ID, n); err != nil {
				return err
			}
			var m map[string]any
			_ = json.Unmarshal(ev.Payload, &m)
			if m["fail"] == true && n < 30 {
				return errors.New("not yet")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tx := e.conn.MustBegin()
	payloads := make([]map[string]any, 25)
	for i := range payloads {
		payloads[i] = map[string]any{"i": i, "fail": i == 7}
	}
	if _, err := outbox.EnqueueMany(context.Background(), tx, e.topic, payloads); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	e.deliverAll()
	var effects, failedTries int
	_ = e.conn.Get(&effects, `SELECT count(DISTINCT event_id) FROM outbox_test_effects WHERE consumer = 'batch'`)
	_ = e.conn.Get(&failedTries, `SELECT count(*) FROM outbox_test_effects WHERE consumer = 'batch' AND n < 30 AND event_id IN (
		SELECT id FROM outbox_events WHERE topic = $1 AND (payload->>'fail')::bool)`, e.topic)
	if effects != 25 {
		t.Fatalf("%d events' effects committed, want all 25", effects)
	}
	if failedTries != 0 {
		t.Fatalf("the failing event's attempts left %d effects: a failed handler's writes must be undone", failedTries)
	}
	if txs.Load() > 10 { // 3 batches, and the failing event alone until it succeeds
		t.Fatalf("%d transactions for 25 events in batches of 10 (and a few retries)", txs.Load())
	}
}

// TestUrgentConsumerDoesNotQueueBehindABacklog: with the one shared worker
// busy on a slow consumer's backlog, an urgent consumer's event is still
// delivered at once by the urgent worker.
func TestUrgentConsumerDoesNotQueueBehindABacklog(t *testing.T) {
	e := newEnv(t, outbox.Config{Workers: 1, PollInterval: 50 * time.Millisecond})
	ctx := context.Background()
	const backlog, each = 40, 100 * time.Millisecond // 4 s of work for the shared worker
	slowTopic := e.topic + ".slow"
	if err := e.relay.Register(ctx, outbox.Consumer{Name: t.Name() + "/slow", Topics: []string{slowTopic},
		Handle: func(context.Context, *sqlx.Tx, outbox.Event) error { time.Sleep(each); return nil }}); err != nil {
		t.Fatal(err)
	}
	delivered := make(chan time.Time, 1)
	if err := e.relay.Register(ctx, outbox.Consumer{Name: t.Name() + "/urgent", Topics: []string{e.topic}, Urgent: true,
		Handle: func(context.Context, *sqlx.Tx, outbox.Event) error { delivered <- time.Now(); return nil }}); err != nil {
		t.Fatal(err)
	}
	tx := e.conn.MustBegin()
	for i := range backlog {
		if _, err := outbox.Enqueue(ctx, tx, slowTopic, map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.relay.Run(rctx) }()
	defer func() {
		cancel()
		<-done
	}()
	time.Sleep(300 * time.Millisecond) // the shared worker is into the backlog
	sent := time.Now()
	e.enqueue(true)
	select {
	case at := <-delivered:
		if took := at.Sub(sent); took > 2*time.Second {
			t.Fatalf("urgent event delivered after %s, behind the backlog", took)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("urgent event not delivered within 3 s: it queued behind the backlog")
	}
}
