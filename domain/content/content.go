// Package content keeps live-ops content that designers edit as drafts and
// publish: XP curves, unlock trees, battle pass seasons, challenge pools and
// match modes. A document has at most one draft; every save of the draft is
// checked against the revision the editor loaded, so a stale form never
// overwrites a colleague's work. Publishing checks the draft again (what it
// refers to may have changed since) and makes it the next immutable version;
// the game only ever reads published versions, and every version is kept.
//
// The packages that own a kind register it with its Check, and decode the
// published body into their own types.
package content

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jmoiron/sqlx"
)

// Errors of this package.
var (
	ErrNotFound      = errors.New("content not found")
	ErrNotPublished  = errors.New("content not published yet")
	ErrStaleRevision = errors.New("the draft was changed by someone else since it was loaded")
	ErrNoDraft       = errors.New("there is no draft to publish")
	ErrInvalid       = errors.New("invalid content")
	ErrUnknownKind   = errors.New("unknown content kind")
)

// FieldError says which field of a document is wrong and why.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Problem) }

// Is makes a FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a FieldError for field.
func Invalid(field, problem string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(problem, args...)}
}

// Kind is a sort of document. Check validates a body, decoded strictly into
// the owner's type, before a draft is saved and again before it is
// published; it may read other content or the catalog through q.
type Kind struct {
	Name  string
	Check func(ctx context.Context, q sqlx.QueryerContext, id string, body json.RawMessage) error
}

// Doc is a document with its draft and its published version.
type Doc struct {
	Kind          string     `db:"kind" json:"kind"`
	ID            string     `db:"id" json:"id"`
	Name          string     `db:"name" json:"name"`
	Draft         []byte     `db:"draft" json:"draft,omitempty"` // JSON; nil when there is none
	DraftRevision int        `db:"draft_revision" json:"draft_revision"`
	DraftBy       string     `db:"draft_by" json:"draft_by,omitempty"`
	DraftAt       *time.Time `db:"draft_at" json:"draft_at,omitempty"`
	Version       int        `db:"published_version" json:"version"`     // 0: never published
	Published     []byte     `db:"published" json:"published,omitempty"` // JSON; nil before the first publish
	PublishedAt   *time.Time `db:"published_at" json:"published_at,omitempty"`
}

// HasDraft reports whether a draft waits to be published.
func (d Doc) HasDraft() bool { return len(d.Draft) > 0 }

// Version is one published version of a document.
type Version struct {
	Version     int             `db:"version"`
	Body        json.RawMessage `db:"body"`
	PublishedBy string          `db:"published_by"`
	PublishedAt time.Time       `db:"published_at"`
}

// Edit says who edits, from which draft revision (0 for a new document),
// and what else must happen in the same transaction (the console's audit
// row): Also gets the document before and after.
type Edit struct {
	Expected int
	Editor   string
	Also     func(tx *sqlx.Tx, before, after Doc) error
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ValidID reports whether id may name a document.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Decode decodes body into v strictly: unknown fields and trailing data are
// errors, so a typo in a hand-edited document does not pass silently.
func Decode(body json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Invalid("document", "%v", err)
	}
	if dec.More() {
		return Invalid("document", "unexpected data after the document")
	}
	return nil
}
