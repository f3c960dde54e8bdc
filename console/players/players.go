// Package players is the support agent's player search and player page:
// account, identities, sessions and login history, inventory and wallets;
// bans, session revocation, and grants and removals of items and currency
// within the role's limits, each action audited.
package players

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/web"
)

type handler struct {
	f      *frame.Frame
	svc    *auth.Service
	eco    Economy
	reader *inventory.Reader
}

// Mount adds the player screens.
func Mount(rt *frame.Router, f *frame.Frame, svc *auth.Service, eco Economy) {
	h := &handler{f: f, svc: svc, eco: eco, reader: eco.Inventory.Reader()}
	rt.Get("/players", rbac.PermPlayersView, h.list)
	rt.Get("/players/:id", rbac.PermPlayersView, h.show)
	rt.Post("/players/:id/ban", rbac.PermPlayersBan, h.ban)
	rt.Post("/players/:id/unban", rbac.PermPlayersBan, h.unban)
	rt.Post("/players/:id/sessions/revoke", rbac.PermPlayersSession, h.revokeSessions)
	rt.Post("/players/:id/inventory/grant", rbac.PermEconomyGrant, h.grant)
	rt.Post("/players/:id/inventory/revoke", rbac.PermEconomyGrant, h.revoke)
	rt.Post("/players/:id/wallet/credit", rbac.PermEconomyGrant, h.credit)
	rt.Post("/players/:id/wallet/debit", rbac.PermEconomyGrant, h.debit)
	if eco.Progression != nil {
		rt.Post("/players/:id/progression/xp", rbac.PermProgressAdjust, h.grantXP)
		if eco.BattlePass != nil {
			rt.Post("/players/:id/progression/tiers", rbac.PermProgressAdjust, h.grantTiers)
		}
	}
}

func (h *handler) list(c *fiber.Ctx) error {
	pg := frame.PagingOf(c, "created", "name", "last_login")
	q := strings.TrimSpace(c.Query("q"))
	rows, total, err := h.svc.Search(c.UserContext(), account.Query{
		Text: q, Sort: account.SearchSort(pg.Sort), Desc: pg.Desc, Limit: pg.Size, Offset: pg.Offset(),
	})
	if err != nil {
		return err
	}
	pg.Total = total
	return frame.Render(c, http.StatusOK, list(h.f.Page(c, "Players", "players"), q, pg, rows))
}

func (h *handler) show(c *fiber.Ctx) error {
	return h.render(c, http.StatusOK, nil)
}

// render shows the player page; set, when not nil, puts the form that was
// sent, with its errors, in place of a fresh one.
func (h *handler) render(c *fiber.Ctx, status int, set func(*Forms)) error {
	a, ids, err := h.svc.Player(c.UserContext(), c.Params("id"))
	if errors.Is(err, account.ErrNotFound) {
		return fiber.NewError(http.StatusNotFound, "no player "+c.Params("id"))
	}
	if err != nil {
		return err
	}
	sessions, err := h.svc.Sessions(c.UserContext(), a.ID)
	if err != nil {
		return err
	}
	logins, err := h.svc.History(c.UserContext(), a.ID, 50)
	if err != nil {
		return err
	}
	forms := freshForms()
	if set != nil {
		set(&forms)
	}
	d := Detail{Account: a, Identities: ids, Sessions: sessions, Logins: logins, Forms: forms,
		CanBan: h.f.Allowed(c, rbac.PermPlayersBan), CanRevoke: h.f.Allowed(c, rbac.PermPlayersSession)}
	if h.f.Allowed(c, rbac.PermEconomyView) {
		me, _ := frame.StaffOf(c)
		if d.Economy, err = h.economy(c.UserContext(), a.ID, h.f.Allowed(c, rbac.PermEconomyGrant), me.Role); err != nil {
			return err
		}
	}
	if h.eco.Purchases != nil && h.f.Allowed(c, rbac.PermOrdersView) {
		if d.Purchases, err = h.eco.Purchases(c, a); err != nil {
			return err
		}
	}
	if h.eco.Progression != nil && h.f.Allowed(c, rbac.PermProgressView) {
		if d.Progression, err = h.progression(c.UserContext(), a.ID, h.f.Allowed(c, rbac.PermProgressAdjust)); err != nil {
			return err
		}
	}
	return frame.Render(c, status, detail(h.f.Page(c, a.DisplayName, "players"), d))
}

