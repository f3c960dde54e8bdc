package fleet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
)

// Consumer names of this package.
const (
	// ConsumerAllocate allocates formed matches (matchmaking.TopicFormed).
	ConsumerAllocate = "sessions.allocate"
	// ConsumerResults ends a match's allocation when its results are
	// accepted (match.TopicAccepted), freeing its server's slot.
	ConsumerResults = "sessions.results"
)

// SessionsConfig tunes Sessions. Zero values take the defaults shown.
type SessionsConfig struct {
	// AllocateWithin is how long a formed match may wait for a server
	// before it goes back to the matchmaker: 30s.
	AllocateWithin time.Duration
	// RetryBase is the wait after the first attempt that found no server,
	// doubling after each: 250ms. The retry loop looks for due matches this
	// often.
	RetryBase time.Duration
	// RetryMax is the longest wait between attempts: 5s.
	RetryMax time.Duration
	// Fleet, when set, is the fleet matches are allocated from.
	Fleet string
	// Batch is how many formed matches the consumer allocates in one
	// transaction: 1 (each its own delivery; the relay runs several at
	// once). Above 1, batches run one at a time across every relay and
	// share one commit: what the registry allocator wants at peak (one
	// commit's WAL flush and one NOTIFY for many matches). An allocator
	// that calls out (Agones) keeps 1, so its calls run in parallel.
	Batch int
}

func (c SessionsConfig) withDefaults() SessionsConfig {
	if c.AllocateWithin <= 0 {
		c.AllocateWithin = 30 * time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 250 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 5 * time.Second
	}
	return c
}

// expirySlack is how long past its mode's longest duration an allocated
// match keeps its slot before the sweeper ends it (its results would be
// quarantined by then anyway).
const expirySlack = 5 * time.Minute

// Sessions takes formed matches to servers and keeps track of them while
// they run.
type Sessions struct {
	conn    *sqlx.DB
	alloc   Allocator
	matches *match.Store
	cfg     SessionsConfig
	log     *slog.Logger

	outcomes *prometheus.CounterVec
	wait     prometheus.Histogram

	mu    sync.Mutex
	modes map[string]cachedMode

	backfill Backfiller // nil: no backfill
}

// Backfiller asks the matchmaker for players to fill the seats of a running
// match, and withdraws the request when the match ends, in the caller's
// transaction (matchmaking.Service). The matchmaker ignores matches it did
// not form and queues that do not backfill.
type Backfiller interface {
	RequestBackfill(ctx context.Context, tx sqlx.ExtContext, matchID string, free []int) error
	CancelBackfill(ctx context.Context, tx sqlx.ExtContext, matchID string) error
}

// WithBackfill makes s ask b for players when players leave a running
// match, and withdraw the request when it ends; it returns s.
func (s *Sessions) WithBackfill(b Backfiller) *Sessions {
	s.backfill = b
	return s
}

// NewSessions returns the sessions service, allocating with alloc and
// opening matches in matches. reg, when not nil, gets its metrics.
func NewSessions(conn *sqlx.DB, alloc Allocator, matches *match.Store, cfg SessionsConfig, log *slog.Logger, reg prometheus.Registerer) *Sessions {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sessions{conn: conn, alloc: alloc, matches: matches, cfg: cfg.withDefaults(), log: log, modes: map[string]cachedMode{},
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "muster_sessions_allocations_total",
			Help: "Attempts to allocate a formed match, by outcome (allocated, no_server: tried again later, failed: given back to the matchmaker).",
		}, []string{"outcome"}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "muster_sessions_allocation_wait_seconds",
			Help:    "From a formed match's arrival to its allocation.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	if reg != nil {
		reg.MustRegister(s.outcomes, s.wait)
	}
	return s
}

// Consumers are the outbox consumers of sessions: allocating formed
// matches and ending the allocations of matches whose results were
// accepted.
func (s *Sessions) Consumers() []outbox.Consumer {
	allocate := outbox.Consumer{Name: ConsumerAllocate, Topics: []string{matchmaking.TopicFormed},
		Handle: func(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
			return s.handleFormed(ctx, tx, []outbox.Event{ev})
		}}
	if s.cfg.Batch > 1 {
		allocate.Handle, allocate.HandleBatch, allocate.Batch = nil, s.handleFormed, s.cfg.Batch
	}
	return []outbox.Consumer{allocate,
		{Name: ConsumerResults, Topics: []string{match.TopicAccepted}, Handle: s.handleAccepted}}
}

