package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/musterhq/muster/domain/db"
)

// Handler applies one event. It runs inside tx, which also records the event
// as processed by the consumer; whatever the handler writes through tx
// commits together with that record, or not at all.
type Handler func(ctx context.Context, tx *sqlx.Tx, ev Event) error

// BatchHandler applies several events at once, inside tx: set-based work
// for consumers of many small events. When it fails, the relay hands it
// each event of the batch alone, so one bad event does not hold back the
// others.
type BatchHandler func(ctx context.Context, tx *sqlx.Tx, evs []Event) error

// Consumer receives the events of its topics. Its name is durable: renaming a
// consumer makes a new one that starts with no events.
type Consumer struct {
	Name   string
	Topics []string
	Handle Handler
	// HandleBatch, when set, is called instead of Handle with up to Batch
	// events at once.
	HandleBatch BatchHandler
	// Batch is how many due events the relay hands the consumer in one
	// transaction, each in a savepoint of its own (a failing one is
	// retried alone; the others commit), one worker at a time across every
	// relay. Consumers of many small events (one per player of a match)
	// set it to spare a transaction each; 0 means 1.
	Batch int
	// Urgent marks a consumer players wait on (the notifications' own).
	// Besides the shared workers, which take every consumer's deliveries
	// oldest first, each relay runs one worker that takes only urgent
	// consumers' deliveries: they never queue behind a backlog of others'
	// (a burst of match results, say).
	Urgent bool
}

// Config tunes a Relay. Zero values take the defaults shown.
type Config struct {
	MaxAttempts    int           // deliveries before an event is dead: 10
	PollInterval   time.Duration // how often to look for due events without a wake-up: 1s
	BaseBackoff    time.Duration // wait after the first failure, doubling after each: 1s
	MaxBackoff     time.Duration // longest wait between attempts: 10m
	HandlerTimeout time.Duration // longest a handler may run: 30s
	Workers        int           // deliveries run at once (each claims its own with SKIP LOCKED): 4
	Retention      time.Duration // how long delivered events and their dedup records are kept: 7 days
	// Tracing, when set, gets a span per delivery, a child of the trace the
	// event was written in. Nil: no spans.
	Tracing trace.TracerProvider
}

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Minute
	}
	if c.HandlerTimeout <= 0 {
		c.HandlerTimeout = 30 * time.Second
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.Tracing == nil {
		c.Tracing = noop.NewTracerProvider()
	}
	return c
}

// Relay delivers due events to the consumers registered with it. Relays in
// several processes share the work: each delivery is claimed with
// FOR UPDATE SKIP LOCKED.
type Relay struct {
	db        *sqlx.DB
	dbURL     string
	log       *slog.Logger
	cfg       Config
	consumers map[string]Consumer
	names     []string
	urgent    []string // names of the Urgent consumers
	tracer    trace.Tracer

	delivered *prometheus.CounterVec
	failed    *prometheus.CounterVec
	dead      *prometheus.CounterVec
	backlog   *prometheus.GaugeVec
}

// NewRelay returns a relay over conn. dbURL is used for a LISTEN connection
// that wakes the relay as soon as an event commits; the relay also polls.
func NewRelay(conn *sqlx.DB, dbURL string, log *slog.Logger, reg prometheus.Registerer, cfg Config) *Relay {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Relay{
		db: conn, dbURL: dbURL, log: log, cfg: cfg.withDefaults(),
		consumers: map[string]Consumer{},
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "muster_outbox_delivered_total", Help: "Outbox events a consumer applied.",
		}, []string{"consumer"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "muster_outbox_failed_total", Help: "Outbox deliveries whose handler failed (each attempt).",
		}, []string{"consumer"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "muster_outbox_dead_total", Help: "Outbox deliveries parked as dead after too many failures.",
		}, []string{"consumer"}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "muster_outbox_deliveries", Help: "Outbox deliveries not yet delivered, by consumer and state (pending, dead).",
		}, []string{"consumer", "state"}),
	}
	r.tracer = r.cfg.Tracing.Tracer("github.com/musterhq/muster/domain/outbox")
	if reg != nil {
		reg.MustRegister(r.delivered, r.failed, r.dead, r.backlog)
	}
	return r
}

