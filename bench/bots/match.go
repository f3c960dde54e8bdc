package bots

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/musterhq/muster/realtime/protocol/pb"
)

// play queues the player (or, for a leader, the whole party, once its
// members joined) and waits for match.found, which idle turns into a
// match on one of the bots' servers. A party member does not queue: they
// wait a little for their leader's ticket.
func (b *bot) play(ctx context.Context) {
	if b.group != nil && !b.isLeader() {
		if b.partyID != "" {
			b.awaitMatch(ctx, b.r.draw(b.rng, b.r.sc.Think))
			return
		}
		// Not in the party yet: queueing alone would leave the party's
		// ticket short of this player.
		return
	}
	if b.isLeader() && int(b.group.joined.Load()) < len(b.group.members) && time.Since(b.started) < 30*time.Second {
		return // members are still arriving
	}
	q := b.r.sc.Match
	lat := map[string]uint32{}
	for region, ms := range q.Latency {
		lat[region] = uint32(ms + b.rng.IntN(q.Jitter+1))
	}
	reply, err := b.rt(ctx, "rt.QueueJoin", &pb.QueueJoin{Queue: q.Queue, LatencyMs: lat})
	if err != nil {
		return
	}
	if st, ok := reply.(*pb.QueueStatus); ok && st.WaitingSinceMs > 0 {
		b.waitingSince = time.UnixMilli(st.WaitingSinceMs)
	} else {
		b.waitingSince = time.Now()
	}
	b.r.m.queued.Add(1)
	played := b.played
	b.awaitMatch(ctx, q.Wait.D())
	if b.played == played && !b.waitingSince.IsZero() {
		// No match within the wait (or the run ended): cancel the ticket.
		stopping := b.r.stopping()
		b.cancelTicket(ctx)
		if !stopping {
			b.fail("match_wait", flowErr("match_wait_timeout", "no match.found within %s of queueing %s", q.Wait.D(), q.Queue))
		}
	}
}

// awaitMatch idles until a match was played or d passed.
func (b *bot) awaitMatch(ctx context.Context, d time.Duration) {
	end := time.Now().Add(d)
	played := b.played
	queued := !b.waitingSince.IsZero()
	for b.played == played && ctx.Err() == nil && !b.r.stopping() && time.Now().Before(end) {
		if queued && b.waitingSince.IsZero() {
			return // the ticket was cancelled
		}
		b.idle(ctx, min(time.Until(end), 500*time.Millisecond))
	}
}

func (b *bot) cancelTicket(ctx context.Context) {
	if b.waitingSince.IsZero() {
		return
	}
	b.waitingSince = time.Time{}
	b.r.m.queued.Add(-1)
	// Not found: the ticket was matched (or cancelled by a teammate) meanwhile.
	_, _ = b.rt(ctx, "rt.QueueCancel", &pb.QueueCancel{}, "rt_not_found")
}

// queueChanged follows the ticket's pushes: a party member learns that
// their leader queued; a cancellation nobody asked for is a failure.
func (b *bot) queueChanged(ev queueEvent) {
	switch ev.state {
	case pb.QueueState_QUEUE_STATE_WAITING.String():
		if b.waitingSince.IsZero() && !b.isLeader() && b.group != nil {
			b.waitingSince = ev.since
			if b.waitingSince.IsZero() {
				b.waitingSince = time.Now()
			}
			b.r.m.queued.Add(1)
		}
	case pb.QueueState_QUEUE_STATE_CANCELLED.String():
		if !b.waitingSince.IsZero() {
			b.waitingSince = time.Time{}
			b.r.m.queued.Add(-1)
			switch {
			case ev.reason == "party_changed":
				// A member joined after the leader queued (a slow login):
				// the platform cancels the ticket and the leader queues the
				// new party at their next turn.
				b.r.m.requeued.Add(1)
			case !b.r.stopping() && ev.reason != "cancelled":
				b.fail("ticket", flowErr("ticket_cancelled_"+ev.reason, "the ticket was cancelled: %s", ev.reason))
			}
		}
	}
}

// playMatch connects to the server match.found names and stays in the
// match until the server ends it.
func (b *bot) playMatch(ctx context.Context, f matchFound) {
	if !b.waitingSince.IsZero() {
		b.r.m.waited(f.received.Sub(b.waitingSince))
		b.waitingSince = time.Time{}
		b.r.m.queued.Add(-1)
	}
	srv := b.r.fleet.byAddr(net.JoinHostPort(f.Address, strconv.Itoa(f.Port)))
	if srv == nil {
		b.fail("match_connect", flowErr("unknown_server", "match %s is on %s:%d, not one of the bots' servers", f.MatchID, f.Address, f.Port))
		return
	}
	done, err := srv.connect(ctx, f.MatchID, b.id)
	if err != nil {
		b.fail("match_connect", err)
		return
	}
	b.r.m.inMatch.Add(1)
	defer b.r.m.inMatch.Add(-1)
	// The server ends the match, also when the run ends (then sooner).
	select {
	case res := <-done:
		b.played++
		if res.accepted {
			b.accepted++
		}
	case <-time.After(b.r.sc.Match.Length.Max.D() + b.r.sc.Match.Connect.D() + b.r.sc.Drain.D()):
		b.fail("match", flowErr("match_never_ended", "match %s did not end", f.MatchID))
	}
}
