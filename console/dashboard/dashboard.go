// Package dashboard is the console's home page: live figures of the game.
package dashboard

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/rbac"
)

// Mount adds the dashboard at /.
func Mount(rt *frame.Router, f *frame.Frame, svc *auth.Service) {
	rt.Get("/", rbac.PermDashboardView, func(c *fiber.Ctx) error {
		st, sessions, err := svc.Stats(c.UserContext())
		if err != nil {
			return err
		}
		return frame.Render(c, http.StatusOK, page(f.Page(c, "Dashboard", "dashboard"), st, sessions))
	})
}
