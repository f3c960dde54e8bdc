// Package realtime is Muster's realtime gateway: one long-lived connection
// per game client speaking the protocol of docs/protocol.md (package
// protocol). It authenticates the connection with the player's access
// token, keeps it alive with heartbeats, pushes the player's notifications
// as they happen, resumes a dropped session without losing or repeating
// one, and cuts off a client that reads too slowly without slowing anyone
// else.
//
// A connection costs one goroutine while idle (the one blocked reading
// it); a writer goroutine exists only while frames wait to be sent.
package realtime

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/realtime/protocol"
)

// Verifier checks access tokens, as every target does.
type Verifier interface {
	Verify(ctx context.Context, token string) (session.Claims, error)
}

// Note is one stored notification of a player.
type Note struct {
	Seq       uint64
	ID        string
	Kind      string
	Payload   []byte // a JSON object
	CreatedAt time.Time
}

// Notes reads a player's stored notifications: those after seq, in order,
// and the seq of the latest.
type Notes interface {
	Since(ctx context.Context, accountID int64, afterSeq uint64, limit int) ([]Note, error)
	LastSeq(ctx context.Context, accountID int64) (uint64, error)
}

// Config tunes the gateway. Zero values take the defaults shown.
type Config struct {
	Heartbeat        time.Duration // clients ping at least this often: 15s
	IdleTimeout      time.Duration // a connection silent this long is closed: 45s
	HandshakeTimeout time.Duration // Hello must arrive within: 10s
	WriteTimeout     time.Duration // one write may take at most: 10s
	ResumeWindow     time.Duration // a dropped session may be resumed within: 2m
	MaxFrame         int           // largest frame either side sends: protocol.DefaultMaxFrame
	SendQueue        int           // frames waiting for a slow client before it is cut off: 256
	RequestRate      float64       // requests per second a connection may make (beyond Ping and Ack): 10
	RequestBurst     int           // requests it may make at once: 20
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Heartbeat, 15*time.Second)
	def(&c.IdleTimeout, 45*time.Second)
	def(&c.HandshakeTimeout, 10*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.ResumeWindow, 2*time.Minute)
	if c.MaxFrame < protocol.MinMaxFrame {
		c.MaxFrame = protocol.DefaultMaxFrame
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 256
	}
	if c.RequestRate <= 0 {
		c.RequestRate = 10
	}
	if c.RequestBurst <= 0 {
		c.RequestBurst = 20
	}
	return c
}

// Deps are the services a gateway uses. Verify, Notes and Resumes are
// required; a service left nil answers its requests with UNAVAILABLE.
type Deps struct {
	Verify  Verifier
	Notes   Notes
	Resumes state.KV // resume tokens (Redis when several nodes run, so a session resumes on any of them)
	// Presence records who is online; nil leaves presence out.
	Presence *presence.Tracker
	// Parties serves party requests.
	Parties *party.Service
	// Matchmaking serves queue requests.
	Matchmaking *matchmaking.Service
	Log         *slog.Logger

	Friends      Friends       // ListFriends and FriendAction (domain/friend)
	Limiter      state.Limiter // per-player request limits, shared by every node (Redis); nil: no limits
	FriendWrites Rate          // FriendAction requests per player, the budget of the REST friend writes too

	// Tracing, when set, gets a span per client request and per pushed
	// notification that was published in a trace (tracing.go). Nil: no
	// tracing and no cost.
	Tracing trace.TracerProvider
	// Metrics, when set, gets the gateway's series (metrics.go).
	Metrics prometheus.Registerer
}

// Gateway serves realtime connections.
type Gateway struct {
	cfg     Config
	verify  Verifier
	notes   Notes
	resumes state.KV // resume token -> account id, shared by every node
	log     *slog.Logger
	deps    Deps
	tracer  trace.Tracer // nil: tracing off
	metrics *metrics     // nil: no metrics

	beater   beater        // heartbeats' refreshes, gathered
	offlines chan struct{} // presence clears running at once (offline)

	mu       sync.Mutex
	byPlayer map[int64]map[*conn]struct{}
	all      map[*conn]struct{}
	draining bool
}