// Register subscribes c to its topics. Events written from now on reach it;
// so do events written in the minute before it first subscribed, which
// closes the race between a first subscription and concurrent writers.
func (r *Relay) Register(ctx context.Context, c Consumer) error {
	if c.Name == "" || len(c.Topics) == 0 || (c.Handle == nil && c.HandleBatch == nil) {
		return errors.New("outbox consumer needs a name, topics and a handler")
	}
	if c.HandleBatch != nil && c.Batch <= 1 {
		return fmt.Errorf("outbox consumer %q: a batch handler needs Batch above 1", c.Name)
	}
	if _, dup := r.consumers[c.Name]; dup {
		return fmt.Errorf("outbox consumer %q registered twice", c.Name)
	}
	const subscribe = `
INSERT INTO outbox_subscriptions (consumer, topic) SELECT $1, unnest($2::text[])
ON CONFLICT DO NOTHING`
	if _, err := r.db.ExecContext(ctx, subscribe, c.Name, pq.Array(c.Topics)); err != nil {
		return fmt.Errorf("subscribe %s: %w", c.Name, err)
	}
	const backfill = `
INSERT INTO outbox_deliveries (event_id, consumer)
SELECT e.id, s.consumer FROM outbox_subscriptions s
JOIN outbox_events e ON e.topic = s.topic AND e.created_at >= s.created_at - interval '1 minute'
WHERE s.consumer = $1
ON CONFLICT DO NOTHING`
	if _, err := r.db.ExecContext(ctx, backfill, c.Name); err != nil {
		return fmt.Errorf("backfill %s: %w", c.Name, err)
	}
	r.consumers[c.Name] = c
	r.names = append(r.names, c.Name)
	if c.Urgent {
		r.urgent = append(r.urgent, c.Name)
	}
	return nil
}

// Run delivers events until ctx ends. The delivery under way when ctx ends
// finishes first, so a stop never counts as a failed attempt.
//
// Workers run for as long as the relay does: each delivers until nothing is
// due, then waits for a wake-up (a NOTIFY from a writer's commit, or the
// poll interval), so a worker busy with a long delivery never holds the
// others back.
func (r *Relay) Run(ctx context.Context) error {
	var mu sync.Mutex
	gen := make(chan struct{})
	wakeAll := func() {
		mu.Lock()
		close(gen)
		gen = make(chan struct{})
		mu.Unlock()
	}
	current := func() chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		return gen
	}
	listener := pq.NewListener(r.dbURL, time.Second, time.Minute, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			r.log.Warn("outbox listener", "err", err)
		}
	})
	defer listener.Close()
	if err := listener.Listen(notifyChannel); err != nil {
		r.log.Warn("outbox listener unavailable, polling only", "err", err)
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-listener.Notify:
				if !ok {
					return
				}
				wakeAll()
			}
		}
	}()

	var wg sync.WaitGroup
	pools := make([][]string, r.cfg.Workers, r.cfg.Workers+1)
	for i := range pools {
		pools[i] = r.names
	}
	if len(r.urgent) > 0 {
		pools = append(pools, r.urgent)
	}
	for _, names := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				woken := current()
				if _, err := r.deliverDue(ctx, names); err != nil && ctx.Err() == nil {
					r.log.Error("outbox delivery", "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-woken:
				}
			}
		}()
	}

	tick := time.NewTicker(r.cfg.PollInterval)
	defer tick.Stop()
	lastGauge, lastPrune := time.Time{}, time.Time{}
	for {
		if time.Since(lastPrune) > time.Hour {
			if n, err := r.Prune(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("outbox prune", "err", err)
			} else if n > 0 {
				r.log.Info("outbox pruned", "events", n)
			}
			lastPrune = time.Now()
		}
		if time.Since(lastGauge) > 10*time.Second {
			r.updateBacklog(ctx)
			lastGauge = time.Now()
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-tick.C:
			wakeAll() // events that became due by time (retries) or whose NOTIFY was missed
		}
	}
}

// DeliverDue delivers every due event, one transaction each, until none is
// due or ctx ends. It returns how many deliveries it attempted.
func (r *Relay) DeliverDue(ctx context.Context) (int, error) {
	return r.deliverDue(ctx, r.names)
}

