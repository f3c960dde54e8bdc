package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/store"
)

// demoProducts are the demo store: offers for both currencies, a bundle
// priced below its parts, a limited-time offer, a per-player limit, and
// three currency packs priced in the default, German and British regions.
func demoProducts(now time.Time) []store.Product {
	mp, credits := "muster_points", "credits"
	one := func(id string) []inventory.Line { return []inventory.Line{{ItemID: id, Quantity: 1}} }
	ends := now.Add(14 * 24 * time.Hour).Truncate(time.Hour)
	prices := func(usd, eur, gbp int64) []store.Price {
		return []store.Price{{Country: "*", Currency: "usd", Amount: usd}, {Country: "DE", Currency: "eur", Amount: eur}, {Country: "GB", Currency: "gbp", Amount: gbp}}
	}
	return []store.Product{
		{ID: "pack.points.500", Kind: store.KindPack, Name: "500 Muster Points", GrantCurrency: mp, GrantAmount: 500, Prices: prices(499, 499, 449), Position: 1},
		{ID: "pack.points.1000", Kind: store.KindPack, Name: "1,000 Muster Points (+100 bonus)", GrantCurrency: mp, GrantAmount: 1000, BonusAmount: 100, Prices: prices(999, 999, 899), Position: 2},
		{ID: "pack.points.2500", Kind: store.KindPack, Name: "2,500 Muster Points (+500 bonus)", GrantCurrency: mp, GrantAmount: 2500, BonusAmount: 500, Prices: prices(1999, 1999, 1799), Position: 3},
		{ID: "offer.operator.ghost", Kind: store.KindOffer, Name: "Ghost", PriceCurrency: mp, PriceAmount: 1000, Items: one("operator.ghost"), Position: 10},
		{ID: "offer.skin.ghost.nightfall", Kind: store.KindOffer, Name: "Ghost Nightfall", PriceCurrency: mp, PriceAmount: 1800, Items: one("skin.ghost.nightfall"), Position: 11, EndsAt: &ends},
		{ID: "offer.bundle.ghost", Kind: store.KindOffer, Name: "Ghost bundle", Description: "Ghost and the Nightfall skin", PriceCurrency: mp, PriceAmount: 2400,
			Items: []inventory.Line{{ItemID: "operator.ghost", Quantity: 1}, {ItemID: "skin.ghost.nightfall", Quantity: 1}}, Position: 12, EndsAt: &ends},
		{ID: "offer.skin.kestrel.molten", Kind: store.KindOffer, Name: "Kestrel Molten", PriceCurrency: mp, PriceAmount: 1200, Items: one("skin.kestrel.molten"), Position: 13},
		{ID: "offer.uav.5", Kind: store.KindOffer, Name: "5 UAV tokens", PriceCurrency: credits, PriceAmount: 250,
			Items: []inventory.Line{{ItemID: "consumable.uav", Quantity: 5}}, PurchaseLimit: 3, Position: 20},
		{ID: "offer.boost.double_xp", Kind: store.KindOffer, Name: "Double XP (1 hour)", PriceCurrency: credits, PriceAmount: 300, Items: one("boost.double_xp"), Position: 21},
	}
}

// seedDemoStore defines the demo store unless it exists: regions first, while
// no pack needs a price in them.
func seedDemoStore(ctx context.Context, p *platform) error {
	edit := catalog.Edit{Editor: "muster dev"}
	for _, r := range []store.Region{{Country: "DE", Name: "Germany"}, {Country: "GB", Name: "United Kingdom"}} {
		if err := p.store.EnableRegion(ctx, r, edit); err != nil && !errors.Is(err, catalog.ErrExists) {
			return fmt.Errorf("seed region: %w", err)
		}
	}
	for _, pr := range demoProducts(time.Now()) {
		if _, err := p.store.SaveProduct(ctx, pr, edit); err != nil && !errors.Is(err, catalog.ErrExists) {
			return fmt.Errorf("seed product %s: %w", pr.ID, err)
		}
	}
	return nil
}
