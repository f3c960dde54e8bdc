package muster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client calls the player REST API (api/openapi.yaml) as one player. It
// holds the player's token pair once a login, Register or SetTokens gave it
// one and keeps it fresh. It is safe for concurrent use.
type Client struct {
	t        transport
	onTokens func(Tokens)
	early    time.Duration
	now      func() time.Time // the client's clock; tests skew it

	mu      sync.Mutex
	tokens  Tokens
	expires time.Time // of tokens.AccessToken; zero when unknown
	flight  *refreshFlight
}

// ServerClient calls the dedicated-server API (/v1/server/...) with a game
// server credential (msv_...). It is safe for concurrent use.
type ServerClient struct {
	t          transport
	credential string
}

// Option configures NewClient and NewServerClient.
type Option func(*settings)

type settings struct {
	http      *http.Client
	userAgent string
	retry     RetryPolicy
	onTokens  func(Tokens)
	early     time.Duration
}

// RetryPolicy bounds the retries of a call that failed retryably: a
// network error before any answer, 429 (after its Retry-After), 502, 503 or
// 504. Only calls that are safe to repeat are retried: GET, PUT and DELETE,
// calls sent with an Idempotency-Key, and the few POSTs the API documents
// as repeatable. Any call is retried after a 503 auth_busy, which the API
// answers before doing anything. The wait before retry n is a random duration in
// [0, min(MaxDelay, BaseDelay*2^(n-1))) (full jitter), or Retry-After when
// the server gave one.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, the first included; 1 turns retries off
	BaseDelay   time.Duration // the first retry's cap
	MaxDelay    time.Duration // no backoff wait exceeds it
	// MaxRetryAfter is the longest Retry-After the client waits out; a
	// longer one is returned to the caller as the *APIError.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy is the policy of a client given none.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second,
	MaxRetryAfter: 10 * time.Second}

// WithHTTPClient sends the requests with hc (its Timeout bounds each
// attempt). By default a client with a 30 s timeout.
func WithHTTPClient(hc *http.Client) Option { return func(s *settings) { s.http = hc } }

// WithUserAgent sets the User-Agent header, e.g. "mygame/1.4.2".
func WithUserAgent(ua string) Option { return func(s *settings) { s.userAgent = ua } }

// WithRetryPolicy replaces DefaultRetryPolicy; zero fields keep its values.
func WithRetryPolicy(p RetryPolicy) Option { return func(s *settings) { s.retry = p } }

// WithOnTokens calls f with the player's new token pair each time it
// changes (login, register, refresh, password change), so the app can
// persist it, and with the zero Tokens when the session ended (logout, a
// refused refresh). f runs on the calling goroutine and must not call the
// client.
func WithOnTokens(f func(Tokens)) Option { return func(s *settings) { s.onTokens = f } }

// WithRefreshBefore refreshes the access token this long before it expires
// (30 s by default; at most half the token's lifetime).
func WithRefreshBefore(d time.Duration) Option { return func(s *settings) { s.early = d } }

func newSettings(opts []Option) settings {
	s := settings{retry: DefaultRetryPolicy, early: 30 * time.Second}
	for _, o := range opts {
		o(&s)
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: 30 * time.Second}
	}
	if s.userAgent == "" {
		s.userAgent = "muster-go"
	}
	d := DefaultRetryPolicy
	if s.retry.MaxAttempts <= 0 {
		s.retry.MaxAttempts = d.MaxAttempts
	}
	if s.retry.BaseDelay <= 0 {
		s.retry.BaseDelay = d.BaseDelay
	}
	if s.retry.MaxDelay <= 0 {
		s.retry.MaxDelay = d.MaxDelay
	}
	if s.retry.MaxRetryAfter <= 0 {
		s.retry.MaxRetryAfter = d.MaxRetryAfter
	}
	return s
}

// NewClient returns a client of the Muster deployment at baseURL, e.g.
// "http://localhost:8080", with no session yet.
func NewClient(baseURL string, opts ...Option) *Client {
	s := newSettings(opts)
	return &Client{t: newTransport(baseURL, s), onTokens: s.onTokens, early: s.early, now: time.Now}
}

// NewServerClient returns a client of the dedicated-server API of the
// deployment at baseURL, authenticating with credential (msv_...).
func NewServerClient(baseURL, credential string, opts ...Option) *ServerClient {
	return &ServerClient{t: newTransport(baseURL, newSettings(opts)), credential: credential}
}

// APIError is an error answer of the API: its HTTP status and the stable
// code of the error shape. Use errors.As to read it, and switch on Code.
type APIError struct {
	Status     int
	Code       string        // stable, e.g. "insufficient_funds"
	Message    string        // for people; may change
	RetryAfter time.Duration // from Retry-After; 0 when absent
	// Body is the whole answer, for the errors that carry more than the
	// error shape (stale_version's "current").
	Body []byte
}

