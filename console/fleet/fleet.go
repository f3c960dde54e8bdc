// Package fleet is the console's fleet screen: the dedicated game server
// processes registered with the sessions service, the load of each region,
// and draining a process (it finishes its matches and takes no new ones)
// or putting it back to work. Each drain and resume is audited, with its
// reason, in the change's own transaction.
package fleet

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/web"
)

type handler struct {
	f        *frame.Frame
	registry *fleet.Registry
}

// Mount adds /fleet.
func Mount(rt *frame.Router, f *frame.Frame, registry *fleet.Registry) {
	h := &handler{f: f, registry: registry}
	rt.Get("/fleet", rbac.PermServersManage, h.list)
	rt.Get("/fleet/:id/drain", rbac.PermServersManage, h.confirmDrain)
	rt.Post("/fleet/:id/drain", rbac.PermServersManage, h.drain)
	rt.Post("/fleet/:id/resume", rbac.PermServersManage, h.resume)
}

// Page is the fleet: load by region and the processes, with a region
// filter and, after a refused action, its form.
type Page struct {
	Region    string
	Loads     []fleet.Load
	Instances []fleet.Instance
	Gone      bool // gone processes are listed too
	Action    ActionForm
	Now       time.Time
}

// ActionForm is a drain or resume form as sent, with its error.
type ActionForm struct {
	ID                int64
	Reason, ReasonErr string
}

const reasonRequired = "A reason of 3 to 500 characters is required: the audit log keeps it."

func (h *handler) list(c *fiber.Ctx) error {
	return h.render(c, http.StatusOK, Page{Region: strings.TrimSpace(c.Query("region")), Gone: c.Query("gone") == "1"})
}

func (h *handler) render(c *fiber.Ctx, status int, p Page) error {
	var err error
	ctx := c.UserContext()
	if p.Loads, err = h.registry.Loads(ctx); err != nil {
		return err
	}
	if p.Instances, err = h.registry.List(ctx, fleet.Filter{Region: p.Region, Gone: p.Gone}); err != nil {
		return err
	}
	p.Now = time.Now()
	return frame.Render(c, status, page(h.f.Page(c, "Fleet", "fleet"), p))
}

// Confirm is the page that asks before a drain: the process, what it
// hosts, and what its region keeps without it.
type Confirm struct {
	Instance fleet.Instance
	Load     *fleet.Load // the process's region; nil when nothing live is there
	Left     int         // free slots the region keeps on other ready processes
	Form     ActionForm
	Now      time.Time
}

// confirmDrain asks before draining: a drain is undone only by Resume,
// and meanwhile the region has fewer slots for new matches.
func (h *handler) confirmDrain(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return fiber.NewError(http.StatusNotFound, "no game server process "+c.Params("id"))
	}
	return h.renderConfirm(c, http.StatusOK, id, ActionForm{ID: id})
}

func (h *handler) renderConfirm(c *fiber.Ctx, status int, id int64, form ActionForm) error {
	ctx := c.UserContext()
	in, err := h.registry.Get(ctx, id)
	if errors.Is(err, fleet.ErrInstanceNotFound) {
		return fiber.NewError(http.StatusNotFound, "no game server process "+c.Params("id"))
	}
	if err != nil {
		return err
	}
	switch in.State {
	case fleet.StateGone:
		return h.f.SetFlash(c, "error", "That process is gone; nothing to drain.", "/fleet")
	case fleet.StateDraining:
		return h.f.SetFlash(c, "error", in.Address()+" is draining already.", "/fleet?region="+in.Region)
	}
	loads, err := h.registry.Loads(ctx)
	if err != nil {
		return err
	}
	p := Confirm{Instance: in, Form: form, Now: time.Now()}
	for i := range loads {
		if loads[i].Region == in.Region {
			p.Load = &loads[i]
			// The region's free slots on ready processes, less this one's.
			p.Left = max(loads[i].Capacity-loads[i].Allocated-max(in.Capacity-in.Allocated, 0), 0)
		}
	}
	return frame.Render(c, status, confirmPage(h.f.Page(c, "Drain "+in.Address(), "fleet"), p))
}

func (h *handler) drain(c *fiber.Ctx) error  { return h.act(c, "drain") }
func (h *handler) resume(c *fiber.Ctx) error { return h.act(c, "resume") }

// act drains or resumes a process, audited with the staff member's reason.
func (h *handler) act(c *fiber.Ctx, verb string) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return fiber.NewError(http.StatusNotFound, "no game server process "+c.Params("id"))
	}
	form := ActionForm{ID: id, Reason: strings.TrimSpace(web.CleanText(c.FormValue("reason"), 1000))}
	if len(form.Reason) < 3 || len(form.Reason) > 500 {
		form.ReasonErr = reasonRequired
		if verb == "drain" {
			return h.renderConfirm(c, http.StatusBadRequest, id, form)
		}
		return h.render(c, http.StatusBadRequest, Page{Action: form})
	}
	me, _ := frame.StaffOf(c)
	record := func(tx *sqlx.Tx, before, after fleet.Instance) error {
		return frame.Audit(c, tx, audit.Entry{Action: "fleet." + verb, TargetType: "fleet_instance", TargetID: strconv.FormatInt(id, 10),
			Reason: form.Reason, Before: map[string]any{"state": before.State, "address": before.Address(), "region": before.Region},
			After: map[string]any{"state": after.State, "drained_by": after.DrainedBy}})
	}
	var in fleet.Instance
	if verb == "drain" {
		in, err = h.registry.Drain(c.UserContext(), id, me.Email, record)
	} else {
		in, err = h.registry.Resume(c.UserContext(), id, record)
	}
	switch {
	case errors.Is(err, fleet.ErrInstanceNotFound):
		return fiber.NewError(http.StatusNotFound, "no game server process "+c.Params("id"))
	case errors.Is(err, fleet.ErrInstanceGone):
		return h.f.SetFlash(c, "error", "That process is gone; nothing changed.", "/fleet")
	case err != nil:
		return err
	case verb == "drain":
		return h.f.SetFlash(c, "ok", "Draining "+in.Address()+": it finishes its "+strconv.Itoa(in.Allocated)+" match(es) and takes no new ones.", "/fleet")
	}
	return h.f.SetFlash(c, "ok", in.Address()+" takes matches again.", "/fleet")
}

func ago(now, t time.Time) string {
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}

func itoa(n int) string              { return strconv.Itoa(n) }
func i64(n int64) string             { return strconv.FormatInt(n, 10) }
func slots(in fleet.Instance) string { return itoa(in.Allocated) + " / " + itoa(in.Capacity) }

func drainURL(in fleet.Instance) string  { return "/fleet/" + i64(in.ID) + "/drain" }
func resumeURL(in fleet.Instance) string { return "/fleet/" + i64(in.ID) + "/resume" }
