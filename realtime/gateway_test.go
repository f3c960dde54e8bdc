package realtime_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

func TestHandshakeAndHeartbeat(t *testing.T) {
	e := newEnv(t, realtime.Config{})
	p := e.player()
	c := e.dial()
	w := c.hello(p, "", 0)
	if w.Version != 1 || w.PlayerId != p.public || w.ResumeToken == "" || w.Resumed || w.HeartbeatMs == 0 {
		t.Fatalf("welcome = %v", w)
	}
	id := c.send(&pb.Ping{Nonce: 7})
	m, reqID, err := c.read()
	if err != nil || reqID != id || m.(*pb.Pong).Nonce != 7 {
		t.Fatalf("pong = %v request %d, %v; want nonce 7 for request %d", m, reqID, err, id)
	}
	// Unknown types from clients are answered, not fatal.
	c.send(&pb.Welcome{})
	c.expectError(protocol.CodeUnknownType, false)
	c.send(&pb.Ping{Nonce: 8})
	c.expect(&pb.Pong{})
}

func TestHandshakeRefusals(t *testing.T) {
	e := newEnv(t, realtime.Config{})
	p := e.player()
	cases := []struct {
		name string
		send func(c *client)
		code protocol.Code
	}{
		{"ping before hello", func(c *client) { c.send(&pb.Ping{}) }, protocol.CodeOutOfOrder},
		{"bad token", func(c *client) { c.send(&pb.Hello{Versions: []uint32{1}, AccessToken: "nope"}) }, protocol.CodeUnauthenticated},
		{"no common version", func(c *client) { c.send(&pb.Hello{Versions: []uint32{2}, AccessToken: p.token}) }, protocol.CodeUnsupportedVersion},
		{"oversized frame", func(c *client) { _, _ = c.nc.Write([]byte{0, 0x10, 0, 0, 0, 1}) }, protocol.CodeFrameTooLarge},
		{"garbage body", func(c *client) { _, _ = c.nc.Write([]byte{0, 0, 0, 8, 0, 1, 0, 0, 0, 1, 0xff, 0xff}) }, protocol.CodeBadFrame},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial()
			c.t = t
			tc.send(c)
			c.expectError(tc.code, true)
		})
	}
	// A second Hello on a live connection.
	c := e.dial()
	c.hello(p, "", 0)
	c.send(&pb.Hello{Versions: []uint32{1}, AccessToken: p.token})
	c.expectError(protocol.CodeOutOfOrder, true)
}

func TestNotificationsLiveAndResumedExactlyOnce(t *testing.T) {
	e := newEnv(t, realtime.Config{})
	p := e.player()
	c := e.dial()
	w := c.hello(p, "", 0)
	for range 3 {
		e.gw.Deliver(p.id, e.shelf.add(p.id, "party.invite"))
	}
	if got := c.notes(3); !slices.Equal(got, seqs(1, 3)) {
		t.Fatalf("live seqs %v", got)
	}
	// A republished notification is not sent again.
	e.gw.Deliver(p.id, realtime.Note{Seq: 2, ID: "n2", Kind: "party.invite", Payload: []byte(`{}`)})
	// The client drops after processing seq 2; 4 and 5 arrive meanwhile.
	c.nc.Close()
	waitFor(t, func() bool { return e.gw.Connections() == 0 })
	e.shelf.add(p.id, "progression.level_up")
	e.shelf.add(p.id, "progression.level_up")

	c2 := e.dial()
	w2 := c2.hello(p, w.ResumeToken, 2)
	if !w2.Resumed || w2.ResumeToken != w.ResumeToken {
		t.Fatalf("resume welcome = %v", w2)
	}
	if got := c2.notes(3); !slices.Equal(got, seqs(3, 5)) {
		t.Fatalf("resumed seqs %v, want 3..5", got)
	}
	// Live again, and a gap this node missed (7 before 6) is filled in order.
	e.shelf.add(p.id, "x")
	n7 := e.shelf.add(p.id, "x")
	e.gw.Deliver(p.id, n7)
	if got := c2.notes(2); !slices.Equal(got, seqs(6, 7)) {
		t.Fatalf("after a gap: %v, want 6, 7", got)
	}
	c2.send(&pb.Ping{})
	c2.expect(&pb.Pong{})

	// Another player's resume token, or an unknown one, starts a new session.
	q := e.player()
	c3 := e.dial()
	c3.send(&pb.Hello{Versions: []uint32{1}, AccessToken: q.token, ResumeToken: w.ResumeToken})
	c3.expectError(protocol.CodeResumeFailed, false)
	if w3 := c3.expect(&pb.Welcome{}).(*pb.Welcome); w3.Resumed || w3.ResumeToken == w.ResumeToken {
		t.Fatalf("another player's resume = %v", w3)
	}
}

