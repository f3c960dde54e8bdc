package realtime

import (
	"context"
	"encoding/json"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// online records a new connection's player as online. Presence is best
// effort: a failure is logged, and the next heartbeat tries again.
func (g *Gateway) online(ctx context.Context, c *conn) {
	t := g.deps.Presence
	if t == nil {
		return
	}
	account := c.claimsNow().AccountID
	inParty := false
	if g.deps.Parties != nil {
		if v, err := g.deps.Parties.Get(ctx, account); err == nil {
			inParty = len(v.Members) >= 2
		}
	}
	if err := t.Connect(ctx, account, c.id, inParty); err != nil {
		g.log.Warn("realtime: record presence", "player_id", c.claimsNow().PlayerID, "err", err)
	}
}

// offline removes a closed connection from its player's presence. A
// draining node leaves its connections' entries to expire instead: its
// clients are reconnecting to other nodes, so their friends see no
// offline-online flicker during a rolling update, a player who does not
// come back goes offline within the TTL as after a crash, and the node
// does not send thousands of Redis commands at once while it stops.
func (g *Gateway) offline(c *conn) {
	t := g.deps.Presence
	if t == nil {
		return
	}
	g.mu.Lock()
	draining := g.draining
	g.mu.Unlock()
	if draining {
		return
	}
	// Many connections may end at once (a network cut, a load balancer
	// restart): they take turns, so that a few at a time use the Redis
	// connection pool instead of all of them timing out waiting for it.
	// One that waits longer than the presence TTL has nothing left to
	// clear.
	ctx, cancel := context.WithTimeout(context.Background(), t.TTL())
	defer cancel()
	select {
	case g.offlines <- struct{}{}:
		defer func() { <-g.offlines }()
	case <-ctx.Done():
		return
	}
	if err := t.Disconnect(ctx, c.claimsNow().AccountID, c.id); err != nil {
		g.log.Warn("realtime: clear presence", "player_id", c.claimsNow().PlayerID, "err", err)
	}
}

// pushKinds turns the data of each push kind the gateway delivers into its
// protocol message; each service's file registers its kinds.
var pushKinds = map[string]func(json.RawMessage) (proto.Message, error){
	presence.KindChanged: func(data json.RawMessage) (proto.Message, error) {
		var v presence.View
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return &pb.PresenceChanged{Presence: presenceOf(v)}, nil
	},
	party.KindState: func(data json.RawMessage) (proto.Message, error) {
		var v party.View
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return partyState(v), nil
	},
	party.KindLeft: func(data json.RawMessage) (proto.Message, error) {
		var v party.Left
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return &pb.PartyLeft{PartyId: v.PartyID, Reason: v.Reason}, nil
	},
	party.KindChat: func(data json.RawMessage) (proto.Message, error) {
		var v party.ChatLine
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return &pb.PartyChatMessage{PartyId: v.PartyID, PlayerId: v.PlayerID, DisplayName: v.DisplayName, Text: v.Text, SentAtMs: v.SentAt.UnixMilli()}, nil
	},
}

// pushFrame is the frame a push event becomes, or nil for a kind this
// gateway does not deliver.
func pushFrame(ev push.Event) ([]byte, error) {
	build, ok := pushKinds[ev.Kind]
	if !ok {
		return nil, nil
	}
	m, err := build(ev.Data)
	if err != nil {
		return nil, err
	}
	return protocol.Append(nil, 0, m)
}

// Push delivers a push event to its recipients connected to this node.
func (g *Gateway) Push(ev push.Event) {
	frame, err := pushFrame(ev)
	if err != nil {
		g.log.Warn("realtime: undecodable push", "kind", ev.Kind, "err", err)
		return
	}
	if frame == nil {
		return
	}
	var conns []*conn
	g.mu.Lock()
	for _, id := range ev.To {
		for c := range g.byPlayer[id] {
			conns = append(conns, c)
		}
	}
	g.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		c.enqueueLocked(frame)
		c.mu.Unlock()
	}
}
