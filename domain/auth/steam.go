package auth

import (
	"context"
	"errors"
)

// Steam errors. A SteamAuthenticator returns one of these, wrapped with
// detail, so the player is told whether to get a new ticket or try later.
var (
	// ErrSteamTicketInvalid: Steam rejected the ticket (bad, expired, for
	// another app or identity). The client should get a new ticket.
	ErrSteamTicketInvalid = errors.New("steam rejected the auth ticket")
	// ErrSteamUnavailable: Steam did not answer usefully in time (timeout,
	// 5xx, unreadable body). The client may retry later.
	ErrSteamUnavailable = errors.New("steam is unavailable")
	// ErrSteamNotConfigured: no Steam Web API key or app id is set.
	ErrSteamNotConfigured = errors.New("steam login is not configured")
)

// SteamTicket is what Steam says about a valid auth ticket.
type SteamTicket struct {
	SteamID         string // SteamID64 of the player
	OwnerSteamID    string // owner of the game licence; differs under family sharing
	VACBanned       bool
	PublisherBanned bool
}

// SteamAuthenticator checks a client's Web API auth ticket (hex) with Steam.
type SteamAuthenticator interface {
	AuthenticateTicket(ctx context.Context, ticketHex string) (SteamTicket, error)
}
