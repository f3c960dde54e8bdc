package state

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Publish implements PubSub. Each subscriber gets its own copy of payload;
// a subscriber whose buffer is full misses the message.
func (m *Memory) Publish(_ context.Context, channel string, payload []byte) error {
	m.psMu.RLock()
	defer m.psMu.RUnlock()
	for s := range m.subs[channel] {
		select {
		case s.out <- Message{Channel: channel, Payload: slices.Clone(payload)}:
		default:
		}
	}
	return nil
}

// Subscribe implements PubSub. The subscription is active when it returns.
func (m *Memory) Subscribe(_ context.Context, channels ...string) (Subscription, error) {
	channels, err := uniqueChannels(channels)
	if err != nil {
		return nil, fmt.Errorf("state: subscribe: %w", err)
	}
	s := &memSubscription{m: m, channels: channels, out: make(chan Message, subscriptionBuffer)}
	m.psMu.Lock()
	defer m.psMu.Unlock()
	for _, c := range channels {
		if m.subs[c] == nil {
			m.subs[c] = make(map[*memSubscription]struct{})
		}
		m.subs[c][s] = struct{}{}
	}
	return s, nil
}

type memSubscription struct {
	m        *Memory
	channels []string
	out      chan Message
	once     sync.Once
}

func (s *memSubscription) C() <-chan Message { return s.out }

// Close implements Subscription. Publishers hold the read lock while
// sending, so taking the write lock guarantees none is mid-send on out.
func (s *memSubscription) Close() error {
	s.once.Do(func() {
		s.m.psMu.Lock()
		defer s.m.psMu.Unlock()
		for _, c := range s.channels {
			delete(s.m.subs[c], s)
			if len(s.m.subs[c]) == 0 {
				delete(s.m.subs, c)
			}
		}
		close(s.out)
	})
	return nil
}
