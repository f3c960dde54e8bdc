package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Reseal seals every signing key's private half under newSecret instead of
// oldSecret, inside tx, and returns how many it re-sealed. A key already
// sealed under newSecret is left as it is, so a re-run changes nothing; a
// key that opens under neither is ErrSealing and the caller rolls back.
func Reseal(ctx context.Context, tx *sqlx.Tx, oldSecret, newSecret []byte) (int, error) {
	var rows []struct {
		Kid    string `db:"kid"`
		Sealed []byte `db:"private_key_sealed"`
	}
	const q = `SELECT kid, private_key_sealed FROM auth_signing_keys WHERE private_key_sealed IS NOT NULL ORDER BY kid FOR UPDATE`
	if err := tx.SelectContext(ctx, &rows, q); err != nil {
		return 0, fmt.Errorf("load signing keys: %w", err)
	}
	n := 0
	for _, r := range rows {
		if _, err := unseal(newSecret, r.Kid, r.Sealed); err == nil {
			continue
		}
		plain, err := unseal(oldSecret, r.Kid, r.Sealed)
		if errors.Is(err, ErrSealing) {
			return n, fmt.Errorf("%w: opens under neither the old nor the new secret key", err)
		}
		if err != nil {
			return n, err
		}
		sealed, err := seal(newSecret, r.Kid, plain)
		if err != nil {
			return n, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE auth_signing_keys SET private_key_sealed = $2 WHERE kid = $1`, r.Kid, sealed); err != nil {
			return n, fmt.Errorf("re-seal signing key %s: %w", r.Kid, err)
		}
		n++
	}
	return n, nil
}
