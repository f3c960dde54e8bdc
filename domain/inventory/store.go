package inventory

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/ledger"
)

// Config holds the inventory's policies.
type Config struct {
	GiftTTL       time.Duration // unclaimed gifts return to the sender after this; default 14 days
	TradesEnabled bool          // the trades feature flag; off by default
	TradeTTL      time.Duration // open trades expire after this; default 1 day
}

// Store runs inventory operations in PostgreSQL.
type Store struct {
	conn   *sqlx.DB
	stmts  *db.Prepared // the hot statements: begin, grant, consume
	ledger *ledger.Ledger
	cfg    Config
	cache  *fullCache               // whole inventories of players who hold many items
	grants *db.Group[Grant, Result] // Grant calls written together
}

// NewStore returns a Store that moves currency through l.
func NewStore(conn *sqlx.DB, l *ledger.Ledger, cfg Config) *Store {
	if cfg.GiftTTL <= 0 {
		cfg.GiftTTL = 14 * 24 * time.Hour
	}
	if cfg.TradeTTL <= 0 {
		cfg.TradeTTL = 24 * time.Hour
	}
	s := &Store{conn: conn, stmts: db.NewPrepared(conn), ledger: l, cfg: cfg, cache: newFullCache()}
	s.grants = db.NewGroup(maxGrantBatch, grantBatchers, func(g Grant) int64 { return g.AccountID }, s.writeGrants)
	return s
}

// TradesEnabled reports the trades feature flag.
func (s *Store) TradesEnabled() bool { return s.cfg.TradesEnabled }

// op is an operation begun in a transaction.
type op struct {
	id        int64
	key       string
	accountID int64
	source    string
}

// begin records an operation by its key. When the key was used before it
// returns the earlier result (same request) or ErrKeyReused; a concurrent
// operation with the same key waits here until the first one commits.
func (s *Store) begin(ctx context.Context, tx *sqlx.Tx, key string, accountID int64, kind, source, memo string, hash []byte) (op, *Result, error) {
	o := op{key: key, accountID: accountID, source: source}
	const q = `INSERT INTO inventory_ops (idem_key, request_hash, account_id, kind, source, memo)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idem_key) DO NOTHING RETURNING id`
	err := s.stmts.TxGet(ctx, tx, &o.id, q, key, hash, accountID, kind, source, memo)
	if err == nil {
		return o, nil, nil
	}
	if db.IsForeignKeyViolation(err) {
		return o, nil, ErrRecipientAbsent
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return o, nil, fmt.Errorf("begin %s: %w", kind, err)
	}
	var prev struct {
		ID   int64  `db:"id"`
		Hash []byte `db:"request_hash"`
	}
	if err := tx.GetContext(ctx, &prev, `SELECT id, request_hash FROM inventory_ops WHERE idem_key = $1`, key); err != nil {
		return o, nil, fmt.Errorf("load operation %q: %w", key, err)
	}
	if !bytes.Equal(prev.Hash, hash) {
		return o, nil, ErrKeyReused
	}
	changes, err := opChanges(ctx, tx, prev.ID)
	if err != nil {
		return o, nil, err
	}
	return o, &Result{OpID: prev.ID, Replayed: true, Changes: changes}, nil
}

func opChanges(ctx context.Context, q sqlx.QueryerContext, opID int64) ([]Change, error) {
	out := []Change{}
	const sel = `SELECT item_id, delta, quantity_after, expires_after, converted_currency, converted_amount
		FROM inventory_changes WHERE op_id = $1 ORDER BY item_id, delta`
	if err := sqlx.SelectContext(ctx, q, &out, sel, opID); err != nil {
		return nil, fmt.Errorf("load changes of operation %d: %w", opID, err)
	}
	return out, nil
}