// durations are the ban lengths support can choose.
var durations = []struct{ value, label string }{
	{"1h", "1 hour"}, {"24h", "1 day"}, {"168h", "7 days"}, {"720h", "30 days"}, {"permanent", "Permanent"},
}

func (h *handler) ban(c *fiber.Ctx) error {
	a, _, err := h.svc.Player(c.UserContext(), c.Params("id"))
	if err != nil {
		return notFound(c, err)
	}
	form := BanForm{Duration: c.FormValue("duration"), Reason: strings.TrimSpace(web.CleanText(c.FormValue("reason"), 1000))}
	var until *time.Time
	switch d, err := time.ParseDuration(form.Duration); {
	case form.Duration == "permanent":
	case err != nil || d <= 0 || d > 10*365*24*time.Hour:
		form.DurationErr = "Choose a duration."
	default:
		t := time.Now().Add(d)
		until = &t
	}
	if form.Reason == "" {
		form.ReasonErr = "A reason is required: the player sees it, and the audit log keeps it."
	}
	if form.DurationErr != "" || form.ReasonErr != "" {
		return h.render(c, http.StatusBadRequest, func(f *Forms) { f.Ban = form })
	}
	err = h.svc.Ban(c.UserContext(), a.ID, until, form.Reason, func(tx *sqlx.Tx, before, after account.Account) error {
		return frame.Audit(c, tx, audit.Entry{Action: "player.ban", TargetType: "player", TargetID: a.PublicID, AccountID: &a.ID,
			Before: standing(before), After: standing(after), Reason: form.Reason})
	})
	if err != nil {
		return notFound(c, err)
	}
	return h.f.SetFlash(c, "ok", a.DisplayName+" is banned and every session has ended.", "/players/"+a.PublicID)
}

func (h *handler) unban(c *fiber.Ctx) error {
	a, _, err := h.svc.Player(c.UserContext(), c.Params("id"))
	if err != nil {
		return notFound(c, err)
	}
	reason := strings.TrimSpace(web.CleanText(c.FormValue("reason"), 1000))
	if reason == "" {
		return h.f.SetFlash(c, "error", "Give a reason for lifting the ban.", "/players/"+a.PublicID)
	}
	err = h.svc.Unban(c.UserContext(), a.ID, func(tx *sqlx.Tx, before, after account.Account) error {
		return frame.Audit(c, tx, audit.Entry{Action: "player.unban", TargetType: "player", TargetID: a.PublicID, AccountID: &a.ID,
			Before: standing(before), After: standing(after), Reason: reason})
	})
	if errors.Is(err, account.ErrNotBanned) {
		return h.f.SetFlash(c, "error", a.DisplayName+" is not banned.", "/players/"+a.PublicID)
	}
	if err != nil {
		return notFound(c, err)
	}
	return h.f.SetFlash(c, "ok", "The ban on "+a.DisplayName+" is lifted.", "/players/"+a.PublicID)
}

func (h *handler) revokeSessions(c *fiber.Ctx) error {
	a, _, err := h.svc.Player(c.UserContext(), c.Params("id"))
	if err != nil {
		return notFound(c, err)
	}
	n, err := h.svc.EndSessions(c.UserContext(), a.ID, func(tx *sqlx.Tx, ids []string) error {
		return frame.Audit(c, tx, audit.Entry{Action: "player.sessions.revoke", TargetType: "player", TargetID: a.PublicID, AccountID: &a.ID,
			After: map[string]any{"revoked_sessions": ids}, Reason: strings.TrimSpace(web.CleanText(c.FormValue("reason"), 1000))})
	})
	if err != nil {
		return err
	}
	return h.f.SetFlash(c, "ok", "Ended "+itoa(n)+" sessions of "+a.DisplayName+".", "/players/"+a.PublicID)
}

// standing is the part of an account a ban changes, for the audit row.
func standing(a account.Account) map[string]any {
	return map[string]any{"status": a.Status, "banned_until": a.BannedUntil, "ban_reason": a.BanReason}
}

func notFound(c *fiber.Ctx, err error) error {
	if errors.Is(err, account.ErrNotFound) {
		return fiber.NewError(http.StatusNotFound, "no player "+c.Params("id"))
	}
	return err
}
