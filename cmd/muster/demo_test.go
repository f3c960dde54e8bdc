package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/test/testenv"
)

// syncBuffer is a bytes.Buffer safe for the process writing and the test
// reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDevServesDemoMetagame runs `muster dev` on a fresh database and plays
// the demo player's first steps: their progression, battle pass, challenges
// and unlock trees come from the seeded content.
func TestDevServesDemoMetagame(t *testing.T) {
	httpAddr, opsAddr, consoleAddr, realtimeAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	exited := make(chan int, 1)
	env := envOf(map[string]string{"MUSTER_DATABASE_URL": testenv.EmptyDBURL(t)})
	go func() {
		exited <- run(ctx, registerModules(), []string{"dev", "--http-addr=" + httpAddr, "--ops-addr=" + opsAddr,
			"--console-addr=" + consoleAddr, "--realtime-addr=" + realtimeAddr, "--log-level=warn"}, env, &out, &out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Error("muster dev did not stop")
		}
	})
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + opsAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("muster dev exited %d:\n%s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in 60 s:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	call := func(method, path, token, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+httpAddr+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}
	login := call(http.MethodPost, "/v1/auth/login", "", `{"email":"`+demoEmail+`","password":"`+demoPassword+`"}`)
	tokens, _ := login["tokens"].(map[string]any)
	token, _ := tokens["access_token"].(string)
	if token == "" {
		t.Fatalf("login answered %v", login)
	}
	if p := call(http.MethodGet, "/v1/me/progression", token, ""); p["max_level"] != 50.0 {
		t.Errorf("progression %v: want the demo curve's 50 levels", p)
	}
	if bp := call(http.MethodGet, "/v1/me/battlepass", token, ""); !strings.Contains(strings.ToLower(jsonOf(bp)), "s1") {
		t.Errorf("battle pass %v: want season s1", bp)
	}
	if ch := call(http.MethodGet, "/v1/me/challenges", token, ""); !strings.Contains(jsonOf(ch), "daily") {
		t.Errorf("challenges %v: want the daily set", ch)
	}
	if u := call(http.MethodGet, "/v1/me/unlocks", token, ""); !strings.Contains(jsonOf(u), "kestrel") {
		t.Errorf("unlocks %v: want the demo trees", u)
	}
	if f := call(http.MethodGet, "/v1/me/friends", token, ""); f["friends"] == nil || f["blocked"] == nil {
		t.Errorf("friends %v: want the demo player's list", f)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
