// Package outbox delivers Muster's durable asynchronous events. An event is
// written in the same transaction as the change that causes it, so it exists
// exactly when that change does; the Relay then delivers it at least once to
// every consumer subscribed to its topic, retrying with backoff and parking it
// as dead after too many failures. A consumer's handler runs in a transaction
// that also records the event as processed, so a repeated delivery changes
// nothing.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// notifyChannel is the PostgreSQL channel that wakes relays when an event is
// committed.
const notifyChannel = "muster_outbox"

// ErrInvalidEvent is returned for an event without a topic or with a payload
// that is not JSON.
var ErrInvalidEvent = errors.New("invalid outbox event")

// Event is one durable event.
type Event struct {
	ID        string          `db:"id"`
	Topic     string          `db:"topic"`
	Payload   json.RawMessage `db:"payload"`
	CreatedAt time.Time       `db:"created_at"`
}

// Decode unmarshals the payload into v.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Payload, v); err != nil {
		return fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err)
	}
	return nil
}

// Enqueue writes an event with payload marshalled as JSON into tx and fans it
// out to the consumers subscribed to topic. It is delivered only if tx
// commits. When ctx carries a trace, the event records it (its W3C
// traceparent) and the relay delivers it in a span of the same trace. It
// returns the event's id.
func Enqueue(ctx context.Context, tx sqlx.ExtContext, topic string, payload any) (string, error) {
	if topic == "" {
		return "", fmt.Errorf("%w: empty topic", ErrInvalidEvent)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	const q = `
WITH ev AS (
    INSERT INTO outbox_events (id, topic, payload, traceparent) VALUES (gen_random_uuid(), $1, $2, $3) RETURNING id
), fan AS (
    INSERT INTO outbox_deliveries (event_id, consumer)
    SELECT ev.id, s.consumer FROM ev, outbox_subscriptions s WHERE s.topic = $1
)
SELECT id FROM ev`
	var id string
	if err := sqlx.GetContext(ctx, tx, &id, q, topic, body, traceparent(ctx)); err != nil {
		return "", fmt.Errorf("enqueue %s event: %w", topic, err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, topic); err != nil {
		return "", fmt.Errorf("notify %s event: %w", topic, err)
	}
	return id, nil
}

// EnqueueMany writes one event per payload, all of topic, in one statement:
// what Enqueue does for each, for use cases that emit many events at once
// (a match's level-ups). It returns the events' ids.
func EnqueueMany[T any](ctx context.Context, tx sqlx.ExtContext, topic string, payloads []T) ([]string, error) {
	if topic == "" {
		return nil, fmt.Errorf("%w: empty topic", ErrInvalidEvent)
	}
	if len(payloads) == 0 {
		return nil, nil
	}
	bodies := make(pq.StringArray, len(payloads))
	for i, p := range payloads {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
		}
		bodies[i] = string(b)
	}
	const q = `
WITH ev AS (
    INSERT INTO outbox_events (id, topic, payload, traceparent)
    SELECT gen_random_uuid(), $1, b.payload::jsonb, $3 FROM unnest($2::text[]) WITH ORDINALITY AS b (payload, n) ORDER BY b.n
    RETURNING id
), fan AS (
    INSERT INTO outbox_deliveries (event_id, consumer)
    SELECT ev.id, s.consumer FROM ev, outbox_subscriptions s WHERE s.topic = $1
)
SELECT id FROM ev`
	var ids []string
	if err := sqlx.SelectContext(ctx, tx, &ids, q, topic, bodies, traceparent(ctx)); err != nil {
		return nil, fmt.Errorf("enqueue %s events: %w", topic, err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, topic); err != nil {
		return nil, fmt.Errorf("notify %s events: %w", topic, err)
	}
	return ids, nil
}

// traceparent is Traceparent as a nullable column: NULL when ctx carries
// no trace.
func traceparent(ctx context.Context) *string {
	tp := Traceparent(ctx)
	if tp == "" {
		return nil
	}
	return &tp
}

// Traceparent is the W3C traceparent of the span in ctx, or "" when ctx
// carries no trace: what an event records, and what other hand-offs (a
// notification published to the gateways) carry to continue the trace.
func Traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}
