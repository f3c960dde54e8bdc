// Package auditlog is the console's audit page: every staff action, who did
// it, why, and what changed, filtered by staff, player, action and time.
package auditlog

import (
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/staff"
)

// Mount adds /audit.
func Mount(rt *frame.Router, f *frame.Frame, conn *sqlx.DB, svc *auth.Service, st *staff.Store) {
	rt.Get("/audit", rbac.PermAuditView, func(c *fiber.Ctx) error {
		pg := frame.PagingOf(c, "at")
		in := Filters{Staff: strings.TrimSpace(c.Query("staff")), Player: strings.TrimSpace(c.Query("player")),
			Action: strings.TrimSpace(c.Query("action")), From: c.Query("from"), To: c.Query("to")}
		filter := audit.Filter{Action: in.Action, Limit: pg.Size, Offset: pg.Offset(), From: parseTime(in.From), To: parseTime(in.To)}
		none := int64(-1) // a filter that matches nobody, when the named staff or player does not exist
		if in.Staff != "" {
			filter.StaffID = &none
			if s, err := st.ByEmail(c.UserContext(), in.Staff); err == nil {
				filter.StaffID = &s.ID
			}
		}
		if in.Player != "" {
			filter.AccountID = &none
			if a, _, err := svc.Player(c.UserContext(), in.Player); err == nil {
				filter.AccountID = &a.ID
			}
		}
		rows, total, err := audit.List(c.UserContext(), conn, filter)
		if err != nil {
			return err
		}
		pg.Total = total
		return frame.Render(c, http.StatusOK, page(f.Page(c, "Audit log", "audit"), in, pg, rows, nil))
	})
}

// parseTime reads a datetime-local value as UTC; empty or bad is zero.
func parseTime(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// change summarises what an entry changed.
func change(r audit.Record) string {
	var parts []string
	if len(r.Before) > 0 {
		parts = append(parts, "before "+string(r.Before))
	}
	if len(r.After) > 0 {
		parts = append(parts, "after "+string(r.After))
	}
	s := strings.Join(parts, "; ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