// pending is an allocation waiting for a server.
type pending struct {
	MatchID   string          `db:"match_id"`
	Formed    json.RawMessage `db:"formed"`
	CreatedAt time.Time       `db:"created_at"`
	formed    matchmaking.Formed
}

// handleFormed records formed matches and tries to allocate each at once.
// A match id seen before changes nothing, so a redelivered event, or the
// matchmaker sending a match twice, allocates it once.
func (s *Sessions) handleFormed(ctx context.Context, tx *sqlx.Tx, evs []outbox.Event) error {
	var ids, queues, modes, regions, docs pq.StringArray
	formed := map[string]matchmaking.Formed{}
	for _, ev := range evs {
		var f matchmaking.Formed
		if err := ev.Decode(&f); err != nil {
			return err
		}
		if err := checkFormed(f); err != nil {
			s.log.Error("formed match refused", "match_id", f.MatchID, "err", err)
			s.outcomes.WithLabelValues("failed").Inc()
			if _, err := outbox.Enqueue(ctx, tx, matchmaking.TopicAllocationFailed,
				matchmaking.AllocationFailed{MatchID: f.MatchID, Queue: f.Queue, Region: f.Region, Reason: ReasonInvalidMatch}); err != nil {
				return err
			}
			continue
		}
		if f.Backfill {
			if err := s.joinBackfill(ctx, tx, f); err != nil {
				return err
			}
			continue
		}
		if _, dup := formed[f.MatchID]; dup {
			continue
		}
		formed[f.MatchID] = f
		ids, queues, modes, regions = append(ids, f.MatchID), append(queues, f.Queue), append(modes, f.Mode), append(regions, f.Region)
		docs = append(docs, string(ev.Payload))
	}
	if len(ids) == 0 {
		return nil
	}
	// Matches seen before are left out (ON CONFLICT): only new ones come
	// back, in input order.
	const ins = `INSERT INTO fleet_allocations (match_id, queue, mode, region, formed, deadline)
		SELECT u.id, u.queue, u.mode, u.region, u.doc::jsonb, now() + $6 * interval '1 millisecond'
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u (id, queue, mode, region, doc, n)
		ORDER BY u.n
		ON CONFLICT (match_id) DO NOTHING RETURNING match_id, created_at`
	var fresh []pending
	if err := tx.SelectContext(ctx, &fresh, ins, ids, queues, modes, regions, docs, s.cfg.AllocateWithin.Milliseconds()); err != nil {
		return fmt.Errorf("record formed matches: %w", err)
	}
	w := &placed{}
	for _, p := range fresh {
		p.formed = formed[p.MatchID]
		if err := s.try(ctx, tx, p, w); err != nil {
			return err
		}
	}
	return s.flush(ctx, tx, w)
}

