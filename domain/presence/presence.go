// Package presence tracks which players are online and what they are doing
// (online, in a party, in a match, with a custom status text), and tells
// their friends when it changes.
//
// State lives in the shared state store (Redis across nodes):
//   - "presence:<account>" (KV) is the player's record while they are
//     online. It expires TTL after the last heartbeat of any of the
//     player's connections, so a player whose node dies shows offline within
//     TTL without anyone cleaning up.
//   - "presence:conns:<account>" (a Presence set) holds the player's live
//     connection ids, so that closing one of two connections leaves the
//     player online.
//
// Changes are pushed (domain/push, kind KindChanged) to the player's
// friends. A friend's list (Lookup) reads the records, so it is right even
// when a push was lost.
package presence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/state"
)

// Status is what friends see.
type Status string

// Statuses, from least to most specific.
const (
	Offline Status = "offline"
	Online  Status = "online"
	InParty Status = "in_party" // online in a party of two or more
	InMatch Status = "in_match" // wins over in_party
)

// KindChanged is the push kind of a presence change; its data is a View.
const KindChanged = "presence"

// MaxText bounds a custom status text, in characters.
const MaxText = 64

// ErrInvalid is a status text that is too long or not valid UTF-8.
var ErrInvalid = errors.New("the status text must be valid UTF-8 of at most 64 characters")

// View is a player's presence as a friend sees it.
type View struct {
	AccountID   int64     `json:"-"`
	PlayerID    string    `json:"player_id"`
	DisplayName string    `json:"display_name"`
	Status      Status    `json:"status"`
	Text        string    `json:"text,omitempty"`
	Since       time.Time `json:"since"`
}

// record is what "presence:<account>" holds.
type record struct {
	AccountID   int64     `json:"account_id"`
	PlayerID    string    `json:"player_id"`
	DisplayName string    `json:"display_name"`
	Text        string    `json:"text,omitempty"`
	InMatch     bool      `json:"in_match,omitempty"`
	InParty     bool      `json:"in_party,omitempty"`
	Since       time.Time `json:"since"` // when the status last changed
}

func (r record) status() Status {
	switch {
	case r.InMatch:
		return InMatch
	case r.InParty:
		return InParty
	}
	return Online
}

func (r record) view() View {
	return View{AccountID: r.AccountID, PlayerID: r.PlayerID, DisplayName: r.DisplayName, Status: r.status(), Text: r.Text, Since: r.Since}
}

// Friends lists whom a player's presence is shown to.
type Friends interface {
	FriendIDs(ctx context.Context, accountID int64) ([]int64, error)
}

// Accounts names players.
type Accounts interface {
	ByID(ctx context.Context, id int64) (account.Account, error)
}

// Config tunes a Tracker.
type Config struct {
	// TTL is how long a player stays online after the last heartbeat of
	// their connections: 30s (two default heartbeats).
	TTL time.Duration
}

// Tracker records presence and tells friends about changes.
type Tracker struct {
	kv       state.KV
	sets     state.Presence
	bus      *push.Bus
	friends  Friends
	accounts Accounts
	ttl      time.Duration
	log      *slog.Logger
}

// Store is what a Tracker keeps its state in.
type Store interface {
	state.KV
	state.Presence
}

// New returns a tracker. friends may be nil (no one is told).
func New(st Store, bus *push.Bus, friends Friends, accounts Accounts, cfg Config, log *slog.Logger) *Tracker {
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Tracker{kv: st, sets: st, bus: bus, friends: friends, accounts: accounts, ttl: cfg.TTL, log: log}
}

// TTL is how long a player stays online without a heartbeat.
func (t *Tracker) TTL() time.Duration { return t.ttl }

func recordKey(accountID int64) string { return "presence:" + strconv.FormatInt(accountID, 10) }
func connsKey(accountID int64) string  { return "presence:conns:" + strconv.FormatInt(accountID, 10) }

// Connect records a new connection of the player; inParty says whether they
// are in a party of two or more. A player who was offline comes online and
// their friends are told.
func (t *Tracker) Connect(ctx context.Context, accountID int64, connID string, inParty bool) error {
	if err := t.sets.Touch(ctx, connsKey(accountID), connID, t.ttl); err != nil {
		return err
	}
	return t.ensure(ctx, accountID, inParty)
}

// Beat keeps a connection's player online for another TTL; BeatMany does
// it for many connections at once, as gateways do.
func (t *Tracker) Beat(ctx context.Context, accountID int64, connID string) error {
	return t.BeatMany(ctx, []Beat{{AccountID: accountID, ConnID: connID}})
}

// Beat names one connection for BeatMany.
type Beat struct {
	AccountID int64
	ConnID    string
}

