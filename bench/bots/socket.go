package bots

import (
	"context"
	"encoding/json"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/realtime/protocol/pb"
	"github.com/musterhq/muster/sdk/go/muster"
)

// The player's realtime connection: connect (or resume), the pushes sorted
// onto the inbox, the party formed and queued over the socket.

// connect dials a gateway (player i uses gateway i mod n) and starts
// routing its pushes; resume presents the last session's token and the
// seq of the last notification processed. The SDK keeps the socket's
// access token fresh.
func (b *bot) connect(ctx context.Context, resume bool) error {
	addrs := b.r.cfg.Targets.Realtime
	opts := muster.SocketOptions{Client: "muster-bots/" + b.r.runID}
	op := "rt.connect"
	if resume {
		opts.ResumeToken, opts.LastSeq = b.resumeToken, b.lastSeq.Load()
		op = "rt.resume"
	}
	var s *muster.Socket
	since := time.Now() // notifications older than this wait for the socket, not for delivery
	err := b.timed(op, func() error {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		var err error
		s, err = b.api.auth.Dial(cctx, addrs[b.i%len(addrs)], opts)
		if err == nil && resume && !s.Welcome().Resumed {
			s.Close()
			return flowErr("resume_failed", "the gateway started a new session instead of resuming (last seq %d)", opts.LastSeq)
		}
		return err
	})
	if err != nil {
		return err
	}
	routed := make(chan struct{})
	b.sockMu.Lock()
	b.sock, b.resumeToken, b.routed = s, s.Welcome().ResumeToken, routed
	b.sockMu.Unlock()
	b.r.m.online.Add(1)
	go b.route(s, routed, since)
	return nil
}

// socket is the live socket (nil between a drop and its resume).
func (b *bot) socket() *muster.Socket {
	b.sockMu.Lock()
	defer b.sockMu.Unlock()
	return b.sock
}

// rt makes a request over the socket as op, answering the reply.
func (b *bot) rt(ctx context.Context, op string, req proto.Message, expected ...string) (proto.Message, error) {
	var reply proto.Message
	err := b.timed(op, func() error {
		s := b.socket()
		if s == nil {
			return muster.ErrClosed
		}
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		var err error
		reply, err = s.Call(cctx, req)
		return err
	}, expected...)
	return reply, err
}

// offlineKind prefixes the kinds of notifications made while the player
// had no socket (before it connected, or between a drop and the resume):
// they arrive at the connection, and their time says how long the player
// was away, not how fast delivery is. The report keeps them apart.
const offlineKind = "offline."

// route sorts the socket's pushes onto the inbox until the socket ends:
// notifications are acked, counted once by seq, and timed from their
// creation to their arrival. since is when the socket was asked for.
func (b *bot) route(s *muster.Socket, done chan struct{}, since time.Time) {
	defer close(done)
	defer b.r.m.online.Add(-1)
	for p := range s.Pushes() {
		switch m := p.Message.(type) {
		case *pb.Notification:
			last := b.lastSeq.Load()
			if m.Seq <= last {
				b.r.m.duplicates.Add(1)
				continue
			}
			b.lastSeq.Store(m.Seq)
			_ = s.Ack(m.Seq)
			created := time.UnixMilli(m.CreatedAtMs)
			if created.Before(b.started) {
				continue // from an earlier run
			}
			kind := m.Kind
			switch at := b.r.stoppedAt.Load(); {
			case created.Before(since):
				kind = offlineKind + kind
			case at != 0 && created.UnixNano() >= at:
				kind = endOp + kind // made by the drain's stampede
			}
			b.r.m.delivered(kind, p.Received.Sub(created))
			b.notified(m, p.Received)
		case *pb.QueueStatus:
			ev := queueEvent{state: m.State.String(), reason: m.Reason}
			if m.WaitingSinceMs > 0 {
				ev.since = time.UnixMilli(m.WaitingSinceMs)
			}
			offer(b.inbox, any(ev))
		}
	}
}

// notified puts what a notification asks of the player in the inbox.
func (b *bot) notified(n *pb.Notification, at time.Time) {
	var body struct {
		PlayerID string `json:"player_id"`
		PartyID  string `json:"party_id"`
	}
	switch n.Kind {
	case "friend.request":
		if json.Unmarshal(n.PayloadJson, &body) == nil && b.isLeader() {
			offer(b.inbox, any(friendAsk{id: body.PlayerID, accept: true}))
		}
	case "party.invite":
		if json.Unmarshal(n.PayloadJson, &body) == nil {
			offer(b.inbox, any(partyInvite(body.PartyID)))
		}
	case "match.found":
		var f matchFound
		if json.Unmarshal(n.PayloadJson, &f) == nil {
			f.received = at
			offer(b.inbox, any(f))
		}
	case "match.lost":
		b.r.m.matchesLost.Add(1)
	}
}

