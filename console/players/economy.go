package players

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/web"
)

// Economy is what the player page's inventory, wallet and purchases
// sections use.
type Economy struct {
	DB        *sqlx.DB
	Catalog   *catalog.Store
	Ledger    *ledger.Ledger
	Inventory *inventory.Store
	// Purchases renders the Purchases section (the player's orders and store
	// flags), shown to staff with orders:view; nil leaves it out.
	Purchases func(c *fiber.Ctx, a account.Account) (templ.Component, error)
	// Progression is the Progression tab (level, XP, journal, unlock trees,
	// grant XP), shown to staff with progression:view; nil leaves it out.
	Progression *progression.Store
	// BattlePass is the battle pass part of the Progression tab (the
	// player's pass in the current season, grant tiers); it is shown only
	// with Progression. Nil leaves it out.
	BattlePass *battlepass.Store
}

// How much of a player's economy the page shows.
const (
	inventoryRows = 200
	historyRows   = 25
)

// source is what staff changes are recorded as, in the ledger and the
// inventory journal.
const source = "support"

// EconomyView is the player page's inventory and wallets.
type EconomyView struct {
	Items      []inventory.Entitlement
	More       bool // the player holds more items than Items lists
	History    []inventory.Record
	Balances   []ledger.Balance
	Lines      []ledger.Line
	Currencies []catalog.Currency
	Names      map[string]string // item names by id, as far as they are loaded
	Grantable  []catalog.Item    // items that are not retired, suggested in the grant form
	CanGrant   bool
	Limit      string // what the staff member may move at a time
}

// name is an item's name, or "" when it is not loaded.
func (v *EconomyView) name(id string) string { return v.Names[id] }

func (h *handler) economy(ctx context.Context, accountID int64, canGrant bool, role string) (*EconomyView, error) {
	v := &EconomyView{CanGrant: canGrant, Names: map[string]string{}, Limit: limitText(role)}
	var err error
	if v.Items, err = h.reader.List(ctx, accountID, inventory.Page{Limit: inventoryRows + 1}); err != nil {
		return nil, err
	}
	if len(v.Items) > inventoryRows {
		v.Items, v.More = v.Items[:inventoryRows], true
	}
	if v.History, err = h.reader.History(ctx, accountID, 0, historyRows); err != nil {
		return nil, err
	}
	if v.Balances, err = h.eco.Ledger.Balances(ctx, accountID); err != nil {
		return nil, err
	}
	if v.Lines, err = h.eco.Ledger.History(ctx, ledger.Player(accountID), "", 0, historyRows); err != nil {
		return nil, err
	}
	if v.Currencies, err = h.eco.Catalog.Currencies(ctx); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(v.Items)+len(v.History))
	for _, e := range v.Items {
		ids = append(ids, e.ItemID)
	}
	for _, r := range v.History {
		ids = append(ids, r.ItemID)
	}
	if v.Names, err = h.eco.Catalog.Names(ctx, ids); err != nil {
		return nil, err
	}
	if canGrant {
		// The first 500 grantable items by id are suggested in the grant
		// form; any other id can be typed.
		if v.Grantable, err = h.eco.Catalog.Items(ctx, catalog.Filter{}); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// ItemForm is a grant or revoke form as sent, with its errors.
type ItemForm struct {
	Key, ItemID, Quantity, Reason            string
	ItemErr, QuantityErr, ReasonErr, Problem string
}

func (f ItemForm) failed() bool {
	return f.ItemErr != "" || f.QuantityErr != "" || f.ReasonErr != "" || f.Problem != ""
}

// WalletForm is a credit or debit form as sent, with its errors.
type WalletForm struct {
	Key, Currency, Amount, Reason              string
	CurrencyErr, AmountErr, ReasonErr, Problem string
}

func (f WalletForm) failed() bool {
	return f.CurrencyErr != "" || f.AmountErr != "" || f.ReasonErr != "" || f.Problem != ""
}

// Forms are the player page's forms. Each change form carries the
// idempotency key it was rendered with, so sending it twice changes the
// player once.
type Forms struct {
	Ban           BanForm
	Grant, Revoke ItemForm
	Credit, Debit WalletForm
	XP            XPForm
	Tiers         TiersForm
}

func freshForms() Forms {
	return Forms{Ban: BanForm{Duration: "24h"}, Grant: ItemForm{Key: frame.NewFormKey(), Quantity: "1"},
		Revoke: ItemForm{Key: frame.NewFormKey(), Quantity: "1"}, Credit: WalletForm{Key: frame.NewFormKey()}, Debit: WalletForm{Key: frame.NewFormKey()},
		XP: XPForm{Key: frame.NewFormKey()}, Tiers: TiersForm{Key: frame.NewFormKey(), Tiers: "1"}}
}

const (
	reasonRequired = "A reason is required: the audit log keeps it with the change."
	lostKey        = "The form has lost its key; reload the page and try again."
	keyReused      = "This form was already used for a different change; it is reset, so check it and send it again."
)

func reasonOf(c *fiber.Ctx) string {
	return strings.TrimSpace(web.CleanText(c.FormValue("reason"), 1000))
}

// memo is the reason as the ledger and the inventory journal keep it.
func memo(reason string) string { return web.CleanText(reason, 500) }

// count reads a positive whole number.
func count(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 10, 64)
	return n, err == nil && n > 0
}