// BeatMany does what Beat does for many connections in two round trips,
// plus one for each player whose record had expired. A gateway gathers
// its connections' heartbeats and sends them this way: at 100,000
// connections a heartbeat every 15 s is 6,700 beats a second, too many
// for a command (and a pooled Redis connection) each.
func (t *Tracker) BeatMany(ctx context.Context, beats []Beat) error {
	if len(beats) == 0 {
		return nil
	}
	members := make([]state.SetMember, len(beats))
	keys := make([]string, len(beats))
	for i, b := range beats {
		members[i] = state.SetMember{Set: connsKey(b.AccountID), Member: b.ConnID}
		keys[i] = recordKey(b.AccountID)
	}
	if err := t.sets.TouchMany(ctx, members, t.ttl); err != nil {
		return err
	}
	live, err := t.kv.ExpireMany(ctx, keys, t.ttl)
	if err != nil {
		return err
	}
	var errs []error
	for i, ok := range live {
		if !ok {
			// The record expired (heartbeats were late, or the state
			// store lost it): the player is back online.
			errs = append(errs, t.ensure(ctx, beats[i].AccountID, false))
		}
	}
	return errors.Join(errs...)
}

// ensure creates the player's record if it is missing and tells friends.
func (t *Tracker) ensure(ctx context.Context, accountID int64, inParty bool) error {
	if ok, err := t.kv.Expire(ctx, recordKey(accountID), t.ttl); err != nil || ok {
		return err
	}
	a, err := t.accounts.ByID(ctx, accountID)
	if err != nil {
		return fmt.Errorf("presence: name player %d: %w", accountID, err)
	}
	r := record{AccountID: accountID, PlayerID: a.PublicID, DisplayName: a.DisplayName, InParty: inParty, Since: time.Now().UTC()}
	b, _ := json.Marshal(r)
	created, err := t.kv.CompareAndSwap(ctx, recordKey(accountID), nil, b, t.ttl)
	if err != nil || !created {
		return err // another connection created it meanwhile
	}
	t.tell(ctx, r.view())
	return nil
}

// Disconnect removes a closed connection. When it was the player's last,
// the player goes offline now and their friends are told.
func (t *Tracker) Disconnect(ctx context.Context, accountID int64, connID string) error {
	if err := t.sets.Remove(ctx, connsKey(accountID), connID); err != nil {
		return err
	}
	left, err := t.sets.Members(ctx, connsKey(accountID))
	if err != nil || len(left) > 0 {
		return err
	}
	cur, err := t.kv.Get(ctx, recordKey(accountID))
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var r record
	_ = json.Unmarshal(cur, &r)
	gone, err := t.kv.CompareAndSwap(ctx, recordKey(accountID), cur, nil, 0)
	if err != nil || !gone {
		return err // changed meanwhile (a new connection): still online
	}
	v := r.view()
	v.Status, v.Text, v.Since = Offline, "", time.Now().UTC()
	t.tell(ctx, v)
	return nil
}

// SetStatus sets the player's custom status text and whether they are in
// a match. It changes nothing for a player who is offline.
func (t *Tracker) SetStatus(ctx context.Context, accountID int64, text string, inMatch bool) error {
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxText {
		return ErrInvalid
	}
	return t.update(ctx, accountID, func(r *record) { r.Text, r.InMatch = text, inMatch })
}

// SetInParty records whether the player is in a party of two or more.
func (t *Tracker) SetInParty(ctx context.Context, accountID int64, inParty bool) error {
	return t.update(ctx, accountID, func(r *record) { r.InParty = inParty })
}

// update changes an online player's record and tells friends when what
// they see changed.
func (t *Tracker) update(ctx context.Context, accountID int64, change func(*record)) error {
	for {
		cur, err := t.kv.Get(ctx, recordKey(accountID))
		if errors.Is(err, state.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var r record
		if err := json.Unmarshal(cur, &r); err != nil {
			return fmt.Errorf("presence: record of %d: %w", accountID, err)
		}
		before := r.view()
		change(&r)
		after := r.view()
		if after.Status == before.Status && after.Text == before.Text {
			return nil
		}
		if after.Status != before.Status {
			r.Since = time.Now().UTC()
		}
		b, _ := json.Marshal(r)
		ok, err := t.kv.CompareAndSwap(ctx, recordKey(accountID), cur, b, t.ttl)
		if err != nil {
			return err
		}
		if ok {
			t.tell(ctx, r.view())
			return nil
		}
	}
}

// Lookup returns the presence of players, offline ones included (with
// only AccountID and Status set), in one read.
func (t *Tracker) Lookup(ctx context.Context, accountIDs []int64) (map[int64]View, error) {
	keys := make([]string, len(accountIDs))
	for i, id := range accountIDs {
		keys[i] = recordKey(id)
	}
	vals, err := t.kv.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]View, len(accountIDs))
	for i, id := range accountIDs {
		var r record
		if vals[i] == nil || json.Unmarshal(vals[i], &r) != nil {
			out[id] = View{AccountID: id, Status: Offline}
			continue
		}
		out[id] = r.view()
	}
	return out, nil
}

// tell pushes v to the player's friends. A failure is logged: friends'
// lists read the records, which are right.
func (t *Tracker) tell(ctx context.Context, v View) {
	if t.friends == nil || t.bus == nil {
		return
	}
	ids, err := t.friends.FriendIDs(ctx, v.AccountID)
	if err == nil {
		err = t.bus.Send(ctx, KindChanged, v, ids...)
	}
	if err != nil {
		t.log.Warn("presence: tell friends", "player_id", v.PlayerID, "err", err)
	}
}
