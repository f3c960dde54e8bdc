package frame

import (
	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/audit"
)

// Audit writes the audit row of a console action inside tx, naming the
// signed-in staff member and the request's address.
func Audit(c *fiber.Ctx, tx *sqlx.Tx, e audit.Entry) error {
	s, _ := StaffOf(c)
	e.StaffID, e.StaffEmail, e.Role, e.IP = &s.ID, s.Email, s.Role, c.IP()
	_, err := audit.Write(c.UserContext(), tx, e)
	return err
}
