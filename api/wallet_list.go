package api

import (
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/ledger"
)

// walletLines is how many recent ledger lines GET /v1/me/wallets shows per
// currency.
const walletLines = 20

type ledgerLineView struct {
	TransferID   int64     `json:"transfer_id"`
	At           time.Time `json:"at"`
	Currency     string    `json:"currency"`
	Amount       int64     `json:"amount"`
	BalanceAfter int64     `json:"balance_after"`
	Source       string    `json:"source"`
	Memo         string    `json:"memo"`
	// Counterparty is the other side: "system:<account>" or
	// "player:<public id>".
	Counterparty string `json:"counterparty"`
}

type walletView struct {
	Currency string           `json:"currency"`
	Name     string           `json:"name"`
	Kind     string           `json:"kind"`
	Balance  int64            `json:"balance"`
	History  []ledgerLineView `json:"history"`
	Next     *int64           `json:"next"` // the before of GET .../history for older lines; null when there are none
}

// listWallets answers the player's balance in every currency, with its
// most recent ledger lines. Currencies the player never held show 0; a
// retired currency shows only while the player has a wallet in it.
func (h *economyHandlers) listWallets(c *fiber.Ctx) error {
	ctx, id := c.UserContext(), claimsOf(c).AccountID
	balances, err := h.ledger.Balances(ctx, id)
	if err != nil {
		return fail(c, err)
	}
	currencies, err := h.catalog.Currencies(ctx)
	if err != nil {
		return fail(c, err)
	}
	held := make(map[string]ledger.Balance, len(balances))
	for _, b := range balances {
		held[b.Currency] = b
	}
	who := h.parties(ctx)
	out := []walletView{}
	for _, cur := range currencies {
		b, ok := held[cur.Code]
		if !ok && cur.Retired {
			continue
		}
		w := walletView{Currency: cur.Code, Name: cur.Name, Kind: cur.Kind, Balance: b.Balance, History: []ledgerLineView{}}
		if ok {
			lines, err := h.ledger.History(ctx, ledger.Player(id), cur.Code, 0, walletLines+1)
			if err != nil {
				return fail(c, err)
			}
			if w.History, w.Next, err = ledgerPage(who, lines, walletLines); err != nil {
				return fail(c, err)
			}
		}
		out = append(out, w)
	}
	return c.JSON(fiber.Map{"wallets": out})
}

// walletHistory answers a page of the player's ledger lines in one
// currency, newest first.
func (h *economyHandlers) walletHistory(c *fiber.Ctx) error {
	ctx, id := c.UserContext(), claimsOf(c).AccountID
	before, err := queryInt(c, "before", 0, 1<<63-1)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 50, historyLimit)
	if err != nil {
		return err
	}
	code := c.Params("currency")
	if _, err := h.catalog.Currency(ctx, code); errors.Is(err, catalog.ErrNotFound) {
		return fail(c, fmt.Errorf("%w: %s", ledger.ErrUnknownCurrency, code))
	} else if err != nil {
		return fail(c, err)
	}
	lines, err := h.ledger.History(ctx, ledger.Player(id), code, before, int(limit)+1)
	if err != nil {
		return fail(c, err)
	}
	page, next, err := ledgerPage(h.parties(ctx), lines, int(limit))
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(fiber.Map{"history": page, "next": next})
}

// ledgerPage shows up to limit lines (read one more to learn whether more
// follow) and the cursor of the next page. A player counterparty is shown by
// public id.
func ledgerPage(who *parties, lines []ledger.Line, limit int) ([]ledgerLineView, *int64, error) {
	var next *int64
	if len(lines) > limit {
		lines = lines[:limit]
		n := lines[limit-1].TransferID
		next = &n
	}
	out := make([]ledgerLineView, 0, len(lines))
	for _, l := range lines {
		other, err := counterparty(who, ledger.Holder(l.Counterparty))
		if err != nil {
			return nil, nil, err
		}
		out = append(out, ledgerLineView{TransferID: l.TransferID, At: l.At, Currency: l.Currency,
			Amount: l.Amount, BalanceAfter: l.BalanceAfter, Source: l.Source, Memo: l.Memo, Counterparty: other})
	}
	return out, next, nil
}

func counterparty(who *parties, h ledger.Holder) (string, error) {
	id, ok := h.AccountID()
	if !ok {
		return string(h), nil
	}
	p, err := who.of(id)
	if err != nil {
		return "", fmt.Errorf("counterparty: %w", err)
	}
	return "player:" + p.ID, nil
}
