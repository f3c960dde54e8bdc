package realtime

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/realtime/protocol"
)

// Spans of the gateway (when Deps.Tracing is set; without it none is
// started and nothing here costs anything):
//
//   - "realtime <Type>", a server span per client request: the handshake
//     (Hello), RefreshToken and every service request (PartyCreate,
//     QueueJoin, ...), with the type, the player and the outcome ("ok" or
//     the error code's name); INTERNAL and UNAVAILABLE are errors, as 5xx
//     are over HTTP. Heartbeats (Ping), Ack and Goodbye are not traced.
//     What a request writes to the outbox (a party invite's notification)
//     records the span, so the request's trace goes on into the worker.
//   - "realtime deliver <kind>", a consumer span per notification pushed to
//     a player connected to this node, a child of the span that published
//     it (notify.Message.Traceparent: the worker's delivery, itself in the
//     trace of the request that sent the notification). Notifications
//     published without a trace are not traced here.
const (
	attrType        = attribute.Key("muster.realtime.type")
	attrOutcome     = attribute.Key("muster.realtime.outcome")
	attrRequestID   = attribute.Key("muster.realtime.request_id")
	attrResumed     = attribute.Key("muster.realtime.resumed")
	attrPlayer      = attribute.Key("muster.player_id")
	attrKind        = attribute.Key("muster.notification.kind")
	attrSeq         = attribute.Key("muster.notification.seq")
	attrConnections = attribute.Key("muster.realtime.connections")
)

// outcomeOK is the outcome of a request answered without an error.
const outcomeOK protocol.Code = 0

// startRequest starts the span of a client request of type typ; it returns
// ctx and a nil span when tracing is off.
func (g *Gateway) startRequest(ctx context.Context, typ string, requestID uint32, playerID string) (context.Context, trace.Span) {
	if g.tracer == nil {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{attrType.String(typ), attrRequestID.Int64(int64(requestID))}
	if playerID != "" {
		attrs = append(attrs, attrPlayer.String(playerID))
	}
	return g.tracer.Start(ctx, "realtime "+typ, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
}

// endRequest records a request's outcome (outcomeOK or the code it was
// answered with) and ends its span; a nil span is tracing off.
func endRequest(span trace.Span, outcome protocol.Code, attrs ...attribute.KeyValue) {
	if span == nil {
		return
	}
	span.SetAttributes(append(attrs, attrOutcome.String(outcomeName(outcome)))...)
	if outcome == protocol.CodeInternal || outcome == protocol.CodeUnavailable {
		span.SetStatus(codes.Error, outcomeName(outcome))
	}
	span.End()
}

func outcomeName(c protocol.Code) string {
	if c == outcomeOK {
		return "ok"
	}
	return c.String()
}

// startDelivery starts the span of a published notification's delivery to
// this node's connections, continuing the publisher's trace; nil when
// tracing is off or the message carries no trace.
func (g *Gateway) startDelivery(m notify.Message) trace.Span {
	if g.tracer == nil || m.Traceparent == "" {
		return nil
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": m.Traceparent})
	_, span := g.tracer.Start(ctx, "realtime deliver "+m.Kind, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attrKind.String(m.Kind), attrSeq.String(strconv.FormatUint(m.Seq, 10))))
	return span
}

// endDelivery records the player and how many of their connections the
// notification was queued on, and ends the span.
func endDelivery(span trace.Span, conns []*conn) {
	if span == nil {
		return
	}
	span.SetAttributes(attrConnections.Int(len(conns)))
	if len(conns) > 0 {
		span.SetAttributes(attrPlayer.String(conns[0].claimsNow().PlayerID))
	}
	span.End()
}
