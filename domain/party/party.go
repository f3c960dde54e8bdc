// Package party runs players' parties: a leader and up to MaxSize members
// who play together, invite friends or share an invite code, run ready
// checks and chat. A party is what the matchmaker queues as one ticket.
//
// Parties live in the shared state store (Redis across nodes), so members
// connected to different nodes see one party:
//   - "party:<id>" holds the party document, changed only by
//     compare-and-swap (read, change, swap, read again if someone else
//     changed it first), so concurrent joins, kicks and leaves on different
//     nodes never lose one another's change;
//   - "party:of:<account>" names a player's party, and "party:code:<code>"
//     a party's invite code. They are hints, always checked against the
//     document, which is the only authority: a crash between writing one
//     and the document leaves a stale hint that the next read ignores and
//     clears.
//
// Every change is pushed to the members (domain/push: KindState, KindLeft,
// KindChat); an invitation is a stored notification (NotifyInvite), so an
// invitee who is offline sees it at the next login.
package party

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/state"
)

// Push kinds and the notification kind of this package.
const (
	KindState    = "party.state" // data: View, to every member after a change
	KindLeft     = "party.left"  // data: Left, to a player who left or was kicked
	KindChat     = "party.chat"  // data: ChatLine, to every member
	NotifyInvite = "party.invite"
)

// Errors of this package; their texts are fit to show a player.
var (
	ErrInParty       = errors.New("you are already in a party: leave it first")
	ErrNoParty       = errors.New("you are not in a party")
	ErrNotFound      = errors.New("no such party, or your invitation expired")
	ErrNotLeader     = errors.New("only the party leader may do this")
	ErrNotFriends    = errors.New("you can invite only your friends")
	ErrFull          = errors.New("the party is full")
	ErrNotMember     = errors.New("that player is not in your party")
	ErrAlready       = errors.New("that player is already in your party")
	ErrInvalid       = errors.New("invalid party request")
	ErrInvalidPlayer = fmt.Errorf("%w: name a player", ErrInvalid)
	ErrInvalidChat   = fmt.Errorf("%w: a chat line holds 1 to 256 characters", ErrInvalid)
	ErrRateLimited   = errors.New("too many party messages: slow down")
	ErrBusy          = errors.New("the party is changing too fast: try again")
)

// Config tunes the service. Zero values take the defaults shown.
type Config struct {
	DefaultSize int           // a new party's size when the player names none: 4
	MaxSize     int           // the largest party allowed: 8
	InviteTTL   time.Duration // an invitation stays valid: 5m
	ReadyCheck  time.Duration // a ready check runs: 30s
	TTL         time.Duration // a party nobody changes disappears after: 24h
	MaxInvites  int           // pending invitations per party: 16
}

func (c Config) withDefaults() Config {
	if c.MaxSize < 2 {
		c.MaxSize = 8
	}
	if c.DefaultSize < 2 || c.DefaultSize > c.MaxSize {
		c.DefaultSize = min(4, c.MaxSize)
	}
	if c.InviteTTL <= 0 {
		c.InviteTTL = 5 * time.Minute
	}
	if c.ReadyCheck <= 0 {
		c.ReadyCheck = 30 * time.Second
	}
	if c.TTL <= 0 {
		c.TTL = 24 * time.Hour
	}
	if c.MaxInvites <= 0 {
		c.MaxInvites = 16
	}
	return c
}

// Friends answers the relation questions parties ask.
type Friends interface {
	AreFriends(ctx context.Context, a, b int64) (bool, error)
	Blocked(ctx context.Context, a, b int64) (bool, error) // either blocked the other
}

// Accounts finds and names players.
type Accounts interface {
	ByID(ctx context.Context, id int64) (account.Account, error)
	ByPublicID(ctx context.Context, publicID string) (account.Account, error)
}

// Notifier stores a notification for a player (notify.Send through the
// outbox).
type Notifier interface {
	Notify(ctx context.Context, accountID int64, kind string, payload any) error
}

