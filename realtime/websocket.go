package realtime

import (
	"encoding/binary"
	"errors"
	"net"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
)

// MountWebSocket serves the same protocol over WebSocket at path, for
// browsers and tools: each binary message holds exactly one frame
// (docs/protocol.md, "Transport").
func (g *Gateway) MountWebSocket(app fiber.Router, path string) {
	app.Get(path, func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return fiber.NewError(fiber.StatusUpgradeRequired, "connect with a WebSocket upgrade")
		}
		return c.Next()
	}, websocket.New(func(c *websocket.Conn) {
		g.handle(&wsConn{c: c})
	}, websocket.Config{ReadBufferSize: 1024, WriteBufferSize: 1024}))
}

// errTextMessage refuses text messages: frames are binary.
var errTextMessage = errors.New("websocket: text message; frames travel in binary messages")

// wsConn is a WebSocket connection seen as the byte stream of frames the
// gateway reads and writes.
type wsConn struct {
	c    *websocket.Conn
	rest []byte // what is left of the message being read
}

func (w *wsConn) Read(p []byte) (int, error) {
	for len(w.rest) == 0 {
		kind, msg, err := w.c.ReadMessage()
		if err != nil {
			return 0, err
		}
		if kind != websocket.BinaryMessage {
			return 0, errTextMessage
		}
		w.rest = msg
	}
	n := copy(p, w.rest)
	w.rest = w.rest[n:]
	return n, nil
}

// Write sends each whole frame of p as one binary message.
func (w *wsConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if len(p) < 4 {
			return written, errors.New("websocket: partial frame")
		}
		n := 4 + int(binary.BigEndian.Uint32(p))
		if n > len(p) {
			return written, errors.New("websocket: partial frame")
		}
		if err := w.c.WriteMessage(websocket.BinaryMessage, p[:n]); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

func (w *wsConn) Close() error                       { return w.c.Close() }
func (w *wsConn) LocalAddr() net.Addr                { return w.c.LocalAddr() }
func (w *wsConn) RemoteAddr() net.Addr               { return w.c.RemoteAddr() }
func (w *wsConn) SetReadDeadline(t time.Time) error  { return w.c.SetReadDeadline(t) }
func (w *wsConn) SetWriteDeadline(t time.Time) error { return w.c.SetWriteDeadline(t) }
func (w *wsConn) SetDeadline(t time.Time) error {
	if err := w.c.SetReadDeadline(t); err != nil {
		return err
	}
	return w.c.SetWriteDeadline(t)
}
