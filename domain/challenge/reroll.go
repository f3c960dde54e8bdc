package challenge

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
)

// Rerolled is the outcome of a reroll.
type Rerolled struct {
	Replaced string // the challenge rerolled away
	With     string // the challenge in its place
	Replayed bool   // the key was used before for this reroll; nothing changed now
	View     View   // the player's challenges afterwards
}

// Reroll replaces challengeID, an incomplete challenge of the player's
// current daily or weekly set, with another challenge of the pool that is
// neither in the set nor rerolled away earlier this period. Each period
// allows the rotation's number of rerolls. key makes it idempotent: the
// same key again answers the first reroll (Replayed); the same key for
// another challenge is ErrKeyReused.
func (s *Store) Reroll(ctx context.Context, accountID int64, challengeID, key string) (Rerolled, error) {
	var out Rerolled
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		out = Rerolled{}
		p, err := s.plan(ctx, tx)
		if err != nil {
			return err
		}
		now := s.now()
		wants, err := s.wants(ctx, tx, p, accountID, now)
		if err != nil {
			return err
		}
		if _, err := s.view(ctx, tx, p, accountID, wants); err != nil {
			return err // drawn now if the player has not seen them yet
		}
		periods := make([]string, len(wants))
		for i, w := range wants {
			periods[i] = w.period.Key
		}
		// Rerolls of a player's current sets take turns: a retry racing
		// its first attempt finds the first's key once it may go on.
		const lock = `SELECT period FROM challenge_sets WHERE account_id = $1 AND period = ANY($2) ORDER BY period FOR UPDATE`
		var locked []string
		if err := tx.SelectContext(ctx, &locked, lock, accountID, pq.Array(periods)); err != nil {
			return fmt.Errorf("lock challenge sets: %w", err)
		}

		var prev struct {
			From string `db:"from_challenge"`
			To   string `db:"to_challenge"`
		}
		err = tx.GetContext(ctx, &prev, `SELECT from_challenge, to_challenge FROM challenge_rerolls WHERE account_id = $1 AND idem_key = $2`, accountID, key)
		switch {
		case err == nil && prev.From != challengeID:
			return ErrKeyReused
		case err == nil:
			out = Rerolled{Replaced: prev.From, With: prev.To, Replayed: true}
			out.View, err = s.view(ctx, tx, p, accountID, wants)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("look up reroll: %w", err)
		}

		// Find the challenge in the sets as they are now, under the lock.
		v, err := s.view(ctx, tx, p, accountID, wants)
		if err != nil {
			return err
		}
		var set *Set
		var at int
		for _, st := range v.Sets() {
			if i := slices.IndexFunc(st.Challenges, func(a Assigned) bool { return a.ID == challengeID }); i >= 0 {
				set, at = st, i
			}
		}
		switch {
		case set == nil:
			return ErrNotFound
		case set.Challenges[at].Completed():
			return ErrCompleted
		case set.RerollsLeft <= 0:
			return ErrNoRerolls
		}
		pl := p.pools[set.Cadence]

		var gone []string
		const away = `SELECT from_challenge FROM challenge_rerolls WHERE account_id = $1 AND period = $2`
		if err := tx.SelectContext(ctx, &gone, away, accountID, set.Period); err != nil {
			return fmt.Errorf("load rerolls: %w", err)
		}
		candidates := slices.DeleteFunc(slices.Clone(pl.challenges), func(c Challenge) bool {
			return slices.Contains(gone, c.ID) || slices.ContainsFunc(set.Challenges, func(a Assigned) bool { return a.ID == c.ID })
		})
		drawn := pick(seed(accountID, set.Period, pl.id, pl.version, set.rerollsUsed+1), candidates, 1)
		if len(drawn) == 0 {
			return ErrNoReplacement
		}
		next := drawn[0]
		def, err := json.Marshal(next)
		if err != nil {
			return err
		}
		old := set.Challenges[at]
		const swap = `UPDATE challenge_slots SET challenge_id = $4, def = $5, target = $6, progress = 0
			WHERE account_id = $1 AND period = $2 AND slot = $3 AND challenge_id = $7 AND completed_at IS NULL`
		res, err := tx.ExecContext(ctx, swap, accountID, set.Period, old.slot, next.ID, def, next.Goal.Target, old.ID)
		if err != nil {
			return fmt.Errorf("reroll: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrCompleted // a match completed it since it was read
		}
		if _, err := tx.ExecContext(ctx, `UPDATE challenge_sets SET rerolls_used = rerolls_used + 1 WHERE account_id = $1 AND period = $2`, accountID, set.Period); err != nil {
			return fmt.Errorf("count reroll: %w", err)
		}
		const rec = `INSERT INTO challenge_rerolls (account_id, idem_key, period, from_challenge, to_challenge, at) VALUES ($1, $2, $3, $4, $5, $6)`
		if _, err := tx.ExecContext(ctx, rec, accountID, key, set.Period, old.ID, next.ID, now); err != nil {
			return fmt.Errorf("record reroll: %w", err)
		}
		out = Rerolled{Replaced: old.ID, With: next.ID}
		out.View, err = s.view(ctx, tx, p, accountID, wants)
		return err
	})
	return out, err
}
