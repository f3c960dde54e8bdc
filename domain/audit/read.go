package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

const recordColumns = `id, at, staff_id, staff_email, role, action, target_type, target_id, account_id,
	before::text AS before, after::text AS after, reason, ip, prev_hash, hash`

// row is an audit_log row as scanned; the jsonb columns arrive as text.
type row struct {
	ID         int64     `db:"id"`
	At         time.Time `db:"at"`
	StaffID    *int64    `db:"staff_id"`
	StaffEmail string    `db:"staff_email"`
	Role       string    `db:"role"`
	Action     string    `db:"action"`
	TargetType string    `db:"target_type"`
	TargetID   string    `db:"target_id"`
	AccountID  *int64    `db:"account_id"`
	Before     []byte    `db:"before"`
	After      []byte    `db:"after"`
	Reason     string    `db:"reason"`
	IP         string    `db:"ip"`
	PrevHash   []byte    `db:"prev_hash"`
	Hash       []byte    `db:"hash"`
}

func (r row) record() Record {
	return Record{
		ID:         r.ID,
		At:         r.At.UTC(),
		StaffID:    r.StaffID,
		StaffEmail: r.StaffEmail,
		Role:       r.Role,
		Action:     r.Action,
		TargetType: r.TargetType,
		TargetID:   r.TargetID,
		AccountID:  r.AccountID,
		Before:     r.Before,
		After:      r.After,
		Reason:     r.Reason,
		IP:         r.IP,
		PrevHash:   r.PrevHash,
		Hash:       r.Hash,
	}
}

// Filter selects entries for the console's audit page. Zero fields match
// everything.
type Filter struct {
	StaffID   *int64
	AccountID *int64
	Action    string    // prefix: "wallet." matches every wallet action
	From, To  time.Time // From <= at < To
	Limit     int       // 50 when 0, at most 1000
	Offset    int
}

// Page sizes of List.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// List returns a page of the entries f selects, newest first, and how many
// entries f selects in all.
func List(ctx context.Context, q sqlx.QueryerContext, f Filter) ([]Record, int, error) {
	const where = ` FROM audit_log
WHERE ($1::bigint IS NULL OR staff_id = $1)
  AND ($2::bigint IS NULL OR account_id = $2)
  AND action LIKE $3
  AND ($4::timestamptz IS NULL OR at >= $4)
  AND ($5::timestamptz IS NULL OR at < $5)`
	args := []any{f.StaffID, f.AccountID, likePrefix(f.Action), timeArg(f.From), timeArg(f.To)}

	var total int
	if err := sqlx.GetContext(ctx, q, &total, `SELECT count(*)`+where, args...); err != nil {
		return nil, 0, fmt.Errorf("count audit entries: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	offset := max(f.Offset, 0)
	var rows []row
	const page = `SELECT ` + recordColumns + where + ` ORDER BY at DESC, id DESC LIMIT $6 OFFSET $7`
	if err := sqlx.SelectContext(ctx, q, &rows, page, append(args, limit, offset)...); err != nil {
		return nil, 0, fmt.Errorf("list audit entries: %w", err)
	}
	out := make([]Record, len(rows))
	for i, r := range rows {
		out[i] = r.record()
	}
	return out, total, nil
}

// likePrefix is a LIKE pattern (default escape \) matching strings that
// start with prefix.
func likePrefix(prefix string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(prefix) + "%"
}

func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// BreakError names the first entry at which the chain fails. It matches
// ErrChainBroken.
type BreakError struct {
	ID     int64
	Reason string
}

func (e *BreakError) Error() string {
	return fmt.Sprintf("audit log broken at entry %d: %s", e.ID, e.Reason)
}

func (e *BreakError) Unwrap() error { return ErrChainBroken }

// verifyBatch is how many rows Verify reads per query (a variable for tests).
var verifyBatch = 1000

// Verify walks the whole log in id order and recomputes the chain. It
// returns how many entries it checked and, at the first entry whose hash
// does not match its content or whose prev_hash is not the hash of the entry
// before it (one was removed, inserted or rewritten), a *BreakError.
// Entries appended while it runs are checked if it reaches them. Ids may
// skip (a rolled-back append uses one up); the chain is the prev_hash links.
func Verify(ctx context.Context, q sqlx.QueryerContext) (checked int, err error) {
	const page = `SELECT ` + recordColumns + ` FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2`
	prev := make([]byte, sha256.Size)
	prevID := int64(0)
	after := int64(math.MinInt64)
	for {
		var rows []row
		if err := sqlx.SelectContext(ctx, q, &rows, page, after, verifyBatch); err != nil {
			return checked, fmt.Errorf("read audit log after entry %d: %w", after, err)
		}
		for _, rw := range rows {
			r := rw.record()
			if !bytes.Equal(hashRecord(r), r.Hash) {
				return checked, &BreakError{ID: r.ID, Reason: "hash does not match its content"}
			}
			if !bytes.Equal(r.PrevHash, prev) {
				reason := "it is the first entry but does not start the chain (entries before it were removed)"
				if checked > 0 {
					reason = fmt.Sprintf("prev_hash is not the hash of entry %d (an entry between them was removed, or one was rewritten)", prevID)
				}
				return checked, &BreakError{ID: r.ID, Reason: reason}
			}
			prev, prevID, after = r.Hash, r.ID, r.ID
			checked++
		}
		if len(rows) < verifyBatch {
			return checked, nil
		}
	}
}
