package notify

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

const cols = `seq, id, kind, payload, created_at, read_at`

// compactAll writes payloads without the spaces PostgreSQL's jsonb puts in,
// so that a notification reads the same from every path (Since, List,
// Add, pub/sub).
func compactAll(ns []Notification) {
	for i := range ns {
		ns[i].Payload = compact(ns[i].Payload)
	}
}

func compact(p json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, p); err != nil {
		return p
	}
	return b.Bytes()
}

// page is limit within 1 to MaxPage, defPage when not positive.
func page(limit int) int {
	if limit <= 0 {
		return defPage
	}
	return min(limit, MaxPage)
}

// Since returns a player's notifications numbered after afterSeq, oldest
// first, at most limit of them (1 to MaxPage; 50 when 0): what a resumed
// connection missed. Call it again from the last seq answered until it
// answers fewer than limit. A player's seqs become visible in order (a
// transaction numbering after another waits for it to commit), so once
// Since has answered seq n, no seq below n appears later. Notifications deleted by Prune are gone, so the
// first seq answered may be more than afterSeq+1 after a long absence.
func (s *Store) Since(ctx context.Context, accountID int64, afterSeq uint64, limit int) ([]Notification, error) {
	if afterSeq > maxSeq {
		return nil, nil
	}
	const q = `SELECT ` + cols + ` FROM notifications WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`
	out := []Notification{}
	if err := s.conn.SelectContext(ctx, &out, q, accountID, int64(afterSeq), page(limit)); err != nil {
		return nil, fmt.Errorf("notifications since %d: %w", afterSeq, err)
	}
	compactAll(out)
	return out, nil
}

// LastSeq returns the seq of a player's latest notification, 0 before the
// first (also when it was pruned: numbers are never reused). A gateway
// starting a session that does not resume takes it as the seq already
// delivered, and pushes only what comes after.
func (s *Store) LastSeq(ctx context.Context, accountID int64) (uint64, error) {
	var last int64
	err := s.conn.GetContext(ctx, &last, `SELECT last_seq FROM notification_seqs WHERE account_id = $1`, accountID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("last notification seq: %w", err)
	}
	return uint64(last), nil
}

// List returns a player's notifications numbered below beforeSeq (all when
// 0), newest first, at most limit of them (1 to MaxPage; 50 when 0); only
// unread ones when unreadOnly. The next page is before the last seq
// answered.
func (s *Store) List(ctx context.Context, accountID int64, beforeSeq uint64, limit int, unreadOnly bool) ([]Notification, error) {
	if beforeSeq == 0 || beforeSeq > maxSeq {
		beforeSeq = maxSeq
	}
	q := `SELECT ` + cols + ` FROM notifications WHERE account_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`
	if unreadOnly {
		q = `SELECT ` + cols + ` FROM notifications WHERE account_id = $1 AND seq < $2 AND read_at IS NULL ORDER BY seq DESC LIMIT $3`
	}
	out := []Notification{}
	if err := s.conn.SelectContext(ctx, &out, q, accountID, int64(beforeSeq), page(limit)); err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	compactAll(out)
	return out, nil
}

// UnreadCount returns how many of a player's notifications are unread.
func (s *Store) UnreadCount(ctx context.Context, accountID int64) (int, error) {
	var n int
	const q = `SELECT count(*) FROM notifications WHERE account_id = $1 AND read_at IS NULL`
	if err := s.conn.GetContext(ctx, &n, q, accountID); err != nil {
		return 0, fmt.Errorf("count unread notifications: %w", err)
	}
	return n, nil
}

// MarkRead marks a player's notifications up to and including upToSeq as
// read, and returns how many were unread. Doing it again changes nothing.
func (s *Store) MarkRead(ctx context.Context, accountID int64, upToSeq uint64) (int64, error) {
	if upToSeq > maxSeq {
		upToSeq = maxSeq
	}
	const q = `UPDATE notifications SET read_at = now() WHERE account_id = $1 AND seq <= $2 AND read_at IS NULL`
	res, err := s.conn.ExecContext(ctx, q, accountID, int64(upToSeq))
	if err != nil {
		return 0, fmt.Errorf("mark notifications read: %w", err)
	}
	return res.RowsAffected()
}

// MarkReadIDs marks the player's notifications with these ids as read (at
// most MaxPage ids), and returns how many were unread. Ids of other
// players' notifications, or of none, are ignored; an id that is not a
// UUID is ErrInvalid.
func (s *Store) MarkReadIDs(ctx context.Context, accountID int64, ids []string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if len(ids) > maxIDs {
		return 0, fmt.Errorf("%w: at most %d ids at once", ErrInvalid, maxIDs)
	}
	for _, id := range ids {
		if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
			return 0, fmt.Errorf("%w: %q is not a notification id", ErrInvalid, id)
		}
	}
	const q = `UPDATE notifications SET read_at = now() WHERE account_id = $1 AND id = ANY($2::uuid[]) AND read_at IS NULL`
	res, err := s.conn.ExecContext(ctx, q, accountID, pq.StringArray(ids))
	if err != nil {
		return 0, fmt.Errorf("mark notifications read: %w", err)
	}
	return res.RowsAffected()
}
