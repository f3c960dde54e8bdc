package muster

import (
	"time"
)

type Catalog struct {
	Currencies []Currency `json:"currencies"`
	Items      []Item     `json:"items"`
	Recipes    []Recipe   `json:"recipes"`
}

type Currency struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Kind string `json:"kind"` // `soft` is earned in play, `premium` is bought.
}

// Item is an item definition.
type Item struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	Kind               string     `json:"kind"`
	Rarity             string     `json:"rarity"`
	Tags               []string   `json:"tags"`
	MaxStack           int        `json:"max_stack"`                  // How many a player may hold; 1 makes the item unique.
	LifetimeSeconds    int        `json:"lifetime_seconds,omitempty"` // Present for items that expire this long after they are granted.
	EndsAt             *time.Time `json:"ends_at,omitempty"`          // Present for items that expire at a fixed time.
	Tradable           bool       `json:"tradable"`
	Giftable           bool       `json:"giftable"`
	CraftValue         int64      `json:"craft_value"`
	DisenchantCurrency string     `json:"disenchant_currency,omitempty"` // Present when the item disenchants into currency.
	DisenchantYield    int64      `json:"disenchant_yield"`              // Currency credited per item disenchanted; 0 when it cannot be disenchanted.
}

type Recipe struct {
	ID             string     `json:"id"`
	OutputItem     string     `json:"output_item"`
	OutputQuantity int        `json:"output_quantity"`
	Inputs         []ItemLine `json:"inputs"`
	CostCurrency   string     `json:"cost_currency,omitempty"` // Present when crafting costs currency.
	CostAmount     int64      `json:"cost_amount"`
}

type ItemLine struct {
	ItemID   string `json:"item_id"`
	Quantity int    `json:"quantity"`
}

// Entitlement is an item the player holds.
type Entitlement struct {
	ItemID     string     `json:"item_id"`
	Quantity   int        `json:"quantity"`
	AcquiredAt time.Time  `json:"acquired_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"` // Present for items that expire.
}

type InventoryPage struct {
	Items []Entitlement `json:"items"`
	Next  *string       `json:"next"` // The `after` of the next page; null on the last.
}

// Change is what an operation did to one item of the player's.
type Change struct {
	ItemID            string     `json:"item_id"`
	Delta             int        `json:"delta"`    // Items added (positive) or taken (negative); 0 when a duplicate was converted.
	Quantity          int        `json:"quantity"` // How many the player held right after.
	ExpiresAt         *time.Time `json:"expires_at,omitempty"`
	ConvertedCurrency string     `json:"converted_currency,omitempty"` // Present when a duplicate unique item was converted into its disenchant yield.
	ConvertedAmount   int64      `json:"converted_amount,omitempty"`
}

// InventoryRecord is one item changed by one operation.
type InventoryRecord struct {
	Change
	OperationID int64     `json:"operation_id"`
	At          time.Time `json:"at"`
	Kind        string    `json:"kind"`   // grant, consume, craft, disenchant, gift_send, gift_accepted, trade_give, expire, ...
	Source      string    `json:"source"` // purchase, reward, craft, gift, trade, support, expire, ...
	Memo        string    `json:"memo"`
}

type InventoryHistoryPage struct {
	Records []InventoryRecord `json:"records"`
	Next    *int64            `json:"next"` // The `before` of the next page; null on the last.
}

// Operation is what a craft or disenchant did.
type Operation struct {
	OperationID int64     `json:"operation_id"`
	Replayed    bool      `json:"replayed"` // True when this answers an earlier request with the same Idempotency-Key; nothing changed now.
	Changes     []Change  `json:"changes"`
	Balances    []Balance `json:"balances"` // The player's wallets now.
}

type Balance struct {
	Currency string `json:"currency"`
	Balance  int64  `json:"balance"`
}

// LedgerLine is one movement of the player's currency.
type LedgerLine struct {
	TransferID   int64     `json:"transfer_id"`
	At           time.Time `json:"at"`
	Currency     string    `json:"currency"`
	Amount       int64     `json:"amount"` // Negative when the currency left the wallet.
	BalanceAfter int64     `json:"balance_after"`
	Source       string    `json:"source"` // Why it moved, for example `purchase`, `reward`, `craft`, `disenchant`, `refund`.
	Memo         string    `json:"memo"`
	Counterparty string    `json:"counterparty"` // The other side, `system:<account>` (for example `system:crafting`) or `player:<public id>`.
}

type Wallet struct {
	Currency string       `json:"currency"`
	Name     string       `json:"name"`
	Kind     string       `json:"kind"`
	Balance  int64        `json:"balance"`
	History  []LedgerLine `json:"history"` // The most recent ledger lines, newest first.
	Next     *int64       `json:"next"`    // The `before` for `GET /v1/me/wallets/{currency}/history` to read older lines; null when there are none.
}

type LedgerPage struct {
	History []LedgerLine `json:"history"`
	Next    *int64       `json:"next"` // The `before` of the next page; null on the last.
}

// PublicPlayer is another player (or the caller), by public id.
type PublicPlayer struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"` // Empty once the account is deleted.
}

type Gift struct {
	ID         int64        `json:"id"`
	From       PublicPlayer `json:"from"`
	To         PublicPlayer `json:"to"`
	Items      []ItemLine   `json:"items"`
	Message    string       `json:"message"`
	Status     string       `json:"status"` // `returned`: unclaimed until `expires_at`, so the items went back to the sender.
	CreatedAt  time.Time    `json:"created_at"`
	ExpiresAt  time.Time    `json:"expires_at"`
	ResolvedAt *time.Time   `json:"resolved_at,omitempty"`
}

type Trade struct {
	ID           int64        `json:"id"`
	Proposer     PublicPlayer `json:"proposer"`
	Counterparty PublicPlayer `json:"counterparty"`
	Offered      []ItemLine   `json:"offered"`   // The proposer's items, held in escrow while the trade is open.
	Requested    []ItemLine   `json:"requested"` // What the proposer asks of the counterparty.
	Status       string       `json:"status"`
	CreatedAt    time.Time    `json:"created_at"`
	ExpiresAt    time.Time    `json:"expires_at"`
	ResolvedAt   *time.Time   `json:"resolved_at,omitempty"`
}

type CraftRequest struct {
	RecipeID string `json:"recipe_id"`
}

type DisenchantRequest struct {
	ItemID   string `json:"item_id"`
	Quantity int    `json:"quantity"`
}

type GiftRequest struct {
	To      string     `json:"to"`                // The recipient's public id.
	Items   []ItemLine `json:"items"`             // Giftable items, each listed once.
	Message *string    `json:"message,omitempty"` // At most 280 bytes; control characters are removed.
}

type TradeRequest struct {
	To        string     `json:"to"` // The counterparty's public id.
	Offered   []ItemLine `json:"offered"`
	Requested []ItemLine `json:"requested"`
}
