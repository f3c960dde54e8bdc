package muster

import (
	"time"
)

// Tokens is a token pair for one session.
type Tokens struct {
	AccessToken      string `json:"access_token"` // JWT (EdDSA) to send as `Authorization: Bearer <access_token>`.
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`         // Seconds until the access token expires.
	RefreshToken     string `json:"refresh_token"`      // Opaque, single-use token for `/v1/auth/refresh` and `/v1/auth/logout`.
	RefreshExpiresIn int    `json:"refresh_expires_in"` // Seconds until the refresh token (and the session, unless refreshed) expires.
	SessionID        string `json:"session_id"`         // The session's id, as in `Session.id`.
}

// Player is a player account as its player sees it.
type Player struct {
	ID          string     `json:"id"`           // Public player id, `p_` and 20 base32 characters; the access token's `sub`.
	DisplayName string     `json:"display_name"` // 3 to 20 letters, digits, `_`, `-` and `.`, starting with a letter or digit.
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`        // Time of the last recorded successful login; null when there is none.
	Identities  []Identity `json:"identities,omitempty"` // The ways to log into the account. Present in the answers of
}

// Identity is one linked way to log in.
type Identity struct {
	Provider           string    `json:"provider"`
	Subject            string    `json:"subject"`                        // The email address (lower-cased) or the SteamID64.
	FamilySharingOwner string    `json:"family_sharing_owner,omitempty"` // Steam only, under family sharing: the SteamID64 of the owner of the
	LinkedAt           time.Time `json:"linked_at"`
}

// Login is the answer to a successful register or login.
type Login struct {
	Player  Player `json:"player"`
	Tokens  Tokens `json:"tokens"`
	Created bool   `json:"created,omitempty"` // Steam login only: true when this login created the account (status
}

// Session is one live login on one device.
type Session struct {
	ID         string    `json:"id"`
	Method     string    `json:"method"` // How the session was opened.
	IP         string    `json:"ip"`     // Client address of the latest login or refresh.
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"` // Time of the latest login or refresh.
	ExpiresAt  time.Time `json:"expires_at"`   // When the session ends unless refreshed before.
	Current    bool      `json:"current"`      // True for the session of the access token used for this request.
}

// LoginRecord is one login attempt in the player's history.
type LoginRecord struct {
	At        time.Time `json:"at"`
	IP        string    `json:"ip"`
	Method    string    `json:"method"`
	Outcome   string    `json:"outcome"` // `success`; `bad_password`; `unknown_account`; `banned` (the account
	UserAgent string    `json:"user_agent"`
	Flags     []string  `json:"flags"` // What about a successful login deserves a second look: `new_ip`
}

type RegisterRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`     // 8 to 128 characters, not the email address or display name, not a
	DisplayName string `json:"display_name"` // 3 to 20 letters, digits, `_`, `-` and `.`, starting with a letter or digit; unique ignoring case.
}

type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type LinkEmailRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"` // 8 to 128 characters, not the email address, not a commonly used password.
}

type SteamTicketRequest struct {
	Ticket string `json:"ticket"` // Steam Web API auth ticket from the game client, hex-encoded.
}

type RefreshTokenRequest struct {
	RefreshToken string `json:"refresh_token"`
}

type PasswordResetRequest struct {
	Email string `json:"email"`
}

type PasswordResetConfirmRequest struct {
	Token       string `json:"token"`        // The one-time token from the reset mail.
	NewPassword string `json:"new_password"` // 8 to 128 characters, not a commonly used password.
}

type DisplayNameRequest struct {
	DisplayName string `json:"display_name"` // 3 to 20 letters, digits, `_`, `-` and `.`, starting with a letter or digit; unique ignoring case.
}

type PasswordChangeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"` // 8 to 128 characters, not the account's email address or display
}
