package main

import (
	"context"
	"fmt"
	"net/url"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// initTracing builds the tracer provider when otlp-endpoint is set: spans go
// in batches to the OTLP/HTTP collector, new traces are sampled at
// trace-sample-ratio and a traced caller's decision is kept. The provider
// and the W3C tracecontext propagator are registered globally, and the
// provider is flushed and shut down by p.close. Without an endpoint it does
// nothing: p.tracing stays nil and nothing is traced.
func initTracing(p *platform) error {
	if p.cfg.OTLPEndpoint == "" {
		return nil
	}
	endpoint, err := url.Parse(p.cfg.OTLPEndpoint)
	if err != nil {
		return fmt.Errorf("otlp-endpoint: %w", err)
	}
	// The exporter posts to the URL's path as given; a bare collector
	// address means its standard traces path.
	if endpoint.Path == "" || endpoint.Path == "/" {
		endpoint.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(endpoint.String()))
	if err != nil {
		return fmt.Errorf("otlp exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", "muster"),
		attribute.String("service.version", version),
		attribute.String("muster.targets", p.cfg.Target),
	))
	if err != nil {
		return fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(p.cfg.TraceSampleRatio))),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	p.tracing = tp
	p.closers = append(p.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownTimeout)
		defer cancel()
		return tp.Shutdown(ctx)
	})
	p.log.Info("tracing on", "otlp_endpoint", endpoint.Redacted(), "sample_ratio", p.cfg.TraceSampleRatio)
	return nil
}
