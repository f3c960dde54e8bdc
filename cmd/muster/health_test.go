package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The health command passes only while the ops listener's /readyz answers
// 200, and finds a listener bound to every address on loopback.
func TestHealthCommand(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte(`{"status":"ready"}`))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	health := func(opsAddr string) (int, string) {
		var out, errOut bytes.Buffer
		env := map[string]string{"MUSTER_OPS_ADDR": opsAddr}
		code := run(context.Background(), registerModules(), []string{"health"}, func(k string) string { return env[k] }, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	for _, addr := range []string{"127.0.0.1:" + port, ":" + port, "0.0.0.0:" + port} {
		if code, out := health(addr); code != 0 || !strings.Contains(out, "ready") {
			t.Errorf("health with ops-addr %s: exit %d, %q; want 0", addr, code, out)
		}
	}
	status.Store(http.StatusServiceUnavailable)
	if code, out := health(":" + port); code != 1 || !strings.Contains(out, "503") {
		t.Errorf("health of a draining process: exit %d, %q; want 1 naming the 503", code, out)
	}
	srv.Close()
	if code, _ := health(":" + port); code != 1 {
		t.Errorf("health with nothing listening: exit %d, want 1", code)
	}
	if got := localAddr("[::]:9090"); got != "[::1]:9090" {
		t.Errorf("localAddr([::]:9090) = %s", got)
	}
}
