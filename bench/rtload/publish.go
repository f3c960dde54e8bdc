//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/push"
)

const (
	publishTick = time.Millisecond
	maxBatch    = 4096 // messages in one pipeline
	benchKind   = "bench.fanout"
)

// channelName is the Redis channel on which domain/notify's publisher,
// through state.Redis with key prefix prefix, sends accountID's
// notifications: the prefix, "pubsub:", then notify.ChannelFor.
func channelName(prefix string, accountID int64) string {
	return prefix + "pubsub:" + notify.ChannelFor(accountID)
}

// target is one connected player whose notifications are published.
type target struct {
	account int64
	next    uint64 // the seq of its next notification
}

// publisher publishes notifications for its targets, each player's in seq
// order, on one Redis connection per worker; or, with fanout, push events
// of fanout recipients each, as domain/push's Bus does (party chat lines).
type publisher struct {
	rdb     *redis.Client
	prefix  string
	workers [][]*target // each player belongs to one worker, which keeps its order
	fanout  int         // recipients of a push event; 0: notifications
	ids     atomic.Uint64
}

func newPublisher(rdb *redis.Client, prefix string, targets []*target, workers, fanout int) *publisher {
	p := &publisher{rdb: rdb, prefix: prefix, workers: make([][]*target, workers), fanout: fanout}
	for i, t := range targets {
		p.workers[i%workers] = append(p.workers[i%workers], t)
	}
	return p
}

// publishResult is one step of publishing.
type publishResult struct {
	Published int64   `json:"published"`
	Seconds   float64 `json:"seconds"`
	// MaxBehind is how far behind its schedule a worker fell at worst: the
	// publisher, not the gateways, could not keep the rate.
	MaxBehindMs float64 `json:"max_behind_ms"`
	// Receivers is the fewest subscribers (gateways) a message reached.
	MinReceivers int64  `json:"min_receivers"`
	Err          string `json:"error,omitempty"`
}

// run publishes at rate messages/s in total for dur, the players of each
// worker in turn. The send time, stamped into each payload, is taken just
// before the batch it belongs to is encoded and written.
func (p *publisher) run(ctx context.Context, rate float64, dur time.Duration) publishResult {
	var wg sync.WaitGroup
	results := make([]publishResult, len(p.workers))
	start := time.Now()
	for w, ts := range p.workers {
		if len(ts) == 0 {
			continue
		}
		share := rate * float64(len(ts)) / float64(p.total())
		wg.Go(func() { results[w] = p.work(ctx, ts, share, start, dur) })
	}
	wg.Wait()
	out := publishResult{Seconds: time.Since(start).Seconds(), MinReceivers: -1}
	for _, r := range results {
		out.Published += r.Published
		out.MaxBehindMs = max(out.MaxBehindMs, r.MaxBehindMs)
		if r.MinReceivers >= 0 && (out.MinReceivers < 0 || r.MinReceivers < out.MinReceivers) {
			out.MinReceivers = r.MinReceivers
		}
		if out.Err == "" {
			out.Err = r.Err
		}
	}
	return out
}

func (p *publisher) total() int {
	n := 0
	for _, ts := range p.workers {
		n += len(ts)
	}
	return n
}

func (p *publisher) work(ctx context.Context, ts []*target, rate float64, start time.Time, dur time.Duration) publishResult {
	res := publishResult{MinReceivers: -1}
	unit := int64(max(p.fanout, 1)) // deliveries of one message
	if int64(len(ts)) < unit {
		res.Err = fmt.Sprintf("a publisher has %d players, fewer than the %d recipients of an event: fewer -publishers or more players", len(ts), unit)
		return res
	}
	tick := time.NewTicker(publishTick)
	defer tick.Stop()
	pipe := p.rdb.Pipeline()
	var cmds []*redis.IntCmd
	next := 0 // the target of the next message
	for {
		now := time.Now()
		elapsed := min(now.Sub(start), dur)
		due := int64(rate*elapsed.Seconds()) - res.Published
		if due > 0 {
			behind := time.Duration(float64(due) / rate * float64(time.Second))
			res.MaxBehindMs = max(res.MaxBehindMs, float64(behind)/float64(time.Millisecond))
		}
		for due >= unit {
			n := min(due/unit, maxBatch)
			sent := time.Now()
			cmds = cmds[:0]
			for range n {
				if p.fanout > 0 {
					to := make([]int64, p.fanout)
					for i := range to {
						to[i] = ts[next].account
						next = (next + 1) % len(ts)
					}
					msg, err := pushMessage(to, sent)
					if err != nil {
						res.Err = err.Error()
						return res
					}
					cmds = append(cmds, pipe.Publish(ctx, p.prefix+"pubsub:"+push.Channel, msg))
					continue
				}
				t := ts[next]
				next = (next + 1) % len(ts)
				msg, err := p.message(t, sent)
				if err != nil {
					res.Err = err.Error()
					return res
				}
				t.next++
				cmds = append(cmds, pipe.Publish(ctx, channelName(p.prefix, t.account), msg))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				res.Err = fmt.Sprintf("publish: %v", err)
				return res
			}
			for _, c := range cmds {
				if r := c.Val(); res.MinReceivers < 0 || r < res.MinReceivers {
					res.MinReceivers = r
				}
			}
			res.Published += n * unit
			due -= n * unit
		}
		if elapsed >= dur {
			return res
		}
		select {
		case <-ctx.Done():
			res.Err = "interrupted"
			return res
		case <-tick.C:
		}
	}
}

// message is the pub/sub message of t's next notification, as
// notify.EncodeMessage makes it for the publisher.
func (p *publisher) message(t *target, sent time.Time) ([]byte, error) {
	id := p.ids.Add(1)
	return notify.EncodeMessage(t.account, notify.Notification{
		Seq:       t.next,
		ID:        fmt.Sprintf("00000000-0000-4000-8000-%012x", id),
		Kind:      benchKind,
		Payload:   stampPayload(sent),
		CreatedAt: sent,
	})
}

// pushMessage is a party chat line to the players to, its text carrying its
// send time ({"sent_ns":...}, read back with sentNanos), as the party
// service publishes one.
func pushMessage(to []int64, sent time.Time) ([]byte, error) {
	line, err := json.Marshal(party.ChatLine{PartyID: "pt_bench", PlayerID: "p_bench", DisplayName: "bench",
		Text: string(stampPayload(sent)), SentAt: sent})
	if err != nil {
		return nil, err
	}
	return json.Marshal(push.Event{To: to, Kind: party.KindChat, Data: line})
}

// stampPayload is the notification body carrying its send time, which the
// clients read back with sentNanos.
func stampPayload(sent time.Time) json.RawMessage {
	return json.RawMessage(`{"sent_ns":` + strconv.FormatInt(sent.UnixNano(), 10) + `}`)
}
