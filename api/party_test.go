package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
)

// partyNode is a node that also serves the party routes, on Redis, with
// a listener on the push channel the gateways follow.
type partyNode struct {
	*node
	friends *friend.Store
	pushes  state.Subscription
}

func (cl *cluster) partyNode(t *testing.T) *partyNode {
	t.Helper()
	n := cl.node(t, defaultConfig(), session.Config{})
	st := state.NewRedis(cl.redis, cl.prefix)
	sub, err := st.Subscribe(t.Context(), push.Channel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	friends := friend.NewStore(cl.db, friend.Config{})
	svc := party.New(party.Deps{Store: st, Bus: push.New(st), Friends: friends, Accounts: account.NewStore(cl.db),
		Notifier: party.OutboxNotifier{DB: cl.db}}, party.Config{})
	api.MountParties(n.app, api.Parties{Service: svc, Verifier: n.tokens, Limiter: st, WriteLimit: auth.Rule{N: 100, Per: time.Minute}})
	return &partyNode{node: n, friends: friends, pushes: sub}
}

func (n *partyNode) befriend(t *testing.T, a, b gamer) {
	t.Helper()
	ctx := context.Background()
	if _, err := n.friends.Request(ctx, a.id, b.public); err != nil {
		t.Fatal(err)
	}
	if _, err := n.friends.Accept(ctx, b.id, a.public); err != nil {
		t.Fatal(err)
	}
}

func (n *partyNode) send(t *testing.T, method, path string, g gamer, body string) reply {
	t.Helper()
	return n.do(t, call{method: method, path: path, token: g.token, body: body})
}

// partyOf is the "party" object of an answer (nil for null).
func partyOf(t *testing.T, r reply) map[string]any {
	t.Helper()
	p, ok := r.body["party"]
	if !ok {
		t.Fatalf("no party in %s", r.raw)
	}
	m, _ := p.(map[string]any)
	return m
}

func TestPartyRoutes(t *testing.T) {
	cl := newCluster(t)
	n := cl.partyNode(t)
	lead, mate, stranger := n.gamer(t), n.gamer(t), n.gamer(t)
	n.befriend(t, lead, mate)

	r := n.send(t, http.MethodGet, "/v1/me/party", lead, "")
	expect(t, r, http.StatusOK, "")
	if partyOf(t, r) != nil {
		t.Fatalf("no party yet: %s", r.raw)
	}
	r = n.send(t, http.MethodPost, "/v1/me/party", lead, `{"max_size": 3}`)
	expect(t, r, http.StatusCreated, "")
	p := partyOf(t, r)
	id, _ := p["party_id"].(string)
	if id == "" || p["leader_id"] != lead.public || p["max_size"] != 3.0 || len(p["members"].([]any)) != 1 {
		t.Fatalf("created %s", r.raw)
	}
	expect(t, n.send(t, http.MethodPost, "/v1/me/party", lead, `{}`), http.StatusConflict, "already_in_party")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/invites", lead, `{"player_id":"`+stranger.public+`"}`), http.StatusForbidden, "not_friends")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/invites", lead, `{}`), http.StatusBadRequest, "bad_request")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/invites", lead, `{"player_id":"`+mate.public+`"}`), http.StatusNoContent, "")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/join", stranger, `{"party_id":"`+id+`"}`), http.StatusNotFound, "party_not_found")

	r = n.send(t, http.MethodPost, "/v1/me/party/join", mate, `{"party_id":"`+id+`"}`)
	expect(t, r, http.StatusOK, "")
	if got := partyOf(t, r)["members"].([]any); len(got) != 2 {
		t.Fatalf("joined %s", r.raw)
	}
	// Members' sockets are pushed the new state.
	var ev push.Event
	for ev.Kind != party.KindState {
		select {
		case m := <-n.pushes.C():
			var err error
			if ev, err = push.Decode(m.Payload); err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no party state pushed")
		}
	}
	var pushed party.View
	if json.Unmarshal(ev.Data, &pushed) != nil || len(pushed.Members) != 2 || len(ev.To) != 2 {
		t.Fatalf("pushed %+v", ev)
	}

	r = n.send(t, http.MethodPatch, "/v1/me/party", lead, `{"join_by_code": true}`)
	expect(t, r, http.StatusOK, "")
	code, _ := partyOf(t, r)["invite_code"].(string)
	if len(code) != party.CodeLength {
		t.Fatalf("code in %s", r.raw)
	}
	expect(t, n.send(t, http.MethodPatch, "/v1/me/party", mate, `{"max_size": 4}`), http.StatusForbidden, "not_party_leader")
	expect(t, n.send(t, http.MethodPatch, "/v1/me/party", lead, `{"max_size": 1}`), http.StatusBadRequest, "invalid_request")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/join", stranger, `{"invite_code":"`+code+`"}`), http.StatusOK, "")
	fourth := n.gamer(t)
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/join", fourth, `{"invite_code":"`+code+`"}`), http.StatusConflict, "party_full")

	expect(t, n.send(t, http.MethodPost, "/v1/me/party/ready-check", mate, ""), http.StatusForbidden, "not_party_leader")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/ready-check", lead, ""), http.StatusNoContent, "")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/ready", mate, `{}`), http.StatusBadRequest, "bad_request")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/ready", mate, `{"ready": true}`), http.StatusNoContent, "")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/chat", mate, `{"text": ""}`), http.StatusBadRequest, "invalid_request")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/chat", mate, `{"text": "gg"}`), http.StatusNoContent, "")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/chat", fourth, `{"text": "hi"}`), http.StatusNotFound, "not_in_party")

	expect(t, n.send(t, http.MethodPost, "/v1/me/party/kick", lead, `{"player_id":"`+fourth.public+`"}`), http.StatusNotFound, "not_party_member")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/kick", lead, `{"player_id":"`+stranger.public+`"}`), http.StatusNoContent, "")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/promote", lead, `{"player_id":"`+mate.public+`"}`), http.StatusNoContent, "")
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/leave", lead, ""), http.StatusNoContent, "")
	r = n.send(t, http.MethodGet, "/v1/me/party", mate, "")
	if p := partyOf(t, r); p["leader_id"] != mate.public || len(p["members"].([]any)) != 1 {
		t.Fatalf("after the old leader left: %s", r.raw)
	}
	expect(t, n.send(t, http.MethodPost, "/v1/me/party/leave", lead, ""), http.StatusNotFound, "not_in_party")
	expect(t, n.send(t, http.MethodGet, "/v1/me/party", gamer{}, ""), http.StatusUnauthorized, "unauthorized")
}
