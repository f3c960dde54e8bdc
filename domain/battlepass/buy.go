package battlepass

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
)

// Operations on a player's pass other than match XP.
const (
	OpPremium = "premium" // the premium track unlocked
	OpSkip    = "skip"    // tiers bought
	OpAdjust  = "adjust"  // tiers or XP given by support
)

// Receipt is the outcome of an upgrade, a tier skip or an adjustment.
type Receipt struct {
	ID        int64     `json:"id"`
	AccountID int64     `json:"-"`
	Operation string    `json:"operation"` // OpPremium, OpSkip or OpAdjust
	Season    string    `json:"season"`
	Tiers     int       `json:"tiers"`           // tiers gained
	XP        int64     `json:"xp"`              // XP added
	Price     *Price    `json:"price,omitempty"` // what was charged
	At        time.Time `json:"at"`
	// Replayed says the key was used before for the same operation:
	// nothing changed now, the receipt is the first one's (State is
	// current).
	Replayed bool  `json:"replayed"`
	State    State `json:"battlepass"`
}

// Adjustment is a support grant: Tiers tiers (their rewards paid as if
// reached) or XP, exactly one of them, with the reason and the staff member
// for the record. Key makes a retry change nothing.
type Adjustment struct {
	AccountID int64
	SeasonID  string
	Tiers     int
	XP        int64
	Reason    string
	Staff     string
	Key       string
}

// Upgrade unlocks the premium track of seasonID's pass for the player: the
// premium price moves from their wallet to system:store_revenue (source
// purchase), and the premium rewards of every tier already reached are paid
// at once. Sold only while the season runs. A retry with the same key
// answers the first receipt; another upgrade of a premium pass is
// ErrAlreadyPremium. Errors also: ErrNoSeason, ErrNoPass,
// ErrSeasonNotStarted, ErrSeasonOver, ErrNotForSale, ErrKeyReused,
// ErrInvalid, ledger.ErrInsufficientFunds; on any error nothing changed.
//
// An empty seasonID names the current season as State picks it (between
// seasons the one that ended last, so ErrSeasonOver).
func (s *Store) Upgrade(ctx context.Context, accountID int64, seasonID, key string) (Receipt, error) {
	return s.operateInTx(ctx, operation{kind: OpPremium, accountID: accountID, seasonID: seasonID, key: key})
}

// SkipTiers buys n tiers of seasonID's pass for the player at the tier
// price each, and pays the rewards of the tiers reached. Only the tiers up
// to the last one are bought (and charged); at the last tier it is
// ErrMaxTier. The player's progress toward their next tier is kept. Sold
// only while the season runs; errors and seasonID as Upgrade's.
func (s *Store) SkipTiers(ctx context.Context, accountID int64, seasonID string, n int, key string) (Receipt, error) {
	return s.operateInTx(ctx, operation{kind: OpSkip, accountID: accountID, seasonID: seasonID, tiers: n, key: key})
}

// Adjust gives a player tiers or XP on seasonID's pass (support), paying
// the rewards of the tiers reached. Taken from the season's start until
// the grace period after its end.
func (s *Store) Adjust(ctx context.Context, a Adjustment) (Receipt, error) {
	return s.operateInTx(ctx, a.operation())
}

// AdjustTx is Adjust inside tx, for the console to write its audit row in
// the same transaction. After an error the caller must roll tx back.
func (s *Store) AdjustTx(ctx context.Context, tx *sqlx.Tx, a Adjustment) (Receipt, error) {
	r, err := s.operate(ctx, tx, a.operation())
	if err != nil {
		return Receipt{}, err
	}
	if r.Replayed {
		// The state of a replay is read afresh, in tx.
		r.State, err = s.stateIn(ctx, tx, r.AccountID, r.Season)
	}
	return r, err
}

func (a Adjustment) operation() operation {
	return operation{kind: OpAdjust, accountID: a.AccountID, seasonID: a.SeasonID, tiers: a.Tiers, xp: a.XP,
		reason: a.Reason, staff: a.Staff, key: a.Key}
}

// operation is one upgrade, skip or adjustment asked for.
type operation struct {
	kind      string
	accountID int64
	seasonID  string
	tiers     int
	xp        int64
	reason    string
	staff     string
	key       string
}

