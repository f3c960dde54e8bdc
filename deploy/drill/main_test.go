package main

import (
	"testing"
	"time"
)

func TestCheckLoopbackOnlyAndBounded(t *testing.T) {
	ok := []string{"http://127.0.0.1:18180", "http://127.0.0.1:18180/", "http://localhost:8080", "http://[::1]:18180"}
	bad := []string{"", "http://10.0.0.1:80", "http://example.com", "http://0.0.0.0:18180", "https://127.0.0.1:18180", "http://127.0.0.1:18180/v1/me"}
	for _, u := range ok {
		if err := check(u, 100, 20*time.Second, 256); err != nil {
			t.Errorf("check(%q) = %v, want ok", u, err)
		}
	}
	for _, u := range bad {
		if err := check(u, 100, 20*time.Second, 256); err == nil {
			t.Errorf("check(%q) passed, want refused", u)
		}
	}
	for _, tt := range []struct {
		rate     int
		d        time.Duration
		inflight int
	}{{0, time.Second, 1}, {1001, time.Second, 1}, {10, 0, 1}, {10, 3 * time.Minute, 1}, {10, time.Second, 0}} {
		if err := check("http://127.0.0.1:1", tt.rate, tt.d, tt.inflight); err == nil {
			t.Errorf("check(rate %d, d %s, inflight %d) passed, want refused", tt.rate, tt.d, tt.inflight)
		}
	}
}
