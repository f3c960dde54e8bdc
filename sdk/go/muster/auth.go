package muster

import (
	"context"
	"net/http"
)

// PasswordResetStarted answers RequestPasswordReset, whether or not the
// address is registered.
type PasswordResetStarted struct {
	Status string `json:"status"`
}

// Register creates an email account and logs it in; the client then holds
// its session.
func (c *Client) Register(ctx context.Context, req RegisterRequest) (*Login, error) {
	return c.login(ctx, &call{method: http.MethodPost, path: "/v1/auth/register", body: req, queued: true})
}

// LoginEmail logs in with email and password; the client then holds the
// new session.
func (c *Client) LoginEmail(ctx context.Context, req LoginRequest) (*Login, error) {
	return c.login(ctx, &call{method: http.MethodPost, path: "/v1/auth/login", body: req, queued: true})
}

// LoginSteam logs in with a Steam auth ticket, creating the account on the
// first login (Login.Created); the client then holds the new session.
func (c *Client) LoginSteam(ctx context.Context, req SteamTicketRequest) (*Login, error) {
	return c.login(ctx, &call{method: http.MethodPost, path: "/v1/auth/steam", body: req})
}

func (c *Client) login(ctx context.Context, cl *call) (*Login, error) {
	var out Login
	cl.out = &out
	if err := c.public(ctx, cl); err != nil {
		return nil, err
	}
	c.store(out.Tokens)
	return &out, nil
}

// Logout ends the session the client holds and forgets it.
func (c *Client) Logout(ctx context.Context) error {
	refresh := c.Tokens().RefreshToken
	if refresh == "" {
		return ErrNoSession
	}
	err := c.public(ctx, &call{method: http.MethodPost, path: "/v1/auth/logout",
		body: RefreshTokenRequest{RefreshToken: refresh}})
	if err == nil || IsCode(err, "invalid_refresh_token") {
		c.forget(refresh)
	}
	return err
}

// RequestPasswordReset mails a reset token to the address if an account
// has it; the answer is the same either way.
func (c *Client) RequestPasswordReset(ctx context.Context, req PasswordResetRequest) (*PasswordResetStarted, error) {
	var out PasswordResetStarted
	if err := c.public(ctx, &call{method: http.MethodPost, path: "/v1/auth/password-reset", body: req, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ConfirmPasswordReset sets a new password with the mailed token; every
// session of the account ends.
func (c *Client) ConfirmPasswordReset(ctx context.Context, req PasswordResetConfirmRequest) error {
	return c.public(ctx, &call{method: http.MethodPost, path: "/v1/auth/password-reset/confirm", body: req, queued: true})
}
