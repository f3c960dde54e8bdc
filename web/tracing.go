package web

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracing starts a server span per request, continuing a W3C traceparent
// the client sent. It is nil when no tracer provider is configured, and the
// request path then does no tracing work at all.
type tracing struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

func newTracing(tp trace.TracerProvider) *tracing {
	if tp == nil {
		return nil
	}
	return &tracing{tracer: tp.Tracer("github.com/musterhq/muster/web"), prop: propagation.TraceContext{}}
}

// start opens the request's span and puts it in c.UserContext(), so that
// domain calls made with that context are its children. The route is not
// known yet: end names the span.
func (t *tracing) start(c *fiber.Ctx) trace.Span {
	ctx := t.prop.Extract(c.UserContext(), headerCarrier{c})
	ctx, span := t.tracer.Start(ctx, c.Method(), trace.WithSpanKind(trace.SpanKindServer))
	c.SetUserContext(ctx)
	return span
}

// end names the span after the route pattern (as the metrics label it, not
// the raw path), records the status and marks a 5xx as an error.
func (t *tracing) end(span trace.Span, method, route string, status int) {
	span.SetName(method + " " + route)
	span.SetAttributes(
		attribute.String("http.request.method", method),
		attribute.String("http.route", route),
		attribute.Int("http.response.status_code", status),
	)
	if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status)+" "+http.StatusText(status))
	}
	span.End()
}

// headerCarrier reads propagation headers from a fiber request. Values are
// copied: fiber's point into buffers it reuses, and a span keeps tracestate.
type headerCarrier struct{ c *fiber.Ctx }

func (h headerCarrier) Get(key string) string { return utils.CopyString(h.c.Get(key)) }
func (h headerCarrier) Set(string, string)    {}
func (h headerCarrier) Keys() []string        { return nil }
