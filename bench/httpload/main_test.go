package main

import (
	"testing"
	"time"
)

func TestLoopbackOnly(t *testing.T) {
	ok := []string{"http://127.0.0.1:9090/healthz", "http://127.1.2.3/", "http://[::1]:9090/", "http://LOCALHOST:9090/"}
	bad := []string{"http://10.0.0.1/", "http://example.com/", "http://[::ffff:8.8.8.8]/", "http://0.0.0.0:9090/", "ftp://127.0.0.1/", ""}
	for _, u := range ok {
		if err := check(u, 64, time.Second, 0, 0); err != nil {
			t.Errorf("check(%q) = %v, want ok", u, err)
		}
	}
	for _, u := range bad {
		if err := check(u, 64, time.Second, 0, 0); err == nil {
			t.Errorf("check(%q) passed, want refused", u)
		}
	}
	if err := check("http://127.0.0.1/", 64, 3*time.Minute, 0, 0); err == nil {
		t.Error("-d 3m passed, want refused")
	}
}
