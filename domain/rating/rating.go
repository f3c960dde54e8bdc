// Package rating keeps players' skill ratings: the Bayesian approximation
// of Weng and Lin under the Plackett-Luce model (the model OpenSkill
// implements; see Model), one rating per player, pool and season. A pool
// is the queue a match was played in; the season is the one the match
// started in (the empty string when none), so each season's ratings
// start anew.
//
// Ratings move with accepted match results: the outbox consumer "ratings"
// on match.accepted rates every match its PoolOf places in a pool, teams
// ranked by their placement (free-for-all players are teams of one, a
// battle royale's teams rank by where they finished), once per match
// (match.Claim). The matchmaker reads them with Get and matches and shows
// players by their ordinal.
package rating

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/season"
)

// ConsumerName is the outbox consumer that applies accepted matches to
// ratings, and the name under which it claims them (match.Claim).
const ConsumerName = "ratings"

// PoolOf tells the pool a match's ratings belong to, in the consumer's
// transaction; ok false leaves the match unrated (a custom game).
type PoolOf func(ctx context.Context, tx *sqlx.Tx, matchID, mode string) (pool string, ok bool, err error)

// ModePool rates every match in the pool named by its mode id. It stands
// in until the matchmaker maps the matches it formed to their queue.
func ModePool(_ context.Context, _ *sqlx.Tx, _, mode string) (string, bool, error) {
	return mode, true, nil
}

// Config configures a Store.
type Config struct {
	// Params are the model's parameters; the zero value means Defaults().
	Params Params
	// PoolOf places matches in pools; nil means ModePool.
	PoolOf PoolOf
	// Now is the clock (which season is running for Ordinals); nil means
	// time.Now.
	Now func() time.Time
}

// Store reads players' ratings and applies matches to them.
type Store struct {
	conn   *sqlx.DB
	model  Model
	poolOf PoolOf
	now    func() time.Time
}

// New returns a Store.
func New(conn *sqlx.DB, cfg Config) (*Store, error) {
	if cfg.Params == (Params{}) {
		cfg.Params = Defaults()
	}
	m, err := NewModel(cfg.Params)
	if err != nil {
		return nil, err
	}
	if cfg.PoolOf == nil {
		cfg.PoolOf = ModePool
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{conn: conn, model: m, poolOf: cfg.PoolOf, now: cfg.Now}, nil
}

// Model is the model the store rates with (for Ordinal).
func (s *Store) Model() Model { return s.model }

// Get returns the ratings of players in pool and season; a player who has
// played no rated match there has the model's new-player rating.
func (s *Store) Get(ctx context.Context, pool, seasonID string, accountIDs []int64) (map[int64]Rating, error) {
	var rows []struct {
		AccountID int64   `db:"account_id"`
		Mu        float64 `db:"mu"`
		Sigma     float64 `db:"sigma"`
	}
	const q = `SELECT account_id, mu, sigma FROM ratings WHERE pool = $1 AND season = $2 AND account_id = ANY($3)`
	if err := s.conn.SelectContext(ctx, &rows, q, pool, seasonID, pq.Int64Array(accountIDs)); err != nil {
		return nil, fmt.Errorf("load ratings: %w", err)
	}
	out := make(map[int64]Rating, len(accountIDs))
	for _, id := range accountIDs {
		out[id] = s.model.New()
	}
	for _, r := range rows {
		out[r.AccountID] = Rating{Mu: r.Mu, Sigma: r.Sigma}
	}
	return out, nil
}

// Ordinals returns players' ordinals (Model.Ordinal) in pool for the
// season running now, the one a match formed now will be rated in: what
// the matchmaker matches and balances teams by. A player new to the pool
// or the season has a new player's ordinal (0 with the defaults).
func (s *Store) Ordinals(ctx context.Context, pool string, accountIDs []int64) (map[int64]float64, error) {
	sea, _, err := season.At(ctx, s.conn, s.now())
	if err != nil {
		return nil, fmt.Errorf("current season: %w", err)
	}
	rs, err := s.Get(ctx, pool, sea.ID, accountIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]float64, len(rs))
	for id, r := range rs {
		out[id] = s.model.Ordinal(r)
	}
	return out, nil
}