func (o operation) check() error {
	switch {
	case o.key == "" || len(o.key) > 200:
		return fmt.Errorf("%w: the idempotency key must be 1 to 200 bytes", ErrInvalid)
	case o.accountID <= 0 || o.seasonID == "":
		return fmt.Errorf("%w: no player or season", ErrInvalid)
	case o.kind == OpSkip && (o.tiers < 1 || o.tiers > MaxTiers):
		return fmt.Errorf("%w: buy 1 to %d tiers", ErrInvalid, MaxTiers)
	case o.kind == OpAdjust && (o.tiers != 0) == (o.xp != 0):
		return fmt.Errorf("%w: adjust either tiers or XP", ErrInvalid)
	case o.kind == OpAdjust && (o.tiers < 0 || o.tiers > MaxTiers || o.xp < 0 || o.xp > MaxAdjustXP):
		return fmt.Errorf("%w: adjust by 1 to %d tiers or 1 to %d XP", ErrInvalid, MaxTiers, MaxAdjustXP)
	case o.kind == OpAdjust && (strings.TrimSpace(o.reason) == "" || len(o.reason) > 500 || strings.TrimSpace(o.staff) == ""):
		return fmt.Errorf("%w: an adjustment needs the staff member and a reason of up to 500 bytes", ErrInvalid)
	}
	return nil
}

// storedKey keeps players' keys and the console's apart.
func (o operation) storedKey() string {
	if o.kind == OpAdjust {
		return "staff:" + o.key
	}
	return "player:" + o.key
}

// opRow is an operation as recorded.
type opRow struct {
	ID             int64     `db:"id"`
	Account        int64     `db:"account_id"`
	SeasonID       string    `db:"season_id"`
	Kind           string    `db:"kind"`
	RequestedTiers int       `db:"requested_tiers"`
	RequestedXP    int64     `db:"requested_xp"`
	Tiers          int       `db:"tiers"`
	XP             int64     `db:"xp"`
	PriceCurrency  *string   `db:"price_currency"`
	PriceAmount    *int64    `db:"price_amount"`
	At             time.Time `db:"at"`
}

const opCols = `id, account_id, season_id, kind, requested_tiers, requested_xp, tiers, xp, price_currency, price_amount, at`

func (r opRow) receipt(replayed bool) Receipt {
	out := Receipt{ID: r.ID, AccountID: r.Account, Operation: r.Kind, Season: r.SeasonID, Tiers: r.Tiers, XP: r.XP, At: r.At, Replayed: replayed}
	if r.PriceCurrency != nil && r.PriceAmount != nil {
		out.Price = &Price{Currency: *r.PriceCurrency, Amount: *r.PriceAmount}
	}
	return out
}

func (s *Store) operateInTx(ctx context.Context, o operation) (Receipt, error) {
	if o.seasonID == "" && o.kind != OpAdjust {
		sea, err := s.pick(ctx, "")
		if err != nil {
			return Receipt{}, err
		}
		o.seasonID = sea.ID
	}
	var r Receipt
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var err error
		r, err = s.operate(ctx, tx, o)
		return err
	})
	if err != nil {
		return Receipt{}, err
	}
	if r.Replayed {
		r.State, err = s.State(ctx, o.accountID, o.seasonID)
	}
	return r, err
}

