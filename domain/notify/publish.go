package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/state"
)

// channelPrefix starts every notification pub/sub channel.
const channelPrefix = "notify:"

// Shards is how many pub/sub channels notifications are spread over.
const Shards = 64

// ChannelFor is the pub/sub channel on which the publisher sends a player's
// notifications: "notify:<account id mod Shards>". Each gateway node
// subscribes to every shard once (Channels) and picks its own players'
// messages by the account id inside them, instead of holding a
// subscription (a Redis connection) per connected player.
func ChannelFor(accountID int64) string {
	return channelPrefix + strconv.FormatInt(accountID%Shards, 10)
}

// Channels lists every shard's channel.
func Channels() []string {
	out := make([]string, Shards)
	for i := range out {
		out[i] = channelPrefix + strconv.Itoa(i)
	}
	return out
}

// Message is what the publisher sends for one notification: the
// notification's JSON with the player's account id added, and the trace of
// the delivery that published it when that was traced. The id is internal:
// the gateway uses it and never forwards it to clients.
type Message struct {
	AccountID int64 `json:"account_id"`
	Notification
	// Traceparent is the W3C traceparent of the publishing delivery's
	// span: the gateway's delivery span continues that trace. Empty (and
	// left out) when tracing is off.
	Traceparent string `json:"traceparent,omitempty"`
}

// Encode returns the message as the publisher sends it:
//
//	{"account_id":42,"seq":7,"id":"<uuid>","kind":"progression.level_up",
//	 "payload":{"level":12,"prestige":0},"created_at":"2025-...Z","read_at":null,
//	 "traceparent":"00-<trace id>-<span id>-01"}
func (m Message) Encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode notification message: %w", err)
	}
	return b, nil
}

// EncodeMessage returns the pub/sub message for accountID's notification n,
// without a trace.
func EncodeMessage(accountID int64, n Notification) ([]byte, error) {
	return Message{AccountID: accountID, Notification: n}.Encode()
}

// errBadMessage is what DecodeMessage answers for anything the publisher
// does not send.
var errBadMessage = errors.New("not a notification message")

// DecodeMessage reads a pub/sub message sent by the publisher.
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", errBadMessage, err)
	}
	if m.AccountID <= 0 || m.Seq == 0 || m.ID == "" || m.Kind == "" || len(m.Payload) == 0 {
		return Message{}, fmt.Errorf("%w: account id, seq, id, kind or payload missing", errBadMessage)
	}
	return m, nil
}

// messageHead starts every message EncodeMessage makes: the account id
// is its first field.
const messageHead = `{"account_id":`

// MessageAccount reads the account id from the head of a message made by
// EncodeMessage without decoding the rest. Every gateway node hears every
// shard channel, so most messages a node receives are for players
// connected elsewhere; it skips those for the cost of this read instead of
// a JSON decode. ok is false for anything that does not start as
// EncodeMessage's messages do (DecodeMessage says what is wrong with it).
func MessageAccount(b []byte) (accountID int64, ok bool) {
	if len(b) <= len(messageHead) || string(b[:len(messageHead)]) != messageHead {
		return 0, false
	}
	b = b[len(messageHead):]
	n := 0
	for ; n < len(b) && b[n] >= '0' && b[n] <= '9'; n++ {
		if n == 18 {
			return 0, false // beyond what an int64 surely holds
		}
		accountID = accountID*10 + int64(b[n]-'0')
	}
	if n == 0 || n == len(b) || b[n] != ',' || (n > 1 && b[0] == '0') {
		return 0, false
	}
	return accountID, accountID > 0
}

// Publisher publishes the notifications each TopicStored event names on
// their players' channels (ChannelFor), in seq order per player, once the
// delivery that stored them has committed. Delivery is at least once: if
// publishing fails part way, or the delivery's commit fails after
// publishing, the relay delivers the event again and the notifications
// already sent are sent again. Notifications older than
// Config.PublishWindow are not published (the gateway's resume covers them).
// Each message carries the trace of the publishing delivery (in a batch,
// the first event's), so the gateway's delivery span joins the trace of the
// request that sent the notification.
func (s *Store) Publisher(ps state.PubSub) outbox.Consumer {
	return outbox.Consumer{Name: PublisherName, Topics: []string{TopicStored},
		HandleBatch: func(ctx context.Context, tx *sqlx.Tx, evs []outbox.Event) error { return s.publish(ctx, tx, ps, evs) },
		Batch:       eventBatch, Urgent: true}
}

func (s *Store) publish(ctx context.Context, tx *sqlx.Tx, ps state.PubSub, evs []outbox.Event) error {
	var st Stored
	for _, ev := range evs {
		var one Stored
		if err := ev.Decode(&one); err != nil {
			return err
		}
		st.Notifications = append(st.Notifications, one.Notifications...)
	}
	if len(st.Notifications) == 0 {
		return nil
	}
	accounts := make(pq.Int64Array, len(st.Notifications))
	seqs := make(pq.Int64Array, len(st.Notifications))
	for i, r := range st.Notifications {
		accounts[i], seqs[i] = r.AccountID, int64(min(r.Seq, maxSeq))
	}
	// Notifications pruned since are gone and not published.
	const q = `
SELECT n.account_id, n.seq, n.id, n.kind, n.payload, n.created_at, n.read_at
FROM notifications n JOIN unnest($1::bigint[], $2::bigint[]) AS r (account_id, seq) USING (account_id, seq)
WHERE n.created_at >= now() - $3 * interval '1 millisecond'
ORDER BY n.account_id, n.seq`
	var rows []stored
	if err := tx.SelectContext(ctx, &rows, q, accounts, seqs, s.cfg.PublishWindow.Milliseconds()); err != nil {
		return fmt.Errorf("load notifications to publish: %w", err)
	}
	tp := outbox.Traceparent(ctx)
	for _, r := range rows {
		r.Payload = compact(r.Payload)
		msg, err := Message{AccountID: r.AccountID, Notification: r.Notification, Traceparent: tp}.Encode()
		if err != nil {
			return err
		}
		if err := ps.Publish(ctx, ChannelFor(r.AccountID), msg); err != nil {
			return fmt.Errorf("publish notification %d/%d: %w", r.AccountID, r.Seq, err)
		}
	}
	return nil
}