// offer puts v on ch unless ch is full (the inbox is generous; a full one
// means the player is stuck, which the run reports elsewhere).
func offer[T any](ch chan T, v T) {
	select {
	case ch <- v:
	default:
	}
}

// reconnect drops the socket as a lost network would (no Goodbye), waits,
// and resumes the session: every notification after the last one
// processed must follow, once.
func (b *bot) reconnect(ctx context.Context) {
	b.sockMu.Lock()
	s, routed := b.sock, b.routed
	b.sock = nil
	b.sockMu.Unlock()
	if s == nil {
		return
	}
	s.Abort()
	<-routed
	// Offline: the inbox waits for the resumed socket.
	sleep(ctx, b.r.draw(b.rng, b.r.sc.Reconnect))
	if err := b.connect(context.WithoutCancel(ctx), true); err != nil {
		// Connect afresh so the player plays on; the failure is counted.
		_ = b.connect(context.WithoutCancel(ctx), false)
		return
	}
	b.r.m.resumed.Add(1)
}

// tidy leaves a party or ticket an earlier run left behind.
func (b *bot) tidy(ctx context.Context) error {
	reply, err := b.rt(ctx, "rt.GetParty", &pb.GetParty{})
	if err != nil {
		return err
	}
	if st, ok := reply.(*pb.PartyState); ok && st.PartyId != "" {
		if _, err := b.rt(ctx, "rt.PartyLeave", &pb.PartyLeave{}); err != nil {
			return err
		}
	}
	reply, err = b.rt(ctx, "rt.GetQueueStatus", &pb.GetQueueStatus{})
	if err != nil {
		return err
	}
	if st, ok := reply.(*pb.QueueStatus); ok && st.State == pb.QueueState_QUEUE_STATE_WAITING {
		if _, err := b.rt(ctx, "rt.QueueCancel", &pb.QueueCancel{}); err != nil {
			return err
		}
	}
	return nil
}

// social forms the player's party: the leader creates it; a member asks
// the leader to be friends over REST and joins when invited.
func (b *bot) social(ctx context.Context) {
	g := b.group
	if g == nil {
		return
	}
	if b.isLeader() {
		defer close(g.ready)
		reply, err := b.rt(ctx, "rt.PartyCreate", &pb.PartyCreate{MaxSize: uint32(g.size)})
		if err != nil {
			return
		}
		if st, ok := reply.(*pb.PartyState); ok {
			g.partyID, g.leaderID, b.partyID = st.PartyId, b.id, st.PartyId
		}
		return
	}
	select {
	case <-g.ready:
	case <-b.playing:
		return
	case <-ctx.Done():
		return
	}
	if g.partyID == "" {
		return // the leader could not start; the member plays alone
	}
	b.joinAskedAt = time.Now()
	state, err := b.requestFriend(ctx, g.leaderID)
	if err != nil {
		return
	}
	if state == "friend" {
		// Friends from an earlier run: no request to accept, the leader
		// sees them online and invites them.
		offer(g.leader.inbox, any(friendAsk{id: b.id}))
	}
}

// welcome is the leader's answer to a friend who wants in: accept their
// request, then invite them to the party.
func (b *bot) welcome(ctx context.Context, ask friendAsk) {
	if ask.accept {
		if err := b.acceptFriend(ctx, ask.id); err != nil {
			return
		}
	}
	_, _ = b.rt(ctx, "rt.PartyInvite", &pb.PartyInvite{PlayerId: ask.id})
}

// joinParty answers an invitation.
func (b *bot) joinParty(ctx context.Context, partyID string) {
	if b.group == nil || partyID != b.group.partyID || b.partyID == partyID || b.r.stopping() {
		return // not this run's party, joined, or the run is over (the leader is leaving)
	}
	if _, err := b.rt(ctx, "rt.PartyJoin", &pb.PartyJoin{PartyId: partyID}); err != nil {
		return
	}
	b.partyID = partyID
	b.group.joined.Add(1)
	b.group.mu.Lock()
	b.group.in = append(b.group.in, b)
	b.group.mu.Unlock()
	if !b.joinAskedAt.IsZero() {
		b.r.m.roundTripped(time.Since(b.joinAskedAt))
	}
}

func (b *bot) listFriends(ctx context.Context) {
	_, _ = b.rt(ctx, "rt.ListFriends", &pb.ListFriends{})
}

func (b *bot) chat(ctx context.Context) {
	if b.partyID == "" {
		return
	}
	_, _ = b.rt(ctx, "rt.PartyChat", &pb.PartyChat{Text: "gg from " + b.name})
}

// closeSocket says Goodbye at the end of the run.
func (b *bot) closeSocket() {
	b.sockMu.Lock()
	s, routed := b.sock, b.routed
	b.sock = nil
	b.sockMu.Unlock()
	if s != nil {
		_ = s.Close()
		<-routed
	}
}
