//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/bench/loadgen"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// clientCommand runs rtload as one client process of a run (the parent
// starts it; it is not for people).
const clientCommand = "_client"

const (
	handshakeTimeout = 15 * time.Second
	writeTimeout     = 5 * time.Second
	histShards       = 16
	// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT: a socket
	// bound to a source address gets its port at connect, per destination,
	// instead of reserving one of the address's ports at bind.
	ipBindAddressNoPort = 24
)

type clientOptions struct {
	playersFile string
	from, to    int // players [from, to) of the file
	gateways    []string
	source      string // source address, "" for the kernel's choice
	dialers     int
	rate        float64 // connections a second this process opens at most; 0: as fast as the dialers go
}

// clientMain connects players [from, to) and then answers the parent's
// commands on stdin (stats, reset, quit) with JSON lines on stdout. It
// exits when stdin closes, so it cannot outlive its parent.
func clientMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rtload "+clientCommand, flag.ContinueOnError)
	var o clientOptions
	var gws string
	fs.StringVar(&o.playersFile, "players", "", "")
	fs.IntVar(&o.from, "from", 0, "")
	fs.IntVar(&o.to, "to", 0, "")
	fs.StringVar(&gws, "gateways", "", "")
	fs.StringVar(&o.source, "source", "", "")
	fs.IntVar(&o.dialers, "dialers", 32, "")
	fs.Float64Var(&o.rate, "rate", 0, "")
	if err := fs.Parse(args); err != nil {
		return badFlags{err}
	}
	o.gateways = splitList(gws)
	if err := checkAddrs("-gateways", o.gateways); err != nil {
		return err
	}
	if o.source != "" && !loadgen.LoopbackHost(o.source) {
		return badf("-source %q is not a loopback address", o.source)
	}
	f, err := os.Open(o.playersFile)
	if err != nil {
		return err
	}
	players, _, err := readPlayers(f)
	f.Close()
	if err != nil {
		return err
	}
	if o.from < 0 || o.to > len(players) || o.from >= o.to {
		return badf("players [%d, %d) outside the file's %d", o.from, o.to, len(players))
	}
	c := newClient(o, players)
	out := json.NewEncoder(os.Stdout)
	var outMu sync.Mutex
	emit := func(v any) {
		outMu.Lock()
		defer outMu.Unlock()
		_ = out.Encode(v)
	}

	// stdin: commands from the parent; EOF means the parent is gone.
	cmds := make(chan string)
	go func() {
		s := bufio.NewScanner(os.Stdin)
		for s.Scan() {
			cmds <- strings.TrimSpace(s.Text())
		}
		close(cmds)
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.heartbeats(ctx)
	connected := make(chan struct{})
	go func() {
		c.connectAll(ctx, func(ok, failed int) { emit(progressLine{Ev: "progress", Connected: ok, Failed: failed}) })
		close(connected)
	}()
	for waiting := true; waiting; {
		select {
		case <-connected:
			waiting = false
		case cmd, ok := <-cmds:
			if !ok || cmd == "quit" {
				cancel()
				<-connected
				c.closeAll()
				return nil
			}
		}
	}
	emit(c.readyLine())
	for cmd := range cmds {
		switch cmd {
		case "stats":
			emit(c.stats.report(c))
		case "reset":
			c.stats.reset()
			emit(progressLine{Ev: "reset"})
		case "quit":
			cancel()
			c.closeAll()
			emit(progressLine{Ev: "bye"})
			return nil
		}
	}
	cancel()
	c.closeAll()
	return nil
}

// progressLine is a short message to the parent.
type progressLine struct {
	Ev        string `json:"ev"`
	Connected int    `json:"connected,omitempty"`
	Failed    int    `json:"failed,omitempty"`
}

// readyLine tells the parent how connecting went.
type readyLine struct {
	Ev            string             `json:"ev"` // "ready"
	Connected     int                `json:"connected"`
	Failed        int                `json:"failed"`
	Failures      map[string]int     `json:"failures"`
	FailedPlayers []int              `json:"failed_players"` // indexes in the players file
	HeartbeatMs   uint32             `json:"heartbeat_ms"`
	Handshake     *loadgen.Histogram `json:"handshake"`
	Seconds       float64            `json:"seconds"`
}

