package realtime

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// backlogPage bounds one read of stored notifications while resuming.
const backlogPage = 500

// conn is one client connection after a successful handshake.
type conn struct {
	g      *Gateway
	nc     net.Conn
	id     string // this connection's id, for presence
	resume string // the session's resume token

	writers sync.WaitGroup // the writer goroutine, while one runs
	beats   sync.WaitGroup // the heartbeat's refresh, while one runs (beater)
	beating atomic.Bool    // a refresh is queued or running

	// Request rate limit, touched only by the reader goroutine.
	reqTokens float64
	reqAt     time.Time

	mu      sync.Mutex
	claims  session.Claims
	token   string   // the access token claims came from
	queue   [][]byte // frames waiting for the writer
	writing bool     // a writer goroutine is running
	closing bool     // close once the queue is written
	slow    bool     // cut off as a slow consumer
	closed  bool
	ended   bool   // the connection's end began: no more heartbeat refreshes
	sent    uint64 // the highest notification seq queued
	filling bool   // notifications are being read from the store; live ones wait in pending
	pending []Note
}

// handle runs one connection from its first byte to its close, in the
// caller's goroutine (the WebSocket handler's).
func (g *Gateway) handle(nc net.Conn) {
	if c, r := g.handshake(nc); c != nil {
		c.run(r)
	}
}

// accept runs a TCP connection: the handshake in this goroutine, then the
// connection in a fresh one. The handshake (the token's signature check
// above all) grows a goroutine's stack to 8 KiB, which it keeps; the
// fresh goroutine waits for the client's frames in 4 KiB, which halves
// what an idle connection costs (BenchmarkIdleConnections).
func (g *Gateway) accept(nc net.Conn) {
	if c, r := g.handshake(nc); c != nil {
		go c.run(r)
	}
}

// handshake reads Hello, checks it, registers the connection and queues
// Welcome. It returns the connection and a reader for its next frames, or
// nil after refusing and closing the connection.
func (g *Gateway) handshake(nc net.Conn) (*conn, *protocol.Reader) {
	ok := false
	defer func() {
		if !ok {
			nc.Close()
		}
	}()
	r := protocol.NewReader(nc, g.cfg.MaxFrame)
	_ = nc.SetReadDeadline(time.Now().Add(g.cfg.HandshakeTimeout))
	f, err := r.Read()
	if err != nil {
		g.refuse(nc, readProblem(err))
		return nil, nil
	}
	// The handshake is a request: its span starts once its frame is in.
	ctx, span := g.startRequest(context.Background(), "Hello", f.RequestID, "")
	var claims session.Claims
	resumed := false
	outcome := outcomeOK
	defer func() {
		if span != nil {
			endRequest(span, outcome, attrPlayer.String(claims.PlayerID), attrResumed.Bool(resumed))
		}
	}()
	refuse := func(p problem) {
		outcome = p.code
		g.refuse(nc, p)
	}
	if f.Type != protocol.TypeHello {
		refuse(problem{protocol.CodeOutOfOrder, "send Hello first", f.RequestID})
		return nil, nil
	}
	var hello pb.Hello
	if err := proto.Unmarshal(f.Body, &hello); err != nil {
		refuse(problem{protocol.CodeBadFrame, "malformed Hello", f.RequestID})
		return nil, nil
	}
	if !slices.Contains(hello.Versions, protocol.Version) {
		refuse(problem{protocol.CodeUnsupportedVersion, "this server speaks version 1", f.RequestID})
		return nil, nil
	}
	claims, err = g.verify.Verify(ctx, hello.AccessToken)
	if err != nil {
		refuse(tokenProblem(err, f.RequestID))
		return nil, nil
	}
	c := &conn{g: g, nc: nc, id: newToken(), claims: claims, token: hello.AccessToken}
	resumed = g.resumable(ctx, hello.ResumeToken, claims.AccountID)
	if resumed {
		c.resume, c.sent, c.filling = hello.ResumeToken, hello.LastSeq, true
	} else {
		// A new session starts after the latest stored notification; the
		// client reads older ones over REST.
		last, err := g.notes.LastSeq(ctx, claims.AccountID)
		if err != nil {
			g.log.Warn("realtime: read the latest notification", "player_id", claims.PlayerID, "err", err)
			refuse(problem{protocol.CodeInternal, "try again", f.RequestID})
			return nil, nil
		}
		c.resume, c.sent = newToken(), last
	}
	// The answer to Hello is queued as the connection is registered, so no
	// notification or push can reach the client before its Welcome.
	var answer []byte
	if hello.ResumeToken != "" && !resumed {
		answer, _ = protocol.Append(answer, 0, &pb.Error{Code: uint32(protocol.CodeResumeFailed), Message: "the session cannot be resumed: a new one started"})
	}
	answer, err = protocol.Append(answer, f.RequestID, &pb.Welcome{Version: protocol.Version, SessionId: claims.SessionID, ResumeToken: c.resume,
		HeartbeatMs: uint32(g.cfg.Heartbeat.Milliseconds()), IdleTimeoutMs: uint32(g.cfg.IdleTimeout.Milliseconds()),
		MaxFrame: uint32(g.cfg.MaxFrame), Resumed: resumed, PlayerId: claims.PlayerID,
		ResumeWindowMs: uint32(g.cfg.ResumeWindow.Milliseconds())})
	if err != nil {
		refuse(problem{protocol.CodeInternal, "try again", f.RequestID})
		return nil, nil
	}
	g.keepResumable(ctx, c.resume, claims.AccountID)
	if !g.add(c, answer) {
		refuse(problem{protocol.CodeUnavailable, "this node is draining: connect again", f.RequestID})
		return nil, nil
	}
	g.online(ctx, c)
	if resumed {
		go c.fill()
	}
	// The Hello's buffer is not kept: the next frames are heartbeats.
	ok = true
	return c, protocol.NewReader(nc, g.cfg.MaxFrame)
}

