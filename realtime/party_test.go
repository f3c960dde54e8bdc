package realtime_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// TestPartyOverTheSocket runs a party between two friends through the
// gateway: presence pushes, create, invite (a stored notification through
// the outbox), join, the pushed state, chat, kick, and the errors.
func TestPartyOverTheSocket(t *testing.T) {
	e := newEnv(t, realtime.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.gw.Follow(ctx, e.ps) }()
	store := notify.NewStore(e.db, notify.Config{})
	relay := outbox.NewRelay(e.db, "", nil, nil, outbox.Config{})
	for _, c := range []outbox.Consumer{store.Consumer(), store.Publisher(e.ps)} {
		if err := relay.Register(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		for ctx.Err() == nil {
			_, _ = relay.DeliverDue(ctx)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	a, b, stranger := e.player(), e.player(), e.player()
	e.befriend(a, b)
	ca := e.dial()
	ca.hello(a, "", 0)
	time.Sleep(50 * time.Millisecond) // Follow has subscribed
	cb := e.dial()
	cb.hello(b, "", 0)

	pc := ca.until(&pb.PresenceChanged{}).(*pb.PresenceChanged)
	if pc.Presence.PlayerId != b.public || pc.Presence.Status != pb.Status_STATUS_ONLINE {
		t.Fatalf("presence of b: %v", pc)
	}
	if st := ca.call(&pb.GetParty{}).(*pb.PartyState); st.PartyId != "" {
		t.Fatalf("no party yet: %v", st)
	}
	created := ca.call(&pb.PartyCreate{MaxSize: 4}).(*pb.PartyState)
	if created.PartyId == "" || created.LeaderId != a.public || len(created.Members) != 1 {
		t.Fatalf("created %v", created)
	}
	ca.callErr(&pb.PartyInvite{PlayerId: stranger.public}, protocol.CodeForbidden)
	ca.callErr(&pb.PartyCreate{}, protocol.CodeConflict)
	if _, ok := ca.call(&pb.PartyInvite{PlayerId: b.public}).(*pb.Ok); !ok {
		t.Fatal("invite refused")
	}

	var n *pb.Notification
	for n == nil || n.Kind != "party.invite" {
		n = cb.until(&pb.Notification{}).(*pb.Notification)
	}
	var inv struct {
		PartyID      string `json:"party_id"`
		FromPlayerID string `json:"from_player_id"`
	}
	if n.Kind != "party.invite" || json.Unmarshal(n.PayloadJson, &inv) != nil || inv.PartyID != created.PartyId || inv.FromPlayerID != a.public {
		t.Fatalf("invitation %v", n)
	}
	cb.send(&pb.Ack{Seq: n.Seq})
	joined := cb.call(&pb.PartyJoin{PartyId: inv.PartyID}).(*pb.PartyState)
	if len(joined.Members) != 2 || joined.Members[1].PlayerId != b.public {
		t.Fatalf("joined %v", joined)
	}
	for {
		st := ca.until(&pb.PartyState{}).(*pb.PartyState)
		if st.Version == joined.Version {
			if len(st.Members) != 2 {
				t.Fatalf("pushed state %v", st)
			}
			break
		}
	}

	cb.call(&pb.PartyChat{Text: "gg"})
	line := ca.until(&pb.PartyChatMessage{}).(*pb.PartyChatMessage)
	if line.Text != "gg" || line.PlayerId != b.public || line.PartyId != created.PartyId {
		t.Fatalf("chat %v", line)
	}
	cb.callErr(&pb.PartyKick{PlayerId: a.public}, protocol.CodeForbidden)
	cb.callErr(&pb.SetStatus{Text: string(make([]byte, 100))}, protocol.CodeInvalidArgument)
	ca.call(&pb.PartyKick{PlayerId: b.public})
	left := cb.until(&pb.PartyLeft{}).(*pb.PartyLeft)
	if left.PartyId != created.PartyId || left.Reason != "kicked" {
		t.Fatalf("left %v", left)
	}
	cb.callErr(&pb.PartyLeave{}, protocol.CodeNotFound)
	cb.callErr(&pb.PartyJoin{}, protocol.CodeInvalidArgument)

	// b goes away: a hears it.
	cb.send(&pb.Goodbye{Reason: "quit"})
	for {
		pc := ca.until(&pb.PresenceChanged{}).(*pb.PresenceChanged)
		if pc.Presence.PlayerId == b.public && pc.Presence.Status == pb.Status_STATUS_OFFLINE {
			break
		}
	}
}

// TestRequestsAreRateLimited: a connection that floods requests gets
// RATE_LIMITED answers with a retry hint, and is served again once it
// waits as long as the hint says.
func TestRequestsAreRateLimited(t *testing.T) {
	// One token a second: however slow the machine, the 10 requests sent
	// at once cannot all be served from a burst of 5 by refills.
	e := newEnv(t, realtime.Config{RequestRate: 1, RequestBurst: 5})
	p := e.player()
	c := e.dial()
	c.hello(p, "", 0)
	ids := map[uint32]bool{}
	for range 10 {
		ids[c.send(&pb.GetParty{})] = true
	}
	served, limited := 0, 0
	var last *pb.Error   // the last RATE_LIMITED answer
	lastLimited := false // the last answer was RATE_LIMITED
	for len(ids) > 0 {
		m, reqID, err := c.read()
		if err != nil {
			t.Fatalf("answers: %v", err)
		}
		if !ids[reqID] {
			continue // a push
		}
		delete(ids, reqID)
		lastLimited = false
		switch m := m.(type) {
		case *pb.PartyState:
			served++
		case *pb.Error:
			// Tokens never go below zero: the wait for one is at most 1 s.
			if protocol.Code(m.Code) != protocol.CodeRateLimited || m.RetryAfterMs == 0 || m.RetryAfterMs > 1000 || m.Fatal {
				t.Fatalf("error %v", m)
			}
			limited++
			last, lastLimited = m, true
		default:
			t.Fatalf("answered %T %v", m, m)
		}
	}
	if limited == 0 {
		t.Fatal("10 requests at once with a burst of 5 were all served")
	}
	if served < 5 {
		t.Fatalf("%d of 10 requests served, want the burst of 5", served)
	}
	// Waiting as long as the hint says frees a token. The hint to wait is
	// the last answer's: if that was served (a refill on a slow machine),
	// the next request may be limited again, and its own hint counts.
	isState := func(m proto.Message) bool { _, ok := m.(*pb.PartyState); return ok }
	limitedErr := func(m proto.Message) *pb.Error {
		t.Helper()
		er, ok := m.(*pb.Error)
		if !ok || protocol.Code(er.Code) != protocol.CodeRateLimited || er.RetryAfterMs == 0 || er.Fatal {
			t.Fatalf("answered %T %v", m, m)
		}
		return er
	}
	if !lastLimited {
		m := c.call(&pb.GetParty{})
		if isState(m) {
			return // served again after the refill
		}
		last = limitedErr(m)
	}
	time.Sleep(time.Duration(last.RetryAfterMs) * time.Millisecond)
	if m := c.call(&pb.GetParty{}); !isState(m) {
		t.Fatalf("after waiting the retry hint of %d ms: %T %v", last.RetryAfterMs, m, m)
	}
}

// TestWelcomeComesFirst: pushes flowing to a player while they connect
// never reach the client before its Welcome.
func TestWelcomeComesFirst(t *testing.T) {
	e := newEnv(t, realtime.Config{})
	p := e.player()
	stop := make(chan struct{})
	defer close(stop)
	data, _ := json.Marshal(map[string]any{"party_id": "pt_x", "player_id": "p_x", "text": "spam", "sent_at": time.Now()})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Microsecond):
				e.gw.Push(push.Event{To: []int64{p.id}, Kind: party.KindChat, Data: data})
			}
		}
	}()
	for range 30 {
		c := e.dial()
		c.send(&pb.Hello{Versions: []uint32{1}, AccessToken: p.token})
		m, _, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*pb.Welcome); !ok {
			t.Fatalf("first frame %T %v, want Welcome", m, m)
		}
		c.nc.Close()
	}
}
