package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console"
	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/staff"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/test/testenv"
	"github.com/musterhq/muster/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const staffPassword = "console test passphrase"

// site is a console served on a real loopback listener, as muster serves it.
type site struct {
	url      string
	db       *sqlx.DB
	app      *fiber.App
	frame    *frame.Frame
	accounts *account.Store
	staff    *staff.Store
	auth     *auth.Service
	catalog  *catalog.Store
	ledger   *ledger.Ledger
	items    *inventory.Store
	store    *store.Store // real-money payments through stripe-mock
	// The metagame, registered as initMetagame registers it.
	content     *content.Store
	matches     *match.Store
	servers     *match.Servers
	fleet       *fleet.Registry
	progression *progression.Store
	battlepass  *battlepass.Store
	clock       *clock // the battle pass's clock: time.Now until a test sets it
	suffix      string // makes this test's emails and names unique
}

// clock is a settable clock; the zero clock reads time.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		return time.Now()
	}
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func newSite(t testing.TB) *site {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	conn := testenv.DB(t)
	client, prefix := testenv.Redis(t)
	shared := state.NewRedis(client, prefix)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	secret := []byte("0123456789abcdef0123456789abcdef")
	scfg := session.Config{SecretKey: secret}
	keys := session.NewKeys(conn, scfg)
	if err := keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	deny := session.NewDenyList(shared, shared, scfg.DenyTTL())
	tokens := session.NewTokens(keys, deny, scfg)
	hasher, err := account.NewHasher(4)
	if err != nil {
		t.Fatal(err)
	}
	accounts := account.NewStore(conn)
	svc := auth.NewService(accounts, session.NewStore(conn, tokens, deny, scfg), hasher, nil, shared,
		nil, log, auth.Config{DisplayNameCooldown: time.Hour, ResetTTL: time.Hour})
	enf, err := rbac.New(ctx, conn, shared, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := enf.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	st := staff.NewStore(conn, hasher, secret, staff.Config{})
	cat, led := catalog.NewStore(conn), ledger.New(conn)
	items := inventory.NewStore(conn, led, inventory.Config{})
	shop := store.New(conn, cat, led, items, store.NewStripe("sk_test_x", testenv.StripeMock(t), 10*time.Second), store.Config{
		SuccessURL: "https://game.example/store/done?order={ORDER_ID}", CancelURL: "https://game.example/store"}, log)
	docs, matches, servers := content.New(conn), match.New(conn, nil), match.NewServers(conn, time.Second)
	payer, clk := reward.NewPayer(items, led), &clock{}
	prog := progression.New(conn, payer, led)
	bp := battlepass.New(conn, payer, led, battlepass.Config{Now: clk.Now})
	docs.Register(match.ModeKind())
	docs.Register(season.ContentKind())
	docs.Register(matchmaking.QueueKind())
	docs.Register(bp.ContentKind())
	for _, k := range prog.ContentKinds() {
		docs.Register(k)
	}
	d := console.Deps{DB: conn, Auth: svc, Staff: st, RBAC: enf, Limiter: shared, Log: log, Catalog: cat, Ledger: led, Inventory: items,
		Store: shop, Content: docs, Matches: matches, Servers: servers, Fleet: fleet.NewRegistry(conn, fleet.Config{}), Progression: prog, BattlePass: bp}
	f := console.NewFrame(d)
	app := web.New(web.Config{BodyLimit: 1 << 20, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, ErrorPage: console.ErrorPage(f)},
		log, web.NewMetrics(web.NewRegistry()))
	console.Mount(app, f, d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	s := &site{url: "http://" + ln.Addr().String(), db: conn, app: app, frame: f, accounts: accounts, staff: st, auth: svc,
		catalog: cat, ledger: led, items: items, store: shop, content: docs, matches: matches, servers: servers, progression: prog,
		battlepass: bp, clock: clk, fleet: d.Fleet,
		suffix: fmt.Sprintf("%d", time.Now().UnixNano()%1e9)}
	for _, role := range rbac.Roles {
		if _, err := st.Create(ctx, s.email(role), role+" tester", role, staffPassword); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *site) email(role string) string { return role + "-" + s.suffix + "@studio.test" }

// player makes a player account and returns its public id.
func (s *site) player(t *testing.T, name string) account.Account {
	t.Helper()
	a, err := s.accounts.CreateWithEmail(context.Background(), name+"@players.test", "bcrypt-sha256$unused", name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// httpClient follows no redirects, so tests see the console's answers.
var httpClient = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
