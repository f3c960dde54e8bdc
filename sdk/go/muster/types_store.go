package muster

import (
	"time"
)

type Storefront struct {
	Country  string    `json:"country"` // The country the store is shown for, in capitals; empty when none is known.
	Region   string    `json:"region"`  // The prices paid there, `*` for the default prices or an enabled region's country code.
	Products []Listing `json:"products"`
}

// Listing is a product on sale to the player, priced for their region.
type Listing struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind"` // `offer`: items for a virtual currency (`POST /v1/store/purchases`); `pack`: currency for real money (`POST /v1/store/checkouts`).
	Name          string     `json:"name"`
	Description   string     `json:"description,omitempty"`
	Currency      string     `json:"currency"`                 // A virtual currency code (offers), or an ISO 4217 code in lower case (packs).
	Amount        int64      `json:"amount"`                   // The price; for packs in the currency's smallest unit (cents).
	Items         []ItemLine `json:"items,omitempty"`          // Offers; more than one item, or a quantity above one, makes a bundle.
	Value         int64      `json:"value,omitempty"`          // Bundles whose every part is also sold on its own; what the parts cost bought one by one.
	GrantCurrency string     `json:"grant_currency,omitempty"` // Packs; the currency credited.
	GrantAmount   int64      `json:"grant_amount,omitempty"`
	BonusAmount   int64      `json:"bonus_amount,omitempty"` // Credited on top of `grant_amount`.
	EndsAt        *time.Time `json:"ends_at,omitempty"`      // Limited-time products; when the sale ends.
	Remaining     int        `json:"remaining,omitempty"`    // Limited products; how many more the player may buy.
}

// Order is one purchase.
type Order struct {
	ID             string     `json:"id"`
	ProductID      string     `json:"product_id"`
	ProductVersion int        `json:"product_version"` // The version of the product bought.
	Kind           string     `json:"kind"`            // `virtual`: an offer bought with virtual currency; `real`: a pack bought with real money.
	Status         string     `json:"status"`          // Virtual orders are `completed` at once (`revoked` if support undid
	Country        string     `json:"country"`         // Virtual orders, the player's country (may be empty); real-money orders, the region priced (`*` for the default).
	PriceCurrency  string     `json:"price_currency"`  // A virtual currency code, or an ISO 4217 code in lower case.
	PriceAmount    int64      `json:"price_amount"`
	GrantCurrency  string     `json:"grant_currency,omitempty"` // Real-money orders; the currency the pack credits.
	GrantAmount    int64      `json:"grant_amount,omitempty"`
	Items          []ItemLine `json:"items,omitempty"`           // Virtual orders; the items granted.
	CheckoutURL    string     `json:"checkout_url,omitempty"`    // Real-money orders; the Stripe Checkout page, once opened.
	Credited       int64      `json:"credited,omitempty"`        // Currency credited for the payment.
	RefundedAmount int64      `json:"refunded_amount,omitempty"` // Money refunded, in the order's smallest unit.
	DisputedAmount int64      `json:"disputed_amount,omitempty"` // Money lost to an open or lost dispute.
	DisputeStatus  string     `json:"dispute_status,omitempty"`
	ClawedBack     int64      `json:"clawed_back,omitempty"` // Currency taken back for refunds and disputes.
	Shortfall      int64      `json:"shortfall,omitempty"`   // Currency a refund should have taken back but could not.
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	Replayed       bool       `json:"replayed"` // True when this answers an earlier request with the same Idempotency-Key; nothing changed now.
}

type Checkout struct {
	Order       Order  `json:"order"`
	CheckoutURL string `json:"checkout_url"` // Stripe's payment page for the order; send the player there.
}

type OrderPage struct {
	Orders []Order `json:"orders"`
	Next   *int64  `json:"next"` // The `before` of the next page; null on the last.
}

type OrderRequest struct {
	ProductID string  `json:"product_id"`
	Country   *string `json:"country,omitempty"` // The country the storefront was shown for (its `country` query), so that a pack costs what the player saw; otherwise as for the storefront.
}

type StoreCountryRequest struct {
	Country string `json:"country"` // An ISO 3166-1 alpha-2 code (either case), or empty to clear the setting.
}

type StoreCountry struct {
	Country string `json:"country"` // The setting in capitals; empty when none.
}
