// Package push sends short-lived events to players' live connections on
// any node: a party changed, a friend came online, a chat line. An event
// names its recipients by account id; every realtime gateway subscribes to
// Channel and delivers the event to the recipients connected to it.
//
// Delivery is best effort (Redis pub/sub): an event published while a
// player is between connections is not kept. Send only what a client can
// read again on demand (the party's state, a friend's presence) or may
// lose (chat). Anything a player must not miss is a notification
// (domain/notify), which is stored and resumed.
package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/musterhq/muster/domain/state"
)

// Channel is the pub/sub channel every gateway follows.
const Channel = "push"

// MaxRecipients bounds one event's recipient list; Send splits longer
// lists into several messages.
const MaxRecipients = 1000

// Event is one published event.
type Event struct {
	To   []int64         `json:"to"`   // recipients' account ids
	Kind string          `json:"kind"` // what Data holds, e.g. "party.state"
	Data json.RawMessage `json:"data"`
}

// Bus publishes events.
type Bus struct{ ps state.PubSub }

// New returns a bus publishing on ps.
func New(ps state.PubSub) *Bus { return &Bus{ps: ps} }

// Send publishes data (marshalled as JSON) as an event of kind for the
// players to. Nothing is sent when to is empty.
func (b *Bus) Send(ctx context.Context, kind string, data any, to ...int64) error {
	if len(to) == 0 {
		return nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("push %s: %w", kind, err)
	}
	for len(to) > 0 {
		n := min(len(to), MaxRecipients)
		msg, err := json.Marshal(Event{To: to[:n], Kind: kind, Data: raw})
		if err != nil {
			return fmt.Errorf("push %s: %w", kind, err)
		}
		if err := b.ps.Publish(ctx, Channel, msg); err != nil {
			return fmt.Errorf("push %s: %w", kind, err)
		}
		to = to[n:]
	}
	return nil
}

// Decode reads a message published on Channel.
func Decode(payload []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return Event{}, fmt.Errorf("push: undecodable event: %w", err)
	}
	if ev.Kind == "" {
		return Event{}, errors.New("push: event without a kind")
	}
	return ev, nil
}
