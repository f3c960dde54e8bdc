package match

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/outbox"
)

// Match statuses.
const (
	StatusOpen        = "open"
	StatusAccepted    = "accepted"
	StatusQuarantined = "quarantined"
	StatusDiscarded   = "discarded"
)

// Match is a match as the backend knows it.
type Match struct {
	ID         string        `db:"id" json:"id"`
	ServerID   int64         `db:"server_id" json:"server_id"`
	Mode       string        `db:"mode" json:"mode"`
	Roster     pq.Int64Array `db:"roster" json:"roster"`
	StartedAt  time.Time     `db:"started_at" json:"started_at"`
	Status     string        `db:"status" json:"status"`
	Result     []byte        `db:"result" json:"-"` // the reported Result as JSON; nil while open
	ReportedAt *time.Time    `db:"reported_at" json:"reported_at,omitempty"`
	Reason     string        `db:"reason" json:"reason,omitempty"`
	ReviewedBy string        `db:"reviewed_by" json:"reviewed_by,omitempty"`
	ReviewedAt *time.Time    `db:"reviewed_at" json:"reviewed_at,omitempty"`
}

const matchCols = `id, server_id, mode, roster, started_at, status, result, reported_at, reason, reviewed_by, reviewed_at`

// Receipt answers a report.
type Receipt struct {
	MatchID  string `json:"match_id"`
	Status   string `json:"status"`           // accepted or quarantined
	Reason   string `json:"reason,omitempty"` // why it was quarantined
	Replayed bool   `json:"replayed"`         // the same results were reported before; nothing changed now
}

// Store opens matches and takes their results.
type Store struct {
	conn *sqlx.DB
	now  func() time.Time
}

// New returns a Store. now is the clock (nil: time.Now).
func New(conn *sqlx.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{conn: conn, now: now}
}

// slack is how much longer than its mode's maximum a match may appear to
// last (clock skew, the report's trip) before it is quarantined.
const slack = 5 * time.Minute

// resolve maps public player ids to account ids; an unknown or inactive
// player is an error naming it.
func resolve(ctx context.Context, q sqlx.QueryerContext, publicIDs []string) (map[string]int64, error) {
	var rows []struct {
		ID       int64  `db:"id"`
		PublicID string `db:"public_id"`
	}
	const sel = `SELECT id, public_id FROM accounts WHERE public_id = ANY($1) AND status = 'active'`
	if err := sqlx.SelectContext(ctx, q, &rows, sel, pq.StringArray(publicIDs)); err != nil {
		return nil, fmt.Errorf("resolve players: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.PublicID] = r.ID
	}
	for _, p := range publicIDs {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("%w: player %q is unknown or not active", ErrInvalidRoster, p)
		}
	}
	return out, nil
}

// Open records a match that server hosts, with mode and its players
// (public ids). Opening the same match again with the same values answers
// the match as it is.
func (s *Store) Open(ctx context.Context, server Server, matchID, modeID string, players []string) (Match, error) {
	return s.OpenIn(ctx, s.conn, server, matchID, modeID, players)
}