func unzip(lines []Line) (pq.StringArray, pq.Int64Array) {
	ids := make(pq.StringArray, len(lines))
	qty := make(pq.Int64Array, len(lines))
	for i, l := range lines {
		ids[i], qty[i] = l.ItemID, int64(l.Quantity)
	}
	return ids, qty
}

// grantCTE adds each requested item ("req": account_id, item_id, qty) that
// is defined and not retired, within its stack limit; an item with a
// lifetime caps its quantity and extends its expiry instead. An expired row
// still waiting for the sweep starts afresh. It journals each granted item
// under its player's operation of the "op" CTE (id, account_id), which the
// statements below define with req. The first %s is the journaled
// quantity, the second how the journal joins what was granted.
const grantCTE = `
def AS (
	SELECT r.account_id, c.id, c.max_stack, c.lifetime_seconds, c.ends_at, r.qty
	FROM req r JOIN catalog_items c ON c.id = r.item_id AND NOT c.retired
), up AS (
	INSERT INTO inventory_items AS i (account_id, item_id, quantity, expires_at)
	SELECT d.account_id, d.id, LEAST(d.qty, d.max_stack),
		CASE WHEN d.lifetime_seconds IS NOT NULL THEN now() + make_interval(secs => d.lifetime_seconds * d.qty) ELSE d.ends_at END
	FROM def d JOIN op ON op.account_id = d.account_id
	WHERE d.qty <= d.max_stack OR d.lifetime_seconds IS NOT NULL OR d.ends_at IS NOT NULL
	ON CONFLICT (account_id, item_id) DO UPDATE SET
		quantity = CASE
			WHEN i.expires_at <= now() THEN EXCLUDED.quantity
			WHEN EXCLUDED.expires_at IS NOT NULL AND i.expires_at IS NOT NULL
				THEN LEAST(i.quantity + EXCLUDED.quantity, (SELECT max_stack FROM def WHERE id = i.item_id AND account_id = i.account_id))
			ELSE i.quantity + EXCLUDED.quantity END,
		expires_at = CASE
			WHEN i.expires_at <= now() OR i.expires_at IS NULL THEN EXCLUDED.expires_at
			WHEN (SELECT lifetime_seconds FROM def WHERE id = i.item_id AND account_id = i.account_id) IS NOT NULL
				THEN i.expires_at + (EXCLUDED.expires_at - now())
			ELSE EXCLUDED.expires_at END,
		acquired_at = CASE WHEN i.expires_at <= now() THEN now() ELSE i.acquired_at END
	WHERE i.expires_at <= now() OR EXCLUDED.expires_at IS NOT NULL
		OR i.quantity + EXCLUDED.quantity <= (SELECT max_stack FROM def WHERE id = i.item_id AND account_id = i.account_id)
	RETURNING i.account_id, i.item_id, i.quantity, i.expires_at
), ch AS (
	INSERT INTO inventory_changes (op_id, account_id, item_id, delta, quantity_after, expires_after)
	SELECT op.id, r.account_id, r.item_id, r.qty, %s, u.expires_at
	FROM op JOIN req r ON r.account_id = op.account_id %s up u ON u.account_id = r.account_id AND u.item_id = r.item_id
)`

// oneGrantReq is the request of a grant to one player ($1) of items $2 in
// quantities $3.
const oneGrantReq = `req AS (SELECT $1::bigint AS account_id, r.item_id, r.qty FROM unnest($2::text[], $3::int[]) AS r (item_id, qty)), `

// grantResult answers a grant to one player: a row per requested item,
// whether it is defined, its stacking facts, and the new quantity when it
// was granted.
const grantResult = `
SELECT (SELECT id FROM op) AS op_id, r.item_id, d.id IS NOT NULL AS known, coalesce(d.max_stack, 0) AS max_stack,
	u.quantity AS quantity, u.expires_at AS expires_at
FROM req r LEFT JOIN def d ON d.id = r.item_id LEFT JOIN up u ON u.item_id = r.item_id`

