package muster

import (
	"encoding/json"
	"time"
)

type Party struct {
	PartyID        string        `json:"party_id"`
	Version        int64         `json:"version"` // Grows with every change; keep the highest seen.
	LeaderID       string        `json:"leader_id"`
	Members        []PartyMember `json:"members"` // In join order.
	MaxSize        int           `json:"max_size"`
	JoinByCode     bool          `json:"join_by_code"`
	InviteCode     string        `json:"invite_code,omitempty"`      // Present while `join_by_code` is on.
	ReadyCheckEnds *time.Time    `json:"ready_check_ends,omitempty"` // Present while a ready check runs.
}

type Notification struct {
	Seq       int64           `json:"seq"` // Grows by one per notification of the player, with no gaps; numbers are never reused.
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`    // What happened, as dotted lower-case words. Muster's own kinds:
	Payload   json.RawMessage `json:"payload"` // The notification's details, by kind.
	CreatedAt time.Time       `json:"created_at"`
	ReadAt    *time.Time      `json:"read_at"` // When the player marked it read; null while unread.
}

type TicketAnswer struct {
	Ticket *Ticket `json:"ticket"`
}

type Ticket struct {
	TicketID     string    `json:"ticket_id"`
	Queue        string    `json:"queue"`
	State        string    `json:"state"`
	PartyID      string    `json:"party_id,omitempty"`
	Players      []string  `json:"players"` // Public ids of the ticket's players.
	WaitingSince time.Time `json:"waiting_since"`
	MatchID      string    `json:"match_id,omitempty"`
	Reason       string    `json:"reason,omitempty"`
}

type QueueJoin struct {
	Queue     string         `json:"queue"`
	LatencyMs map[string]int `json:"latency_ms"`
}

type PartyAnswer struct {
	Party *Party `json:"party"`
}

type PartyMember struct {
	PlayerID    string    `json:"player_id"`
	DisplayName string    `json:"display_name"`
	Ready       bool      `json:"ready"`
	Status      string    `json:"status"`
	JoinedAt    time.Time `json:"joined_at"`
}

type PartySettings struct {
	MaxSize    *int  `json:"max_size,omitempty"`
	JoinByCode *bool `json:"join_by_code,omitempty"`
}

type PartyPlayer struct {
	PlayerID string `json:"player_id"`
}

type PartyJoin struct {
	PartyID    *string `json:"party_id,omitempty"`
	InviteCode *string `json:"invite_code,omitempty"`
}

type PartyReady struct {
	Ready bool `json:"ready"`
}

type PartyChat struct {
	Text string `json:"text"`
}

type NotificationList struct {
	Notifications []Notification `json:"notifications"`
	UnreadCount   int            `json:"unread_count"`          // All the player's unread notifications.
	NextBefore    int64          `json:"next_before,omitempty"` // Pass as `before` for the next page; absent on the last page.
}

type MarkNotificationsReadRequest struct {
	UpToSeq *int64   `json:"up_to_seq,omitempty"` // Mark every notification up to and including this seq.
	IDs     []string `json:"ids,omitempty"`       // Mark these notifications.
}

type PlayerRef struct {
	PlayerID string `json:"player_id"` // The other player's public `id`.
}

// Friend is another player in the player's list, and how they relate.
type Friend struct {
	PlayerID    string          `json:"player_id"`
	DisplayName string          `json:"display_name"`
	State       string          `json:"state"` // `friend`; `incoming`: they asked, accept or decline; `outgoing`:
	Since       time.Time       `json:"since"` // When the relation reached this state.
	Presence    *FriendPresence `json:"presence,omitempty"`
}

// FriendPresence is a friend's presence; only friends have one, and only when the server tracks presence.
type FriendPresence struct {
	Status string     `json:"status"`
	Text   string     `json:"text,omitempty"`  // The friend's custom status text, when set.
	Since  *time.Time `json:"since,omitempty"` // When the status last changed; absent while offline.
}

type FriendList struct {
	Friends  []Friend `json:"friends"`  // By display name.
	Incoming []Friend `json:"incoming"` // Requests waiting for the player's answer, newest first.
	Outgoing []Friend `json:"outgoing"` // The player's requests waiting for an answer, newest first.
	Blocked  []Friend `json:"blocked"`  // Players the player blocked, by display name.
}
