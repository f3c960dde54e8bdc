// Package inventory owns what players hold: entitlements to catalog items,
// granted, consumed, crafted, disenchanted, gifted, traded and expired.
//
// Every change is an operation with an idempotency key, a source and a
// journal line per item it touched, run in one transaction: a retried
// operation changes nothing and answers what the first one did, and a
// failure leaves no half of it behind. Currency moves through the ledger in
// the same transaction.
//
// Stacking rules (docs/economy.md): a player holds at most max_stack of an
// item (max_stack 1 makes it unique). A grant that would exceed that is
// refused, except that a duplicate of a unique item converts into its
// disenchant yield when it has one (DuplicatesConvert, the rule for rewards
// and purchases). Items with a lifetime extend their expiry on a re-grant
// and cap their quantity instead of refusing. Expired items vanish for
// readers at their second and are swept by the worker.
package inventory

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/ledger"
)

// Errors of this package.
var (
	ErrUnknownItem     = errors.New("unknown or retired item")
	ErrStackFull       = errors.New("the player cannot hold that many of this item")
	ErrAlreadyOwned    = errors.New("the player already owns this unique item")
	ErrNotEnoughItems  = errors.New("the player does not hold enough of this item")
	ErrKeyReused       = errors.New("idempotency key was already used for a different operation")
	ErrInvalid         = errors.New("invalid inventory operation")
	ErrNotGiftable     = errors.New("this item cannot be gifted")
	ErrNotTradable     = errors.New("this item cannot be traded")
	ErrNotDisenchant   = errors.New("this item cannot be disenchanted")
	ErrRecipeUnknown   = errors.New("unknown or retired recipe")
	ErrGiftNotFound    = errors.New("gift not found")
	ErrGiftClosed      = errors.New("the gift was already accepted, declined or returned")
	ErrTradesDisabled  = errors.New("trading is turned off")
	ErrTradeNotFound   = errors.New("trade not found")
	ErrTradeClosed     = errors.New("the trade is no longer open")
	ErrRecipientAbsent = errors.New("recipient not found")
)

// Duplicates says what a grant does with an item the player cannot hold
// more of.
type Duplicates int

const (
	// DuplicatesConvert turns a duplicate of a unique item into its
	// disenchant yield and refuses anything else that does not fit.
	DuplicatesConvert Duplicates = iota
	// DuplicatesRefuse refuses the whole operation.
	DuplicatesRefuse
	// DuplicatesSkip leaves out what does not fit (returns of escrowed
	// items to a player who meanwhile got another).
	DuplicatesSkip
)

// Line is an item and a quantity.
type Line = catalog.Ingredient

// MaxLines bounds how many different items one operation touches.
const MaxLines = 100

func checkLines(lines []Line) error {
	if len(lines) == 0 || len(lines) > MaxLines {
		return fmt.Errorf("%w: 1 to %d items per operation", ErrInvalid, MaxLines)
	}
	seen := make(map[string]bool, len(lines))
	for _, l := range lines {
		if l.ItemID == "" || l.Quantity < 1 || l.Quantity > catalog.MaxStackLimit {
			return fmt.Errorf("%w: each item needs an id and a quantity of 1 to %d", ErrInvalid, catalog.MaxStackLimit)
		}
		if seen[l.ItemID] {
			return fmt.Errorf("%w: %s is listed twice", ErrInvalid, l.ItemID)
		}
		seen[l.ItemID] = true
	}
	return nil
}

// Grant gives items to a player.
type Grant struct {
	Key        string // idempotency key, 1 to 200 bytes
	AccountID  int64
	Source     string // one of ledger.Sources
	Items      []Line
	Duplicates Duplicates
	Memo       string
}

// Consume takes items from a player.
type Consume struct {
	Key       string
	AccountID int64
	Source    string
	Items     []Line
	Memo      string
}

// Change is what an operation did to one item of the player's.
type Change struct {
	ItemID            string     `db:"item_id" json:"item_id"`
	Delta             int        `db:"delta" json:"delta"`
	Quantity          int        `db:"quantity_after" json:"quantity"`
	ExpiresAt         *time.Time `db:"expires_after" json:"expires_at,omitempty"`
	ConvertedCurrency *string    `db:"converted_currency" json:"converted_currency,omitempty"`
	ConvertedAmount   int64      `db:"converted_amount" json:"converted_amount,omitempty"`
}

// Result is the outcome of an operation.
type Result struct {
	OpID     int64    `json:"operation_id"`
	Replayed bool     `json:"replayed"` // the key was used before; nothing changed now
	Changes  []Change `json:"changes"`
}

// opHash identifies an operation's request apart from its key.
func opHash(kind string, accountID int64, source, memo string, lines []Line, extra ...string) []byte {
	h := sha256.New()
	for _, s := range append([]string{kind, source, memo}, extra...) {
		_ = binary.Write(h, binary.BigEndian, uint32(len(s)))
		h.Write([]byte(s))
	}
	_ = binary.Write(h, binary.BigEndian, accountID)
	sorted := slices.Clone(lines)
	slices.SortFunc(sorted, func(a, b Line) int {
		if a.ItemID < b.ItemID {
			return -1
		}
		if a.ItemID > b.ItemID {
			return 1
		}
		return 0
	})
	for _, l := range sorted {
		_ = binary.Write(h, binary.BigEndian, uint32(len(l.ItemID)))
		h.Write([]byte(l.ItemID))
		_ = binary.Write(h, binary.BigEndian, int64(l.Quantity))
	}
	return h.Sum(nil)
}

func checkOp(key, source string, accountID int64, memo string) error {
	switch {
	case key == "" || len(key) > 200:
		return fmt.Errorf("%w: the idempotency key must be 1 to 200 bytes", ErrInvalid)
	case !slices.Contains(ledger.Sources, source):
		return fmt.Errorf("%w: unknown source %q", ErrInvalid, source)
	case accountID <= 0:
		return fmt.Errorf("%w: no player", ErrInvalid)
	case len(memo) > 500:
		return fmt.Errorf("%w: the memo is longer than 500 bytes", ErrInvalid)
	}
	return nil
}
