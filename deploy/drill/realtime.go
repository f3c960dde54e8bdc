package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/musterhq/muster/realtime/protocol/pb"
	"github.com/musterhq/muster/sdk/go/muster"
)

// noteKind is the notification the drill's friend requests make.
const noteKind = "friend.request"

// How the drill's clients dial: each attempt within dialTimeout, again
// every dialPause for at most dialFor (a gateway refusing a handshake
// while it drains, the proxy finding no instance for a moment).
const (
	dialTimeout = 3 * time.Second
	dialPause   = 100 * time.Millisecond
	dialFor     = 10 * time.Second
)

// socketClient is one realtime client of the drill: a player connected
// through the proxy's TCP port that processes its notifications in seq
// order, and when the gateway says Reconnect, waits the delay it names,
// says Goodbye and connects again through the proxy with its resume token
// and the last seq it processed, as a game client does.
type socketClient struct {
	p    player
	addr string
	// expected counts the notifications made for this player (friend
	// requests answered 200).
	expected atomic.Int64

	mu          sync.Mutex
	last        uint64 // the last notification seq processed
	received    int64  // notifications processed (each seq once)
	duplicates  int64  // notifications whose seq was processed before
	missing     int64  // seqs skipped over
	wrongKind   int64
	connections int // sessions that got a Welcome
	told        int // Reconnect messages received
	resumed     int // reconnections whose Welcome said resumed
	notResumed  int // reconnections that started a new session instead
	dropped     int // connections that ended without a Reconnect
	dialRetries int
	failures    []string
}

func (c *socketClient) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failures) < 5 {
		c.failures = append(c.failures, time.Now().Format("15:04:05.000")+" "+fmt.Sprintf(format, args...))
	}
}

// dial connects through the proxy, resuming when resume is set, and tries
// again for dialFor.
func (c *socketClient) dial(ctx context.Context, resume string) (*muster.Socket, error) {
	deadline := time.Now().Add(dialFor)
	for {
		c.mu.Lock()
		last := c.last
		c.mu.Unlock()
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		s, err := muster.Dial(dctx, c.addr, muster.SocketOptions{AccessToken: c.p.Token, ResumeToken: resume, LastSeq: last, Client: "muster-drill"})
		cancel()
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, err
		}
		c.mu.Lock()
		c.dialRetries++
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(dialPause):
		}
	}
}

// run connects, reports the first connection on ready, and keeps the
// player connected until ctx ends.
func (c *socketClient) run(ctx context.Context, ready chan<- error) {
	resume := ""
	for first := true; ; first = false {
		s, err := c.dial(ctx, resume)
		if err != nil {
			if first {
				ready <- err
			} else if ctx.Err() == nil {
				c.fail("connect again through the proxy: %v", err)
			}
			return
		}
		w := s.Welcome()
		c.mu.Lock()
		c.connections++
		switch {
		case first:
		case w.Resumed:
			c.resumed++
		default:
			c.notResumed++
		}
		c.mu.Unlock()
		if !first && !w.Resumed {
			c.fail("reconnected with resume token and last seq, and a new session started instead")
		}
		resume = w.ResumeToken
		if first {
			ready <- nil
		}
		told := c.serve(ctx, s)
		_ = s.Close()
		if ctx.Err() != nil {
			return
		}
		if !told {
			c.mu.Lock()
			c.dropped++
			c.mu.Unlock()
			c.fail("the connection ended without a Reconnect: %v", s.Err())
		}
	}
}

// serve processes the socket's pushes until the gateway's Reconnect delay
// has passed, the socket ends or ctx ends, and reports whether the gateway
// said Reconnect.
func (c *socketClient) serve(ctx context.Context, s *muster.Socket) (told bool) {
	var after <-chan time.Time
	for {
		select {
		case p, open := <-s.Pushes():
			if !open {
				return told
			}
			switch m := p.Message.(type) {
			case *pb.Notification:
				c.note(m)
				_ = s.Ack(m.Seq)
			case *pb.Reconnect:
				if !told {
					told = true
					c.mu.Lock()
					c.told++
					c.mu.Unlock()
					after = time.After(time.Duration(m.DelayMs) * time.Millisecond)
				}
			}
		case <-after:
			return true
		case <-ctx.Done():
			return told
		}
	}
}

// note processes one notification: the next seq, or a duplicate, or a gap.
func (c *socketClient) note(m *pb.Notification) {
	c.mu.Lock()
	last := c.last
	switch {
	case m.Seq == last+1:
		c.last, c.received = m.Seq, c.received+1
	case m.Seq <= last:
		c.duplicates++
	default:
		c.missing += int64(m.Seq - last - 1)
		c.last, c.received = m.Seq, c.received+1
	}
	if m.Kind != noteKind {
		c.wrongKind++
	}
	c.mu.Unlock()
	switch {
	case m.Seq <= last:
		c.fail("notification %d again, after %d", m.Seq, last)
	case m.Seq > last+1:
		c.fail("notification %d after %d: %d lost", m.Seq, last, m.Seq-last-1)
	}
	if m.Kind != noteKind {
		c.fail("notification %d of kind %q, want %q", m.Seq, m.Kind, noteKind)
	}
}

// caughtUp reports whether the client has processed every notification
// made for it.
func (c *socketClient) caughtUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received+c.missing >= c.expected.Load()
}

// connect starts a client for each player and waits until every one has
// its first session; clients then run until ctx ends (wait on wg).
func connect(ctx context.Context, wg *sync.WaitGroup, addr string, players []player) ([]*socketClient, error) {
	clients := make([]*socketClient, len(players))
	ready := make(chan error, len(players))
	for i, p := range players {
		c := &socketClient{p: p, addr: addr}
		clients[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx, ready)
		}()
	}
	var errs []error
	for range players {
		if err := <-ready; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%d of %d clients could not connect to %s: %w", len(errs), len(players), addr, errors.Join(errs...))
	}
	return clients, nil
}