// deliverDue is DeliverDue for the consumers named.
func (r *Relay) deliverDue(ctx context.Context, names []string) (int, error) {
	n := 0
	for ctx.Err() == nil {
		ok, err := r.deliverOne(context.WithoutCancel(ctx), names)
		if err != nil {
			return n, err
		}
		if !ok {
			return n, nil
		}
		n++
	}
	return n, nil
}

type claimed struct {
	Event
	Consumer string `db:"consumer"`
	Attempts int    `db:"attempts"`
	// Traceparent is the trace the event was written in, if any.
	Traceparent sql.NullString `db:"traceparent"`
}

// deliverOne claims one due delivery, with more of the same consumer's when
// it takes batches, and runs its handler on each. It reports whether there
// was one.
func (r *Relay) deliverOne(ctx context.Context, names []string) (bool, error) {
	if len(names) == 0 {
		return false, nil
	}
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin delivery: %w", err)
	}
	defer tx.Rollback()

	const claim = `
SELECT e.id, e.topic, e.payload, e.created_at, e.traceparent, d.consumer, d.attempts
FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND d.consumer = ANY($1)
ORDER BY d.next_attempt_at
LIMIT $2
FOR UPDATE OF d SKIP LOCKED`
	var batch []claimed
	for {
		if err := tx.SelectContext(ctx, &batch, claim, pq.Array(names), 1); err != nil {
			return false, fmt.Errorf("claim delivery: %w", err)
		}
		if len(batch) == 0 {
			return false, nil
		}
		if r.consumers[batch[0].Consumer].Batch <= 1 {
			break
		}
		// One worker at a time runs a batched consumer: two batches of
		// events in different orders would lock the same rows (a player's)
		// in different orders and deadlock.
		var mine bool
		if err := tx.GetContext(ctx, &mine, `SELECT pg_try_advisory_xact_lock(hashtext('muster.outbox.' || $1))`, batch[0].Consumer); err != nil {
			return false, fmt.Errorf("lock consumer: %w", err)
		}
		if mine {
			break
		}
		names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == batch[0].Consumer })
		batch = nil
	}
	if n := r.consumers[batch[0].Consumer].Batch; n > 1 {
		var more []claimed
		if err := tx.SelectContext(ctx, &more, claim, pq.Array([]string{batch[0].Consumer}), n-1); err != nil {
			return false, fmt.Errorf("claim deliveries: %w", err)
		}
		// The first claim's row is locked by this transaction, which SKIP
		// LOCKED does not skip: leave it out of the rest.
		for _, c := range more {
			if c.ID != batch[0].ID {
				batch = append(batch, c)
			}
		}
	}
	if err := r.settle(ctx, tx, batch); err != nil {
		return false, err
	}
	return true, nil
}

// startSpan starts the span of one delivery, a child of the trace the event
// was written in when it recorded one.
func (r *Relay) startSpan(ctx context.Context, c claimed) (context.Context, trace.Span) {
	if c.Traceparent.Valid {
		ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": c.Traceparent.String})
	}
	return r.tracer.Start(ctx, "outbox deliver "+c.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.consumer.group.name", c.Consumer),
			attribute.String("messaging.destination.name", c.Topic),
			attribute.String("messaging.message.id", c.ID),
			attribute.Int("muster.outbox.attempt", c.Attempts+1),
		))
}

