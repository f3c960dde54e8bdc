package muster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/test/testenv"
)

// The SDK's tests run against the real muster binary (`muster dev` on a
// fresh database: the demo player, economy, store and metagame are
// seeded), built once per test run.

var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "muster-sdk-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

var build struct {
	once sync.Once
	path string
	err  error
}

// musterBinary builds cmd/muster once.
func musterBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		root, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			build.err = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		build.path = filepath.Join(binDir, "muster")
		cmd := exec.Command("go", "build", "-o", build.path, "./cmd/muster")
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/muster: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// devServer is a `muster dev` process of one test.
type devServer struct {
	url      string // the player REST API
	realtime string // the realtime gateway's address
	dbURL    string
	bin      string
	out      *bytes.Buffer
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

// startDev runs `muster dev` on a fresh database with generous rate limits
// and the extra flags, and waits until it is ready.
func startDev(t *testing.T, flags ...string) *devServer {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs muster dev")
	}
	bin := musterBinary(t)
	httpAddr, ops, realtime := freeAddr(t), freeAddr(t), freeAddr(t)
	s := &devServer{url: "http://" + httpAddr, realtime: realtime, dbURL: testenv.EmptyDBURL(t), bin: bin, out: &bytes.Buffer{}}
	args := append([]string{"dev", "--http-addr=" + httpAddr, "--ops-addr=" + ops, "--console-addr=" + freeAddr(t),
		"--realtime-addr=" + realtime, "--log-level=warn",
		"--rate-register-ip=1000/1m", "--rate-login-ip=1000/1m", "--rate-refresh-ip=1000/1m"}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "MUSTER_DATABASE_URL="+s.dbURL)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
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
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := client.Get("http://" + ops + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			t.Fatalf("muster dev exited: %v\n%s", waitErr, s.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("muster dev not ready in 60 s:\n%s", s.out)
		}
	}
}

// serverCredential creates a game server credential with `muster servers
// create`.
func (s *devServer) serverCredential(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(s.bin, "servers", "create", "--name", "sdk-"+randomName(), "--database-url="+s.dbURL).CombinedOutput()
	if err != nil {
		t.Fatalf("servers create: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`credential: (msv_\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no credential in %q", out)
	}
	return string(m[1])
}

func randomName() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newPlayer registers a new player on a new client.
func (s *devServer) newPlayer(t *testing.T, opts ...Option) (*Client, *Login) {
	t.Helper()
	c := NewClient(s.url, opts...)
	name := "p" + randomName()
	login, err := c.Register(testCtx(t), RegisterRequest{Email: name + "@example.com", Password: "correct horse battery staple", DisplayName: name})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return c, login
}

// demoPlayer logs the seeded demo player in on a new client.
func (s *devServer) demoPlayer(t *testing.T) *Client {
	t.Helper()
	c := NewClient(s.url)
	if _, err := c.LoginEmail(testCtx(t), LoginRequest{Email: "demo@muster.dev", Password: "muster demo password"}); err != nil {
		t.Fatalf("demo login: %v", err)
	}
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
