// Package agones allocates dedicated game servers for formed matches from
// an Agones Fleet, through the Kubernetes API: the sessions service's
// second fleet.Allocator, beside the built-in registry.
package agones

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/match"
)

// Labels and annotations of GameServers that allocation reads and writes.
const (
	// FleetLabel is the label Agones puts on every GameServer of a Fleet.
	FleetLabel = "agones.dev/fleet"
	// RegionLabel is the label a Fleet's GameServer template carries with
	// the region it runs in, as the matchmaker names regions.
	RegionLabel = "muster.dev/region"
	// The annotations the allocation writes on the GameServer, which the
	// game server reads through the Agones SDK (WatchGameServer) to learn
	// its match.
	MatchAnnotation   = "muster.dev/match-id"
	ModeAnnotation    = "muster.dev/mode"
	QueueAnnotation   = "muster.dev/queue"
	PlayersAnnotation = "muster.dev/players" // how many players to expect
	// agonesPortName is the port players connect to: Agones names a
	// GameServer's only port "default"; without one the first port is used.
	agonesPortName = "default"
)

// Config configures the allocator.
type Config struct {
	// BaseURL is the Kubernetes API server: https://kubernetes.default.svc
	// inside the cluster.
	BaseURL string
	// Namespace holds the Fleet's GameServers.
	Namespace string
	// Token is the bearer token of a service account allowed to create
	// gameserverallocations in Namespace ("" sends none, e.g. through
	// kubectl proxy).
	Token string
	// CA, when set, is the PEM bundle that verifies the API server's
	// certificate (the service account's ca.crt); else the system roots.
	CA []byte
	// Fleet is the Agones Fleet to allocate from.
	Fleet string
	// Server is the game server credential the Fleet's pods use: matches
	// are opened for it.
	Server match.Server
	// Timeout bounds one allocation call: 10s.
	Timeout time.Duration
	// Client, when set, makes the calls (tests); else one is built.
	Client *http.Client
}

// Allocator allocates GameServers of an Agones Fleet through the
// Kubernetes API (GameServerAllocation): a Ready GameServer of the Fleet
// labelled with the match's region becomes Allocated, annotated with the
// match. It is a fleet.Allocator.
type Allocator struct {
	cfg      Config
	endpoint string
	client   *http.Client
}

// namePattern is a Kubernetes object name (a namespace's, a Fleet's).
var namePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// New returns the allocator.
func New(cfg Config) (*Allocator, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("agones: the Kubernetes API URL must be http:// or https://")
	}
	if !namePattern.MatchString(cfg.Namespace) || !namePattern.MatchString(cfg.Fleet) {
		return nil, errors.New("agones: a namespace and a fleet name are required")
	}
	if cfg.Server.ID <= 0 {
		return nil, errors.New("agones: the game server credential the fleet uses is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	client := cfg.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if len(cfg.CA) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(cfg.CA) {
				return nil, errors.New("agones: the CA bundle holds no PEM certificate")
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		client = &http.Client{Transport: tr}
	}
	endpoint := strings.TrimRight(cfg.BaseURL, "/") + "/apis/allocation.agones.dev/v1/namespaces/" + url.PathEscape(cfg.Namespace) + "/gameserverallocations"
	return &Allocator{cfg: cfg, endpoint: endpoint, client: client}, nil
}

// agonesAllocation is the GameServerAllocation as sent and answered.
type agonesAllocation struct {
	APIVersion string                 `json:"apiVersion"`
	Kind       string                 `json:"kind"`
	Spec       agonesAllocationSpec   `json:"spec"`
	Status     agonesAllocationStatus `json:"status,omitzero"`
}

type agonesAllocationSpec struct {
	Selectors  []agonesSelector `json:"selectors"`
	Scheduling string           `json:"scheduling,omitempty"`
	Metadata   agonesMeta       `json:"metadata"`
}

type agonesSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

