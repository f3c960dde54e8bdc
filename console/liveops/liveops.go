// Package liveops is the designers' editor of live-ops content: XP curves,
// unlock trees, match modes, seasons, and whatever other kind a domain
// package registers with domain/content (the battle pass, challenge pools
// and rotations, loadout rules). Every kind gets the same screens: its
// documents, each with its published version rendered as a preview and as
// JSON, its draft in a JSON editor whose saves name the draft revision they
// were loaded from, publish and discard, and every published version. Each
// change is audited, with its reason, in the change's own transaction.
package liveops

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/rbac"
)

type handler struct {
	f        *frame.Frame
	store    *content.Store
	previews Previews
}

// Mount adds the live-ops screens under /liveops. previews renders the
// kinds that have a renderer (DefaultPreviews); the others show JSON.
// The new-document form lives at /liveops/new, so no kind may be named
// "new".
func Mount(rt *frame.Router, f *frame.Frame, store *content.Store, previews Previews) {
	h := &handler{f: f, store: store, previews: previews}
	rt.Get("/liveops", rbac.PermProgressView, h.kinds)
	rt.Get("/liveops/new", rbac.PermProgressEdit, h.newDoc)
	rt.Post("/liveops/new", rbac.PermProgressEdit, h.createDoc)
	rt.Get("/liveops/:kind", rbac.PermProgressView, h.docs)
	rt.Get("/liveops/:kind/:id", rbac.PermProgressView, h.doc)
	rt.Post("/liveops/:kind/:id/draft", rbac.PermProgressEdit, h.saveDraft)
	rt.Post("/liveops/:kind/:id/publish", rbac.PermProgressEdit, h.publish)
	rt.Post("/liveops/:kind/:id/discard", rbac.PermProgressEdit, h.discard)
	rt.Get("/liveops/:kind/:id/versions/:version", rbac.PermProgressView, h.version)
}

// KindRow is one kind on the live-ops front page.
type KindRow struct {
	Kind                        string
	Docs, Drafts, Published     int
	HasPreview                  bool
	LastPublished, LastDraftSet string
}

func (h *handler) kinds(c *fiber.Ctx) error {
	var rows []KindRow
	for _, k := range h.store.Kinds() {
		docs, err := h.store.List(c.UserContext(), k)
		if err != nil {
			return err
		}
		r := KindRow{Kind: k, Docs: len(docs), HasPreview: h.previews[k] != nil}
		var lastPub, lastDraft time.Time
		for _, d := range docs {
			if d.HasDraft() {
				r.Drafts++
				if d.DraftAt != nil && d.DraftAt.After(lastDraft) {
					lastDraft = *d.DraftAt
				}
			}
			if d.Version > 0 {
				r.Published++
				if d.PublishedAt != nil && d.PublishedAt.After(lastPub) {
					lastPub = *d.PublishedAt
				}
			}
		}
		r.LastPublished, r.LastDraftSet = whenOrNever(lastPub), whenOrNever(lastDraft)
		rows = append(rows, r)
	}
	return frame.Render(c, http.StatusOK, kindList(h.f.Page(c, "Live-ops content", "liveops"), rows, h.f.Allowed(c, rbac.PermProgressEdit)))
}

// DocList is the documents of one kind.
type DocList struct {
	Kind    string
	Docs    []content.Doc
	CanEdit bool
}

func (h *handler) docs(c *fiber.Ctx) error {
	kind := c.Params("kind")
	if !h.known(kind) {
		return unknownKind(kind)
	}
	docs, err := h.store.List(c.UserContext(), kind)
	if err != nil {
		return err
	}
	l := DocList{Kind: kind, Docs: docs, CanEdit: h.f.Allowed(c, rbac.PermProgressEdit)}
	return frame.Render(c, http.StatusOK, docList(h.f.Page(c, "Live-ops: "+kind, "liveops"), l))
}

func (h *handler) known(kind string) bool { return slices.Contains(h.store.Kinds(), kind) }

func unknownKind(kind string) error {
	return fiber.NewError(http.StatusNotFound, "no content kind "+kind)
}

// status says where a document stands: its published version and whether
// a draft waits.
func status(d content.Doc) string {
	var parts []string
	if d.Version > 0 {
		parts = append(parts, "published v"+strconv.Itoa(d.Version))
	} else {
		parts = append(parts, "never published")
	}
	if d.HasDraft() {
		parts = append(parts, "draft pending")
	}
	return strings.Join(parts, " · ")
}

func docURL(kind, id string) string { return "/liveops/" + kind + "/" + id }

func itoa(n int) string  { return strconv.Itoa(n) }
func i64(n int64) string { return strconv.FormatInt(n, 10) }
func whenUTC(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func when(t *time.Time) string {
	if t == nil {
		return ""
	}
	return whenUTC(*t)
}

func whenOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return whenUTC(t)
}
