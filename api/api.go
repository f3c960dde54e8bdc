// Package api is Muster's player REST API: JSON over HTTP under /v1, one
// error shape, documented in openapi.yaml. Handlers decode and validate the
// request, call the domain, and map its errors; rules live in domain/.
package api

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/web"
)

// Verifier checks access tokens; every target verifies them locally.
type Verifier interface {
	Verify(ctx context.Context, token string) (session.Claims, error)
}

// Auth holds what the identity routes need.
type Auth struct {
	Service  *auth.Service
	Verifier Verifier
	JWKS     func() []byte
	Log      *slog.Logger
	// QueueKey signs the login queue tickets (QueueTicketKey); every auth
	// process needs the same. Nil: a random key, good for one process.
	QueueKey []byte
}

// MountAuth adds the identity routes to app.
func MountAuth(app fiber.Router, a Auth) {
	h := &authHandlers{svc: a.Service, log: a.Log, queue: newQueueTickets(a.QueueKey)}
	app.Get("/.well-known/jwks.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "public, max-age=60")
		c.Set(fiber.HeaderContentType, "application/jwk-set+json")
		return c.Send(a.JWKS())
	})

	v1 := app.Group("/v1")
	v1.Post("/auth/register", h.register)
	v1.Post("/auth/login", h.loginEmail)
	v1.Post("/auth/steam", h.loginSteam)
	v1.Post("/auth/refresh", h.refresh)
	v1.Post("/auth/logout", h.logout)
	v1.Post("/auth/password-reset", h.requestReset)
	v1.Post("/auth/password-reset/confirm", h.confirmReset)

	me := v1.Group("/me", RequirePlayer(a.Verifier))
	me.Get("", h.me)
	me.Delete("", h.deleteMe)
	me.Put("/display-name", h.changeDisplayName)
	me.Put("/password", h.changePassword)
	me.Get("/sessions", h.sessions)
	me.Delete("/sessions", h.revokeAllSessions)
	me.Delete("/sessions/:id", h.revokeSession)
	me.Get("/logins", h.logins)
	me.Post("/identities/steam", h.linkSteam)
	me.Post("/identities/email", h.linkEmail)
	me.Delete("/identities/:provider", h.unlink)
}

type authHandlers struct {
	svc   *auth.Service
	log   *slog.Logger
	queue queueTickets
}

// queuedClient is client(c) for a password call: with how long the caller
// has been in the login queue, from the ticket it brought, and since when
// it has been: when it was first turned away, or now for a first try.
func (h *authHandlers) queuedClient(c *fiber.Ctx) (auth.Client, time.Time) {
	cl := client(c)
	now := h.queue.now()
	cl.Queued = h.queue.queued(c.Get(QueueTicketHeader), cl.IP, now)
	return cl, now.Add(-cl.Queued)
}

// failQueued is fail for a password call: a caller turned away as busy is
// given a queue ticket that keeps its place in the queue, there since
// since (queuedClient's).
func (h *authHandlers) failQueued(c *fiber.Ctx, since time.Time, err error) error {
	if errors.Is(err, account.ErrBusy) {
		c.Set(QueueTicketHeader, h.queue.issue(since, c.IP()))
	}
	return fail(c, err)
}

// client describes the caller for rate limits and the login history.
func client(c *fiber.Ctx) auth.Client {
	return auth.Client{IP: c.IP(), UserAgent: web.CleanText(string(c.Request().Header.UserAgent()), 512)}
}
