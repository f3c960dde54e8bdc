// Package frame is what every console screen shares: staff sessions from
// the cookie, CSRF tokens, security headers, flash messages, the route
// registry that ties each route to a permission, and the page layout.
package frame

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/staff"
)

// Cookie names.
const (
	SessionCookie    = "muster_console"
	loginCSRFCookie  = "muster_login_csrf"
	flashCookie      = "muster_flash"
	csrfField        = "_csrf"
	localStaff       = "console.staff"
	localSessionCSRF = "console.csrf"
)

// Public marks a route anyone may reach (the login page, static assets).
const Public = "public"

// Authenticated marks a route any signed-in staff member may reach (their
// own account page, logout).
const Authenticated = "authenticated"

// Frame holds what the middleware needs.
type Frame struct {
	staff  *staff.Store
	rbac   *rbac.Enforcer
	log    *slog.Logger
	secure bool
	rules  map[string]string
}

// New returns the frame for a console app. secure sets the Secure flag on
// cookies (off only in development, which serves plain HTTP).
func New(st *staff.Store, enf *rbac.Enforcer, log *slog.Logger, secure bool) *Frame {
	return &Frame{staff: st, rbac: enf, log: log, secure: secure, rules: map[string]string{}}
}

// Headers sets a strict Content-Security-Policy and the other headers every
// console response carries. The console has no inline script or style.
func (f *Frame) Headers() fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("X-Frame-Options", "DENY")
		c.Set("Referrer-Policy", "same-origin")
		c.Set("Cache-Control", "no-store")
		return c.Next()
	}
}

// LoadSession reads the session cookie and, when it is valid, makes the
// staff member and their CSRF token available to handlers.
func (f *Frame) LoadSession() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if token := c.Cookies(SessionCookie); token != "" {
			s, info, err := f.staff.Authenticate(c.UserContext(), token)
			switch {
			case err == nil:
				c.Locals(localStaff, s)
				c.Locals(localSessionCSRF, info.CSRFToken)
			case errors.Is(err, staff.ErrSessionInvalid):
				f.ClearSession(c)
			default:
				return err
			}
		}
		return c.Next()
	}
}

// StaffOf returns the signed-in staff member, if any.
func StaffOf(c *fiber.Ctx) (staff.Staff, bool) {
	s, ok := c.Locals(localStaff).(staff.Staff)
	return s, ok
}

// Allowed reports whether the signed-in staff member holds permission.
func (f *Frame) Allowed(c *fiber.Ctx, permission string) bool {
	s, ok := StaffOf(c)
	return ok && f.rbac.Allowed(s.Role, permission)
}

// guard enforces a route's rule: public, any signed-in staff, or a
// permission. State-changing requests also need the CSRF token.
func (f *Frame) guard(rule string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if rule == Public {
			return c.Next()
		}
		s, ok := StaffOf(c)
		if !ok {
			if c.Method() == http.MethodGet {
				return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), http.StatusSeeOther)
			}
			return fiber.NewError(http.StatusUnauthorized, "sign in again: your session has ended")
		}
		if c.Method() != http.MethodGet && c.Method() != http.MethodHead {
			want, _ := c.Locals(localSessionCSRF).(string)
			if !equal(c.FormValue(csrfField), want) {
				return fiber.NewError(http.StatusForbidden, "the form is missing its security token; reload the page and try again")
			}
		}
		if rule != Authenticated && !f.rbac.Allowed(s.Role, rule) {
			f.log.WarnContext(c.UserContext(), "console access denied", "staff_id", s.ID, "role", s.Role, "permission", rule, "path", c.Path())
			return fiber.NewError(http.StatusForbidden, "your role ("+s.Role+") does not allow this ("+rule+")")
		}
		return c.Next()
	}
}

// Router registers console routes, each with its rule.
type Router struct {
	f *Frame
	r fiber.Router
}

