package api

import (
	"bytes"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
)

type webhookView struct {
	Received  bool `json:"received"`
	Duplicate bool `json:"duplicate"` // the event id was received before
}

// webhook receives Stripe's events. The signature is checked against the
// raw body before anything is read from it; a verified event is recorded
// once by its id and then applied to its order. The answer is 200 only
// once the event is stored, so that Stripe delivers again whatever the
// database did not take; an event recorded but not yet applied is applied
// later, by its order or by reconciliation.
func (h *storeHandlers) webhook(c *fiber.Ctx) error {
	ctx := c.UserContext()
	body := bytes.Clone(c.Body()) // fiber reuses the request's buffer
	ev, err := h.webhooks.Verify(body, c.Get("Stripe-Signature"))
	if err != nil {
		h.rejected(err)
		h.log.WarnContext(ctx, "stripe webhook refused", "req_id", web.RequestID(c), "err", err)
		return fail(c, err)
	}
	rec, err := h.store.RecordEvent(ctx, ev, "webhook")
	if errors.Is(err, store.ErrInvalidPayload) {
		h.rejected(err)
		h.log.WarnContext(ctx, "stripe webhook event not readable", "req_id", web.RequestID(c),
			"event", ev.ID, "type", ev.Type, "err", err)
		return fail(c, err)
	}
	if err != nil {
		return err // 500: Stripe retries
	}
	return c.JSON(webhookView{Received: true, Duplicate: !rec.New})
}

// rejected counts a webhook call refused before its event was recorded, by
// the code it is answered with.
func (h *storeHandlers) rejected(err error) {
	switch {
	case errors.Is(err, store.ErrBadSignature):
		h.store.CountRejectedWebhook("invalid_signature")
	case errors.Is(err, store.ErrInvalidPayload):
		h.store.CountRejectedWebhook("invalid_payload")
	}
}