type agonesMeta struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type agonesAllocationStatus struct {
	State          string       `json:"state"` // Allocated, UnAllocated or Contention
	GameServerName string       `json:"gameServerName"`
	Address        string       `json:"address"`
	NodeName       string       `json:"nodeName"`
	Ports          []agonesPort `json:"ports"`
}

type agonesPort struct {
	Name string `json:"name"`
	Port int    `json:"port"`
}

// kubeStatus is the Status object the Kubernetes API answers errors with.
type kubeStatus struct {
	Message string `json:"message"`
	Reason  string `json:"reason"`
}

// Allocate asks Kubernetes for a Ready GameServer of the Fleet in the
// request's region. UnAllocated (none ready) is fleet.ErrNoCapacity; Contention,
// throttling, server errors and timeouts are fleet.ErrAllocator; both are tried
// again. A refusal for any other reason (forbidden, bad request) is an
// error, also tried again until the deadline, and logged by the caller.
func (a *Allocator) Allocate(ctx context.Context, _ *sqlx.Tx, req fleet.Request) (fleet.Allocation, error) {
	body, err := json.Marshal(agonesAllocation{
		APIVersion: "allocation.agones.dev/v1", Kind: "GameServerAllocation",
		Spec: agonesAllocationSpec{
			Selectors:  []agonesSelector{{MatchLabels: map[string]string{FleetLabel: a.cfg.Fleet, RegionLabel: req.Region}}},
			Scheduling: "Packed",
			Metadata: agonesMeta{Annotations: map[string]string{
				MatchAnnotation: req.MatchID, ModeAnnotation: req.Mode,
				QueueAnnotation: req.Queue, PlayersAnnotation: strconv.Itoa(req.Players),
			}},
		},
	})
	if err != nil {
		return fleet.Allocation{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint, bytes.NewReader(body))
	if err != nil {
		return fleet.Allocation{}, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if a.cfg.Token != "" {
		hreq.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	}
	resp, err := a.client.Do(hreq)
	if err != nil {
		return fleet.Allocation{}, fmt.Errorf("%w: agones: %v", fleet.ErrAllocator, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fleet.Allocation{}, fmt.Errorf("%w: agones: read answer: %v", fleet.ErrAllocator, err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		var st kubeStatus
		_ = json.Unmarshal(raw, &st)
		msg := fmt.Sprintf("agones: %s: %s %s", resp.Status, st.Reason, st.Message)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return fleet.Allocation{}, fmt.Errorf("%w: %s", fleet.ErrAllocator, msg)
		}
		return fleet.Allocation{}, fmt.Errorf("%w: refused: %s", fleet.ErrAllocator, msg)
	}
	var got agonesAllocation
	if err := json.Unmarshal(raw, &got); err != nil {
		return fleet.Allocation{}, fmt.Errorf("%w: agones: decode answer: %v", fleet.ErrAllocator, err)
	}
	st := got.Status
	switch st.State {
	case "Allocated":
	case "UnAllocated":
		return fleet.Allocation{}, fleet.ErrNoCapacity
	case "Contention":
		return fleet.Allocation{}, fmt.Errorf("%w: agones: contention", fleet.ErrAllocator)
	default:
		return fleet.Allocation{}, fmt.Errorf("%w: agones: unknown allocation state %q", fleet.ErrAllocator, st.State)
	}
	port := 0
	for _, p := range st.Ports {
		if p.Name == agonesPortName || port == 0 {
			port = p.Port
		}
		if p.Name == agonesPortName {
			break
		}
	}
	if st.Address == "" || port <= 0 || port > 65535 || st.GameServerName == "" {
		return fleet.Allocation{}, fmt.Errorf("%w: agones: GameServer %q allocated without an address and port", fleet.ErrAllocator, st.GameServerName)
	}
	return fleet.Allocation{Allocator: "agones", GameServer: st.GameServerName, Server: a.cfg.Server, Host: st.Address, Port: port}, nil
}
