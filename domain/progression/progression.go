// Package progression owns account progression: XP and levels on the XP
// curve (content), level-up rewards, prestige, and unlock trees for weapons
// and operators. Match XP arrives from accepted match results through the
// outbox (consumer "progression"), each match once; support staff adjust XP
// with a reason. Rewards are paid through the inventory and the ledger in the
// same transaction as the XP that earned them, under keys that make every
// step idempotent. Level-ups are announced as outbox events
// (TopicLevelUp) for the realtime gateway.
package progression

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/reward"
)

// TopicLevelUp announces a player's new level or prestige rank (payload
// LevelUp).
const TopicLevelUp = "progression.level_up"

// ConsumerName is the outbox consumer that applies match XP.
const ConsumerName = "progression"

// Errors of this package.
var (
	ErrNotMaxLevel     = errors.New("prestige needs the maximum level")
	ErrPrestigeCap     = errors.New("the highest prestige rank is reached")
	ErrKeyReused       = errors.New("idempotency key was already used for a different request")
	ErrInvalid         = errors.New("invalid progression request")
	ErrUnknownTree     = errors.New("unknown unlock tree")
	ErrUnknownNode     = errors.New("unknown unlock node")
	ErrAlreadyUnlocked = errors.New("this node is already unlocked")
	ErrLocked          = errors.New("this node's requirements are not met")
)

// LevelUp is the payload of TopicLevelUp.
type LevelUp struct {
	AccountID int64  `json:"account_id"`
	Level     int    `json:"level"`
	Prestige  int    `json:"prestige"`
	MatchID   string `json:"match_id,omitempty"`
}

// State is a player's progression.
type State struct {
	AccountID   int64 `json:"-"`
	Level       int   `json:"level"`
	MaxLevel    int   `json:"max_level"`
	Prestige    int   `json:"prestige"`
	MaxPrestige int   `json:"max_prestige"`
	XP          int64 `json:"xp"`            // within the current prestige
	TotalXP     int64 `json:"total_xp"`      // over every prestige
	LevelXP     int64 `json:"level_xp"`      // XP into the current level
	NextLevelXP int64 `json:"next_level_xp"` // XP the current level takes; 0 at the maximum
	CanPrestige bool  `json:"can_prestige"`
	Version     int   `json:"version"`
	Replayed    bool  `json:"replayed,omitempty"` // the request's key was used before; nothing changed now
}

// Store reads and changes progression.
type Store struct {
	conn  *sqlx.DB
	payer *reward.Payer
	led   *ledger.Ledger
	now   func() time.Time
}

// New returns a Store.
func New(conn *sqlx.DB, payer *reward.Payer, led *ledger.Ledger) *Store {
	return &Store{conn: conn, payer: payer, led: led, now: time.Now}
}

// ContentKinds are the content kinds progression owns.
func (s *Store) ContentKinds() []content.Kind { return []content.Kind{CurveKind(), TreeKind()} }

type row struct {
	AccountID int64 `db:"account_id"`
	XP        int64 `db:"xp"`
	Level     int   `db:"level"`
	Prestige  int   `db:"prestige"`
	TotalXP   int64 `db:"total_xp"`
	Version   int   `db:"version"`
}

func (r row) state(c Curve) State {
	st := State{AccountID: r.AccountID, Level: r.Level, MaxLevel: c.MaxLevel(), Prestige: r.Prestige, MaxPrestige: c.Prestige.MaxRank,
		XP: r.XP, TotalXP: r.TotalXP, Version: r.Version}
	st.LevelXP = r.XP - c.LevelStart(r.Level)
	if r.Level < c.MaxLevel() {
		st.NextLevelXP = c.LevelStart(r.Level+1) - c.LevelStart(r.Level)
	}
	st.CanPrestige = r.Level >= c.MaxLevel() && r.Prestige < c.Prestige.MaxRank
	return st
}

const rowCols = `account_id, xp, level, prestige, total_xp, version`