// statsLine is what the clients saw since the last reset.
type statsLine struct {
	Ev           string             `json:"ev"` // "stats"
	Open         int64              `json:"open"`
	Notes        int64              `json:"notifications"`
	Gaps         int64              `json:"gaps"`
	Dups         int64              `json:"duplicates"`
	Pings        int64              `json:"pings"`
	Pongs        int64              `json:"pongs"`
	Closed       int64              `json:"closed"`
	CloseReasons map[string]int     `json:"close_reasons"`
	Latency      *loadgen.Histogram `json:"latency"`
	RTT          *loadgen.Histogram `json:"rtt"`
	LastNs       int64              `json:"last_ns"` // when the latest notification arrived, Unix ns
	RSSBytes     int64              `json:"rss_bytes"`
}

// rconn is one client connection after its handshake.
type rconn struct {
	nc     net.Conn
	idx    int           // the player's index in the file
	last   atomic.Uint64 // the highest notification seq received
	acked  uint64        // the highest seq acked (heartbeat goroutine only)
	pingAt atomic.Int64  // when the last Ping was sent, Unix ns
	nonce  uint64        // heartbeat goroutine only
	every  time.Duration // the heartbeat interval its Welcome announced
	next   time.Time     // when its next Ping is due
	closed atomic.Bool
}

type client struct {
	o       clientOptions
	players []player
	stats   *clientStats

	mu          sync.Mutex
	conns       []*rconn
	failures    map[string]int
	failed      []int
	heartbeatMs uint32
	due         []*rconn // connections by their next Ping, soonest first
	handshake   loadgen.Histogram
	took        time.Duration
	open        atomic.Int64
}

func newClient(o clientOptions, players []player) *client {
	return &client{o: o, players: players, stats: newClientStats(), failures: map[string]int{}}
}

// dialer dials loopback only, from the client's source address.
func (c *client) dialer() *net.Dialer {
	d := &net.Dialer{
		Timeout:   handshakeTimeout,
		KeepAlive: -1, // heartbeats keep the connection alive, as a game client's would
		Control: func(_, address string, rc syscall.RawConn) error {
			if !loadgen.LoopbackAddr(address) {
				return fmt.Errorf("refusing to dial non-loopback address %s", address)
			}
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			}); err != nil {
				return err
			}
			return serr
		},
	}
	if c.o.source != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(c.o.source)}
	}
	return d
}

// connectAll connects every player of the process, dialers at a time,
// reporting progress about once a second.
func (c *client) connectAll(ctx context.Context, progress func(ok, failed int)) {
	start := time.Now()
	d := c.dialer()
	var next atomic.Int64
	next.Store(int64(c.o.from))
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				progress(int(ok.Load()), int(bad.Load()))
			case <-done:
				return
			}
		}
	}()
	for range c.o.dialers {
		wg.Go(func() {
			var h loadgen.Histogram
			defer func() {
				c.mu.Lock()
				c.handshake.Merge(&h)
				c.mu.Unlock()
			}()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= c.o.to {
					return
				}
				if c.o.rate > 0 {
					// Connection i opens at its time in an even schedule.
					at := start.Add(time.Duration(float64(i-c.o.from) / c.o.rate * float64(time.Second)))
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Until(at)):
					}
				}
				t0 := time.Now()
				rc, hb, err := c.connect(ctx, d, i)
				if err != nil {
					bad.Add(1)
					c.mu.Lock()
					c.failures[failureReason(err)]++
					c.failed = append(c.failed, i)
					c.mu.Unlock()
					continue
				}
				h.Record(time.Since(t0))
				ok.Add(1)
				c.mu.Lock()
				c.conns = append(c.conns, rc)
				// Its first Ping is a heartbeat after the handshake. Every
				// connection has the same interval, so appending keeps the
				// queue in order.
				rc.every = time.Duration(hb) * time.Millisecond
				rc.next = time.Now().Add(rc.every)
				c.due = append(c.due, rc)
				if c.heartbeatMs == 0 || hb < c.heartbeatMs {
					c.heartbeatMs = hb
				}
				c.mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(done)
	c.took = time.Since(start)
}

