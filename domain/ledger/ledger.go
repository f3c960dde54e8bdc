// Package ledger keeps virtual currency on a double-entry ledger. Every
// movement is a transfer from one account to another in one currency: two
// entries that sum to zero, appended and never changed. An account belongs
// to a holder, a player's wallet ("player:42") or a system account
// ("system:minted"); its balance is a cache of the sum of its entries that
// Verify proves.
//
// Every transfer carries an idempotency key. Posting the same key again with
// the same transfer changes nothing and answers the first result; the same
// key with a different transfer is ErrKeyReused. A player's balance never
// goes below zero, except through a transfer that allows debt: under the
// store's debt policy (docs/store.md) a refund or chargeback clawback takes
// back currency a player already spent and leaves the wallet negative until
// later credits repay it.
// System accounts may go negative: "minted" and "rewards" are where currency
// comes from, so their balances are minus what they issued.
package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors of this package.
var (
	ErrInsufficientFunds = errors.New("insufficient funds")
	ErrKeyReused         = errors.New("idempotency key was already used for a different transfer")
	ErrUnknownCurrency   = errors.New("unknown currency")
	ErrInvalidTransfer   = errors.New("invalid transfer")
)

// System accounts.
const (
	Minted         = "minted"          // premium currency bought with real money comes from here
	Rewards        = "rewards"         // currency earned in play
	StoreRevenue   = "store_revenue"   // currency spent in the store
	Refunds        = "refunds"         // currency returned to players by support or refunds
	ChargebackDebt = "chargeback_debt" // currency clawed back after a chargeback
	Crafting       = "crafting"        // crafting costs and disenchant yields
	Support        = "support"         // grants and removals by support staff
	Progression    = "progression"     // currency spent on unlock trees
)

// SystemAccounts lists the system accounts.
var SystemAccounts = []string{Minted, Rewards, StoreRevenue, Refunds, ChargebackDebt, Crafting, Support, Progression}

// Sources say why value moved; every transfer and inventory change has one.
var Sources = []string{"purchase", "reward", "craft", "disenchant", "gift", "trade", "support", "refund", "chargeback", "expire", "fulfilment", "unlock"}

// Holder owns ledger accounts: "player:<account id>" or "system:<name>".
type Holder string

// Player is the holder of a player's wallets.
func Player(accountID int64) Holder { return Holder("player:" + strconv.FormatInt(accountID, 10)) }

// System is the holder of a system account; name is one of SystemAccounts.
func System(name string) Holder { return Holder("system:" + name) }

// AccountID returns the player account of a player holder.
func (h Holder) AccountID() (int64, bool) {
	s, ok := strings.CutPrefix(string(h), "player:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func (h Holder) valid() bool {
	if _, ok := h.AccountID(); ok {
		return true
	}
	name, ok := strings.CutPrefix(string(h), "system:")
	return ok && slices.Contains(SystemAccounts, name)
}

// Transfer moves Amount of Currency from one holder to another.
type Transfer struct {
	Key       string // idempotency key, 1 to 200 bytes
	Source    string // one of Sources
	From, To  Holder
	Currency  string
	Amount    int64 // > 0
	AllowDebt bool  // may take a player's wallet below zero (refund and chargeback clawbacks under the debt policy only)
	Memo      string
}

// MaxAmount bounds one transfer, far above any real price, so that sums of
// many transfers stay far from int64 overflow.
const MaxAmount = 1_000_000_000_000

func (t Transfer) validate() error {
	switch {
	case t.Key == "" || len(t.Key) > 200:
		return fmt.Errorf("%w: the idempotency key must be 1 to 200 bytes", ErrInvalidTransfer)
	case !slices.Contains(Sources, t.Source):
		return fmt.Errorf("%w: unknown source %q", ErrInvalidTransfer, t.Source)
	case !t.From.valid() || !t.To.valid():
		return fmt.Errorf("%w: unknown holder", ErrInvalidTransfer)
	case t.From == t.To:
		return fmt.Errorf("%w: from and to are the same account", ErrInvalidTransfer)
	case t.Amount <= 0 || t.Amount > MaxAmount:
		return fmt.Errorf("%w: the amount must be 1 to %d", ErrInvalidTransfer, int64(MaxAmount))
	case t.Currency == "":
		return fmt.Errorf("%w: no currency", ErrInvalidTransfer)
	case len(t.Memo) > 500:
		return fmt.Errorf("%w: the memo is longer than 500 bytes", ErrInvalidTransfer)
	}
	return nil
}

// hash covers everything but the key, so a reused key with a different
// transfer is told apart from a retry.
func (t Transfer) hash() []byte {
	h := sha256.New()
	for _, s := range []string{t.Source, string(t.From), string(t.To), t.Currency, t.Memo} {
		_ = binary.Write(h, binary.BigEndian, uint32(len(s)))
		h.Write([]byte(s))
	}
	_ = binary.Write(h, binary.BigEndian, t.Amount)
	if t.AllowDebt {
		h.Write([]byte{1})
	}
	return h.Sum(nil)
}

// Receipt is the outcome of a transfer.
type Receipt struct {
	TransferID  int64
	At          time.Time
	FromBalance int64 // balances right after the transfer
	ToBalance   int64
	Replayed    bool // the key was posted before; nothing changed now
}
