package catalog

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	content "github.com/musterhq/muster/domain/catalog"
)

// whole reads a whole number typed into field; blank is def. It notes a
// problem on form and returns def when the text is not a number.
func (f *Form) whole(field, text string, def int64) int64 {
	text = strings.ReplaceAll(strings.TrimSpace(text), ",", "")
	if text == "" {
		return def
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		f.fail(field, "Enter a whole number.")
		return def
	}
	return n
}

// optionalWhole reads a whole number that may be left blank.
func (f *Form) optionalWhole(field, text string) *int {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	n := int(f.whole(field, text, 0))
	return &n
}

// timeLayout is how datetime-local inputs send a time; the console reads
// and shows it as UTC.
const timeLayout = "2006-01-02T15:04"

func (f *Form) optionalTime(field, text string) *time.Time {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	t, err := time.Parse(timeLayout, text)
	if err != nil {
		f.fail(field, "Enter a date and time (UTC).")
		return nil
	}
	return &t
}

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

func showTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(timeLayout)
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

// ingredientLine is one line of a recipe's inputs: "item_id x quantity".
var ingredientLine = regexp.MustCompile(`^(\S+)\s+[x×*]\s*(\d+)$`)

// parseInputs reads a recipe's inputs, one "item_id x quantity" a line.
func (f *Form) parseInputs(text string) []content.Ingredient {
	out := []content.Ingredient{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := ingredientLine.FindStringSubmatch(line)
		if m == nil {
			f.fail("inputs", "Line "+strconv.Itoa(i+1)+": write each input as \"item_id x quantity\".")
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			f.fail("inputs", "Line "+strconv.Itoa(i+1)+": the quantity is too large.")
			continue
		}
		out = append(out, content.Ingredient{ItemID: m[1], Quantity: n})
	}
	return out
}

// showInputs writes a recipe's inputs as the form shows them.
func showInputs(in []content.Ingredient) string {
	lines := make([]string, len(in))
	for i, x := range in {
		lines[i] = x.ItemID + " x " + strconv.Itoa(x.Quantity)
	}
	return strings.Join(lines, "\n")
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
