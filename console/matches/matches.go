// Package matches is the console's match screen: recent matches with the
// quarantined ones first, each match's roster, reported result and the
// reason it waits for review, and the reviewers' release or discard of a
// quarantined result, each with a reason and an audit row written in the
// review's own transaction.
package matches

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/web"
)

type handler struct {
	f       *frame.Frame
	matches *match.Store
	db      *sqlx.DB // reads the published modes
}

// Mount adds /matches. conn reads the match modes, to show what a release
// would give and which stats are above their bounds.
func Mount(rt *frame.Router, f *frame.Frame, matches *match.Store, conn *sqlx.DB) {
	h := &handler{f: f, matches: matches, db: conn}
	rt.Get("/matches", rbac.PermMatchesView, h.list)
	rt.Get("/matches/:id", rbac.PermMatchesView, h.show)
	rt.Post("/matches/:id/release", rbac.PermMatchesReview, h.release)
	rt.Post("/matches/:id/discard", rbac.PermMatchesReview, h.discard)
}

// Statuses are the match statuses the list filters by, "" for all.
var Statuses = []string{"", match.StatusQuarantined, match.StatusOpen, match.StatusAccepted, match.StatusDiscarded}

// How many matches the list shows.
const (
	reviewRows = 200
	recentRows = 100
)

// List is the match list: those waiting for review, then the most recent.
type List struct {
	Quarantined []match.Match
	Status      string
	Recent      []match.Match
}

func (h *handler) list(c *fiber.Ctx) error {
	ctx := c.UserContext()
	l := List{Status: c.Query("status")}
	if !slices.Contains(Statuses, l.Status) {
		l.Status = ""
	}
	var err error
	if l.Quarantined, err = h.matches.List(ctx, match.StatusQuarantined, reviewRows); err != nil {
		return err
	}
	// The longest-waiting first.
	sort.SliceStable(l.Quarantined, func(i, j int) bool { return reported(l.Quarantined[i]).Before(reported(l.Quarantined[j])) })
	if l.Recent, err = h.matches.List(ctx, l.Status, recentRows); err != nil {
		return err
	}
	return frame.Render(c, http.StatusOK, listPage(h.f.Page(c, "Matches", "matches"), l))
}

func reported(m match.Match) time.Time {
	if m.ReportedAt != nil {
		return *m.ReportedAt
	}
	return m.StartedAt
}

// PlayerRow is one player's reported result, with what a release would
// give and which stats are above the mode's bounds.
type PlayerRow struct {
	match.PlayerResult
	XP   int64
	Over map[string]bool
}

// Page is one match.
type Page struct {
	Match     match.Match
	Result    *match.Result // nil while open
	ResultErr string
	Mode      *match.Mode // nil when the mode is not published
	Stats     []string    // the stat columns the result has
	Classes   []string    // the weapon classes the result has
	Players   []PlayerRow
	CanReview bool // the staff member may review and the match waits for it
	Form      ReviewForm
}

// ReviewForm is the release or discard form as sent, with its errors.
type ReviewForm struct {
	Decision                   string // release or discard
	Reason, ReasonErr, Problem string
}

func (h *handler) show(c *fiber.Ctx) error {
	m, err := h.load(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, m, ReviewForm{})
}

func (h *handler) load(c *fiber.Ctx) (match.Match, error) {
	m, err := h.matches.Get(c.UserContext(), c.Params("id"))
	if errors.Is(err, match.ErrMatchNotFound) {
		return match.Match{}, fiber.NewError(http.StatusNotFound, "no match "+c.Params("id"))
	}
	return m, err
}

func (h *handler) render(c *fiber.Ctx, status int, m match.Match, form ReviewForm) error {
	p := Page{Match: m, Form: form, CanReview: m.Status == match.StatusQuarantined && h.f.Allowed(c, rbac.PermMatchesReview)}
	mode, err := match.LoadMode(c.UserContext(), h.db, m.Mode)
	switch {
	case err == nil:
		p.Mode = &mode
	case !errors.Is(err, match.ErrUnknownMode):
		return err
	}
	if len(m.Result) > 0 {
		var res match.Result
		if err := json.Unmarshal(m.Result, &res); err != nil {
			p.ResultErr = "The stored result cannot be read: " + err.Error()
		} else {
			p.Result = &res
			p.Stats, p.Classes, p.Players = rows(res, p.Mode)
		}
	}
	return frame.Render(c, status, matchPage(h.f.Page(c, "Match "+m.ID, "matches"), p))
}