// OpenIn is Open through q: the caller's transaction when opening the match
// is part of a larger change (sessions opens a formed match for the server
// it allocated, in the transaction that records the allocation), or the
// pool.
func (s *Store) OpenIn(ctx context.Context, q sqlx.ExtContext, server Server, matchID, modeID string, players []string) (Match, error) {
	if !matchPattern(matchID) {
		return Match{}, fmt.Errorf("%w: match id: 1 to 64 letters, digits, '_', '.', ':' or '-'", ErrInvalidRoster)
	}
	mode, err := LoadMode(ctx, q, modeID)
	if err != nil {
		return Match{}, err
	}
	switch {
	case len(players) == 0:
		return Match{}, fmt.Errorf("%w: no players", ErrInvalidRoster)
	case len(players) > mode.MaxPlayers():
		return Match{}, fmt.Errorf("%w: %d players, mode %s holds %d", ErrInvalidRoster, len(players), modeID, mode.MaxPlayers())
	}
	seen := map[string]bool{}
	for _, p := range players {
		if seen[p] {
			return Match{}, fmt.Errorf("%w: player %q listed twice", ErrInvalidRoster, p)
		}
		seen[p] = true
	}
	ids, err := resolve(ctx, q, players)
	if err != nil {
		return Match{}, err
	}
	roster := make(pq.Int64Array, 0, len(players))
	for _, p := range players {
		roster = append(roster, ids[p])
	}
	slices.Sort(roster)
	var m Match
	const ins = `INSERT INTO matches (id, server_id, mode, roster, started_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO NOTHING RETURNING ` + matchCols
	err = sqlx.GetContext(ctx, q, &m, ins, matchID, server.ID, modeID, roster, s.now())
	if !errors.Is(err, sql.ErrNoRows) {
		return m, err
	}
	if err = sqlx.GetContext(ctx, q, &m, `SELECT `+matchCols+` FROM matches WHERE id = $1`, matchID); err != nil {
		return Match{}, err
	}
	if m.ServerID != server.ID || m.Mode != modeID || !slices.Equal(m.Roster, roster) {
		return Match{}, ErrMatchExists
	}
	return m, nil
}

// maxRoster bounds a roster that backfills grow: the players who left
// stay on it (their results may still be reported).
const maxRoster = 1000

// JoinIn adds players (public ids) to the roster of server's open match,
// through q: sessions adds the players the matchmaker backfilled into a
// running match, in the transaction that tells them where to connect, so
// that the server may report their results. Players on the roster already
// are left as they are. Another server's match is ErrNotYourMatch; a match
// with results is ErrAlreadyReported.
func (s *Store) JoinIn(ctx context.Context, q sqlx.ExtContext, server Server, matchID string, players []string) (Match, error) {
	var m Match
	err := sqlx.GetContext(ctx, q, &m, `SELECT `+matchCols+` FROM matches WHERE id = $1 FOR UPDATE`, matchID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Match{}, ErrMatchNotFound
	case err != nil:
		return Match{}, err
	case m.ServerID != server.ID:
		return Match{}, ErrNotYourMatch
	case m.Status != StatusOpen:
		return Match{}, ErrAlreadyReported
	}
	ids, err := resolve(ctx, q, players)
	if err != nil {
		return Match{}, err
	}
	roster := slices.Clone(m.Roster)
	for _, id := range ids {
		if !slices.Contains(roster, id) {
			roster = append(roster, id)
		}
	}
	if len(roster) == len(m.Roster) {
		return m, nil
	}
	if len(roster) > maxRoster {
		return Match{}, fmt.Errorf("%w: a roster holds at most %d players", ErrInvalidRoster, maxRoster)
	}
	slices.Sort(roster)
	if err := sqlx.GetContext(ctx, q, &m, `UPDATE matches SET roster = $2 WHERE id = $1 RETURNING `+matchCols, matchID, roster); err != nil {
		return Match{}, fmt.Errorf("add players to match: %w", err)
	}
	return m, nil
}

func matchPattern(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '_' || r == '.' || r == ':' || r == '-')
		if !ok {
			return false
		}
	}
	return true
}

// Get returns a match.
func (s *Store) Get(ctx context.Context, matchID string) (Match, error) {
	var m Match
	err := s.conn.GetContext(ctx, &m, `SELECT `+matchCols+` FROM matches WHERE id = $1`, matchID)
	if errors.Is(err, sql.ErrNoRows) {
		return Match{}, ErrMatchNotFound
	}
	return m, err
}

