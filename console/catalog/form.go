package catalog

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

func optional(s string) *string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func showInt(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

// splitTags reads comma-separated tags.
func splitTags(text string) []string {
	tags := []string{}
	for _, t := range strings.Split(text, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

func itoa(n int) string       { return strconv.Itoa(n) }
func itoa64(n int64) string   { return strconv.FormatInt(n, 10) }
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// itemAction is where the item form posts: the list to create, the item
// to update.
func itemAction(f ItemForm) string {
	if f.New {
		return "/catalog/items"
	}
	return "/catalog/items/" + f.ID
}

func currencyAction(f CurrencyForm) string {
	if f.New {
		return "/catalog/currencies"
	}
	return "/catalog/currencies/" + f.Code
}

func recipeAction(f RecipeForm) string {
	if f.New {
		return "/catalog/recipes"
	}
	return "/catalog/recipes/" + f.ID
}

// firstPage links to the first page of the item list with its filter.
func firstPage(l ItemList) string {
	q := url.Values{}
	if l.Kind != "" {
		q.Set("kind", l.Kind)
	}
	if l.Query != "" {
		q.Set("q", l.Query)
	}
	if l.Retired {
		q.Set("retired", "1")
	}
	if len(q) == 0 {
		return "/catalog"
	}
	return "/catalog?" + q.Encode()
}