// run serves a registered connection until it ends, then unregisters it.
func (c *conn) run(r *protocol.Reader) {
	g := c.g
	defer func() {
		g.remove(c)
		c.mu.Lock()
		c.ended = true
		c.mu.Unlock()
		c.beats.Wait() // a heartbeat's refresh must not bring the player back online after offline
		g.offline(c)
		g.keepResumable(context.Background(), c.resume, c.claimsNow().AccountID)
		// The writer may still be sending a last error frame (its write
		// deadline bounds it); the connection is closed after it, and
		// nothing uses it once the handler returns.
		c.writers.Wait()
		c.close()
	}()
	c.serve(context.Background(), r)
}

// serve reads the client's frames until the connection ends.
func (c *conn) serve(ctx context.Context, r *protocol.Reader) {
	g := c.g
	for {
		_ = c.nc.SetReadDeadline(time.Now().Add(g.cfg.IdleTimeout))
		f, err := r.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.fail(readProblem(err))
			}
			return
		}
		if time.Now().After(c.claimsNow().ExpiresAt) {
			c.fail(problem{protocol.CodeTokenExpired, "the access token expired", f.RequestID})
			return
		}
		m, err := protocol.Decode(f)
		switch {
		case errors.Is(err, protocol.ErrUnknownType):
			c.send(f.RequestID, &pb.Error{Code: uint32(protocol.CodeUnknownType), Message: "unknown message type"})
			continue
		case err != nil:
			c.fail(problem{protocol.CodeBadFrame, "malformed message", f.RequestID})
			return
		}
		switch m := m.(type) {
		case *pb.Ping:
			// Each heartbeat checks the token again, so a revoked session
			// (logout, password change, ban) is cut off within one.
			if _, err := g.verify.Verify(ctx, c.tokenNow()); err != nil {
				c.fail(tokenProblem(err, f.RequestID))
				return
			}
			c.g.beater.add(c)
			c.send(f.RequestID, &pb.Pong{Nonce: m.Nonce, ServerTimeMs: time.Now().UnixMilli()})
		case *pb.RefreshToken:
			rctx, span := g.startRequest(ctx, "RefreshToken", f.RequestID, c.claimsNow().PlayerID)
			endRequest(span, c.refresh(rctx, f.RequestID, m))
		case *pb.Ack:
			// Notifications stay stored either way; acks matter to the
			// client's own resume position (last_seq).
		case *pb.Goodbye:
			return
		case *pb.Hello:
			c.fail(problem{protocol.CodeOutOfOrder, "Hello was already sent", f.RequestID})
			return
		default:
			if h, ok := handlers[f.Type]; ok {
				c.answer(ctx, h, f.RequestID, m)
				continue
			}
			c.send(f.RequestID, &pb.Error{Code: uint32(protocol.CodeUnknownType), Message: "the server does not take this message"})
		}
	}
}

