package web

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/trace"
)

// Config holds the limits every fiber app of a process shares.
type Config struct {
	BodyLimit    int
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// ProxyHeader names the header that carries the client address when
	// muster runs behind a load balancer (X-Forwarded-For); it is believed
	// only from TrustedProxies (addresses or CIDR ranges).
	ProxyHeader    string
	TrustedProxies []string
	// ErrorPage, when set, answers errors instead of the JSON error shape
	// (the console renders HTML pages).
	ErrorPage func(c *fiber.Ctx, e *Error) error
	// Tracing, when set, gets a server span per request (tracing.go). Nil:
	// no tracing and no cost.
	Tracing trace.TracerProvider
}

// New returns a fiber app with Muster's middleware chain in place: request
// id, logging and metrics, panic recovery, and the error shape for every
// error including fiber's own (404, 405, 413), and a server span per request
// when cfg.Tracing is set.
func New(cfg Config, log *slog.Logger, m *Metrics) *fiber.App {
	if len(cfg.TrustedProxies) == 0 {
		// Without trusted proxies the header would be believed from anyone,
		// and per-address rate limits could be dodged: use the socket's
		// address.
		cfg.ProxyHeader = ""
	}
	app := fiber.New(fiber.Config{
		AppName:                 "muster",
		BodyLimit:               cfg.BodyLimit,
		ReadTimeout:             cfg.ReadTimeout,
		WriteTimeout:            cfg.WriteTimeout,
		IdleTimeout:             cfg.IdleTimeout,
		ErrorHandler:            errorHandler(log, cfg.ErrorPage),
		DisableStartupMessage:   true,
		StrictRouting:           false,
		ReadBufferSize:          8192,
		ProxyHeader:             cfg.ProxyHeader,
		EnableTrustedProxyCheck: len(cfg.TrustedProxies) > 0,
		TrustedProxies:          cfg.TrustedProxies,
		EnableIPValidation:      true,
	})
	app.Use(requestID(), observe(log, m, newTracing(cfg.Tracing)), recoverPanic(log))
	return app
}
