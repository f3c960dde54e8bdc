package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/store"
)

// initPayments builds the store that the store target sells through, the
// console edits and refunds with, and the worker reconciles. Real-money
// purchases are on when a Stripe secret key is set.
func initPayments(p *platform) error {
	if !slices.Contains(store.Policies, p.cfg.RefundPolicy) {
		return fmt.Errorf("refund-policy %q is not one of %v", p.cfg.RefundPolicy, store.Policies)
	}
	var payments store.Payments
	if p.cfg.StripeSecretKey != "" {
		payments = store.NewStripe(p.cfg.StripeSecretKey, p.cfg.StripeAPIURL, p.cfg.StripeTimeout)
	}
	p.store = store.New(p.db, p.catalog, p.ledger, p.inventory, payments, store.Config{
		RefundPolicy: p.cfg.RefundPolicy, SuccessURL: p.cfg.StoreSuccessURL, CancelURL: p.cfg.StoreCancelURL, Metrics: p.reg,
	}, p.log)
	if p.dev {
		p.seeds = append(p.seeds, func(ctx context.Context) error { return seedDemoStore(ctx, p) })
	}
	return nil
}

// reconciler repairs orders whose webhooks were lost or failed, from the
// worker target. Every step is idempotent, so several workers may run it.
func reconciler(p *platform) runner {
	return runner{name: "store reconciler", run: func(ctx context.Context) error {
		if !p.store.PaymentsEnabled() {
			return nil
		}
		tick := time.NewTicker(p.cfg.ReconcileEvery)
		defer tick.Stop()
		for {
			r, err := p.store.Reconcile(ctx, time.Now().Add(-p.cfg.ReconcileWindow), time.Minute)
			switch {
			case err != nil && ctx.Err() == nil:
				p.log.Error("store reconciler", "err", err)
			case r.Recovered+r.Applied+r.Repaired+r.Expired > 0:
				p.log.Info("store reconciler", "listed", r.Listed, "recovered", r.Recovered, "applied", r.Applied,
					"repaired", r.Repaired, "expired", r.Expired)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}}
}

// initStore serves the storefront, purchases, checkouts, order history and
// Stripe's webhook.
func initStore(p *platform) error {
	api.MountStore(p.public, api.Store{
		Store: p.store, Verifier: p.tokens,
		Webhooks:      store.Webhooks{Secrets: splitList(p.cfg.StripeWebhookSecrets), Tolerance: p.cfg.StripeTolerance},
		CountryHeader: p.cfg.CountryHeader,
		Limiter:       p.state, WriteLimit: auth.Rule(p.cfg.RateStore), Log: p.log,
	})
	return nil
}
