package friend

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
)

// player is an account as this package reads it.
type player struct {
	ID          int64  `db:"id"`
	PublicID    string `db:"public_id"`
	DisplayName string `db:"display_name"`
	Deleted     bool   `db:"deleted"`
	Banned      bool   `db:"banned"` // banned now
}

// pair is the relation being changed, under both players' locks: each
// side's state ("" for no row) and since.
type pair struct {
	me, them    player
	mine        State
	mineSince   time.Time
	theirs      State
	theirsSince time.Time
}

// relation is the relation as me sees it now.
func (p *pair) relation() Relation {
	return Relation{AccountID: p.them.ID, PlayerID: p.them.PublicID, DisplayName: p.them.DisplayName, State: p.mine, Since: p.mineSince}
}

// change runs fn, in a transaction, on the relation between accountID and
// the player with public id playerID, with both players' lists locked.
// Unknown and deleted players are ErrNotFound, the player themselves
// ErrSelf.
func (s *Store) change(ctx context.Context, accountID int64, playerID string, fn func(tx *sqlx.Tx, p *pair) error) error {
	if playerID == "" || len(playerID) > 64 {
		return ErrNotFound
	}
	return db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		p, err := lockPair(ctx, tx, accountID, playerID)
		if err != nil {
			return err
		}
		return fn(tx, p)
	})
}

// lockPair reads both players, locks their lists in account order and
// reads both sides of the relation.
func lockPair(ctx context.Context, tx *sqlx.Tx, accountID int64, playerID string) (*pair, error) {
	const who = `SELECT id, public_id, display_name, status = 'deleted' AS deleted,
		status = 'banned' AND (banned_until IS NULL OR banned_until > now()) AS banned
	FROM accounts WHERE id = $1 OR public_id = $2`
	var found []player
	if err := tx.SelectContext(ctx, &found, who, accountID, playerID); err != nil {
		return nil, fmt.Errorf("find players: %w", err)
	}
	p := &pair{}
	for _, a := range found {
		if a.PublicID == playerID {
			p.them = a
		}
		if a.ID == accountID {
			p.me = a
		}
	}
	switch {
	case p.them.ID == 0 || p.them.Deleted || p.me.ID == 0:
		return nil, ErrNotFound
	case p.them.ID == accountID:
		return nil, ErrSelf
	}
	ids := pq.Int64Array{min(p.me.ID, p.them.ID), max(p.me.ID, p.them.ID)}
	const ins = `INSERT INTO friend_lists (account_id) SELECT unnest($1::bigint[]) ORDER BY 1 ON CONFLICT DO NOTHING`
	if _, err := tx.ExecContext(ctx, ins, ids); err != nil {
		return nil, fmt.Errorf("create friend lists: %w", err)
	}
	const lock = `SELECT account_id FROM friend_lists WHERE account_id = ANY($1) ORDER BY account_id FOR UPDATE`
	var locked []int64
	if err := tx.SelectContext(ctx, &locked, lock, ids); err != nil {
		return nil, fmt.Errorf("lock friend lists: %w", err)
	}
	const links = `SELECT account_id, state, since FROM friend_links
	WHERE (account_id = $1 AND other_id = $2) OR (account_id = $2 AND other_id = $1)`
	var rows []struct {
		AccountID int64     `db:"account_id"`
		State     State     `db:"state"`
		Since     time.Time `db:"since"`
	}
	if err := tx.SelectContext(ctx, &rows, links, p.me.ID, p.them.ID); err != nil {
		return nil, fmt.Errorf("read relation: %w", err)
	}
	for _, r := range rows {
		if r.AccountID == p.me.ID {
			p.mine, p.mineSince = r.State, r.Since
		} else {
			p.theirs, p.theirsSince = r.State, r.Since
		}
	}
	return p, nil
}

// set makes from's side of the relation st.
func set(ctx context.Context, tx *sqlx.Tx, from, to int64, st State) (time.Time, error) {
	const q = `INSERT INTO friend_links (account_id, other_id, state) VALUES ($1, $2, $3)
	ON CONFLICT (account_id, other_id) DO UPDATE SET state = EXCLUDED.state, since = now()
	RETURNING since`
	var since time.Time
	if err := tx.GetContext(ctx, &since, q, from, to, st); err != nil {
		return time.Time{}, fmt.Errorf("save relation: %w", err)
	}
	return since, nil
}

// setMine makes me's side st and records it in p.
func (p *pair) setMine(ctx context.Context, tx *sqlx.Tx, st State) error {
	since, err := set(ctx, tx, p.me.ID, p.them.ID, st)
	p.mine, p.mineSince = st, since
	return err
}

// setTheirs makes them's side st and records it in p.
func (p *pair) setTheirs(ctx context.Context, tx *sqlx.Tx, st State) error {
	since, err := set(ctx, tx, p.them.ID, p.me.ID, st)
	p.theirs, p.theirsSince = st, since
	return err
}

// dropMine removes me's side of the relation.
func (p *pair) dropMine(ctx context.Context, tx *sqlx.Tx) error {
	p.mine = ""
	return drop(ctx, tx, p.me.ID, p.them.ID)
}

// dropTheirs removes them's side of the relation.
func (p *pair) dropTheirs(ctx context.Context, tx *sqlx.Tx) error {
	p.theirs = ""
	return drop(ctx, tx, p.them.ID, p.me.ID)
}

func drop(ctx context.Context, tx *sqlx.Tx, from, to int64) error {
	const q = `DELETE FROM friend_links WHERE account_id = $1 AND other_id = $2`
	if _, err := tx.ExecContext(ctx, q, from, to); err != nil {
		return fmt.Errorf("remove relation: %w", err)
	}
	return nil
}

// counts are how many relations of each state a player has, deleted
// accounts left out.
type counts struct {
	Friends  int `db:"friends"`
	Incoming int `db:"incoming"`
	Outgoing int `db:"outgoing"`
	Blocked  int `db:"blocked"`
}

// countsOf counts a player's relations; call it with their list locked.
func countsOf(ctx context.Context, tx *sqlx.Tx, accountID int64) (counts, error) {
	const q = `SELECT count(*) FILTER (WHERE l.state = 'friend') AS friends,
		count(*) FILTER (WHERE l.state = 'incoming') AS incoming,
		count(*) FILTER (WHERE l.state = 'outgoing') AS outgoing,
		count(*) FILTER (WHERE l.state = 'blocked') AS blocked
	FROM friend_links l JOIN accounts a ON a.id = l.other_id
	WHERE l.account_id = $1 AND a.status <> 'deleted'`
	var c counts
	if err := tx.GetContext(ctx, &c, q, accountID); err != nil {
		return counts{}, fmt.Errorf("count relations: %w", err)
	}
	return c, nil
}
