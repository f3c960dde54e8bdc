// Package dashboard is the console's home page: live figures of the game,
// and the store's revenue for staff who may see the store or its orders.
package dashboard

import (
	"net/http"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/rbac"
)

// Revenue renders the store's revenue section.
type Revenue func(c *fiber.Ctx) (templ.Component, error)

// Mount adds the dashboard at /. revenue may be nil when the console runs
// without the store.
func Mount(rt *frame.Router, f *frame.Frame, svc *auth.Service, revenue Revenue) {
	rt.Get("/", rbac.PermDashboardView, func(c *fiber.Ctx) error {
		st, sessions, err := svc.Stats(c.UserContext())
		if err != nil {
			return err
		}
		var rev templ.Component
		if revenue != nil && (f.Allowed(c, rbac.PermStoreView) || f.Allowed(c, rbac.PermOrdersView)) {
			if rev, err = revenue(c); err != nil {
				return err
			}
		}
		return frame.Render(c, http.StatusOK, page(f.Page(c, "Dashboard", "dashboard"), st, sessions, rev))
	})
}
