// Package catalog owns the economy's content: currencies, item definitions
// and crafting recipes. Designers edit them in the console. Every edit is
// checked against the version the editor started from, bumps the version and
// keeps the document it replaced, so content changes are reviewable and a
// stale form never overwrites a colleague's work. Definitions are never
// deleted while a player owns one; they are retired instead.
package catalog

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of this package.
var (
	ErrNotFound        = errors.New("catalog entry not found")
	ErrExists          = errors.New("a catalog entry with this id already exists")
	ErrStaleVersion    = errors.New("the entry was changed by someone else since it was loaded")
	ErrInUse           = errors.New("the entry is owned by players or used by a recipe: retire it instead")
	ErrInvalid         = errors.New("invalid catalog entry")
	ErrUnknownCurrency = errors.New("unknown currency")
)

// Kinds of item.
var Kinds = []string{"weapon", "operator", "skin", "charm", "emote", "banner", "consumable", "boost", "currency_pack", "bundle"}

// Rarities, from most to least common.
var Rarities = []string{"common", "uncommon", "rare", "epic", "legendary", "mythic"}

// CurrencyKinds: soft currency is earned in play, premium currency is bought.
var CurrencyKinds = []string{"soft", "premium"}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{1,63}$`)
var codePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)

// Currency is a virtual currency.
type Currency struct {
	Code      string    `db:"code" json:"code"`
	Name      string    `db:"name" json:"name"`
	Kind      string    `db:"kind" json:"kind"`
	Version   int       `db:"version" json:"version"`
	Retired   bool      `db:"retired" json:"retired"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// Item is an item definition.
type Item struct {
	ID                 string     `db:"id" json:"id"`
	Name               string     `db:"name" json:"name"`
	Kind               string     `db:"kind" json:"kind"`
	Rarity             string     `db:"rarity" json:"rarity"`
	Tags               []string   `db:"-" json:"tags"`
	MaxStack           int        `db:"max_stack" json:"max_stack"` // 1: unique
	LifetimeSeconds    *int       `db:"lifetime_seconds" json:"lifetime_seconds,omitempty"`
	EndsAt             *time.Time `db:"ends_at" json:"ends_at,omitempty"`
	Tradable           bool       `db:"tradable" json:"tradable"`
	Giftable           bool       `db:"giftable" json:"giftable"`
	CraftValue         int64      `db:"craft_value" json:"craft_value"`
	DisenchantCurrency *string    `db:"disenchant_currency" json:"disenchant_currency,omitempty"`
	DisenchantYield    int64      `db:"disenchant_yield" json:"disenchant_yield"`
	Version            int        `db:"version" json:"version"`
	Retired            bool       `db:"retired" json:"retired"`
	UpdatedAt          time.Time  `db:"updated_at" json:"updated_at"`
}

// Unique reports whether a player may own at most one.
func (it Item) Unique() bool { return it.MaxStack == 1 }

// Ingredient is an item and how many of it.
type Ingredient struct {
	ItemID   string `json:"item_id"`
	Quantity int    `json:"quantity"`
}

// Recipe crafts one item from items and currency.
type Recipe struct {
	ID             string       `db:"id" json:"id"`
	OutputItem     string       `db:"output_item" json:"output_item"`
	OutputQuantity int          `db:"output_quantity" json:"output_quantity"`
	Inputs         []Ingredient `db:"-" json:"inputs"`
	CostCurrency   *string      `db:"cost_currency" json:"cost_currency,omitempty"`
	CostAmount     int64        `db:"cost_amount" json:"cost_amount"`
	Version        int          `db:"version" json:"version"`
	Retired        bool         `db:"retired" json:"retired"`
	UpdatedAt      time.Time    `db:"updated_at" json:"updated_at"`
}

// FieldError names the field of an invalid entry; it matches ErrInvalid.
type FieldError struct {
	Field, Problem string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Problem) }

// Is makes a FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, problem string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(problem, args...)}
}

func checkName(name string) error {
	if n := utf8.RuneCountInString(strings.TrimSpace(name)); n < 1 || n > 80 {
		return invalid("name", "must be 1 to 80 characters")
	}
	return nil
}

