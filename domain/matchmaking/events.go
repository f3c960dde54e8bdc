// Package matchmaking turns players' tickets into matches: queues as
// live-ops content, tickets for a player or a whole party, and a matchmaker
// that runs in ticks per queue and region under a lease, so one replica
// matches each queue at a time.
//
// A formed match leaves through the outbox as TopicFormed; the sessions
// service (domain/fleet) allocates a dedicated server for it, opens the
// match for that server and tells the players where to connect. A match
// that cannot be allocated comes back as TopicAllocationFailed and its
// tickets wait again.
package matchmaking

import "time"

// Outbox topics between matchmaking and sessions.
const (
	// TopicFormed carries a Formed match to the sessions service.
	TopicFormed = "matchmaking.formed"
	// TopicAllocationFailed carries an AllocationFailed back from sessions.
	TopicAllocationFailed = "matchmaking.allocation_failed"
)

// Formed is a match the matchmaker formed: the payload of TopicFormed.
type Formed struct {
	MatchID  string    `json:"match_id"` // the match id servers report results under
	Queue    string    `json:"queue"`
	Mode     string    `json:"mode"` // the match.Mode the server runs
	Region   string    `json:"region"`
	Teams    []Team    `json:"teams"` // team i plays as team i+1
	Backfill bool      `json:"backfill,omitempty"`
	FormedAt time.Time `json:"formed_at"`
}

// Team is one team of a formed match.
type Team struct {
	Players []Player `json:"players"`
}

// Player is one matched player.
type Player struct {
	AccountID int64   `json:"account_id"`
	PlayerID  string  `json:"player_id"`
	Ticket    string  `json:"ticket"`
	PartyID   string  `json:"party_id,omitempty"`
	Rating    float64 `json:"rating"` // the rating the matchmaker used (ordinal)
}

// AccountIDs lists every player of the match.
func (f Formed) AccountIDs() []int64 {
	var out []int64
	for _, t := range f.Teams {
		for _, p := range t.Players {
			out = append(out, p.AccountID)
		}
	}
	return out
}

// AllocationFailed is the payload of TopicAllocationFailed: no server could
// take the match; its tickets wait again (keeping their age).
type AllocationFailed struct {
	MatchID string `json:"match_id"`
	Queue   string `json:"queue"`
	Region  string `json:"region"`
	Reason  string `json:"reason"`
}
