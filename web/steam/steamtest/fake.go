// Package steamtest is a fake Steam Web API for tests. It serves
// ISteamUserAuth/AuthenticateUserTicket/v1 and answers the way Steam does:
// HTTP 200 with response.params or response.error, and HTML pages for
// refused keys and server failures. It is cheap and safe for concurrent use,
// so it can also stand in for Steam in load tests.
package steamtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Path is the only method the fake serves.
const Path = "/ISteamUserAuth/AuthenticateUserTicket/v1/"

// Player is what the fake says about a ticket it knows.
type Player struct {
	SteamID         string
	OwnerSteamID    string // empty: same as SteamID (Steam always sends it)
	VACBanned       bool
	PublisherBanned bool
}

// Mode is a failure the fake injects, see FailNext.
type Mode int

// Failure modes.
const (
	// SteamError answers HTTP 200 with
	// {"response":{"error":{"errorcode":100,"errordesc":"Invalid ticket"}}}.
	SteamError Mode = iota + 1
	// ServerError answers HTTP 500 with an HTML page.
	ServerError
	// Unavailable answers HTTP 503 with an HTML page.
	Unavailable
	// RateLimited answers HTTP 429 with an HTML page.
	RateLimited
	// Slow answers normally after the slow delay (SetSlowDelay, default
	// 1s), or gives up when the client goes away.
	Slow
	// WrongKey answers HTTP 403 with Steam's "Access is denied" page, as
	// for a revoked key.
	WrongKey
	// BadBody answers HTTP 200 with a body that is not JSON.
	BadBody
)

// Server is a fake Steam Web API. Create it with NewServer in tests, or
// with Start elsewhere (load tools).
type Server struct {
	srv           *httptest.Server
	apiKey, appID string
	requests      atomic.Int64
	pending       atomic.Int64 // len(fails), so the hot path skips the lock

	mu       sync.RWMutex
	tickets  map[string][]byte // lower-case ticket → JSON body
	fails    []Mode
	identity string
	slow     time.Duration
}

// Bodies as Steam sends them.
var (
	jsonType = []string{"application/json; charset=UTF-8"}
	htmlType = []string{"text/html; charset=UTF-8"}

	unknownTicket = errorBody(101, "Invalid ticket")
	badParameter  = errorBody(3, "Invalid parameter")
	injectedError = errorBody(100, "Invalid ticket")

	forbiddenPage   = []byte("<html><head><title>Forbidden</title></head><body><h1>Forbidden</h1>Access is denied. Retrying will not help. Please verify your <pre>key=</pre> parameter.</body></html>")
	notFoundPage    = []byte("<html><head><title>Not Found</title></head><body><h1>Not Found</h1></body></html>")
	serverErrorPage = []byte("<html><head><title>Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>")
	unavailablePage = []byte("<html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>")
	tooManyPage     = []byte("<html><head><title>Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>")
)