func (e *APIError) Error() string {
	return fmt.Sprintf("muster: %d %s: %s", e.Status, e.Code, e.Message)
}

// IsCode says whether err is an *APIError with one of the codes.
func IsCode(err error, codes ...string) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

type idempotencyKeyKey struct{}

// WithIdempotencyKey makes the calls made with ctx that take an
// Idempotency-Key (crafting, gifts, trades, purchases, checkouts, battle
// pass purchases, prestige, unlocks, rerolls) send key, for example one the
// app stored before a crash to repeat the operation safely. Without it each
// such call makes a new key, used by all of that call's retries.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKeyKey{}, key)
}

// NewIdempotencyKey returns a random key (32 hex digits).
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// transport sends calls with JSON bodies, decodes answers and errors, and
// retries what is safe to retry.
type transport struct {
	base  string
	http  *http.Client
	ua    string
	retry RetryPolicy
	sleep func(context.Context, time.Duration) error // tests shorten it
	queue *queueTicket
}

func newTransport(baseURL string, s settings) transport {
	return transport{base: strings.TrimRight(baseURL, "/"), http: s.http, ua: s.userAgent, retry: s.retry, sleep: sleepCtx,
		queue: &queueTicket{}}
}

// queueTicketHeader carries the login queue ticket both ways.
const queueTicketHeader = "Muster-Queue-Ticket"

// queueTicket is the client's place in the platform's login queue: the
// ticket the last 503 auth_busy answer gave, sent with the next password
// call (login, registration, password change or reset) so that the
// platform lets the player in ahead of those who came later. The call's
// outcome ends it: a success or a refusal other than 429 (a rate limit or
// a proxy's 502 to 504 during a storm keep it).
type queueTicket struct {
	mu     sync.Mutex
	ticket string
}

func (q *queueTicket) get() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ticket
}

// answered keeps the ticket of a busy answer to a password call, and ends
// the ticket when the call was decided.
func (q *queueTicket) answered(resp *http.Response) {
	ticket := resp.Header.Get(queueTicketHeader)
	decided := resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests
	if ticket == "" && !decided {
		return
	}
	q.mu.Lock()
	q.ticket = ticket
	q.mu.Unlock()
}

// call is one API operation.
type call struct {
	method string
	path   string // escaped; see pathf
	query  url.Values
	body   any // nil: no body
	out    any // nil: the answer's body is dropped
	// idempotencyKey: the operation requires an Idempotency-Key.
	idempotencyKey bool
	// repeatable: a POST the API documents as safe to send again.
	repeatable bool
	// once: never sent twice (a PUT whose repeat would fail, such as a
	// password change).
	once bool
	// queued: a password call, which carries the client's login queue
	// ticket (see queueTicket).
	queued bool
	header http.Header
}

// retryable says whether the call may be sent more than once.
func (c *call) retryable() bool {
	if c.once {
		return false
	}
	switch c.method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return c.idempotencyKey || c.repeatable
}

// pathf builds a path, escaping each argument as one path segment: the
// format has a %s for each.
func pathf(format string, args ...any) string {
	esc := make([]any, len(args))
	for i, a := range args {
		esc[i] = url.PathEscape(fmt.Sprint(a))
	}
	return fmt.Sprintf(format, esc...)
}

// authFunc gives the Authorization header of an attempt; fresh is the
// access token it used, for a refresh after 401 token_expired.
type authFunc func(ctx context.Context) (header, used string, err error)