// State returns a player's progression (level 1 before any XP).
func (s *Store) State(ctx context.Context, accountID int64) (State, error) {
	c, err := LoadCurve(ctx, s.conn)
	if err != nil {
		return State{}, err
	}
	r := row{AccountID: accountID, Level: 1}
	err = s.conn.GetContext(ctx, &r, `SELECT `+rowCols+` FROM progression WHERE account_id = $1`, accountID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return State{}, err
	}
	return r.state(c), nil
}

// lockRows loads (creating) the progression rows of accounts, locked, in
// account order so that concurrent matches sharing players do not deadlock.
func lockRows(ctx context.Context, tx *sqlx.Tx, accounts []int64) (map[int64]row, error) {
	const ins = `INSERT INTO progression (account_id) SELECT a FROM unnest($1::bigint[]) AS a ORDER BY a ON CONFLICT DO NOTHING`
	if _, err := tx.ExecContext(ctx, ins, pq.Int64Array(accounts)); err != nil {
		return nil, fmt.Errorf("create progression: %w", err)
	}
	var rows []row
	const sel = `SELECT ` + rowCols + ` FROM progression WHERE account_id = ANY($1) ORDER BY account_id FOR UPDATE`
	if err := tx.SelectContext(ctx, &rows, sel, pq.Int64Array(accounts)); err != nil {
		return nil, fmt.Errorf("lock progression: %w", err)
	}
	out := make(map[int64]row, len(rows))
	for _, r := range rows {
		out[r.AccountID] = r
	}
	return out, nil
}

// gain is XP to add to one player, with the key of its journal row.
type gain struct {
	accountID int64
	xp        int64
	key, kind string
	memo      string
}

// applied is what adding XP did to one player.
type applied struct {
	before, after row
}

// addXP adds each gain (one per player) inside tx: new XP capped at the
// curve's maximum level, levels, a journal row each, the rewards of every
// level reached, and the level-up events. Players are in account order.
func (s *Store) addXP(ctx context.Context, tx *sqlx.Tx, c Curve, gains []gain, matchID string) ([]applied, error) {
	accounts := make([]int64, len(gains))
	for i, g := range gains {
		accounts[i] = g.accountID
	}
	rows, err := lockRows(ctx, tx, accounts)
	if err != nil {
		return nil, err
	}
	n := len(gains)
	ids, xps, levels, earned := make(pq.Int64Array, n), make(pq.Int64Array, n), make(pq.Int64Array, n), make(pq.Int64Array, n)
	keys, kinds, memos, prestiges := make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n), make(pq.Int64Array, n)
	out := make([]applied, n)
	var payouts []reward.Payout
	var ups []LevelUp
	for i, g := range gains {
		before := rows[g.accountID]
		after := before
		after.XP = min(before.XP+g.xp, c.Cap())
		after.TotalXP += g.xp
		after.Level = max(c.LevelFor(after.XP), before.Level)
		after.Version++
		out[i] = applied{before: before, after: after}
		ids[i], xps[i], levels[i], earned[i] = g.accountID, after.XP, int64(after.Level), g.xp
		keys[i], kinds[i], memos[i], prestiges[i] = g.key, g.kind, g.memo, int64(after.Prestige)
		// The rewards of every level this gain reaches are paid together,
		// under the gain's own key: a level is reached once per prestige.
		var r reward.Reward
		for lv := before.Level + 1; lv <= after.Level; lv++ {
			r = r.Plus(c.LevelReward(lv))
		}
		if !r.Empty() {
			payouts = append(payouts, reward.Payout{Key: "levels:" + g.key, AccountID: g.accountID, Reward: r,
				Memo: fmt.Sprintf("levels %d to %d", before.Level+1, after.Level)})
		}
		if after.Level > before.Level {
			ups = append(ups, LevelUp{AccountID: g.accountID, Level: after.Level, Prestige: after.Prestige, MatchID: matchID})
		}
	}
	const upd = `UPDATE progression p SET xp = u.xp, level = u.level, total_xp = p.total_xp + u.earned, version = p.version + 1, updated_at = now()
		FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[]) AS u (account_id, xp, level, earned) WHERE p.account_id = u.account_id`
	if _, err := tx.ExecContext(ctx, upd, ids, xps, levels, earned); err != nil {
		return nil, fmt.Errorf("update progression: %w", err)
	}
	const journal = `INSERT INTO progression_events (idem_key, account_id, kind, xp, level, prestige, memo)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::int[], $6::int[], $7::text[])`
	if _, err := tx.ExecContext(ctx, journal, keys, ids, kinds, earned, levels, prestiges, memos); err != nil {
		if db.IsUniqueViolation(err) {
			return nil, ErrKeyReused
		}
		return nil, fmt.Errorf("journal progression: %w", err)
	}
	if err := s.payer.PayTx(ctx, tx, payouts); err != nil {
		return nil, err
	}
	if _, err := outbox.EnqueueMany(ctx, tx, TopicLevelUp, ups); err != nil {
		return nil, err
	}
	return out, nil
}