// NewServer starts a fake that accepts only apiKey and appID. It is closed
// when the test ends.
func NewServer(t testing.TB, apiKey, appID string) *Server {
	t.Helper()
	s := Start(apiKey, appID)
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake that accepts only apiKey and appID on a loopback
// port, outside of a test. The caller must Close it.
func Start(apiKey, appID string) *Server {
	s := &Server{apiKey: apiKey, appID: appID, tickets: map[string][]byte{}, slow: time.Second}
	s.srv = httptest.NewServer(s)
	return s
}

// Close shuts the fake down, waiting for requests in flight. It may be
// called more than once.
func (s *Server) Close() { s.srv.Close() }

// URL is the base URL to use as steam.Config.BaseURL.
func (s *Server) URL() string { return s.srv.URL }

// Requests is how many requests reached the fake.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// AddTicket makes ticketHex (any case) valid for p.
func (s *Server) AddTicket(ticketHex string, p Player) {
	if p.OwnerSteamID == "" {
		p.OwnerSteamID = p.SteamID
	}
	var body struct {
		Response struct {
			Params struct {
				Result          string `json:"result"`
				SteamID         string `json:"steamid"`
				OwnerSteamID    string `json:"ownersteamid"`
				VACBanned       bool   `json:"vacbanned"`
				PublisherBanned bool   `json:"publisherbanned"`
			} `json:"params"`
		} `json:"response"`
	}
	body.Response.Params.Result = "OK"
	body.Response.Params.SteamID = p.SteamID
	body.Response.Params.OwnerSteamID = p.OwnerSteamID
	body.Response.Params.VACBanned = p.VACBanned
	body.Response.Params.PublisherBanned = p.PublisherBanned
	b, _ := json.Marshal(body)
	s.setTicket(ticketHex, b)
}

// RejectTicket makes Steam answer ticketHex with response.error code and
// desc, e.g. 102 "Ticket for other app".
func (s *Server) RejectTicket(ticketHex string, code int, desc string) {
	s.setTicket(ticketHex, errorBody(code, desc))
}

// FailNext makes the next request fail with m. Calls queue up: each
// request takes the oldest pending failure.
func (s *Server) FailNext(m Mode) {
	s.mu.Lock()
	s.fails = append(s.fails, m)
	s.pending.Add(1)
	s.mu.Unlock()
}

// SetSlowDelay sets how long a Slow answer takes (default 1s).
func (s *Server) SetSlowDelay(d time.Duration) {
	s.mu.Lock()
	s.slow = d
	s.mu.Unlock()
}

// SetIdentity makes the fake require identity=id on every request, as
// Steam does for tickets from GetAuthTicketForWebApi(id). A mismatch is
// answered like an unknown ticket.
func (s *Server) SetIdentity(id string) {
	s.mu.Lock()
	s.identity = id
	s.mu.Unlock()
}

func (s *Server) setTicket(ticketHex string, body []byte) {
	s.mu.Lock()
	s.tickets[strings.ToLower(ticketHex)] = body
	s.mu.Unlock()
}

// next pops the oldest injected failure, or returns 0.
func (s *Server) next() Mode {
	if s.pending.Load() == 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) == 0 {
		return 0
	}
	m := s.fails[0]
	s.fails = s.fails[1:]
	s.pending.Add(-1)
	return m
}

// ServeHTTP answers like Steam.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.URL.Path != Path || r.Method != http.MethodGet {
		write(w, http.StatusNotFound, htmlType, notFoundPage)
		return
	}
	switch s.next() {
	case SteamError:
		write(w, http.StatusOK, jsonType, injectedError)
		return
	case ServerError:
		write(w, http.StatusInternalServerError, htmlType, serverErrorPage)
		return
	case Unavailable:
		write(w, http.StatusServiceUnavailable, htmlType, unavailablePage)
		return
	case RateLimited:
		write(w, http.StatusTooManyRequests, htmlType, tooManyPage)
		return
	case WrongKey:
		write(w, http.StatusForbidden, htmlType, forbiddenPage)
		return
	case BadBody:
		write(w, http.StatusOK, htmlType, notFoundPage)
		return
	case Slow:
		s.mu.RLock()
		d := s.slow
		s.mu.RUnlock()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}

	q := r.URL.Query()
	// Steam refuses a missing or wrong key, and a key with no rights on
	// the app, with the same 403 page.
	if q.Get("key") != s.apiKey || q.Get("appid") != s.appID {
		write(w, http.StatusForbidden, htmlType, forbiddenPage)
		return
	}
	ticket := q.Get("ticket")
	if ticket == "" || !isHex(ticket) {
		write(w, http.StatusOK, jsonType, badParameter)
		return
	}
	s.mu.RLock()
	body, ok := s.tickets[strings.ToLower(ticket)]
	identity := s.identity
	s.mu.RUnlock()
	if !ok || q.Get("identity") != identity {
		body = unknownTicket
	}
	write(w, http.StatusOK, jsonType, body)
}

func write(w http.ResponseWriter, status int, contentType []string, body []byte) {
	w.Header()["Content-Type"] = contentType
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func errorBody(code int, desc string) []byte {
	var body struct {
		Response struct {
			Error struct {
				Code int    `json:"errorcode"`
				Desc string `json:"errordesc"`
			} `json:"error"`
		} `json:"response"`
	}
	body.Response.Error.Code = code
	body.Response.Error.Desc = desc
	b, _ := json.Marshal(body)
	return b
}

func isHex(t string) bool {
	if len(t)%2 != 0 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
