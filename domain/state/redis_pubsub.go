package state

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Subscribe implements PubSub. It waits for Redis to confirm every channel
// before returning. Messages are read by a goroutine that never waits on
// the caller: when C is full it drops, so Redis never sees a slow reader.
// go-redis pings the connection and resubscribes after a failure; messages
// published meanwhile are lost.
func (r *Redis) Subscribe(ctx context.Context, channels ...string) (Subscription, error) {
	channels, err := uniqueChannels(channels)
	if err != nil {
		return nil, fmt.Errorf("state: subscribe: %w", err)
	}
	names := make([]string, len(channels))
	for i, c := range channels {
		names[i] = r.key("pubsub", c)
	}
	s := &redisSubscription{
		prefix: r.key("pubsub", ""),
		out:    make(chan Message, subscriptionBuffer),
		done:   make(chan struct{}),
	}
	s.ps = r.client.Subscribe(ctx, names...)
	// Each channel is confirmed with its running count of subscriptions on
	// this connection; when the count covers every channel, all are live.
	for confirmed := 0; confirmed < len(names); {
		reply, err := s.ps.Receive(ctx)
		if err != nil {
			_ = s.ps.Close()
			return nil, fmt.Errorf("state: subscribe %q: %w", channels, err)
		}
		switch reply := reply.(type) {
		case *redis.Subscription:
			confirmed = reply.Count
		case *redis.Message:
			s.deliver(reply)
		}
	}
	go s.forward(s.ps.Channel(redis.WithChannelSize(16)))
	return s, nil
}

type redisSubscription struct {
	ps     *redis.PubSub
	prefix string
	out    chan Message
	done   chan struct{}
	once   sync.Once
	err    error
}

func (s *redisSubscription) C() <-chan Message { return s.out }

// Close ends the subscription and returns once C is closed.
func (s *redisSubscription) Close() error {
	s.once.Do(func() {
		if err := s.ps.Close(); err != nil {
			s.err = fmt.Errorf("state: close subscription: %w", err)
		}
		<-s.done
	})
	return s.err
}

// forward moves messages from go-redis to C until the PubSub is closed.
func (s *redisSubscription) forward(in <-chan *redis.Message) {
	defer close(s.done)
	defer close(s.out)
	for m := range in {
		s.deliver(m)
	}
}

// deliver hands m to C, or drops it if C is full.
func (s *redisSubscription) deliver(m *redis.Message) {
	select {
	case s.out <- Message{Channel: strings.TrimPrefix(m.Channel, s.prefix), Payload: []byte(m.Payload)}:
	default:
	}
}