// Team is one team of a rated match: its players and its placement (1 is
// best; teams with equal placements tied).
type Team struct {
	Players   []int64
	Placement int
}

// Apply rates match matchID, played by teams in pool and season, in tx:
// once per match (a match applied before changes nothing and Apply reports
// false). The players' rows are created or locked in account order in one
// statement, so that concurrent matches sharing players apply one after
// the other, each from the ratings the other left. A match of fewer than
// two teams is claimed and changes no rating.
func (s *Store) Apply(ctx context.Context, tx *sqlx.Tx, pool, seasonID, matchID string, teams []Team) (bool, error) {
	ids, err := check(pool, seasonID, teams)
	if err != nil {
		return false, err
	}
	first, err := match.Claim(ctx, tx, ConsumerName, matchID)
	if err != nil || !first {
		return false, err
	}
	if len(teams) < 2 {
		return true, nil
	}
	// ON CONFLICT DO UPDATE locks every existing row it meets, even where
	// its WHERE leaves the row as it is; new players' rows are inserted
	// (and locked) with the new-player rating. Rows are met in account
	// order.
	const lock = `
INSERT INTO ratings AS r (pool, season, account_id, mu, sigma)
SELECT $1, $2, a.id, $4, $5 FROM unnest($3::bigint[]) AS a (id) ORDER BY a.id
ON CONFLICT (account_id, pool, season) DO UPDATE SET matches = r.matches WHERE false`
	fresh := s.model.New()
	if _, err := tx.ExecContext(ctx, lock, pool, seasonID, pq.Int64Array(ids), fresh.Mu, fresh.Sigma); err != nil {
		return false, fmt.Errorf("lock ratings: %w", err)
	}
	var rows []struct {
		AccountID int64   `db:"account_id"`
		Mu        float64 `db:"mu"`
		Sigma     float64 `db:"sigma"`
	}
	const sel = `SELECT account_id, mu, sigma FROM ratings WHERE pool = $1 AND season = $2 AND account_id = ANY($3) ORDER BY account_id`
	if err := tx.SelectContext(ctx, &rows, sel, pool, seasonID, pq.Int64Array(ids)); err != nil {
		return false, fmt.Errorf("load ratings: %w", err)
	}
	if len(rows) != len(ids) {
		return false, fmt.Errorf("load ratings: %d of %d players", len(rows), len(ids))
	}
	// Every player's rating, team by team, in one backing array.
	flat := make([]Rating, 0, len(ids))
	ratings := make([][]Rating, len(teams))
	places := make([]int, len(teams))
	for i, t := range teams {
		start := len(flat)
		for _, id := range t.Players {
			j, _ := slices.BinarySearch(ids, id)
			flat = append(flat, Rating{Mu: rows[j].Mu, Sigma: rows[j].Sigma})
		}
		ratings[i], places[i] = flat[start:len(flat):len(flat)], t.Placement
	}
	if err := s.model.Rate(ratings, places); err != nil {
		return false, fmt.Errorf("match %s: %w", matchID, err)
	}
	mu, sigma := make(pq.Float64Array, len(ids)), make(pq.Float64Array, len(ids))
	k := 0
	for _, t := range teams {
		for _, id := range t.Players {
			j, _ := slices.BinarySearch(ids, id)
			mu[j], sigma[j] = flat[k].Mu, flat[k].Sigma
			k++
		}
	}
	// account_id = ANY($3) lets the key's leading column find the rows
	// whatever the planner's estimates (without it, a fresh table's
	// statistics lead to a scan of the pool joined row by row).
	const upd = `
UPDATE ratings AS r SET mu = u.mu, sigma = u.sigma, matches = r.matches + 1, updated_at = now()
FROM unnest($3::bigint[], $4::float8[], $5::float8[]) AS u (account_id, mu, sigma)
WHERE r.account_id = ANY($3) AND r.pool = $1 AND r.season = $2 AND r.account_id = u.account_id`
	if _, err := tx.ExecContext(ctx, upd, pool, seasonID, pq.Int64Array(ids), mu, sigma); err != nil {
		return false, fmt.Errorf("update ratings: %w", err)
	}
	return true, nil
}

