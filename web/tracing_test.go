package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/musterhq/muster/web"
)

// tracedApp is an app whose handlers start a child span from
// c.UserContext(), as domain code called with that context would.
func tracedApp(t *testing.T, tp trace.TracerProvider) (*fiber.App, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	app := web.New(web.Config{BodyLimit: 1024, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, Tracing: tp}, log, nil)
	child := func(c *fiber.Ctx) {
		if tp != nil {
			_, span := tp.Tracer("domain").Start(c.UserContext(), "domain call")
			span.End()
		}
	}
	app.Get("/v1/players/:id", func(c *fiber.Ctx) error { child(c); return c.SendString(c.Params("id")) })
	app.Get("/v1/broken", func(c *fiber.Ctx) error { child(c); return fiber.NewError(http.StatusServiceUnavailable, "down") })
	return app, logs
}

func TestRequestIsTracedAsServerSpan(t *testing.T) {
	const parentTrace, parentSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tests := []struct {
		name, path, traceparent string
		route                   string
		status                  int
		wantErr, wantParent     bool
	}{
		{name: "new trace", path: "/v1/players/42", route: "/v1/players/:id", status: 200},
		{name: "continues traceparent", path: "/v1/players/42", traceparent: "00-" + parentTrace + "-" + parentSpan + "-01",
			route: "/v1/players/:id", status: 200, wantParent: true},
		{name: "5xx is an error", path: "/v1/broken", route: "/v1/broken", status: 503, wantErr: true},
		{name: "unmatched path", path: "/v1/nope/123", route: "unmatched", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			app, logs := tracedApp(t, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.traceparent != "" {
				req.Header.Set("traceparent", tt.traceparent)
			}
			resp, err := app.Test(req, 5000)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}

			var server, child sdktrace.ReadOnlySpan
			for _, s := range rec.Ended() {
				switch s.SpanKind() {
				case trace.SpanKindServer:
					server = s
				default:
					child = s
				}
			}
			if server == nil {
				t.Fatalf("no server span among %d spans", len(rec.Ended()))
			}
			if want := "GET " + tt.route; server.Name() != want {
				t.Errorf("span name = %q, want %q", server.Name(), want)
			}
			attrs := map[attribute.Key]string{}
			for _, a := range server.Attributes() {
				attrs[a.Key] = a.Value.String()
			}
			if attrs["http.request.method"] != "GET" || attrs["http.route"] != tt.route || attrs["http.response.status_code"] != strconv.Itoa(tt.status) {
				t.Errorf("attributes = %v", attrs)
			}
			if got := server.Status().Code == codes.Error; got != tt.wantErr {
				t.Errorf("error status = %v, want %v", server.Status(), tt.wantErr)
			}
			if tt.wantParent {
				if server.SpanContext().TraceID().String() != parentTrace || server.Parent().SpanID().String() != parentSpan || !server.Parent().IsRemote() {
					t.Errorf("span in trace %s under %s, want trace %s under remote %s",
						server.SpanContext().TraceID(), server.Parent().SpanID(), parentTrace, parentSpan)
				}
			} else if server.Parent().IsValid() {
				t.Errorf("span has parent %s, want a new trace", server.Parent().SpanID())
			}
			if tt.status != 404 {
				if child == nil || child.Parent().SpanID() != server.SpanContext().SpanID() {
					t.Errorf("the handler's span is not a child of the server span")
				}
			}

			var line struct {
				TraceID string `json:"trace_id"`
			}
			for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				if strings.Contains(l, `"msg":"http request"`) {
					_ = json.Unmarshal([]byte(l), &line)
				}
			}
			if line.TraceID != server.SpanContext().TraceID().String() {
				t.Errorf("request log trace_id = %q, want %s", line.TraceID, server.SpanContext().TraceID())
			}
		})
	}
}

// An unsampled trace is propagated but leaves no trace id in the log.
func TestUnsampledRequestLogsNoTraceID(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	app, logs := tracedApp(t, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sdktrace.NeverSample())))
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/v1/players/1", nil), 5000)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans recorded, want none", n)
	}
	if strings.Contains(logs.String(), "trace_id") || !strings.Contains(logs.String(), `"msg":"http request"`) {
		t.Fatalf("log = %s, want a request line without trace_id", logs.String())
	}
}

// Without a tracer provider nothing is traced, not even by a provider
// registered globally, and the handler's context carries no span, even with
// an incoming traceparent.
func TestNoTracerProviderTracesNothing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	app, logs := tracedApp(t, nil)
	var seen trace.SpanContext
	app.Get("/v1/ctx", func(c *fiber.Ctx) error {
		seen = trace.SpanContextFromContext(c.UserContext())
		return nil
	})
	req := httptest.NewRequest(http.MethodGet, "/v1/ctx", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := app.Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if seen.IsValid() || len(rec.Ended()) != 0 || strings.Contains(logs.String(), "trace_id") {
		t.Fatalf("span context %v, %d spans, log %s; want nothing traced", seen, len(rec.Ended()), logs.String())
	}
}

// Probes and metrics scrapes are never traced, even with tracing on.
func TestOpsRoutesAreNotTraced(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	app, _ := tracedApp(t, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/v1/players/:id/healthz", func(c *fiber.Ctx) error { return c.SendString("player route") })
	for _, path := range []string{"/healthz", "/v1/players/7/healthz"} {
		resp, err := app.Test(httptest.NewRequest(http.MethodGet, path, nil), 5000)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := len(rec.Ended()); n != 1 || rec.Ended()[0].Name() != "GET /v1/players/:id/healthz" {
		t.Fatalf("%d spans; want only the player route's", n)
	}
}