// Validate checks a currency's fields.
func (c Currency) Validate() error {
	if !codePattern.MatchString(c.Code) {
		return invalid("code", "must be 2 to 32 characters of a-z, 0-9 and _, starting with a letter")
	}
	if err := checkName(c.Name); err != nil {
		return err
	}
	if !slices.Contains(CurrencyKinds, c.Kind) {
		return invalid("kind", "must be one of %s", strings.Join(CurrencyKinds, ", "))
	}
	return nil
}

// MaxStackLimit bounds how many of one item a player may hold.
const MaxStackLimit = 1_000_000

// Validate checks an item's fields.
func (it Item) Validate() error {
	if !idPattern.MatchString(it.ID) {
		return invalid("id", "must be 2 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter")
	}
	if err := checkName(it.Name); err != nil {
		return err
	}
	if !slices.Contains(Kinds, it.Kind) {
		return invalid("kind", "must be one of %s", strings.Join(Kinds, ", "))
	}
	if !slices.Contains(Rarities, it.Rarity) {
		return invalid("rarity", "must be one of %s", strings.Join(Rarities, ", "))
	}
	if len(it.Tags) > 16 {
		return invalid("tags", "at most 16")
	}
	for _, t := range it.Tags {
		if !codePattern.MatchString(t) {
			return invalid("tags", "%q: each tag is 2 to 32 characters of a-z, 0-9 and _", t)
		}
	}
	if it.MaxStack < 1 || it.MaxStack > MaxStackLimit {
		return invalid("max_stack", "must be 1 (unique) to %d", MaxStackLimit)
	}
	if it.LifetimeSeconds != nil && (*it.LifetimeSeconds < 1 || *it.LifetimeSeconds > 10*365*24*3600) {
		return invalid("lifetime_seconds", "must be 1 second to 10 years")
	}
	if it.LifetimeSeconds != nil && it.EndsAt != nil {
		return invalid("ends_at", "an item expires after a lifetime or at a fixed time, not both")
	}
	if (it.Giftable || it.Tradable) && (it.LifetimeSeconds != nil || it.EndsAt != nil) {
		return invalid("giftable", "items that expire cannot be gifted or traded")
	}
	if it.CraftValue < 0 || it.DisenchantYield < 0 {
		return invalid("disenchant_yield", "values may not be negative")
	}
	if it.DisenchantYield > 0 && (it.DisenchantCurrency == nil || *it.DisenchantCurrency == "") {
		return invalid("disenchant_currency", "is required when the item disenchants into something")
	}
	return nil
}

// MaxIngredients bounds a recipe's inputs.
const MaxIngredients = 8

// Validate checks a recipe's fields.
func (r Recipe) Validate() error {
	if !idPattern.MatchString(r.ID) {
		return invalid("id", "must be 2 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter")
	}
	if r.OutputItem == "" {
		return invalid("output_item", "is required")
	}
	if r.OutputQuantity < 1 || r.OutputQuantity > MaxStackLimit {
		return invalid("output_quantity", "must be 1 to %d", MaxStackLimit)
	}
	if len(r.Inputs) == 0 && r.CostAmount == 0 {
		return invalid("inputs", "a recipe needs at least one input item or a currency cost")
	}
	if len(r.Inputs) > MaxIngredients {
		return invalid("inputs", "at most %d", MaxIngredients)
	}
	seen := map[string]bool{}
	for _, in := range r.Inputs {
		if in.ItemID == "" || in.Quantity < 1 || in.Quantity > MaxStackLimit {
			return invalid("inputs", "each input needs an item and a quantity of 1 to %d", MaxStackLimit)
		}
		if seen[in.ItemID] || in.ItemID == r.OutputItem {
			return invalid("inputs", "%s is listed twice or is also the output", in.ItemID)
		}
		seen[in.ItemID] = true
	}
	if r.CostAmount < 0 {
		return invalid("cost_amount", "may not be negative")
	}
	if r.CostAmount > 0 && (r.CostCurrency == nil || *r.CostCurrency == "") {
		return invalid("cost_currency", "is required with a cost")
	}
	return nil
}
