package muster

import (
	"context"
	"net/http"
)

// EndAllocationRequest says why a match ended (optional).
type EndAllocationRequest struct {
	Reason string `json:"reason,omitempty"`
}

// RegisterInstance registers a game server process with the fleet.
func (s *ServerClient) RegisterInstance(ctx context.Context, req RegisterInstanceRequest) (*Instance, error) {
	return asServer[Instance](ctx, s, call{method: http.MethodPost, path: "/v1/server/instances", body: req})
}

// HeartbeatInstance keeps the instance live and lists its matches.
func (s *ServerClient) HeartbeatInstance(ctx context.Context, id int64) (*Heartbeat, error) {
	return asServer[Heartbeat](ctx, s, call{method: http.MethodPost, path: pathf("/v1/server/instances/%s/heartbeat", id),
		repeatable: true})
}

// DeregisterInstance takes the instance out of the fleet.
func (s *ServerClient) DeregisterInstance(ctx context.Context, id int64) error {
	return s.server(ctx, &call{method: http.MethodDelete, path: pathf("/v1/server/instances/%s", id)})
}

// GetAllocation returns a match allocated to this server, with its roster.
func (s *ServerClient) GetAllocation(ctx context.Context, matchID string) (*Allocation, error) {
	return asServer[Allocation](ctx, s, call{method: http.MethodGet, path: pathf("/v1/server/allocations/%s", matchID)})
}

// ReportAllocationPlayers reports players who connected and disconnected.
func (s *ServerClient) ReportAllocationPlayers(ctx context.Context, matchID string, req AllocationPlayersRequest) (*Allocation, error) {
	return asServer[Allocation](ctx, s, call{method: http.MethodPost,
		path: pathf("/v1/server/allocations/%s/players", matchID), body: req})
}

// EndAllocation frees the match's slot on the instance.
func (s *ServerClient) EndAllocation(ctx context.Context, matchID string, req EndAllocationRequest) (*Allocation, error) {
	return asServer[Allocation](ctx, s, call{method: http.MethodPost, path: pathf("/v1/server/allocations/%s/end", matchID),
		body: req, repeatable: true})
}

// OpenMatch opens a match the server runs itself (without matchmaking).
func (s *ServerClient) OpenMatch(ctx context.Context, req OpenMatchRequest) (*Match, error) {
	return asServer[Match](ctx, s, call{method: http.MethodPost, path: "/v1/server/matches", body: req})
}

// ReportMatch reports a match's results, once; the same results again
// answer the first outcome (Replayed).
func (s *ServerClient) ReportMatch(ctx context.Context, matchID string, req MatchResultRequest) (*MatchReceipt, error) {
	return asServer[MatchReceipt](ctx, s, call{method: http.MethodPost, path: pathf("/v1/server/matches/%s/result", matchID),
		body: req, repeatable: true})
}
