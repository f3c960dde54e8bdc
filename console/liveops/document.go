package liveops

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/web"
)

// maxBody is the largest document the editor takes. The console's request
// limit (1 MiB by default) must hold it form-encoded, which can triple it.
const maxBody = 256 << 10

const reasonRequired = "A reason of 3 to 500 characters is required: the audit log keeps it with the change."

// EditorForm is the draft editor as typed, with its errors: Errs by field
// ("body", "name", "reason", and "kind" and "id" for a new document),
// Problem about the whole form.
type EditorForm struct {
	frame.Form
	Kind, ID           string // of a new document
	Revision           int    // the draft revision the text was loaded from
	Name, Body, Reason string
	BodyLine           int // the line of Body that Errs["body"] is about; 0 when unknown
	Restored           int // the version the editor was loaded from, when restoring one
}

func (f *EditorForm) failed() bool { return len(f.Errs) > 0 || f.Problem != "" }

// ActionForm is the publish or the discard form, with its errors.
type ActionForm struct {
	Reason, ReasonErr, Problem string
}

// View is a document body shown for review: its preview when the kind has
// a renderer, and its JSON.
type View struct {
	JSON       string
	Preview    templ.Component // nil without a renderer, or when it failed (PreviewErr)
	PreviewErr string
}

// DocPage is a document's page.
type DocPage struct {
	Kind             string
	Doc              content.Doc
	Published        *View // nil before the first publish
	Draft            *View // the saved draft; nil when there is none
	Editor           EditorForm
	Publish, Discard ActionForm
	// Theirs is, after a save from a stale revision, the document as the
	// colleague left it, shown beside the editor that keeps your text.
	Theirs   *content.Doc
	Versions []content.Version
	CanEdit  bool
}

// view renders body for review.
func (h *handler) view(kind string, body []byte) *View {
	v := &View{JSON: pretty(body)}
	if p := h.previews[kind]; p != nil {
		comp, err := p(body)
		if err != nil {
			v.PreviewErr = "The preview cannot show this document (" + err.Error() + "); its JSON is below."
		} else {
			v.Preview = comp
		}
	}
	return v
}

// load returns the document the path names.
func (h *handler) load(c *fiber.Ctx) (content.Doc, error) {
	kind, id := c.Params("kind"), c.Params("id")
	if !h.known(kind) {
		return content.Doc{}, unknownKind(kind)
	}
	d, err := h.store.Get(c.UserContext(), kind, id)
	if errors.Is(err, content.ErrNotFound) {
		return content.Doc{}, fiber.NewError(http.StatusNotFound, "no "+kind+" document "+id)
	}
	return d, err
}

// freshEditor holds the draft, or a copy of the published version to start
// a draft from.
func freshEditor(d content.Doc) EditorForm {
	f := EditorForm{Revision: d.DraftRevision, Name: d.Name, Body: "{}"}
	switch {
	case d.HasDraft():
		f.Body = pretty(d.Draft)
	case d.Version > 0:
		f.Body = pretty(d.Published)
	}
	return f
}

func (h *handler) doc(c *fiber.Ctx) error {
	d, err := h.load(c)
	if err != nil {
		return err
	}
	ed := freshEditor(d)
	if n, err := strconv.Atoi(c.Query("restore")); err == nil && n > 0 {
		vs, err := h.store.Versions(c.UserContext(), d.Kind, d.ID)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if v.Version == n {
				ed.Body, ed.Restored = pretty(v.Body), n
			}
		}
	}
	return h.render(c, http.StatusOK, d, func(p *DocPage) { p.Editor = ed })
}

// render shows a document's page; set, when not nil, puts forms as sent,
// with their errors, in place of fresh ones.
func (h *handler) render(c *fiber.Ctx, status int, d content.Doc, set func(*DocPage)) error {
	p := DocPage{Kind: d.Kind, Doc: d, Editor: freshEditor(d), CanEdit: h.f.Allowed(c, rbac.PermProgressEdit)}
	if d.Version > 0 {
		p.Published = h.view(d.Kind, d.Published)
	}
	if d.HasDraft() {
		p.Draft = h.view(d.Kind, d.Draft)
	}
	var err error
	if p.Versions, err = h.store.Versions(c.UserContext(), d.Kind, d.ID); err != nil {
		return err
	}
	if set != nil {
		set(&p)
	}
	title := d.Kind + " " + d.ID
	if d.Name != "" {
		title += ": " + d.Name
	}
	return frame.Render(c, status, docPage(h.f.Page(c, title, "liveops"), p))
}

