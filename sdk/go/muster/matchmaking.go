package muster

import (
	"context"
	"net/http"
)

// GetMatchmakingTicket returns the player's ticket (Ticket nil when none).
func (c *Client) GetMatchmakingTicket(ctx context.Context) (*TicketAnswer, error) {
	return as[TicketAnswer](ctx, c, call{method: http.MethodGet, path: "/v1/me/matchmaking"})
}

// JoinMatchmaking queues the player, or their party (leader only).
func (c *Client) JoinMatchmaking(ctx context.Context, req QueueJoin) (*TicketAnswer, error) {
	return as[TicketAnswer](ctx, c, call{method: http.MethodPost, path: "/v1/me/matchmaking", body: req})
}

// CancelMatchmaking leaves the queue.
func (c *Client) CancelMatchmaking(ctx context.Context) (*TicketAnswer, error) {
	return as[TicketAnswer](ctx, c, call{method: http.MethodDelete, path: "/v1/me/matchmaking"})
}

// GetMyMatch returns the player's live match on a dedicated server, to
// connect again after a disconnect.
func (c *Client) GetMyMatch(ctx context.Context) (*PlayerMatch, error) {
	return as[PlayerMatch](ctx, c, call{method: http.MethodGet, path: "/v1/me/match"})
}
