// Package store sells what the economy holds: offers of items for virtual
// currency (several items make a bundle) and packs of premium currency for
// real money through Stripe, priced per region.
//
// A virtual purchase debits the wallet, grants the items and records the
// order in one transaction under the player's idempotency key. A real-money
// order is a state machine driven by Stripe's events: each event is recorded
// once by its id, then applied to the order's facts (paid, refunded amount,
// dispute), and the order is settled against the ledger by difference, with
// one idempotency key per movement, so that events arriving twice, late or
// out of order credit exactly once and claw back exactly what was refunded.
// The rules are in docs/store.md.
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
)

// Errors of this package.
var (
	ErrNotFound       = errors.New("not found")
	ErrNotOnSale      = errors.New("this product is not on sale now")
	ErrLimitReached   = errors.New("the purchase limit for this product is reached")
	ErrKeyReused      = errors.New("idempotency key was already used for a different purchase")
	ErrWrongKind      = errors.New("this product is not sold that way")
	ErrPaymentsOff    = errors.New("real-money payments are not configured")
	ErrPaymentFailed  = errors.New("the payment provider did not answer")
	ErrNotRefundable  = errors.New("this order cannot be refunded")
	ErrInvalidRefund  = errors.New("invalid refund")
	ErrBadSignature   = errors.New("the webhook signature is invalid")
	ErrInvalidPayload = errors.New("the webhook payload is invalid")
)

// Refund policies: what a refund or chargeback does when the player has
// already spent the currency it takes back (docs/store.md).
const (
	// PolicyDebt takes the whole amount back and leaves the wallet negative;
	// later credits repay the debt first.
	PolicyDebt = "debt"
	// PolicyRevoke takes what the wallet holds, then undoes the player's
	// newest purchases in that currency (items taken back, their price
	// returned and taken) until the rest is covered; what still remains is
	// recorded as a shortfall and the account is flagged.
	PolicyRevoke = "revoke"
	// PolicyFlag takes what the wallet holds, records the rest as a
	// shortfall and flags the account for support.
	PolicyFlag = "flag"
)

// Policies lists the refund policies.
var Policies = []string{PolicyDebt, PolicyRevoke, PolicyFlag}

// Config holds the store's settings.
type Config struct {
	RefundPolicy string // one of Policies; default PolicyDebt
	// SuccessURL and CancelURL are where Stripe Checkout sends the player
	// back; "{ORDER_ID}" is replaced by the order's id.
	SuccessURL, CancelURL string
	// Metrics registers the store's series; nil leaves them unregistered.
	Metrics prometheus.Registerer
}

// Store runs the store in PostgreSQL, moving value through the ledger and
// the inventory.
type Store struct {
	conn      *sqlx.DB
	stmts     *db.Prepared
	catalog   *catalog.Store
	ledger    *ledger.Ledger
	inv       *inventory.Store
	payments  Payments // nil: real-money purchases are off
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	products  productCache // what Buy sells, checked against the version at purchase
	metrics   *metrics
	purchases *db.Group[purchase, Order]    // virtual purchases written together
	incoming  *db.Group[incoming, Recorded] // Stripe events recorded together
}

// New returns a Store. payments may be nil when Stripe is not configured.
func New(conn *sqlx.DB, cat *catalog.Store, l *ledger.Ledger, inv *inventory.Store, payments Payments, cfg Config, log *slog.Logger) *Store {
	if cfg.RefundPolicy == "" {
		cfg.RefundPolicy = PolicyDebt
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Store{conn: conn, stmts: db.NewPrepared(conn), catalog: cat, ledger: l, inv: inv, payments: payments,
		cfg: cfg, log: log, now: time.Now, products: productCache{m: map[string]Product{}},
		metrics: newMetrics(cfg.Metrics)}
	s.purchases = newPurchases(s)
	s.incoming = newIncoming(s)
	return s
}

// PaymentsEnabled reports whether real-money purchases are configured.
func (s *Store) PaymentsEnabled() bool { return s.payments != nil }

// FieldError names the invalid field of a product, price or region; it
// matches catalog.ErrInvalid.
type FieldError = catalog.FieldError

func invalid(field, problem string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(problem, args...)}
}