// grantSQL grants under an operation begun in the caller's transaction
// ($4), journaling what it granted; the caller handles what did not fit.
var grantSQL = "WITH " + oneGrantReq + "op AS (SELECT $4::bigint AS id, $1::bigint AS account_id), " +
	fmt.Sprintf(grantCTE, "u.quantity", "JOIN") + grantResult

// grantOnceSQL is a whole grant in one statement: it begins the operation
// (unless its key exists) and grants every item, or fails as a whole: an
// item it could not grant is journaled with quantity -1, which the
// inventory_changes_refused constraint rejects. Grant then takes the
// transactional path, which converts duplicates and names the refusal.
var grantOnceSQL = `WITH ` + oneGrantReq + `op AS (
	INSERT INTO inventory_ops (idem_key, request_hash, account_id, kind, source, memo)
	VALUES ($4, $5, $1, 'grant', $6, $7) ON CONFLICT (idem_key) DO NOTHING RETURNING id, account_id
), ` + fmt.Sprintf(grantCTE, "coalesce(u.quantity, -1)", "LEFT JOIN") + grantResult

// GrantTx gives items inside tx, for use cases that do more in the same
// transaction (a purchase, a craft, a gift). After an error the caller must
// roll tx back.
func (s *Store) GrantTx(ctx context.Context, tx *sqlx.Tx, g Grant) (Result, error) {
	if err := checkOp(g.Key, g.Source, g.AccountID, g.Memo); err != nil {
		return Result{}, err
	}
	if err := checkLines(g.Items); err != nil {
		return Result{}, err
	}
	o, replay, err := s.begin(ctx, tx, g.Key, g.AccountID, "grant", g.Source, g.Memo, opHash("grant", g.AccountID, g.Source, g.Memo, g.Items, fmt.Sprint(g.Duplicates)))
	if err != nil || replay != nil {
		return deref(replay), err
	}
	changes, err := s.grant(ctx, tx, o, g.Items, g.Duplicates)
	return Result{OpID: o.id, Changes: changes}, err
}

func deref(r *Result) Result {
	if r == nil {
		return Result{}
	}
	return *r
}

// Grant gives items atomically. The common case, every item fits, is one
// statement, shared with the other grants that arrive together
// (GrantBatchTx); anything else (a duplicate to convert, a refusal to
// explain, a retried key) takes GrantTx in a transaction of its own.
func (s *Store) Grant(ctx context.Context, g Grant) (Result, error) {
	if err := checkOp(g.Key, g.Source, g.AccountID, g.Memo); err != nil {
		return Result{}, err
	}
	if err := checkLines(g.Items); err != nil {
		return Result{}, err
	}
	if r, err := s.grants.Do(ctx, g); !errors.Is(err, db.ErrAlone) {
		return r, err
	}
	ids, qty := unzip(g.Items)
	var rows []struct {
		OpID      *int64     `db:"op_id"`
		ItemID    string     `db:"item_id"`
		Known     bool       `db:"known"`
		MaxStack  int        `db:"max_stack"`
		Quantity  *int       `db:"quantity"`
		ExpiresAt *time.Time `db:"expires_at"`
	}
	hash := opHash("grant", g.AccountID, g.Source, g.Memo, g.Items, fmt.Sprint(g.Duplicates))
	err := db.Retry(ctx, func() error {
		return s.stmts.Select(ctx, &rows, grantOnceSQL, g.AccountID, ids, qty, g.Key, hash, g.Source, g.Memo)
	})
	if err == nil && len(rows) > 0 && rows[0].OpID != nil {
		r := Result{OpID: *rows[0].OpID, Changes: make([]Change, len(rows))}
		for i, row := range rows {
			r.Changes[i] = Change{ItemID: row.ItemID, Delta: int(qty[i]), Quantity: *row.Quantity, ExpiresAt: row.ExpiresAt}
		}
		return r, nil
	}
	if err != nil && !db.IsConstraint(err, "inventory_changes_refused") && !db.IsForeignKeyViolation(err) {
		return Result{}, fmt.Errorf("grant items: %w", err)
	}
	var r Result
	err = db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) (err error) {
		r, err = s.GrantTx(ctx, tx, g)
		return err
	})
	return r, err
}