// joinBackfill sends the players the matchmaker backfilled into a running
// match to its server: they join the match's roster (so their results are
// accepted) and its players, and get match.found with its address. A match
// that is no longer running sends them match.lost instead (reason
// match_over), so that they queue again; no allocation_failed goes back, as
// it would requeue the match's original players too.
func (s *Sessions) joinBackfill(ctx context.Context, tx *sqlx.Tx, f matchmaking.Formed) error {
	var a struct {
		State    string        `db:"state"`
		ServerID sql.NullInt64 `db:"server_id"`
		Host     string        `db:"host"`
		Port     int           `db:"port"`
	}
	err := tx.GetContext(ctx, &a, `SELECT state, server_id, host, port FROM fleet_allocations WHERE match_id = $1 FOR UPDATE`, f.MatchID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("load backfilled match: %w", err)
	}
	var public pq.StringArray
	var accounts, teams pq.Int64Array
	for i, t := range f.Teams {
		for _, p := range t.Players {
			public, accounts, teams = append(public, p.PlayerID), append(accounts, p.AccountID), append(teams, int64(i+1))
		}
	}
	over := func(cause error) error {
		s.log.Warn("backfilled players reached a match that is over", "match_id", f.MatchID, "players", len(accounts), "err", cause)
		news := make([]notify.New, len(accounts))
		for i, acc := range accounts {
			news[i] = notify.New{AccountID: acc, Kind: KindMatchLost, Payload: LostPayload{MatchID: f.MatchID, Reason: "match_over"}}
		}
		return notify.SendMany(ctx, tx, news)
	}
	if err != nil || a.State != AllocAllocated {
		return over(fmt.Errorf("allocation %q", a.State))
	}
	if _, err := s.matches.JoinIn(ctx, tx, match.Server{ID: a.ServerID.Int64}, f.MatchID, public); err != nil {
		if errors.Is(err, match.ErrAlreadyReported) || errors.Is(err, match.ErrMatchNotFound) || isPermanent(err) {
			return over(err)
		}
		return err
	}
	const players = `INSERT INTO fleet_match_players (match_id, account_id, player_id, team)
		SELECT $1, a, p, t FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS u (a, p, t)
		ON CONFLICT (match_id, account_id) DO UPDATE SET team = EXCLUDED.team, connected = false, left_at = NULL`
	if _, err := tx.ExecContext(ctx, players, f.MatchID, accounts, public, teams); err != nil {
		return fmt.Errorf("record backfilled players: %w", err)
	}
	news := make([]notify.New, len(accounts))
	for i, acc := range accounts {
		news[i] = notify.New{AccountID: acc, Kind: KindMatchFound, Payload: FoundPayload{MatchID: f.MatchID, Queue: f.Queue, Mode: f.Mode,
			Region: f.Region, Address: a.Host, Port: a.Port, Team: int(teams[i])}}
	}
	s.outcomes.WithLabelValues("backfilled").Add(float64(len(accounts)))
	return notify.SendMany(ctx, tx, news)
}

// askBackfill asks the matchmaker to fill the seats of matchID's players
// who left (and were not replaced yet), per team, in tx; with none free it
// withdraws the request.
func (s *Sessions) askBackfill(ctx context.Context, tx *sqlx.Tx, matchID string) error {
	if s.backfill == nil {
		return nil
	}
	var doc []byte
	if err := tx.GetContext(ctx, &doc, `SELECT formed FROM fleet_allocations WHERE match_id = $1`, matchID); err != nil {
		return fmt.Errorf("load formed match: %w", err)
	}
	var f matchmaking.Formed
	if err := json.Unmarshal(doc, &f); err != nil {
		return fmt.Errorf("decode formed match %s: %w", matchID, err)
	}
	var active []struct {
		Team int `db:"team"`
		N    int `db:"n"`
	}
	const q = `SELECT team, count(*) AS n FROM fleet_match_players
		WHERE match_id = $1 AND (connected OR left_at IS NULL) GROUP BY team`
	if err := tx.SelectContext(ctx, &active, q, matchID); err != nil {
		return fmt.Errorf("count match players: %w", err)
	}
	free := make([]int, len(f.Teams))
	for i, t := range f.Teams {
		free[i] = len(t.Players)
	}
	for _, a := range active {
		if a.Team >= 1 && a.Team <= len(free) {
			free[a.Team-1] = max(free[a.Team-1]-a.N, 0)
		}
	}
	if err := s.backfill.RequestBackfill(ctx, tx, matchID, free); err != nil {
		return fmt.Errorf("request backfill: %w", err)
	}
	return nil
}

// checkFormed refuses a formed match that can never be allocated.
func checkFormed(f matchmaking.Formed) error {
	switch {
	case f.MatchID == "" || len(f.MatchID) > 64:
		return fmt.Errorf("%w: match id", ErrInvalid)
	case f.Mode == "" || f.Region == "":
		return fmt.Errorf("%w: a formed match needs a mode and a region", ErrInvalid)
	case len(f.AccountIDs()) == 0:
		return fmt.Errorf("%w: a formed match needs players", ErrInvalid)
	}
	for _, t := range f.Teams {
		for _, p := range t.Players {
			if p.AccountID <= 0 || p.PlayerID == "" {
				return fmt.Errorf("%w: every player needs an account id and a player id", ErrInvalid)
			}
		}
	}
	return nil
}

// permanent errors make a match impossible to open whatever the server:
// the match fails at once instead of waiting for the deadline.
var permanent = []error{ErrInvalid, match.ErrUnknownMode, match.ErrInvalidRoster, match.ErrMatchExists}

