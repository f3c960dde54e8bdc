package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
	"github.com/musterhq/muster/web"
	"github.com/musterhq/muster/web/steam"
	"github.com/musterhq/muster/web/steam/steamtest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var secret = []byte("0123456789abcdef0123456789abcdef")

// mailbox captures password reset mail.
type mailbox struct {
	mu     sync.Mutex
	tokens map[string]string
}

func (m *mailbox) SendPasswordReset(_ context.Context, to, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[to] = token
	return nil
}

func (m *mailbox) token(t *testing.T, to string) string {
	t.Helper()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		m.mu.Lock()
		tok := m.tokens[to]
		m.mu.Unlock()
		if tok != "" {
			return tok
		}
	}
	t.Fatalf("no reset mail to %s", to)
	return ""
}

// cluster is what nodes share: the database, Redis and Steam, and the
// economy's settings.
type cluster struct {
	db     *sqlx.DB
	redis  *redis.Client
	prefix string
	steam  *steamtest.Server
	mail   *mailbox

	trades     bool      // the trades feature flag
	writeLimit auth.Rule // economy writes per player; 0: generous
}

func newCluster(t *testing.T) *cluster {
	client, prefix := testenv.Redis(t)
	return &cluster{db: testenv.DB(t), redis: client, prefix: prefix,
		steam: steamtest.NewServer(t, "steam-key", "480"), mail: &mailbox{tokens: map[string]string{}}}
}

// node is one muster process serving the auth and economy routes.
type node struct {
	app      *fiber.App
	keys     *session.Keys
	tokens   *session.Tokens
	svc      *auth.Service
	hasher   *account.Hasher
	db       *sqlx.DB
	sessions *session.Store
	accounts *account.Store
	ledger   *ledger.Ledger
	inv      *inventory.Store
}

func defaultConfig() auth.Config {
	return auth.Config{
		DisplayNameCooldown: time.Hour, ResetTTL: time.Hour, SteamDenyPublisherBanned: true,
		LoginPerIP: auth.Rule{N: 1000, Per: time.Minute}, LoginPerAccount: auth.Rule{N: 1000, Per: time.Minute},
		RegisterPerIP: auth.Rule{N: 1000, Per: time.Minute}, RefreshPerIP: auth.Rule{N: 1000, Per: time.Minute},
		ResetPerIP: auth.Rule{N: 1000, Per: time.Minute}, ResetPerAccount: auth.Rule{N: 1000, Per: time.Minute},
		PasswordPerUser:  auth.Rule{N: 1000, Per: time.Minute},
		StuffingFailures: 5, StuffingIPs: 3, StuffingWindow: time.Minute, StuffingSlowdown: time.Minute,
		Anomaly: account.AnomalyRules{ManyAccountsPerIP: 3, ManyAccountsWindow: time.Hour},
	}
}

func (cl *cluster) node(t *testing.T, cfg auth.Config, scfg session.Config) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if scfg.SecretKey == nil {
		scfg.SecretKey = secret
	}
	shared := state.NewRedis(cl.redis, cl.prefix)
	keys := session.NewKeys(cl.db, scfg)
	if err := keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	deny := session.NewDenyList(shared, shared, scfg.DenyTTL())
	go func() { _ = deny.Run(ctx) }()
	tokens := session.NewTokens(keys, deny, scfg)
	hasher, err := account.NewHasher(4)
	if err != nil {
		t.Fatal(err)
	}
	steamClient := steam.New(steam.Config{BaseURL: cl.steam.URL(), APIKey: "steam-key", AppID: "480", Timeout: 300 * time.Millisecond}, nil)
	var mail auth.Mailer // a nil *mailbox must stay a nil Mailer
	if cl.mail != nil {
		mail = cl.mail
	}
	accounts, sessions := account.NewStore(cl.db), session.NewStore(cl.db, tokens, deny, scfg)
	svc := auth.NewService(accounts, sessions, hasher, steamClient, shared, mail, log, cfg)
	led := ledger.New(cl.db)
	inv := inventory.NewStore(cl.db, led, inventory.Config{TradesEnabled: cl.trades})
	writeLimit := cl.writeLimit
	if writeLimit.N == 0 {
		writeLimit = auth.Rule{N: 1000, Per: time.Minute}
	}
	reg := web.NewRegistry()
	// app.Test connects from 0.0.0.0; trusting it as a proxy lets tests
	// choose the client address with X-Forwarded-For.
	app := web.New(web.Config{BodyLimit: 64 << 10, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		ProxyHeader: "X-Forwarded-For", TrustedProxies: []string{"0.0.0.0"}}, log, web.NewMetrics(reg))
	api.MountAuth(app, api.Auth{Service: svc, Verifier: tokens, JWKS: keys.JWKS, Log: log})
	api.MountInventory(app, api.Inventory{Catalog: catalog.NewStore(cl.db), Ledger: led, Inventory: inv, Accounts: accounts,
		Verifier: tokens, Limiter: shared, WriteLimit: writeLimit, Log: log})
	return &node{app: app, keys: keys, tokens: tokens, svc: svc, hasher: hasher, db: cl.db, sessions: sessions, accounts: accounts, ledger: led, inv: inv}
}

// reply is an HTTP answer with its body decoded as JSON.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) code() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r reply) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

type call struct {
	method, path, token, body, ip string
	header                        map[string]string
}

func (n *node) do(t *testing.T, c call) reply {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(c.method, c.path, body)
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", "muster-test/1.0")
	if c.ip == "" {
		c.ip = "192.0.2.1"
	}
	req.Header.Set("X-Forwarded-For", c.ip)
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := n.app.Test(req, 10000)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (n *node) post(t *testing.T, path, body string) reply {
	t.Helper()
	return n.do(t, call{method: http.MethodPost, path: path, body: body})
}

func (n *node) get(t *testing.T, path, token string) reply {
	t.Helper()
	return n.do(t, call{method: http.MethodGet, path: path, token: token})
}

func expect(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.code() != code) {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
}

var seq struct {
	sync.Mutex
	n int
}

// unique returns a name no other test uses.
func unique(prefix string) string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("%s%s%d", prefix, time.Now().Format("150405"), seq.n)
}

const goodPassword = "correct horse battery staple"

// register makes an account and returns its email and login reply.
func (n *node) register(t *testing.T) (string, reply) {
	t.Helper()
	name := unique("p")
	email := name + "@example.com"
	r := n.post(t, "/v1/auth/register", `{"email":"`+email+`","password":"`+goodPassword+`","display_name":"`+name+`"}`)
	expect(t, r, http.StatusCreated, "")
	return email, r
}