// Report takes a match's results from the server that opened it, once. A
// result that names a player outside the roster, or is malformed, is refused
// and nothing is stored (the server may correct and send it again). A
// result within the mode's bounds is accepted and published; one outside
// them is quarantined. Reporting the same results again answers the first
// outcome; different results for a reported match are refused.
func (s *Store) Report(ctx context.Context, server Server, matchID string, res Result) (Receipt, error) {
	hash, err := resultHash(res)
	if err != nil {
		return Receipt{}, err
	}
	res.Players = slices.Clone(res.Players) // filled in below; the caller's stay as sent
	var rc Receipt
	err = db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var m Match
		err := tx.GetContext(ctx, &m, `SELECT `+matchCols+` FROM matches WHERE id = $1 FOR UPDATE`, matchID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrMatchNotFound
		case err != nil:
			return err
		case m.ServerID != server.ID:
			return ErrNotYourMatch
		case m.Status != StatusOpen:
			var stored []byte
			if err := tx.GetContext(ctx, &stored, `SELECT result_hash FROM matches WHERE id = $1`, matchID); err != nil {
				return err
			}
			if string(stored) != string(hash) {
				return ErrAlreadyReported
			}
			rc = Receipt{MatchID: m.ID, Status: m.Status, Reason: m.Reason, Replayed: true}
			return nil
		}
		mode, err := LoadMode(ctx, tx, m.Mode)
		if err != nil {
			return err
		}
		now := s.now()
		ended := now
		if res.EndedAt != nil {
			ended = *res.EndedAt
		}
		if err := s.resolvePlayers(ctx, tx, m, &res); err != nil {
			return err
		}
		reason, err := check(m, mode, res, ended, now)
		if err != nil {
			return err
		}
		status := StatusAccepted
		if reason != "" {
			status = StatusQuarantined
		}
		res.EndedAt = &ended
		doc, err := json.Marshal(res)
		if err != nil {
			return err
		}
		const upd = `UPDATE matches SET status = $2, result = $3, result_hash = $4, reported_at = $5, reason = $6 WHERE id = $1`
		if _, err := tx.ExecContext(ctx, upd, m.ID, status, doc, hash, now, reason); err != nil {
			return fmt.Errorf("record result: %w", err)
		}
		if status == StatusAccepted {
			if err := publish(ctx, tx, m, mode, res); err != nil {
				return err
			}
		}
		rc = Receipt{MatchID: m.ID, Status: status, Reason: reason}
		return nil
	})
	return rc, err
}

// resolvePlayers fills each player's AccountID from its PlayerID when only
// the public id was given, and refuses players outside the roster.
func (s *Store) resolvePlayers(ctx context.Context, tx *sqlx.Tx, m Match, res *Result) error {
	var public []string
	for _, p := range res.Players {
		if p.AccountID == 0 {
			public = append(public, p.PlayerID)
		}
	}
	var ids map[string]int64
	if len(public) > 0 {
		var rows []struct {
			ID       int64  `db:"id"`
			PublicID string `db:"public_id"`
		}
		const sel = `SELECT id, public_id FROM accounts WHERE public_id = ANY($1)`
		if err := tx.SelectContext(ctx, &rows, sel, pq.StringArray(public)); err != nil {
			return fmt.Errorf("resolve players: %w", err)
		}
		ids = make(map[string]int64, len(rows))
		for _, r := range rows {
			ids[r.PublicID] = r.ID
		}
	}
	for i, p := range res.Players {
		if p.AccountID == 0 {
			res.Players[i].AccountID = ids[p.PlayerID]
		}
		if _, found := slices.BinarySearch(m.Roster, res.Players[i].AccountID); !found {
			who := p.PlayerID
			if who == "" {
				who = fmt.Sprint(p.AccountID)
			}
			return fmt.Errorf("%w: %s", ErrNotInMatch, who)
		}
	}
	return nil
}