// grant applies an operation's grant of lines and handles what did not fit.
func (s *Store) grant(ctx context.Context, tx *sqlx.Tx, o op, lines []Line, dup Duplicates) ([]Change, error) {
	ids, qty := unzip(lines)
	var rows []struct {
		OpID      int64      `db:"op_id"`
		ItemID    string     `db:"item_id"`
		Known     bool       `db:"known"`
		MaxStack  int        `db:"max_stack"`
		Quantity  *int       `db:"quantity"`
		ExpiresAt *time.Time `db:"expires_at"`
	}
	if err := s.stmts.TxSelect(ctx, tx, &rows, grantSQL, o.accountID, ids, qty, o.id); err != nil {
		return nil, fmt.Errorf("grant items: %w", err)
	}
	changes := make([]Change, 0, len(rows))
	for i, r := range rows {
		if !r.Known {
			return nil, fmt.Errorf("%w: %s", ErrUnknownItem, r.ItemID)
		}
		if r.Quantity != nil {
			changes = append(changes, Change{ItemID: r.ItemID, Delta: int(qty[i]), Quantity: *r.Quantity, ExpiresAt: r.ExpiresAt})
			continue
		}
		refused := fmt.Errorf("%w: %s (at most %d)", ErrStackFull, r.ItemID, r.MaxStack)
		if r.MaxStack == 1 {
			refused = fmt.Errorf("%w: %s", ErrAlreadyOwned, r.ItemID)
		}
		switch {
		case dup == DuplicatesSkip:
			continue
		case dup == DuplicatesConvert && r.MaxStack == 1:
			c, err := s.convert(ctx, tx, o, r.ItemID, int(qty[i]))
			if err != nil {
				return nil, err
			}
			if c == nil {
				return nil, refused
			}
			changes = append(changes, *c)
		default:
			return nil, refused
		}
	}
	return changes, nil
}

// convert pays a duplicate unique item's disenchant yield instead of the
// item. It answers nil when the item has no yield.
func (s *Store) convert(ctx context.Context, tx *sqlx.Tx, o op, itemID string, n int) (*Change, error) {
	var it struct {
		Currency *string `db:"disenchant_currency"`
		Yield    int64   `db:"disenchant_yield"`
		Quantity int     `db:"quantity"`
	}
	const q = `SELECT c.disenchant_currency, c.disenchant_yield, i.quantity FROM catalog_items c
		JOIN inventory_items i ON i.item_id = c.id AND i.account_id = $2 WHERE c.id = $1`
	if err := tx.GetContext(ctx, &it, q, itemID, o.accountID); err != nil {
		return nil, fmt.Errorf("load %s for conversion: %w", itemID, err)
	}
	if it.Yield == 0 || it.Currency == nil {
		return nil, nil
	}
	amount := it.Yield * int64(n)
	_, err := s.ledger.Post(ctx, tx, ledger.Transfer{
		Key: fmt.Sprintf("inventory:%d:convert:%s", o.id, itemID), Source: o.source,
		From: ledger.System(ledger.Crafting), To: ledger.Player(o.accountID),
		Currency: *it.Currency, Amount: amount, Memo: "duplicate " + itemID,
	})
	if err != nil {
		return nil, fmt.Errorf("convert duplicate %s: %w", itemID, err)
	}
	c := Change{ItemID: itemID, Delta: 0, Quantity: it.Quantity, ConvertedCurrency: it.Currency, ConvertedAmount: amount}
	const ins = `INSERT INTO inventory_changes (op_id, account_id, item_id, delta, quantity_after, converted_currency, converted_amount)
		VALUES ($1, $2, $3, 0, $4, $5, $6)`
	if _, err := tx.ExecContext(ctx, ins, o.id, o.accountID, itemID, it.Quantity, it.Currency, amount); err != nil {
		return nil, fmt.Errorf("journal conversion: %w", err)
	}
	return &c, nil
}

