package realtime_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// withFriends gives the gateway a friend store and a limit of writes per
// player.
func withFriends(cfg friend.Config, writes realtime.Rate) func(*env, *realtime.Deps) {
	return func(e *env, d *realtime.Deps) {
		d.Friends = friend.NewStore(e.db, cfg)
		d.Limiter = state.NewMemory()
		d.FriendWrites = writes
	}
}

// ask sends a request and reads its answer, which must carry its id.
func (c *client) ask(m proto.Message) proto.Message {
	c.t.Helper()
	id := c.send(m)
	got, reqID, err := c.read()
	for err == nil && reqID == 0 {
		if _, push := got.(*pb.PresenceChanged); !push {
			break
		}
		got, reqID, err = c.read() // friends' presence may arrive any time
	}
	if err != nil {
		c.t.Fatalf("answer to %T: %v", m, err)
	}
	if reqID != id {
		c.t.Fatalf("answer %T %v has request id %d, want %d", got, got, reqID, id)
	}
	return got
}

// act runs a FriendAction and expects Ok.
func (c *client) act(op pb.FriendOp, playerID string) {
	c.t.Helper()
	if m, ok := c.ask(&pb.FriendAction{PlayerId: playerID, Op: op}).(*pb.Ok); !ok {
		c.t.Fatalf("%v %s answered %T %v, want Ok", op, playerID, m, m)
	}
}

// refused runs a FriendAction and expects a non-fatal error with code.
func (c *client) refused(op pb.FriendOp, playerID string, code protocol.Code) *pb.Error {
	c.t.Helper()
	e, ok := c.ask(&pb.FriendAction{PlayerId: playerID, Op: op}).(*pb.Error)
	if !ok || protocol.Code(e.Code) != code || e.Fatal || e.Message == "" {
		c.t.Fatalf("%v %s answered %v, want error %d", op, playerID, e, code)
	}
	return e
}

// friends answers ListFriends as player id -> entry.
func (c *client) friends() map[string]*pb.Friend {
	c.t.Helper()
	l, ok := c.ask(&pb.ListFriends{}).(*pb.FriendList)
	if !ok {
		c.t.Fatalf("ListFriends answered %T", l)
	}
	out := map[string]*pb.Friend{}
	for _, f := range l.Friends {
		out[f.PlayerId] = f
	}
	return out
}