// check refuses a malformed result (an error) and returns why a well-formed
// one must wait for review ("" when it may be accepted).
func check(m Match, mode Mode, res Result, ended, now time.Time) (string, error) {
	invalid := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("%w: %s", ErrInvalidResult, fmt.Sprintf(format, args...))
	}
	switch {
	case len(res.Players) == 0:
		return invalid("no players")
	case ended.Before(m.StartedAt):
		return invalid("ended_at is before the match started (%s)", m.StartedAt.Format(time.RFC3339))
	case ended.After(now.Add(time.Minute)):
		return invalid("ended_at is in the future")
	}
	var reasons []string
	duration := ended.Sub(m.StartedAt)
	if duration > time.Duration(mode.MaxDurationSeconds)*time.Second+slack {
		reasons = append(reasons, fmt.Sprintf("the match lasted %s, longer than mode %s allows", duration.Round(time.Second), m.Mode))
	}
	seen := map[int64]bool{}
	perTeam := map[int]int{}
	placement := map[int]int{}
	for i, p := range res.Players {
		at := fmt.Sprintf("players[%d]", i)
		if seen[p.AccountID] {
			return invalid("%s: player listed twice", at)
		}
		seen[p.AccountID] = true
		if p.Team < 1 || p.Team > mode.Teams {
			return invalid("%s.team: must be 1 to %d", at, mode.Teams)
		}
		if perTeam[p.Team]++; perTeam[p.Team] > mode.TeamSize {
			return invalid("%s.team: team %d has more than %d players", at, p.Team, mode.TeamSize)
		}
		if p.Placement < 1 || p.Placement > mode.Teams {
			return invalid("%s.placement: must be 1 to %d", at, mode.Teams)
		}
		if prev, ok := placement[p.Team]; ok && prev != p.Placement {
			return invalid("%s.placement: teammates share their team's placement", at)
		}
		placement[p.Team] = p.Placement
		names := make([]string, 0, len(p.Stats))
		for k := range p.Stats {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v := p.Stats[k]
			bound, ok := mode.Bounds[k]
			switch {
			case !ok:
				return invalid("%s.stats.%s: mode %s does not take this stat", at, k, m.Mode)
			case v < 0 || v > MaxStat:
				return invalid("%s.stats.%s: must be 0 to %d", at, k, MaxStat)
			case v > bound:
				reasons = append(reasons, fmt.Sprintf("%s.stats.%s = %d is above the bound %d", at, k, v, bound))
			}
		}
		if secs := p.Stats[StatSecondsPlayed]; time.Duration(secs)*time.Second > duration+slack {
			reasons = append(reasons, fmt.Sprintf("%s played %d s in a match of %s", at, secs, duration.Round(time.Second)))
		}
		// Counted down from the player's kills, so that large values cannot
		// wrap a sum around past int64.
		left := p.Stats[StatKills]
		for class, n := range p.KillsByClass {
			if !slices.Contains(mode.WeaponClasses, class) {
				return invalid("%s.kills_by_class.%s: not a weapon class of mode %s", at, class, m.Mode)
			}
			if n < 0 {
				return invalid("%s.kills_by_class.%s: must not be negative", at, class)
			}
			if n > left {
				return invalid("%s.kills_by_class: adds up to more than the player's kills", at)
			}
			left -= n
		}
	}
	if len(reasons) > 3 {
		reasons = append(reasons[:3], fmt.Sprintf("and %d more", len(reasons)-3))
	}
	out := ""
	for i, r := range reasons {
		if i > 0 {
			out += "; "
		}
		out += r
	}
	return out, nil
}

func resultHash(res Result) ([]byte, error) {
	b, err := json.Marshal(res) // maps marshal in key order: the same result hashes the same
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// publish writes the accepted event of a match.
func publish(ctx context.Context, tx *sqlx.Tx, m Match, mode Mode, res Result) error {
	ev := Accepted{MatchID: m.ID, Mode: m.Mode, StartedAt: m.StartedAt, EndedAt: *res.EndedAt, Players: make([]AcceptedPlayer, len(res.Players))}
	for i, p := range res.Players {
		ev.Players[i] = AcceptedPlayer{PlayerResult: p, Won: p.Placement == 1, XP: mode.XPFor(p)}
	}
	slices.SortFunc(ev.Players, func(a, b AcceptedPlayer) int { return cmp.Compare(a.AccountID, b.AccountID) })
	if _, err := outbox.Enqueue(ctx, tx, TopicAccepted, ev); err != nil {
		return fmt.Errorf("publish result: %w", err)
	}
	return nil
}
