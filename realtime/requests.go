package realtime

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// A handler answers one client request on a live connection: with the
// message to send back (nil sends Ok) or an error, which becomes a
// non-fatal Error frame (requestProblem says which code).
type handler func(ctx context.Context, c *conn, m proto.Message) (proto.Message, error)

// handlers are the requests a client may send after Welcome, beyond the
// session's own (Ping, RefreshToken, Ack, Goodbye). Each service's file
// registers its requests here.
var handlers = map[protocol.Type]handler{}

// answer runs the handler of a request and sends its answer, in the
// request's span when tracing is on.
func (c *conn) answer(ctx context.Context, h handler, requestID uint32, m proto.Message) {
	var span trace.Span
	if c.g.tracer != nil {
		ctx, span = c.g.startRequest(ctx, string(m.ProtoReflect().Descriptor().Name()), requestID, c.claimsNow().PlayerID)
	}
	endRequest(span, c.respond(ctx, h, requestID, m))
}

// respond runs the handler, sends its answer and returns the code it was
// answered with (outcomeOK for an answer that is not an Error).
func (c *conn) respond(ctx context.Context, h handler, requestID uint32, m proto.Message) protocol.Code {
	if wait := c.limit(time.Now()); wait > 0 {
		c.send(requestID, &pb.Error{Code: uint32(protocol.CodeRateLimited), Message: "too many requests on this connection",
			RetryAfterMs: uint32((wait + time.Millisecond - 1) / time.Millisecond)})
		return protocol.CodeRateLimited
	}
	ctx, cancel := context.WithTimeout(ctx, c.g.cfg.WriteTimeout)
	defer cancel()
	out, err := h(ctx, c, m)
	if err != nil {
		code, msg := c.g.requestProblem(err)
		e := &pb.Error{Code: uint32(code), Message: msg}
		var rl interface{ RetryAfterMillis() uint32 }
		if errors.As(err, &rl) {
			e.RetryAfterMs = rl.RetryAfterMillis()
		}
		c.send(requestID, e)
		return code
	}
	if out == nil {
		out = &pb.Ok{}
	}
	c.send(requestID, out)
	if e, ok := out.(*pb.Error); ok {
		return protocol.Code(e.Code)
	}
	return outcomeOK
}

// limit spends one of the connection's request tokens (a bucket of
// RequestBurst refilled at RequestRate per second) and returns 0, or how
// long until one is free. It runs only on the connection's reader.
func (c *conn) limit(now time.Time) time.Duration {
	rate, burst := c.g.cfg.RequestRate, float64(c.g.cfg.RequestBurst)
	if c.reqAt.IsZero() {
		c.reqTokens = burst
	} else {
		c.reqTokens = min(burst, c.reqTokens+now.Sub(c.reqAt).Seconds()*rate)
	}
	c.reqAt = now
	if c.reqTokens < 1 {
		return time.Duration((1 - c.reqTokens) / rate * float64(time.Second))
	}
	c.reqTokens--
	return 0
}

// errUnavailable answers a request for a service this node does not run.
var errUnavailable = errors.New("this service is not available on this node")

// domainErrors maps the errors of the domain services the gateway calls to
// protocol codes; the error's text is the message (domain errors are
// written to be shown). Anything else is INTERNAL and logged.
var domainErrors = []errorCode{
	{errUnavailable, protocol.CodeUnavailable},
}

type errorCode struct {
	err  error
	code protocol.Code
}

// requestProblem is the code and message of a failed request.
func (g *Gateway) requestProblem(err error) (protocol.Code, string) {
	for _, d := range domainErrors {
		if errors.Is(err, d.err) {
			return d.code, err.Error()
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return protocol.CodeUnavailable, "the server is busy: try again"
	}
	g.log.Error("realtime: request failed", "err", err)
	return protocol.CodeInternal, "the server failed: try again"
}
