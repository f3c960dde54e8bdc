package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// notify makes notifications for the clients' players through the proxy
// for dur (or until ctx ends), rate a second in turn: a sender (client i's
// is senders[i/clientsPerSender]) asks the next player to be friends (POST /v1/me/friends/requests, which stores a
// friend.request notification for them through the outbox and publishes it
// to the gateways), then withdraws the request (POST .../decline, which
// tells nobody), so that the next request makes a new notification. Each
// request answered 200 with a new outgoing request counts as one
// notification the player must receive.
func notify(ctx context.Context, t *tally, senders []player, clients []*socketClient, rate int, dur time.Duration) {
	if rate <= 0 || len(clients) == 0 {
		return
	}
	locks := make([]sync.Mutex, len(clients)) // one cycle at a time per player
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.NewTimer(dur)
	defer end.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
		case <-end.C:
		case <-tick.C:
			i := n % len(clients)
			wg.Add(1)
			go func() {
				defer wg.Done()
				locks[i].Lock()
				defer locks[i].Unlock()
				befriend(t, senders[i/clientsPerSender], clients[i])
			}()
			continue
		}
		break
	}
	wg.Wait()
}

// befriend is one cycle: a friend request to c's player, then its
// withdrawal.
func befriend(t *tally, sender player, c *socketClient) {
	body, _ := json.Marshal(map[string]string{"player_id": c.p.ID})
	raw := t.do(http.MethodPost, "/v1/me/friends/requests", sender.Token, body, http.StatusOK)
	if raw == nil {
		return
	}
	var rel struct {
		State string `json:"state"`
	}
	if err := json.Unmarshal(raw, &rel); err != nil || rel.State != "outgoing" {
		t.fail(time.Now(), "POST /v1/me/friends/requests answered %s, want an outgoing request", raw)
		return
	}
	c.expected.Add(1)
	t.do(http.MethodPost, "/v1/me/friends/"+c.p.ID+"/decline", sender.Token, nil, http.StatusNoContent)
}

// stored reads how many notifications the store holds for c's player
// (none is read: the unread count is all of them).
func stored(t *tally, c *socketClient) (int64, bool) {
	raw := t.do(http.MethodGet, "/v1/me/notifications?limit=1", c.p.Token, nil, http.StatusOK)
	var list struct {
		UnreadCount int64 `json:"unread_count"`
	}
	if raw == nil || json.Unmarshal(raw, &list) != nil {
		return 0, false
	}
	return list.UnreadCount, true
}
