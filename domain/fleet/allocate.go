package fleet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/match"
)

// Request asks for a server for one match.
type Request struct {
	MatchID string
	Queue   string
	Mode    string
	Region  string
	Fleet   string // only instances of this fleet; "" for any (the registry)
	Players int
}

// Allocation is the server a match was given.
type Allocation struct {
	Allocator  string       // "fleet" or "agones"
	InstanceID int64        // the registry's instance; 0 for Agones
	GameServer string       // Agones' GameServer name; "" for the registry
	Server     match.Server // the credential the match is opened for
	Host       string
	Port       int
}

// Allocator finds a server for a match. tx is the transaction that will
// record the allocation: an allocator that keeps its state in PostgreSQL
// (the Registry) takes the server in it, so the allocation and everything
// it causes commit together or not at all. An allocator that calls
// elsewhere (Agones) ignores it.
//
// It answers ErrNoCapacity when no server can take the match now, and
// ErrAllocator when it could not find out; both are retried until the
// allocation deadline.
type Allocator interface {
	Allocate(ctx context.Context, tx *sqlx.Tx, req Request) (Allocation, error)
}

// Allocate takes a slot of a ready, live, not draining instance of the
// region (and fleet, when the request names one) with a free slot, packing
// matches onto the fullest instances first so that empty ones can be
// scaled down. The instance row stays locked until tx ends and its count
// is checked again under the lock, so concurrent allocations never overfill
// an instance. Allocations first skip instances that others hold
// (SKIP LOCKED), so they spread over the fleet instead of queueing for the
// fullest instance; only when every candidate is held does one wait for
// them, so that "no capacity" is never an artefact of contention.
//
// Each pass runs in a savepoint of tx. PostgreSQL keeps the lock on a row
// it waited for even when the row no longer qualifies (it filled up), so a
// pass that finds nothing rolls back to let go of such rows; otherwise two
// allocations that saw the instances in different orders could each hold
// the row the other waits for. A waiting pass that still deadlocks (tx
// already holds instances for earlier matches) is tried again, and then
// answered as ErrAllocator, so the match is retried rather than its batch
// failed.
func (r *Registry) Allocate(ctx context.Context, tx *sqlx.Tx, req Request) (Allocation, error) {
	var row struct {
		ID       int64  `db:"id"`
		ServerID int64  `db:"server_id"`
		Host     string `db:"host"`
		Port     int    `db:"port"`
	}
	args := []any{req.Region, r.cfg.HeartbeatTimeout.Milliseconds(), req.Fleet}
	pass := func(q string) error {
		return db.Savepoint(ctx, tx, "fleet_take", func() error { return r.prep.TxGet(ctx, tx, &row, q, args...) })
	}
	err := pass(takeSkipping)
	if errors.Is(err, sql.ErrNoRows) {
		err = pass(takeWaiting)
		for attempt := 1; db.IsRetryable(err) && attempt < waitAttempts; attempt++ {
			err = pass(takeWaiting)
		}
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Allocation{}, ErrNoCapacity
	case db.IsRetryable(err):
		return Allocation{}, fmt.Errorf("%w: take instance slot: %v", ErrAllocator, err)
	case err != nil:
		return Allocation{}, fmt.Errorf("take instance slot: %w", err)
	}
	return Allocation{Allocator: "fleet", InstanceID: row.ID, Server: match.Server{ID: row.ServerID}, Host: row.Host, Port: row.Port}, nil
}

// waitAttempts bounds the waiting passes of one allocation, when they
// deadlock.
const waitAttempts = 3

// take takes a slot of the fullest candidate instance: %s is SKIP LOCKED
// for the first pass, nothing for the waiting one.
const take = `
WITH pick AS (
    SELECT id FROM fleet_instances
    WHERE region = $1 AND state = 'ready' AND allocated < capacity
      AND heartbeat_at > now() - $2 * interval '1 millisecond'
      AND ($3::text = '' OR fleet = $3)
    ORDER BY allocated DESC, id
    LIMIT 1
    FOR UPDATE %s
)
UPDATE fleet_instances i SET allocated = i.allocated + 1 FROM pick WHERE i.id = pick.id
RETURNING i.id, i.server_id, i.host, i.port`

var (
	takeSkipping = fmt.Sprintf(take, "SKIP LOCKED")
	takeWaiting  = fmt.Sprintf(take, "")
)

// Release gives back the slot an allocation took in tx, when the match
// could not be placed after all.
func (r *Registry) Release(ctx context.Context, tx *sqlx.Tx, a Allocation) error {
	if a.InstanceID == 0 {
		return nil
	}
	const q = `UPDATE fleet_instances SET allocated = allocated - 1 WHERE id = $1 AND allocated > 0`
	if _, err := tx.ExecContext(ctx, q, a.InstanceID); err != nil {
		return fmt.Errorf("release instance slot: %w", err)
	}
	return nil
}

// releaser is an Allocator that can give back, in the same transaction,
// what it took.
type releaser interface {
	Release(ctx context.Context, tx *sqlx.Tx, a Allocation) error
}
