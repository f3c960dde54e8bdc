package web

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one dependency of the process is usable.
type Check func(ctx context.Context) error

// Health answers the ops probes: alive while the process runs, ready when
// every registered check passes and the process is not draining.
type Health struct {
	mu       sync.Mutex
	names    []string
	checks   []Check
	draining atomic.Bool
	timeout  time.Duration
}

// NewHealth returns a Health whose checks must each answer within timeout.
func NewHealth(timeout time.Duration) *Health {
	return &Health{timeout: timeout}
}

// AddCheck registers a readiness check under a name shown on /readyz.
func (h *Health) AddCheck(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.names = append(h.names, name)
	h.checks = append(h.checks, c)
}

// Drain marks the process as going away: /readyz answers 503 from now on.
func (h *Health) Drain() { h.draining.Store(true) }

// Ready runs every check and returns each failure by name.
func (h *Health) Ready(ctx context.Context) map[string]string {
	h.mu.Lock()
	names, checks := h.names, h.checks
	h.mu.Unlock()
	failed := map[string]string{}
	if h.draining.Load() {
		failed["process"] = "draining"
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := check(ctx); err != nil {
				mu.Lock()
				failed[names[i]] = err.Error()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

// MountOps adds /healthz, /readyz and /metrics to app.
func MountOps(app *fiber.App, h *Health, gatherer prometheus.Gatherer) {
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		failed := h.Ready(c.UserContext())
		if len(failed) > 0 {
			return c.Status(http.StatusServiceUnavailable).JSON(fiber.Map{"status": "not ready", "failed": failed})
		}
		return c.JSON(fiber.Map{"status": "ready"})
	})
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
}

// CloseWhenDraining asks clients to close their keep-alive connections once
// the process is draining, so that none is left idle to be cut when the
// listeners close.
func (h *Health) CloseWhenDraining() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if h.draining.Load() {
			c.Context().SetConnectionClose()
		}
		return c.Next()
	}
}
