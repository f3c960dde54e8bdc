package session

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/musterhq/muster/domain/state"
)

// denyChannel names both the Presence set and the PubSub channel that
// carry revoked session ids between nodes.
const denyChannel = "session-revoked"

// denyPoll is how often Run reads the whole set, so a lost PubSub message
// still takes effect within about a second.
const denyPoll = time.Second

// DenyList holds the ids of revoked sessions whose access tokens may still
// be unexpired. Add records them in shared state; every node's Run copies
// them into a local map, so Revoked never touches the network. Safe for
// concurrent use.
type DenyList struct {
	presence state.Presence
	pubsub   state.PubSub
	ttl      time.Duration
	log      *slog.Logger

	mu  sync.RWMutex
	ids map[string]time.Time // session id -> when it may be forgotten
}

// NewDenyList returns a deny list kept in p and announced on ps. ttl is
// how long an id stays listed: the access-token lifetime plus leeway
// (Config.DenyTTL); zero means the default access lifetime plus leeway.
func NewDenyList(p state.Presence, ps state.PubSub, ttl time.Duration) *DenyList {
	if ttl <= 0 {
		ttl = Config{}.DenyTTL()
	}
	return &DenyList{
		presence: p, pubsub: ps, ttl: ttl,
		log: slog.New(slog.DiscardHandler),
		ids: make(map[string]time.Time),
	}
}

// WithLogger sets where Run reports failures of the shared state; call it
// before Run.
func (d *DenyList) WithLogger(l *slog.Logger) *DenyList {
	d.log = l
	return d
}

// Add lists sessionIDs: at once on this node, then in shared state and by
// broadcast to the other nodes. An error means other nodes may learn of
// the revocation only through their next successful poll, or not at all
// if the shared state is down.
func (d *DenyList) Add(ctx context.Context, sessionIDs ...string) error {
	if len(sessionIDs) == 0 {
		return nil
	}
	d.remember(time.Now(), sessionIDs)
	for _, id := range sessionIDs {
		if err := d.presence.Touch(ctx, denyChannel, id, d.ttl); err != nil {
			return fmt.Errorf("deny sessions: %w", err)
		}
	}
	if err := d.pubsub.Publish(ctx, denyChannel, []byte(strings.Join(sessionIDs, "\n"))); err != nil {
		return fmt.Errorf("deny sessions: %w", err)
	}
	return nil
}

// Revoked reports whether sessionID is listed. It reads only local memory.
func (d *DenyList) Revoked(sessionID string) bool {
	d.mu.RLock()
	until, ok := d.ids[sessionID]
	d.mu.RUnlock()
	return ok && time.Now().Before(until)
}

// Run keeps the local map in step with the other nodes until ctx ends:
// PubSub messages apply at once, and the shared set is read every second
// in case a message was lost. It returns nil when ctx ends; failures of
// the shared state are logged and retried.
func (d *DenyList) Run(ctx context.Context) error {
	var sub state.Subscription
	defer func() {
		if sub != nil {
			_ = sub.Close()
		}
	}()
	subscribe := func() {
		var err error
		if sub, err = d.pubsub.Subscribe(ctx, denyChannel); err != nil && ctx.Err() == nil {
			d.log.Warn("subscribe to session revocations; polling only", "err", err)
		}
	}
	subscribe()
	d.poll(ctx)
	tick := time.NewTicker(denyPoll)
	defer tick.Stop()
	for {
		var msgs <-chan state.Message
		if sub != nil {
			msgs = sub.C()
		}
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				sub = nil // closed under us; subscribe again on the next tick
				continue
			}
			d.remember(time.Now(), strings.Split(string(m.Payload), "\n"))
		case <-tick.C:
			if sub == nil {
				subscribe()
			}
			d.poll(ctx)
		}
	}
}

// poll copies the shared set into the local map and forgets lapsed ids.
func (d *DenyList) poll(ctx context.Context) {
	ids, err := d.presence.Members(ctx, denyChannel)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("read revoked sessions", "err", err)
		}
		return
	}
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, until := range d.ids {
		if !now.Before(until) {
			delete(d.ids, id)
		}
	}
	for _, id := range ids {
		if _, ok := d.ids[id]; !ok {
			d.ids[id] = now.Add(d.ttl)
		}
	}
}

func (d *DenyList) remember(now time.Time, ids []string) {
	until := now.Add(d.ttl)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if id != "" {
			d.ids[id] = until
		}
	}
}
