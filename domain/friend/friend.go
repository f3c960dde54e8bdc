// Package friend owns the relations between players: friend requests both
// ways, friendships and blocks.
//
// A player asks another by public id (Request); the other accepts or
// declines, and the asker may withdraw (Decline). When both ask each other
// the second request accepts the first, so two requests crossing end as
// one friendship. Either friend may end it (Remove). A player may block
// anyone (Block): it ends any friendship or request between them both
// ways, and the blocked player is not told. A blocked player who asks the
// blocker is answered as if the request were pending, and it reaches
// nobody, so nobody can find out who blocked them. Unblock lifts a block
// and drops such a request, as a decline would.
//
// A request sends the other player a stored notification KindRequest, an
// accepted request sends the asker KindAccepted, both through notify.Send
// in the change's own transaction.
//
// Every change locks both players' lists in account order and counts the
// limits (Config) under that lock; see migrations/00014_friends.sql.
package friend

import (
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
)

// Errors of this package. Their texts are fit to show a player; ErrLimit
// is wrapped with which limit was reached.
var (
	ErrSelf       = errors.New("you cannot befriend or block yourself")
	ErrNotFound   = errors.New("player not found")
	ErrLimit      = errors.New("friend limit reached")
	ErrNoRequest  = errors.New("there is no friend request between you and this player")
	ErrNotFriends = errors.New("you are not friends with this player")
	ErrBlocked    = errors.New("you blocked this player: unblock them first")
	ErrNotBlocked = errors.New("you have not blocked this player")
)

// State is what a relation is, seen from one player's side.
type State string

// States of a relation.
const (
	StateFriend   State = "friend"
	StateIncoming State = "incoming" // they asked: accept or decline
	StateOutgoing State = "outgoing" // you asked: waiting for them
	StateBlocked  State = "blocked"  // you blocked them
)

// Kinds of the notifications this package sends; both carry a Payload
// naming the other player.
const (
	KindRequest  = "friend.request"  // to the player asked
	KindAccepted = "friend.accepted" // to the player whose request was accepted
)

// Payload is the payload of KindRequest and KindAccepted: the player who
// asked or accepted.
type Payload struct {
	PlayerID    string `json:"player_id"`
	DisplayName string `json:"display_name"`
}

// Relation is one other player as a player's list shows them.
type Relation struct {
	AccountID   int64 // internal; edges show PlayerID
	PlayerID    string
	DisplayName string
	State       State
	Since       time.Time // when the relation reached State
}

// List is a player's relations: friends and blocks by display name,
// requests newest first. Deleted accounts are left out.
type List struct {
	Friends  []Relation
	Incoming []Relation
	Outgoing []Relation
	Blocked  []Relation
}

// Default limits.
const (
	DefaultMaxFriends  = 500
	DefaultMaxOutgoing = 100
	DefaultMaxIncoming = 500
	DefaultMaxBlocked  = 1000
)

// Config tunes a Store. Zero values take the defaults.
type Config struct {
	MaxFriends  int // friends a player may have
	MaxOutgoing int // requests of a player waiting for an answer
	MaxIncoming int // requests to a player waiting for their answer
	MaxBlocked  int // players a player may block
}

// Store reads and changes relations.
type Store struct {
	conn *sqlx.DB
	cfg  Config
}

// NewStore returns a Store over conn.
func NewStore(conn *sqlx.DB, cfg Config) *Store {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.MaxFriends, DefaultMaxFriends)
	def(&cfg.MaxOutgoing, DefaultMaxOutgoing)
	def(&cfg.MaxIncoming, DefaultMaxIncoming)
	def(&cfg.MaxBlocked, DefaultMaxBlocked)
	return &Store{conn: conn, cfg: cfg}
}