// check validates a match for Apply and returns its players in account
// order.
func check(pool, seasonID string, teams []Team) ([]int64, error) {
	switch {
	case pool == "" || len(pool) > 128:
		return nil, fmt.Errorf("%w: pool must be 1 to 128 characters", ErrInvalid)
	case len(seasonID) > 128:
		return nil, fmt.Errorf("%w: season must be at most 128 characters", ErrInvalid)
	}
	var ids []int64
	for i, t := range teams {
		if len(t.Players) == 0 {
			return nil, fmt.Errorf("%w: team %d has no players", ErrInvalid, i+1)
		}
		if t.Placement < 1 {
			return nil, fmt.Errorf("%w: team %d has placement %d", ErrInvalid, i+1, t.Placement)
		}
		for _, id := range t.Players {
			if id <= 0 {
				return nil, fmt.Errorf("%w: team %d has player %d", ErrInvalid, i+1, id)
			}
		}
		ids = append(ids, t.Players...)
	}
	slices.Sort(ids)
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			return nil, fmt.Errorf("%w: player %d is listed twice", ErrInvalid, ids[i])
		}
	}
	return ids, nil
}

// Consumer is the outbox consumer that applies accepted matches to the
// ratings of the pool PoolOf places them in, for the season the match
// started in. Each match is applied once, in a transaction of its own
// (Batch 1: every transaction locks its players in account order, so
// relay workers may apply matches side by side).
func (s *Store) Consumer() outbox.Consumer {
	return outbox.Consumer{Name: ConsumerName, Topics: []string{match.TopicAccepted}, Handle: s.handleMatch}
}

func (s *Store) handleMatch(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
	var m match.Accepted
	if err := ev.Decode(&m); err != nil {
		return err
	}
	return s.applyMatch(ctx, tx, m)
}

// applyMatch rates an accepted match in tx.
func (s *Store) applyMatch(ctx context.Context, tx *sqlx.Tx, m match.Accepted) error {
	pool, ok, err := s.poolOf(ctx, tx, m.MatchID, m.Mode)
	if err != nil {
		return fmt.Errorf("pool of match %s: %w", m.MatchID, err)
	}
	if !ok {
		return nil
	}
	sea, _, err := season.At(ctx, tx, m.StartedAt)
	if err != nil {
		return fmt.Errorf("season of match %s: %w", m.MatchID, err)
	}
	if _, err := s.Apply(ctx, tx, pool, sea.ID, m.MatchID, Teams(m)); err != nil {
		return fmt.Errorf("rate match %s: %w", m.MatchID, err)
	}
	return nil
}

// Teams groups an accepted match's players by team, in team order; a
// team's placement is its players' (the best of them, should they differ).
func Teams(m match.Accepted) []Team {
	var teams []Team
	index := map[int]int{} // team number -> position in teams
	for _, p := range m.Players {
		i, ok := index[p.Team]
		if !ok {
			i = len(teams)
			index[p.Team] = i
			teams = append(teams, Team{Placement: p.Placement})
		}
		teams[i].Players = append(teams[i].Players, p.AccountID)
		teams[i].Placement = min(teams[i].Placement, p.Placement)
	}
	order := make([]int, 0, len(index))
	for team := range index {
		order = append(order, team)
	}
	slices.Sort(order)
	out := make([]Team, len(order))
	for i, team := range order {
		out[i] = teams[index[team]]
	}
	return out
}
