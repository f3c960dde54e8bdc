// Package staffadmin is where owners manage staff accounts and the
// permissions of each role, and where every staff member manages their own
// second factor. Each change is audited.
package staffadmin

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/staff"
	"github.com/musterhq/muster/web"
)

type handler struct {
	f     *frame.Frame
	db    *sqlx.DB
	staff *staff.Store
	rbac  *rbac.Enforcer
}

// Mount adds /staff, /roles and /account.
func Mount(rt *frame.Router, f *frame.Frame, conn *sqlx.DB, st *staff.Store, enf *rbac.Enforcer) {
	h := &handler{f: f, db: conn, staff: st, rbac: enf}
	rt.Get("/staff", rbac.PermStaffView, h.list)
	rt.Post("/staff", rbac.PermStaffManage, h.create)
	rt.Post("/staff/:id/role", rbac.PermStaffManage, h.setRole)
	rt.Post("/staff/:id/status", rbac.PermStaffManage, h.setStatus)
	rt.Get("/roles", rbac.PermRolesManage, h.roles)
	rt.Post("/roles/:role", rbac.PermRolesManage, h.setPermissions)
	rt.Get("/account", frame.Authenticated, h.account)
	rt.Post("/account/password", frame.Authenticated, h.changePassword)
	rt.Post("/account/totp", frame.Authenticated, h.enroll)
	rt.Post("/account/totp/confirm", frame.Authenticated, h.confirm)
}

func (h *handler) list(c *fiber.Ctx) error {
	return h.renderList(c, http.StatusOK, CreateForm{Role: rbac.RoleSupport})
}

func (h *handler) renderList(c *fiber.Ctx, status int, form CreateForm) error {
	rows, err := h.staff.List(c.UserContext())
	if err != nil {
		return err
	}
	return frame.Render(c, status, list(h.f.Page(c, "Staff", "staff"), rows, h.f.Allowed(c, rbac.PermStaffManage), form))
}

func (h *handler) create(c *fiber.Ctx) error {
	form := CreateForm{Email: strings.TrimSpace(c.FormValue("email")), DisplayName: strings.TrimSpace(web.CleanText(c.FormValue("display_name"), 200)), Role: c.FormValue("role")}
	if !rbac.IsRole(form.Role) {
		form.RoleErr = "Choose a role."
		return h.renderList(c, http.StatusBadRequest, form)
	}
	if form.Role == rbac.RoleOwner && !isOwner(c) {
		form.RoleErr = "Only an owner can make an owner."
		return h.renderList(c, http.StatusForbidden, form)
	}
	password := newPassword()
	err := db.InTx(c.UserContext(), h.db, nil, func(tx *sqlx.Tx) error {
		s, err := h.staff.CreateTx(c.UserContext(), tx, form.Email, form.DisplayName, form.Role, password)
		if err != nil {
			return err
		}
		return frame.Audit(c, tx, audit.Entry{Action: "staff.create", TargetType: "staff", TargetID: itoa(s.ID), After: s})
	})
	switch {
	case err == nil:
		form.Password = password
		return h.renderList(c, http.StatusCreated, form)
	case errors.Is(err, staff.ErrEmailTaken):
		form.EmailErr = "A staff member already uses this email."
	case errors.Is(err, account.ErrInvalidEmail):
		form.EmailErr = "Enter a valid email address."
	case errors.Is(err, staff.ErrInvalidDisplayName):
		form.NameErr = "Enter a name of 1 to 60 characters."
	case errors.Is(err, account.ErrBusy):
		form.EmailErr = "The platform is busy checking other passwords; nobody was added. Try again in a few seconds."
		c.Set(fiber.HeaderRetryAfter, "2")
		return h.renderList(c, http.StatusServiceUnavailable, form)
	default:
		return err
	}
	return h.renderList(c, http.StatusBadRequest, form)
}

