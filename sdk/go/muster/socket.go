package muster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// SocketOptions configure Dial.
type SocketOptions struct {
	AccessToken string
	ResumeToken string      // to resume an earlier session
	LastSeq     uint64      // the last notification processed, with ResumeToken
	Client      string      // for the server's logs, e.g. "mygame/1.0"
	TLS         *tls.Config // nil: plain TCP
	// Pushes buffers server pushes (notifications, party state, presence);
	// when it is full the socket stops reading, as a real client that
	// falls behind would. 256 by default.
	Pushes int
	// NoHeartbeat turns off the automatic Ping (tests of idle timeouts).
	NoHeartbeat bool
}

// Socket is a live realtime connection. Requests may be made from many
// goroutines; pushes arrive on Pushes() in order.
type Socket struct {
	nc      net.Conn
	welcome *pb.Welcome
	pushes  chan Push
	done    chan struct{}

	writeMu sync.Mutex

	lastSeq atomic.Uint64 // of the latest Notification received

	mu      sync.Mutex
	next    uint32
	waiting map[uint32]chan reply
	err     error // why the connection ended
}

// Push is a message the server sent without a request.
type Push struct {
	Message  proto.Message
	Received time.Time
}

type reply struct {
	m   proto.Message
	err error
}

// ServerError is an Error frame answering a request, or ending the
// connection when Fatal.
type ServerError struct {
	Code         protocol.Code
	Message      string
	Fatal        bool
	RetryAfterMs uint32
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("muster: server error %d: %s", e.Code, e.Message)
}

// ErrClosed is returned by calls on a socket that has ended.
var ErrClosed = errors.New("muster: socket closed")

