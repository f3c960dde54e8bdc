package muster

import (
	"context"
	"net/http"
)

// ListInventoryParams filter and page ListInventory; zero values are left
// out.
type ListInventoryParams struct {
	Kind  string // only items of this catalog kind
	After string // the Next of the previous page
	Limit int
	All   bool // include expired items
}

// PageParams page the history lists: Before is the Next of the previous
// page.
type PageParams struct {
	Before int64
	Limit  int
}

// WalletList answers ListWallets.
type WalletList struct {
	Wallets []Wallet `json:"wallets"`
}

// GiftList answers ListGifts.
type GiftList struct {
	Incoming []Gift `json:"incoming"`
	Sent     []Gift `json:"sent"`
}

// TradeList answers ListTrades.
type TradeList struct {
	Trades []Trade `json:"trades"`
}

// GetCatalog returns the economy's currencies, items and recipes.
func (c *Client) GetCatalog(ctx context.Context) (*Catalog, error) {
	return as[Catalog](ctx, c, call{method: http.MethodGet, path: "/v1/catalog"})
}

// ListInventory returns a page of what the player holds.
func (c *Client) ListInventory(ctx context.Context, p ListInventoryParams) (*InventoryPage, error) {
	return as[InventoryPage](ctx, c, call{method: http.MethodGet, path: "/v1/me/inventory",
		query: query("kind", p.Kind, "after", p.After, "limit", p.Limit, "all", p.All)})
}

// InventoryHistory returns a page of the player's inventory journal,
// newest first.
func (c *Client) InventoryHistory(ctx context.Context, p PageParams) (*InventoryHistoryPage, error) {
	return as[InventoryHistoryPage](ctx, c, call{method: http.MethodGet, path: "/v1/me/inventory/history",
		query: query("before", p.Before, "limit", p.Limit)})
}

// ListWallets returns the player's balances with their latest ledger
// lines.
func (c *Client) ListWallets(ctx context.Context) (*WalletList, error) {
	return as[WalletList](ctx, c, call{method: http.MethodGet, path: "/v1/me/wallets"})
}

// WalletHistory returns a page of one currency's ledger lines, newest
// first.
func (c *Client) WalletHistory(ctx context.Context, currency string, p PageParams) (*LedgerPage, error) {
	return as[LedgerPage](ctx, c, call{method: http.MethodGet, path: pathf("/v1/me/wallets/%s/history", currency),
		query: query("before", p.Before, "limit", p.Limit)})
}

// Craft runs a recipe (with an Idempotency-Key; see WithIdempotencyKey).
func (c *Client) Craft(ctx context.Context, req CraftRequest) (*Operation, error) {
	return as[Operation](ctx, c, call{method: http.MethodPost, path: "/v1/me/craft", body: req, idempotencyKey: true})
}

// Disenchant turns items into currency (with an Idempotency-Key).
func (c *Client) Disenchant(ctx context.Context, req DisenchantRequest) (*Operation, error) {
	return as[Operation](ctx, c, call{method: http.MethodPost, path: "/v1/me/disenchant", body: req, idempotencyKey: true})
}

// ListGifts lists the gifts the player received and sent.
func (c *Client) ListGifts(ctx context.Context) (*GiftList, error) {
	return as[GiftList](ctx, c, call{method: http.MethodGet, path: "/v1/me/gifts"})
}

// SendGift sends items to another player (with an Idempotency-Key).
func (c *Client) SendGift(ctx context.Context, req GiftRequest) (*Gift, error) {
	return as[Gift](ctx, c, call{method: http.MethodPost, path: "/v1/me/gifts", body: req, idempotencyKey: true})
}

// AcceptGift takes a pending gift's items.
func (c *Client) AcceptGift(ctx context.Context, id int64) (*Gift, error) {
	return as[Gift](ctx, c, call{method: http.MethodPost, path: pathf("/v1/me/gifts/%s/accept", id)})
}

// DeclineGift sends a pending gift back.
func (c *Client) DeclineGift(ctx context.Context, id int64) (*Gift, error) {
	return as[Gift](ctx, c, call{method: http.MethodPost, path: pathf("/v1/me/gifts/%s/decline", id)})
}

// ListTrades lists the player's trades.
func (c *Client) ListTrades(ctx context.Context) (*TradeList, error) {
	return as[TradeList](ctx, c, call{method: http.MethodGet, path: "/v1/me/trades"})
}

// ProposeTrade offers items for another player's (with an
// Idempotency-Key); the offered items are held in escrow.
func (c *Client) ProposeTrade(ctx context.Context, req TradeRequest) (*Trade, error) {
	return as[Trade](ctx, c, call{method: http.MethodPost, path: "/v1/me/trades", body: req, idempotencyKey: true})
}

// AcceptTrade completes a trade proposed to the player.
func (c *Client) AcceptTrade(ctx context.Context, id int64) (*Trade, error) {
	return as[Trade](ctx, c, call{method: http.MethodPost, path: pathf("/v1/me/trades/%s/accept", id)})
}

// CancelTrade cancels or refuses an open trade.
func (c *Client) CancelTrade(ctx context.Context, id int64) (*Trade, error) {
	return as[Trade](ctx, c, call{method: http.MethodPost, path: pathf("/v1/me/trades/%s/cancel", id)})
}
