package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/trace"
)

// HeaderRequestID carries the request id in and out.
const HeaderRequestID = "X-Request-Id"

const localRequestID = "muster.req_id"

// RequestID returns the id of the request c is serving.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// requestID accepts a client's X-Request-Id when it is short and plain, or
// makes one, and echoes it on the response.
func requestID() fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Get(HeaderRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Locals(localRequestID, id)
		c.Set(HeaderRequestID, id)
		return c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recoverPanic turns a panic in a handler into a 500 in the error shape and
// logs the stack once.
func recoverPanic(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(c.UserContext(), "panic serving request",
					"req_id", RequestID(c), "method", c.Method(), "path", c.Path(),
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = NewError(http.StatusInternalServerError, CodeInternal, "internal error")
			}
		}()
		return c.Next()
	}
}

// observe logs each request, records it in the metrics and, when tr is not
// nil, traces it. Probes and metrics scrapes are logged at debug level
// only, and never traced.
func observe(log *slog.Logger, m *Metrics, tr *tracing) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		var span trace.Span
		if tr != nil && !isOps(c.Path()) {
			span = tr.start(c)
		}
		err := c.Next()
		if err != nil {
			// Write the error response now so the status below is the real one.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(http.StatusInternalServerError)
			}
		}
		status := c.Response().StatusCode()
		elapsed := time.Since(start)
		route := routeOf(c)
		if m != nil {
			m.observe(route, c.Method(), strconv.Itoa(status), elapsed)
		}
		level := slog.LevelInfo
		switch {
		case status == http.StatusServiceUnavailable:
			// Turned away on purpose (auth_busy, a busy party, Steam
			// not answering): the metrics and alerts count them.
			level = slog.LevelWarn
		case status >= 500:
			level = slog.LevelError
		case isOps(route):
			level = slog.LevelDebug
		}
		if span == nil {
			log.Log(c.UserContext(), level, "http request",
				"req_id", RequestID(c), "method", c.Method(), "route", route, "status", status,
				"duration_ms", float64(elapsed.Microseconds())/1000, "bytes_in", len(c.Request().Body()))
			return nil
		}
		tr.end(span, c.Method(), route, status)
		attrs := []any{"req_id", RequestID(c), "method", c.Method(), "route", route, "status", status,
			"duration_ms", float64(elapsed.Microseconds()) / 1000, "bytes_in", len(c.Request().Body())}
		if sc := span.SpanContext(); sc.IsSampled() {
			attrs = append(attrs, "trace_id", sc.TraceID().String())
		}
		log.Log(c.UserContext(), level, "http request", attrs...)
		return nil
	}
}

// isOps reports whether a route is one of the ops listener's.
func isOps(route string) bool {
	return route == "/healthz" || route == "/readyz" || route == "/metrics"
}

// routeOf names the matched route pattern, not the raw path, so that metrics
// keep a bounded set of label values.
func routeOf(c *fiber.Ctx) string {
	r := c.Route()
	if r == nil || r.Path == "/" && c.Path() != "/" || r.Method == "USE" {
		return "unmatched"
	}
	return r.Path
}