func TestFriendsOverTheSocket(t *testing.T) {
	e := newEnv(t, realtime.Config{RequestRate: 1000, RequestBurst: 1000}, withFriends(friend.Config{MaxOutgoing: 1}, realtime.Rate{N: 100, Per: time.Minute}))
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
	a, b, c := e.player(), e.player(), e.player()
	ca, cb := e.dial(), e.dial()
	ca.hello(a, "", 0)
	cb.hello(b, "", 0)
	time.Sleep(50 * time.Millisecond) // Follow has subscribed

	ca.act(pb.FriendOp_FRIEND_OP_REQUEST, b.public)
	if f := ca.friends()[b.public]; f == nil || f.State != pb.FriendState_FRIEND_STATE_OUTGOING || f.DisplayName == "" || f.SinceMs <= 0 {
		t.Fatalf("a's entry for b = %v", f)
	}
	if f := cb.friends()[a.public]; f == nil || f.State != pb.FriendState_FRIEND_STATE_INCOMING || f.Presence != nil {
		t.Fatalf("b's entry for a = %v", f)
	}
	// b is told live, through the outbox and the notification consumers.
	deliver(t, e, relay)
	n := cb.expect(&pb.Notification{}).(*pb.Notification)
	var payload friend.Payload
	if err := json.Unmarshal(n.PayloadJson, &payload); err != nil || n.Kind != friend.KindRequest || payload.PlayerID != a.public || payload.DisplayName == "" {
		t.Fatalf("b was pushed %v (%v)", n, err)
	}

	cb.act(pb.FriendOp_FRIEND_OP_ACCEPT, a.public)
	deliver(t, e, relay)
	n = ca.expect(&pb.Notification{}).(*pb.Notification)
	if n.Kind != friend.KindAccepted {
		t.Fatalf("a was pushed %v, want friend.accepted", n)
	}
	// Friends come with their presence (both are connected); others without.
	if f := ca.friends()[b.public]; f == nil || f.State != pb.FriendState_FRIEND_STATE_FRIEND ||
		f.Presence.GetStatus() != pb.Status_STATUS_ONLINE || f.Presence.GetPlayerId() != b.public {
		t.Fatalf("a's entry for b = %v", f)
	}
	cb.nc.Close()
	waitFor(t, func() bool { return ca.friends()[b.public].GetPresence().GetStatus() == pb.Status_STATUS_OFFLINE })
	cb = e.dial()
	cb.hello(b, "", 0)

	// Refusals answer the request and keep the connection.
	ca.refused(pb.FriendOp_FRIEND_OP_REQUEST, a.public, protocol.CodeInvalidArgument)
	ca.refused(pb.FriendOp_FRIEND_OP_REQUEST, "", protocol.CodeInvalidArgument)
	ca.refused(pb.FriendOp_FRIEND_OP_UNSPECIFIED, b.public, protocol.CodeInvalidArgument)
	ca.refused(pb.FriendOp(99), b.public, protocol.CodeInvalidArgument)
	ca.refused(pb.FriendOp_FRIEND_OP_REQUEST, "p_nobody", protocol.CodeNotFound)
	ca.refused(pb.FriendOp_FRIEND_OP_ACCEPT, c.public, protocol.CodeNotFound)
	ca.refused(pb.FriendOp_FRIEND_OP_UNBLOCK, c.public, protocol.CodeNotFound)
	ca.act(pb.FriendOp_FRIEND_OP_REQUEST, c.public)
	stranger := e.player()
	if r := ca.refused(pb.FriendOp_FRIEND_OP_REQUEST, stranger.public, protocol.CodeConflict); r.Message == friend.ErrLimit.Error() {
		t.Fatalf("limit message %q does not say which limit", r.Message)
	}
	ca.act(pb.FriendOp_FRIEND_OP_DECLINE, c.public)

	// a blocks b: their friendship ends, b cannot tell.
	ca.act(pb.FriendOp_FRIEND_OP_BLOCK, b.public)
	if f := ca.friends()[b.public]; f == nil || f.State != pb.FriendState_FRIEND_STATE_BLOCKED {
		t.Fatalf("a's entry for b = %v", f)
	}
	if len(cb.friends()) != 0 {
		t.Fatalf("b still lists a: %v", cb.friends())
	}
	ca.refused(pb.FriendOp_FRIEND_OP_REQUEST, b.public, protocol.CodeForbidden)
	cb.act(pb.FriendOp_FRIEND_OP_REQUEST, a.public) // looks pending to b
	ca.act(pb.FriendOp_FRIEND_OP_UNBLOCK, b.public)
	if len(cb.friends()) != 0 || len(ca.friends()) != 0 {
		t.Fatal("unblock left the block or the hidden request")
	}
	cb.refused(pb.FriendOp_FRIEND_OP_REMOVE, a.public, protocol.CodeNotFound)
	// Nothing else was pushed: blocks and declines tell nobody.
	deliver(t, e, relay)
	for _, cl := range []*client{ca, cb} {
		cl.send(&pb.Ping{Nonce: 1})
		cl.expect(&pb.Pong{})
	}
}

// deliver runs the notification consumers until nothing waits for them.
func deliver(t *testing.T, e *env, relay *outbox.Relay) {
	t.Helper()
	waitFor(t, func() bool {
		if _, err := relay.DeliverDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		var pending int
		_ = e.db.Get(&pending, `SELECT count(*) FROM outbox_deliveries WHERE state = 'pending' AND consumer = ANY('{notifications,notifications.publish}')`)
		return pending == 0
	})
}

func TestFriendsUnavailableWithoutTheService(t *testing.T) {
	e := newEnv(t, realtime.Config{})
	c := e.dial()
	c.hello(e.player(), "", 0)
	for _, m := range []proto.Message{&pb.ListFriends{}, &pb.FriendAction{PlayerId: "p_x", Op: pb.FriendOp_FRIEND_OP_REQUEST}} {
		if r, ok := c.ask(m).(*pb.Error); !ok || protocol.Code(r.Code) != protocol.CodeUnavailable || r.Fatal {
			t.Fatalf("%T answered %v, want UNAVAILABLE, not fatal", m, r)
		}
	}
}

func TestFriendActionsAreRateLimited(t *testing.T) {
	e := newEnv(t, realtime.Config{}, withFriends(friend.Config{}, realtime.Rate{N: 2, Per: time.Hour}))
	a, b := e.player(), e.player()
	c := e.dial()
	c.hello(a, "", 0)
	c.act(pb.FriendOp_FRIEND_OP_BLOCK, b.public)
	c.act(pb.FriendOp_FRIEND_OP_UNBLOCK, b.public)
	if r := c.refused(pb.FriendOp_FRIEND_OP_BLOCK, b.public, protocol.CodeRateLimited); r.RetryAfterMs < 1000 {
		t.Fatalf("retry_after_ms = %d", r.RetryAfterMs)
	}
	// Reads are not limited.
	if len(c.friends()) != 0 {
		t.Fatal("the refused block happened")
	}
}
