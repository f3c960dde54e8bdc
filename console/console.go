// Package console is the studio's browser console: server-rendered pages
// behind staff sign-in, with RBAC on every route, CSRF tokens on every
// form, and an audit row for every change. Each screen lives in its own
// package; frame holds what they share.
package console

import (
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/auditlog"
	"github.com/musterhq/muster/console/catalog"
	"github.com/musterhq/muster/console/dashboard"
	fleetscreen "github.com/musterhq/muster/console/fleet"
	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/console/liveops"
	"github.com/musterhq/muster/console/login"
	"github.com/musterhq/muster/console/matches"
	"github.com/musterhq/muster/console/matchmaking"
	"github.com/musterhq/muster/console/players"
	"github.com/musterhq/muster/console/servers"
	"github.com/musterhq/muster/console/staffadmin"
	storescreens "github.com/musterhq/muster/console/store"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/battlepass"
	content "github.com/musterhq/muster/domain/catalog"
	livecontent "github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/staff"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
	"github.com/musterhq/muster/web/static"
)

// Deps are what the console's screens use.
type Deps struct {
	DB      *sqlx.DB
	Auth    *auth.Service
	Staff   *staff.Store
	RBAC    *rbac.Enforcer
	Limiter state.Limiter
	// The economy: the catalog editor and the player page's inventory and
	// wallets.
	Catalog   *content.Store
	Ledger    *ledger.Ledger
	Inventory *inventory.Store
	// Store: offers, packs, regional prices, orders, refunds and revenue.
	Store *store.Store
	// The metagame: live-ops content (its kinds registered by their
	// packages), match results and their review, game server credentials,
	// and the player page's Progression tab with the player's battle pass
	// (shown only with Progression). A nil store leaves its screens out.
	Content *livecontent.Store
	Matches *match.Store
	Servers *match.Servers
	// Fleet: the game server processes of the sessions service and their
	// drain action (nil leaves the screen out).
	Fleet       *fleet.Registry
	Progression *progression.Store
	BattlePass  *battlepass.Store
	// Previews renders content kinds on the live-ops screens; nil is
	// liveops.DefaultPreviews().
	Previews liveops.Previews
	Log      *slog.Logger
	Secure   bool // Secure cookies; off only in development over plain HTTP
}

// ErrorPage renders errors as console pages rather than JSON.
func ErrorPage(f *frame.Frame) func(c *fiber.Ctx, e *web.Error) error {
	return func(c *fiber.Ctx, e *web.Error) error {
		p := frame.Page{Title: http.StatusText(e.Status)}
		if _, ok := frame.StaffOf(c); ok {
			p = f.Page(c, http.StatusText(e.Status), "")
		}
		return frame.Render(c, e.Status, frame.ErrorPage(p, e.Status, e.Message))
	}
}

// NewFrame returns the frame the console's app and error page share.
func NewFrame(d Deps) *frame.Frame { return frame.New(d.Staff, d.RBAC, d.Log, d.Secure) }

// Mount adds every console route to app, which web.New made with
// ErrorPage(f) as its error page.
func Mount(app *fiber.App, f *frame.Frame, d Deps) {
	app.Use(f.Headers())
	app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static.FS), MaxAge: 3600}))
	app.Use(f.LoadSession())
	rt := f.Router(app)
	login.Mount(rt, f, d.Staff, d.Limiter, d.Log)
	eco := players.Economy{DB: d.DB, Catalog: d.Catalog, Ledger: d.Ledger, Inventory: d.Inventory, Progression: d.Progression,
		BattlePass: d.BattlePass}
	var revenue dashboard.Revenue
	if d.Store != nil {
		sc := storescreens.New(f, d.Auth, d.Catalog, d.Store)
		sc.Mount(rt)
		eco.Purchases, revenue = sc.Purchases, sc.Revenue
	}
	dashboard.Mount(rt, f, d.Auth, revenue)
	players.Mount(rt, f, d.Auth, eco)
	catalog.Mount(rt, f, d.Catalog)
	if d.Content != nil {
		previews := d.Previews
		if previews == nil {
			previews = liveops.DefaultPreviews()
		}
		liveops.Mount(rt, f, d.Content, previews)
	}
	if d.Matches != nil {
		matches.Mount(rt, f, d.Matches, d.DB)
	}
	matchmaking.Mount(rt, f, d.DB)
	if d.Servers != nil {
		servers.Mount(rt, f, d.Servers)
	}
	if d.Fleet != nil {
		fleetscreen.Mount(rt, f, d.Fleet)
	}
	auditlog.Mount(rt, f, d.DB, d.Auth, d.Staff)
	staffadmin.Mount(rt, f, d.DB, d.Staff, d.RBAC)
}
