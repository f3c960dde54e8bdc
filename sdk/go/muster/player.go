package muster

import (
	"context"
	"net/http"
)

// The writes of profiles, loadouts and settings carry the version they
// were read at; a stale one is an *APIError with code stale_version whose
// Body holds the document as it is now (see StaleVersion).

// GetMyProfile returns the player's profile with the game's slots.
func (c *Client) GetMyProfile(ctx context.Context) (*Profile, error) {
	return as[Profile](ctx, c, call{method: http.MethodGet, path: "/v1/me/profile"})
}

// PutMyProfile changes the profile's cosmetics.
func (c *Client) PutMyProfile(ctx context.Context, req ProfileRequest) (*Profile, error) {
	return as[Profile](ctx, c, call{method: http.MethodPut, path: "/v1/me/profile", body: req})
}

// ListMyLoadouts returns the player's loadouts and the game's slots.
func (c *Client) ListMyLoadouts(ctx context.Context) (*Loadouts, error) {
	return as[Loadouts](ctx, c, call{method: http.MethodGet, path: "/v1/me/loadouts"})
}

// PutMyLoadout creates (version 0) or changes the loadout id.
func (c *Client) PutMyLoadout(ctx context.Context, id string, req LoadoutRequest) (*Loadout, error) {
	return as[Loadout](ctx, c, call{method: http.MethodPut, path: pathf("/v1/me/loadouts/%s", id), body: req})
}

// DeleteMyLoadout deletes the loadout id as read at version (0: whatever
// its version).
func (c *Client) DeleteMyLoadout(ctx context.Context, id string, version int) error {
	return c.player(ctx, &call{method: http.MethodDelete, path: pathf("/v1/me/loadouts/%s", id),
		query: query("version", version)})
}

// GetMySettings returns the client settings kept for the player.
func (c *Client) GetMySettings(ctx context.Context) (*Settings, error) {
	return as[Settings](ctx, c, call{method: http.MethodGet, path: "/v1/me/settings"})
}

// PutMySettings replaces the client settings.
func (c *Client) PutMySettings(ctx context.Context, req SettingsRequest) (*Settings, error) {
	return as[Settings](ctx, c, call{method: http.MethodPut, path: "/v1/me/settings", body: req})
}

// GetMyStats returns the player's lifetime stats and those of season (""
// for the current one).
func (c *Client) GetMyStats(ctx context.Context, season string) (*PlayerStats, error) {
	return as[PlayerStats](ctx, c, call{method: http.MethodGet, path: "/v1/me/stats", query: query("season", season)})
}

// GetPlayerProfile returns another player's public profile.
func (c *Client) GetPlayerProfile(ctx context.Context, id string) (*PublicProfile, error) {
	return as[PublicProfile](ctx, c, call{method: http.MethodGet, path: pathf("/v1/players/%s/profile", id)})
}