func (h *handler) grant(c *fiber.Ctx) error  { return h.moveItems(c, true) }
func (h *handler) revoke(c *fiber.Ctx) error { return h.moveItems(c, false) }

// moveItems grants or revokes one item, within the staff member's limit,
// with its audit row in the same transaction.
func (h *handler) moveItems(c *fiber.Ctx, grant bool) error {
	ctx := c.UserContext()
	a, _, err := h.svc.Player(ctx, c.Params("id"))
	if err != nil {
		return notFound(c, err)
	}
	me, _ := frame.StaffOf(c)
	form := ItemForm{Key: c.FormValue("key"), ItemID: strings.TrimSpace(c.FormValue("item_id")),
		Quantity: strings.TrimSpace(c.FormValue("quantity")), Reason: reasonOf(c)}
	show := func(status int) error {
		return h.render(c, status, func(f *Forms) {
			if grant {
				f.Grant = form
			} else {
				f.Revoke = form
			}
		})
	}
	n, ok := count(form.Quantity)
	switch {
	case !ok || n > catalog.MaxStackLimit:
		form.QuantityErr = "Enter a whole number from 1 to " + strconv.Itoa(catalog.MaxStackLimit) + "."
	default:
		form.QuantityErr = itemLimitProblem(me.Role, int(n))
	}
	if form.ItemID == "" {
		form.ItemErr = "Enter an item id."
	}
	if form.Reason == "" {
		form.ReasonErr = reasonRequired
	}
	if !frame.ValidFormKey(form.Key) {
		form.Problem = lostKey
	}
	if form.failed() {
		return show(http.StatusBadRequest)
	}

	lines := []inventory.Line{{ItemID: form.ItemID, Quantity: int(n)}}
	action := "inventory.revoke"
	if grant {
		action = "inventory.grant"
	}
	var res inventory.Result
	err = db.InTx(ctx, h.eco.DB, nil, func(tx *sqlx.Tx) (err error) {
		if grant {
			res, err = h.eco.Inventory.GrantTx(ctx, tx, inventory.Grant{Key: form.Key, AccountID: a.ID, Source: source,
				Items: lines, Duplicates: inventory.DuplicatesRefuse, Memo: memo(form.Reason)})
		} else {
			res, err = h.eco.Inventory.ConsumeTx(ctx, tx, inventory.Consume{Key: form.Key, AccountID: a.ID, Source: source,
				Items: lines, Memo: memo(form.Reason)})
		}
		if err != nil || res.Replayed {
			return err
		}
		return frame.Audit(c, tx, audit.Entry{Action: action, TargetType: "player", TargetID: a.PublicID, AccountID: &a.ID,
			Reason: form.Reason, After: map[string]any{"items": lines, "changes": res.Changes, "operation_id": res.OpID}})
	})
	status := http.StatusBadRequest
	switch {
	case err == nil:
	case errors.Is(err, inventory.ErrUnknownItem):
		form.ItemErr = "No such item in the catalog, or it is retired."
	case errors.Is(err, inventory.ErrAlreadyOwned):
		form.QuantityErr = "The player already owns this unique item."
	case errors.Is(err, inventory.ErrStackFull):
		form.QuantityErr = sentence(err.Error())
	case errors.Is(err, inventory.ErrNotEnoughItems):
		form.QuantityErr = "The player does not hold that many of this item."
	case errors.Is(err, inventory.ErrKeyReused):
		form.Problem, form.Key, status = keyReused, frame.NewFormKey(), http.StatusConflict
	case errors.Is(err, inventory.ErrInvalid):
		form.Problem = sentence(err.Error())
	case errors.Is(err, inventory.ErrRecipientAbsent):
		return notFound(c, account.ErrNotFound)
	default:
		return err
	}
	if form.failed() {
		return show(status)
	}
	to := "/players/" + a.PublicID + "#inventory"
	if res.Replayed {
		return h.f.SetFlash(c, "ok", "This form was already sent: the change was made once, and nothing more changed now.", to)
	}
	verb, prep := "Took", " from "
	if grant {
		verb, prep = "Granted", " to "
	}
	return h.f.SetFlash(c, "ok", verb+" "+strconv.FormatInt(n, 10)+" × "+form.ItemID+prep+a.DisplayName+".", to)
}

