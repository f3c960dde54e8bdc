package frame

import (
	"crypto/rand"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/catalog"
)

// Errs holds a form's errors by field name (the names of the domain's
// FieldError, which are also the form's input names).
type Errs map[string]string

// Form is what every content editor form carries besides its fields.
type Form struct {
	New     bool   // creating, not editing
	Version int    // the version the form was loaded from; 0 when new
	Errs    Errs   // errors to show next to fields
	Problem string // an error about the whole form
}

// Fail records msg for field unless the field has an error already.
func (f *Form) Fail(field, msg string) {
	if f.Errs == nil {
		f.Errs = Errs{}
	}
	if _, ok := f.Errs[field]; !ok {
		f.Errs[field] = msg
	}
}

// ContentEdit is a content edit (catalog or store) by the signed-in staff
// member from version expected, audited as action in the save's
// transaction.
func ContentEdit(c *fiber.Ctx, expected int, action, targetType, id string) catalog.Edit {
	me, _ := StaffOf(c)
	return catalog.Edit{Expected: expected, Editor: me.Email, Also: func(tx *sqlx.Tx, before, after any) error {
		return Audit(c, tx, audit.Entry{Action: action, TargetType: targetType, TargetID: id, Before: before, After: after})
	}}
}

// Sentence starts msg with a capital and ends it with a full stop.
func Sentence(msg string) string {
	r, n := utf8.DecodeRuneInString(msg)
	if n == 0 {
		return msg
	}
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// Whole reads a whole number typed into field; blank is def. It notes a
// problem on the form and returns def when the text is not a number.
func (f *Form) Whole(field, text string, def int64) int64 {
	text = strings.ReplaceAll(strings.TrimSpace(text), ",", "")
	if text == "" {
		return def
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		f.Fail(field, "Enter a whole number.")
		return def
	}
	return n
}

// OptionalWhole reads a whole number that may be left blank.
func (f *Form) OptionalWhole(field, text string) *int {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	n := int(f.Whole(field, text, 0))
	return &n
}

// TimeLayout is how datetime-local inputs send a time; the console reads
// and shows it as UTC.
const TimeLayout = "2006-01-02T15:04"

// OptionalTime reads a time that may be left blank.
func (f *Form) OptionalTime(field, text string) *time.Time {
	if text = strings.TrimSpace(text); text == "" {
		return nil
	}
	t, err := time.Parse(TimeLayout, text)
	if err != nil {
		f.Fail(field, "Enter a date and time (UTC).")
		return nil
	}
	return &t
}

// ShowTime writes a time as OptionalTime reads it.
func ShowTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// itemLine is one line of items: "item_id x quantity".
var itemLine = regexp.MustCompile(`^(\S+)\s+[x×*]\s*(\d+)$`)

// Lines reads items typed into field, one "item_id x quantity" a line; a
// line with an id alone means one.
func (f *Form) Lines(field, text string) []catalog.Ingredient {
	out := []catalog.Ingredient{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.ContainsAny(line, " \t") {
			line += " x 1"
		}
		m := itemLine.FindStringSubmatch(line)
		if m == nil {
			f.Fail(field, "Line "+strconv.Itoa(i+1)+": write each as \"item_id x quantity\".")
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			f.Fail(field, "Line "+strconv.Itoa(i+1)+": the quantity is too large.")
			continue
		}
		out = append(out, catalog.Ingredient{ItemID: m[1], Quantity: n})
	}
	return out
}

// ShowLines writes items as Lines reads them.
func ShowLines(lines []catalog.Ingredient) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.ItemID + " x " + strconv.Itoa(l.Quantity)
	}
	return strings.Join(out, "\n")
}

// formKeyPrefix marks the idempotency keys the console puts in its forms.
const formKeyPrefix = "console:"

// NewFormKey is a fresh idempotency key for a form that changes a player,
// so that a form sent twice acts once.
func NewFormKey() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return formKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidFormKey reports whether k is a key NewFormKey made.
func ValidFormKey(k string) bool {
	return strings.HasPrefix(k, formKeyPrefix) && len(k) > len(formKeyPrefix)+16 && len(k) <= 100
}
