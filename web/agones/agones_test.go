package agones_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/test/testenv"
	"github.com/musterhq/muster/web/agones"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fakeKube answers GameServerAllocation requests as the Kubernetes API with
// Agones installed does: POST
// /apis/allocation.agones.dev/v1/namespaces/{ns}/gameserverallocations with
// a bearer token; the created allocation comes back (201) with its status:
// Allocated with the GameServer's address and ports, UnAllocated when no
// Ready GameServer matches the selectors, Contention when the allocator
// lost a race. Errors are Kubernetes Status objects.
type fakeKube struct {
	t         *testing.T
	namespace string
	token     string

	mu       sync.Mutex
	servers  []*fakeGameServer
	answer   string // "" (allocate), "contention", "forbidden", "error"
	requests []map[string]any
}

type fakeGameServer struct {
	name        string
	labels      map[string]string
	state       string // Ready or Allocated
	address     string
	port        int
	annotations map[string]string
}

func (k *fakeKube) status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure",
		"message": msg, "reason": reason, "code": code})
}

func (k *fakeKube) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	want := "/apis/allocation.agones.dev/v1/namespaces/" + k.namespace + "/gameserverallocations"
	switch {
	case r.URL.Path != want:
		k.status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	case r.Method != http.MethodPost:
		k.status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource")
		return
	case r.Header.Get("Authorization") != "Bearer "+k.token:
		k.status(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	case r.Header.Get("Content-Type") != "application/json":
		k.status(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "the body of the request was in an unknown format")
		return
	}
	var body struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Selectors []struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selectors"`
			Required   map[string]any `json:"required"`
			Scheduling string         `json:"scheduling"`
			Metadata   struct {
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		} `json:"spec"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.APIVersion != "allocation.agones.dev/v1" || body.Kind != "GameServerAllocation" {
		k.status(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("invalid GameServerAllocation: %v", err))
		return
	}
	if body.Spec.Required != nil && len(body.Spec.Selectors) > 0 {
		k.status(w, http.StatusUnprocessableEntity, "Invalid", "use selectors or the deprecated required, not both")
		return
	}
	var raw map[string]any
	b, _ := json.Marshal(body)
	_ = json.Unmarshal(b, &raw)
	k.requests = append(k.requests, raw)

	switch k.answer {
	case "forbidden":
		k.status(w, http.StatusForbidden, "Forbidden", `gameserverallocations.allocation.agones.dev is forbidden: User "system:serviceaccount:muster:muster-sessions" cannot create resource`)
		return
	case "error":
		k.status(w, http.StatusInternalServerError, "InternalError", "etcdserver: request timed out")
		return
	}
	out := map[string]any{"apiVersion": "allocation.agones.dev/v1", "kind": "GameServerAllocation",
		"metadata": map[string]any{"name": "", "namespace": k.namespace, "creationTimestamp": nil}, "spec": body.Spec}
	status := map[string]any{"state": "UnAllocated", "gameServerName": "", "ports": nil, "address": "", "addresses": nil, "nodeName": "", "source": ""}
	if k.answer == "contention" {
		status["state"] = "Contention"
	} else {
		for _, sel := range body.Spec.Selectors {
			for _, gs := range k.servers {
				match := gs.state == "Ready"
				for key, v := range sel.MatchLabels {
					match = match && gs.labels[key] == v
				}
				if !match {
					continue
				}
				gs.state, gs.annotations = "Allocated", body.Spec.Metadata.Annotations
				status = map[string]any{"state": "Allocated", "gameServerName": gs.name,
					"ports":     []map[string]any{{"name": "metrics", "port": 9100}, {"name": "default", "port": gs.port}},
					"address":   gs.address,
					"addresses": []map[string]any{{"type": "InternalIP", "address": gs.address}},
					"nodeName":  "node-" + gs.name, "source": "local"}
				goto answer
			}
		}
	}
answer:
	out["status"] = status
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(out)
}

func newFakeKube(t *testing.T) (*fakeKube, *httptest.Server) {
	k := &fakeKube{t: t, namespace: "games", token: "sa-token"}
	srv := httptest.NewServer(k)
	t.Cleanup(srv.Close)
	return k, srv
}

func (k *fakeKube) add(name, fleetName, region, address string, port int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.servers = append(k.servers, &fakeGameServer{name: name, state: "Ready", address: address, port: port,
		labels: map[string]string{agones.FleetLabel: fleetName, agones.RegionLabel: region}})
}

func TestAllocatorAgainstAFakeKubernetesAPI(t *testing.T) {
	k, srv := newFakeKube(t)
	sv := match.Server{ID: 42}
	a, err := agones.New(agones.Config{BaseURL: srv.URL, Namespace: "games", Token: "sa-token", Fleet: "arena", Server: sv})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := fleet.Request{MatchID: "m-1", Queue: "ranked", Mode: "duel", Region: "eu-west", Players: 2}
	k.add("arena-x7k2p", "arena", "us-east", "198.51.100.1", 7001) // another region
	k.add("arena-9fj3q", "other", "eu-west", "198.51.100.2", 7002) // another fleet
	if _, err := a.Allocate(ctx, nil, req); !errors.Is(err, fleet.ErrNoCapacity) {
		t.Fatalf("no Ready GameServer in the region: %v, want ErrNoCapacity", err)
	}
	k.add("arena-b2m8c", "arena", "eu-west", "198.51.100.3", 7003)
	got, err := a.Allocate(ctx, nil, req)
	want := fleet.Allocation{Allocator: "agones", GameServer: "arena-b2m8c", Server: sv, Host: "198.51.100.3", Port: 7003}
	if err != nil || got != want {
		t.Fatalf("Allocate = %+v, %v; want %+v", got, err, want)
	}
	k.mu.Lock()
	gs := k.servers[2]
	sent := k.requests[len(k.requests)-1]
	k.mu.Unlock()
	if gs.state != "Allocated" || gs.annotations[agones.MatchAnnotation] != "m-1" || gs.annotations[agones.ModeAnnotation] != "duel" ||
		gs.annotations[agones.PlayersAnnotation] != "2" {
		t.Fatalf("allocated GameServer = %+v", gs)
	}
	spec := sent["spec"].(map[string]any)
	if spec["scheduling"] != "Packed" {
		t.Errorf("scheduling = %v, want Packed", spec["scheduling"])
	}
	// The only Ready one is taken now.
	if _, err := a.Allocate(ctx, nil, req); !errors.Is(err, fleet.ErrNoCapacity) {
		t.Fatalf("after the last Ready GameServer: %v, want ErrNoCapacity", err)
	}

	for _, c := range []struct{ answer, token string }{{"contention", "sa-token"}, {"forbidden", "sa-token"}, {"error", "sa-token"}, {"", "wrong"}} {
		k.mu.Lock()
		k.answer = c.answer
		k.mu.Unlock()
		a, _ := agones.New(agones.Config{BaseURL: srv.URL, Namespace: "games", Token: c.token, Fleet: "arena", Server: sv})
		if _, err := a.Allocate(ctx, nil, req); !errors.Is(err, fleet.ErrAllocator) {
			t.Errorf("answer %q, token %q: %v, want ErrAllocator", c.answer, c.token, err)
		}
	}
	// Unreachable.
	srv.Close()
	if _, err := a.Allocate(ctx, nil, req); !errors.Is(err, fleet.ErrAllocator) {
		t.Errorf("unreachable API: %v, want ErrAllocator", err)
	}

	for _, bad := range []agones.Config{
		{BaseURL: "kubernetes.default.svc", Namespace: "games", Fleet: "arena", Server: sv},
		{BaseURL: srv.URL, Namespace: "", Fleet: "arena", Server: sv},
		{BaseURL: srv.URL, Namespace: "games", Fleet: "arena"},
		{BaseURL: srv.URL, Namespace: "games", Fleet: "arena", Server: sv, CA: []byte("not a certificate")},
	} {
		if _, err := agones.New(bad); err == nil {
			t.Errorf("NewAgones(%+v) accepted", bad)
		}
	}
}

// TestFormedMatchOnAgones runs the sessions consumer with this allocator
// against the fake API and a real database: the match is opened for the
// Agones fleet's credential and the players are told the GameServer's
// address.
func TestFormedMatchOnAgones(t *testing.T) {
	k, srv := newFakeKube(t)
	ctx := context.Background()
	conn := testenv.DB(t)
	servers := match.NewServers(conn, time.Millisecond)
	agonesServer, _, err := servers.Create(ctx, economytest.Name("agones"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agones.New(agones.Config{BaseURL: srv.URL, Namespace: "games", Token: "sa-token", Fleet: "arena", Server: agonesServer})
	if err != nil {
		t.Fatal(err)
	}
	cs := content.New(conn)
	cs.Register(match.ModeKind())
	mode := economytest.Name("duel")
	body, _ := json.Marshal(match.Mode{Name: "Duel", Teams: 2, TeamSize: 1, MaxDurationSeconds: 600,
		Bounds: map[string]int64{match.StatSecondsPlayed: 600}, XP: match.XPRules{Max: 100}})
	d, err := cs.SaveDraft(ctx, match.KindMode, mode, "", body, content.Edit{Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Publish(ctx, match.KindMode, mode, content.Edit{Expected: d.DraftRevision, Editor: "test"}); err != nil {
		t.Fatal(err)
	}
	matches := match.New(conn, nil)
	sessions := fleet.NewSessions(conn, a, matches, fleet.SessionsConfig{}, nil, nil)
	notes := notify.NewStore(conn, notify.Config{})
	relay := outbox.NewRelay(conn, "", nil, nil, outbox.Config{})
	for _, c := range append(sessions.Consumers(), notes.Consumer()) {
		if err := relay.Register(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	region := economytest.Name("r")
	k.add("arena-q8w2e", "arena", region, "203.0.113.9", 7777)
	form := func(id string) []int64 {
		f := matchmaking.Formed{MatchID: id, Queue: "duel", Mode: mode, Region: region}
		var accounts []int64
		for range 2 {
			acc := economytest.Player(t, conn)
			var public string
			if err := conn.Get(&public, `SELECT public_id FROM accounts WHERE id = $1`, acc); err != nil {
				t.Fatal(err)
			}
			f.Teams = append(f.Teams, matchmaking.Team{Players: []matchmaking.Player{{AccountID: acc, PlayerID: public}}})
			accounts = append(accounts, acc)
		}
		tx, err := conn.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := outbox.Enqueue(ctx, tx, matchmaking.TopicFormed, f); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := relay.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return accounts
	}
	id := economytest.Name("m-")
	accounts := form(id)

	ss, err := sessions.Get(ctx, agonesServer, id)
	if err != nil || ss.GameServer != "arena-q8w2e" || ss.Address != "203.0.113.9" || ss.Port != 7777 || ss.InstanceID != nil {
		t.Fatalf("allocation on Agones = %+v, %v", ss, err)
	}
	if m, err := matches.Get(ctx, id); err != nil || m.ServerID != agonesServer.ID {
		t.Fatalf("match opened for %+v, %v; want the Agones fleet's credential %d", m, err, agonesServer.ID)
	}
	ns, err := notes.List(ctx, accounts[1], 0, 10, false)
	var pl fleet.FoundPayload
	if err != nil || len(ns) != 1 || ns[0].Kind != fleet.KindMatchFound || json.Unmarshal(ns[0].Payload, &pl) != nil ||
		pl.Address != "203.0.113.9" || pl.Port != 7777 || pl.Team != 2 {
		t.Fatalf("notifications = %+v, %v", ns, err)
	}
	// A second match finds the fleet full: it waits for a GameServer.
	waiting := economytest.Name("m-")
	form(waiting)
	var state string
	if err := conn.Get(&state, `SELECT state FROM fleet_allocations WHERE match_id = $1`, waiting); err != nil || state != fleet.AllocPending {
		t.Fatalf("match with no Ready GameServer: %q, %v; want pending", state, err)
	}
	if _, err := conn.Exec(`UPDATE fleet_allocations SET state = 'failed', ended_at = now() WHERE match_id = $1`, waiting); err != nil {
		t.Fatal(err) // leave nothing pending for other tests' retries
	}
}
