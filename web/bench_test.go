package web_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/musterhq/muster/web"
)

// BenchmarkHealthzChain measures one GET /healthz through the full ops
// middleware chain (request id, logging, metrics, panic recovery) by calling
// the fiber app's fasthttp handler in-process: no listener, no network.
// Logs go as JSON to io.Discard at info level, as in production, so the
// /healthz debug log line is filtered but its arguments are still built.
func BenchmarkHealthzChain(b *testing.B) {
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := web.NewRegistry()
	app := web.New(web.Config{BodyLimit: 1 << 20, ReadTimeout: 10 * time.Second, WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second}, log, web.NewMetrics(reg))
	web.MountOps(app, web.NewHealth(time.Second), reg)
	handler := app.Handler()

	ctx := &fasthttp.RequestCtx{}
	ctx.Request.SetRequestURI("/healthz")
	ctx.Request.Header.SetMethod("GET")
	handler(ctx)
	if code := ctx.Response.StatusCode(); code != 200 {
		b.Fatalf("GET /healthz = %d %s, want 200", code, ctx.Response.Body())
	}
	if len(ctx.Response.Header.Peek(web.HeaderRequestID)) == 0 {
		b.Fatalf("GET /healthz has no %s header: the middleware chain did not run", web.HeaderRequestID)
	}

	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		handler(ctx)
	}
}
