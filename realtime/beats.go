package realtime

import (
	"context"
	"sync"
	"time"

	"github.com/musterhq/muster/domain/presence"
)

// beatGather is how long heartbeats are gathered before their refreshes go
// to the shared state together.
const beatGather = 100 * time.Millisecond

// beater refreshes what heartbeats keep alive in the shared state (each
// connection's resume token and its player's presence) for many
// connections at once: a few pipelined round trips every beatGather
// instead of three commands a heartbeat. At 100,000 connections and a
// heartbeat every 15 s that is 6,700 heartbeats a second, which as single
// commands outran the Redis connection pool on a loaded machine (pool
// timeouts, then players going offline). Pongs never wait for it.
type beater struct {
	g       *Gateway
	mu      sync.Mutex
	pending []*conn
	running bool // a goroutine gathers and flushes
}

// add queues c's refresh unless one is already queued or running. Only
// the connection's reader calls it.
func (b *beater) add(c *conn) {
	if !c.beating.CompareAndSwap(false, true) {
		return
	}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	start := !b.running
	b.running = true
	b.mu.Unlock()
	if start {
		go b.run()
	}
}

// run flushes what was gathered every beatGather, and ends when a gather
// finds nothing.
func (b *beater) run() {
	for {
		time.Sleep(beatGather)
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.flush(batch)
	}
}

// flush refreshes batch's connections that have not ended. A connection's
// end waits for a refresh it is part of (beats), so that a late refresh
// never brings a player back online after they went offline.
func (b *beater) flush(batch []*conn) {
	g := b.g
	live := batch[:0]
	for _, c := range batch {
		c.mu.Lock()
		if c.ended {
			c.beating.Store(false)
		} else {
			c.beats.Add(1)
			live = append(live, c)
		}
		c.mu.Unlock()
	}
	defer func() {
		for _, c := range live {
			c.beating.Store(false)
			c.beats.Done()
		}
	}()
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Heartbeat)
	defer cancel()

	keys := make([]string, len(live))
	for i, c := range live {
		keys[i] = resumeKey(c.resume)
	}
	kept, err := g.resumes.ExpireMany(ctx, keys, g.cfg.IdleTimeout+g.cfg.ResumeWindow)
	if err != nil {
		g.log.Warn("realtime: keep resume tokens", "connections", len(live), "err", err)
	} else {
		for i, ok := range kept {
			if !ok { // expired or lost: store it again
				g.keepResumable(ctx, live[i].resume, live[i].claimsNow().AccountID)
			}
		}
	}
	if t := g.deps.Presence; t != nil {
		beats := make([]presence.Beat, len(live))
		for i, c := range live {
			beats[i] = presence.Beat{AccountID: c.claimsNow().AccountID, ConnID: c.id}
		}
		if err := t.BeatMany(ctx, beats); err != nil {
			g.log.Warn("realtime: keep presence", "connections", len(live), "err", err)
		}
	}
}