// Router wraps r so every route it adds carries a rule.
func (f *Frame) Router(r fiber.Router) *Router { return &Router{f: f, r: r} }

// Get adds a GET route allowed by rule.
func (rt *Router) Get(path, rule string, h fiber.Handler) { rt.add(http.MethodGet, path, rule, h) }

// Post adds a POST route allowed by rule.
func (rt *Router) Post(path, rule string, h fiber.Handler) { rt.add(http.MethodPost, path, rule, h) }

func (rt *Router) add(method, path, rule string, h fiber.Handler) {
	if rule == "" {
		panic("console: route " + method + " " + path + " has no rule")
	}
	rt.f.rules[method+" "+path] = rule
	rt.r.Add(method, path, rt.f.guard(rule), h)
}

// Rules lists every registered route ("GET /players") with its rule, sorted.
func (f *Frame) Rules() []string {
	out := make([]string, 0, len(f.rules))
	for route, rule := range f.rules {
		out = append(out, route+" "+rule)
	}
	sort.Strings(out)
	return out
}

// Rule returns the rule of a route, or "" when it has none.
func (f *Frame) Rule(method, path string) string { return f.rules[method+" "+path] }

// SetSession stores a new session cookie.
func (f *Frame) SetSession(c *fiber.Ctx, token string, expires time.Time) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HTTPOnly: true, Secure: f.secure, SameSite: fiber.CookieSameSiteStrictMode})
}

// ClearSession removes the session cookie.
func (f *Frame) ClearSession(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", Expires: time.Unix(0, 0), MaxAge: -1,
		HTTPOnly: true, Secure: f.secure, SameSite: fiber.CookieSameSiteStrictMode})
}

// LoginCSRF returns the token for the login form, setting its cookie: the
// form must send back what the cookie holds (double submit), so another site
// cannot sign a browser in.
func (f *Frame) LoginCSRF(c *fiber.Ctx) string {
	token := c.Cookies(loginCSRFCookie)
	if len(token) < 20 {
		token = randomToken()
		c.Cookie(&fiber.Cookie{Name: loginCSRFCookie, Value: token, Path: "/login", HTTPOnly: true, Secure: f.secure,
			SameSite: fiber.CookieSameSiteStrictMode, Expires: time.Now().Add(time.Hour)})
	}
	return token
}

// CheckLoginCSRF reports whether the login form carried its token.
func (f *Frame) CheckLoginCSRF(c *fiber.Ctx) bool {
	cookie := c.Cookies(loginCSRFCookie)
	return len(cookie) >= 20 && equal(c.FormValue(csrfField), cookie)
}

// CSRF returns the signed-in staff member's CSRF token for forms.
func CSRF(c *fiber.Ctx) string {
	t, _ := c.Locals(localSessionCSRF).(string)
	return t
}

// Flash is a one-time message shown on the next page.
type Flash struct {
	Kind    string // ok or error
	Message string
}

// SetFlash stores a message for the next page and redirects there.
func (f *Frame) SetFlash(c *fiber.Ctx, kind, message, to string) error {
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(kind + "|" + message)),
		Path: "/", HTTPOnly: true, Secure: f.secure, SameSite: fiber.CookieSameSiteStrictMode, Expires: time.Now().Add(time.Minute)})
	return c.Redirect(to, http.StatusSeeOther)
}

// TakeFlash returns and clears the pending message.
func (f *Frame) TakeFlash(c *fiber.Ctx) *Flash {
	raw := c.Cookies(flashCookie)
	if raw == "" {
		return nil
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/", Expires: time.Unix(0, 0), MaxAge: -1, HTTPOnly: true, Secure: f.secure})
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(string(b), "|")
	if !ok || (kind != "ok" && kind != "error") {
		return nil
	}
	return &Flash{Kind: kind, Message: msg}
}

// Render writes a templ component as the HTML response.
func Render(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Status(status)
	c.Type("html", "utf-8")
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}

func equal(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
