package matchmaking

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/outbox"
)

// Config tunes a Matchmaker. Zero values take the defaults shown.
type Config struct {
	Tick  time.Duration // how often each held queue is matched: 1s
	Lease time.Duration // a queue's lease lasts this long unless renewed: 3 ticks
	// Holder names this replica in leases: host name and a random suffix.
	Holder string
}

// Matchmaker matches the queues whose lease it holds.
type Matchmaker struct {
	db      *sqlx.DB
	svc     *Service
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
	queues  map[string]*held
}

// held is a queue whose lease this replica holds, with its waiting tickets.
type held struct {
	id       string
	q        Queue
	token    int64
	tickets  map[string]*Ticket
	lastSeq  int64
	lastLeft time.Time // the database clock of the last read of tickets that left
}

// NewMatchmaker returns a matchmaker. svc pushes ticket changes to players;
// reg (may be nil) receives its metrics.
func NewMatchmaker(conn *sqlx.DB, svc *Service, cfg Config, reg prometheus.Registerer, log *slog.Logger) *Matchmaker {
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 3 * cfg.Tick
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.Holder = host + "-" + hex.EncodeToString(b[:])
	}
	if log == nil {
		log = slog.Default()
	}
	return &Matchmaker{db: conn, svc: svc, cfg: cfg, log: log, metrics: newMetrics(reg), now: time.Now, queues: map[string]*held{}}
}

// Run matches every Tick until ctx ends, then gives up its leases so
// another replica takes over at once.
func (m *Matchmaker) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Tick)
	defer t.Stop()
	for {
		if err := m.TickOnce(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("matchmaking: tick", "err", err)
		}
		select {
		case <-ctx.Done():
			m.release()
			return nil
		case <-t.C:
		}
	}
}

// TickOnce takes or renews the lease of every published queue it can and
// matches those it holds.
func (m *Matchmaker) TickOnce(ctx context.Context) error {
	bodies, err := content.PublishedBodies(ctx, m.db, KindQueue)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(bodies)) {
		if err := m.tickQueue(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("queue %s: %w", id, err))
		}
	}
	for id := range m.queues {
		if _, ok := bodies[id]; !ok {
			delete(m.queues, id) // unpublished
			m.metrics.forget(id, false)
		}
	}
	return errors.Join(errs...)
}