// settle runs the handler of each claimed delivery in a savepoint of its
// own and records the outcomes in tx, then commits: what a failing handler
// wrote is undone and its event tried again later; the others commit. A
// failure of the database to record anything is the error.
func (r *Relay) settle(ctx context.Context, tx *sqlx.Tx, batch []claimed) error {
	var delivered []string
	var failed []failure
	if r.consumers[batch[0].Consumer].HandleBatch != nil {
		herr, err := r.runBatch(ctx, tx, batch)
		if err != nil {
			return err
		}
		if herr == nil {
			for _, c := range batch {
				delivered = append(delivered, c.ID)
			}
		} else if len(batch) == 1 {
			failed = append(failed, failure{c: batch[0], err: herr})
		} else {
			// One bad event must not hold the others back: each alone.
			for _, c := range batch {
				herr, err := r.runBatch(ctx, tx, []claimed{c})
				if err != nil {
					return err
				}
				if herr == nil {
					delivered = append(delivered, c.ID)
				} else {
					failed = append(failed, failure{c: c, err: herr})
				}
			}
		}
	} else {
		for _, c := range batch {
			herr, err := r.run(ctx, tx, c)
			if err != nil {
				return err
			}
			if herr == nil {
				delivered = append(delivered, c.ID)
			} else {
				failed = append(failed, failure{c: c, err: herr})
			}
		}
	}
	consumer := batch[0].Consumer
	if len(delivered) > 0 {
		const done = `UPDATE outbox_deliveries SET state = 'delivered', attempts = attempts + 1, last_error = '', updated_at = now()
			WHERE event_id = ANY($1::uuid[]) AND consumer = $2`
		if _, err := tx.ExecContext(ctx, done, pq.Array(delivered), consumer); err != nil {
			return fmt.Errorf("mark delivered: %w", err)
		}
	}
	for i := range failed {
		if err := r.recordFailure(ctx, tx, &failed[i]); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit delivery: %w", err)
	}
	r.delivered.WithLabelValues(consumer).Add(float64(len(delivered)))
	for _, f := range failed {
		r.failed.WithLabelValues(consumer).Inc()
		if f.dead {
			r.dead.WithLabelValues(consumer).Inc()
			r.log.Error("outbox event is dead", "event_id", f.c.ID, "topic", f.c.Topic, "consumer", consumer, "attempts", f.c.Attempts+1, "err", f.err)
		} else {
			r.log.Warn("outbox delivery failed", "event_id", f.c.ID, "topic", f.c.Topic, "consumer", consumer, "attempts", f.c.Attempts+1, "err", f.err)
		}
	}
	return nil
}

type failure struct {
	c    claimed
	err  error
	dead bool
}

// run applies one delivery in a savepoint, rolled back when the handler
// fails; herr is the handler's error.
func (r *Relay) run(ctx context.Context, tx *sqlx.Tx, c claimed) (herr, err error) {
	ctx, span := r.startSpan(ctx, c)
	defer span.End()
	if _, err := tx.ExecContext(ctx, `SAVEPOINT handler`); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	if herr = r.apply(ctx, tx, c); herr == nil {
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT handler`); err != nil {
			return nil, fmt.Errorf("release savepoint: %w", err)
		}
		return nil, nil
	}
	span.RecordError(herr)
	span.SetStatus(codes.Error, "handler failed")
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT handler`); err != nil {
		return nil, fmt.Errorf("rollback handler: %w", err)
	}
	return herr, nil
}

// runBatch applies a batch of deliveries with the consumer's BatchHandler
// in one savepoint, leaving out events it processed before; herr is the
// handler's error, which fails the whole batch.
func (r *Relay) runBatch(ctx context.Context, tx *sqlx.Tx, batch []claimed) (herr, err error) {
	ctx, span := r.startSpan(ctx, batch[0])
	defer span.End()
	span.SetAttributes(attribute.Int("muster.outbox.batch", len(batch)))
	if _, err := tx.ExecContext(ctx, `SAVEPOINT handler`); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	herr = r.applyBatch(ctx, tx, batch)
	if herr == nil {
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT handler`); err != nil {
			return nil, fmt.Errorf("release savepoint: %w", err)
		}
		return nil, nil
	}
	span.RecordError(herr)
	span.SetStatus(codes.Error, "handler failed")
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT handler`); err != nil {
		return nil, fmt.Errorf("rollback handler: %w", err)
	}
	return herr, nil
}

