package api

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/web"
)

type registerRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

func (h *authHandlers) register(c *fiber.Ctx) error {
	var in registerRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("email", in.Email, "password", in.Password, "display_name", in.DisplayName); err != nil {
		return err
	}
	cl, since := h.queuedClient(c)
	a, issued, err := h.svc.Register(c.UserContext(), cl, in.Email, in.Password, in.DisplayName)
	if err != nil {
		return h.failQueued(c, since, err)
	}
	return c.Status(http.StatusCreated).JSON(loginView{Player: player(a, nil), Tokens: tokens(issued)})
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (h *authHandlers) loginEmail(c *fiber.Ctx) error {
	var in loginRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("email", in.Email, "password", in.Password); err != nil {
		return err
	}
	cl, since := h.queuedClient(c)
	a, issued, err := h.svc.LoginEmail(c.UserContext(), cl, in.Email, in.Password)
	if err != nil {
		return h.failQueued(c, since, err)
	}
	return c.JSON(loginView{Player: player(a, nil), Tokens: tokens(issued)})
}

type steamRequest struct {
	Ticket string `json:"ticket"`
}

func (h *authHandlers) loginSteam(c *fiber.Ctx) error {
	var in steamRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("ticket", in.Ticket); err != nil {
		return err
	}
	a, issued, created, err := h.svc.LoginSteam(c.UserContext(), client(c), in.Ticket)
	if err != nil {
		return fail(c, err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.Status(status).JSON(loginView{Player: player(a, nil), Tokens: tokens(issued), Created: &created})
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (h *authHandlers) refresh(c *fiber.Ctx) error {
	var in refreshRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("refresh_token", in.RefreshToken); err != nil {
		return err
	}
	issued, err := h.svc.Refresh(c.UserContext(), client(c), in.RefreshToken)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(tokens(issued))
}

func (h *authHandlers) logout(c *fiber.Ctx) error {
	var in refreshRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("refresh_token", in.RefreshToken); err != nil {
		return err
	}
	if err := h.svc.Logout(c.UserContext(), in.RefreshToken); err != nil {
		return fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

type resetRequest struct {
	Email string `json:"email"`
}

func (h *authHandlers) requestReset(c *fiber.Ctx) error {
	var in resetRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("email", in.Email); err != nil {
		return err
	}
	if err := h.svc.RequestReset(c.UserContext(), client(c), in.Email); err != nil {
		return fail(c, err)
	}
	return c.Status(http.StatusAccepted).JSON(fiber.Map{"status": "if the address is registered, a reset mail is on its way"})
}

type resetConfirmRequest struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

func (h *authHandlers) confirmReset(c *fiber.Ctx) error {
	var in resetConfirmRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("token", in.Token, "new_password", in.NewPassword); err != nil {
		return err
	}
	cl, since := h.queuedClient(c)
	if err := h.svc.ConfirmReset(c.UserContext(), cl, in.Token, in.NewPassword); err != nil {
		return h.failQueued(c, since, err)
	}
	return c.SendStatus(http.StatusNoContent)
}
