package store

import (
	"sort"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/account"
	shop "github.com/musterhq/muster/domain/store"
)

// ordersShown is how many orders the Purchases section lists at a time.
const ordersShown = 50

// Purchases is the player page's Purchases section: the player's store
// flags and orders, newest first; ?orders_before= pages to older ones.
type Purchases struct {
	Player account.Account
	Flags  []shop.Flag
	Orders []shop.Order
	Older  string // link to older orders; "" when these are the oldest
	Paged  bool   // the list starts below the newest orders
}

// Purchases renders a player's Purchases section. The player page shows
// it to staff with orders:view.
func (h *Screens) Purchases(c *fiber.Ctx, a account.Account) (templ.Component, error) {
	ctx := c.UserContext()
	before, _ := strconv.ParseInt(c.Query("orders_before"), 10, 64)
	v := Purchases{Player: a, Paged: before > 0}
	var err error
	if v.Flags, err = h.store.Flags(ctx, a.ID); err != nil {
		return nil, err
	}
	if v.Orders, err = h.store.Orders(ctx, a.ID, max(before, 0), ordersShown+1); err != nil {
		return nil, err
	}
	if len(v.Orders) > ordersShown {
		v.Orders = v.Orders[:ordersShown]
		v.Older = "/players/" + a.PublicID + "?orders_before=" + i64(v.Orders[ordersShown-1].ID) + "#purchases"
	}
	return purchases(v), nil
}

// revenueDays is how far back the dashboard's revenue reaches.
const revenueDays = 30

// Revenue is money taken in the last revenueDays days, net of refunds and
// disputes, summed by day, product and region. Amounts in different
// currencies are never added together.
type Revenue struct {
	Days, Products, Regions, Totals []RevenueRow
}

// RevenueRow is the money of one group in one currency.
type RevenueRow struct {
	Key      string // the day, product or region
	Currency string
	Orders   int
	Gross    int64
	Net      int64
}

// Revenue renders the dashboard's revenue section. The dashboard shows it
// to staff with store:view or orders:view.
func (h *Screens) Revenue(c *fiber.Ctx) (templ.Component, error) {
	rows, err := h.store.RevenueByDay(c.UserContext(), revenueDays)
	if err != nil {
		return nil, err
	}
	return revenue(summarize(rows)), nil
}

// summarize groups the revenue rows by day, product and region, each in
// its currency, keeping the days newest first and the rest by net revenue.
func summarize(rows []shop.Revenue) Revenue {
	var out Revenue
	group := func(dst *[]RevenueRow, key func(shop.Revenue) string) {
		index := map[[2]string]int{}
		for _, r := range rows {
			k := [2]string{key(r), r.Currency}
			i, ok := index[k]
			if !ok {
				i = len(*dst)
				index[k] = i
				*dst = append(*dst, RevenueRow{Key: k[0], Currency: k[1]})
			}
			g := &(*dst)[i]
			g.Orders += r.Orders
			g.Gross += r.Gross
			g.Net += r.Net
		}
	}
	group(&out.Days, func(r shop.Revenue) string { return day(r.Day) })
	group(&out.Products, func(r shop.Revenue) string { return r.Product })
	group(&out.Regions, func(r shop.Revenue) string { return r.Country })
	group(&out.Totals, func(shop.Revenue) string { return "" })
	sort.SliceStable(out.Days, func(i, j int) bool { return out.Days[i].Key > out.Days[j].Key })
	for _, g := range [][]RevenueRow{out.Products, out.Regions, out.Totals} {
		sort.SliceStable(g, func(i, j int) bool {
			if g[i].Currency != g[j].Currency {
				return g[i].Currency < g[j].Currency
			}
			return g[i].Net > g[j].Net
		})
	}
	return out
}

// since is the first day the revenue covers.
func since() string { return day(time.Now().AddDate(0, 0, 1-revenueDays)) }

// regionName shows the default price-table row for what it is.
func regionName(country string) string {
	switch country {
	case shop.DefaultCountry:
		return "* (default prices)"
	case "":
		return "none given"
	}
	return country
}