// operate records o under its key, or answers the recorded receipt when
// the key was used before for the same operation, then carries it out.
// A replay's State is left for the caller to read.
func (s *Store) operate(ctx context.Context, tx *sqlx.Tx, o operation) (Receipt, error) {
	if err := o.check(); err != nil {
		return Receipt{}, err
	}
	const ins = `INSERT INTO battlepass_operations (account_id, season_id, idem_key, kind, requested_tiers, requested_xp, reason, staff)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, idem_key) DO NOTHING RETURNING ` + opCols
	var row opRow
	err := tx.GetContext(ctx, &row, ins, o.accountID, o.seasonID, o.storedKey(), o.kind, o.tiers, o.xp, o.reason, o.staff)
	if errors.Is(err, sql.ErrNoRows) {
		return s.replay(ctx, tx, o)
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("record battle pass %s: %w", o.kind, err)
	}

	closes := time.Duration(0) // purchases: while the season runs
	if o.kind == OpAdjust {
		closes = s.cfg.Grace
	}
	sea, err := s.running(ctx, tx, o.seasonID, closes)
	if err != nil {
		return Receipt{}, err
	}
	pass, err := loadPass(ctx, tx, sea.ID)
	if err != nil {
		return Receipt{}, err
	}
	p, err := lockProgress(ctx, tx, o.accountID, sea.ID)
	if err != nil {
		return Receipt{}, err
	}

	var price *Price
	switch o.kind {
	case OpPremium:
		price, err = s.unlockPremium(ctx, tx, pass, o, &p)
	case OpSkip:
		price, err = s.buyTiers(ctx, tx, pass, o, row.ID, &p)
	case OpAdjust:
		err = s.adjust(ctx, tx, pass, o, &p)
	}
	if err != nil {
		return Receipt{}, err
	}
	row.Tiers, row.XP = p.gainedTiers, p.gainedXP
	if price != nil {
		row.PriceCurrency, row.PriceAmount = &price.Currency, &price.Amount
	}
	const upd = `UPDATE battlepass_operations SET tiers = $2, xp = $3, price_currency = $4, price_amount = $5 WHERE id = $1`
	if _, err := tx.ExecContext(ctx, upd, row.ID, row.Tiers, row.XP, row.PriceCurrency, row.PriceAmount); err != nil {
		return Receipt{}, fmt.Errorf("record battle pass %s: %w", o.kind, err)
	}
	r := row.receipt(false)
	st, err := readProgress(ctx, tx, o.accountID, sea.ID)
	if err != nil {
		return Receipt{}, err
	}
	r.State = s.stateOf(sea, pass, st)
	return r, nil
}

// replay answers an operation whose key was used before.
func (s *Store) replay(ctx context.Context, tx *sqlx.Tx, o operation) (Receipt, error) {
	var row opRow
	err := tx.GetContext(ctx, &row, `SELECT `+opCols+` FROM battlepass_operations WHERE account_id = $1 AND idem_key = $2`, o.accountID, o.storedKey())
	if err != nil {
		return Receipt{}, fmt.Errorf("load battle pass operation: %w", err)
	}
	if row.Kind != o.kind || row.SeasonID != o.seasonID || row.RequestedTiers != o.tiers || row.RequestedXP != o.xp {
		return Receipt{}, ErrKeyReused
	}
	return row.receipt(true), nil
}

// running returns seasonID while it takes operations: from its start until
// closes after its end.
func (s *Store) running(ctx context.Context, q sqlx.QueryerContext, seasonID string, closes time.Duration) (season.Season, error) {
	sea, err := getSeason(ctx, q, seasonID)
	if err != nil {
		return season.Season{}, err
	}
	now := s.now()
	switch {
	case now.Before(sea.StartsAt):
		return season.Season{}, ErrSeasonNotStarted
	case !now.Before(sea.EndsAt.Add(closes)):
		return season.Season{}, ErrSeasonOver
	}
	return sea, nil
}

// locked is a player's progress row, locked in a transaction, with what
// the operation gained.
type locked struct {
	progress
	accountID   int64
	season      string
	gainedTiers int
	gainedXP    int64
}

