package realtime_test

import (
	"net"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// wsClient speaks the protocol over WebSocket: one frame per binary message.
type wsClient struct {
	t    *testing.T
	c    *websocket.Conn
	next uint32
}

func (e *env) dialWS(t *testing.T) *wsClient {
	app := fiber.New()
	e.gw.MountWebSocket(app, "/v1/realtime")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	c, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/v1/realtime", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(m proto.Message) {
	w.t.Helper()
	w.next++
	frame, err := protocol.Append(nil, w.next, m)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.c.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsClient) read() proto.Message {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	kind, msg, err := w.c.ReadMessage()
	if err != nil || kind != websocket.BinaryMessage {
		w.t.Fatalf("read: %v (message type %d)", err, kind)
	}
	f, err := protocol.NewReader(bytesReader(msg), protocol.DefaultMaxFrame).Read()
	if err != nil {
		w.t.Fatal(err)
	}
	if n := 4 + 6 + len(f.Body); n != len(msg) {
		w.t.Fatalf("a message of %d bytes held a frame of %d: one frame per message", len(msg), n)
	}
	m, err := protocol.Decode(f)
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func TestWebSocketCarriesTheSameProtocol(t *testing.T) {
	e := newEnv(t, realtime.Config{})
	p := e.player()
	w := e.dialWS(t)
	w.send(&pb.Hello{Versions: []uint32{1}, AccessToken: p.token})
	welcome, ok := w.read().(*pb.Welcome)
	if !ok || welcome.PlayerId != p.public {
		t.Fatalf("welcome = %v", welcome)
	}
	w.send(&pb.Ping{Nonce: 5})
	if pong, ok := w.read().(*pb.Pong); !ok || pong.Nonce != 5 {
		t.Fatalf("pong = %v", pong)
	}
	e.gw.Deliver(p.id, e.shelf.add(p.id, "party.invite"))
	if n, ok := w.read().(*pb.Notification); !ok || n.Seq != 1 || n.Kind != "party.invite" {
		t.Fatalf("notification = %v", n)
	}
	// Text messages are not frames: the connection ends.
	if err := w.c.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := w.c.ReadMessage(); err != nil {
			break
		}
	}
}