// do sends c, with retries, and decodes the answer into c.out. On a 401
// token_expired it calls expired once (when not nil) and sends again.
func (t *transport) do(ctx context.Context, c *call, auth authFunc, expired func(ctx context.Context, used string) error) error {
	var body []byte
	if c.body != nil {
		var err error
		if body, err = json.Marshal(c.body); err != nil {
			return fmt.Errorf("muster: encode %s %s: %w", c.method, c.path, err)
		}
	}
	key := ""
	if c.idempotencyKey {
		key, _ = ctx.Value(idempotencyKeyKey{}).(string)
		if key == "" {
			key = NewIdempotencyKey()
		}
	}
	u := t.base + c.path
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	refreshed := false
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, c.method, u, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("muster: %s %s: %w", c.method, c.path, err)
		}
		if body == nil {
			req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", t.ua)
		for k, v := range c.header {
			req.Header[k] = v
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		if c.queued {
			if ticket := t.queue.get(); ticket != "" {
				req.Header.Set(queueTicketHeader, ticket)
			}
		}
		used := ""
		if auth != nil {
			h, tok, err := auth(ctx)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", h)
			used = tok
		}
		resp, err := t.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !c.retryable() || attempt >= t.retry.MaxAttempts {
				return fmt.Errorf("muster: %s %s: %w", c.method, c.path, err)
			}
			if err := t.sleep(ctx, t.backoff(attempt)); err != nil {
				return err
			}
			continue
		}
		if c.queued {
			t.queue.answered(resp)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("muster: %s %s: read answer: %w", c.method, c.path, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if c.out == nil || len(raw) == 0 || resp.StatusCode == http.StatusNoContent {
				return nil
			}
			if err := json.Unmarshal(raw, c.out); err != nil {
				return fmt.Errorf("muster: %s %s: decode answer: %w", c.method, c.path, err)
			}
			return nil
		}
		apiErr := decodeError(resp, raw)
		if apiErr.Status == http.StatusUnauthorized && apiErr.Code == "token_expired" && expired != nil && !refreshed {
			refreshed = true
			if err := expired(ctx, used); err != nil {
				return err
			}
			attempt-- // the refresh does not use up an attempt
			continue
		}
		if !(c.retryable() || turnedAway(apiErr)) || attempt >= t.retry.MaxAttempts || !retryableStatus(apiErr.Status) {
			return apiErr
		}
		wait := t.backoff(attempt)
		if apiErr.RetryAfter > 0 {
			if apiErr.RetryAfter > t.retry.MaxRetryAfter {
				return apiErr
			}
			wait = apiErr.RetryAfter
		}
		if err := t.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// turnedAway reports whether the API answered before doing anything, so
// that any call, even one not safe to repeat (a registration, a login), may
// be sent again: 503 auth_busy, when more passwords arrive than the
// platform can hash.
func turnedAway(e *APIError) bool {
	return e.Status == http.StatusServiceUnavailable && e.Code == "auth_busy"
}

func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is the full-jitter wait before retry number attempt (1-based).
func (t *transport) backoff(attempt int) time.Duration {
	ceiling := t.retry.BaseDelay
	for i := 1; i < attempt && ceiling < t.retry.MaxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, t.retry.MaxDelay)
	if ceiling <= 0 {
		return 0
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	n := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7]&0x7f)<<56
	return time.Duration(n % uint64(ceiling))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// decodeError reads the error shape; an answer without it (a proxy's page)
// gets the code of its status.
func decodeError(resp *http.Response, raw []byte) *APIError {
	e := &APIError{Status: resp.StatusCode, Body: raw}
	var shape struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &shape) == nil && shape.Error.Code != "" {
		e.Code, e.Message = shape.Error.Code, shape.Error.Message
	} else {
		e.Code = strings.ReplaceAll(strings.ToLower(http.StatusText(resp.StatusCode)), " ", "_")
		e.Message = strings.TrimSpace(string(raw))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200]
		}
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		var secs int
		if _, err := fmt.Sscanf(ra, "%d", &secs); err == nil && secs > 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		} else if at, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = max(time.Until(at), time.Second)
		}
	}
	return e
}

// public calls an operation that takes no credential.
func (c *Client) public(ctx context.Context, k *call) error {
	return c.t.do(ctx, k, nil, nil)
}

// player calls an operation as the player, refreshing the access token
// when it is about to expire or the server says it has.
func (c *Client) player(ctx context.Context, k *call) error {
	return c.t.do(ctx, k, c.bearer, c.refreshAfter)
}

// server calls a dedicated-server operation.
func (s *ServerClient) server(ctx context.Context, k *call) error {
	return s.t.do(ctx, k, func(context.Context) (string, string, error) {
		return "Bearer " + s.credential, "", nil
	}, nil)
}

// as calls k as the player and decodes its answer into a new T.
func as[T any](ctx context.Context, c *Client, k call) (*T, error) {
	var out T
	k.out = &out
	if err := c.player(ctx, &k); err != nil {
		return nil, err
	}
	return &out, nil
}

// asServer calls k as the game server and decodes its answer into a new T.
func asServer[T any](ctx context.Context, s *ServerClient, k call) (*T, error) {
	var out T
	k.out = &out
	if err := s.server(ctx, &k); err != nil {
		return nil, err
	}
	return &out, nil
}

// query builds a query string, leaving out zero values.
func query(kv ...any) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case string:
			if v != "" {
				q.Set(k, v)
			}
		case int:
			if v != 0 {
				q.Set(k, strconv.Itoa(v))
			}
		case int64:
			if v != 0 {
				q.Set(k, strconv.FormatInt(v, 10))
			}
		case bool:
			if v {
				q.Set(k, "true")
			}
		}
	}
	return q
}
