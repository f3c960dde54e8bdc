package realtime

import (
	"context"
	"time"

	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/state"
)

// StoredNotes reads players' notifications from the notify store.
type StoredNotes struct{ Store *notify.Store }

// Since implements Notes.
func (s StoredNotes) Since(ctx context.Context, accountID int64, afterSeq uint64, limit int) ([]Note, error) {
	ns, err := s.Store.Since(ctx, accountID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Note, len(ns))
	for i, n := range ns {
		out[i] = noteOf(n)
	}
	return out, nil
}

// LastSeq implements Notes.
func (s StoredNotes) LastSeq(ctx context.Context, accountID int64) (uint64, error) {
	return s.Store.LastSeq(ctx, accountID)
}

func noteOf(n notify.Notification) Note {
	return Note{Seq: n.Seq, ID: n.ID, Kind: n.Kind, Payload: n.Payload, CreatedAt: n.CreatedAt}
}

// Follow delivers what is published for players to those connected to this
// node, until ctx ends: their stored notifications (domain/notify's shard
// channels) and short-lived events (domain/push). A notification this node
// misses (Redis restarting, a full buffer) is filled from the store when the
// player's next one arrives, or on resume; a missed event is lost, which is
// what events are for. Follow fails only when the first subscription does;
// later it subscribes again until ctx ends.
func (g *Gateway) Follow(ctx context.Context, ps state.PubSub) error {
	channels := append(notify.Channels(), push.Channel)
	sub, err := ps.Subscribe(ctx, channels...)
	if err != nil {
		return err
	}
	for {
		g.follow(ctx, sub)
		sub.Close()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			if sub, err = ps.Subscribe(ctx, channels...); err == nil {
				break
			}
			g.log.Warn("realtime: subscribe to notifications", "err", err)
		}
	}
}

// follow delivers what sub receives until ctx ends or sub closes.
func (g *Gateway) follow(ctx context.Context, sub state.Subscription) {
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-sub.C():
			if !ok {
				return // the subscription ended (Redis gone): subscribe again
			}
			if m.Channel == push.Channel {
				ev, err := push.Decode(m.Payload)
				if err != nil {
					g.log.Warn("realtime: undecodable push", "err", err)
					continue
				}
				g.Push(ev)
				continue
			}
			// Every node hears every shard: the messages of players
			// connected elsewhere are skipped without being decoded.
			if id, ok := notify.MessageAccount(m.Payload); ok && !g.holds(id) {
				continue
			}
			msg, err := notify.DecodeMessage(m.Payload)
			if err != nil {
				g.log.Warn("realtime: undecodable notification message", "err", err)
				continue
			}
			span := g.startDelivery(msg)
			endDelivery(span, g.deliver(msg.AccountID, noteOf(msg.Notification)))
		}
	}
}

// holds reports whether a player has a connection on this node.
func (g *Gateway) holds(accountID int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.byPlayer[accountID]) > 0
}
