package muster

import (
	"time"
)

type RegisterInstanceRequest struct {
	Fleet    string            `json:"fleet"`              // The build or pool the process belongs to.
	Region   string            `json:"region"`             // Where it runs, as the matchmaker names regions.
	Address  string            `json:"address"`            // host:port players connect to, e.g. `203.0.113.7:7777`.
	Capacity *int              `json:"capacity,omitempty"` // Matches it hosts at once (not players); 0 or absent means 1.
	Version  *string           `json:"version,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

type Instance struct {
	ID                      int64             `json:"id"`
	ServerID                int64             `json:"server_id,omitempty"` // The credential it registered with.
	Fleet                   string            `json:"fleet"`
	Region                  string            `json:"region"`
	Host                    string            `json:"host"`
	Port                    int               `json:"port"`
	Version                 string            `json:"version"`
	Labels                  map[string]string `json:"labels"`
	Capacity                int               `json:"capacity"`
	Allocated               int               `json:"allocated"` // Matches it hosts now.
	State                   string            `json:"state"`     // `busy`: ready but every slot holds a match; `draining`: finishing its matches, taking no new ones.
	DrainedBy               string            `json:"drained_by,omitempty"`
	RegisteredAt            time.Time         `json:"registered_at"`
	HeartbeatAt             time.Time         `json:"heartbeat_at"`
	GoneAt                  *time.Time        `json:"gone_at,omitempty"`
	GoneReason              string            `json:"gone_reason,omitempty"` // `silent`, `deregistered` or `replaced`.
	HeartbeatEverySeconds   float64           `json:"heartbeat_every_seconds"`
	HeartbeatTimeoutSeconds float64           `json:"heartbeat_timeout_seconds"`
}

// Heartbeat is the instance, whether to drain, and its matches.
type Heartbeat struct {
	Instance
	Drain   bool             `json:"drain"` // Finish the running matches, take no new ones, then exit.
	Matches []HeartbeatMatch `json:"matches"`
}

// HeartbeatMatch is a match allocated to the instance and not yet over.
type HeartbeatMatch struct {
	MatchID     string    `json:"match_id"`
	Queue       string    `json:"queue"`
	Mode        string    `json:"mode"`
	AllocatedAt time.Time `json:"allocated_at"`
}

type AllocationPlayer struct {
	PlayerID  string     `json:"player_id"`
	Team      int        `json:"team"`
	Connected bool       `json:"connected"`
	JoinedAt  *time.Time `json:"joined_at,omitempty"`
	LeftAt    *time.Time `json:"left_at,omitempty"`
}

type Allocation struct {
	MatchID     string             `json:"match_id"`
	Queue       string             `json:"queue"`
	Mode        string             `json:"mode"`
	Region      string             `json:"region"`
	State       string             `json:"state"`
	InstanceID  int64              `json:"instance_id,omitempty"` // The registered instance hosting it (absent on Agones).
	GameServer  string             `json:"game_server,omitempty"` // The Agones GameServer hosting it (absent on the registry).
	Address     string             `json:"address"`
	Port        int                `json:"port"`
	AllocatedAt time.Time          `json:"allocated_at"`
	EndedAt     *time.Time         `json:"ended_at,omitempty"`
	EndReason   string             `json:"end_reason,omitempty"`
	Players     []AllocationPlayer `json:"players"`
}

type AllocationPlayersRequest struct {
	Joined []string `json:"joined,omitempty"` // Public ids of players who connected.
	Left   []string `json:"left,omitempty"`   // Public ids of players who disconnected.
}

type PlayerMatch struct {
	MatchID     string    `json:"match_id"`
	Queue       string    `json:"queue"`
	Mode        string    `json:"mode"`
	Region      string    `json:"region"`
	Address     string    `json:"address"` // Host name or IP of the game server.
	Port        int       `json:"port"`
	Team        int       `json:"team"`
	Connected   bool      `json:"connected"` // Whether the game server says the player is connected.
	AllocatedAt time.Time `json:"allocated_at"`
}

type OpenMatchRequest struct {
	MatchID string   `json:"match_id"`
	Mode    string   `json:"mode"`    // A published match mode.
	Players []string `json:"players"` // The players' public ids (`id` of a player).
}

type Match struct {
	MatchID   string    `json:"match_id"`
	Mode      string    `json:"mode"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	Players   int       `json:"players"` // How many players the roster holds.
}

type MatchResultRequestPlayer struct {
	PlayerID     string           `json:"player_id"`
	Team         int              `json:"team"`
	Placement    int              `json:"placement"`                // 1 is best; teammates share their team's placement.
	Stats        map[string]int64 `json:"stats"`                    // Stat name to value; the mode bounds each stat it takes (kills, deaths, assists, damage, headshots, revives, score, seconds_played).
	KillsByClass map[string]int64 `json:"kills_by_class,omitempty"` // Kills by weapon class of the mode; adds up to at most `kills`.
}

type MatchResultRequest struct {
	EndedAt *time.Time                 `json:"ended_at,omitempty"` // When the match ended; the report's arrival when absent.
	Players []MatchResultRequestPlayer `json:"players"`
}

type MatchReceipt struct {
	MatchID  string `json:"match_id"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"` // Why the results wait for review.
	Replayed bool   `json:"replayed"`
}
