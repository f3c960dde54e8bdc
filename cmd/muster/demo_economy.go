package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
)

// Demo economy content: two currencies, a few dozen items, two recipes,
// and a stocked inventory and wallets for the demo player.
var (
	demoCurrencies = []catalog.Currency{
		{Code: "credits", Name: "Credits", Kind: "soft"},
		{Code: "muster_points", Name: "Muster Points", Kind: "premium"},
	}
	credits = "credits"
)

func demoItems() []catalog.Item {
	hour := 3600
	yield := func(it catalog.Item, n int64) catalog.Item {
		it.DisenchantCurrency, it.DisenchantYield = &credits, n
		return it
	}
	items := []catalog.Item{
		yield(catalog.Item{ID: "weapon.ar.kestrel", Name: "Kestrel AR", Kind: "weapon", Rarity: "common", MaxStack: 1, Tags: []string{"assault_rifle"}}, 0),
		yield(catalog.Item{ID: "weapon.smg.vandal", Name: "Vandal SMG", Kind: "weapon", Rarity: "common", MaxStack: 1, Tags: []string{"smg"}}, 0),
		yield(catalog.Item{ID: "weapon.sniper.longbow", Name: "Longbow Sniper", Kind: "weapon", Rarity: "rare", MaxStack: 1, Tags: []string{"sniper"}}, 0),
		{ID: "operator.ghost", Name: "Ghost", Kind: "operator", Rarity: "epic", MaxStack: 1},
		{ID: "operator.rook", Name: "Rook", Kind: "operator", Rarity: "rare", MaxStack: 1},
		yield(catalog.Item{ID: "skin.kestrel.arctic", Name: "Kestrel Arctic", Kind: "skin", Rarity: "rare", MaxStack: 1, Giftable: true, Tradable: true}, 150),
		yield(catalog.Item{ID: "skin.kestrel.molten", Name: "Kestrel Molten", Kind: "skin", Rarity: "legendary", MaxStack: 1, Giftable: true, Tradable: true}, 800),
		yield(catalog.Item{ID: "skin.vandal.neon", Name: "Vandal Neon", Kind: "skin", Rarity: "epic", MaxStack: 1, Giftable: true}, 400),
		yield(catalog.Item{ID: "skin.ghost.nightfall", Name: "Ghost Nightfall", Kind: "skin", Rarity: "mythic", MaxStack: 1}, 1500),
		{ID: "charm.dice", Name: "Lucky Dice", Kind: "charm", Rarity: "uncommon", MaxStack: 1, Giftable: true, Tradable: true},
		{ID: "emote.salute", Name: "Salute", Kind: "emote", Rarity: "common", MaxStack: 1},
		{ID: "banner.founders", Name: "Founders Banner", Kind: "banner", Rarity: "epic", MaxStack: 1},
		yield(catalog.Item{ID: "consumable.scrap", Name: "Weapon Scrap", Kind: "consumable", Rarity: "common", MaxStack: 9999, Giftable: true, Tradable: true}, 1),
		{ID: "consumable.uav", Name: "UAV Token", Kind: "consumable", Rarity: "uncommon", MaxStack: 20},
		{ID: "boost.double_xp", Name: "Double XP (1 hour)", Kind: "boost", Rarity: "rare", MaxStack: 10, LifetimeSeconds: &hour},
	}
	return items
}

func demoRecipes() []catalog.Recipe {
	return []catalog.Recipe{
		{ID: "craft.kestrel.arctic", OutputItem: "skin.kestrel.arctic", OutputQuantity: 1,
			Inputs: []catalog.Ingredient{{ItemID: "consumable.scrap", Quantity: 50}}, CostCurrency: &credits, CostAmount: 500},
		{ID: "craft.uav", OutputItem: "consumable.uav", OutputQuantity: 1,
			Inputs: []catalog.Ingredient{{ItemID: "consumable.scrap", Quantity: 10}}},
	}
}

// seedDemoEconomy defines the demo content unless it exists and stocks the
// demo player once (the grants are idempotent by key).
func seedDemoEconomy(ctx context.Context, p *platform) error {
	edit := catalog.Edit{Editor: "muster dev"}
	for _, c := range demoCurrencies {
		if _, err := p.catalog.SaveCurrency(ctx, c, edit); err != nil && !errors.Is(err, catalog.ErrExists) {
			return fmt.Errorf("seed currency: %w", err)
		}
	}
	for _, it := range demoItems() {
		if _, err := p.catalog.SaveItem(ctx, it, edit); err != nil && !errors.Is(err, catalog.ErrExists) {
			return fmt.Errorf("seed item: %w", err)
		}
	}
	for _, r := range demoRecipes() {
		if _, err := p.catalog.SaveRecipe(ctx, r, edit); err != nil && !errors.Is(err, catalog.ErrExists) {
			return fmt.Errorf("seed recipe: %w", err)
		}
	}
	a, _, err := account.NewStore(p.db).ByEmail(ctx, demoEmail)
	if errors.Is(err, account.ErrNotFound) {
		return nil // only the worker or inventory runs: no demo player to stock
	}
	if err != nil {
		return err
	}
	_, err = p.inventory.Grant(ctx, inventory.Grant{
		Key: "demo:stock", AccountID: a.ID, Source: "support", Memo: "demo content",
		Items: []inventory.Line{
			{ItemID: "weapon.ar.kestrel", Quantity: 1}, {ItemID: "weapon.smg.vandal", Quantity: 1},
			{ItemID: "operator.rook", Quantity: 1}, {ItemID: "skin.vandal.neon", Quantity: 1},
			{ItemID: "charm.dice", Quantity: 1}, {ItemID: "consumable.scrap", Quantity: 120},
			{ItemID: "consumable.uav", Quantity: 3},
		},
	})
	if err != nil && !errors.Is(err, inventory.ErrKeyReused) {
		return fmt.Errorf("stock demo inventory: %w", err)
	}
	for _, w := range []struct {
		key, currency, from string
		amount              int64
	}{{"demo:credits", "credits", ledger.Rewards, 2500}, {"demo:points", "muster_points", ledger.Minted, 1000}} {
		_, err := p.ledger.Transfer(ctx, ledger.Transfer{Key: w.key, Source: "support", From: ledger.System(w.from),
			To: ledger.Player(a.ID), Currency: w.currency, Amount: w.amount, Memo: "demo content"})
		if err != nil && !errors.Is(err, ledger.ErrKeyReused) {
			return fmt.Errorf("stock demo wallet: %w", err)
		}
	}
	return nil
}
