package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestTracingIsOffWithoutEndpoint(t *testing.T) {
	cfg, _, err := parseConfig("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TraceSampleRatio != 0.1 {
		t.Fatalf("default trace-sample-ratio = %v, want 0.1", cfg.TraceSampleRatio)
	}
	p := newPlatform(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err := initTracing(p); err != nil || p.tracing != nil || p.tracerProvider() != nil || len(p.closers) != 0 || p.webConfig().Tracing != nil {
		t.Fatalf("tracing without an endpoint: err %v, provider %v, %d closers", err, p.tracing, len(p.closers))
	}

	env := map[string]string{"MUSTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "MUSTER_TRACE_SAMPLE_RATIO": "0.5"}
	cfg, _, err = parseConfig("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	p = newPlatform(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err := initTracing(p); err != nil || p.tracing == nil || p.webConfig().Tracing == nil || len(p.closers) != 1 {
		t.Fatalf("tracing with an endpoint: err %v, provider %v, %d closers", err, p.tracing, len(p.closers))
	}
	p.close() // nothing was traced: shutting down sends nothing

	for _, bad := range []map[string]string{{"MUSTER_TRACE_SAMPLE_RATIO": "1.5"}, {"MUSTER_OTLP_ENDPOINT": "otel-collector:4318"}} {
		if _, _, err := parseConfig("serve", nil, func(k string) string { return bad[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), "otlp-endpoint") && !strings.Contains(err.Error(), "trace-sample-ratio") {
			t.Errorf("%v: err = %v, want it refused", bad, err)
		}
	}
}
