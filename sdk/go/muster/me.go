package muster

import (
	"context"
	"net/http"
)

// SessionList answers ListSessions.
type SessionList struct {
	Sessions []Session `json:"sessions"`
}

// RevokedSessions answers RevokeAllSessions.
type RevokedSessions struct {
	Revoked int `json:"revoked"`
}

// LoginList answers ListLogins: the latest login attempts, newest first.
type LoginList struct {
	Logins []LoginRecord `json:"logins"`
}

// GetMe returns the player's account with its identities.
func (c *Client) GetMe(ctx context.Context) (*Player, error) {
	return as[Player](ctx, c, call{method: http.MethodGet, path: "/v1/me"})
}

// DeleteMe deletes the player's account; the client forgets the session.
func (c *Client) DeleteMe(ctx context.Context) error {
	if err := c.player(ctx, &call{method: http.MethodDelete, path: "/v1/me"}); err != nil {
		return err
	}
	c.forget("")
	return nil
}

// ChangeDisplayName renames the player.
func (c *Client) ChangeDisplayName(ctx context.Context, req DisplayNameRequest) (*Player, error) {
	return as[Player](ctx, c, call{method: http.MethodPut, path: "/v1/me/display-name", body: req})
}

// ChangePassword changes the password; the other sessions end and the
// client holds the new pair of this one.
func (c *Client) ChangePassword(ctx context.Context, req PasswordChangeRequest) (*Tokens, error) {
	t, err := as[Tokens](ctx, c, call{method: http.MethodPut, path: "/v1/me/password", body: req, once: true, queued: true})
	if err != nil {
		return nil, err
	}
	c.store(*t)
	return t, nil
}

// ListSessions lists the player's live sessions.
func (c *Client) ListSessions(ctx context.Context) (*SessionList, error) {
	return as[SessionList](ctx, c, call{method: http.MethodGet, path: "/v1/me/sessions"})
}

// RevokeAllSessions ends every session of the player, this one included:
// the client forgets it.
func (c *Client) RevokeAllSessions(ctx context.Context) (*RevokedSessions, error) {
	out, err := as[RevokedSessions](ctx, c, call{method: http.MethodDelete, path: "/v1/me/sessions"})
	if err == nil {
		c.forget("")
	}
	return out, err
}

// RevokeSession ends one of the player's sessions.
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	return c.player(ctx, &call{method: http.MethodDelete, path: pathf("/v1/me/sessions/%s", id)})
}

// ListLogins lists the player's latest login attempts.
func (c *Client) ListLogins(ctx context.Context) (*LoginList, error) {
	return as[LoginList](ctx, c, call{method: http.MethodGet, path: "/v1/me/logins"})
}

// LinkSteam adds a Steam identity to the account.
func (c *Client) LinkSteam(ctx context.Context, req SteamTicketRequest) (*Player, error) {
	return as[Player](ctx, c, call{method: http.MethodPost, path: "/v1/me/identities/steam", body: req})
}

// LinkEmail adds an email identity with a password to the account.
func (c *Client) LinkEmail(ctx context.Context, req LinkEmailRequest) (*Player, error) {
	return as[Player](ctx, c, call{method: http.MethodPost, path: "/v1/me/identities/email", body: req, queued: true})
}

// UnlinkIdentity removes the identity of provider ("email" or "steam").
func (c *Client) UnlinkIdentity(ctx context.Context, provider string) (*Player, error) {
	return as[Player](ctx, c, call{method: http.MethodDelete, path: pathf("/v1/me/identities/%s", provider)})
}