// consumeSQL takes each requested quantity from a live (unexpired) row,
// deleting the row when it reaches zero. The result has a row per requested
// item with its new quantity, or NULL when the player did not hold enough.
const consumeSQL = `
WITH req AS (
	SELECT * FROM unnest($3::text[], $4::int[]) AS r (item_id, qty)
), upd AS (
	UPDATE inventory_items i SET quantity = i.quantity - r.qty
	FROM req r
	WHERE i.account_id = $2 AND i.item_id = r.item_id AND i.quantity > r.qty
		AND (i.expires_at IS NULL OR i.expires_at > now())
	RETURNING i.item_id, i.quantity, i.expires_at
), del AS (
	DELETE FROM inventory_items i USING req r
	WHERE i.account_id = $2 AND i.item_id = r.item_id AND i.quantity = r.qty
		AND (i.expires_at IS NULL OR i.expires_at > now())
	RETURNING i.item_id, 0 AS quantity, i.expires_at
), done AS (
	SELECT * FROM upd UNION ALL SELECT * FROM del
), ch AS (
	INSERT INTO inventory_changes (op_id, account_id, item_id, delta, quantity_after, expires_after)
	SELECT $1, $2, d.item_id, -r.qty, d.quantity, d.expires_at FROM done d JOIN req r USING (item_id)
)
SELECT r.item_id, d.quantity, d.expires_at FROM req r LEFT JOIN done d USING (item_id)`

// consume applies an operation's removal of lines; all or nothing.
func (s *Store) consume(ctx context.Context, tx *sqlx.Tx, o op, lines []Line) ([]Change, error) {
	ids, qty := unzip(lines)
	var rows []struct {
		ItemID    string     `db:"item_id"`
		Quantity  *int       `db:"quantity"`
		ExpiresAt *time.Time `db:"expires_at"`
	}
	if err := s.stmts.TxSelect(ctx, tx, &rows, consumeSQL, o.id, o.accountID, ids, qty); err != nil {
		return nil, fmt.Errorf("consume items: %w", err)
	}
	changes := make([]Change, 0, len(rows))
	for i, r := range rows {
		if r.Quantity == nil {
			return nil, fmt.Errorf("%w: %s", ErrNotEnoughItems, r.ItemID)
		}
		changes = append(changes, Change{ItemID: r.ItemID, Delta: -int(qty[i]), Quantity: *r.Quantity, ExpiresAt: r.ExpiresAt})
	}
	return changes, nil
}

// ConsumeTx takes items inside tx; all or nothing.
func (s *Store) ConsumeTx(ctx context.Context, tx *sqlx.Tx, c Consume) (Result, error) {
	if err := checkOp(c.Key, c.Source, c.AccountID, c.Memo); err != nil {
		return Result{}, err
	}
	if err := checkLines(c.Items); err != nil {
		return Result{}, err
	}
	o, replay, err := s.begin(ctx, tx, c.Key, c.AccountID, "consume", c.Source, c.Memo, opHash("consume", c.AccountID, c.Source, c.Memo, c.Items))
	if err != nil || replay != nil {
		return deref(replay), err
	}
	changes, err := s.consume(ctx, tx, o, c.Items)
	return Result{OpID: o.id, Changes: changes}, err
}

// Consume takes items in a transaction of its own.
func (s *Store) Consume(ctx context.Context, c Consume) (Result, error) {
	var r Result
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) (err error) {
		r, err = s.ConsumeTx(ctx, tx, c)
		return err
	})
	return r, err
}
