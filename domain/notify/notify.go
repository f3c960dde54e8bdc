// Package notify owns players' stored notifications: a level reached, a
// battle pass tier, a completed challenge, or anything another service sends
// with Send. Each player's notifications are numbered by seq, 1, 2, 3, ...
// with no gaps, which is what the realtime gateway resumes from.
//
// Notifications arrive through the outbox. The consumer "notifications"
// (Store.Consumer) stores them in its delivery's transaction and, in that
// same transaction, enqueues one TopicStored event naming what it stored.
// The consumer "notifications.publish" (Store.Publisher) then publishes each
// stored notification on its player's shard channel (ChannelFor), after
// the store has committed. The database copy is the durable one: pub/sub is
// best effort and at least once (a redelivered TopicStored event publishes
// again), so the gateway drops seqs it has already sent and fills gaps with
// Since.
package notify

import (
	"encoding/json"
	"errors"
	"regexp"
	"time"

	"github.com/jmoiron/sqlx"
)

// Topics and consumer names of this package.
const (
	// TopicSend asks for one notification (payload Request); see Send.
	TopicSend = "notify.send"
	// TopicStored lists notifications just stored (payload Stored), for the
	// publisher.
	TopicStored = "notify.stored"

	// ConsumerName stores notifications.
	ConsumerName = "notifications"
	// PublisherName publishes stored notifications on pub/sub.
	PublisherName = "notifications.publish"
)

// Bounds of a notification.
const (
	MaxKind    = 64        // bytes of a kind
	MaxPayload = 8 << 10   // bytes of a payload's JSON
	MaxBatch   = 10_000    // notifications one Add stores
	MaxPage    = 200       // notifications one List or Since answers
	maxIDs     = MaxPage   // ids one MarkReadIDs takes
	defPage    = 50        // List and Since without a limit
	maxSeq     = 1<<63 - 1 // seqs are PostgreSQL bigints
)

// Errors of this package.
var (
	ErrInvalid        = errors.New("invalid notification request")
	ErrUnknownAccount = errors.New("no such account to notify")
)

// kindPattern is what a kind looks like: dotted lower-case words,
// "progression.level_up".
var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// Notification is one stored notification of a player. Its JSON is what
// the REST list answers and, with the player's account id added, what the
// publisher sends on pub/sub (see DecodeMessage).
type Notification struct {
	Seq       uint64          `json:"seq" db:"seq"`
	ID        string          `json:"id" db:"id"`
	Kind      string          `json:"kind" db:"kind"`
	Payload   json.RawMessage `json:"payload" db:"payload"`
	CreatedAt time.Time       `json:"created_at" db:"created_at"`
	ReadAt    *time.Time      `json:"read_at" db:"read_at"` // nil while unread
}

// New is a notification to store for AccountID. Payload is marshalled as
// JSON and must be an object (nil is {}).
type New struct {
	AccountID int64
	Kind      string
	Payload   any
}

// Config tunes a Store. Zero values take the defaults shown.
type Config struct {
	// PublishWindow is how old a notification may be and still be
	// published live: 2 minutes, the gateway's resume window. A
	// TopicStored event that waited longer (Redis was down, the worker was
	// behind) is marked delivered without publishing; the player gets the
	// notification from Since on the next resume or from the REST list.
	PublishWindow time.Duration
}

// Store stores, reads and publishes notifications.
type Store struct {
	conn *sqlx.DB
	cfg  Config
}

// NewStore returns a Store over conn.
func NewStore(conn *sqlx.DB, cfg Config) *Store {
	if cfg.PublishWindow <= 0 {
		cfg.PublishWindow = 2 * time.Minute
	}
	return &Store{conn: conn, cfg: cfg}
}
