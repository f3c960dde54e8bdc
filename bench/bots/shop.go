package bots

import (
	"context"
	"slices"
	"time"
)

// The player's economy: the store (offers for virtual currency, packs
// through Checkout and Stripe's webhook), gifts, and the wallets read at
// the start and the end for the economy check.

// walletMark is a wallet as the player found it at the start.
type walletMark struct {
	balance int64
	top     int64 // the newest transfer id then; the run's movements come after
}

// readWallets reads the player's wallets (retrying a read whose balance
// and newest line disagree: a movement landed between the two queries).
// At the start it marks where the run's movements begin.
func (b *bot) readWallets(ctx context.Context, start bool) ([]wallet, error) {
	var ws []wallet
	for try := 0; ; try++ {
		err := b.timed("listWallets", func() error {
			var err error
			ws, err = b.api.wallets(ctx)
			return err
		})
		if err != nil {
			return nil, err
		}
		if consistent(ws) || try == 4 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if start {
		b.wallets = map[string]walletMark{}
		for _, w := range ws {
			mk := walletMark{balance: w.Balance}
			if len(w.History) > 0 {
				mk.top = w.History[0].TransferID
			}
			b.wallets[w.Currency] = mk
		}
	}
	return ws, nil
}

func consistent(ws []wallet) bool {
	for _, w := range ws {
		if len(w.History) > 0 && w.History[0].BalanceAfter != w.Balance {
			return false
		}
	}
	return true
}

func balanceOf(ws []wallet, currency string) int64 {
	for _, w := range ws {
		if w.Currency == currency {
			return w.Balance
		}
	}
	return 0
}

func (b *bot) readInventory(ctx context.Context) error {
	return b.timed("listInventory", func() error {
		items, err := b.api.inventory(ctx)
		b.owned = items
		return err
	})
}

func (b *bot) storefront(ctx context.Context) ([]listing, error) {
	var ls []listing
	err := b.timed("getStorefront", func() error {
		var err error
		ls, err = b.api.storefront(ctx)
		return err
	})
	return ls, err
}

// readProgress reads XP and the battle pass back.
func (b *bot) readProgress(ctx context.Context) (xp int64, tier int, err error) {
	if err = b.timed("getProgression", func() error {
		var err error
		xp, err = b.api.progression(ctx)
		return err
	}); err != nil {
		return
	}
	err = b.timed("getBattlePass", func() error {
		var err error
		tier, err = b.api.battlePass(ctx)
		return err
	})
	return
}

// affordable lists the listings of ids the player can buy now: on sale,
// paid in a currency they hold enough of, and not a unique item they own.
func (b *bot) affordable(ls []listing, ws []wallet, ids []string) []listing {
	var out []listing
	for _, l := range ls {
		if l.Kind != "offer" || !slices.Contains(ids, l.ID) || balanceOf(ws, l.Currency) < l.Amount {
			continue
		}
		owned := false
		for _, it := range l.Items {
			owned = owned || b.owned[it.ItemID] > 0 && uniqueItems[it.ItemID]
		}
		if !owned {
			out = append(out, l)
		}
	}
	return out
}

// uniqueItems are the demo's items of which a player holds one at most,
// among those the default scenario buys.
var uniqueItems = map[string]bool{"operator.ghost": true, "skin.kestrel.molten": true, "skin.ghost.nightfall": true}

// buyOffer looks at the store and the wallets and buys an offer the
// player can afford; a share of purchases is sent twice with the same
// Idempotency-Key, and must answer the same order and charge once.
func (b *bot) buyOffer(ctx context.Context) {
	ls, err := b.storefront(ctx)
	if err != nil {
		return
	}
	ws, err := b.readWallets(ctx, false)
	if err != nil {
		return
	}
	can := b.affordable(ls, ws, b.r.sc.Store.Offers)
	if len(can) == 0 {
		return
	}
	b.buy(ctx, can[b.rng.IntN(len(can))])
}

// buy purchases one offer.
func (b *bot) buy(ctx context.Context, l listing) bool {
	key := b.key("buy")
	var o order
	// already_owned: a gift the player gave came back (declined) before
	// they heard of it; the store charged nothing.
	if err := b.timed("buyProduct", func() error {
		var err error
		o, err = b.api.buy(ctx, l.ID, key)
		return err
	}, "already_owned"); err != nil {
		if apiCode(err) == "already_owned" {
			for _, it := range l.Items {
				b.owned[it.ItemID] = max(b.owned[it.ItemID], 1)
			}
		}
		return false
	}
	b.own[o.PriceCurrency] -= o.PriceAmount
	for _, it := range l.Items {
		b.owned[it.ItemID] += it.Quantity
	}
	if b.rng.Float64() < b.r.sc.Store.Replay {
		var again order
		if err := b.timed("buyProduct", func() error {
			var err error
			again, err = b.api.buy(ctx, l.ID, key)
			return err
		}); err == nil && again.ID != o.ID {
			b.fail("buyProduct", flowErr("replay_new_order", "a replayed Idempotency-Key answered order %s, not %s", again.ID, o.ID))
		}
	}
	return true
}

// buyPack buys a currency pack: a Checkout (its page is not loaded), then
// the webhook Stripe would send once the player paid, signed with the
// endpoint's secret; a share of the events is delivered twice, and a
// failed delivery is made again. The order must then read paid with the
// pack's currency credited once, and the economy check counts what it
// reads.
func (b *bot) buyPack(ctx context.Context) {
	if b.r.signer == nil {
		return
	}
	ls, err := b.storefront(ctx)
	if err != nil {
		return
	}
	var packs []listing
	for _, l := range ls {
		if l.Kind == "pack" && slices.Contains(b.r.sc.Store.Packs, l.ID) {
			packs = append(packs, l)
		}
	}
	if len(packs) == 0 {
		b.r.noPacks.Store(true)
		return
	}
	p := packs[b.rng.IntN(len(packs))]
	var o order
	if err := b.timed("createCheckout", func() error {
		var err error
		o, err = b.api.checkout(ctx, p.ID, b.key("checkout"))
		return err
	}); err != nil {
		return
	}
	paying := paidOrder{OrderID: o.ID, Amount: o.PriceAmount, Currency: o.PriceCurrency}
	if b.r.cfg.Checkout != nil {
		// Stripe's event names the session the store made, as Stripe knows it.
		if paying.Checkout, err = b.r.cfg.Checkout(ctx, o.ID); err != nil {
			b.fail("stripeWebhook", err)
			return
		}
	}
	body, sig, err := b.r.signer.completed(paying, time.Now())
	if err != nil {
		b.fail("stripeWebhook", err)
		return
	}
	sends := 1
	if b.rng.Float64() < b.r.sc.Store.Replay {
		sends = 2
	}
	// A delivery that fails (a timeout, a 5xx) is delivered again, as
	// Stripe does, a few times: its answer was lost, not necessarily its
	// effect, and only a delivery that is answered says the event is in.
	delivered := 0
	for try := 0; delivered < sends && try < sends+2 && ctx.Err() == nil; try++ {
		if err := b.timed("stripeWebhook", func() error { return b.api.webhook(ctx, body, sig) }); err == nil {
			delivered++
		}
	}
	var paid order
	if err := b.timed("getOrder", func() error {
		var err error
		paid, err = b.api.order(ctx, o.ID)
		return err
	}); err != nil {
		return
	}
	if delivered > 0 && (paid.Status != "paid" || paid.Credited != o.GrantAmount) {
		b.fail("getOrder", flowErr("order_not_paid", "order %s after its webhook: status %s, credited %d of %d", o.ID, paid.Status, paid.Credited, o.GrantAmount))
	}
	b.own[o.GrantCurrency] += paid.Credited
}

// gift gives the scenario's gift item to a party friend, buying it first
// when the player has none; the friend is told in-process (as a game's
// own notification would) and accepts it, or declines when they own one.
func (b *bot) gift(ctx context.Context) {
	to := b.friend()
	if to == nil {
		return
	}
	item := b.r.sc.Store.Gift
	if b.owned[item] == 0 {
		ls, err := b.storefront(ctx)
		if err != nil {
			return
		}
		ws, err := b.readWallets(ctx, false)
		if err != nil {
			return
		}
		var offer *listing
		for _, l := range b.affordable(ls, ws, b.r.sc.Store.Offers) {
			if len(l.Items) == 1 && l.Items[0].ItemID == item {
				offer = &l
			}
		}
		if offer == nil || !b.buy(ctx, *offer) {
			return
		}
	}
	if err := b.timed("sendGift", func() error { return b.api.sendGift(ctx, to.id, item) }); err != nil {
		return
	}
	b.owned[item]--
	b.r.m.giftsSent.Add(1)
	offer(to.inbox, any(giftSent{from: b}))
}

// friend is a party friend to give to: the leader for a member, a member
// who joined for the leader.
func (b *bot) friend() *bot {
	g := b.group
	switch {
	case g == nil || b.partyID == "":
		return nil
	case !b.isLeader():
		return g.leader
	}
	g.mu.Lock()
	in := g.in
	g.mu.Unlock()
	if len(in) == 0 {
		return nil
	}
	return in[b.rng.IntN(len(in))]
}

// takeGifts accepts the gifts waiting for the player, declining an item
// they already own (which goes back to its sender, who is told).
func (b *bot) takeGifts(ctx context.Context) {
	var gs []gift
	if err := b.timed("listGifts", func() error {
		var err error
		gs, err = b.api.gifts(ctx)
		return err
	}); err != nil {
		return
	}
	for _, g := range gs {
		if g.Status != "pending" {
			continue
		}
		from := b.r.byID(g.From.ID)
		owns := false
		for _, it := range g.Items {
			owns = owns || uniqueItems[it.ItemID] && b.owned[it.ItemID] > 0
		}
		if !owns {
			// already_owned: the player got one meanwhile; decline it then.
			err := b.timed("acceptGift", func() error { return b.api.acceptGift(ctx, g.ID) }, "already_owned")
			if err == nil {
				b.r.m.giftsAccepted.Add(1)
				for _, it := range g.Items {
					b.owned[it.ItemID] += it.Quantity
				}
				continue
			}
			if apiCode(err) != "already_owned" {
				continue
			}
		}
		if b.timed("declineGift", func() error { return b.api.declineGift(ctx, g.ID) }) == nil && from != nil {
			offer(from.inbox, any(giftBack{items: g.Items}))
		}
	}
}
