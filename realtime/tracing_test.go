package realtime_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// tracedEnv is a gateway whose spans go to an in-memory recorder.
func tracedEnv(t *testing.T) (*env, *tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	e := newEnv(t, realtime.Config{}, func(_ *env, d *realtime.Deps) { d.Tracing = tp })
	return e, rec, tp
}

// spansNamed waits until n ended spans named name were recorded and
// returns them.
func spansNamed(t *testing.T, rec *tracetest.SpanRecorder, name string, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	var out []sdktrace.ReadOnlySpan
	waitFor(t, func() bool {
		out = out[:0]
		for _, s := range rec.Ended() {
			if s.Name() == name {
				out = append(out, s)
			}
		}
		return len(out) >= n
	})
	if len(out) != n {
		t.Fatalf("%d spans named %q, want %d", len(out), name, n)
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// checkRequestSpan checks a request span's kind, type, player and outcome.
func checkRequestSpan(t *testing.T, s sdktrace.ReadOnlySpan, typ, playerID, outcome string) {
	t.Helper()
	a := attrs(s)
	if s.SpanKind() != trace.SpanKindServer || a["muster.realtime.type"].AsString() != typ ||
		a["muster.player_id"].AsString() != playerID || a["muster.realtime.outcome"].AsString() != outcome {
		t.Errorf("span %q: kind %v, attributes %v; want a server span of %s for %q, outcome %s", s.Name(), s.SpanKind(), a, typ, playerID, outcome)
	}
	if s.Status().Code == codes.Error {
		t.Errorf("span %q is an error (%s); only INTERNAL and UNAVAILABLE are", s.Name(), s.Status().Description)
	}
}

// Every client request is a server span with its type, player and
// outcome; heartbeats are not traced; what a request writes to the outbox
// records the request's span.
func TestRealtimeRequestsAreTraced(t *testing.T) {
	e, rec, _ := tracedEnv(t)
	a, b := e.player(), e.player()
	e.befriend(a, b)
	ca := e.dial()
	if w := ca.hello(a, "", 0); w.Resumed {
		t.Fatal("a new session resumed")
	}
	ca.call(&pb.Ping{Nonce: 1})
	if _, ok := ca.call(&pb.PartyCreate{MaxSize: 4}).(*pb.PartyState); !ok {
		t.Fatal("party not created")
	}
	ca.callErr(&pb.PartyCreate{}, protocol.CodeConflict)
	if _, ok := ca.call(&pb.PartyInvite{PlayerId: b.public}).(*pb.Ok); !ok {
		t.Fatal("invite refused")
	}
	if e, ok := ca.call(&pb.RefreshToken{AccessToken: "not a token"}).(*pb.Error); !ok || protocol.Code(e.Code) != protocol.CodeUnauthenticated {
		t.Fatalf("a bad token refreshed: %v", e)
	}
	refused := e.dial()
	refused.send(&pb.Hello{Versions: []uint32{1}, AccessToken: "not a token"})
	refused.expectError(protocol.CodeUnauthenticated, true)

	hellos := spansNamed(t, rec, "realtime Hello", 2)
	byOutcome := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range hellos {
		byOutcome[attrs(s)["muster.realtime.outcome"].AsString()] = s
	}
	checkRequestSpan(t, byOutcome["ok"], "Hello", a.public, "ok")
	if r, ok := attrs(byOutcome["ok"])["muster.realtime.resumed"]; !ok || r.AsBool() {
		t.Errorf("the handshake's span says resumed %v, want false", r)
	}
	checkRequestSpan(t, byOutcome["UNAUTHENTICATED"], "Hello", "", "UNAUTHENTICATED")

	creates := spansNamed(t, rec, "realtime PartyCreate", 2)
	checkRequestSpan(t, creates[0], "PartyCreate", a.public, "ok")
	checkRequestSpan(t, creates[1], "PartyCreate", a.public, "CONFLICT")
	checkRequestSpan(t, spansNamed(t, rec, "realtime RefreshToken", 1)[0], "RefreshToken", a.public, "UNAUTHENTICATED")
	invite := spansNamed(t, rec, "realtime PartyInvite", 1)[0]
	checkRequestSpan(t, invite, "PartyInvite", a.public, "ok")
	for _, s := range rec.Ended() {
		if s.Name() == "realtime Ping" || s.Name() == "realtime Pong" {
			t.Errorf("heartbeats are traced: %q", s.Name())
		}
	}

	// The invitation's notification was written in the invite's span.
	var tp *string
	const q = `SELECT traceparent FROM outbox_events WHERE topic = $1 AND (payload->>'account_id')::bigint = $2 ORDER BY created_at DESC LIMIT 1`
	if err := e.db.Get(&tp, q, notify.TopicSend, b.id); err != nil {
		t.Fatal(err)
	}
	sc := invite.SpanContext()
	if want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"; tp == nil || *tp != want {
		t.Fatalf("the invite's notification event records trace %v, want the request's %s", tp, want)
	}
}

// A notification keeps the trace of the request that sent it all the way
// to its delivery: the request's span, the worker's delivery that stores
// it, the delivery that publishes it, and the gateway's delivery span, each
// the parent of the next. A notification published without a trace gets
// no delivery span, and arrives all the same.
func TestNotificationDeliveryContinuesTheSendersTrace(t *testing.T) {
	e, rec, tp := tracedEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.gw.Follow(ctx, e.ps) }()
	store := notify.NewStore(e.db, notify.Config{})
	relay := outbox.NewRelay(e.db, "", nil, nil, outbox.Config{Tracing: tp})
	for _, c := range []outbox.Consumer{store.Consumer(), store.Publisher(e.ps)} {
		if err := relay.Register(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	deliverAll := func() {
		waitFor(t, func() bool {
			if _, err := relay.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
			var pending int
			_ = e.db.Get(&pending, `SELECT count(*) FROM outbox_deliveries WHERE state = 'pending' AND consumer = ANY('{notifications,notifications.publish}')`)
			return pending == 0
		})
	}
	deliverAll() // what earlier tests left, so that the batches below are this test's alone
	p := e.player()
	c := e.dial()
	c.hello(p, "", 0)
	time.Sleep(50 * time.Millisecond) // Follow has subscribed

	reqCtx, request := tp.Tracer("test").Start(context.Background(), "POST /v1/me/friends/requests", trace.WithSpanKind(trace.SpanKindServer))
	tx := e.db.MustBegin()
	if err := notify.Send(reqCtx, tx, p.id, "friend.request", map[string]string{"from": "test"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	request.End()
	deliverAll()
	if n := c.expect(&pb.Notification{}).(*pb.Notification); n.Seq != 1 || n.Kind != "friend.request" {
		t.Fatalf("notification %v", n)
	}
	// Published without a trace, as by a publisher with tracing off.
	untraced := e.shelf.add(p.id, "party.invite")
	msg, err := notify.EncodeMessage(p.id, notify.Notification{Seq: untraced.Seq, ID: untraced.ID, Kind: untraced.Kind,
		Payload: untraced.Payload, CreatedAt: untraced.CreatedAt})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ps.Publish(ctx, notify.ChannelFor(p.id), msg); err != nil {
		t.Fatal(err)
	}
	if n := c.expect(&pb.Notification{}).(*pb.Notification); n.Seq != 2 || n.Kind != "party.invite" {
		t.Fatalf("untraced notification %v", n)
	}

	root := request.SpanContext()
	inTrace := func(name string) sdktrace.ReadOnlySpan {
		t.Helper()
		var found []sdktrace.ReadOnlySpan
		waitFor(t, func() bool {
			found = found[:0]
			for _, s := range rec.Ended() {
				if s.Name() == name && s.SpanContext().TraceID() == root.TraceID() {
					found = append(found, s)
				}
			}
			return len(found) > 0
		})
		if len(found) != 1 {
			t.Fatalf("%d spans %q in the request's trace, want 1", len(found), name)
		}
		return found[0]
	}
	stored := inTrace("outbox deliver " + notify.TopicSend)
	published := inTrace("outbox deliver " + notify.TopicStored)
	deliver := inTrace("realtime deliver friend.request")
	for _, link := range []struct {
		child  sdktrace.ReadOnlySpan
		parent trace.SpanContext
	}{{stored, root}, {published, stored.SpanContext()}, {deliver, published.SpanContext()}} {
		if link.child.Parent().SpanID() != link.parent.SpanID() {
			t.Errorf("span %q: parent %s, want %s", link.child.Name(), link.child.Parent().SpanID(), link.parent.SpanID())
		}
	}
	a := attrs(deliver)
	if deliver.SpanKind() != trace.SpanKindConsumer || a["muster.notification.kind"].AsString() != "friend.request" ||
		a["muster.notification.seq"].AsString() != strconv.Itoa(1) || a["muster.realtime.connections"].AsInt64() != 1 ||
		a["muster.player_id"].AsString() != p.public {
		t.Errorf("delivery span: kind %v, attributes %v", deliver.SpanKind(), a)
	}
	for _, s := range rec.Ended() {
		if s.Name() == "realtime deliver party.invite" {
			t.Errorf("a notification published without a trace got a delivery span (trace %s)", s.SpanContext().TraceID())
		}
	}
}