// Presence is what parties tell and ask the presence tracker.
type Presence interface {
	SetInParty(ctx context.Context, accountID int64, inParty bool) error
	Lookup(ctx context.Context, accountIDs []int64) (map[int64]presence.View, error)
}

// Queue is told when a party's members change, so that a queued party (or a
// player queued alone who joins one) leaves the matchmaking queue.
type Queue interface {
	PartyChanged(ctx context.Context, partyID string, memberIDs []int64) error
}

// Store is what the service keeps its state in.
type Store interface {
	state.KV
	state.Limiter
}

// Deps are the services a party service uses. Presence may be nil.
type Deps struct {
	Store    Store
	Bus      *push.Bus
	Friends  Friends
	Accounts Accounts
	Notifier Notifier
	Presence Presence
	Queue    Queue // may be nil, or set later with SetQueue
	Log      *slog.Logger
}

// Service runs parties.
type Service struct {
	d   Deps
	cfg Config
}

// New returns a party service.
func New(d Deps, cfg Config) *Service {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Service{d: d, cfg: cfg.withDefaults()}
}

// SetQueue sets the matchmaking queue told of membership changes (it is
// built after the party service, which it reads).
func (s *Service) SetQueue(q Queue) { s.d.Queue = q }

// Member is one player in a party.
type Member struct {
	AccountID   int64     `json:"account_id"`
	PlayerID    string    `json:"player_id"`
	DisplayName string    `json:"display_name"`
	Ready       bool      `json:"ready,omitempty"`
	JoinedAt    time.Time `json:"joined_at"`
}

// Party is the stored document.
type Party struct {
	ID             string           `json:"id"`
	Version        uint64           `json:"version"`
	Leader         int64            `json:"leader"`
	Members        []Member         `json:"members"` // in join order
	MaxSize        int              `json:"max_size"`
	JoinByCode     bool             `json:"join_by_code,omitempty"`
	Code           string           `json:"code,omitempty"`
	ReadyCheckEnds time.Time        `json:"ready_check_ends,omitzero"`
	Invites        map[string]int64 `json:"invites,omitempty"` // invitee account id -> expiry, Unix ms
	CreatedAt      time.Time        `json:"created_at"`
}

// member returns the index of accountID among the members, or -1.
func (p *Party) member(accountID int64) int {
	for i, m := range p.Members {
		if m.AccountID == accountID {
			return i
		}
	}
	return -1
}

// byPlayer returns the index of the member with public id playerID, or -1.
func (p *Party) byPlayer(playerID string) int {
	for i, m := range p.Members {
		if m.PlayerID == playerID {
			return i
		}
	}
	return -1
}

// MemberIDs are the members' account ids.
func (p *Party) MemberIDs() []int64 {
	out := make([]int64, len(p.Members))
	for i, m := range p.Members {
		out[i] = m.AccountID
	}
	return out
}

// pruneInvites drops expired invitations.
func (p *Party) pruneInvites(now time.Time) {
	for k, exp := range p.Invites {
		if exp <= now.UnixMilli() {
			delete(p.Invites, k)
		}
	}
}

func partyKey(id string) string { return "party:" + id }
func ofKey(accountID int64) string {
	return "party:of:" + strconv.FormatInt(accountID, 10)
}
func codeKey(code string) string { return "party:code:" + code }

// newID is a party id: "pt_" and 20 random base32 characters.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "pt_" + lowerBase32.EncodeToString(b[:])
}

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// codeAlphabet leaves out characters that read alike (0/O, 1/I/L).
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// CodeLength is the length of an invite code.
const CodeLength = 6

func newCode() string {
	out := make([]byte, 0, CodeLength)
	var b [16]byte
	for len(out) < CodeLength {
		_, _ = rand.Read(b[:])
		for _, c := range b {
			// 248 = 8 * 31: drawing only below it keeps every character
			// equally likely.
			if c < 248 && len(out) < CodeLength {
				out = append(out, codeAlphabet[int(c)%len(codeAlphabet)])
			}
		}
	}
	return string(out)
}