// offlineConcurrency bounds the connections whose end clears presence at
// once (a few Redis round trips each), below the Redis pool's size.
const offlineConcurrency = 8

// New returns a gateway.
func New(cfg Config, d Deps) *Gateway {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	g := &Gateway{cfg: cfg.withDefaults(), verify: d.Verify, notes: d.Notes, resumes: d.Resumes, log: d.Log, deps: d,
		byPlayer: map[int64]map[*conn]struct{}{}, all: map[*conn]struct{}{}}
	g.beater.g = g
	g.offlines = make(chan struct{}, offlineConcurrency)
	if d.Tracing != nil {
		g.tracer = d.Tracing.Tracer("github.com/musterhq/muster/realtime")
	}
	g.metrics = newMetrics(d.Metrics, g)
	return g
}

// Serve accepts connections on ln until it is closed.
func (g *Gateway) Serve(ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		go g.accept(nc)
	}
}

// Deliver pushes a player's new notification to their connections on this
// node and answers how many it was queued on. Each connection sends
// notifications in seq order, each once: a gap (a notification this node
// missed) is filled from the store.
func (g *Gateway) Deliver(accountID int64, n Note) int {
	return len(g.deliver(accountID, n))
}

func (g *Gateway) deliver(accountID int64, n Note) []*conn {
	g.mu.Lock()
	conns := make([]*conn, 0, len(g.byPlayer[accountID]))
	for c := range g.byPlayer[accountID] {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		c.deliver(n)
	}
	return conns
}

// Connections is how many connections this node holds.
func (g *Gateway) Connections() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.all)
}

// Drain tells every client to reconnect elsewhere, spreading their delay
// hints over spread, refuses new sessions, and closes what is left when ctx
// ends.
func (g *Gateway) Drain(ctx context.Context, spread time.Duration) {
	g.mu.Lock()
	g.draining = true
	conns := make([]*conn, 0, len(g.all))
	for c := range g.all {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for i, c := range conns {
		delay := time.Duration(0)
		if len(conns) > 1 {
			delay = spread * time.Duration(i) / time.Duration(len(conns)-1)
		}
		c.reconnect(delay)
	}
	for g.Connections() > 0 {
		select {
		case <-ctx.Done():
			g.mu.Lock()
			for c := range g.all {
				c.close()
			}
			g.mu.Unlock()
			// Their handlers leave as soon as their reads fail.
			for end := time.Now().Add(time.Second); g.Connections() > 0 && time.Now().Before(end); {
				time.Sleep(5 * time.Millisecond)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// add registers a connection and queues its first frames (the answer to
// Hello) before anything else can be delivered to it.
func (g *Gateway) add(c *conn, first []byte) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.draining {
		return false
	}
	c.mu.Lock()
	c.enqueueLocked(first)
	c.mu.Unlock()
	g.all[c] = struct{}{}
	set := g.byPlayer[c.claims.AccountID]
	if set == nil {
		set = map[*conn]struct{}{}
		g.byPlayer[c.claims.AccountID] = set
	}
	set[c] = struct{}{}
	return true
}

func (g *Gateway) remove(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.all, c)
	if set := g.byPlayer[c.claims.AccountID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(g.byPlayer, c.claims.AccountID)
		}
	}
}

// resumeKey is where a resume token is kept.
func resumeKey(token string) string { return "realtime:resume:" + token }

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// resumable reports whether token resumes a session of accountID.
func (g *Gateway) resumable(ctx context.Context, token string, accountID int64) bool {
	if token == "" || len(token) > 64 {
		return false
	}
	v, err := g.resumes.Get(ctx, resumeKey(token))
	return err == nil && string(v) == strconv.FormatInt(accountID, 10)
}

// keepResumable lets token resume a session of accountID for the idle
// timeout and the resume window from now.
func (g *Gateway) keepResumable(ctx context.Context, token string, accountID int64) {
	err := g.resumes.Set(ctx, resumeKey(token), []byte(strconv.FormatInt(accountID, 10)), g.cfg.IdleTimeout+g.cfg.ResumeWindow)
	if err != nil {
		g.log.Warn("realtime: keep resume token", "err", err)
	}
}
