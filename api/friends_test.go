package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
)

// presenceBoard is the presence lookup the friend list is given: what the
// presence service would answer.
type presenceBoard struct {
	mu   sync.Mutex
	seen map[int64]api.PresenceView
	err  error
}

func (b *presenceBoard) lookup(_ context.Context, ids []int64) (map[int64]api.PresenceView, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return nil, b.err
	}
	out := map[int64]api.PresenceView{}
	for _, id := range ids {
		if p, ok := b.seen[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

// friendsNode is a node that also serves the friend routes.
type friendsNode struct {
	*node
	presence *presenceBoard
}

func (cl *cluster) friendsNode(t *testing.T, cfg friend.Config, writes auth.Rule, withPresence bool) *friendsNode {
	t.Helper()
	n := cl.node(t, defaultConfig(), session.Config{})
	fn := &friendsNode{node: n, presence: &presenceBoard{seen: map[int64]api.PresenceView{}}}
	f := api.Friends{Store: friend.NewStore(cl.db, cfg), Verifier: n.tokens,
		Limiter: state.NewRedis(cl.redis, cl.prefix), WriteLimit: writes, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if withPresence {
		f.Presence = fn.presence.lookup
	}
	api.MountFriends(n.app, f)
	return fn
}

func (n *friendsNode) send(t *testing.T, method, path string, g gamer, body string) reply {
	t.Helper()
	return n.do(t, call{method: method, path: path, token: g.token, body: body})
}

// listed answers the group of g's friend list, as player id -> entry.
func (n *friendsNode) listed(t *testing.T, g gamer, group string) map[string]map[string]any {
	t.Helper()
	r := n.get(t, "/v1/me/friends", g.token)
	expect(t, r, http.StatusOK, "")
	out := map[string]map[string]any{}
	for _, k := range []string{"friends", "incoming", "outgoing", "blocked"} {
		if _, ok := r.body[k].([]any); !ok {
			t.Fatalf("list has no %s array: %s", k, r.raw)
		}
	}
	for _, e := range r.body[group].([]any) {
		m := e.(map[string]any)
		out[m["player_id"].(string)] = m
	}
	return out
}

var generous = auth.Rule{N: 1000, Per: time.Minute}

func TestFriendRoutes(t *testing.T) {
	cl := newCluster(t)
	n := cl.friendsNode(t, friend.Config{}, generous, true)
	a, b := n.gamer(t), n.gamer(t)

	r := n.send(t, http.MethodPost, "/v1/me/friends/requests", a, `{"player_id":"`+b.public+`"}`)
	expect(t, r, http.StatusOK, "")
	if r.str("player_id") != b.public || r.str("state") != "outgoing" || r.str("display_name") == "" || r.str("since") == "" {
		t.Fatalf("request = %s", r.raw)
	}
	if _, leaks := r.body["account_id"]; leaks {
		t.Fatal("the answer shows the internal account id")
	}
	in := n.listed(t, b, "incoming")
	if in[a.public]["state"] != "incoming" || in[a.public]["presence"] != nil {
		t.Fatalf("b's incoming = %v", in)
	}

	r = n.send(t, http.MethodPost, "/v1/me/friends/"+a.public+"/accept", b, "")
	expect(t, r, http.StatusOK, "")
	if r.str("state") != "friend" || r.str("player_id") != a.public {
		t.Fatalf("accept = %s", r.raw)
	}

	// Friends are listed with their presence: what the lookup knows, else offline.
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n.presence.seen[b.id] = api.PresenceView{Status: "in_match", Text: "ranked", Since: &since}
	friends := n.listed(t, a, "friends")
	p, _ := friends[b.public]["presence"].(map[string]any)
	if friends[b.public]["state"] != "friend" || p["status"] != "in_match" || p["text"] != "ranked" || p["since"] != "2026-01-02T03:04:05Z" {
		t.Fatalf("a's friends = %v", friends)
	}
	p, _ = n.listed(t, b, "friends")[a.public]["presence"].(map[string]any)
	if p["status"] != "offline" || p["since"] != nil {
		t.Fatalf("a's presence as b sees it = %v, want offline", p)
	}
	// A failing lookup leaves presence out but still answers.
	n.presence.err = errors.New("presence is down")
	if f := n.listed(t, a, "friends"); f[b.public] == nil || f[b.public]["presence"] != nil {
		t.Fatalf("list without presence = %v", f)
	}

	expect(t, n.send(t, http.MethodDelete, "/v1/me/friends/"+b.public, a, ""), http.StatusNoContent, "")
	expect(t, n.send(t, http.MethodDelete, "/v1/me/friends/"+b.public, a, ""), http.StatusNotFound, "not_friends")
	if len(n.listed(t, b, "friends")) != 0 {
		t.Fatal("b still lists a")
	}

	// Withdraw and decline.
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/requests", a, `{"player_id":"`+b.public+`"}`), http.StatusOK, "")
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/"+b.public+"/decline", a, ""), http.StatusNoContent, "")
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/requests", b, `{"player_id":"`+a.public+`"}`), http.StatusOK, "")
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/"+b.public+"/decline", a, ""), http.StatusNoContent, "")
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/"+b.public+"/decline", a, ""), http.StatusNotFound, "friend_request_not_found")
	if len(n.listed(t, b, "outgoing")) != 0 {
		t.Fatal("b's declined request is still listed")
	}

	// Blocks: the blocked player's request looks pending and reaches nobody.
	expect(t, n.send(t, http.MethodPost, "/v1/me/blocks", a, `{"player_id":"`+b.public+`"}`), http.StatusNoContent, "")
	if blocked := n.listed(t, a, "blocked"); blocked[b.public]["state"] != "blocked" {
		t.Fatalf("a's blocked = %v", blocked)
	}
	r = n.send(t, http.MethodPost, "/v1/me/friends/requests", b, `{"player_id":"`+a.public+`"}`)
	expect(t, r, http.StatusOK, "")
	if r.str("state") != "outgoing" || len(n.listed(t, a, "incoming")) != 0 {
		t.Fatalf("request to the blocker = %s", r.raw)
	}
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/requests", a, `{"player_id":"`+b.public+`"}`), http.StatusConflict, "player_blocked")
	expect(t, n.send(t, http.MethodDelete, "/v1/me/blocks/"+b.public, a, ""), http.StatusNoContent, "")
	expect(t, n.send(t, http.MethodDelete, "/v1/me/blocks/"+b.public, a, ""), http.StatusNotFound, "not_blocked")
	if len(n.listed(t, b, "outgoing")) != 0 || len(n.listed(t, a, "blocked")) != 0 {
		t.Fatal("unblock left the block or the hidden request")
	}
}

func TestFriendRoutesWithoutPresence(t *testing.T) {
	cl := newCluster(t)
	n := cl.friendsNode(t, friend.Config{}, generous, false)
	a, b := n.gamer(t), n.gamer(t)
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/requests", a, `{"player_id":"`+b.public+`"}`), http.StatusOK, "")
	r := n.send(t, http.MethodPost, "/v1/me/friends/requests", b, `{"player_id":"`+a.public+`"}`)
	expect(t, r, http.StatusOK, "")
	if r.str("state") != "friend" {
		t.Fatalf("crossing request = %s, want friend", r.raw)
	}
	if f := n.listed(t, a, "friends"); f[b.public] == nil || f[b.public]["presence"] != nil {
		t.Fatalf("friends = %v, want b without presence", f)
	}
}

func TestFriendRoutesRefuse(t *testing.T) {
	cl := newCluster(t)
	n := cl.friendsNode(t, friend.Config{MaxOutgoing: 1}, auth.Rule{N: 6, Per: time.Hour}, false)
	a, b, c := n.gamer(t), n.gamer(t), n.gamer(t)

	expect(t, n.get(t, "/v1/me/friends", ""), http.StatusUnauthorized, "unauthorized")
	expect(t, n.do(t, call{method: http.MethodPost, path: "/v1/me/blocks", body: `{"player_id":"x"}`}), http.StatusUnauthorized, "unauthorized")
	bodies := []struct {
		body, code string
	}{
		{`{}`, "bad_request"},
		{`{"player_id":"  "}`, "bad_request"},
		{`{"player_id":7}`, "invalid_json"},
		{`{"player_id":"x","note":"hi"}`, "unknown_field"},
	}
	for _, tc := range bodies {
		d := n.gamer(t) // each spends two writes
		for _, path := range []string{"/v1/me/friends/requests", "/v1/me/blocks"} {
			expect(t, n.send(t, http.MethodPost, path, d, tc.body), http.StatusBadRequest, tc.code)
		}
	}
	// Six writes an hour, refused ones included.
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/requests", a, `{"player_id":"`+a.public+`"}`), http.StatusBadRequest, "cannot_add_self")
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/requests", a, `{"player_id":"p_nobody"}`), http.StatusNotFound, "player_not_found")
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/"+b.public+"/accept", a, ""), http.StatusNotFound, "friend_request_not_found")
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/requests", a, `{"player_id":"`+b.public+`"}`), http.StatusOK, "")
	r := n.send(t, http.MethodPost, "/v1/me/friends/requests", a, `{"player_id":"`+c.public+`"}`)
	expect(t, r, http.StatusConflict, "friend_limit_reached")
	if msg := r.str("error", "message"); !strings.HasPrefix(msg, "friend limit reached: you have 1 requests waiting") {
		t.Fatalf("limit message = %q", msg)
	}
	expect(t, n.send(t, http.MethodPost, "/v1/me/friends/"+b.public+"/decline", a, ""), http.StatusNoContent, "")
	// The seventh write of the hour is refused.
	r = n.send(t, http.MethodPost, "/v1/me/friends/requests", a, `{"player_id":"`+c.public+`"}`)
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// Reads are not limited.
	expect(t, n.get(t, "/v1/me/friends", a.token), http.StatusOK, "")
}
