package realtime

import (
	"context"
	"time"

	"github.com/musterhq/muster/domain/notify"
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

// Follow delivers the notifications published on every shard channel to
// the players connected to this node, until ctx ends. A message this node
// misses (Redis restarting, a full buffer) is filled from the store when
// the player's next one arrives, or on resume.
func (g *Gateway) Follow(ctx context.Context, ps state.PubSub) error {
	sub, err := ps.Subscribe(ctx, notify.Channels()...)
	if err != nil {
		return err
	}
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-sub.C():
			if !ok {
				// The subscription ended (Redis gone for good): subscribe again.
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
				}
				return g.Follow(ctx, ps)
			}
			accountID, n, err := notify.DecodeMessage(m.Payload)
			if err != nil {
				g.log.Warn("realtime: undecodable notification message", "err", err)
				continue
			}
			g.Deliver(accountID, noteOf(n))
		}
	}
}
