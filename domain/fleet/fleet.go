// Package fleet is the sessions service: the dedicated game servers that
// host matches, and the way a formed match reaches one of them.
//
// A game server process registers as an instance with its game server
// credential (match.Servers; one credential may run many processes): its
// fleet, region, address, capacity (matches it hosts at once), version and
// labels. It heartbeats every HeartbeatEvery; an instance silent for
// HeartbeatTimeout gets no new match at once, and the sweeper then marks it
// gone and its live matches lost. Staff drain an instance: it finishes its
// matches and takes no new ones.
//
// The matchmaker's formed matches (matchmaking.TopicFormed) reach Sessions'
// consumer, which asks an Allocator for a server (the Registry, or Agones),
// opens the match for that server's credential (so results from any other
// server are refused), and sends each player a stored "match.found"
// notification with where to connect. A match no server can take is tried
// again with backoff until AllocateWithin has passed, and then goes back to
// the matchmaker as matchmaking.TopicAllocationFailed.
package fleet

import (
	"errors"
	"time"
)

// Errors of this package.
var (
	ErrInvalid          = errors.New("invalid game server registration")
	ErrInstanceNotFound = errors.New("no such game server instance")
	ErrInstanceGone     = errors.New("the game server instance is gone: register again")
	ErrAddressInUse     = errors.New("another game server credential has a live instance at this address")
	ErrNoCapacity       = errors.New("no game server can take the match now")
	ErrAllocator        = errors.New("the allocator did not answer")
	ErrNotAllocated     = errors.New("no allocation for this match")
	ErrAllocationOver   = errors.New("the match's allocation is over")
	ErrNoLiveMatch      = errors.New("the player is in no live match")
)

// Instance states. StateBusy is not stored: a ready instance is busy while
// every slot of its capacity holds a match.
const (
	StateReady    = "ready"
	StateBusy     = "busy"
	StateDraining = "draining"
	StateGone     = "gone"
)

// Allocation states.
const (
	AllocPending   = "pending"   // waiting for a server, retried with backoff
	AllocAllocated = "allocated" // on a server; players told where to connect
	AllocEnded     = "ended"     // results accepted, the server ended it, or it expired
	AllocLost      = "lost"      // its server went silent or deregistered
	AllocFailed    = "failed"    // no server in time, or the match could not open
)

// Reasons an allocation failed, sent to the matchmaker in
// matchmaking.AllocationFailed.
const (
	ReasonNoServer     = "no_server"             // no server could take it within AllocateWithin
	ReasonAllocator    = "allocator_unavailable" // the allocator kept failing (Agones unreachable, refusing)
	ReasonInvalidMatch = "invalid_match"         // the match could not be opened (unknown mode, players)
)

// Notification kinds sent to players.
const (
	// KindMatchFound tells a player where their match is (FoundPayload).
	KindMatchFound = "match.found"
	// KindMatchLost tells a player their match's server went away
	// (LostPayload).
	KindMatchLost = "match.lost"
)

// FoundPayload is the payload of a KindMatchFound notification.
type FoundPayload struct {
	MatchID string `json:"match_id"`
	Queue   string `json:"queue"`
	Mode    string `json:"mode"`
	Region  string `json:"region"`
	Address string `json:"address"` // host name or IP of the game server
	Port    int    `json:"port"`
	Team    int    `json:"team"` // 1-based
}

// LostPayload is the payload of a KindMatchLost notification.
type LostPayload struct {
	MatchID string `json:"match_id"`
	Reason  string `json:"reason"`
}

// Config tunes the registry and the sweeper. Zero values take the defaults
// shown.
type Config struct {
	// HeartbeatEvery is how often instances are asked to heartbeat: 5s.
	HeartbeatEvery time.Duration
	// HeartbeatTimeout is how long an instance may be silent before it gets
	// no new match and the sweeper marks it gone: 15s.
	HeartbeatTimeout time.Duration
	// Retention is how long gone instances and finished allocations are
	// kept: 7 days.
	Retention time.Duration
}

func (c Config) withDefaults() Config {
	if c.HeartbeatEvery <= 0 {
		c.HeartbeatEvery = 5 * time.Second
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = 15 * time.Second
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	return c
}
