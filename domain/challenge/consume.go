package challenge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/reward"
)

// Consumer is the outbox consumer that advances challenges from accepted
// match results.
func (s *Store) Consumer() outbox.Consumer {
	return outbox.Consumer{Name: ConsumerName, Topics: []string{match.TopicAccepted},
		Handle: func(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
			var m match.Accepted
			if err := ev.Decode(&m); err != nil {
				return err
			}
			return s.Apply(ctx, tx, m)
		}}
}

// Apply advances every player's challenges from one accepted match, in tx,
// once per match: each player's sets are those of the periods containing
// the match's end in their region, drawn now if the player has not had
// them yet. Challenges it completes are paid and announced on
// TopicCompleted in the same transaction. The work is a fixed number of
// statements whatever the number of players.
func (s *Store) Apply(ctx context.Context, tx *sqlx.Tx, m match.Accepted) error {
	first, err := match.Claim(ctx, tx, ConsumerName, m.MatchID)
	if err != nil {
		return fmt.Errorf("claim match %s: %w", m.MatchID, err)
	}
	if !first || len(m.Players) == 0 {
		return nil
	}
	p, err := s.plan(ctx, tx)
	if errors.Is(err, ErrNotConfigured) {
		return nil // no challenges in this game
	}
	if err != nil {
		return err
	}
	if len(p.pools) == 0 {
		return nil
	}
	at := m.EndedAt
	if at.IsZero() {
		at = s.now()
	}

	players := make(map[int64]match.AcceptedPlayer, len(m.Players))
	ids := make([]int64, 0, len(m.Players))
	for _, pl := range m.Players {
		if _, dup := players[pl.AccountID]; !dup {
			players[pl.AccountID] = pl
			ids = append(ids, pl.AccountID)
		}
	}
	regions, err := s.regions(ctx, tx, p, ids)
	if err != nil {
		return err
	}
	var wants []want
	for _, id := range ids {
		region, ok := regions[id]
		if !ok {
			continue // not an account; nothing to advance
		}
		for _, c := range Cadences {
			if p.pools[c] != nil {
				wants = append(wants, want{accountID: id, region: region, period: p.period(c, region, at)})
			}
		}
	}

	open, present, err := loadOpen(ctx, tx, wants)
	if err != nil {
		return err
	}
	var missing []want
	for _, w := range wants {
		if !present[setKey{w.accountID, w.period.Key}] {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		if err := s.create(ctx, tx, p, missing); err != nil {
			return err
		}
		more, _, err := loadOpen(ctx, tx, missing)
		if err != nil {
			return err
		}
		open = append(open, more...)
	}

	var steps []step
	for _, o := range open {
		if n := o.def.Goal.Amount(m.Mode, players[o.accountID]); n > 0 {
			steps = append(steps, step{openSlot: o, amount: n})
		}
	}
	if len(steps) == 0 {
		return nil
	}
	done, err := advance(ctx, tx, steps, s.now())
	if err != nil {
		return err
	}
	return s.complete(ctx, tx, done)
}

type setKey struct {
	accountID int64
	period    string
}

// openSlot is a challenge of a player's set that is not complete yet.
type openSlot struct {
	accountID int64
	period    string
	slot      int
	def       Challenge
}

type step struct {
	openSlot
	amount int64
}

// loadOpen reads, for the sets wants names, which exist and their
// challenges that are not complete, in one query.
func loadOpen(ctx context.Context, q sqlx.QueryerContext, wants []want) ([]openSlot, map[setKey]bool, error) {
	accounts := make([]int64, len(wants))
	periods := make([]string, len(wants))
	for i, w := range wants {
		accounts[i], periods[i] = w.accountID, w.period.Key
	}
	var rows []struct {
		AccountID int64  `db:"account_id"`
		Period    string `db:"period"`
		Slot      *int   `db:"slot"`
		Def       []byte `db:"def"`
	}
	const sel = `
SELECT cs.account_id, cs.period, s.slot, s.def
FROM unnest($1::bigint[], $2::text[]) AS w(account_id, period)
JOIN challenge_sets cs ON cs.account_id = w.account_id AND cs.period = w.period
LEFT JOIN challenge_slots s ON s.account_id = cs.account_id AND s.period = cs.period AND s.completed_at IS NULL`
	if err := sqlx.SelectContext(ctx, q, &rows, sel, pq.Array(accounts), pq.Array(periods)); err != nil {
		return nil, nil, fmt.Errorf("load challenges: %w", err)
	}
	present := make(map[setKey]bool, len(wants))
	open := make([]openSlot, 0, len(rows))
	for _, r := range rows {
		present[setKey{r.AccountID, r.Period}] = true
		if r.Slot == nil {
			continue // every challenge of the set is complete
		}
		o := openSlot{accountID: r.AccountID, period: r.Period, slot: *r.Slot}
		if err := json.Unmarshal(r.Def, &o.def); err != nil {
			return nil, nil, fmt.Errorf("decode challenge of %d %s: %w", r.AccountID, r.Period, err)
		}
		open = append(open, o)
	}
	return open, present, nil
}

// advance adds each step's amount to its challenge, up to the target, in
// one statement, and returns the steps that completed their challenge. The
// rows are locked in key order, so matches of the same players applied at
// once wait for each other instead of deadlocking; a challenge completed or
// rerolled meanwhile is left alone.
func advance(ctx context.Context, tx *sqlx.Tx, steps []step, now time.Time) ([]step, error) {
	accounts := make([]int64, len(steps))
	periods := make([]string, len(steps))
	slots := make([]int64, len(steps))
	challenges := make([]string, len(steps))
	amounts := make([]int64, len(steps))
	for i, st := range steps {
		accounts[i], periods[i], slots[i], challenges[i], amounts[i] = st.accountID, st.period, int64(st.slot), st.def.ID, st.amount
	}
	const upd = `
WITH u AS MATERIALIZED (
    SELECT s.account_id, s.period, s.slot, x.amount
    FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::text[], $5::bigint[]) AS x(account_id, period, slot, challenge_id, amount)
    JOIN challenge_slots s ON s.account_id = x.account_id AND s.period = x.period AND s.slot = x.slot AND s.challenge_id = x.challenge_id
    WHERE s.completed_at IS NULL
    ORDER BY s.account_id, s.period, s.slot
    FOR UPDATE OF s
)
UPDATE challenge_slots s
SET progress = LEAST(s.target, s.progress + u.amount),
    completed_at = CASE WHEN s.progress + u.amount >= s.target THEN $6::timestamptz END
FROM u
WHERE s.account_id = u.account_id AND s.period = u.period AND s.slot = u.slot AND s.completed_at IS NULL
RETURNING s.account_id, s.period, s.slot, s.completed_at IS NOT NULL AS completed`
	var rows []struct {
		AccountID int64  `db:"account_id"`
		Period    string `db:"period"`
		Slot      int    `db:"slot"`
		Completed bool   `db:"completed"`
	}
	err := sqlx.SelectContext(ctx, tx, &rows, upd, pq.Array(accounts), pq.Array(periods), pq.Array(slots),
		pq.Array(challenges), pq.Array(amounts), now)
	if err != nil {
		return nil, fmt.Errorf("advance challenges: %w", err)
	}
	type slotKey struct {
		setKey
		slot int
	}
	byKey := make(map[slotKey]step, len(steps))
	for _, st := range steps {
		byKey[slotKey{setKey{st.accountID, st.period}, st.slot}] = st
	}
	var done []step
	for _, r := range rows {
		if r.Completed {
			done = append(done, byKey[slotKey{setKey{r.AccountID, r.Period}, r.Slot}])
		}
	}
	return done, nil
}

// complete pays the rewards of completed challenges and announces them.
func (s *Store) complete(ctx context.Context, tx *sqlx.Tx, done []step) error {
	if len(done) == 0 {
		return nil
	}
	payouts := make([]reward.Payout, 0, len(done))
	for _, d := range done {
		payouts = append(payouts, reward.Payout{Key: RewardKey(d.period, d.def.ID, d.accountID), AccountID: d.accountID,
			Reward: d.def.Reward, Memo: "challenge " + d.def.ID})
	}
	if err := s.payer.PayTx(ctx, tx, payouts); err != nil {
		return fmt.Errorf("pay challenge rewards: %w", err)
	}
	events := make([]Completed, len(done))
	for i, d := range done {
		events[i] = Completed{AccountID: d.accountID, Challenge: d.def.ID, Period: d.period}
	}
	_, err := outbox.EnqueueMany(ctx, tx, TopicCompleted, events)
	return err
}

// RewardKey is the idempotency key of the reward for completing challenge
// in period: the same completion is never paid twice.
func RewardKey(period, challenge string, accountID int64) string {
	return fmt.Sprintf("ch:%s:%s:%d", period, challenge, accountID)
}
