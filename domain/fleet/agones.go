package fleet

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
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/match"
)

// Labels and annotations of Agones GameServers that Agones allocation
// reads and writes.
const (
	// AgonesFleetLabel is the label Agones puts on every GameServer of a
	// Fleet.
	AgonesFleetLabel = "agones.dev/fleet"
	// AgonesRegionLabel is the label a Fleet's GameServer template carries
	// with the region it runs in, as the matchmaker names regions.
	AgonesRegionLabel = "muster.dev/region"
	// The annotations the allocation writes on the GameServer, which the
	// game server reads through the Agones SDK (WatchGameServer) to learn
	// its match.
	AgonesMatchAnnotation   = "muster.dev/match-id"
	AgonesModeAnnotation    = "muster.dev/mode"
	AgonesQueueAnnotation   = "muster.dev/queue"
	AgonesPlayersAnnotation = "muster.dev/players" // how many players to expect
	// agonesPortName is the port players connect to: Agones names a
	// GameServer's only port "default"; without one the first port is used.
	agonesPortName = "default"
)

// AgonesConfig configures the Agones allocator.
type AgonesConfig struct {
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

// Agones allocates GameServers of an Agones Fleet through the Kubernetes
// API (GameServerAllocation): a Ready GameServer of the Fleet labelled with
// the match's region becomes Allocated, annotated with the match.
type Agones struct {
	cfg      AgonesConfig
	endpoint string
	client   *http.Client
}

// NewAgones returns the Agones allocator.
func NewAgones(cfg AgonesConfig) (*Agones, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("agones: the Kubernetes API URL must be http:// or https://")
	}
	if !idPattern.MatchString(cfg.Namespace) || !idPattern.MatchString(cfg.Fleet) {
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
	return &Agones{cfg: cfg, endpoint: endpoint, client: client}, nil
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
// request's region. UnAllocated (none ready) is ErrNoCapacity; Contention,
// throttling, server errors and timeouts are ErrAllocator; both are tried
// again. A refusal for any other reason (forbidden, bad request) is an
// error, also tried again until the deadline, and logged by the caller.
func (a *Agones) Allocate(ctx context.Context, _ *sqlx.Tx, req Request) (Allocation, error) {
	body, err := json.Marshal(agonesAllocation{
		APIVersion: "allocation.agones.dev/v1", Kind: "GameServerAllocation",
		Spec: agonesAllocationSpec{
			Selectors:  []agonesSelector{{MatchLabels: map[string]string{AgonesFleetLabel: a.cfg.Fleet, AgonesRegionLabel: req.Region}}},
			Scheduling: "Packed",
			Metadata: agonesMeta{Annotations: map[string]string{
				AgonesMatchAnnotation: req.MatchID, AgonesModeAnnotation: req.Mode,
				AgonesQueueAnnotation: req.Queue, AgonesPlayersAnnotation: strconv.Itoa(req.Players),
			}},
		},
	})
	if err != nil {
		return Allocation{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint, bytes.NewReader(body))
	if err != nil {
		return Allocation{}, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if a.cfg.Token != "" {
		hreq.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	}
	resp, err := a.client.Do(hreq)
	if err != nil {
		return Allocation{}, fmt.Errorf("%w: agones: %v", ErrAllocator, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Allocation{}, fmt.Errorf("%w: agones: read answer: %v", ErrAllocator, err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		var st kubeStatus
		_ = json.Unmarshal(raw, &st)
		msg := fmt.Sprintf("agones: %s: %s %s", resp.Status, st.Reason, st.Message)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return Allocation{}, fmt.Errorf("%w: %s", ErrAllocator, msg)
		}
		return Allocation{}, fmt.Errorf("%w: refused: %s", ErrAllocator, msg)
	}
	var got agonesAllocation
	if err := json.Unmarshal(raw, &got); err != nil {
		return Allocation{}, fmt.Errorf("%w: agones: decode answer: %v", ErrAllocator, err)
	}
	st := got.Status
	switch st.State {
	case "Allocated":
	case "UnAllocated":
		return Allocation{}, ErrNoCapacity
	case "Contention":
		return Allocation{}, fmt.Errorf("%w: agones: contention", ErrAllocator)
	default:
		return Allocation{}, fmt.Errorf("%w: agones: unknown allocation state %q", ErrAllocator, st.State)
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
		return Allocation{}, fmt.Errorf("%w: agones: GameServer %q allocated without an address and port", ErrAllocator, st.GameServerName)
	}
	return Allocation{Allocator: "agones", GameServer: st.GameServerName, Server: a.cfg.Server, Host: st.Address, Port: port}, nil
}
