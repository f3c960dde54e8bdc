package staff

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// ResealTOTP seals every staff member's TOTP secret under newSecret instead
// of oldSecret, inside tx, keeping its state and last accepted step, and
// returns how many it re-sealed. A secret already sealed under newSecret is
// left as it is; one that opens under neither fails the whole re-seal.
func ResealTOTP(ctx context.Context, tx *sqlx.Tx, oldSecret, newSecret []byte) (int, error) {
	var rows []struct {
		ID     int64  `db:"id"`
		Sealed []byte `db:"totp_secret_sealed"`
	}
	const q = `SELECT id, totp_secret_sealed FROM staff_accounts WHERE totp_secret_sealed IS NOT NULL ORDER BY id FOR UPDATE`
	if err := tx.SelectContext(ctx, &rows, q); err != nil {
		return 0, fmt.Errorf("load staff second factors: %w", err)
	}
	from, to := &Store{secretKey: oldSecret}, &Store{secretKey: newSecret}
	n := 0
	for _, r := range rows {
		if _, err := to.openTOTP(r.ID, r.Sealed); err == nil {
			continue
		}
		st, err := from.openTOTP(r.ID, r.Sealed)
		if errors.Is(err, errSealing) {
			return n, fmt.Errorf("%w: opens under neither the old nor the new secret key", err)
		}
		if err != nil {
			return n, err
		}
		sealed, err := to.sealTOTP(r.ID, st)
		if err != nil {
			return n, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET totp_secret_sealed = $2 WHERE id = $1`, r.ID, sealed); err != nil {
			return n, fmt.Errorf("re-seal staff %d second factor: %w", r.ID, err)
		}
		n++
	}
	return n, nil
}
