package muster

import (
	"context"
	"net/http"
)

// ListNotificationsParams page and filter ListNotifications.
type ListNotificationsParams struct {
	Before int64 // NextBefore of the previous page
	Limit  int
	Unread bool // only unread notifications
}

// MarkedRead answers MarkNotificationsRead.
type MarkedRead struct {
	Marked      int64 `json:"marked"`
	UnreadCount int   `json:"unread_count"`
}

// ListNotifications returns a page of the player's stored notifications,
// newest first.
func (c *Client) ListNotifications(ctx context.Context, p ListNotificationsParams) (*NotificationList, error) {
	return as[NotificationList](ctx, c, call{method: http.MethodGet, path: "/v1/me/notifications",
		query: query("before", p.Before, "limit", p.Limit, "unread", p.Unread)})
}

// MarkNotificationsRead marks notifications read, by seq or by id.
func (c *Client) MarkNotificationsRead(ctx context.Context, req MarkNotificationsReadRequest) (*MarkedRead, error) {
	return as[MarkedRead](ctx, c, call{method: http.MethodPost, path: "/v1/me/notifications/read", body: req, repeatable: true})
}

// GetParty returns the player's party (Party nil when in none).
func (c *Client) GetParty(ctx context.Context) (*PartyAnswer, error) {
	return as[PartyAnswer](ctx, c, call{method: http.MethodGet, path: "/v1/me/party"})
}

// CreateParty creates a party led by the player.
func (c *Client) CreateParty(ctx context.Context, req PartySettings) (*PartyAnswer, error) {
	return as[PartyAnswer](ctx, c, call{method: http.MethodPost, path: "/v1/me/party", body: req})
}

// UpdateParty changes the party's settings (leader only); nil fields stay.
func (c *Client) UpdateParty(ctx context.Context, req PartySettings) (*PartyAnswer, error) {
	return as[PartyAnswer](ctx, c, call{method: http.MethodPatch, path: "/v1/me/party", body: req})
}

// InviteToParty invites a friend to the player's party.
func (c *Client) InviteToParty(ctx context.Context, req PartyPlayer) error {
	return c.player(ctx, &call{method: http.MethodPost, path: "/v1/me/party/invites", body: req})
}

// JoinParty joins a party by id (after an invitation) or invite code.
func (c *Client) JoinParty(ctx context.Context, req PartyJoin) (*PartyAnswer, error) {
	return as[PartyAnswer](ctx, c, call{method: http.MethodPost, path: "/v1/me/party/join", body: req})
}

// LeaveParty leaves the player's party.
func (c *Client) LeaveParty(ctx context.Context) error {
	return c.player(ctx, &call{method: http.MethodPost, path: "/v1/me/party/leave"})
}

// KickFromParty removes a member (leader only).
func (c *Client) KickFromParty(ctx context.Context, req PartyPlayer) error {
	return c.player(ctx, &call{method: http.MethodPost, path: "/v1/me/party/kick", body: req})
}

// PromotePartyMember makes a member the leader (leader only).
func (c *Client) PromotePartyMember(ctx context.Context, req PartyPlayer) error {
	return c.player(ctx, &call{method: http.MethodPost, path: "/v1/me/party/promote", body: req})
}

// StartReadyCheck asks every member to say whether they are ready.
func (c *Client) StartReadyCheck(ctx context.Context) error {
	return c.player(ctx, &call{method: http.MethodPost, path: "/v1/me/party/ready-check"})
}

// SetPartyReady answers the ready check.
func (c *Client) SetPartyReady(ctx context.Context, req PartyReady) error {
	return c.player(ctx, &call{method: http.MethodPost, path: "/v1/me/party/ready", body: req})
}

// SendPartyChat sends a chat line to the party.
func (c *Client) SendPartyChat(ctx context.Context, req PartyChat) error {
	return c.player(ctx, &call{method: http.MethodPost, path: "/v1/me/party/chat", body: req})
}

// ListFriends returns the player's friends, requests both ways and blocks.
func (c *Client) ListFriends(ctx context.Context) (*FriendList, error) {
	return as[FriendList](ctx, c, call{method: http.MethodGet, path: "/v1/me/friends"})
}

// RequestFriend asks another player to be friends (or accepts their
// request).
func (c *Client) RequestFriend(ctx context.Context, req PlayerRef) (*Friend, error) {
	return as[Friend](ctx, c, call{method: http.MethodPost, path: "/v1/me/friends/requests", body: req})
}

// AcceptFriend accepts the friend request of playerID.
func (c *Client) AcceptFriend(ctx context.Context, playerID string) (*Friend, error) {
	return as[Friend](ctx, c, call{method: http.MethodPost, path: pathf("/v1/me/friends/%s/accept", playerID)})
}

// DeclineFriend declines the friend request of playerID.
func (c *Client) DeclineFriend(ctx context.Context, playerID string) error {
	return c.player(ctx, &call{method: http.MethodPost, path: pathf("/v1/me/friends/%s/decline", playerID)})
}

// RemoveFriend ends a friendship or withdraws a request.
func (c *Client) RemoveFriend(ctx context.Context, playerID string) error {
	return c.player(ctx, &call{method: http.MethodDelete, path: pathf("/v1/me/friends/%s", playerID)})
}

// BlockPlayer blocks another player.
func (c *Client) BlockPlayer(ctx context.Context, req PlayerRef) error {
	return c.player(ctx, &call{method: http.MethodPost, path: "/v1/me/blocks", body: req})
}

// UnblockPlayer lifts a block.
func (c *Client) UnblockPlayer(ctx context.Context, playerID string) error {
	return c.player(ctx, &call{method: http.MethodDelete, path: pathf("/v1/me/blocks/%s", playerID)})
}
