package players

import (
	"math"
	"strconv"

	"github.com/musterhq/muster/domain/rbac"
)

// limit bounds what one grant, revoke, credit or debit by a staff member of
// a role may move. A currency's limit follows its kind in the catalog.
type limit struct {
	Items   int   // items in one grant or revoke, all lines together
	Soft    int64 // soft currency in one credit or debit
	Premium int64 // premium currency in one credit or debit
}

// unlimited is the owner's limit: only the domain's own bounds apply.
var unlimited = limit{Items: math.MaxInt, Soft: math.MaxInt64, Premium: math.MaxInt64}

// grantLimits is the one table of what each role may move at a time. A
// role missing here (designer, analyst) may move nothing, even if someone
// gives it economy:grant: its limits have to be decided first.
var grantLimits = map[string]limit{
	rbac.RoleSupport: {Items: 10, Soft: 5_000, Premium: 500},
	rbac.RoleAdmin:   {Items: 100, Soft: 100_000, Premium: 10_000},
	rbac.RoleOwner:   unlimited,
}

// itemLimitProblem says why role may not move n items at once, or "".
func itemLimitProblem(role string, n int) string {
	l := grantLimits[role]
	if n <= l.Items {
		return ""
	}
	if l.Items == 0 {
		return "Your role (" + role + ") has no limit set for items, so it may not move any."
	}
	return "Your role (" + role + ") may move at most " + strconv.Itoa(l.Items) + " items at a time; ask an admin or owner for more."
}

// currencyLimitProblem says why role may not move amount of a currency of
// kind at once, or "".
func currencyLimitProblem(role, kind, code string, amount int64) string {
	l := grantLimits[role]
	max := l.Soft
	if kind == "premium" {
		max = l.Premium
	} else if kind != "soft" {
		max = 0
	}
	if amount <= max {
		return ""
	}
	if max == 0 {
		return "Your role (" + role + ") has no limit set for " + kind + " currency, so it may not move any."
	}
	return "Your role (" + role + ") may move at most " + strconv.FormatInt(max, 10) + " " + code + " (" + kind +
		" currency) at a time; ask an admin or owner for more."
}

// limitText tells a staff member of role what they may move at a time.
func limitText(role string) string {
	l, ok := grantLimits[role]
	switch {
	case !ok:
		return "Your role (" + role + ") has no limits set, so it may not move items or currency."
	case l == unlimited:
		return "Your role (" + role + ") moves items and currency without a console limit."
	}
	return "Your role (" + role + ") may move up to " + strconv.Itoa(l.Items) + " items, " + strconv.FormatInt(l.Soft, 10) +
		" soft currency or " + strconv.FormatInt(l.Premium, 10) + " premium currency at a time."
}
