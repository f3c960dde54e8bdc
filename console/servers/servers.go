// Package servers is the console's game server screen: the dedicated
// servers (or fleets sharing a credential) that may report match results,
// the creation of a server's credential, shown once and never stored or
// logged in clear, and its revocation. Each change is audited, with its
// reason, in the change's own transaction.
package servers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/web"
)

type handler struct {
	f       *frame.Frame
	servers *match.Servers
}

// Mount adds /servers.
func Mount(rt *frame.Router, f *frame.Frame, servers *match.Servers) {
	h := &handler{f: f, servers: servers}
	rt.Get("/servers", rbac.PermServersManage, h.list)
	rt.Post("/servers", rbac.PermServersManage, h.create)
	rt.Post("/servers/:id/revoke", rbac.PermServersManage, h.revoke)
}

// Page is the server list with the creation form and, right after a
// creation, the new credential.
type Page struct {
	Servers    []match.Server
	Form       CreateForm
	Created    *match.Server
	Credential string // shown once, on the page that created it
	Revoke     RevokeForm
}

// CreateForm is the creation form as sent, with its errors.
type CreateForm struct {
	Name, Reason, NameErr, ReasonErr string
}

// RevokeForm is a revocation form as sent, with its errors.
type RevokeForm struct {
	ID                         int64
	Reason, ReasonErr, Problem string
}

const reasonRequired = "A reason of 3 to 500 characters is required: the audit log keeps it."

func (h *handler) list(c *fiber.Ctx) error { return h.render(c, http.StatusOK, Page{}) }

func (h *handler) render(c *fiber.Ctx, status int, p Page) error {
	var err error
	if p.Servers, err = h.servers.List(c.UserContext()); err != nil {
		return err
	}
	return frame.Render(c, status, page(h.f.Page(c, "Game servers", "servers"), p))
}

func reasonOf(c *fiber.Ctx) string {
	return strings.TrimSpace(web.CleanText(c.FormValue("reason"), 1000))
}

func badReason(r string) bool { return len(r) < 3 || len(r) > 500 }

// create registers a server and shows its credential on the answer alone:
// it is not stored in clear, logged, audited or put in a redirect.
func (h *handler) create(c *fiber.Ctx) error {
	form := CreateForm{Name: strings.TrimSpace(strings.ToLower(web.CleanText(c.FormValue("name"), 100))), Reason: reasonOf(c)}
	if form.Name == "" {
		form.NameErr = "Name the server or fleet: 1 to 64 lower-case letters, digits, '_', '.' or '-'."
	}
	if badReason(form.Reason) {
		form.ReasonErr = reasonRequired
	}
	if form.NameErr != "" || form.ReasonErr != "" {
		return h.render(c, http.StatusBadRequest, Page{Form: form})
	}
	me, _ := frame.StaffOf(c)
	sv, credential, err := h.servers.Create(c.UserContext(), form.Name, me.Email, func(tx *sqlx.Tx, sv match.Server) error {
		return frame.Audit(c, tx, audit.Entry{Action: "server.create", TargetType: "game_server", TargetID: strconv.FormatInt(sv.ID, 10),
			Reason: form.Reason, After: map[string]any{"id": sv.ID, "name": sv.Name, "created_by": sv.CreatedBy}})
	})
	if errors.Is(err, match.ErrInvalidServer) {
		form.NameErr = frame.Sentence(strings.TrimPrefix(err.Error(), match.ErrInvalidServer.Error()+": "))
		return h.render(c, http.StatusBadRequest, Page{Form: form})
	}
	if err != nil {
		return err
	}
	return h.render(c, http.StatusCreated, Page{Created: &sv, Credential: credential})
}

func (h *handler) revoke(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return fiber.NewError(http.StatusNotFound, "no game server "+c.Params("id"))
	}
	form := RevokeForm{ID: id, Reason: reasonOf(c)}
	if badReason(form.Reason) {
		form.ReasonErr = reasonRequired
		return h.render(c, http.StatusBadRequest, Page{Revoke: form})
	}
	sv, err := h.servers.Revoke(c.UserContext(), id, func(tx *sqlx.Tx, before, after match.Server) error {
		return frame.Audit(c, tx, audit.Entry{Action: "server.revoke", TargetType: "game_server", TargetID: strconv.FormatInt(id, 10),
			Reason: form.Reason, Before: map[string]any{"name": before.Name, "revoked_at": before.RevokedAt},
			After: map[string]any{"name": after.Name, "revoked_at": after.RevokedAt}})
	})
	switch {
	case err == nil:
		return h.f.SetFlash(c, "ok", "Revoked the credential of "+sv.Name+": its servers can no longer open or report matches (within a few seconds on every node).", "/servers")
	case errors.Is(err, match.ErrServerRevoked):
		return h.f.SetFlash(c, "error", "That server's credential was revoked already; nothing changed.", "/servers")
	case errors.Is(err, match.ErrInvalidServer):
		return fiber.NewError(http.StatusNotFound, "no game server "+c.Params("id"))
	}
	return err
}

func when(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }
