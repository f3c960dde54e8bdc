// Package cppclient proves the player APIs from another language: it
// builds the C++ SDK (sdk/cpp) with CMake, runs its unit tests (the golden
// frames and the REST answers among them), starts Muster, and has the C++
// reference client log in, list the inventory and wallets the test
// stocked, connect, receive a party invitation from a Go client, join the
// party, acknowledge the invitation, and find the party and the stored
// notification over REST.
//
// The C++ toolchain (g++, cmake, protoc, libprotobuf-dev) is required, as
// PostgreSQL and Redis are: deploy/local/services.sh installs it, and
// without it this test fails rather than skips.
package cppclient_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestReferenceClientJoinsAParty(t *testing.T) {
	root := repoRoot(t)
	client := buildSDK(t, root)
	m := startMuster(t, root)

	a, b := m.register(t, "a"), m.register(t, "b")
	// B asks A to be friends and A accepts: a party invites friends only.
	m.call(t, b.token, http.MethodPost, "/v1/me/friends/requests", map[string]string{"player_id": a.id}, http.StatusOK)
	m.call(t, a.token, http.MethodPost, "/v1/me/friends/"+b.id+"/accept", nil, http.StatusOK)
	// A holds an item and a currency for the client to list.
	item, coins := stock(t, a.id)

	// A runs the C++ reference client; the password goes through stdin.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, "--timeout=60", m.restURL, m.realtimeAddr, a.email, "-")
	cmd.Stdin = strings.NewReader(a.password + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", client, err)
	}
	var (
		mu         sync.Mutex
		transcript []string
	)
	connected := make(chan struct{})
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			transcript = append(transcript, line)
			mu.Unlock()
			if strings.HasPrefix(line, "connected:") {
				once.Do(func() { close(connected) })
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-scanned
		exited <- cmd.Wait()
	}()
	show := func() string {
		mu.Lock()
		defer mu.Unlock()
		return "stdout:\n  " + strings.Join(transcript, "\n  ") + "\nstderr:\n  " + stderr.String() + "\nmuster:\n" + m.output()
	}
	select {
	case <-connected:
	case err := <-exited:
		t.Fatalf("the C++ client exited before it connected: %v\n%s", err, show())
	case <-ctx.Done():
		t.Fatalf("the C++ client did not connect in time\n%s", show())
	}
	// Longer than the idle timeout: the C++ client must keep the
	// connection alive with heartbeats while it waits.
	time.Sleep(2 * m.idleTimeout)

	// B, over a Go socket client, creates a party and invites A.
	bc := dial(t, m.realtimeAddr)
	bc.hello(t, b.token)
	created, ok := bc.call(t, &pb.PartyCreate{MaxSize: 4}).(*pb.PartyState)
	if !ok || created.PartyId == "" {
		t.Fatalf("PartyCreate answered %v", created)
	}
	if _, ok := bc.call(t, &pb.PartyInvite{PlayerId: a.id}).(*pb.Ok); !ok {
		t.Fatal("PartyInvite was not answered Ok")
	}

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the C++ client failed: %v\n%s", err, show())
		}
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		t.Fatalf("the C++ client did not finish in time\n%s", show())
	}
	out := show()
	for _, want := range []string{
		"login: ok, player " + a.id,
		"inventory: 1 items: " + item + " x7",
		"wallets: " + coins + " 1250",
		"welcome: session ",
		"notification: seq ",
		"party.invite",
		"joined: party " + created.PartyId,
		"acked: seq ",
		"party (REST): " + created.PartyId + " version ",
		", 2 members, leader " + b.id,
		"notification (REST): seq ",
		"marked read: ",
		", 0 unread left",
		"done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript lacks %q\n%s", want, out)
		}
	}
	// B sees A in the party: the state pushed to every member after the join.
	bc.waitPush(t, func(m proto.Message) bool {
		s, ok := m.(*pb.PartyState)
		if !ok || s.PartyId != created.PartyId {
			return false
		}
		for _, member := range s.Members {
			if member.PlayerId == a.id {
				return true
			}
		}
		return false
	})
	t.Logf("C++ client transcript:\n%s", strings.Join(transcript, "\n"))
}

// stock grants the player 7 of a new item and 1,250 of a new currency
// through the domain packages that own them, and returns the item's id and
// the currency's code.
func stock(t *testing.T, publicID string) (string, string) {
	t.Helper()
	ctx := context.Background()
	conn := testenv.DB(t)
	acc, err := account.NewStore(conn).ByPublicID(ctx, publicID)
	if err != nil {
		t.Fatal(err)
	}
	item := economytest.Item(t, conn, nil)
	coins := economytest.Currency(t, conn, "soft")
	led := ledger.New(conn)
	if _, err := inventory.NewStore(conn, led, inventory.Config{}).Grant(ctx, inventory.Grant{
		Key: "cppclient:stock", AccountID: acc.ID, Source: "support", Memo: "C++ client test",
		Items: []inventory.Line{{ItemID: item.ID, Quantity: 7}},
	}); err != nil {
		t.Fatalf("grant: %v", err)
	}
	if _, err := led.Transfer(ctx, ledger.Transfer{Key: "cppclient:coins", Source: "support", From: ledger.System(ledger.Rewards),
		To: ledger.Player(acc.ID), Currency: coins, Amount: 1250, Memo: "C++ client test"}); err != nil {
		t.Fatalf("credit: %v", err)
	}
	return item.ID, coins
}

// repoRoot is the module's root (this file is test/cppclient/...).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// buildSDK configures and builds sdk/cpp with CMake and runs its unit tests
// with CTest; it returns the reference client's path. The build directory
// is kept between runs (CMake rebuilds what changed) under the user's cache
// directory, or MUSTER_TEST_CPP_BUILD_DIR.
func buildSDK(t *testing.T, root string) string {
	t.Helper()
	for _, tool := range []string{"cmake", "ctest", "c++", "protoc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: the C++ SDK's test needs g++, cmake, protobuf-compiler and libprotobuf-dev (run deploy/local/services.sh cpp, or make services)", tool)
		}
	}
	dir := os.Getenv("MUSTER_TEST_CPP_BUILD_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		sum := sha256.Sum256([]byte(root))
		dir = filepath.Join(cache, "muster", "sdk-cpp-"+hex.EncodeToString(sum[:6]))
	}
	run := func(timeout time.Duration, name string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run(2*time.Minute, "cmake", "-S", filepath.Join(root, "sdk", "cpp"), "-B", dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo")
	run(10*time.Minute, "cmake", "--build", dir, "--parallel", fmt.Sprint(runtime.NumCPU()))
	run(2*time.Minute, "ctest", "--test-dir", dir, "--output-on-failure")
	return filepath.Join(dir, "reference_client")
}

// platform is a muster process serving every target on loopback ports.
type platform struct {
	restURL      string
	realtimeAddr string
	idleTimeout  time.Duration
	mu           sync.Mutex
	out          bytes.Buffer
}

func (p *platform) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *platform) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.out.String()
	if len(s) > 8000 {
		s = "...\n" + s[len(s)-8000:]
	}
	return s
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startMuster builds cmd/muster and runs `muster serve --target=all` against
// this package's database and a private Redis prefix, with short
// heartbeats so that the clients must keep their connections alive.
func startMuster(t *testing.T, root string) *platform {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "muster")
	build := exec.Command("go", append(append([]string{"build"}, raceFlags...), "-o", bin, "./cmd/muster")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/muster: %v\n%s", err, out)
	}
	_, prefix := testenv.Redis(t)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	httpAddr, opsAddr, realtimeAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	p := &platform{restURL: "http://" + httpAddr, realtimeAddr: realtimeAddr, idleTimeout: 1500 * time.Millisecond}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"MUSTER_TARGET=all",
		"MUSTER_DATABASE_URL="+testenv.DBURL(t),
		"MUSTER_REDIS_URL="+testenv.RedisURL(),
		"MUSTER_REDIS_PREFIX="+prefix,
		"MUSTER_HTTP_ADDR="+httpAddr,
		"MUSTER_OPS_ADDR="+opsAddr,
		"MUSTER_CONSOLE_ADDR="+freeAddr(t),
		"MUSTER_REALTIME_ADDR="+realtimeAddr,
		"MUSTER_REALTIME_HEARTBEAT=500ms",
		"MUSTER_REALTIME_IDLE_TIMEOUT="+p.idleTimeout.String(),
		"MUSTER_OUTBOX_POLL=100ms",
		"MUSTER_SECRET_KEY="+base64.StdEncoding.EncodeToString(key),
		"MUSTER_LOG_FORMAT=json",
		"MUSTER_SHUTDOWN_TIMEOUT=5s",
	)
	cmd.Stdout, cmd.Stderr = p, p
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case err := <-exited:
			t.Fatalf("muster exited before it was ready: %v\n%s", err, p.output())
		default:
		}
		if resp, err := client.Get("http://" + opsAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("muster not ready within 60s\n%s", p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// player is an account registered over REST.
type player struct {
	id, email, password, token string
}

func (p *platform) register(t *testing.T, name string) player {
	t.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	tag := hex.EncodeToString(suffix)
	pl := player{email: name + "-" + tag + "@example.com", password: "correct horse " + tag}
	var answer struct {
		Player struct {
			ID string `json:"id"`
		} `json:"player"`
		Tokens struct {
			AccessToken string `json:"access_token"`
		} `json:"tokens"`
	}
	body := p.call(t, "", http.MethodPost, "/v1/auth/register",
		map[string]string{"email": pl.email, "password": pl.password, "display_name": name + "_" + tag}, http.StatusCreated)
	if err := json.Unmarshal(body, &answer); err != nil || answer.Player.ID == "" || answer.Tokens.AccessToken == "" {
		t.Fatalf("register answered %s (%v)", body, err)
	}
	pl.id, pl.token = answer.Player.ID, answer.Tokens.AccessToken
	return pl
}

// call makes a REST call and fails the test unless the status is one of want.
func (p *platform) call(t *testing.T, token, method, path string, body any, want ...int) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.restURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	for _, w := range want {
		if resp.StatusCode == w {
			return got
		}
	}
	t.Fatalf("%s %s: status %d, want %v: %s", method, path, resp.StatusCode, want, got)
	return nil
}

// goClient is player B's realtime connection: a reader goroutine routes
// answers to their requests and keeps pushes; a ticker sends heartbeats.
type goClient struct {
	nc      net.Conn
	mu      sync.Mutex
	next    uint32
	waiting map[uint32]chan proto.Message
	pushes  chan proto.Message
	failed  chan error
}

func dial(t *testing.T, addr string) *goClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &goClient{nc: nc, waiting: map[uint32]chan proto.Message{}, pushes: make(chan proto.Message, 64), failed: make(chan error, 1)}
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		nc.Close()
	})
	go func() {
		r := protocol.NewReader(nc, protocol.DefaultMaxFrame)
		for {
			f, err := r.Read()
			if err != nil {
				c.failed <- err
				return
			}
			m, err := protocol.Decode(f)
			if errors.Is(err, protocol.ErrUnknownType) {
				continue
			}
			if err != nil {
				c.failed <- err
				return
			}
			c.mu.Lock()
			ch := c.waiting[f.RequestID]
			delete(c.waiting, f.RequestID)
			c.mu.Unlock()
			if f.RequestID != 0 && ch != nil {
				ch <- m
				continue
			}
			select {
			case c.pushes <- m:
			default:
			}
		}
	}()
	go func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_, _ = c.send(&pb.Ping{Nonce: 1}) // Pongs are read and dropped
			}
		}
	}()
	return c
}

func (c *goClient) send(m proto.Message) (chan proto.Message, error) {
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan proto.Message, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	frame, err := protocol.Append(nil, id, m)
	if err != nil {
		return nil, err
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err = c.nc.Write(frame)
	return ch, err
}

// call sends a request and returns its answer; an Error answer fails the test.
func (c *goClient) call(t *testing.T, m proto.Message) proto.Message {
	t.Helper()
	ch, err := c.send(m)
	if err != nil {
		t.Fatalf("send %T: %v", m, err)
	}
	select {
	case answer := <-ch:
		if e, ok := answer.(*pb.Error); ok {
			t.Fatalf("%T answered error %d: %s", m, e.Code, e.Message)
		}
		return answer
	case err := <-c.failed:
		t.Fatalf("%T: the connection failed: %v", m, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("%T: no answer within 10s", m)
	}
	return nil
}

func (c *goClient) hello(t *testing.T, token string) *pb.Welcome {
	t.Helper()
	w, ok := c.call(t, &pb.Hello{Versions: []uint32{protocol.Version}, AccessToken: token, Client: "cppclient-test"}).(*pb.Welcome)
	if !ok {
		t.Fatal("Hello was not answered with Welcome")
	}
	return w
}

// waitPush waits for a push that match accepts.
func (c *goClient) waitPush(t *testing.T, match func(proto.Message) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.pushes:
			if match(m) {
				return
			}
		case err := <-c.failed:
			t.Fatalf("waiting for a push: the connection failed: %v", err)
		case <-timeout:
			t.Fatal("the push did not arrive within 10s")
		}
	}
}
