package store

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Real-money amounts are kept in the currency's smallest unit, as Stripe
// takes them; staff read and type them in the currency's main unit.

// exponent is how many decimals a currency's main unit has in Stripe's
// amounts: none for Stripe's zero-decimal currencies, three for the
// three-decimal ones, two for the rest.
func exponent(currency string) int {
	switch strings.ToLower(currency) {
	case "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf":
		return 0
	case "bhd", "jod", "kwd", "omr", "tnd":
		return 3
	}
	return 2
}

// plainMoney writes an amount in the main unit without the currency:
// 899 eur is "8.99".
func plainMoney(amount int64, currency string) string {
	exp := exponent(currency)
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	s := strconv.FormatInt(amount, 10)
	if exp == 0 {
		return sign + s
	}
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	return sign + s[:len(s)-exp] + "." + s[len(s)-exp:]
}

// money writes a real-money amount with its currency: "8.99 EUR".
func money(amount int64, currency string) string {
	return plainMoney(amount, currency) + " " + strings.ToUpper(currency)
}

// errMoney says how to type an amount of money.
var errMoney = errors.New("enter an amount like 8.99")

// parseMoney reads an amount typed in the currency's main unit ("8.99",
// "1,299.00", "500" for yen) as the smallest unit.
func parseMoney(text, currency string) (int64, error) {
	text = strings.ReplaceAll(strings.TrimSpace(text), ",", "")
	whole, frac, _ := strings.Cut(text, ".")
	exp := exponent(currency)
	if whole == "" || !digits(whole) || !digits(frac) || len(whole) > 12 {
		return 0, errMoney
	}
	if len(frac) > exp {
		if exp == 0 {
			return 0, errors.New(strings.ToUpper(currency) + " has no decimals")
		}
		return 0, errors.New(strings.ToUpper(currency) + " has " + strconv.Itoa(exp) + " decimals")
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, errMoney
	}
	return n, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// amountOf writes an order's price: money for a real-money order, an
// amount of a virtual currency otherwise.
func amountOf(kind string, amount int64, currency string) string {
	if kind == "real" {
		return money(amount, currency)
	}
	return virtual(amount, currency)
}

// virtual writes an amount of a virtual currency: "150 soft".
func virtual(amount int64, currency string) string {
	return strconv.FormatInt(amount, 10) + " " + currency
}

func itoa(n int) string      { return strconv.Itoa(n) }
func i64(n int64) string     { return strconv.FormatInt(n, 10) }
func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// when formats a time for tables.
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// whenOr formats an optional time, or says what its absence means.
func whenOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return when(*t)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func upper(s string) string { return strings.ToUpper(s) }
func lower(s string) string { return strings.ToLower(s) }

// count writes n of noun: "1 order", "2 orders".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return itoa(n) + " " + noun + "s"
}

// orDefault names a country, or the lack of one.
func orDefault(country string) string {
	if country == "" {
		return "No country"
	}
	return country
}

// orderKind says how an order was paid.
func orderKind(kind string) string {
	if kind == "real" {
		return "real money (Stripe)"
	}
	return "virtual currency"
}