// editorOf reads the posted editor.
func editorOf(c *fiber.Ctx) EditorForm {
	body := strings.ReplaceAll(c.FormValue("body"), "\r\n", "\n")
	f := EditorForm{Kind: strings.TrimSpace(c.FormValue("kind")), ID: strings.TrimSpace(c.FormValue("id")),
		Name: strings.TrimSpace(web.CleanText(c.FormValue("name"), 200)), Body: strings.TrimSpace(body), Reason: reasonOf(c)}
	f.Revision, _ = strconv.Atoi(c.FormValue("revision"))
	if len(f.Reason) < 3 || len(f.Reason) > 500 {
		f.Fail("reason", reasonRequired)
	}
	if len(f.Name) > 100 {
		f.Fail("name", "Keep the name to 100 characters.")
	}
	switch {
	case len(f.Body) > maxBody:
		f.Fail("body", fmt.Sprintf("The document is %d KiB; the editor takes at most %d KiB.", len(f.Body)>>10, maxBody>>10))
	default:
		if msg := syntaxProblem(f.Body); msg != "" {
			f.Fail("body", msg)
		}
	}
	return f
}

func reasonOf(c *fiber.Ctx) string {
	return strings.TrimSpace(web.CleanText(c.FormValue("reason"), 1000))
}

// fieldProblem puts a domain FieldError beside the editor, naming the
// field's JSON path and its line, and reports whether err was one.
func fieldProblem(err error, f *EditorForm) bool {
	var fe *content.FieldError
	if !errors.As(err, &fe) {
		return false
	}
	msg := frame.Sentence(fe.Problem)
	switch fe.Field {
	case "id":
		f.Fail("id", msg)
	case "document":
		f.Fail("body", msg)
	default:
		f.BodyLine = lineOf(f.Body, fe.Field)
		f.Fail("body", fe.Field+": "+msg)
	}
	return true
}

// edit is the signed-in staff member's edit from draft revision expected,
// audited as action with reason in the change's transaction.
func edit(c *fiber.Ctx, expected int, action, reason string) content.Edit {
	me, _ := frame.StaffOf(c)
	return content.Edit{Expected: expected, Editor: me.Email, Also: func(tx *sqlx.Tx, before, after content.Doc) error {
		return frame.Audit(c, tx, audit.Entry{Action: action, TargetType: after.Kind, TargetID: after.ID, Reason: reason,
			Before: snapshot(before), After: snapshot(after)})
	}}
}

// snapshot is what the audit log keeps of a document: nil before it exists.
func snapshot(d content.Doc) any {
	if d.DraftRevision == 0 && d.Version == 0 {
		return nil
	}
	var draft json.RawMessage
	if d.HasDraft() {
		draft = d.Draft
	}
	return map[string]any{"name": d.Name, "draft_revision": d.DraftRevision, "published_version": d.Version, "draft": draft}
}

func (h *handler) saveDraft(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d, err := h.load(c)
	if err != nil {
		return err
	}
	form := editorOf(c)
	if form.Revision < 1 {
		return fiber.NewError(http.StatusBadRequest, "the form has no draft revision; reload the page")
	}
	if form.failed() {
		return h.render(c, http.StatusBadRequest, d, func(p *DocPage) { p.Editor = form })
	}
	saved, err := h.store.SaveDraft(ctx, d.Kind, d.ID, form.Name, json.RawMessage(form.Body), edit(c, form.Revision, "content.draft.save", form.Reason))
	switch {
	case err == nil:
		return h.f.SetFlash(c, "ok", "Saved the draft of "+d.Kind+" "+d.ID+" (revision "+itoa(saved.DraftRevision)+"). Review its preview, then publish it.",
			docURL(d.Kind, d.ID))
	case errors.Is(err, content.ErrStaleRevision):
		now, err := h.store.Get(ctx, d.Kind, d.ID)
		if err != nil {
			return err
		}
		form.Problem = staleProblem(now, form.Revision)
		form.Revision = now.DraftRevision
		return h.render(c, http.StatusConflict, now, func(p *DocPage) { p.Editor, p.Theirs = form, &now })
	case errors.Is(err, content.ErrNotFound):
		return fiber.NewError(http.StatusNotFound, "no "+d.Kind+" document "+d.ID)
	case fieldProblem(err, &form):
		return h.render(c, http.StatusBadRequest, d, func(p *DocPage) { p.Editor = form })
	}
	return err
}

