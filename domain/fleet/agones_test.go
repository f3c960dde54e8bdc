package fleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/match"
)

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
		labels: map[string]string{fleet.AgonesFleetLabel: fleetName, fleet.AgonesRegionLabel: region}})
}

func TestAgonesAllocatorAgainstAFakeKubernetesAPI(t *testing.T) {
	k, srv := newFakeKube(t)
	sv := match.Server{ID: 42}
	a, err := fleet.NewAgones(fleet.AgonesConfig{BaseURL: srv.URL, Namespace: "games", Token: "sa-token", Fleet: "arena", Server: sv})
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
	if gs.state != "Allocated" || gs.annotations[fleet.AgonesMatchAnnotation] != "m-1" || gs.annotations[fleet.AgonesModeAnnotation] != "duel" ||
		gs.annotations[fleet.AgonesPlayersAnnotation] != "2" {
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
		a, _ := fleet.NewAgones(fleet.AgonesConfig{BaseURL: srv.URL, Namespace: "games", Token: c.token, Fleet: "arena", Server: sv})
		if _, err := a.Allocate(ctx, nil, req); !errors.Is(err, fleet.ErrAllocator) {
			t.Errorf("answer %q, token %q: %v, want ErrAllocator", c.answer, c.token, err)
		}
	}
	// Unreachable.
	srv.Close()
	if _, err := a.Allocate(ctx, nil, req); !errors.Is(err, fleet.ErrAllocator) {
		t.Errorf("unreachable API: %v, want ErrAllocator", err)
	}

	for _, bad := range []fleet.AgonesConfig{
		{BaseURL: "kubernetes.default.svc", Namespace: "games", Fleet: "arena", Server: sv},
		{BaseURL: srv.URL, Namespace: "", Fleet: "arena", Server: sv},
		{BaseURL: srv.URL, Namespace: "games", Fleet: "arena"},
		{BaseURL: srv.URL, Namespace: "games", Fleet: "arena", Server: sv, CA: []byte("not a certificate")},
	} {
		if _, err := fleet.NewAgones(bad); err == nil {
			t.Errorf("NewAgones(%+v) accepted", bad)
		}
	}
}

func TestFormedMatchOnAgones(t *testing.T) {
	k, srv := newFakeKube(t)
	var agonesServer match.Server
	e := newEnv(t, options{alloc: func(e *env) fleet.Allocator {
		agonesServer, _ = e.newServer(t)
		a, err := fleet.NewAgones(fleet.AgonesConfig{BaseURL: srv.URL, Namespace: "games", Token: "sa-token", Fleet: "arena", Server: agonesServer})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}})
	ctx := context.Background()
	k.add("arena-q8w2e", "arena", e.region, "203.0.113.9", 7777)
	ps := e.gamers(t, 2)
	id := unique("m-")
	e.form(t, e.formed(id, ps))
	e.deliver(t)

	ss, err := e.sessions.Get(ctx, agonesServer, id)
	if err != nil || ss.GameServer != "arena-q8w2e" || ss.Address != "203.0.113.9" || ss.Port != 7777 || ss.InstanceID != nil {
		t.Fatalf("allocation on Agones = %+v, %v", ss, err)
	}
	if m, err := e.matches.Get(ctx, id); err != nil || m.ServerID != agonesServer.ID {
		t.Fatalf("match opened for %+v, %v; want the Agones fleet's credential %d", m, err, agonesServer.ID)
	}
	found := e.notifications(t, ps[1].account, fleet.KindMatchFound)
	var pl fleet.FoundPayload
	if len(found) != 1 || json.Unmarshal(found[0], &pl) != nil || pl.Address != "203.0.113.9" || pl.Port != 7777 || pl.Team != 2 {
		t.Fatalf("match.found = %s", found)
	}
	// A second match finds the fleet full: it waits.
	waiting := unique("m-")
	e.form(t, e.formed(waiting, e.gamers(t, 2)))
	if st, _, _ := e.allocation(t, waiting); st != fleet.AllocPending {
		t.Fatalf("match with no Ready GameServer: %s, want pending", st)
	}
	if _, err := e.conn.Exec(`UPDATE fleet_allocations SET state = 'failed', ended_at = now() WHERE match_id = $1`, waiting); err != nil {
		t.Fatal(err) // leave nothing pending for other tests' retries
	}
}
