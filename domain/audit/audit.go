// Package audit keeps the console's audit log: one row per staff action,
// written in the same transaction as the change it records, so a change
// without its entry (or an entry without its change) never commits.
//
// The log is append-only (a trigger refuses UPDATE and DELETE) and
// hash-chained: each row stores the hash of the row before it and a SHA-256
// hash over that and every stored field, so Verify can tell when a row was
// altered, removed from the middle or reordered. Rows removed from the end of
// the log leave a valid chain; compare the newest hash with one kept
// elsewhere to catch that.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Errors of this package.
var (
	// ErrReasonRequired: the action moves money or items or bans a player,
	// and the entry gives no reason.
	ErrReasonRequired = errors.New("a reason is required for this action")
	// ErrChainBroken: the stored log does not hash-chain; Verify returns a
	// *BreakError that matches it.
	ErrChainBroken = errors.New("audit log hash chain is broken")
)

// Entry is one staff action to record.
type Entry struct {
	StaffID    *int64 // nil for actions of the system itself
	StaffEmail string
	Role       string
	Action     string // dotted, resource first: "player.ban", "wallet.credit"
	TargetType string
	TargetID   string
	AccountID  *int64 // the player concerned, for the player filter
	Before     any    // marshalled to jsonb; nil (or JSON null) is SQL NULL
	After      any
	Reason     string
	IP         string
}

// Record is an entry as stored.
type Record struct {
	ID         int64
	At         time.Time // UTC, microsecond precision
	StaffID    *int64
	StaffEmail string
	Role       string
	Action     string
	TargetType string
	TargetID   string
	AccountID  *int64
	Before     json.RawMessage // PostgreSQL's text of the jsonb; nil when NULL
	After      json.RawMessage
	Reason     string
	IP         string
	PrevHash   []byte
	Hash       []byte
}

// reasonActions are the actions, and the action families (ending in "."),
// that move money or items or ban players: staff must say why.
var reasonActions = []string{"player.ban", "player.unban", "purchase.refund", "wallet.", "inventory."}

// RequiresReason reports whether an entry for action must carry a reason.
// "player.ban" covers "player.ban" itself and "player.ban.*".
func RequiresReason(action string) bool {
	for _, a := range reasonActions {
		if strings.HasSuffix(a, ".") {
			if strings.HasPrefix(action, a) {
				return true
			}
		} else if action == a || strings.HasPrefix(action, a+".") {
			return true
		}
	}
	return false
}

// appendLock is the transaction-level advisory lock key that serializes
// appends, so that concurrent writers cannot both chain onto the same row
// ("muster_a" in ASCII).
const appendLock int64 = 0x6d75737465725f61

// Write appends e to the log inside tx, the caller's transaction. Appends
// are serialized until tx ends, so keep the transaction short after Write.
// tx must be READ COMMITTED (the default) or SERIALIZABLE; under
// REPEATABLE READ the newest row may be invisible and Write refuses.
func Write(ctx context.Context, tx *sqlx.Tx, e Entry) (Record, error) {
	if strings.TrimSpace(e.Action) == "" {
		return Record{}, errors.New("write audit entry: no action")
	}
	if RequiresReason(e.Action) && strings.TrimSpace(e.Reason) == "" {
		return Record{}, fmt.Errorf("%s: %w", e.Action, ErrReasonRequired)
	}
	before, err := jsonArg(e.Before)
	if err != nil {
		return Record{}, fmt.Errorf("write audit entry: before: %w", err)
	}
	after, err := jsonArg(e.After)
	if err != nil {
		return Record{}, fmt.Errorf("write audit entry: after: %w", err)
	}

	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, appendLock); err != nil {
		return Record{}, fmt.Errorf("lock audit log: %w", err)
	}
	// A separate statement after the lock: under READ COMMITTED its snapshot
	// includes the row of the writer that held the lock before us. The id is
	// drawn under the lock too, so id order is chain order. The jsonb values
	// are hashed as PostgreSQL will return them (normalized key order,
	// spacing and numbers), which is what Verify reads back.
	const head = `SELECT
	(SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS prev_hash,
	nextval('audit_log_id_seq') AS id,
	$1::jsonb::text AS before,
	$2::jsonb::text AS after,
	current_setting('transaction_isolation') AS isolation`
	var h struct {
		PrevHash  []byte `db:"prev_hash"`
		ID        int64  `db:"id"`
		Before    []byte `db:"before"`
		After     []byte `db:"after"`
		Isolation string `db:"isolation"`
	}
	if err := tx.GetContext(ctx, &h, head, before, after); err != nil {
		return Record{}, fmt.Errorf("read audit log head: %w", err)
	}
	if h.Isolation == "repeatable read" {
		return Record{}, errors.New("write audit entry: a repeatable read transaction may not see the newest entry; use read committed or serializable")
	}
	if h.PrevHash == nil {
		h.PrevHash = make([]byte, sha256.Size)
	}
	r := Record{
		ID:         h.ID,
		At:         time.Now().UTC().Truncate(time.Microsecond),
		StaffID:    e.StaffID,
		StaffEmail: e.StaffEmail,
		Role:       e.Role,
		Action:     e.Action,
		TargetType: e.TargetType,
		TargetID:   e.TargetID,
		AccountID:  e.AccountID,
		Before:     h.Before,
		After:      h.After,
		Reason:     e.Reason,
		IP:         e.IP,
		PrevHash:   h.PrevHash,
	}
	r.Hash = hashRecord(r)

	const ins = `INSERT INTO audit_log (id, at, staff_id, staff_email, role, action, target_type, target_id,
	account_id, before, after, reason, ip, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13, $14, $15)`
	if _, err := tx.ExecContext(ctx, ins, r.ID, r.At, r.StaffID, r.StaffEmail, r.Role, r.Action, r.TargetType, r.TargetID,
		r.AccountID, textArg(r.Before), textArg(r.After), r.Reason, r.IP, r.PrevHash, r.Hash); err != nil {
		return Record{}, fmt.Errorf("write audit entry: %w", err)
	}
	return r, nil
}

// jsonArg marshals v for a jsonb parameter: nil for nil or JSON null.
func jsonArg(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	return string(b), nil // a string: lib/pq would send []byte as bytea
}

func textArg(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// hashRecord is the chain hash of r: SHA-256 over a version tag, the
// previous hash and every stored field but the hash itself, each written
// with its length (or a presence byte for NULLs), so no two different rows
// encode alike. Write and Verify both use it.
func hashRecord(r Record) []byte {
	h := sha256.New()
	var buf [8]byte
	putInt := func(v int64) {
		binary.BigEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	putBytes := func(b []byte) {
		putInt(int64(len(b)))
		h.Write(b)
	}
	putString := func(s string) {
		putInt(int64(len(s)))
		h.Write([]byte(s))
	}
	putNullInt := func(p *int64) {
		if p == nil {
			h.Write([]byte{0})
			return
		}
		h.Write([]byte{1})
		putInt(*p)
	}
	putNullBytes := func(b []byte) {
		if b == nil {
			h.Write([]byte{0})
			return
		}
		h.Write([]byte{1})
		putBytes(b)
	}

	putString("muster.audit.v1")
	putBytes(r.PrevHash)
	putInt(r.ID)
	putInt(r.At.UnixMicro())
	putNullInt(r.StaffID)
	putString(r.StaffEmail)
	putString(r.Role)
	putString(r.Action)
	putString(r.TargetType)
	putString(r.TargetID)
	putNullInt(r.AccountID)
	putNullBytes(r.Before)
	putNullBytes(r.After)
	putString(r.Reason)
	putString(r.IP)
	return h.Sum(nil)
}
