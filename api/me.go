package api

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/web"
)

func (h *authHandlers) me(c *fiber.Ctx) error {
	a, ids, err := h.svc.Me(c.UserContext(), claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(player(a, ids))
}

func (h *authHandlers) deleteMe(c *fiber.Ctx) error {
	if err := h.svc.Delete(c.UserContext(), claimsOf(c).AccountID); err != nil {
		return fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

type displayNameRequest struct {
	DisplayName string `json:"display_name"`
}

func (h *authHandlers) changeDisplayName(c *fiber.Ctx) error {
	var in displayNameRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("display_name", in.DisplayName); err != nil {
		return err
	}
	a, err := h.svc.ChangeDisplayName(c.UserContext(), claimsOf(c).AccountID, in.DisplayName)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(player(a, nil))
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword sets a new password, ends every session of the account and
// returns a fresh token pair for the caller.
func (h *authHandlers) changePassword(c *fiber.Ctx) error {
	var in passwordRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("current_password", in.CurrentPassword, "new_password", in.NewPassword); err != nil {
		return err
	}
	cl, since := h.queuedClient(c)
	issued, err := h.svc.ChangePassword(c.UserContext(), cl, claimsOf(c).AccountID, in.CurrentPassword, in.NewPassword)
	if err != nil {
		return h.failQueued(c, since, err)
	}
	return c.JSON(tokens(issued))
}

func (h *authHandlers) sessions(c *fiber.Ctx) error {
	claims := claimsOf(c)
	list, err := h.svc.Sessions(c.UserContext(), claims.AccountID)
	if err != nil {
		return fail(c, err)
	}
	out := make([]sessionView, 0, len(list))
	for _, s := range list {
		out = append(out, sessionView{ID: s.ID, Method: s.Method, IP: s.IP, UserAgent: s.UserAgent,
			CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt, ExpiresAt: s.ExpiresAt, Current: s.ID == claims.SessionID})
	}
	return c.JSON(fiber.Map{"sessions": out})
}

func (h *authHandlers) revokeSession(c *fiber.Ctx) error {
	if err := h.svc.RevokeSession(c.UserContext(), claimsOf(c).AccountID, c.Params("id")); err != nil {
		return fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (h *authHandlers) revokeAllSessions(c *fiber.Ctx) error {
	n, err := h.svc.RevokeAllSessions(c.UserContext(), claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(fiber.Map{"revoked": n})
}

func (h *authHandlers) logins(c *fiber.Ctx) error {
	list, err := h.svc.History(c.UserContext(), claimsOf(c).AccountID, 50)
	if err != nil {
		return fail(c, err)
	}
	if list == nil {
		list = []account.LoginRecord{}
	}
	return c.JSON(fiber.Map{"logins": list})
}

func (h *authHandlers) linkSteam(c *fiber.Ctx) error {
	var in steamRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("ticket", in.Ticket); err != nil {
		return err
	}
	if err := h.svc.LinkSteam(c.UserContext(), claimsOf(c).AccountID, in.Ticket); err != nil {
		return fail(c, err)
	}
	return h.me(c)
}

func (h *authHandlers) linkEmail(c *fiber.Ctx) error {
	var in loginRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("email", in.Email, "password", in.Password); err != nil {
		return err
	}
	cl, since := h.queuedClient(c)
	if err := h.svc.LinkEmail(c.UserContext(), cl, claimsOf(c).AccountID, in.Email, in.Password); err != nil {
		return h.failQueued(c, since, err)
	}
	return h.me(c)
}

func (h *authHandlers) unlink(c *fiber.Ctx) error {
	provider := c.Params("provider")
	if provider != account.ProviderEmail && provider != account.ProviderSteam {
		return web.NewError(http.StatusNotFound, web.CodeNotFound, "no identity provider "+provider+"; use email or steam")
	}
	if err := h.svc.Unlink(c.UserContext(), claimsOf(c).AccountID, provider); err != nil {
		return fail(c, err)
	}
	return h.me(c)
}