func isPermanent(err error) bool {
	for _, e := range permanent {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// try allocates p in tx, adding what to write to w. No server now
// reschedules it (or fails it past its deadline); a match that cannot be
// opened fails at once, its slot given back. Those are decided by reads,
// so tx stays usable; an error is the database's, after which the caller
// rolls tx back.
func (s *Sessions) try(ctx context.Context, tx *sqlx.Tx, p pending, w *placed) error {
	f := p.formed
	got, err := s.alloc.Allocate(ctx, tx, Request{MatchID: f.MatchID, Queue: f.Queue, Mode: f.Mode, Region: f.Region,
		Fleet: s.cfg.Fleet, Players: len(f.AccountIDs())})
	if err == nil {
		if err = s.place(ctx, tx, f, got, w); isPermanent(err) {
			if r, ok := s.alloc.(releaser); ok {
				if rerr := r.Release(ctx, tx, got); rerr != nil {
					return rerr
				}
			}
			if got.GameServer != "" {
				s.log.Warn("an Agones game server was allocated for a match that cannot be opened; it stays allocated until it shuts down",
					"match_id", f.MatchID, "game_server", got.GameServer, "err", err)
			}
		}
	}
	switch {
	case err == nil:
		s.outcomes.WithLabelValues("allocated").Inc()
		s.wait.Observe(time.Since(p.CreatedAt).Seconds())
		return nil
	case errors.Is(err, ErrNoCapacity), errors.Is(err, ErrAllocator):
		return s.later(ctx, tx, f, err)
	case isPermanent(err):
		s.log.Error("formed match cannot be opened", "match_id", f.MatchID, "err", err)
		return s.fail(ctx, tx, f, ReasonInvalidMatch, err)
	default:
		return fmt.Errorf("allocate match %s: %w", f.MatchID, err)
	}
}

// placed collects the writes of the matches placed in one transaction, made
// together by flush.
type placed struct {
	ids, allocators, gameServers, hosts pq.StringArray
	instances, servers, ports, expires  pq.Int64Array

	pMatch, pPublic pq.StringArray
	pAccount, pTeam pq.Int64Array
	news            []notify.New
}

// place opens the match for the allocated server (the one write it makes
// now: matches belong to the match package) and adds to w the allocation,
// its players and their match.found notifications.
func (s *Sessions) place(ctx context.Context, tx *sqlx.Tx, f matchmaking.Formed, got Allocation, w *placed) error {
	maxDuration, err := s.maxDuration(ctx, tx, f.Mode)
	if err != nil {
		return err
	}
	var public pq.StringArray
	for _, t := range f.Teams {
		for _, p := range t.Players {
			public = append(public, p.PlayerID)
		}
	}
	if _, err := s.matches.OpenIn(ctx, tx, got.Server, f.MatchID, f.Mode, public); err != nil {
		return err
	}
	w.ids, w.allocators, w.gameServers, w.hosts = append(w.ids, f.MatchID), append(w.allocators, got.Allocator), append(w.gameServers, got.GameServer), append(w.hosts, got.Host)
	w.instances, w.servers, w.ports = append(w.instances, got.InstanceID), append(w.servers, got.Server.ID), append(w.ports, int64(got.Port))
	w.expires = append(w.expires, (maxDuration + expirySlack).Milliseconds())
	for i, t := range f.Teams {
		for _, p := range t.Players {
			w.pMatch, w.pPublic, w.pAccount, w.pTeam = append(w.pMatch, f.MatchID), append(w.pPublic, p.PlayerID), append(w.pAccount, p.AccountID), append(w.pTeam, int64(i+1))
			w.news = append(w.news, notify.New{AccountID: p.AccountID, Kind: KindMatchFound, Payload: FoundPayload{
				MatchID: f.MatchID, Queue: f.Queue, Mode: f.Mode, Region: f.Region, Address: got.Host, Port: got.Port, Team: i + 1}})
		}
	}
	return nil
}

// flush records the placed allocations and their players and asks for the
// players' notifications, in three statements.
func (s *Sessions) flush(ctx context.Context, tx *sqlx.Tx, w *placed) error {
	if len(w.ids) == 0 {
		return nil
	}
	const upd = `UPDATE fleet_allocations a SET state = 'allocated', allocator = u.allocator, instance_id = nullif(u.instance, 0),
		server_id = u.server, game_server = u.game_server, host = u.host, port = u.port, allocated_at = now(),
		expires_at = now() + u.expires * interval '1 millisecond', attempts = a.attempts + 1, last_error = ''
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])
			AS u (match_id, allocator, instance, server, game_server, host, port, expires)
		WHERE a.match_id = u.match_id`
	if _, err := tx.ExecContext(ctx, upd, w.ids, w.allocators, w.instances, w.servers, w.gameServers, w.hosts, w.ports, w.expires); err != nil {
		return fmt.Errorf("record allocations: %w", err)
	}
	const players = `INSERT INTO fleet_match_players (match_id, account_id, player_id, team)
		SELECT m, a, p, t FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) AS u (m, a, p, t)`
	if _, err := tx.ExecContext(ctx, players, w.pMatch, w.pAccount, w.pPublic, w.pTeam); err != nil {
		return fmt.Errorf("record match players: %w", err)
	}
	for news := w.news; len(news) > 0; {
		n := min(len(news), notify.MaxBatch)
		if err := notify.SendMany(ctx, tx, news[:n]); err != nil {
			return fmt.Errorf("tell players: %w", err)
		}
		news = news[n:]
	}
	return nil
}

// modeTTL is how long a mode's longest duration is remembered.
const modeTTL = 30 * time.Second

type cachedMode struct {
	max   time.Duration
	until time.Time
}

// maxDuration is a mode's longest match (match.ErrUnknownMode when it is
// not published), cached for modeTTL.
func (s *Sessions) maxDuration(ctx context.Context, tx *sqlx.Tx, mode string) (time.Duration, error) {
	now := time.Now()
	s.mu.Lock()
	c, ok := s.modes[mode]
	s.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.max, nil
	}
	m, err := match.LoadMode(ctx, tx, mode)
	if err != nil {
		return 0, err
	}
	c = cachedMode{max: time.Duration(m.MaxDurationSeconds) * time.Second, until: now.Add(modeTTL)}
	s.mu.Lock()
	if len(s.modes) > 1000 {
		clear(s.modes)
	}
	s.modes[mode] = c
	s.mu.Unlock()
	return c.max, nil
}

// later schedules another attempt with backoff, no later than the
// deadline; a match past its deadline fails.
func (s *Sessions) later(ctx context.Context, tx *sqlx.Tx, f matchmaking.Formed, cause error) error {
	var attempts int
	if err := tx.GetContext(ctx, &attempts, `SELECT attempts FROM fleet_allocations WHERE match_id = $1`, f.MatchID); err != nil {
		return fmt.Errorf("load allocation: %w", err)
	}
	wait := s.backoff(attempts + 1)
	const upd = `UPDATE fleet_allocations SET attempts = attempts + 1, last_error = $2,
		next_attempt_at = least(clock_timestamp() + $3 * interval '1 millisecond', deadline)
		WHERE match_id = $1 AND deadline > clock_timestamp()`
	res, err := tx.ExecContext(ctx, upd, f.MatchID, cause.Error(), wait.Milliseconds())
	if err != nil {
		return fmt.Errorf("reschedule allocation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		reason := ReasonNoServer
		if errors.Is(cause, ErrAllocator) {
			reason = ReasonAllocator
		}
		return s.fail(ctx, tx, f, reason, cause)
	}
	s.outcomes.WithLabelValues("no_server").Inc()
	return nil
}

// backoff is the wait before attempt n+1: doubling from RetryBase, capped
// at RetryMax, with jitter.
func (s *Sessions) backoff(n int) time.Duration {
	d := s.cfg.RetryBase << min(n-1, 20)
	if d <= 0 || d > s.cfg.RetryMax {
		d = s.cfg.RetryMax
	}
	return d/2 + rand.N(d/2+1)
}

// fail gives the match back to the matchmaker.
func (s *Sessions) fail(ctx context.Context, tx *sqlx.Tx, f matchmaking.Formed, reason string, cause error) error {
	const upd = `UPDATE fleet_allocations SET state = 'failed', ended_at = now(), end_reason = $2, last_error = $3,
		attempts = attempts + 1 WHERE match_id = $1`
	if _, err := tx.ExecContext(ctx, upd, f.MatchID, reason, cause.Error()); err != nil {
		return fmt.Errorf("fail allocation: %w", err)
	}
	s.outcomes.WithLabelValues("failed").Inc()
	s.log.Warn("formed match given back to the matchmaker", "match_id", f.MatchID, "queue", f.Queue, "region", f.Region, "reason", reason, "err", cause)
	_, err := outbox.Enqueue(ctx, tx, matchmaking.TopicAllocationFailed,
		matchmaking.AllocationFailed{MatchID: f.MatchID, Queue: f.Queue, Region: f.Region, Reason: reason})
	return err
}

// RetryDue tries again every pending match whose next attempt is due, each
// in a transaction of its own, until none is due. It returns how many it
// tried. Several processes may run it at once: each claims its matches with
// SKIP LOCKED.
func (s *Sessions) RetryDue(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		ok, err := s.retryOne(ctx)
		if err != nil || !ok {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *Sessions) retryOne(ctx context.Context) (bool, error) {
	tx, err := s.conn.BeginTxx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin retry: %w", err)
	}
	defer tx.Rollback()
	var p pending
	const claim = `SELECT match_id, formed, created_at FROM fleet_allocations
		WHERE state = 'pending' AND next_attempt_at <= clock_timestamp()
		ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED`
	err = tx.GetContext(ctx, &p, claim)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim pending allocation: %w", err)
	}
	if err := json.Unmarshal(p.Formed, &p.formed); err != nil {
		return false, fmt.Errorf("decode formed match %s: %w", p.MatchID, err)
	}
	w := &placed{}
	if err := s.try(ctx, tx, p, w); err != nil {
		return false, err
	}
	if err := s.flush(ctx, tx, w); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit retry: %w", err)
	}
	return true, nil
}

