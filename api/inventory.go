package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/web"
)

// Inventory holds what the economy routes need: the catalog, wallets,
// inventory, crafting, gifts and trades of the logged-in player.
type Inventory struct {
	Catalog   *catalog.Store
	Ledger    *ledger.Ledger
	Inventory *inventory.Store
	Accounts  *account.Store // resolves the other party of gifts and trades
	Verifier  Verifier
	// Limiter and WriteLimit bound each player's economy writes (craft,
	// disenchant, gifts, trades) together: WriteLimit.N per WriteLimit.Per.
	// A nil Limiter or an N of 0 turns the limit off.
	Limiter    state.Limiter
	WriteLimit auth.Rule
	Log        *slog.Logger
}

// MountInventory adds the player economy routes to app. Every route needs
// a player's access token.
func MountInventory(app fiber.Router, inv Inventory) {
	h := &economyHandlers{catalog: inv.Catalog, ledger: inv.Ledger, inv: inv.Inventory, accounts: inv.Accounts,
		log: inv.Log}
	if h.log == nil {
		h.log = slog.Default()
	}
	if inv.Inventory != nil {
		h.reader = inv.Inventory.Reader()
	}
	player := RequirePlayer(inv.Verifier)
	write := writeLimit(inv.Limiter, inv.WriteLimit, h.log, "economy")

	v1 := app.Group("/v1")
	v1.Get("/catalog", player, h.getCatalog)
	v1.Get("/me/inventory", player, h.listInventory)
	v1.Get("/me/inventory/history", player, h.inventoryHistory)
	v1.Get("/me/wallets", player, h.listWallets)
	v1.Get("/me/wallets/:currency/history", player, h.walletHistory)
	v1.Post("/me/craft", player, write, h.craft)
	v1.Post("/me/disenchant", player, write, h.disenchant)
	v1.Get("/me/gifts", player, h.listGifts)
	v1.Post("/me/gifts", player, write, h.sendGift)
	v1.Post("/me/gifts/:id/accept", player, write, h.acceptGift)
	v1.Post("/me/gifts/:id/decline", player, write, h.declineGift)
	v1.Get("/me/trades", player, h.tradesOn, h.listTrades)
	v1.Post("/me/trades", player, h.tradesOn, write, h.proposeTrade)
	v1.Post("/me/trades/:id/accept", player, h.tradesOn, write, h.acceptTrade)
	v1.Post("/me/trades/:id/cancel", player, h.tradesOn, write, h.cancelTrade)
}

type economyHandlers struct {
	catalog  *catalog.Store
	ledger   *ledger.Ledger
	inv      *inventory.Store
	reader   *inventory.Reader
	accounts *account.Store
	log      *slog.Logger
}

// tradesOn answers 403 trades_disabled on every trade route while the
// trades feature flag is off.
func (h *economyHandlers) tradesOn(c *fiber.Ctx) error {
	if !h.inv.TradesEnabled() {
		return fail(c, inventory.ErrTradesDisabled)
	}
	return c.Next()
}

// Error codes the economy handlers answer themselves, beyond domainErrors.
const (
	codeIdempotencyKeyRequired = "idempotency_key_required"
)

// handlerCodes lists the codes handlers answer without a domain error, for
// the OpenAPI test.
var handlerCodes = []string{codeIdempotencyKeyRequired, codeServerCredential}

// idempotencyKey returns the request's Idempotency-Key header: 1 to 200
// printable ASCII characters, required on every economy write.
func idempotencyKey(c *fiber.Ctx) (string, error) {
	k := c.Get("Idempotency-Key")
	bad := k == "" || len(k) > 200
	for i := 0; i < len(k) && !bad; i++ {
		bad = k[i] < 0x20 || k[i] > 0x7e
	}
	if bad {
		return "", web.NewError(http.StatusBadRequest, codeIdempotencyKeyRequired,
			"send an Idempotency-Key header of 1 to 200 printable ASCII characters: new for each operation, the same when retrying it")
	}
	return strings.Clone(k), nil // fiber reuses the header's bytes
}

// queryInt reads a positive integer query parameter: def when absent, 400
// when it is not 1 to most.
func queryInt(c *fiber.Ctx, name string, def, most int64) (int64, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > most {
		return 0, web.BadRequest(name + " must be a whole number from 1 to " + strconv.FormatInt(most, 10))
	}
	return n, nil
}

// pathID reads a positive integer path parameter; anything else is
// answered with notFound, since no such gift or trade can exist.
func pathID(c *fiber.Ctx, notFound error) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fail(c, notFound)
	}
	return id, nil
}

// partyView shows another player by public id; internal account ids never
// leave the server.
type partyView struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"` // empty once the account is deleted
}

// parties looks up the players a response names, each once.
type parties struct {
	ctx      context.Context
	accounts *account.Store
	seen     map[int64]partyView
}

func (h *economyHandlers) parties(ctx context.Context) *parties {
	return &parties{ctx: ctx, accounts: h.accounts, seen: map[int64]partyView{}}
}

func (p *parties) of(id int64) (partyView, error) {
	if v, ok := p.seen[id]; ok {
		return v, nil
	}
	a, err := p.accounts.ByID(p.ctx, id)
	if err != nil {
		return partyView{}, err
	}
	v := partyView{ID: a.PublicID, DisplayName: a.DisplayName}
	if a.Status == account.StatusDeleted {
		v.DisplayName = "" // the deleted name holds the internal id
	}
	p.seen[id] = v
	return v, nil
}

// recipient resolves a player's public id to the account id the domain
// uses; unknown and deleted players are inventory.ErrRecipientAbsent.
func (h *economyHandlers) recipient(ctx context.Context, publicID string) (int64, error) {
	publicID = strings.TrimSpace(publicID)
	if publicID == "" || len(publicID) > 64 {
		return 0, inventory.ErrRecipientAbsent
	}
	a, err := h.accounts.ByPublicID(ctx, publicID)
	if errors.Is(err, account.ErrNotFound) || (err == nil && a.Status == account.StatusDeleted) {
		return 0, inventory.ErrRecipientAbsent
	}
	if err != nil {
		return 0, err
	}
	return a.ID, nil
}

// lines returns a request's item lines, never nil.
func lines(in []inventory.Line) []inventory.Line {
	if in == nil {
		return []inventory.Line{}
	}
	return in
}
