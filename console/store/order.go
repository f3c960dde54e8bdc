package store

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/rbac"
	shop "github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
)

// OrderPage is one order with its trail and, for staff who may refund, the
// refund form.
type OrderPage struct {
	Order     shop.Order
	Player    *account.Account // nil when the account is gone
	Product   string           // the product's name, when it still exists
	Events    []shop.OrderEvent
	CanRefund bool  // the staff member may refund and the order can be refunded
	Left      int64 // what is left to refund
	Form      RefundForm
}

// RefundForm is the refund form as sent, with its errors. Key makes the
// form idempotent; Refunded is what the order had refunded when the form
// was rendered, so a form sent after the order moved is checked again by a
// person first.
type RefundForm struct {
	Key, Refunded, Amount, Reason string
	AmountErr, ReasonErr, Problem string
}

func (f RefundForm) failed() bool { return f.AmountErr != "" || f.ReasonErr != "" || f.Problem != "" }

func freshRefund(o shop.Order) RefundForm {
	return RefundForm{Key: frame.NewFormKey(), Refunded: i64(o.RefundedAmount)}
}

// refundable reports whether Store.Refund would take the order, and how
// much is left to refund.
func refundable(o shop.Order) (int64, bool) {
	left := o.PriceAmount - o.RefundedAmount - o.DisputedAmount
	return left, o.Kind == "real" && o.Paid && o.PaymentIntent != nil && left > 0
}

func (h *Screens) order(c *fiber.Ctx) error {
	o, err := h.store.Order(c.UserContext(), c.Params("id"))
	if errors.Is(err, shop.ErrNotFound) {
		return notFound("order", c.Params("id"))
	}
	if err != nil {
		return err
	}
	return h.renderOrder(c, http.StatusOK, o, freshRefund(o))
}

func (h *Screens) renderOrder(c *fiber.Ctx, status int, o shop.Order, form RefundForm) error {
	ctx := c.UserContext()
	d := OrderPage{Order: o, Form: form}
	if a, _, err := h.svc.Me(ctx, o.AccountID); err == nil {
		d.Player = &a
	} else if !errors.Is(err, account.ErrNotFound) {
		return err
	}
	if p, err := h.store.Product(ctx, o.ProductID); err == nil {
		d.Product = p.Name
	} else if !errors.Is(err, shop.ErrNotFound) {
		return err
	}
	var err error
	if d.Events, err = h.store.OrderEvents(ctx, o.ID); err != nil {
		return err
	}
	left, ok := refundable(o)
	d.Left, d.CanRefund = left, ok && h.f.Allowed(c, rbac.PermOrdersRefund)
	return frame.Render(c, status, orderPage(h.f.Page(c, "Order "+o.PublicID, "players"), d))
}

const (
	refundReasonRequired = "A reason of 3 to 500 characters is required: the order's trail and the audit log keep it."
	lostKey              = "The form has lost its key; reload the page and try again."
	alreadySent          = "This form was already sent: the refund was asked for once, and nothing more happened now."
)

// refund asks Stripe to refund all or part of a paid real-money order. The
// currency is taken back when Stripe's charge.refunded event arrives.
func (h *Screens) refund(c *fiber.Ctx) error {
	ctx := c.UserContext()
	o, err := h.store.Order(ctx, c.Params("id"))
	if errors.Is(err, shop.ErrNotFound) {
		return notFound("order", c.Params("id"))
	}
	if err != nil {
		return err
	}
	form := RefundForm{Key: c.FormValue("key"), Refunded: strings.TrimSpace(c.FormValue("refunded")),
		Amount: strings.TrimSpace(c.FormValue("amount")), Reason: strings.TrimSpace(web.CleanText(c.FormValue("reason"), 1000))}
	to := "/orders/" + o.PublicID
	left, ok := refundable(o)
	var amount int64 // 0: the rest
	if form.Amount != "" {
		amount, err = parseMoney(form.Amount, o.PriceCurrency)
		switch {
		case err != nil:
			form.AmountErr = sentence(err.Error())
		case amount <= 0:
			form.AmountErr = "Enter an amount above zero, or leave it blank to refund the rest."
		case ok && amount > left:
			form.AmountErr = "At most " + money(left, o.PriceCurrency) + " is left to refund."
		}
	}
	if n := len(form.Reason); n < 3 || n > 500 {
		form.ReasonErr = refundReasonRequired
	}
	if !frame.ValidFormKey(form.Key) {
		form.Problem = lostKey
	}
	if form.failed() {
		return h.renderOrder(c, http.StatusBadRequest, o, form)
	}
	if form.Refunded != i64(o.RefundedAmount) {
		sent, err := h.store.RefundRequested(ctx, o.ID, form.Key)
		if err != nil {
			return err
		}
		if sent {
			return h.f.SetFlash(c, "ok", alreadySent, to)
		}
		form.Problem = "The order changed since you opened this form: " + money(o.RefundedAmount, o.PriceCurrency) +
			" of it is refunded now. Check the amount and send the form again."
		form.Refunded = i64(o.RefundedAmount)
		return h.renderOrder(c, http.StatusConflict, o, form)
	}
	me, _ := frame.StaffOf(c)
	var asked int64
	_, err = h.store.Refund(ctx, shop.RefundRequest{OrderID: o.PublicID, Key: form.Key, Amount: amount, Staff: me.Email, Reason: form.Reason,
		Also: func(tx *sqlx.Tx, o shop.Order, amount int64) error {
			asked = amount
			return frame.Audit(c, tx, audit.Entry{Action: "purchase.refund", TargetType: "order", TargetID: o.PublicID,
				AccountID: &o.AccountID, Reason: form.Reason,
				Before: map[string]any{"status": o.Status, "price": o.PriceAmount, "refunded": o.RefundedAmount, "currency": o.PriceCurrency},
				After:  map[string]any{"amount": amount, "currency": o.PriceCurrency, "key": form.Key}})
		}})
	status := http.StatusBadRequest
	switch {
	case err == nil:
		return h.f.SetFlash(c, "ok", "Asked Stripe to refund "+money(asked, o.PriceCurrency)+" of order "+o.PublicID+
			". The currency is taken back from the player when Stripe confirms the refund.", to)
	case errors.Is(err, shop.ErrRefundRequested):
		return h.f.SetFlash(c, "ok", alreadySent, to)
	case errors.Is(err, shop.ErrNotFound):
		return notFound("order", o.PublicID)
	case errors.Is(err, shop.ErrNotRefundable):
		status = http.StatusConflict
	case errors.Is(err, shop.ErrInvalidRefund):
	case errors.Is(err, shop.ErrPaymentsOff):
		status = http.StatusServiceUnavailable
	case errors.Is(err, shop.ErrPaymentFailed):
		status = http.StatusBadGateway
	default:
		return err
	}
	form.Problem = sentence(err.Error())
	return h.renderOrder(c, status, o, form)
}

// status badges an order's status by what support should make of it.
func statusClass(status string) string {
	switch status {
	case shop.StatusPaid, shop.StatusCompleted:
		return "badge active"
	case shop.StatusRefunded, shop.StatusRevoked, shop.StatusFailed:
		return "badge flag"
	}
	return "badge"
}