func TestSlowConsumerIsCutOffWithoutDelayingOthers(t *testing.T) {
	e := newEnv(t, realtime.Config{SendQueue: 16, WriteTimeout: 200 * time.Millisecond})
	slow, fast := e.player(), e.player()
	sc := e.dial()
	_ = sc.nc.(*net.TCPConn).SetReadBuffer(4 << 10) // no room in the kernel either
	sc.hello(slow, "", 0)
	fc := e.dial()
	fc.hello(fast, "", 0)
	// The slow client reads nothing while 16 MB of notifications pile up.
	big := make([]byte, 32<<10)
	for i := range big {
		big[i] = 'a'
	}
	payload := append(append([]byte(`{"s":"`), big...), '"', '}')
	start := time.Now()
	for i := range 512 {
		e.gw.Deliver(slow.id, realtime.Note{Seq: uint64(i + 1), ID: "x", Kind: "spam", Payload: payload})
	}
	// Blocking on the slow client would take its write timeout per note;
	// the bound leaves room for encoding 16 MB on a loaded machine.
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("delivering to a slow client took %s: delivery must not wait for it", d)
	}
	e.gw.Deliver(fast.id, realtime.Note{Seq: 1, ID: "f", Kind: "ok", Payload: []byte(`{}`)})
	fc.notes(1)
	waitFor(t, func() bool { return e.gw.Connections() == 1 })
	// The slow client was cut off: it reads what reached its buffers, then
	// the end of the connection (with the slow-consumer error when the
	// server could still write it).
	_ = sc.nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		if _, err := sc.r.Read(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the slow client's connection was not closed")
			}
			break
		}
	}
}

func TestRevokedSessionIsCutOffAtTheNextHeartbeat(t *testing.T) {
	e := newEnv(t, realtime.Config{})
	p := e.player()
	c := e.dial()
	c.hello(p, "", 0)
	if err := e.sessions.Revoke(context.Background(), p.id, p.sessID, "logout"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		c.send(&pb.Ping{})
		m, _, err := c.read()
		if err != nil {
			return true
		}
		if er, ok := m.(*pb.Error); ok {
			if protocol.Code(er.Code) != protocol.CodeUnauthenticated || !er.Fatal {
				t.Fatalf("revoked: %v", er)
			}
			return true
		}
		return false
	})
}

func TestIdleConnectionIsClosed(t *testing.T) {
	e := newEnv(t, realtime.Config{IdleTimeout: 150 * time.Millisecond})
	c := e.dial()
	c.hello(e.player(), "", 0)
	c.expectError(protocol.CodeIdleTimeout, true)
}

func TestDrainTellsClientsToReconnect(t *testing.T) {
	e := newEnv(t, realtime.Config{})
	a, b := e.dial(), e.dial()
	a.hello(e.player(), "", 0)
	b.hello(e.player(), "", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { e.gw.Drain(ctx, 200*time.Millisecond); close(done) }()
	ra := a.expect(&pb.Reconnect{}).(*pb.Reconnect)
	rb := b.expect(&pb.Reconnect{}).(*pb.Reconnect)
	if ra.DelayMs == rb.DelayMs {
		t.Errorf("both clients were told to come back after %d ms: the hints should spread", ra.DelayMs)
	}
	// A new connection during the drain is refused.
	c := e.dial()
	c.send(&pb.Hello{Versions: []uint32{1}, AccessToken: e.player().token})
	c.expectError(protocol.CodeUnavailable, true)
	<-done
	if n := e.gw.Connections(); n != 0 {
		t.Fatalf("%d connections left after the drain deadline", n)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal("condition not met within 5 s")
}
