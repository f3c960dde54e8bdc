package testenv

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// StripeMockVersion is the stripe-mock release tests run against;
// deploy/local/services.sh installs the same one.
const StripeMockVersion = "v0.203.0"

var (
	stripeOnce sync.Once
	stripeURL  string
	stripeErr  string
	stripeCmd  *exec.Cmd
)

// StripeMock returns the base URL of a stripe-mock server (Stripe's
// official API mock) started for this test binary on a free loopback port.
// MUSTER_TEST_STRIPE_URL points at one already running instead. The
// server is stopped when the test binary exits (Main).
func StripeMock(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("MUSTER_TEST_STRIPE_URL"); u != "" {
		return u
	}
	stripeOnce.Do(startStripeMock)
	if stripeErr != "" {
		t.Fatalf("testenv: %s (install it with `deploy/local/services.sh stripe-mock`)", stripeErr)
	}
	return stripeURL
}

func stripeMockPath() string {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p
	}
	for _, dir := range []string{os.Getenv("GOBIN"), filepath.Join(os.Getenv("GOPATH"), "bin"), filepath.Join(os.Getenv("HOME"), "go", "bin")} {
		if p := filepath.Join(dir, "stripe-mock"); dir != "" && fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

var listening = regexp.MustCompile(`Listening for HTTP at address: .*:(\d+)`)

func startStripeMock() {
	path := stripeMockPath()
	if path == "" {
		stripeErr = "stripe-mock is not installed"
		return
	}
	// Both listeners on free ports: stripe-mock opens HTTPS on a fixed port
	// otherwise, which a second test binary could not bind.
	cmd := exec.Command(path, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	out, err := cmd.StdoutPipe()
	if err != nil {
		stripeErr = err.Error()
		return
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		stripeErr = "start stripe-mock: " + err.Error()
		return
	}
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				port <- m[1]
				sent = true
			}
		}
	}()
	select {
	case p := <-port:
		stripeURL = "http://127.0.0.1:" + p
		stripeCmd = cmd
		waitReady(stripeURL)
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		stripeErr = "stripe-mock did not start within 20s"
	}
}

func waitReady(base string) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stopStripeMock() {
	if stripeCmd != nil && stripeCmd.Process != nil {
		_ = stripeCmd.Process.Kill()
		_, _ = stripeCmd.Process.Wait()
	}
}
