// Package login is the console's sign-in and sign-out.
package login

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/staff"
	"github.com/musterhq/muster/domain/state"
)

type handler struct {
	f       *frame.Frame
	staff   *staff.Store
	limiter state.Limiter
	log     *slog.Logger
}

// Mount adds /login and /logout.
func Mount(rt *frame.Router, f *frame.Frame, st *staff.Store, limiter state.Limiter, log *slog.Logger) {
	h := &handler{f: f, staff: st, limiter: limiter, log: log}
	rt.Get("/login", frame.Public, h.show)
	rt.Post("/login", frame.Public, h.submit)
	rt.Post("/logout", frame.Authenticated, h.logout)
}

func (h *handler) show(c *fiber.Ctx) error {
	if _, ok := frame.StaffOf(c); ok {
		return c.Redirect(safeNext(c.Query("next")), http.StatusSeeOther)
	}
	return frame.Render(c, http.StatusOK, page(Form{CSRF: h.f.LoginCSRF(c), Next: safeNext(c.Query("next"))}))
}

func (h *handler) submit(c *fiber.Ctx) error {
	form := Form{CSRF: h.f.LoginCSRF(c), Email: strings.TrimSpace(c.FormValue("email")), Next: safeNext(c.FormValue("next"))}
	fail := func(status int, msg string) error {
		form.Error = msg
		return frame.Render(c, status, page(form))
	}
	if !h.f.CheckLoginCSRF(c) {
		return fail(http.StatusForbidden, "The form expired. Please sign in again.")
	}
	d, err := h.limiter.Allow(c.UserContext(), "console-login:ip:"+c.IP(), 10, time.Minute)
	if err != nil {
		return err
	}
	if !d.Allowed {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(d.RetryAfter.Seconds())+1))
		return fail(http.StatusTooManyRequests, "Too many sign-in attempts from your address. Wait a minute and try again.")
	}
	sess, s, err := h.staff.Login(c.UserContext(), form.Email, c.FormValue("password"), strings.TrimSpace(c.FormValue("totp")),
		c.IP(), string(c.Request().Header.UserAgent()))
	var locked *staff.LockedError
	switch {
	case err == nil:
	case errors.Is(err, staff.ErrTOTPRequired):
		form.NeedTOTP = true
		return fail(http.StatusUnauthorized, "This account uses a second factor.")
	case errors.As(err, &locked):
		return fail(http.StatusForbidden, "Too many failed attempts: this account is locked until "+locked.Until.UTC().Format("15:04 MST")+".")
	case errors.Is(err, staff.ErrDisabled):
		return fail(http.StatusForbidden, "This account is disabled.")
	case errors.Is(err, staff.ErrInvalidCredentials):
		form.NeedTOTP = c.FormValue("totp") != ""
		return fail(http.StatusUnauthorized, "Email, password or code is wrong.")
	case errors.Is(err, account.ErrBusy):
		c.Set(fiber.HeaderRetryAfter, "2")
		return fail(http.StatusServiceUnavailable, "The platform is busy checking other passwords. Wait a few seconds and sign in again.")
	default:
		return err
	}
	h.f.SetSession(c, sess.Token, sess.ExpiresAt)
	h.log.InfoContext(c.UserContext(), "staff signed in", "staff_id", s.ID, "role", s.Role)
	return c.Redirect(form.Next, http.StatusSeeOther)
}

func (h *handler) logout(c *fiber.Ctx) error {
	if err := h.staff.Logout(c.UserContext(), c.Cookies(frame.SessionCookie)); err != nil {
		return err
	}
	h.f.ClearSession(c)
	return c.Redirect("/login", http.StatusSeeOther)
}

// safeNext keeps redirects on the console: a path, never another host.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\") || strings.IndexFunc(next, unicode.IsControl) >= 0 || strings.ContainsRune(next, ' ') {
		return "/"
	}
	return next
}