// rows lays out a result: its stat and weapon class columns, and each
// player by placement.
func rows(res match.Result, mode *match.Mode) (stats, classes []string, out []PlayerRow) {
	seenStat, seenClass := map[string]bool{}, map[string]bool{}
	for _, p := range res.Players {
		row := PlayerRow{PlayerResult: p, Over: map[string]bool{}}
		for k, v := range p.Stats {
			if !seenStat[k] {
				seenStat[k] = true
				stats = append(stats, k)
			}
			if mode != nil {
				if b, ok := mode.Bounds[k]; ok && v > b {
					row.Over[k] = true
				}
			}
		}
		for k := range p.KillsByClass {
			if !seenClass[k] {
				seenClass[k] = true
				classes = append(classes, k)
			}
		}
		if mode != nil {
			row.XP = mode.XPFor(p)
		}
		out = append(out, row)
	}
	order := match.Stats()
	sort.Slice(stats, func(i, j int) bool { return slices.Index(order, stats[i]) < slices.Index(order, stats[j]) })
	sort.Strings(classes)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Placement != out[j].Placement {
			return out[i].Placement < out[j].Placement
		}
		return out[i].Team < out[j].Team
	})
	return stats, classes, out
}

func (h *handler) release(c *fiber.Ctx) error { return h.review(c, true) }
func (h *handler) discard(c *fiber.Ctx) error { return h.review(c, false) }

const reasonRequired = "A reason of 3 to 500 characters is required: the audit log keeps it with the decision."

// review releases or discards a quarantined result.
func (h *handler) review(c *fiber.Ctx, release bool) error {
	m, err := h.load(c)
	if err != nil {
		return err
	}
	form := ReviewForm{Decision: "discard", Reason: strings.TrimSpace(web.CleanText(c.FormValue("reason"), 1000))}
	action, do := "match.discard", h.matches.Discard
	if release {
		form.Decision, action, do = "release", "match.release", h.matches.Release
	}
	if n := len(form.Reason); n < 3 || n > 500 {
		form.ReasonErr = reasonRequired
		return h.render(c, http.StatusBadRequest, m, form)
	}
	me, _ := frame.StaffOf(c)
	_, err = do(c.UserContext(), m.ID, match.Review{Staff: me.Email, Reason: form.Reason, Also: func(tx *sqlx.Tx, before, after match.Match) error {
		return frame.Audit(c, tx, audit.Entry{Action: action, TargetType: "match", TargetID: m.ID, Reason: form.Reason,
			Before: map[string]any{"status": before.Status, "reason": before.Reason, "mode": before.Mode, "players": len(before.Roster)},
			After:  map[string]any{"status": after.Status, "reviewed_by": after.ReviewedBy}})
	}})
	status := http.StatusConflict
	switch {
	case err == nil:
		msg := "Discarded the result of match " + m.ID + ": nobody's progression changes."
		if release {
			msg = "Released the result of match " + m.ID + ": its " + strconv.Itoa(len(m.Roster)) + " players get their XP and rewards shortly."
		}
		return h.f.SetFlash(c, "ok", msg, "/matches/"+m.ID)
	case errors.Is(err, match.ErrMatchNotFound):
		return fiber.NewError(http.StatusNotFound, "no match "+m.ID)
	case errors.Is(err, match.ErrNotQuarantined):
		now, lerr := h.load(c)
		if lerr != nil {
			return lerr
		}
		form.Problem = "Nothing changed: this result is not waiting for review any more (it is " + now.Status + reviewer(now) + ")."
		return h.render(c, status, now, form)
	case errors.Is(err, match.ErrUnknownMode):
		form.Problem = "The result cannot be released: its mode " + m.Mode + " is not published any more, so its XP cannot be computed. Publish the mode again, or discard the result."
	default:
		return err
	}
	return h.render(c, status, m, form)
}

// reviewer says who reviewed a match, when someone did.
func reviewer(m match.Match) string {
	if m.ReviewedBy == "" {
		return ""
	}
	s := ", reviewed by " + m.ReviewedBy
	if m.ReviewedAt != nil {
		s += " at " + when(m.ReviewedAt)
	}
	return s
}

func when(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func itoa(n int) string  { return strconv.Itoa(n) }
func i64(n int64) string { return strconv.FormatInt(n, 10) }

// statusClass badges a match's status by what staff should make of it.
func statusClass(status string) string {
	switch status {
	case match.StatusQuarantined:
		return "badge flag"
	case match.StatusAccepted:
		return "badge active"
	}
	return "badge"
}

func statusLabel(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

func filterURL(s string) string {
	if s == "" {
		return "/matches"
	}
	return "/matches?status=" + s
}
