package content_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type note struct {
	Text string `json:"text"`
}

// noteKind takes documents {"text": "..."} with a non-empty text.
var noteKind = content.Kind{Name: "note", Check: func(_ context.Context, _ sqlx.QueryerContext, _ string, body json.RawMessage) error {
	var n note
	if err := content.Decode(body, &n); err != nil {
		return err
	}
	if n.Text == "" {
		return content.Invalid("text", "required")
	}
	return nil
}}

func TestDraftPublishLifecycle(t *testing.T) {
	conn := testenv.DB(t)
	s := content.New(conn)
	s.Register(noteKind)
	ctx := context.Background()
	id := fmt.Sprintf("n%d", time.Now().UnixNano())

	var n note
	if _, err := content.Published(ctx, conn, "note", id, &n); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("missing document: %v", err)
	}
	d, err := s.SaveDraft(ctx, "note", id, "First", json.RawMessage(`{"text":"one"}`), content.Edit{Editor: "alice"})
	if err != nil || d.DraftRevision != 1 || !d.HasDraft() || d.Version != 0 {
		t.Fatalf("first draft = %+v, %v", d, err)
	}
	if _, err := content.Published(ctx, conn, "note", id, &n); !errors.Is(err, content.ErrNotPublished) {
		t.Fatalf("draft only: %v, want ErrNotPublished", err)
	}
	// A second editor starting from no document, or from a stale revision, is refused.
	if _, err := s.SaveDraft(ctx, "note", id, "", json.RawMessage(`{"text":"x"}`), content.Edit{Editor: "bob"}); !errors.Is(err, content.ErrStaleRevision) {
		t.Fatalf("create over an existing document: %v", err)
	}
	d, err = s.SaveDraft(ctx, "note", id, "First", json.RawMessage(`{"text":"two"}`), content.Edit{Expected: 1, Editor: "alice"})
	if err != nil || d.DraftRevision != 2 {
		t.Fatalf("second draft = %+v, %v", d, err)
	}
	if _, err := s.Publish(ctx, "note", id, content.Edit{Expected: 1, Editor: "bob"}); !errors.Is(err, content.ErrStaleRevision) {
		t.Fatalf("publish of a revision not reviewed: %v", err)
	}
	var audited []string
	d, err = s.Publish(ctx, "note", id, content.Edit{Expected: 2, Editor: "bob", Also: func(_ *sqlx.Tx, before, after content.Doc) error {
		audited = append(audited, fmt.Sprintf("v%d->v%d", before.Version, after.Version))
		return nil
	}})
	if err != nil || d.Version != 1 || d.HasDraft() {
		t.Fatalf("publish = %+v, %v", d, err)
	}
	if v, err := content.Published(ctx, conn, "note", id, &n); err != nil || v != 1 || n.Text != "two" {
		t.Fatalf("published = v%d %+v, %v", v, n, err)
	}
	if _, err := s.Publish(ctx, "note", id, content.Edit{Expected: d.DraftRevision}); !errors.Is(err, content.ErrNoDraft) {
		t.Fatalf("publish without a draft: %v", err)
	}
	// A new draft leaves the published version in place until it is published.
	d, err = s.SaveDraft(ctx, "note", id, "First", json.RawMessage(`{"text":"three"}`), content.Edit{Expected: d.DraftRevision})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := content.Published(ctx, conn, "note", id, &n); err != nil || n.Text != "two" {
		t.Fatalf("published while a draft waits = %+v, %v", n, err)
	}
	d, err = s.Discard(ctx, "note", id, content.Edit{Expected: d.DraftRevision})
	if err != nil || d.HasDraft() {
		t.Fatalf("discard = %+v, %v", d, err)
	}
	d, _ = s.SaveDraft(ctx, "note", id, "First", json.RawMessage(`{"text":"four"}`), content.Edit{Expected: d.DraftRevision})
	if _, err := s.Publish(ctx, "note", id, content.Edit{Expected: d.DraftRevision, Editor: "carol"}); err != nil {
		t.Fatal(err)
	}
	vs, err := s.Versions(ctx, "note", id)
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[0].PublishedBy != "carol" || string(vs[1].Body) != `{"text": "two"}` {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	if len(audited) != 1 || audited[0] != "v0->v1" {
		t.Fatalf("Also saw %v", audited)
	}
}

func TestInvalidContentIsRefused(t *testing.T) {
	conn := testenv.DB(t)
	s := content.New(conn)
	s.Register(noteKind)
	ctx := context.Background()
	cases := []struct {
		kind, id, body string
		want           error
		field          string
	}{
		{"note", "ok-id", `{"text":""}`, content.ErrInvalid, "text"},
		{"note", "ok-id", `{"text":"a","extra":1}`, content.ErrInvalid, "document"},
		{"note", "ok-id", `{"text":"a"} {}`, content.ErrInvalid, "document"},
		{"note", "ok-id", `not json`, content.ErrInvalid, "document"},
		{"note", "Bad ID", `{"text":"a"}`, content.ErrInvalid, "id"},
		{"poem", "ok-id", `{"text":"a"}`, content.ErrUnknownKind, ""},
	}
	for _, c := range cases {
		_, err := s.SaveDraft(ctx, c.kind, c.id, "", json.RawMessage(c.body), content.Edit{})
		if !errors.Is(err, c.want) {
			t.Errorf("%s %s: %v, want %v", c.kind, c.body, err, c.want)
			continue
		}
		var fe *content.FieldError
		if c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field) {
			t.Errorf("%s: error %v does not name field %q", c.body, err, c.field)
		}
	}
	if d, err := s.Get(ctx, "note", "ok-id"); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("refused drafts left a document: %+v, %v", d, err)
	}
}
