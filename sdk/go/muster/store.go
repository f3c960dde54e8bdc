package muster

import (
	"context"
	"net/http"
)

// GetStorefront returns the products on sale to the player, priced for
// country ("" for the player's own).
func (c *Client) GetStorefront(ctx context.Context, country string) (*Storefront, error) {
	return as[Storefront](ctx, c, call{method: http.MethodGet, path: "/v1/store", query: query("country", country)})
}

// BuyProduct buys an offer with virtual currency (with an
// Idempotency-Key: a repeat answers the first order, Replayed true).
func (c *Client) BuyProduct(ctx context.Context, req OrderRequest) (*Order, error) {
	return as[Order](ctx, c, call{method: http.MethodPost, path: "/v1/store/purchases", body: req, idempotencyKey: true})
}

// CreateCheckout starts paying for a currency pack with real money (with
// an Idempotency-Key); send the player to CheckoutURL.
func (c *Client) CreateCheckout(ctx context.Context, req OrderRequest) (*Checkout, error) {
	return as[Checkout](ctx, c, call{method: http.MethodPost, path: "/v1/store/checkouts", body: req, idempotencyKey: true})
}

// SetStoreCountry sets (or with "" clears) the player's store country.
func (c *Client) SetStoreCountry(ctx context.Context, req StoreCountryRequest) (*StoreCountry, error) {
	return as[StoreCountry](ctx, c, call{method: http.MethodPut, path: "/v1/me/store/country", body: req})
}

// ListOrders returns a page of the player's orders, newest first.
func (c *Client) ListOrders(ctx context.Context, p PageParams) (*OrderPage, error) {
	return as[OrderPage](ctx, c, call{method: http.MethodGet, path: "/v1/me/orders",
		query: query("before", p.Before, "limit", p.Limit)})
}

// GetOrder returns one of the player's orders.
func (c *Client) GetOrder(ctx context.Context, id string) (*Order, error) {
	return as[Order](ctx, c, call{method: http.MethodGet, path: pathf("/v1/me/orders/%s", id)})
}
