package inventory

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// ReadEveryRow reads a player's whole inventory from its rows, with no
// cache or snapshot: what every other way of reading it must agree with.
func ReadEveryRow(ctx context.Context, conn *sqlx.DB, accountID int64) ([]Entitlement, error) {
	return (&Reader{stmts: db.NewPrepared(conn)}).load(ctx, accountID)
}