// connect dials player i's gateway and completes the handshake; the
// connection's reader then runs until it closes.
func (c *client) connect(ctx context.Context, d *net.Dialer, i int) (*rconn, uint32, error) {
	p := c.players[i]
	nc, err := d.DialContext(ctx, "tcp", c.o.gateways[i%len(c.o.gateways)])
	if err != nil {
		return nil, 0, err
	}
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	hello, _ := protocol.Append(nil, 1, &pb.Hello{Versions: []uint32{protocol.Version}, AccessToken: p.Token, Client: "rtload"})
	if _, err := nc.Write(hello); err != nil {
		nc.Close()
		return nil, 0, err
	}
	r := protocol.NewReader(bufio.NewReaderSize(nc, 1024), protocol.DefaultMaxFrame)
	var hb uint32
	for hb == 0 {
		f, err := r.Read()
		if err != nil {
			nc.Close()
			return nil, 0, fmt.Errorf("handshake: %w", err)
		}
		m, err := protocol.Decode(f)
		if err != nil {
			nc.Close()
			return nil, 0, fmt.Errorf("handshake: %w", err)
		}
		switch m := m.(type) {
		case *pb.Welcome:
			hb = max(m.HeartbeatMs, 100)
			r.SetMax(int(m.MaxFrame))
		case *pb.Error:
			nc.Close()
			return nil, 0, fmt.Errorf("handshake: error %d (%s)", m.Code, m.Message)
		default:
			nc.Close()
			return nil, 0, fmt.Errorf("handshake: answered %T", m)
		}
	}
	_ = nc.SetDeadline(time.Time{})
	rc := &rconn{nc: nc, idx: i}
	c.open.Add(1)
	go c.read(rc, r)
	return rc, hb, nil
}

// failureReason is a short, countable description of a failed connect.
func failureReason(err error) string {
	var se syscall.Errno
	switch {
	case errors.As(err, &se):
		return se.Error()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed by the gateway"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && !strings.HasPrefix(s, "handshake: error") {
		s = s[i+2:]
	}
	return s
}

// read consumes one connection's frames until it closes.
func (c *client) read(rc *rconn, r *protocol.Reader) {
	st := c.stats
	shard := rc.idx % histShards
	reason := ""
	defer func() {
		rc.closed.Store(true)
		c.open.Add(-1)
		st.closed.Add(1)
		st.mu.Lock()
		st.reasons[reason]++
		st.mu.Unlock()
		rc.nc.Close()
	}()
	var n pb.Notification
	for {
		f, err := r.Read()
		if err != nil {
			if reason == "" {
				reason = failureReason(err)
			}
			return
		}
		now := time.Now().UnixNano()
		switch f.Type {
		case protocol.TypeNotification:
			n.Reset()
			if err := proto.Unmarshal(f.Body, &n); err != nil {
				reason = "malformed notification"
				return
			}
			st.notes.Add(1)
			last := rc.last.Load()
			switch {
			case n.Seq <= last:
				st.dups.Add(1)
			case last != 0 && n.Seq > last+1:
				st.gaps.Add(1)
				rc.last.Store(n.Seq)
			default:
				rc.last.Store(n.Seq)
			}
			if sent, ok := sentNanos(n.PayloadJson); ok {
				st.recordLatency(shard, time.Duration(now-sent), now)
			}
		case protocol.TypePartyChatMessage: // a push event of the -push fan-out
			var m pb.PartyChatMessage
			if err := proto.Unmarshal(f.Body, &m); err != nil {
				reason = "malformed party chat message"
				return
			}
			st.notes.Add(1)
			if sent, ok := sentNanos([]byte(m.Text)); ok {
				st.recordLatency(shard, time.Duration(now-sent), now)
			}
		case protocol.TypePong:
			st.pongs.Add(1)
			if at := rc.pingAt.Load(); at != 0 {
				st.recordRTT(shard, time.Duration(now-at))
			}
		case protocol.TypeError:
			var e pb.Error
			_ = proto.Unmarshal(f.Body, &e)
			reason = fmt.Sprintf("error %d (%s)", e.Code, e.Message)
			if !e.Fatal {
				st.mu.Lock()
				st.reasons["non-fatal "+reason]++
				st.mu.Unlock()
				reason = ""
			}
		case protocol.TypeReconnect:
			reason = "reconnect (the gateway drains)"
		}
	}
}

// heartbeats pings every connection once per heartbeat interval from its
// handshake on, with an Ack of the latest notification when there is a new
// one. The connections wait in one queue ordered by when their next Ping
// is due: each Ping moves its connection to the back. Only this goroutine
// writes after the handshake.
func (c *client) heartbeats(ctx context.Context) {
	const tick = 20 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			now := time.Now()
			c.mu.Lock()
			if len(c.due) == 0 || c.due[0].next.After(now) {
				c.mu.Unlock()
				break
			}
			rc := c.due[0]
			c.due = c.due[1:]
			if !rc.closed.Load() {
				rc.next = rc.next.Add(rc.every)
				c.due = append(c.due, rc)
			}
			c.mu.Unlock()
			if rc.closed.Load() {
				continue
			}
			rc.nonce++
			buf, _ = protocol.Append(buf[:0], uint32(rc.nonce), &pb.Ping{Nonce: rc.nonce})
			if last := rc.last.Load(); last > rc.acked {
				buf, _ = protocol.Append(buf, 0, &pb.Ack{Seq: last})
				rc.acked = last
			}
			rc.pingAt.Store(now.UnixNano())
			_ = rc.nc.SetWriteDeadline(now.Add(writeTimeout))
			if _, err := rc.nc.Write(buf); err == nil {
				c.stats.pings.Add(1)
			}
		}
	}
}