func (h *handler) setRole(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.NewError(http.StatusNotFound, "no such staff member")
	}
	role := c.FormValue("role")
	if me, _ := frame.StaffOf(c); me.ID == id {
		return h.f.SetFlash(c, "error", "You cannot change your own role.", "/staff")
	}
	if target, err := h.staff.ByID(c.UserContext(), id); err == nil && (target.Role == rbac.RoleOwner || role == rbac.RoleOwner) && !isOwner(c) {
		return h.staffError(c, errOnlyOwner)
	}
	err = db.InTx(c.UserContext(), h.db, nil, func(tx *sqlx.Tx) error {
		before, after, err := h.staff.SetRoleTx(c.UserContext(), tx, id, role)
		if err != nil {
			return err
		}
		if (before.Role == rbac.RoleOwner || after.Role == rbac.RoleOwner) && !isOwner(c) {
			return errOnlyOwner
		}
		return frame.Audit(c, tx, audit.Entry{Action: "staff.role", TargetType: "staff", TargetID: itoa(id),
			Before: map[string]string{"role": before.Role}, After: map[string]string{"role": after.Role}})
	})
	if err != nil {
		return h.staffError(c, err)
	}
	return h.f.SetFlash(c, "ok", "Role changed to "+role+".", "/staff")
}

func (h *handler) setStatus(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.NewError(http.StatusNotFound, "no such staff member")
	}
	status := c.FormValue("status")
	if me, _ := frame.StaffOf(c); me.ID == id {
		return h.f.SetFlash(c, "error", "You cannot disable yourself.", "/staff")
	}
	if target, err := h.staff.ByID(c.UserContext(), id); err == nil && target.Role == rbac.RoleOwner && !isOwner(c) {
		return h.staffError(c, errOnlyOwner)
	}
	err = db.InTx(c.UserContext(), h.db, nil, func(tx *sqlx.Tx) error {
		before, after, err := h.staff.SetStatusTx(c.UserContext(), tx, id, status)
		if err != nil {
			return err
		}
		if before.Role == rbac.RoleOwner && !isOwner(c) {
			return errOnlyOwner
		}
		return frame.Audit(c, tx, audit.Entry{Action: "staff.status", TargetType: "staff", TargetID: itoa(id),
			Before: map[string]string{"status": before.Status}, After: map[string]string{"status": after.Status}})
	})
	if err != nil {
		return h.staffError(c, err)
	}
	return h.f.SetFlash(c, "ok", "Staff member is now "+status+".", "/staff")
}

// errOnlyOwner: granting, removing or disabling an owner takes an owner,
// so staff:manage alone cannot be used to climb to owner.
var errOnlyOwner = errors.New("only an owner can change an owner or make one")

func isOwner(c *fiber.Ctx) bool {
	me, _ := frame.StaffOf(c)
	return me.Role == rbac.RoleOwner
}

func (h *handler) staffError(c *fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, errOnlyOwner):
		return fiber.NewError(http.StatusForbidden, err.Error())
	case errors.Is(err, staff.ErrNotFound):
		return fiber.NewError(http.StatusNotFound, "no such staff member")
	case errors.Is(err, staff.ErrInvalidRole), errors.Is(err, staff.ErrInvalidStatus):
		return h.f.SetFlash(c, "error", err.Error(), "/staff")
	case errors.Is(err, staff.ErrLastOwner):
		return h.f.SetFlash(c, "error", "The studio must keep at least one active owner.", "/staff")
	}
	return err
}

func (h *handler) roles(c *fiber.Ctx) error {
	perms := map[string][]string{}
	for _, r := range rbac.Roles {
		perms[r] = h.rbac.Permissions(r)
	}
	return frame.Render(c, http.StatusOK, roles(h.f.Page(c, "Roles", "roles"), perms))
}

func (h *handler) setPermissions(c *fiber.Ctx) error {
	role := c.Params("role")
	if !rbac.IsRole(role) {
		return fiber.NewError(http.StatusNotFound, "no role "+role)
	}
	args := c.Request().PostArgs()
	var perms []string
	for _, v := range args.PeekMulti("perm") {
		perms = append(perms, string(v))
	}
	err := h.rbac.SetRolePermissionsWith(c.UserContext(), role, perms, func(tx *sqlx.Tx, before []string) error {
		return frame.Audit(c, tx, audit.Entry{Action: "role.permissions", TargetType: "role", TargetID: role,
			Before: before, After: perms, Reason: strings.TrimSpace(web.CleanText(c.FormValue("reason"), 1000))})
	})
	switch {
	case errors.Is(err, rbac.ErrOwnerLockout):
		return h.f.SetFlash(c, "error", "Owners must keep every permission.", "/roles")
	case errors.Is(err, rbac.ErrInvalidPermission), errors.Is(err, rbac.ErrUnknownRole):
		return h.f.SetFlash(c, "error", err.Error(), "/roles")
	case err != nil:
		return err
	}
	return h.f.SetFlash(c, "ok", "Permissions of "+role+" saved.", "/roles")
}