func (m *Matchmaker) tickQueue(ctx context.Context, id string) (err error) {
	start := time.Now()
	token, ok, err := m.lease(ctx, id)
	if err != nil || !ok {
		delete(m.queues, id) // another replica holds it: start afresh if it comes back
		m.metrics.forget(id, true)
		if err != nil {
			m.metrics.observeTick(id, start, err)
		}
		return err
	}
	h := m.queues[id]
	taken := h == nil || h.token != token
	if taken {
		h = &held{id: id, token: token, tickets: map[string]*Ticket{}}
		m.queues[id] = h
		m.log.Info("matchmaking: holding queue", "queue", id, "holder", m.cfg.Holder, "token", token)
	}
	m.metrics.holding(id, taken)
	defer func() { m.metrics.observeTick(id, start, err) }()
	if h.q, err = LoadQueue(ctx, m.db, id); err != nil {
		return err
	}
	if err := m.sync(ctx, h); err != nil {
		return err
	}
	now := m.now()
	if h.q.Backfill {
		if err := m.backfill(ctx, h, now); err != nil {
			if errors.Is(err, errLeaseLost) {
				delete(m.queues, id)
				m.metrics.forget(id, true)
				return nil
			}
			return err
		}
	}
	for _, region := range h.q.Regions {
		for _, mt := range h.q.Tick(region, slices.Collect(maps.Values(h.tickets)), now) {
			err := m.commit(ctx, h, mt, now)
			if errors.Is(err, errLeaseLost) {
				delete(m.queues, id)
				m.metrics.forget(id, true)
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	m.metrics.observeDepth(h, now)
	return nil
}

// lease takes or renews the queue's lease and answers its token, or false
// when another replica holds it.
func (m *Matchmaker) lease(ctx context.Context, queue string) (int64, bool, error) {
	var token int64
	err := m.db.GetContext(ctx, &token, `INSERT INTO mm_leases (queue, holder, token, expires_at) VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
		ON CONFLICT (queue) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
			token = CASE WHEN mm_leases.holder = EXCLUDED.holder THEN mm_leases.token ELSE mm_leases.token + 1 END
		WHERE mm_leases.holder = EXCLUDED.holder OR mm_leases.expires_at < now()
		RETURNING token`, queue, m.cfg.Holder, m.cfg.Lease.Milliseconds())
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return token, err == nil, err
}

// release gives up this replica's leases (on a clean shutdown).
func (m *Matchmaker) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := m.db.ExecContext(ctx, `UPDATE mm_leases SET expires_at = now() - interval '1 second' WHERE holder = $1`, m.cfg.Holder); err != nil {
		m.log.Warn("matchmaking: release leases", "err", err)
	}
}

// sync reads the tickets that started waiting and those that left since
// the last tick.
func (m *Matchmaker) sync(ctx context.Context, h *held) error {
	var rows []ticketRow
	if err := m.db.SelectContext(ctx, &rows, `SELECT `+ticketCols+` FROM mm_tickets
		WHERE queue = $1 AND state = 'waiting' AND seq > $2 ORDER BY seq`, h.id, h.lastSeq); err != nil {
		return err
	}
	for _, r := range rows {
		t, err := r.ticket()
		if err != nil {
			m.log.Warn("matchmaking: unreadable ticket", "ticket", r.ID, "err", err)
			continue
		}
		h.tickets[t.ID] = t
		h.lastSeq = max(h.lastSeq, r.Seq)
	}
	if h.lastLeft.IsZero() {
		return m.db.GetContext(ctx, &h.lastLeft, `SELECT now()`)
	}
	var left []struct {
		ID  string    `db:"id"`
		Now time.Time `db:"now"`
	}
	// Tickets that stopped waiting (cancelled, or matched by a replica that
	// held the lease before) since the last read, with a margin for
	// transactions that committed late.
	if err := m.db.SelectContext(ctx, &left, `SELECT id, now() FROM mm_tickets
		WHERE queue = $1 AND state <> 'waiting' AND updated_at >= $2::timestamptz - interval '10 seconds'
		UNION ALL SELECT '', now()`, h.id, h.lastLeft); err != nil {
		return err
	}
	for _, l := range left {
		if l.ID != "" {
			delete(h.tickets, l.ID)
		}
		h.lastLeft = l.Now
	}
	return nil
}

var errLeaseLost = errors.New("matchmaking: lease lost")

// commit records a formed match, its tickets matched, and TopicFormed for
// sessions, in one transaction that holds the lease's row: a replica whose
// lease was taken over commits nothing. A ticket cancelled meanwhile voids
// the match (its other tickets wait for the next tick).
func (m *Matchmaker) commit(ctx context.Context, h *held, mt Match, now time.Time) error {
	f := Formed{MatchID: newMatchID(), Queue: h.id, Mode: h.q.Mode, Region: mt.Region, FormedAt: now.UTC(), Teams: make([]Team, len(mt.Teams))}
	var ids []string
	oldest := now
	for i, team := range mt.Teams {
		for _, t := range team {
			ids = append(ids, t.ID)
			f.Teams[i].Players = append(f.Teams[i].Players, t.Players...)
			oldest = minTime(oldest, t.Created)
		}
	}
	var gone []string
	err := db.InTx(ctx, m.db, nil, func(tx *sqlx.Tx) error {
		if err := m.holdLease(ctx, tx, h); err != nil {
			return err
		}
		var matched []string
		if err := tx.SelectContext(ctx, &matched, `UPDATE mm_tickets SET state = 'matched', match_id = $2, updated_at = now()
			WHERE id = ANY($1) AND state = 'waiting' RETURNING id`, pq.StringArray(ids), f.MatchID); err != nil {
			return err
		}
		if len(matched) != len(ids) {
			gone = missing(ids, matched)
			return errVoid
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mm_ticket_players SET active = false WHERE ticket_id = ANY($1)`, pq.StringArray(ids)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mm_matches (match_id, queue, pool, region, players, full_match, spread, imbalance, max_wait_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, f.MatchID, h.id, h.q.pool(h.id), mt.Region, mt.Players(), mt.Full,
			mt.Spread(), mt.Imbalance(), now.Sub(oldest).Milliseconds()); err != nil {
			return err
		}
		_, err := outbox.Enqueue(ctx, tx, TopicFormed, f)
		return err
	})
	if errors.Is(err, errVoid) {
		for _, id := range gone {
			delete(h.tickets, id)
		}
		return nil
	}
	if err != nil {
		return err
	}
	for _, id := range ids {
		delete(h.tickets, id)
	}
	m.metrics.observeMatch(h.id, mt, now)
	m.tellMatched(ctx, h.id, mt.Teams, f.MatchID)
	return nil
}

var errVoid = errors.New("matchmaking: a ticket left before its match committed")

func missing(all, found []string) []string {
	var out []string
	for _, id := range all {
		if !slices.Contains(found, id) {
			out = append(out, id)
		}
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func newMatchID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "mm_" + lowerBase32.EncodeToString(b[:])
}
