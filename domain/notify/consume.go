package notify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/progression"
)

// Kinds of the notifications the consumer makes from other packages'
// events: the events' topics. Their payloads are LevelUpPayload,
// TierPayload and ChallengePayload.
const (
	KindLevelUp            = progression.TopicLevelUp
	KindTierReached        = battlepass.TopicTierReached
	KindChallengeCompleted = challenge.TopicCompleted
)

// LevelUpPayload is the payload of a KindLevelUp notification.
type LevelUpPayload struct {
	Level    int    `json:"level"`
	Prestige int    `json:"prestige"`
	MatchID  string `json:"match_id,omitempty"` // absent for support grants and prestige
}

// TierPayload is the payload of a KindTierReached notification: the
// highest tier reached at once.
type TierPayload struct {
	Season string `json:"season"`
	Tier   int    `json:"tier"`
}

// ChallengePayload is the payload of a KindChallengeCompleted notification.
type ChallengePayload struct {
	Challenge string `json:"challenge"`
	Period    string `json:"period"`
}

// Request is the payload of a TopicSend event.
type Request struct {
	AccountID int64           `json:"account_id"`
	Kind      string          `json:"kind"`
	Payload   json.RawMessage `json:"payload"`
}

// Stored is the payload of a TopicStored event: the notifications one
// delivery stored.
type Stored struct {
	Notifications []Ref `json:"notifications"`
}

// Ref names a stored notification.
type Ref struct {
	AccountID int64  `json:"account_id"`
	Seq       uint64 `json:"seq"`
}

// Send asks, inside tx, for a notification of kind to accountID with
// payload (a JSON object; nil is {}). It is stored and published by the
// consumers once tx commits, and never if tx rolls back. Any service may
// use it for its own kinds ("party.invite", "store.purchase_completed").
func Send(ctx context.Context, tx sqlx.ExtContext, accountID int64, kind string, payload any) error {
	return SendMany(ctx, tx, []New{{AccountID: accountID, Kind: kind, Payload: payload}})
}

// SendMany is Send for many notifications, in one statement: one TopicSend
// event each.
func SendMany(ctx context.Context, tx sqlx.ExtContext, in []New) error {
	reqs := make([]Request, len(in))
	for i, n := range in {
		body, err := checkNew(n)
		if err != nil {
			return err
		}
		reqs[i] = Request{AccountID: n.AccountID, Kind: n.Kind, Payload: body}
	}
	_, err := outbox.EnqueueMany(ctx, tx, TopicSend, reqs)
	return err
}

// Consumer stores the notifications of level-ups, battle pass tiers,
// completed challenges and TopicSend requests, and enqueues, in the same
// transaction, one TopicStored event naming what it stored. The relay
// applies each event to it once.
func (s *Store) Consumer() outbox.Consumer {
	return outbox.Consumer{Name: ConsumerName,
		Topics:      []string{progression.TopicLevelUp, battlepass.TopicTierReached, challenge.TopicCompleted, TopicSend},
		HandleBatch: s.consume, Batch: eventBatch, Urgent: true}
}

// eventBatch is how many events the relay hands the consumers at once: a
// match makes one event per player who levels up, reaches a tier or
// completes a challenge.
const eventBatch = 100

// consume stores the notifications a batch of events asks for in one
// statement, and names them all in one TopicStored event.
func (s *Store) consume(ctx context.Context, tx *sqlx.Tx, evs []outbox.Event) error {
	in := make([]New, len(evs))
	for i, ev := range evs {
		n, err := fromEvent(ev)
		if err != nil {
			return err
		}
		in[i] = n
	}
	rows, err := add(ctx, tx, in)
	if err != nil {
		return fmt.Errorf("store %d notifications: %w", len(in), err)
	}
	refs := make([]Ref, len(rows))
	for i, r := range rows {
		refs[i] = Ref{AccountID: r.AccountID, Seq: r.Seq}
	}
	_, err = outbox.Enqueue(ctx, tx, TopicStored, Stored{Notifications: refs})
	return err
}

// fromEvent is the notification an event asks for.
func fromEvent(ev outbox.Event) (New, error) {
	switch ev.Topic {
	case progression.TopicLevelUp:
		var e progression.LevelUp
		if err := ev.Decode(&e); err != nil {
			return New{}, err
		}
		return New{AccountID: e.AccountID, Kind: KindLevelUp, Payload: LevelUpPayload{Level: e.Level, Prestige: e.Prestige, MatchID: e.MatchID}}, nil
	case battlepass.TopicTierReached:
		var e battlepass.TierReached
		if err := ev.Decode(&e); err != nil {
			return New{}, err
		}
		return New{AccountID: e.AccountID, Kind: KindTierReached, Payload: TierPayload{Season: e.Season, Tier: e.Tier}}, nil
	case challenge.TopicCompleted:
		var e challenge.Completed
		if err := ev.Decode(&e); err != nil {
			return New{}, err
		}
		return New{AccountID: e.AccountID, Kind: KindChallengeCompleted, Payload: ChallengePayload{Challenge: e.Challenge, Period: e.Period}}, nil
	case TopicSend:
		var r Request
		if err := ev.Decode(&r); err != nil {
			return New{}, err
		}
		var p any
		if len(r.Payload) > 0 && string(r.Payload) != "null" {
			p = r.Payload
		}
		return New{AccountID: r.AccountID, Kind: r.Kind, Payload: p}, nil
	}
	return New{}, fmt.Errorf("notifications: unexpected topic %q", ev.Topic)
}
