package outbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/musterhq/muster/domain/outbox"
)

// A request's trace continues into the asynchronous work it caused: the
// event records the writer's trace and its delivery spans are children in
// that trace, the handler's context included; a failed attempt is an error
// span. An event written without a trace is delivered in a trace of its own.
func TestDeliverySpanContinuesTheWritersTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	e := newEnv(t, outbox.Config{MaxAttempts: 5, Tracing: tp})

	var handlerTraces []trace.TraceID
	err := e.relay.Register(context.Background(), outbox.Consumer{
		Name: t.Name() + "/traced", Topics: []string{e.topic},
		Handle: func(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
			handlerTraces = append(handlerTraces, trace.SpanContextFromContext(ctx).TraceID())
			if len(handlerTraces) == 1 {
				return errors.New("first attempt fails")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, request := tp.Tracer("test").Start(context.Background(), "POST /v1/things")
	tx, err := e.conn.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	id, err := outbox.Enqueue(ctx, tx, e.topic, map[string]any{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	request.End()
	want := request.SpanContext()

	var stored *string
	if err := e.conn.Get(&stored, `SELECT traceparent FROM outbox_events WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if stored == nil || *stored != "00-"+want.TraceID().String()+"-"+want.SpanID().String()+"-01" {
		t.Fatalf("stored traceparent = %v, want the request's span", stored)
	}

	e.deliverAll()

	var deliveries []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "outbox deliver "+e.topic {
			deliveries = append(deliveries, s)
		}
	}
	if len(deliveries) != 2 {
		t.Fatalf("delivery spans = %d, want 2 (a failed attempt and a delivery)", len(deliveries))
	}
	for i, s := range deliveries {
		if s.SpanContext().TraceID() != want.TraceID() || s.Parent().SpanID() != want.SpanID() {
			t.Errorf("attempt %d: span in trace %s under %s, want trace %s under the request span %s",
				i+1, s.SpanContext().TraceID(), s.Parent().SpanID(), want.TraceID(), want.SpanID())
		}
		if s.SpanKind() != trace.SpanKindConsumer {
			t.Errorf("attempt %d: kind %v, want consumer", i+1, s.SpanKind())
		}
		if handlerTraces[i] != want.TraceID() {
			t.Errorf("attempt %d: the handler's context is in trace %s, want %s", i+1, handlerTraces[i], want.TraceID())
		}
		attrs := map[string]string{}
		for _, a := range s.Attributes() {
			attrs[string(a.Key)] = a.Value.String()
		}
		if attrs["messaging.message.id"] != id || attrs["messaging.destination.name"] != e.topic ||
			attrs["messaging.consumer.group.name"] != t.Name()+"/traced" || attrs["muster.outbox.attempt"] != string(rune('1'+i)) {
			t.Errorf("attempt %d: attributes %v", i+1, attrs)
		}
	}
	if deliveries[0].Status().Code != codes.Error || deliveries[1].Status().Code == codes.Error {
		t.Errorf("statuses = %v, %v; want error then not", deliveries[0].Status(), deliveries[1].Status())
	}

	// Without a trace in the writer's context nothing is recorded on the event.
	untraced := e.enqueue(true)
	if err := e.conn.Get(&stored, `SELECT traceparent FROM outbox_events WHERE id = $1`, untraced); err != nil || stored != nil {
		t.Fatalf("traceparent of an untraced event = %v (%v), want NULL", stored, err)
	}
}