// refresh replaces the connection's access token with a newer one of the
// same player and returns the code it was refused with, or outcomeOK.
func (c *conn) refresh(ctx context.Context, requestID uint32, m *pb.RefreshToken) protocol.Code {
	claims, err := c.g.verify.Verify(ctx, m.AccessToken)
	if err != nil || claims.AccountID != c.claimsNow().AccountID {
		if err == nil {
			err = session.ErrInvalidToken
		}
		code := tokenProblem(err, 0).code
		c.send(requestID, &pb.Error{Code: uint32(code), Message: "the new token was refused"})
		return code
	}
	c.setClaims(claims, m.AccessToken)
	c.send(requestID, &pb.TokenRefreshed{ExpiresAtMs: claims.ExpiresAt.UnixMilli()})
	return outcomeOK
}

// tokenNow is the connection's current access token, checked again on
// every heartbeat.
func (c *conn) tokenNow() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

func (c *conn) claimsNow() session.Claims {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.claims
}

func (c *conn) setClaims(cl session.Claims, token string) {
	c.mu.Lock()
	c.claims, c.token = cl, token
	c.mu.Unlock()
}

// deliver queues a live notification in seq order, once.
func (c *conn) deliver(n Note) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
	case c.filling:
		c.pending = append(c.pending, n)
	case n.Seq <= c.sent:
		// Already sent (a republished or resumed notification).
	case n.Seq == c.sent+1:
		c.pushLocked(n)
	default:
		// This node missed some: read them from the store, then this one.
		c.filling = true
		c.pending = append(c.pending, n)
		go c.fill()
	}
}