// Consumer applies accepted match results: each player's XP, once per match.
func (s *Store) Consumer() outbox.Consumer {
	return outbox.Consumer{Name: ConsumerName, Topics: []string{match.TopicAccepted}, Handle: s.applyMatch}
}

func (s *Store) applyMatch(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
	var m match.Accepted
	if err := ev.Decode(&m); err != nil {
		return err
	}
	if first, err := match.Claim(ctx, tx, ConsumerName, m.MatchID); err != nil || !first {
		return err
	}
	c, err := LoadCurve(ctx, tx)
	if err != nil {
		return err
	}
	var gains []gain
	for _, p := range m.Players { // in account order (match.Accepted)
		if p.XP > 0 {
			gains = append(gains, gain{accountID: p.AccountID, xp: p.XP, key: "match:" + m.MatchID + ":" + strconv.FormatInt(p.AccountID, 10),
				kind: "match", memo: m.MatchID})
		}
	}
	if len(gains) == 0 {
		return nil
	}
	_, err = s.addXP(ctx, tx, c, gains, m.MatchID)
	return err
}

// Adjustment is a support grant of XP.
type Adjustment struct {
	AccountID int64
	XP        int64 // 1 to 10,000,000
	Key       string
	Reason    string
	// Also runs in the same transaction with the state before and after
	// (the console's audit row).
	Also func(tx *sqlx.Tx, before, after State) error
}

// Adjust grants a player XP for support reasons, with its level rewards.
// The same key again changes nothing.
func (s *Store) Adjust(ctx context.Context, a Adjustment) (State, error) {
	switch {
	case a.XP < 1 || a.XP > 10_000_000:
		return State{}, fmt.Errorf("%w: XP must be 1 to 10000000", ErrInvalid)
	case a.Key == "" || len(a.Key) > 200:
		return State{}, fmt.Errorf("%w: an idempotency key of 1 to 200 bytes is required", ErrInvalid)
	case a.Reason == "":
		return State{}, fmt.Errorf("%w: a reason is required", ErrInvalid)
	}
	key := "adjust:" + strconv.FormatInt(a.AccountID, 10) + ":" + a.Key
	var out State
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		c, err := LoadCurve(ctx, tx)
		if err != nil {
			return err
		}
		// Locked before looking the key up, so that a retry racing its
		// first attempt waits for it and answers it.
		if _, err := lockRows(ctx, tx, []int64{a.AccountID}); err != nil {
			return err
		}
		if done, err := s.replayed(ctx, tx, c, key, a.AccountID, a.XP); err != nil || done != nil {
			if done != nil {
				out = *done
			}
			return err
		}
		res, err := s.addXP(ctx, tx, c, []gain{{accountID: a.AccountID, xp: a.XP, key: key, kind: "adjust", memo: a.Reason}}, "")
		if err != nil {
			return err
		}
		out = res[0].after.state(c)
		if a.Also != nil {
			return a.Also(tx, res[0].before.state(c), out)
		}
		return nil
	})
	return out, err
}

