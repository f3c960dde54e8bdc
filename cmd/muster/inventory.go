package main

import (
	"context"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
)

// initEconomy builds the catalog, the ledger and the inventory that the
// inventory, store and progression targets, the console and the worker
// move value through.
func initEconomy(p *platform) error {
	p.catalog = catalog.NewStore(p.db)
	p.ledger = ledger.New(p.db)
	p.inventory = inventory.NewStore(p.db, p.ledger, inventory.Config{
		GiftTTL: p.cfg.GiftTTL, TradesEnabled: p.cfg.Trades, TradeTTL: p.cfg.TradeTTL,
	})
	if p.dev {
		p.seeds = append(p.seeds, func(ctx context.Context) error { return seedDemoEconomy(ctx, p) })
	}
	return nil
}

// initInventory serves players their inventory, wallets, crafting and gifts.
func initInventory(p *platform) error {
	api.MountInventory(p.public, api.Inventory{
		Catalog: p.catalog, Ledger: p.ledger, Inventory: p.inventory, Accounts: account.NewStore(p.db),
		Verifier: p.tokens, Limiter: p.state, WriteLimit: auth.Rule(p.cfg.RateEconomy), Log: p.log,
	})
	return nil
}

// sweepBatch bounds the rows one sweep statement touches.
const sweepBatch = 500

// sweeper removes expired items, returns unclaimed gifts and closes expired
// trades, from the worker target. Readers already leave expired items out;
// several workers may sweep at once.
func sweeper(p *platform) runner {
	return runner{name: "inventory sweeper", run: func(ctx context.Context) error {
		tick := time.NewTicker(p.cfg.SweepEvery)
		defer tick.Stop()
		for {
			for _, step := range []struct {
				what string
				run  func(context.Context, int) (int, error)
			}{
				{"expired items removed", p.inventory.Sweep},
				{"unclaimed gifts returned", p.inventory.ReturnExpiredGifts},
				{"expired trades closed", p.inventory.ExpireTrades},
			} {
				for {
					n, err := step.run(ctx, sweepBatch)
					if err != nil {
						if ctx.Err() == nil {
							p.log.Error("inventory sweeper", "step", step.what, "err", err)
						}
						break
					}
					if n > 0 {
						p.log.Info("inventory sweeper", "step", step.what, "rows", n)
					}
					if n < sweepBatch {
						break
					}
				}
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}}
}
