package battlepass

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
)

// Consumer is the outbox consumer that gives each player of an accepted
// match the XP the match earned them (match.AcceptedPlayer.XP) on the
// battle pass of the season the match started in, and pays the tiers they
// reach. A match is applied once (match.Claim).
func (s *Store) Consumer() outbox.Consumer {
	return outbox.Consumer{Name: ConsumerName, Topics: []string{match.TopicAccepted}, Handle: s.handleMatch}
}

func (s *Store) handleMatch(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
	var m match.Accepted
	if err := ev.Decode(&m); err != nil {
		return err
	}
	acceptedAt := ev.CreatedAt
	if acceptedAt.IsZero() {
		acceptedAt = s.now()
	}
	return s.applyMatch(ctx, tx, m, acceptedAt)
}

// applyMatch applies m, whose results were accepted at acceptedAt, in tx.
func (s *Store) applyMatch(ctx context.Context, tx *sqlx.Tx, m match.Accepted, acceptedAt time.Time) error {
	first, err := match.Claim(ctx, tx, ConsumerName, m.MatchID)
	if err != nil || !first {
		return err
	}
	sea, ok, err := season.At(ctx, tx, m.StartedAt)
	if err != nil || !ok {
		return err
	}
	if acceptedAt.After(sea.EndsAt.Add(s.cfg.Grace)) {
		return nil // reported too long after the season's end
	}
	pass, err := loadPass(ctx, tx, sea.ID)
	if errors.Is(err, ErrNoPass) {
		return nil
	}
	if err != nil {
		return err
	}
	xp := make(map[int64]int64, len(m.Players))
	for _, p := range m.Players {
		if p.XP > 0 && p.AccountID > 0 {
			xp[p.AccountID] += p.XP
		}
	}
	gains := make([]gain, 0, len(xp))
	for id, n := range xp {
		gains = append(gains, gain{accountID: id, xp: n})
	}
	_, err = s.gain(ctx, tx, pass, gains)
	if err != nil {
		return fmt.Errorf("battle pass %s, match %s: %w", sea.ID, m.MatchID, err)
	}
	return nil
}

// gain is XP for one player.
type gain struct {
	accountID int64
	xp        int64
}

// crossed is what a gain did to one player's progress.
type crossed struct {
	AccountID int64 `db:"account_id"`
	XP        int64 `db:"xp"`
	PrevTier  int   `db:"prev_tier"`
	Tier      int   `db:"tier"`
	Premium   bool  `db:"premium"`
}

// gainSQL adds XP to many players' progress in one statement, creating the
// rows of players new to the pass, and reports for each the tier before and
// after. Rows are taken in account order, so that matches sharing players
// lock them in the same order. $3 holds the XP total of every tier: the
// tier an XP total reaches is how many of them it reaches, and a tier is
// never lost (a pass whose tiers got dearer keeps what players reached).
const gainSQL = `
INSERT INTO battlepass_progress AS p (account_id, season_id, xp, tier, prev_tier)
SELECT g.account_id, $4, g.xp, (SELECT count(*) FROM unnest($3::bigint[]) t WHERE t <= g.xp)::int, 0
FROM unnest($1::bigint[], $2::bigint[]) AS g (account_id, xp)
ORDER BY g.account_id
ON CONFLICT (account_id, season_id) DO UPDATE SET
	xp = p.xp + EXCLUDED.xp,
	prev_tier = p.tier,
	tier = GREATEST(p.tier, (SELECT count(*) FROM unnest($3::bigint[]) t WHERE t <= p.xp + EXCLUDED.xp)::int),
	version = p.version + 1,
	updated_at = now()
RETURNING p.account_id, p.xp, p.prev_tier, p.tier, p.premium`

// gain adds XP to players' progress on pass in tx, pays the rewards of the
// tiers each reached (free, and premium for premium players) and tells
// each player who reached a tier their highest (TopicTierReached), all in
// one statement. A
// player's free rewards and premium rewards are one payout each, so a match
// of any size is paid in two rounds of PayTx.
func (s *Store) gain(ctx context.Context, tx *sqlx.Tx, pass Pass, gains []gain) ([]crossed, error) {
	if len(gains) == 0 {
		return nil, nil
	}
	slices.SortFunc(gains, func(a, b gain) int { return cmp.Compare(a.accountID, b.accountID) })
	ids := make(pq.Int64Array, len(gains))
	xp := make(pq.Int64Array, len(gains))
	for i, g := range gains {
		ids[i], xp[i] = g.accountID, g.xp
	}
	var rows []crossed
	if err := sqlx.SelectContext(ctx, tx, &rows, gainSQL, ids, xp, pq.Int64Array(pass.thresholds()), pass.Season); err != nil {
		return nil, fmt.Errorf("add XP: %w", err)
	}
	slices.SortFunc(rows, func(a, b crossed) int { return cmp.Compare(a.AccountID, b.AccountID) })
	var free, premium []reward.Payout
	for _, r := range rows {
		if r.Tier <= r.PrevTier {
			continue
		}
		if po, ok := pass.payout(r.AccountID, false, r.PrevTier+1, r.Tier); ok {
			free = append(free, po)
		}
		if po, ok := pass.payout(r.AccountID, true, r.PrevTier+1, r.Tier); ok && r.Premium {
			premium = append(premium, po)
		}
	}
	if err := s.payer.PayTx(ctx, tx, append(free, premium...)); err != nil {
		return nil, fmt.Errorf("pay tier rewards: %w", err)
	}
	var reached []TierReached
	for _, r := range rows {
		if r.Tier > r.PrevTier {
			reached = append(reached, TierReached{AccountID: r.AccountID, Season: pass.Season, Tier: r.Tier})
		}
	}
	if _, err := outbox.EnqueueMany(ctx, tx, TopicTierReached, reached); err != nil {
		return nil, err
	}
	return rows, nil
}