func (h *handler) account(c *fiber.Ctx) error {
	return frame.Render(c, http.StatusOK, myAccount(h.f.Page(c, "My account", ""), false, "", "", "", PasswordForm{}))
}

func (h *handler) enroll(c *fiber.Ctx) error {
	me, _ := frame.StaffOf(c)
	secret, url, err := h.staff.EnrollTOTP(c.UserContext(), me.ID)
	if errors.Is(err, staff.ErrTOTPAlreadyEnabled) {
		return h.f.SetFlash(c, "error", "Two-factor sign-in is already on.", "/account")
	}
	if err != nil {
		return err
	}
	return frame.Render(c, http.StatusOK, myAccount(h.f.Page(c, "My account", ""), true, secret, url, "", PasswordForm{}))
}

func (h *handler) confirm(c *fiber.Ctx) error {
	me, _ := frame.StaffOf(c)
	err := db.InTx(c.UserContext(), h.db, nil, func(tx *sqlx.Tx) error {
		if err := h.staff.ConfirmTOTPTx(c.UserContext(), tx, me.ID, strings.TrimSpace(c.FormValue("code"))); err != nil {
			return err
		}
		return frame.Audit(c, tx, audit.Entry{Action: "staff.totp.enable", TargetType: "staff", TargetID: itoa(me.ID)})
	})
	switch {
	case errors.Is(err, staff.ErrTOTPAlreadyEnabled):
		return h.f.SetFlash(c, "error", "Two-factor sign-in is already on.", "/account")
	case errors.Is(err, staff.ErrInvalidCode), errors.Is(err, staff.ErrTOTPNotEnrolled):
		return h.f.SetFlash(c, "error", "That code did not match; set up again and enter a fresh code.", "/account")
	case err != nil:
		return err
	}
	return h.f.SetFlash(c, "ok", "Two-factor sign-in is on.", "/account")
}

// changePassword sets the signed-in staff member's password, audited, and
// ends their other console sessions.
func (h *handler) changePassword(c *fiber.Ctx) error {
	me, _ := frame.StaffOf(c)
	err := db.InTx(c.UserContext(), h.db, nil, func(tx *sqlx.Tx) error {
		if err := h.staff.ChangePasswordTx(c.UserContext(), tx, me.ID, c.FormValue("current_password"), c.FormValue("new_password"), c.Cookies(frame.SessionCookie)); err != nil {
			return err
		}
		return frame.Audit(c, tx, audit.Entry{Action: "staff.password", TargetType: "staff", TargetID: itoa(me.ID)})
	})
	var form PasswordForm
	var weak *account.PasswordPolicyError
	switch {
	case err == nil:
		return h.f.SetFlash(c, "ok", "Password changed; your other console sessions have ended.", "/account")
	case errors.Is(err, staff.ErrInvalidCredentials):
		form.CurrentErr = "That is not your current password."
	case errors.Is(err, account.ErrBusy):
		form.CurrentErr = "The platform is busy checking other passwords; nothing was changed. Try again in a few seconds."
		c.Set(fiber.HeaderRetryAfter, "2")
		return frame.Render(c, http.StatusServiceUnavailable, myAccount(h.f.Page(c, "My account", ""), false, "", "", "", form))
	case errors.As(err, &weak):
		form.NewErr = "The new password " + weak.Reason + "."
	default:
		return err
	}
	return frame.Render(c, http.StatusBadRequest, myAccount(h.f.Page(c, "My account", ""), false, "", "", "", form))
}

func newPassword() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func has(list []string, v string) bool { return slices.Contains(list, v) }

func yesNo(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func when(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