func (h *handler) credit(c *fiber.Ctx) error { return h.moveCurrency(c, true) }
func (h *handler) debit(c *fiber.Ctx) error  { return h.moveCurrency(c, false) }

// moveCurrency credits or debits a player's wallet through the support
// system account, within the staff member's limit for the currency's kind,
// with its audit row in the same transaction.
func (h *handler) moveCurrency(c *fiber.Ctx, credit bool) error {
	ctx := c.UserContext()
	a, _, err := h.svc.Player(ctx, c.Params("id"))
	if err != nil {
		return notFound(c, err)
	}
	me, _ := frame.StaffOf(c)
	form := WalletForm{Key: c.FormValue("key"), Currency: strings.TrimSpace(c.FormValue("currency")),
		Amount: strings.TrimSpace(c.FormValue("amount")), Reason: reasonOf(c)}
	show := func(status int) error {
		return h.render(c, status, func(f *Forms) {
			if credit {
				f.Credit = form
			} else {
				f.Debit = form
			}
		})
	}
	amount, ok := count(form.Amount)
	if !ok || amount > ledger.MaxAmount {
		form.AmountErr = "Enter a whole amount from 1 to " + strconv.FormatInt(ledger.MaxAmount, 10) + "."
	}
	cur, err := h.eco.Catalog.Currency(ctx, form.Currency)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		form.CurrencyErr = "Choose a currency."
	case err != nil:
		return err
	case credit && cur.Retired:
		form.CurrencyErr = "This currency is retired: it can be taken back but not credited."
	case ok && form.AmountErr == "":
		form.AmountErr = currencyLimitProblem(me.Role, cur.Kind, cur.Code, amount)
	}
	if form.Reason == "" {
		form.ReasonErr = reasonRequired
	}
	if !frame.ValidFormKey(form.Key) {
		form.Problem = lostKey
	}
	if form.failed() {
		return show(http.StatusBadRequest)
	}

	t := ledger.Transfer{Key: form.Key, Source: source, From: ledger.System(ledger.Support), To: ledger.Player(a.ID),
		Currency: cur.Code, Amount: amount, Memo: memo(form.Reason)}
	action := "wallet.credit"
	if !credit {
		t.From, t.To, action = t.To, t.From, "wallet.debit"
	}
	var rc ledger.Receipt
	err = db.InTx(ctx, h.eco.DB, nil, func(tx *sqlx.Tx) (err error) {
		if rc, err = h.eco.Ledger.Post(ctx, tx, t); err != nil || rc.Replayed {
			return err
		}
		balance, before := rc.ToBalance, rc.ToBalance-amount
		if !credit {
			balance, before = rc.FromBalance, rc.FromBalance+amount
		}
		return frame.Audit(c, tx, audit.Entry{Action: action, TargetType: "player", TargetID: a.PublicID, AccountID: &a.ID,
			Reason: form.Reason, Before: map[string]any{"currency": cur.Code, "balance": before},
			After: map[string]any{"currency": cur.Code, "amount": amount, "balance": balance, "transfer_id": rc.TransferID}})
	})
	status := http.StatusBadRequest
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrInsufficientFunds):
		form.AmountErr = "The player holds only " + strconv.FormatInt(h.balance(ctx, a.ID, cur.Code), 10) + " " + cur.Code +
			"; a debit cannot take a wallet below zero."
	case errors.Is(err, ledger.ErrUnknownCurrency):
		form.CurrencyErr = "Choose a currency."
	case errors.Is(err, ledger.ErrKeyReused):
		form.Problem, form.Key, status = keyReused, frame.NewFormKey(), http.StatusConflict
	case errors.Is(err, ledger.ErrInvalidTransfer):
		form.Problem = sentence(err.Error())
	default:
		return err
	}
	if form.failed() {
		return show(status)
	}
	to := "/players/" + a.PublicID + "#wallets"
	if rc.Replayed {
		return h.f.SetFlash(c, "ok", "This form was already sent: the change was made once, and nothing more changed now.", to)
	}
	verb, prep := "Took", " from "
	if credit {
		verb, prep = "Credited", " to "
	}
	return h.f.SetFlash(c, "ok", verb+" "+strconv.FormatInt(amount, 10)+" "+cur.Code+prep+a.DisplayName+".", to)
}

// balance is a player's balance of a currency, for an error message; 0
// when it cannot be read.
func (h *handler) balance(ctx context.Context, accountID int64, code string) int64 {
	bs, _ := h.eco.Ledger.Balances(ctx, accountID)
	for _, b := range bs {
		if b.Currency == code {
			return b.Balance
		}
	}
	return 0
}

var sentence = frame.Sentence
