package muster

import (
	"context"
	"net/http"
)

// ProgressionHistory answers GetProgressionHistory, newest first.
type ProgressionHistory struct {
	Events []ProgressionEvent `json:"events"`
}

// UnlockTrees answers ListUnlocks.
type UnlockTrees struct {
	Trees []UnlockTree `json:"trees"`
}

// UnlockRequest names the node of a tree to unlock.
type UnlockRequest struct {
	Tree string `json:"tree"`
	Node string `json:"node"`
}

// GetProgression returns the player's level, XP and prestige.
func (c *Client) GetProgression(ctx context.Context) (*Progression, error) {
	return as[Progression](ctx, c, call{method: http.MethodGet, path: "/v1/me/progression"})
}

// GetProgressionHistory returns the player's latest XP events (limit 0:
// the server's default).
func (c *Client) GetProgressionHistory(ctx context.Context, limit int) (*ProgressionHistory, error) {
	return as[ProgressionHistory](ctx, c, call{method: http.MethodGet, path: "/v1/me/progression/history",
		query: query("limit", limit)})
}

// Prestige starts the next prestige rank at the maximum level (with an
// Idempotency-Key).
func (c *Client) Prestige(ctx context.Context) (*Progression, error) {
	return as[Progression](ctx, c, call{method: http.MethodPost, path: "/v1/me/progression/prestige", idempotencyKey: true})
}

// ListUnlocks returns the unlock trees with the player's progress.
func (c *Client) ListUnlocks(ctx context.Context) (*UnlockTrees, error) {
	return as[UnlockTrees](ctx, c, call{method: http.MethodGet, path: "/v1/me/unlocks"})
}

// Unlock unlocks a node, paying its cost (with an Idempotency-Key).
func (c *Client) Unlock(ctx context.Context, req UnlockRequest) (*Unlocked, error) {
	return as[Unlocked](ctx, c, call{method: http.MethodPost, path: "/v1/me/unlocks", body: req, idempotencyKey: true})
}

// GetBattlePass returns the player's battle pass of season ("" for the
// current one).
func (c *Client) GetBattlePass(ctx context.Context, season string) (*BattlePass, error) {
	return as[BattlePass](ctx, c, call{method: http.MethodGet, path: "/v1/me/battlepass", query: query("season", season)})
}

// UnlockBattlePassPremium buys the premium track of season ("" for the
// current one), with an Idempotency-Key.
func (c *Client) UnlockBattlePassPremium(ctx context.Context, season string) (*BattlePassReceipt, error) {
	return as[BattlePassReceipt](ctx, c, call{method: http.MethodPost, path: "/v1/me/battlepass/premium",
		query: query("season", season), idempotencyKey: true})
}

// BuyBattlePassTiers buys tiers of season ("" for the current one), with
// an Idempotency-Key.
func (c *Client) BuyBattlePassTiers(ctx context.Context, season string, req BattlePassSkipRequest) (*BattlePassReceipt, error) {
	return as[BattlePassReceipt](ctx, c, call{method: http.MethodPost, path: "/v1/me/battlepass/skips",
		query: query("season", season), body: req, idempotencyKey: true})
}

// ListChallenges returns the player's daily and weekly challenges.
func (c *Client) ListChallenges(ctx context.Context) (*Challenges, error) {
	return as[Challenges](ctx, c, call{method: http.MethodGet, path: "/v1/me/challenges"})
}

// RerollChallenge replaces a challenge with another (with an
// Idempotency-Key).
func (c *Client) RerollChallenge(ctx context.Context, id string) (*Reroll, error) {
	return as[Reroll](ctx, c, call{method: http.MethodPost, path: pathf("/v1/me/challenges/%s/reroll", id), idempotencyKey: true})
}
