package store

import (
	"testing"
	"time"

	shop "github.com/musterhq/muster/domain/store"
)

func TestMoneyIsTypedAndShownInTheMainUnit(t *testing.T) {
	for _, tc := range []struct {
		text, currency string
		amount         int64
		ok             bool
		shown          string
	}{
		{"8.99", "eur", 899, true, "8.99 EUR"},
		{"8.9", "eur", 890, true, "8.90 EUR"},
		{"8", "usd", 800, true, "8.00 USD"},
		{"0.05", "usd", 5, true, "0.05 USD"},
		{"1,299.00", "gbp", 129900, true, "1299.00 GBP"},
		{"500", "jpy", 500, true, "500 JPY"},
		{"500.5", "jpy", 0, false, ""},
		{"1.234", "kwd", 1234, true, "1.234 KWD"},
		{"8.999", "eur", 0, false, ""},
		{"-1", "eur", 0, false, ""},
		{"", "eur", 0, false, ""},
		{".5", "eur", 0, false, ""},
		{"8.99 EUR", "eur", 0, false, ""},
		{"99999999999999", "eur", 0, false, ""},
	} {
		got, err := parseMoney(tc.text, tc.currency)
		if (err == nil) != tc.ok || got != tc.amount {
			t.Errorf("parseMoney(%q, %s) = %d, %v; want %d, ok %v", tc.text, tc.currency, got, err, tc.amount, tc.ok)
			continue
		}
		if tc.ok {
			if s := money(got, tc.currency); s != tc.shown {
				t.Errorf("money(%d, %s) = %q, want %q", got, tc.currency, s, tc.shown)
			}
			if back, err := parseMoney(plainMoney(got, tc.currency), tc.currency); err != nil || back != got {
				t.Errorf("%d %s does not read back from %q: %d %v", got, tc.currency, plainMoney(got, tc.currency), back, err)
			}
		}
	}
}

func TestRevenueIsSummedPerCurrency(t *testing.T) {
	d1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	r := summarize([]shop.Revenue{
		{Day: d2, Product: "pack.a", Country: "DE", Currency: "eur", Orders: 2, Gross: 1798, Net: 1498},
		{Day: d2, Product: "pack.a", Country: "*", Currency: "usd", Orders: 1, Gross: 999, Net: 999},
		{Day: d1, Product: "pack.b", Country: "DE", Currency: "eur", Orders: 1, Gross: 1999, Net: 1999},
		{Day: d1, Product: "pack.a", Country: "DE", Currency: "eur", Orders: 1, Gross: 899, Net: 899},
	})
	want := []RevenueRow{{Currency: "eur", Orders: 4, Gross: 4696, Net: 4396}, {Currency: "usd", Orders: 1, Gross: 999, Net: 999}}
	if len(r.Totals) != 2 || r.Totals[0] != want[0] || r.Totals[1] != want[1] {
		t.Errorf("totals: %+v", r.Totals)
	}
	if len(r.Days) != 3 || r.Days[0].Key != "2026-03-02" || r.Days[2] != (RevenueRow{Key: "2026-03-01", Currency: "eur", Orders: 2, Gross: 2898, Net: 2898}) {
		t.Errorf("days: %+v", r.Days)
	}
	if len(r.Products) != 3 || r.Products[0] != (RevenueRow{Key: "pack.a", Currency: "eur", Orders: 3, Gross: 2697, Net: 2397}) {
		t.Errorf("products: %+v", r.Products)
	}
	if len(r.Regions) != 2 || r.Regions[0] != (RevenueRow{Key: "DE", Currency: "eur", Orders: 4, Gross: 4696, Net: 4396}) {
		t.Errorf("regions: %+v", r.Regions)
	}
}