// staleProblem explains a save from revision loaded of a document that is
// now at now.
func staleProblem(now content.Doc, loaded int) string {
	what := "its draft was published or discarded since (it is now " + status(now) + ")"
	if now.HasDraft() {
		what = fmt.Sprintf("%s saved draft revision %d at %s", or(now.DraftBy, "someone"), now.DraftRevision, when(now.DraftAt))
	}
	return fmt.Sprintf("This document changed after you loaded it (revision %d): %s. Your text is kept in the editor and nothing was saved; "+
		"the document as it is now is shown under the editor. Saving again replaces it with your text.", loaded, what)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (h *handler) publish(c *fiber.Ctx) error {
	d, err := h.load(c)
	if err != nil {
		return err
	}
	rev, _ := strconv.Atoi(c.FormValue("revision"))
	act := ActionForm{Reason: reasonOf(c)}
	if len(act.Reason) < 3 || len(act.Reason) > 500 {
		act.ReasonErr = reasonRequired
		return h.render(c, http.StatusBadRequest, d, func(p *DocPage) { p.Publish = act })
	}
	saved, err := h.store.Publish(c.UserContext(), d.Kind, d.ID, edit(c, rev, "content.publish", act.Reason))
	switch {
	case err == nil:
		return h.f.SetFlash(c, "ok", "Published "+d.Kind+" "+d.ID+" version "+itoa(saved.Version)+": the game reads it now.", docURL(d.Kind, d.ID))
	case errors.Is(err, content.ErrStaleRevision):
		act.Problem = fmt.Sprintf("Nothing was published: the draft changed after you reviewed revision %d (%s). Review the draft as it is now, then publish again.",
			rev, staleWhat(d))
		return h.render(c, http.StatusConflict, d, func(p *DocPage) { p.Publish = act })
	case errors.Is(err, content.ErrNoDraft):
		act.Problem = "There is no draft to publish: save one first."
		return h.render(c, http.StatusConflict, d, func(p *DocPage) { p.Publish = act })
	case errors.Is(err, content.ErrNotFound):
		return fiber.NewError(http.StatusNotFound, "no "+d.Kind+" document "+d.ID)
	}
	ed := freshEditor(d)
	if !fieldProblem(err, &ed) {
		return err
	}
	act.Problem = "Nothing was published: the draft does not pass its checks now (what it refers to may have changed since it was saved). " +
		"The problem is shown beside the editor: fix it, save, and publish again."
	return h.render(c, http.StatusBadRequest, d, func(p *DocPage) { p.Editor, p.Publish = ed, act })
}

// staleWhat says who holds the draft now.
func staleWhat(d content.Doc) string {
	if d.HasDraft() {
		return fmt.Sprintf("it is at revision %d, saved by %s at %s", d.DraftRevision, or(d.DraftBy, "someone"), when(d.DraftAt))
	}
	return "it is now " + status(d)
}

func (h *handler) discard(c *fiber.Ctx) error {
	d, err := h.load(c)
	if err != nil {
		return err
	}
	rev, _ := strconv.Atoi(c.FormValue("revision"))
	act := ActionForm{Reason: reasonOf(c)}
	if len(act.Reason) < 3 || len(act.Reason) > 500 {
		act.ReasonErr = reasonRequired
		return h.render(c, http.StatusBadRequest, d, func(p *DocPage) { p.Discard = act })
	}
	_, err = h.store.Discard(c.UserContext(), d.Kind, d.ID, edit(c, rev, "content.draft.discard", act.Reason))
	switch {
	case err == nil:
		return h.f.SetFlash(c, "ok", "Discarded the draft of "+d.Kind+" "+d.ID+"; the published version is unchanged.", docURL(d.Kind, d.ID))
	case errors.Is(err, content.ErrStaleRevision):
		act.Problem = fmt.Sprintf("Nothing was discarded: the draft changed after you loaded revision %d (%s). Look at it before discarding.", rev, staleWhat(d))
		return h.render(c, http.StatusConflict, d, func(p *DocPage) { p.Discard = act })
	case errors.Is(err, content.ErrNoDraft):
		return h.f.SetFlash(c, "error", "There is no draft to discard.", docURL(d.Kind, d.ID))
	case errors.Is(err, content.ErrNotFound):
		return fiber.NewError(http.StatusNotFound, "no "+d.Kind+" document "+d.ID)
	}
	return err
}

// VersionPage is one published version of a document.
type VersionPage struct {
	Kind, ID string
	Version  content.Version
	Current  int // the document's published version now
	View     *View
	CanEdit  bool
}

func (h *handler) version(c *fiber.Ctx) error {
	d, err := h.load(c)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Params("version"))
	if err != nil {
		return fiber.NewError(http.StatusNotFound, "no version "+c.Params("version"))
	}
	vs, err := h.store.Versions(c.UserContext(), d.Kind, d.ID)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Version == n {
			p := VersionPage{Kind: d.Kind, ID: d.ID, Version: v, Current: d.Version, View: h.view(d.Kind, v.Body),
				CanEdit: h.f.Allowed(c, rbac.PermProgressEdit)}
			return frame.Render(c, http.StatusOK, versionPage(h.f.Page(c, d.Kind+" "+d.ID+" version "+itoa(n), "liveops"), p))
		}
	}
	return fiber.NewError(http.StatusNotFound, "no version "+itoa(n)+" of "+d.Kind+" "+d.ID)
}