func (r *Relay) applyBatch(ctx context.Context, tx *sqlx.Tx, batch []claimed) (err error) {
	ids := make([]string, len(batch))
	for i, c := range batch {
		ids[i] = c.ID
	}
	consumer := batch[0].Consumer
	var fresh []string
	const rec = `INSERT INTO outbox_processed (consumer, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id`
	if err := tx.SelectContext(ctx, &fresh, rec, consumer, pq.Array(ids)); err != nil {
		return fmt.Errorf("record processed: %w", err)
	}
	isFresh := make(map[string]bool, len(fresh))
	for _, id := range fresh {
		isFresh[id] = true
	}
	evs := make([]Event, 0, len(fresh))
	for _, c := range batch {
		if isFresh[c.ID] {
			evs = append(evs, c.Event)
		}
	}
	if len(evs) == 0 {
		return nil // applied before: repeated deliveries change nothing
	}
	c, ok := r.consumers[consumer]
	if !ok {
		return fmt.Errorf("no consumer %q in this process", consumer)
	}
	hctx, cancel := context.WithTimeout(ctx, r.cfg.HandlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return c.HandleBatch(hctx, tx, evs)
}

// recordFailure keeps a failed delivery for a later attempt, or parks it as
// dead after MaxAttempts. A deadlock or serialization failure is the
// database's doing, not the event's: it is tried again soon and does not
// count toward the attempts.
func (r *Relay) recordFailure(ctx context.Context, tx *sqlx.Tx, f *failure) error {
	attempts := f.c.Attempts + 1
	wait := r.backoff(attempts)
	if db.IsRetryable(f.err) {
		attempts, wait = f.c.Attempts, time.Duration(rand.Int64N(int64(50*time.Millisecond)))
	}
	state := "pending"
	if attempts >= r.cfg.MaxAttempts {
		state = "dead"
	}
	f.dead = state == "dead"
	const fail = `
UPDATE outbox_deliveries SET attempts = $3, state = $4, last_error = $5,
    next_attempt_at = now() + $6 * interval '1 millisecond', updated_at = now()
WHERE event_id = $1 AND consumer = $2`
	msg := f.err.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	if _, err := tx.ExecContext(ctx, fail, f.c.ID, f.c.Consumer, attempts, state, msg, wait.Milliseconds()); err != nil {
		return fmt.Errorf("record failed delivery: %w", err)
	}
	return nil
}

// apply runs the consumer's handler unless the consumer already processed
// the event, recording it as processed in the same transaction.
func (r *Relay) apply(ctx context.Context, tx *sqlx.Tx, c claimed) (err error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox_processed (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, c.Consumer, c.ID)
	if err != nil {
		return fmt.Errorf("record processed: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // applied before: a repeated delivery changes nothing
	}
	consumer, ok := r.consumers[c.Consumer]
	if !ok {
		return fmt.Errorf("no consumer %q in this process", c.Consumer)
	}
	hctx, cancel := context.WithTimeout(ctx, r.cfg.HandlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return consumer.Handle(hctx, tx, c.Event)
}

// backoff is the wait before attempt n+1: doubling from BaseBackoff, capped,
// with jitter so failing events from one burst do not retry in lockstep.
func (r *Relay) backoff(attempts int) time.Duration {
	d := r.cfg.BaseBackoff << min(attempts-1, 30)
	if d <= 0 || d > r.cfg.MaxBackoff {
		d = r.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func (r *Relay) updateBacklog(ctx context.Context) {
	var rows []struct {
		Consumer string `db:"consumer"`
		State    string `db:"state"`
		N        int    `db:"n"`
	}
	const q = `SELECT consumer, state, count(*) AS n FROM outbox_deliveries WHERE state <> 'delivered' AND consumer = ANY($1) GROUP BY consumer, state`
	if err := r.db.SelectContext(ctx, &rows, q, pq.Array(r.names)); err != nil {
		return
	}
	for _, name := range r.names {
		r.backlog.WithLabelValues(name, "pending").Set(0)
		r.backlog.WithLabelValues(name, "dead").Set(0)
	}
	for _, row := range rows {
		r.backlog.WithLabelValues(row.Consumer, row.State).Set(float64(row.N))
	}
}

// Prune deletes events older than the retention whose every delivery is
// done (dead ones are kept for staff to see), and the dedup records of the
// same age. It returns how many events it deleted.
func (r *Relay) Prune(ctx context.Context) (int64, error) {
	const events = `
DELETE FROM outbox_events e
WHERE e.created_at < now() - $1 * interval '1 millisecond'
  AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_id = e.id AND d.state <> 'delivered')`
	res, err := r.db.ExecContext(ctx, events, r.cfg.Retention.Milliseconds())
	if err != nil {
		return 0, fmt.Errorf("prune outbox events: %w", err)
	}
	n, _ := res.RowsAffected()
	const processed = `DELETE FROM outbox_processed WHERE processed_at < now() - $1 * interval '1 millisecond'`
	if _, err := r.db.ExecContext(ctx, processed, r.cfg.Retention.Milliseconds()); err != nil {
		return n, fmt.Errorf("prune outbox dedup records: %w", err)
	}
	return n, nil
}
