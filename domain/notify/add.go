package notify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
)

// addSQL stores notifications for many players in one statement. Each
// player's counter row is created or advanced by the number of their
// notifications (in account order, so that concurrent batches sharing
// players lock the rows in one order and cannot deadlock); the notifications
// take the numbers from the old counter + 1 on, in input order. The counter
// row stays locked until the caller's transaction ends, so a second
// transaction notifying the same player waits and numbers after it.
const addSQL = `
WITH input AS (
    SELECT i.account_id, i.kind, i.payload::jsonb AS payload, i.n
    FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS i (account_id, kind, payload, n)
), counts AS (
    SELECT account_id, count(*) AS c FROM input GROUP BY account_id
), seqs AS (
    INSERT INTO notification_seqs AS s (account_id, last_seq)
    SELECT account_id, c FROM counts ORDER BY account_id
    ON CONFLICT (account_id) DO UPDATE SET last_seq = s.last_seq + EXCLUDED.last_seq
    RETURNING s.account_id, s.last_seq
)
INSERT INTO notifications (account_id, seq, id, kind, payload)
SELECT i.account_id, s.last_seq - c.c + row_number() OVER (PARTITION BY i.account_id ORDER BY i.n), gen_random_uuid(), i.kind, i.payload
FROM input i JOIN counts c USING (account_id) JOIN seqs s USING (account_id)
ORDER BY i.n
RETURNING account_id, seq, id, kind, payload, created_at, read_at`

// stored is a notification row with its player.
type stored struct {
	AccountID int64 `db:"account_id"`
	Notification
}

// Add stores notifications in tx, all in one statement, and returns them in
// the order of in (out[i] is in[i]'s). Use the caller's transaction so that
// the notifications exist exactly when the change they announce does; each
// player named stays locked for notifications until tx ends. Add does not
// publish: the Consumer path does that after commit, and notifications
// stored with Add directly reach players only through Since and the REST
// list (or call Send instead, which goes through both consumers).
func (s *Store) Add(ctx context.Context, tx sqlx.ExtContext, in []New) ([]Notification, error) {
	rows, err := add(ctx, tx, in)
	if err != nil {
		return nil, err
	}
	out := make([]Notification, len(rows))
	for i, r := range rows {
		out[i] = r.Notification
	}
	return out, nil
}

// add is Add, answering each notification with its player.
func add(ctx context.Context, tx sqlx.ExtContext, in []New) ([]stored, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > MaxBatch {
		return nil, fmt.Errorf("%w: at most %d notifications at once", ErrInvalid, MaxBatch)
	}
	ids := make(pq.Int64Array, len(in))
	kinds := make(pq.StringArray, len(in))
	payloads := make(pq.StringArray, len(in))
	for i, n := range in {
		body, err := checkNew(n)
		if err != nil {
			return nil, err
		}
		ids[i], kinds[i], payloads[i] = n.AccountID, n.Kind, string(body)
	}
	var rows []stored
	if err := sqlx.SelectContext(ctx, tx, &rows, addSQL, ids, kinds, payloads); err != nil {
		if db.IsForeignKeyViolation(err) {
			return nil, ErrUnknownAccount
		}
		return nil, fmt.Errorf("store notifications: %w", err)
	}
	if len(rows) != len(in) {
		return nil, fmt.Errorf("store notifications: stored %d of %d", len(rows), len(in))
	}
	// Put the rows back in input order: a player's rows are numbered in
	// input order, so the k-th notification of a player in the input is
	// that player's k-th lowest seq.
	slices.SortFunc(rows, func(a, b stored) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Seq, b.Seq))
	})
	next := make(map[int64]int, len(rows)) // account -> index of its next row
	for i, r := range rows {
		if _, ok := next[r.AccountID]; !ok {
			next[r.AccountID] = i
		}
	}
	out := make([]stored, len(in))
	for i, n := range in {
		j := next[n.AccountID]
		out[i] = rows[j]
		out[i].Payload = compact(out[i].Payload)
		next[n.AccountID] = j + 1
	}
	return out, nil
}

// checkNew validates n and returns its payload's JSON.
func checkNew(n New) (json.RawMessage, error) {
	switch {
	case n.AccountID <= 0:
		return nil, fmt.Errorf("%w: account id %d", ErrInvalid, n.AccountID)
	case len(n.Kind) > MaxKind || !kindPattern.MatchString(n.Kind):
		return nil, fmt.Errorf("%w: kind %q is not dotted lower-case words of at most %d bytes", ErrInvalid, n.Kind, MaxKind)
	}
	return payloadJSON(n.Payload)
}

// payloadJSON marshals a payload, which must be a JSON object (nil is {}).
func payloadJSON(p any) (json.RawMessage, error) {
	if p == nil {
		return json.RawMessage(`{}`), nil
	}
	var body []byte
	switch v := p.(type) {
	case json.RawMessage:
		body = v
	case []byte:
		body = v
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("%w: payload: %v", ErrInvalid, err)
		}
		body = b
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return nil, fmt.Errorf("%w: the payload must be a JSON object", ErrInvalid)
	}
	if bytes.Contains(body, []byte(`\u0000`)) {
		return nil, fmt.Errorf("%w: the payload holds a NUL character", ErrInvalid) // jsonb refuses it
	}
	if len(body) > MaxPayload {
		return nil, fmt.Errorf("%w: the payload is over %d bytes", ErrInvalid, MaxPayload)
	}
	return body, nil
}
