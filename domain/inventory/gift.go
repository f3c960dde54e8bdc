package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Gift is a set of items one player sent another, held in escrow until the
// recipient accepts or declines, or it returns to the sender unclaimed.
type Gift struct {
	ID         int64      `db:"id" json:"id"`
	Sender     int64      `db:"sender" json:"-"`
	Recipient  int64      `db:"recipient" json:"-"`
	Items      []Line     `db:"-" json:"items"`
	Message    string     `db:"message" json:"message"`
	Status     string     `db:"status" json:"status"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	ExpiresAt  time.Time  `db:"expires_at" json:"expires_at"`
	ResolvedAt *time.Time `db:"resolved_at" json:"resolved_at,omitempty"`
}

type giftRow struct {
	Gift
	Items []byte `db:"items"`
}

func (r giftRow) gift() (Gift, error) {
	g := r.Gift
	return g, json.Unmarshal(r.Items, &g.Items)
}

const giftCols = `id, sender, recipient, items, message, status, created_at, expires_at, resolved_at`

// checkFlag refuses items whose catalog entry lacks a flag (giftable or
// tradable) or is retired.
func checkFlag(ctx context.Context, tx *sqlx.Tx, lines []Line, flag string, refused error) error {
	ids, _ := unzip(lines)
	var bad []string
	q := `SELECT r.id FROM unnest($1::text[]) AS r (id) LEFT JOIN catalog_items c ON c.id = r.id
		WHERE c.id IS NULL OR c.retired OR NOT c.` + flag
	if err := tx.SelectContext(ctx, &bad, q, ids); err != nil {
		return fmt.Errorf("check items: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", refused, bad[0])
	}
	return nil
}

// SendGift takes giftable items from the sender into a gift for the
// recipient, in one transaction. key is the sender's idempotency key.
func (s *Store) SendGift(ctx context.Context, sender, recipient int64, items []Line, message, key string) (Gift, error) {
	if err := checkLines(items); err != nil {
		return Gift{}, err
	}
	if sender == recipient {
		return Gift{}, fmt.Errorf("%w: a gift goes to another player", ErrInvalid)
	}
	if len(message) > 280 {
		return Gift{}, fmt.Errorf("%w: the message is longer than 280 bytes", ErrInvalid)
	}
	var g Gift
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		if err := checkFlag(ctx, tx, items, "giftable", ErrNotGiftable); err != nil {
			return err
		}
		full, err := playerKey("gift", sender, key)
		if err != nil {
			return err
		}
		o, replay, err := s.begin(ctx, tx, full, sender, "gift_send", "gift", message, opHash("gift_send", sender, "gift", message, items, fmt.Sprint(recipient)))
		if err != nil {
			return err
		}
		if replay != nil {
			var row giftRow
			if err := tx.GetContext(ctx, &row, `SELECT `+giftCols+` FROM gifts WHERE sent_op = $1`, replay.OpID); err != nil {
				return fmt.Errorf("load gift of operation %d: %w", replay.OpID, err)
			}
			g, err = row.gift()
			return err
		}
		if _, err := s.consume(ctx, tx, o, items); err != nil {
			return err
		}
		doc, _ := json.Marshal(items)
		const q = `INSERT INTO gifts (sender, recipient, items, message, expires_at, sent_op)
			VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6) RETURNING ` + giftCols
		var row giftRow
		if err := tx.GetContext(ctx, &row, q, sender, recipient, doc, message, s.cfg.GiftTTL.Seconds(), o.id); err != nil {
			if db.IsForeignKeyViolation(err) {
				return ErrRecipientAbsent
			}
			return fmt.Errorf("record gift: %w", err)
		}
		g, err = row.gift()
		return err
	})
	return g, err
}

// Gifts returns a player's pending incoming gifts and the gifts they sent
// recently, newest first.
func (s *Store) Gifts(ctx context.Context, accountID int64) (incoming, sent []Gift, err error) {
	load := func(q string) ([]Gift, error) {
		var rows []giftRow
		if err := s.conn.SelectContext(ctx, &rows, q, accountID); err != nil {
			return nil, fmt.Errorf("list gifts: %w", err)
		}
		out := make([]Gift, 0, len(rows))
		for _, r := range rows {
			g, err := r.gift()
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	}
	if incoming, err = load(`SELECT ` + giftCols + ` FROM gifts WHERE recipient = $1 AND status = 'pending' ORDER BY id DESC LIMIT 200`); err != nil {
		return nil, nil, err
	}
	sent, err = load(`SELECT ` + giftCols + ` FROM gifts WHERE sender = $1 ORDER BY id DESC LIMIT 50`)
	return incoming, sent, err
}

// AcceptGift gives a pending gift's items to its recipient. Accepting a
// gift already accepted answers it again, so a retry is safe.
func (s *Store) AcceptGift(ctx context.Context, recipient, giftID int64) (Gift, error) {
	return s.resolveGift(ctx, giftID, "accepted", func(g Gift) error {
		if g.Recipient != recipient {
			return ErrGiftNotFound
		}
		return nil
	})
}

// DeclineGift returns a pending gift's items to its sender.
func (s *Store) DeclineGift(ctx context.Context, recipient, giftID int64) (Gift, error) {
	return s.resolveGift(ctx, giftID, "declined", func(g Gift) error {
		if g.Recipient != recipient {
			return ErrGiftNotFound
		}
		return nil
	})
}

// ReturnExpiredGifts sends up to batch unclaimed gifts back to their senders
// and reports how many it returned.
func (s *Store) ReturnExpiredGifts(ctx context.Context, batch int) (int, error) {
	var ids []int64
	const q = `SELECT id FROM gifts WHERE status = 'pending' AND expires_at <= now() ORDER BY expires_at LIMIT $1`
	if err := s.conn.SelectContext(ctx, &ids, q, batch); err != nil {
		return 0, fmt.Errorf("list expired gifts: %w", err)
	}
	n := 0
	for _, id := range ids {
		_, err := s.resolveGift(ctx, id, "returned", func(g Gift) error {
			if g.ExpiresAt.After(time.Now()) {
				return ErrGiftClosed
			}
			return nil
		})
		switch {
		case err == nil:
			n++
		case errors.Is(err, ErrGiftClosed):
		default:
			return n, err
		}
	}
	return n, nil
}

// resolveGift closes a pending gift: its items go to the recipient when
// accepted, back to the sender otherwise. The gift row, locked, is the
// guard: the operation keys derive from its id and new status.
func (s *Store) resolveGift(ctx context.Context, giftID int64, status string, allowed func(Gift) error) (Gift, error) {
	var g Gift
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var row giftRow
		err := tx.GetContext(ctx, &row, `SELECT `+giftCols+` FROM gifts WHERE id = $1 FOR UPDATE`, giftID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrGiftNotFound
		}
		if err != nil {
			return fmt.Errorf("load gift: %w", err)
		}
		if g, err = row.gift(); err != nil {
			return err
		}
		if err := allowed(g); err != nil {
			return err
		}
		if g.Status == status {
			return nil // a retry of the same resolution
		}
		if g.Status != "pending" {
			return ErrGiftClosed
		}
		to, dup := g.Recipient, DuplicatesRefuse
		if status != "accepted" {
			to, dup = g.Sender, DuplicatesSkip
		}
		key := fmt.Sprintf("gift:%d:%s", g.ID, status)
		o, _, err := s.begin(ctx, tx, key, to, "gift_"+status, "gift", "", opHash("gift", to, "gift", "", g.Items, status))
		if err != nil {
			return err
		}
		if _, err := s.grant(ctx, tx, o, g.Items, dup); err != nil {
			return err
		}
		const q = `UPDATE gifts SET status = $2, resolved_at = now() WHERE id = $1 RETURNING ` + giftCols
		if err := tx.GetContext(ctx, &row, q, g.ID, status); err != nil {
			return fmt.Errorf("close gift: %w", err)
		}
		g, err = row.gift()
		return err
	})
	return g, err
}