// NewPage is the new-document form.
type NewPage struct {
	Form  EditorForm
	Kinds []string
}

func (h *handler) newDoc(c *fiber.Ctx) error {
	form := EditorForm{Form: frame.Form{New: true}, Kind: c.Query("kind"), Body: "{}"}
	if from := c.Query("from"); from != "" && h.known(form.Kind) {
		d, err := h.store.Get(c.UserContext(), form.Kind, from)
		switch {
		case err == nil:
			form.Body = freshEditor(d).Body
		case !errors.Is(err, content.ErrNotFound):
			return err
		}
	}
	return h.renderNew(c, http.StatusOK, form)
}

func (h *handler) renderNew(c *fiber.Ctx, status int, form EditorForm) error {
	return frame.Render(c, status, newPage(h.f.Page(c, "New live-ops document", "liveops"), NewPage{Form: form, Kinds: h.store.Kinds()}))
}

func (h *handler) createDoc(c *fiber.Ctx) error {
	ctx := c.UserContext()
	form := editorOf(c)
	form.New, form.Revision = true, 0
	switch {
	case !h.known(form.Kind):
		form.Fail("kind", "Choose a kind.")
	case !content.ValidID(form.ID):
		form.Fail("id", "Use 1 to 64 lower-case letters, digits, '_', '.' or '-', starting with a letter or digit.")
	default:
		_, err := h.store.Get(ctx, form.Kind, form.ID)
		switch {
		case err == nil:
			form.Fail("id", "A "+form.Kind+" document "+form.ID+" exists already: open it to edit it.")
		case !errors.Is(err, content.ErrNotFound):
			return err
		}
	}
	if form.failed() {
		return h.renderNew(c, http.StatusBadRequest, form)
	}
	_, err := h.store.SaveDraft(ctx, form.Kind, form.ID, form.Name, json.RawMessage(form.Body), edit(c, 0, "content.draft.save", form.Reason))
	switch {
	case err == nil:
		return h.f.SetFlash(c, "ok", "Created "+form.Kind+" "+form.ID+" as a draft. Review its preview, then publish it.", docURL(form.Kind, form.ID))
	case errors.Is(err, content.ErrStaleRevision):
		form.Fail("id", "A "+form.Kind+" document "+form.ID+" was created meanwhile: open it to edit it.")
		return h.renderNew(c, http.StatusConflict, form)
	case fieldProblem(err, &form):
		return h.renderNew(c, http.StatusBadRequest, form)
	}
	return err
}