// lockProgress locks the player's progress row, creating it first if need
// be.
func lockProgress(ctx context.Context, tx *sqlx.Tx, accountID int64, seasonID string) (locked, error) {
	const ins = `INSERT INTO battlepass_progress (account_id, season_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	if _, err := tx.ExecContext(ctx, ins, accountID, seasonID); err != nil {
		return locked{}, fmt.Errorf("open battle pass progress: %w", err)
	}
	l := locked{accountID: accountID, season: seasonID}
	const sel = `SELECT ` + progressCols + ` FROM battlepass_progress WHERE account_id = $1 AND season_id = $2 FOR UPDATE`
	if err := tx.GetContext(ctx, &l.progress, sel, accountID, seasonID); err != nil {
		return locked{}, fmt.Errorf("lock battle pass progress: %w", err)
	}
	return l, nil
}

// charge moves amount of price's currency from the player to the store.
func (s *Store) charge(ctx context.Context, tx *sqlx.Tx, accountID int64, key, memo string, price Price) error {
	_, err := s.led.Post(ctx, tx, ledger.Transfer{Key: key, Source: "purchase", From: ledger.Player(accountID),
		To: ledger.System(ledger.StoreRevenue), Currency: price.Currency, Amount: price.Amount, Memo: memo})
	return err
}

func (s *Store) unlockPremium(ctx context.Context, tx *sqlx.Tx, pass Pass, o operation, p *locked) (*Price, error) {
	if p.Premium {
		return nil, ErrAlreadyPremium
	}
	if pass.PremiumPrice == nil {
		return nil, ErrNotForSale
	}
	price := *pass.PremiumPrice
	acct := strconv.FormatInt(o.accountID, 10)
	// One premium per player and season: the key says so to the ledger too.
	if err := s.charge(ctx, tx, o.accountID, "bp:"+pass.Season+":"+acct+":premium:price", "battle pass "+pass.Season+" premium", price); err != nil {
		return nil, err
	}
	const upd = `UPDATE battlepass_progress SET premium = true, premium_at = now(), version = version + 1, updated_at = now()
		WHERE account_id = $1 AND season_id = $2`
	if _, err := tx.ExecContext(ctx, upd, o.accountID, pass.Season); err != nil {
		return nil, fmt.Errorf("unlock premium: %w", err)
	}
	if po, ok := pass.payout(o.accountID, true, 1, p.Tier); ok {
		if err := s.payer.PayTx(ctx, tx, []reward.Payout{po}); err != nil {
			return nil, fmt.Errorf("pay premium rewards: %w", err)
		}
	}
	return &price, nil
}

func (s *Store) buyTiers(ctx context.Context, tx *sqlx.Tx, pass Pass, o operation, opID int64, p *locked) (*Price, error) {
	if pass.SkipPrice == nil {
		return nil, ErrNotForSale
	}
	n := min(o.tiers, pass.Last()-min(p.Tier, pass.Last()))
	if n <= 0 {
		return nil, ErrMaxTier
	}
	price := Price{Currency: pass.SkipPrice.Currency, Amount: pass.SkipPrice.Amount * int64(n)}
	memo := fmt.Sprintf("battle pass %s: %d tiers", pass.Season, n)
	if err := s.charge(ctx, tx, o.accountID, "bp:op:"+strconv.FormatInt(opID, 10)+":price", memo, price); err != nil {
		return nil, err
	}
	return &price, s.advance(ctx, tx, pass, p, pass.xpForTiers(p.XP, p.Tier, n))
}

func (s *Store) adjust(ctx context.Context, tx *sqlx.Tx, pass Pass, o operation, p *locked) error {
	xp := o.xp
	if o.tiers > 0 {
		n := min(o.tiers, pass.Last()-min(p.Tier, pass.Last()))
		if n <= 0 {
			return ErrMaxTier
		}
		xp = pass.xpForTiers(p.XP, p.Tier, n)
	}
	return s.advance(ctx, tx, pass, p, xp)
}

// advance adds xp to a locked player's progress, paying what it reaches.
func (s *Store) advance(ctx context.Context, tx *sqlx.Tx, pass Pass, p *locked, xp int64) error {
	rows, err := s.gain(ctx, tx, pass, []gain{{accountID: p.accountID, xp: xp}})
	if err != nil {
		return err
	}
	if len(rows) == 1 {
		p.gainedTiers, p.gainedXP = rows[0].Tier-rows[0].PrevTier, xp
	}
	return nil
}

// stateIn reads a player's state in tx.
func (s *Store) stateIn(ctx context.Context, tx *sqlx.Tx, accountID int64, seasonID string) (State, error) {
	sea, err := getSeason(ctx, tx, seasonID)
	if err != nil {
		return State{}, err
	}
	pass, err := loadPass(ctx, tx, sea.ID)
	if err != nil {
		return State{}, err
	}
	p, err := readProgress(ctx, tx, accountID, sea.ID)
	if err != nil {
		return State{}, err
	}
	return s.stateOf(sea, pass, p), nil
}
