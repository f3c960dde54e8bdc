package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/session"
)

// notifyNode is a node that also serves the notification routes.
type notifyNode struct {
	*node
	store *notify.Store
}

func (cl *cluster) notifyNode(t *testing.T) *notifyNode {
	t.Helper()
	n := cl.node(t, defaultConfig(), session.Config{})
	s := notify.NewStore(cl.db, notify.Config{})
	api.MountNotifications(n.app, api.Notifications{Store: s, Verifier: n.tokens})
	return &notifyNode{node: n, store: s}
}

// notify stores count notifications for g and returns them.
func (n *notifyNode) notify(t *testing.T, g gamer, count int) []notify.Notification {
	t.Helper()
	in := make([]notify.New, count)
	for i := range in {
		in[i] = notify.New{AccountID: g.id, Kind: "test.hello", Payload: map[string]int{"i": i}}
	}
	var out []notify.Notification
	err := db.InTx(context.Background(), n.db, nil, func(tx *sqlx.Tx) error {
		var err error
		out, err = n.store.Add(context.Background(), tx, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// seqs are the seqs of a list answer, in order.
func seqs(r reply) []int {
	var out []int
	list, _ := r.body["notifications"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		s, _ := m["seq"].(float64)
		out = append(out, int(s))
	}
	return out
}

func num(r reply, key string) int {
	f, _ := r.body[key].(float64)
	return int(f)
}

func TestNotificationListAndRead(t *testing.T) {
	cl := newCluster(t)
	n := cl.notifyNode(t)
	g, other := n.gamer(t), n.gamer(t)
	mine := n.notify(t, g, 5)
	theirs := n.notify(t, other, 1)

	r := n.get(t, "/v1/me/notifications", g.token)
	expect(t, r, http.StatusOK, "")
	if fmt.Sprint(seqs(r)) != "[5 4 3 2 1]" || num(r, "unread_count") != 5 || r.body["next_before"] != nil {
		t.Fatalf("list = %s", r.raw)
	}
	first, _ := r.body["notifications"].([]any)[0].(map[string]any)
	payload, _ := first["payload"].(map[string]any)
	if first["id"] != mine[4].ID || first["kind"] != "test.hello" || payload["i"] != 4.0 || first["read_at"] != nil || first["created_at"] == "" {
		t.Fatalf("newest notification = %v", first)
	}
	if _, leaks := first["account_id"]; leaks {
		t.Fatal("the list shows the internal account id")
	}

	// Pages.
	r = n.get(t, "/v1/me/notifications?limit=2", g.token)
	if fmt.Sprint(seqs(r)) != "[5 4]" || num(r, "next_before") != 4 {
		t.Fatalf("page 1 = %s", r.raw)
	}
	r = n.get(t, "/v1/me/notifications?limit=2&before=4", g.token)
	if fmt.Sprint(seqs(r)) != "[3 2]" || num(r, "next_before") != 2 {
		t.Fatalf("page 2 = %s", r.raw)
	}
	r = n.get(t, "/v1/me/notifications?limit=2&before=2", g.token)
	if fmt.Sprint(seqs(r)) != "[1]" || r.body["next_before"] != nil {
		t.Fatalf("page 3 = %s", r.raw)
	}

	// Read up to a seq, then by id; another player's id is ignored.
	read := func(body string) reply {
		return n.do(t, call{method: http.MethodPost, path: "/v1/me/notifications/read", token: g.token, body: body})
	}
	r = read(`{"up_to_seq": 2}`)
	expect(t, r, http.StatusOK, "")
	if num(r, "marked") != 2 || num(r, "unread_count") != 3 {
		t.Fatalf("read up to 2 = %s", r.raw)
	}
	r = read(fmt.Sprintf(`{"ids": [%q, %q]}`, mine[3].ID, theirs[0].ID))
	expect(t, r, http.StatusOK, "")
	if num(r, "marked") != 1 || num(r, "unread_count") != 2 {
		t.Fatalf("read by id = %s", r.raw)
	}
	r = read(`{"up_to_seq": 2}`) // again: nothing changes
	if num(r, "marked") != 0 || num(r, "unread_count") != 2 {
		t.Fatalf("read again = %s", r.raw)
	}
	r = n.get(t, "/v1/me/notifications?unread=true", g.token)
	if fmt.Sprint(seqs(r)) != "[5 3]" || num(r, "unread_count") != 2 {
		t.Fatalf("unread list = %s", r.raw)
	}
	r = n.get(t, "/v1/me/notifications", other.token)
	if fmt.Sprint(seqs(r)) != "[1]" || num(r, "unread_count") != 1 {
		t.Fatalf("the other player's list = %s", r.raw)
	}
}

func TestNotificationRoutesRefuseBadRequests(t *testing.T) {
	cl := newCluster(t)
	n := cl.notifyNode(t)
	g := n.gamer(t)
	n.notify(t, g, 1)

	expect(t, n.get(t, "/v1/me/notifications", ""), http.StatusUnauthorized, "unauthorized")
	expect(t, n.do(t, call{method: http.MethodPost, path: "/v1/me/notifications/read", body: `{"up_to_seq":1}`}), http.StatusUnauthorized, "unauthorized")
	for _, q := range []string{"limit=0", "limit=201", "before=-1", "before=x", "unread=maybe"} {
		expect(t, n.get(t, "/v1/me/notifications?"+q, g.token), http.StatusBadRequest, "bad_request")
	}
	cases := []struct {
		body, code string
	}{
		{`{}`, "bad_request"},
		{`{"up_to_seq": 1, "ids": []}`, "bad_request"},
		{`{"up_to_seq": 0}`, "bad_request"},
		{`{"ids": []}`, "bad_request"},
		{`{"up_to_seq": -1}`, "invalid_json"},
		{`{"ids": ["nope"]}`, "invalid_request"},
		{`{"all": true}`, "unknown_field"},
	}
	for _, c := range cases {
		r := n.do(t, call{method: http.MethodPost, path: "/v1/me/notifications/read", token: g.token, body: c.body})
		expect(t, r, http.StatusBadRequest, c.code)
	}
	r := n.do(t, call{method: http.MethodPost, path: "/v1/me/notifications/read", token: g.token, body: `x`,
		header: map[string]string{"Content-Type": "text/plain"}})
	expect(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
	// Nothing was marked by the refused requests.
	if c, _ := n.store.UnreadCount(context.Background(), g.id); c != 1 {
		t.Fatalf("unread = %d after refused requests, want 1", c)
	}
}
