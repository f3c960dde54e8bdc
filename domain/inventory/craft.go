package inventory

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/ledger"
)

// playerKey scopes a key a player chose (1 to 200 bytes) to that player and
// operation, so two players' keys never collide.
func playerKey(kind string, accountID int64, key string) (string, error) {
	if key == "" || len(key) > 200 {
		return "", fmt.Errorf("%w: the idempotency key must be 1 to 200 bytes", ErrInvalid)
	}
	return fmt.Sprintf("%s:%d:%s", kind, accountID, key), nil
}

// Craft makes a recipe's output from its inputs and currency cost, in one
// transaction: the inputs are consumed, the cost moves to the crafting
// account and the output is granted, or nothing happens. Crafting a unique
// item the player owns is refused. key is the player's idempotency key.
func (s *Store) Craft(ctx context.Context, accountID int64, recipeID, key string) (Result, error) {
	var res Result
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		rec, err := catalog.RecipeTx(ctx, tx, recipeID)
		if errors.Is(err, catalog.ErrNotFound) || (err == nil && rec.Retired) {
			return fmt.Errorf("%w: %s", ErrRecipeUnknown, recipeID)
		}
		if err != nil {
			return err
		}
		full, err := playerKey("craft", accountID, key)
		if err != nil {
			return err
		}
		o, replay, err := s.begin(ctx, tx, full, accountID, "craft", "craft", "", opHash("craft", accountID, "craft", "", nil, recipeID))
		if err != nil || replay != nil {
			res = deref(replay)
			return err
		}
		res.OpID = o.id
		if len(rec.Inputs) > 0 {
			used, err := s.consume(ctx, tx, o, rec.Inputs)
			if err != nil {
				return err
			}
			res.Changes = append(res.Changes, used...)
		}
		if rec.CostAmount > 0 {
			_, err := s.ledger.Post(ctx, tx, ledger.Transfer{
				Key: fmt.Sprintf("inventory:%d:cost", o.id), Source: "craft",
				From: ledger.Player(accountID), To: ledger.System(ledger.Crafting),
				Currency: *rec.CostCurrency, Amount: rec.CostAmount, Memo: "craft " + rec.ID,
			})
			if err != nil {
				return err
			}
		}
		made, err := s.grant(ctx, tx, o, []Line{{ItemID: rec.OutputItem, Quantity: rec.OutputQuantity}}, DuplicatesRefuse)
		if err != nil {
			return err
		}
		res.Changes = append(res.Changes, made...)
		return nil
	})
	return res, err
}

// Disenchant turns n of an item the player holds into its disenchant yield.
func (s *Store) Disenchant(ctx context.Context, accountID int64, itemID string, n int, key string) (Result, error) {
	var res Result
	lines := []Line{{ItemID: itemID, Quantity: n}}
	if err := checkLines(lines); err != nil {
		return res, err
	}
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		it, err := catalog.ItemTx(ctx, tx, itemID)
		if errors.Is(err, catalog.ErrNotFound) {
			return fmt.Errorf("%w: %s", ErrUnknownItem, itemID)
		}
		if err != nil {
			return err
		}
		if it.DisenchantYield == 0 || it.DisenchantCurrency == nil {
			return fmt.Errorf("%w: %s", ErrNotDisenchant, itemID)
		}
		full, err := playerKey("disenchant", accountID, key)
		if err != nil {
			return err
		}
		o, replay, err := s.begin(ctx, tx, full, accountID, "disenchant", "disenchant", "", opHash("disenchant", accountID, "disenchant", "", lines))
		if err != nil || replay != nil {
			res = deref(replay)
			return err
		}
		used, err := s.consume(ctx, tx, o, lines)
		if err != nil {
			return err
		}
		_, err = s.ledger.Post(ctx, tx, ledger.Transfer{
			Key: fmt.Sprintf("inventory:%d:yield", o.id), Source: "disenchant",
			From: ledger.System(ledger.Crafting), To: ledger.Player(accountID),
			Currency: *it.DisenchantCurrency, Amount: it.DisenchantYield * int64(n), Memo: "disenchant " + itemID,
		})
		if err != nil {
			return err
		}
		res = Result{OpID: o.id, Changes: used}
		return nil
	})
	return res, err
}