// Dial connects to a realtime gateway at addr and completes the handshake.
func Dial(ctx context.Context, addr string, o SocketOptions) (*Socket, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if o.TLS != nil {
		tc := tls.Client(nc, o.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	if o.Pushes <= 0 {
		o.Pushes = 256
	}
	s := &Socket{nc: nc, pushes: make(chan Push, o.Pushes), done: make(chan struct{}), waiting: map[uint32]chan reply{}}
	s.lastSeq.Store(o.LastSeq)
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	r := protocol.NewReader(nc, protocol.DefaultMaxFrame)
	if err := s.write(1, &pb.Hello{Versions: []uint32{protocol.Version}, AccessToken: o.AccessToken,
		ResumeToken: o.ResumeToken, LastSeq: o.LastSeq, Client: o.Client}); err != nil {
		nc.Close()
		return nil, err
	}
	s.next = 1
	for s.welcome == nil {
		f, err := r.Read()
		if err != nil {
			nc.Close()
			return nil, err
		}
		m, err := protocol.Decode(f)
		if err != nil {
			nc.Close()
			return nil, err
		}
		switch m := m.(type) {
		case *pb.Welcome:
			s.welcome = m
		case *pb.Error:
			if protocol.Code(m.Code) == protocol.CodeResumeFailed {
				continue // a new session starts; Welcome follows
			}
			nc.Close()
			return nil, &ServerError{Code: protocol.Code(m.Code), Message: m.Message, Fatal: m.Fatal, RetryAfterMs: m.RetryAfterMs}
		default:
			nc.Close()
			return nil, fmt.Errorf("muster: handshake answered %T", m)
		}
	}
	_ = nc.SetDeadline(time.Time{})
	go s.read(r)
	if !o.NoHeartbeat {
		go s.heartbeat(time.Duration(s.welcome.HeartbeatMs) * time.Millisecond)
	}
	return s, nil
}

// Welcome is the server's answer to the handshake.
func (s *Socket) Welcome() *pb.Welcome { return s.welcome }

// ResumeToken is the token to resume this socket's session with (Welcome's).
func (s *Socket) ResumeToken() string { return s.welcome.GetResumeToken() }

// LastSeq is the seq of the latest Notification received (or the LastSeq
// it was resumed from): with ResumeToken, what a new connection resumes
// from. An app that must not skip a notification it received but did not
// process resumes from its own count instead.
func (s *Socket) LastSeq() uint64 { return s.lastSeq.Load() }

// Ack tells the server every notification up to seq was processed.
func (s *Socket) Ack(seq uint64) error { return s.Send(&pb.Ack{Seq: seq}) }

// Pushes delivers the server's pushes; it is closed when the socket ends.
func (s *Socket) Pushes() <-chan Push { return s.pushes }

// Done is closed when the socket ends; Err then says why.
func (s *Socket) Done() <-chan struct{} { return s.done }

// Err is why the socket ended (nil while it is live).
func (s *Socket) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Call sends a request and waits for its answer: the answering message, or
// a *ServerError.
func (s *Socket) Call(ctx context.Context, m proto.Message) (proto.Message, error) {
	ch := make(chan reply, 1)
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	s.next++
	if s.next == 0 {
		s.next = 1
	}
	id := s.next
	s.waiting[id] = ch
	s.mu.Unlock()
	if err := s.write(id, m); err != nil {
		s.forget(id)
		return nil, err
	}
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		s.forget(id)
		return nil, ctx.Err()
	}
}

// Send sends a message that has no answer (Ack, Goodbye).
func (s *Socket) Send(m proto.Message) error { return s.write(0, m) }

// Close says Goodbye and closes the connection.
func (s *Socket) Close() error {
	_ = s.write(0, &pb.Goodbye{Reason: "client closed"})
	return s.nc.Close()
}

func (s *Socket) forget(id uint32) {
	s.mu.Lock()
	delete(s.waiting, id)
	s.mu.Unlock()
}

func (s *Socket) write(id uint32, m proto.Message) error {
	frame, err := protocol.Append(nil, id, m)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_ = s.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err = s.nc.Write(frame)
	return err
}

// read dispatches frames until the connection ends.
func (s *Socket) read(r *protocol.Reader) {
	var end error
	defer func() {
		s.mu.Lock()
		s.err = end
		waiting := s.waiting
		s.waiting = map[uint32]chan reply{}
		s.mu.Unlock()
		for _, ch := range waiting {
			ch <- reply{err: ErrClosed}
		}
		close(s.pushes)
		close(s.done)
		s.nc.Close()
	}()
	for {
		f, err := r.Read()
		if err != nil {
			end = err
			return
		}
		m, err := protocol.Decode(f)
		if errors.Is(err, protocol.ErrUnknownType) {
			continue // a newer server's push
		}
		if err != nil {
			end = err
			return
		}
		if e, ok := m.(*pb.Error); ok && e.Fatal {
			end = &ServerError{Code: protocol.Code(e.Code), Message: e.Message, Fatal: true, RetryAfterMs: e.RetryAfterMs}
		}
		if f.RequestID != 0 {
			s.mu.Lock()
			ch := s.waiting[f.RequestID]
			delete(s.waiting, f.RequestID)
			s.mu.Unlock()
			if ch != nil {
				var err error
				if e, ok := m.(*pb.Error); ok {
					err = &ServerError{Code: protocol.Code(e.Code), Message: e.Message, Fatal: e.Fatal, RetryAfterMs: e.RetryAfterMs}
				}
				ch <- reply{m: m, err: err}
				continue
			}
		}
		if n, ok := m.(*pb.Notification); ok && n.Seq > s.lastSeq.Load() {
			s.lastSeq.Store(n.Seq)
		}
		s.pushes <- Push{Message: m, Received: time.Now()}
	}
}

// heartbeat pings every interval until the socket ends.
func (s *Socket) heartbeat(every time.Duration) {
	if every <= 0 {
		every = 15 * time.Second
	}
	t := time.NewTicker(every * 2 / 3)
	defer t.Stop()
	var nonce uint64
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			nonce++
			ctx, cancel := context.WithTimeout(context.Background(), every)
			_, err := s.Call(ctx, &pb.Ping{Nonce: nonce})
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return
			}
		}
	}
}

// Await reads pushes until one of type T for which ok is true (nil ok:
// any) arrives, dropping the others, and returns it.
func Await[T proto.Message](ctx context.Context, s *Socket, ok func(T) bool) (T, error) {
	var zero T
	for {
		select {
		case p, open := <-s.Pushes():
			if !open {
				if err := s.Err(); err != nil {
					return zero, err
				}
				return zero, ErrClosed
			}
			if m, is := p.Message.(T); is && (ok == nil || ok(m)) {
				return m, nil
			}
		case <-ctx.Done():
			return zero, fmt.Errorf("waiting for %T: %w", zero, ctx.Err())
		}
	}
}