// Run retries pending matches every RetryBase until ctx ends.
func (s *Sessions) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.RetryBase)
	defer t.Stop()
	for {
		if _, err := s.RetryDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("sessions retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// handleAccepted ends the allocation of a match whose results were
// accepted.
func (s *Sessions) handleAccepted(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
	var a match.Accepted
	if err := ev.Decode(&a); err != nil {
		return err
	}
	ended, err := endIn(ctx, tx, a.MatchID, "results")
	if err != nil || !ended || s.backfill == nil {
		return err
	}
	return s.backfill.CancelBackfill(ctx, tx, a.MatchID)
}

// endIn ends an allocated match and frees its instance's slot; it reports
// whether the match was allocated (anything else is left as it is).
func endIn(ctx context.Context, tx sqlx.ExtContext, matchID, reason string) (bool, error) {
	var instance sql.NullInt64
	const upd = `UPDATE fleet_allocations SET state = 'ended', ended_at = now(), end_reason = $2
		WHERE match_id = $1 AND state = 'allocated' RETURNING instance_id`
	err := sqlx.GetContext(ctx, tx, &instance, upd, matchID, reason)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("end allocation: %w", err)
	}
	if instance.Valid {
		const free = `UPDATE fleet_instances SET allocated = allocated - 1 WHERE id = $1 AND state <> 'gone' AND allocated > 0`
		if _, err := tx.ExecContext(ctx, free, instance.Int64); err != nil {
			return false, fmt.Errorf("free instance slot: %w", err)
		}
	}
	return true, nil
}

// tellLost sends KindMatchLost to the players of matches, in tx.
func tellLost(ctx context.Context, tx *sqlx.Tx, matchIDs []string, reason string) error {
	if len(matchIDs) == 0 {
		return nil
	}
	var rows []struct {
		MatchID   string `db:"match_id"`
		AccountID int64  `db:"account_id"`
	}
	const q = `SELECT match_id, account_id FROM fleet_match_players WHERE match_id = ANY($1) ORDER BY match_id, account_id`
	if err := tx.SelectContext(ctx, &rows, q, pq.StringArray(matchIDs)); err != nil {
		return fmt.Errorf("load lost matches' players: %w", err)
	}
	news := make([]notify.New, len(rows))
	for i, r := range rows {
		news[i] = notify.New{AccountID: r.AccountID, Kind: KindMatchLost, Payload: LostPayload{MatchID: r.MatchID, Reason: reason}}
	}
	for len(news) > 0 {
		n := min(len(news), notify.MaxBatch)
		if err := notify.SendMany(ctx, tx, news[:n]); err != nil {
			return err
		}
		news = news[n:]
	}
	return nil
}