// closeAll says Goodbye on every open connection and closes it.
func (c *client) closeAll() {
	c.mu.Lock()
	conns := c.conns
	c.mu.Unlock()
	bye, _ := protocol.Append(nil, 0, &pb.Goodbye{Reason: "rtload done"})
	for _, rc := range conns {
		if !rc.closed.Load() {
			_ = rc.nc.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = rc.nc.Write(bye)
		}
		rc.nc.Close()
	}
}

func (c *client) readyLine() readyLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.handshake
	return readyLine{Ev: "ready", Connected: len(c.conns), Failed: len(c.failed), Failures: c.failures,
		FailedPlayers: c.failed, HeartbeatMs: c.heartbeatMs, Handshake: &h, Seconds: c.took.Seconds()}
}

// clientStats are a client process's counters; histograms are sharded by
// connection so that readers rarely wait for each other.
type clientStats struct {
	notes, gaps, dups, pings, pongs, closed atomic.Int64

	mu      sync.Mutex
	reasons map[string]int
	lat     [histShards]lockedHist
	rtt     [histShards]lockedHist
}

type lockedHist struct {
	mu   sync.Mutex
	h    loadgen.Histogram
	last int64 // when the latest value was recorded, Unix ns
}

func newClientStats() *clientStats { return &clientStats{reasons: map[string]int{}} }

func (s *clientStats) recordLatency(shard int, d time.Duration, now int64) {
	l := &s.lat[shard]
	l.mu.Lock()
	l.h.Record(d)
	l.last = max(l.last, now)
	l.mu.Unlock()
}

func (s *clientStats) recordRTT(shard int, d time.Duration) {
	l := &s.rtt[shard]
	l.mu.Lock()
	l.h.Record(d)
	l.mu.Unlock()
}

func (s *clientStats) reset() {
	for _, c := range []*atomic.Int64{&s.notes, &s.gaps, &s.dups, &s.pings, &s.pongs, &s.closed} {
		c.Store(0)
	}
	s.mu.Lock()
	s.reasons = map[string]int{}
	s.mu.Unlock()
	for i := range s.lat {
		for _, l := range []*lockedHist{&s.lat[i], &s.rtt[i]} {
			l.mu.Lock()
			l.h, l.last = loadgen.Histogram{}, 0
			l.mu.Unlock()
		}
	}
}

func (s *clientStats) report(c *client) statsLine {
	out := statsLine{Ev: "stats", Open: c.open.Load(), Notes: s.notes.Load(), Gaps: s.gaps.Load(), Dups: s.dups.Load(),
		Pings: s.pings.Load(), Pongs: s.pongs.Load(), Closed: s.closed.Load(),
		Latency: &loadgen.Histogram{}, RTT: &loadgen.Histogram{}, RSSBytes: rssOf(os.Getpid())}
	s.mu.Lock()
	out.CloseReasons = make(map[string]int, len(s.reasons))
	for k, v := range s.reasons {
		out.CloseReasons[k] = v
	}
	s.mu.Unlock()
	for i := range s.lat {
		s.lat[i].mu.Lock()
		out.Latency.Merge(&s.lat[i].h)
		out.LastNs = max(out.LastNs, s.lat[i].last)
		s.lat[i].mu.Unlock()
		s.rtt[i].mu.Lock()
		out.RTT.Merge(&s.rtt[i].h)
		s.rtt[i].mu.Unlock()
	}
	return out
}

// sentNanos reads the send time the publisher put in a payload,
// {"sent_ns":<Unix nanoseconds>}, without a JSON decoder.
func sentNanos(payload []byte) (int64, bool) {
	const key = `"sent_ns":`
	s := string(payload)
	i := strings.Index(s, key)
	if i < 0 {
		return 0, false
	}
	s = s[i+len(key):]
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	return n, err == nil && n > 0
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// checkAddrs checks that every address is a loopback host:port.
func checkAddrs(flagName string, addrs []string) error {
	if len(addrs) == 0 {
		return badf("%s: at least one host:port is required", flagName)
	}
	for _, a := range addrs {
		if !loadgen.LoopbackAddr(a) {
			return badf("refusing %s %q: not a loopback host:port (127.0.0.0/8, [::1] or localhost); rtload only loads this machine", flagName, a)
		}
	}
	return nil
}
