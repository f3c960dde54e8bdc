package api

import (
	"strings"
	"time"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/web"
)

// tokensView is the token pair a login, register or refresh returns.
type tokensView struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
	SessionID        string `json:"session_id"`
}

func tokens(i session.Issued) tokensView {
	now := time.Now()
	return tokensView{
		AccessToken: i.AccessToken, TokenType: "Bearer", ExpiresIn: int(i.AccessExpiresAt.Sub(now).Seconds()),
		RefreshToken: i.RefreshToken, RefreshExpiresIn: int(i.RefreshExpiresAt.Sub(now).Seconds()), SessionID: i.SessionID,
	}
}

type identityView struct {
	Provider string    `json:"provider"`
	Subject  string    `json:"subject"`
	Owner    string    `json:"family_sharing_owner,omitempty"`
	LinkedAt time.Time `json:"linked_at"`
}

type playerView struct {
	ID          string         `json:"id"`
	DisplayName string         `json:"display_name"`
	Status      string         `json:"status"`
	CreatedAt   time.Time      `json:"created_at"`
	LastLoginAt *time.Time     `json:"last_login_at"`
	Identities  []identityView `json:"identities,omitempty"`
}

func player(a account.Account, ids []account.Identity) playerView {
	v := playerView{ID: a.PublicID, DisplayName: a.DisplayName, Status: string(a.Status), CreatedAt: a.CreatedAt, LastLoginAt: a.LastLoginAt}
	for _, id := range ids {
		v.Identities = append(v.Identities, identityView{Provider: id.Provider, Subject: id.Subject, Owner: id.OwnerSubject, LinkedAt: id.CreatedAt})
	}
	return v
}

type loginView struct {
	Player  playerView `json:"player"`
	Tokens  tokensView `json:"tokens"`
	Created *bool      `json:"created,omitempty"`
}

type sessionView struct {
	ID         string    `json:"id"`
	Method     string    `json:"method"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

// require answers 400 naming the first empty field.
func require(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if strings.TrimSpace(fields[i+1]) == "" {
			return web.BadRequest(fields[i] + " is required")
		}
	}
	return nil
}