// fill sends the stored notifications after c.sent, then the live ones
// that arrived meanwhile, and returns to live delivery.
func (c *conn) fill() {
	ctx, cancel := context.WithTimeout(context.Background(), c.g.cfg.WriteTimeout)
	defer cancel()
	for {
		c.mu.Lock()
		after, closed, account := c.sent, c.closed, c.claims.AccountID
		c.mu.Unlock()
		if closed {
			return
		}
		notes, err := c.g.notes.Since(ctx, account, after, backlogPage)
		if err != nil {
			c.g.log.Warn("realtime: read missed notifications", "player_id", c.claimsNow().PlayerID, "err", err)
			c.fail(problem{protocol.CodeInternal, "could not read missed notifications: reconnect and resume", 0})
			return
		}
		c.mu.Lock()
		for _, n := range notes {
			if n.Seq > c.sent {
				c.pushLocked(n)
			}
		}
		if len(notes) == backlogPage {
			c.mu.Unlock()
			continue
		}
		pending := c.pending
		c.pending = nil
		slices.SortFunc(pending, func(a, b Note) int { return compareSeq(a.Seq, b.Seq) })
		gap := false
		for _, n := range pending {
			switch {
			case n.Seq <= c.sent:
			case n.Seq == c.sent+1:
				c.pushLocked(n)
			default:
				gap = true
			}
		}
		if !gap {
			c.filling = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pushLocked queues n as a Notification frame; c.mu is held.
func (c *conn) pushLocked(n Note) {
	c.sent = n.Seq
	frame, err := protocol.Append(nil, 0, &pb.Notification{Seq: n.Seq, Id: n.ID, Kind: n.Kind, PayloadJson: n.Payload, CreatedAtMs: n.CreatedAt.UnixMilli()})
	if err != nil {
		return
	}
	c.enqueueLocked(frame)
	c.g.metrics.deliver("notification", 1)
}

// send queues one message.
func (c *conn) send(requestID uint32, m proto.Message) {
	frame, err := protocol.Append(nil, requestID, m)
	if err != nil {
		c.g.log.Error("realtime: encode", "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enqueueLocked(frame)
}

// enqueueLocked adds a frame for the writer without ever waiting for the
// client: when the queue is full, the client is cut off as a slow consumer.
func (c *conn) enqueueLocked(frame []byte) {
	if c.closed || c.closing {
		return
	}
	if len(c.queue) >= c.g.cfg.SendQueue {
		c.queue = c.queue[:0]
		slow, _ := protocol.Append(nil, 0, &pb.Error{Code: uint32(protocol.CodeSlowConsumer), Message: "the client did not read fast enough", Fatal: true})
		c.queue = append(c.queue, slow)
		c.closing, c.slow = true, true
		c.g.metrics.cutOff(protocol.CodeSlowConsumer)
	} else {
		c.queue = append(c.queue, frame)
	}
	if !c.writing {
		c.writing = true
		c.writers.Add(1)
		go c.write()
	}
}

// write sends queued frames until the queue is empty, then ends; a write
// that does not finish within the write timeout closes the connection.
func (c *conn) write() {
	defer c.writers.Done()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.writing = false
			closing := c.closing
			c.mu.Unlock()
			if closing {
				c.close()
			}
			return
		}
		batch := net.Buffers(c.queue)
		c.queue = nil
		c.mu.Unlock()
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.g.cfg.WriteTimeout))
		if _, err := batch.WriteTo(c.nc); err != nil {
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			c.close()
			return
		}
	}
}

// fail sends a fatal error; the writer closes the connection once it is
// written (the handler waits for the writer before it returns).
func (c *conn) fail(p problem) {
	c.g.metrics.cutOff(p.code)
	frame, _ := protocol.Append(nil, p.requestID, &pb.Error{Code: uint32(p.code), Message: p.message, Fatal: true})
	c.mu.Lock()
	c.enqueueLocked(frame)
	c.closing = true
	c.mu.Unlock()
}

// reconnect tells the client to connect again after delay (drain).
func (c *conn) reconnect(delay time.Duration) {
	c.send(0, &pb.Reconnect{DelayMs: uint32(delay.Milliseconds()), Reason: "this node is shutting down"})
}

func (c *conn) close() {
	c.mu.Lock()
	already, slow := c.closed, c.slow
	c.closed = true
	c.mu.Unlock()
	if already {
		return
	}
	nc := c.nc
	if t, ok := nc.(interface{ NetConn() net.Conn }); ok {
		nc = t.NetConn() // TLS: the TCP connection under it
	}
	if tc, ok := nc.(*net.TCPConn); ok && slow {
		// Drop what the kernel still holds for a client that does not read,
		// instead of trickling it out after the close.
		_ = tc.SetLinger(0)
	}
	_ = c.nc.Close()
}

// problem is an error to report in an Error frame.
type problem struct {
	code      protocol.Code
	message   string
	requestID uint32
}

// refuse answers a failed handshake with a fatal error and closes.
func (g *Gateway) refuse(nc net.Conn, p problem) {
	frame, _ := protocol.Append(nil, p.requestID, &pb.Error{Code: uint32(p.code), Message: p.message, Fatal: true})
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write(frame)
}

func readProblem(err error) problem {
	switch {
	case errors.Is(err, protocol.ErrFrameTooLarge):
		return problem{protocol.CodeFrameTooLarge, "frame too large", 0}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return problem{protocol.CodeIdleTimeout, "nothing received within the idle timeout", 0}
	}
	return problem{protocol.CodeBadFrame, "malformed frame", 0}
}

func tokenProblem(err error, requestID uint32) problem {
	if errors.Is(err, session.ErrExpiredToken) {
		return problem{protocol.CodeTokenExpired, "the access token expired", requestID}
	}
	return problem{protocol.CodeUnauthenticated, "the access token was refused", requestID}
}