// replayed answers a request whose journal key exists: the current state
// when it was the same request, ErrKeyReused otherwise, nil when the key is
// new.
func (s *Store) replayed(ctx context.Context, tx *sqlx.Tx, c Curve, key string, accountID, xp int64) (*State, error) {
	var prev struct {
		AccountID int64 `db:"account_id"`
		XP        int64 `db:"xp"`
	}
	err := tx.GetContext(ctx, &prev, `SELECT account_id, xp FROM progression_events WHERE idem_key = $1`, key)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, err
	case prev.AccountID != accountID || prev.XP != xp:
		return nil, ErrKeyReused
	}
	r := row{AccountID: accountID, Level: 1}
	if err := tx.GetContext(ctx, &r, `SELECT `+rowCols+` FROM progression WHERE account_id = $1`, accountID); err != nil {
		return nil, err
	}
	st := r.state(c)
	st.Replayed = true
	return &st, nil
}

// Prestige moves a player at the maximum level back to level 1 with no XP,
// one prestige rank up, and pays the rank's reward. The same key again
// answers the state without changing it.
func (s *Store) Prestige(ctx context.Context, accountID int64, key string) (State, error) {
	if key == "" || len(key) > 200 {
		return State{}, fmt.Errorf("%w: an idempotency key of 1 to 200 bytes is required", ErrInvalid)
	}
	jkey := "prestige:" + strconv.FormatInt(accountID, 10) + ":" + key
	var out State
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		c, err := LoadCurve(ctx, tx)
		if err != nil {
			return err
		}
		// Locked before looking the key up, so that a retry racing its
		// first attempt waits for it and answers it.
		rows, err := lockRows(ctx, tx, []int64{accountID})
		if err != nil {
			return err
		}
		if done, err := s.replayed(ctx, tx, c, jkey, accountID, 0); err != nil || done != nil {
			if done != nil {
				out = *done
			}
			return err
		}
		r := rows[accountID]
		switch {
		case r.Level < c.MaxLevel():
			return ErrNotMaxLevel
		case r.Prestige >= c.Prestige.MaxRank:
			return ErrPrestigeCap
		}
		r.XP, r.Level, r.Prestige, r.Version = 0, 1, r.Prestige+1, r.Version+1
		const upd = `UPDATE progression SET xp = 0, level = 1, prestige = $2, version = version + 1, updated_at = now() WHERE account_id = $1`
		if _, err := tx.ExecContext(ctx, upd, accountID, r.Prestige); err != nil {
			return err
		}
		const journal = `INSERT INTO progression_events (idem_key, account_id, kind, xp, level, prestige) VALUES ($1, $2, 'prestige', 0, 1, $3)`
		if _, err := tx.ExecContext(ctx, journal, jkey, accountID, r.Prestige); err != nil {
			return err
		}
		if _, err := outbox.EnqueueMany(ctx, tx, TopicLevelUp, []LevelUp{{AccountID: accountID, Level: 1, Prestige: r.Prestige}}); err != nil {
			return err
		}
		if rw := c.RankReward(r.Prestige); !rw.Empty() {
			po := reward.Payout{Key: fmt.Sprintf("prestige:%d:%d", accountID, r.Prestige), AccountID: accountID, Reward: rw, Memo: "prestige " + strconv.Itoa(r.Prestige)}
			if err := s.payer.PayTx(ctx, tx, []reward.Payout{po}); err != nil {
				return err
			}
		}
		out = r.state(c)
		return nil
	})
	return out, err
}

// Event is one line of a player's progression journal.
type Event struct {
	Kind     string    `db:"kind" json:"kind"`
	XP       int64     `db:"xp" json:"xp"`
	Level    int       `db:"level" json:"level"`
	Prestige int       `db:"prestige" json:"prestige"`
	Memo     string    `db:"memo" json:"memo"`
	At       time.Time `db:"at" json:"at"`
}

// History returns a player's latest progression events, newest first.
func (s *Store) History(ctx context.Context, accountID int64, limit int) ([]Event, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var out []Event
	const q = `SELECT kind, xp, level, prestige, memo, at FROM progression_events WHERE account_id = $1 ORDER BY at DESC LIMIT $2`
	err := s.conn.SelectContext(ctx, &out, q, accountID, limit)
	return out, err
}
