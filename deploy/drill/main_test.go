package main

import (
	"testing"
	"time"
)

func TestCheckLoopbackOnlyAndBounded(t *testing.T) {
	valid := options{base: "http://127.0.0.1:18180", rate: 100, dur: 20 * time.Second, inflight: 256, clients: 20, notes: 20}
	ok := []string{"http://127.0.0.1:18180", "http://127.0.0.1:18180/", "http://localhost:8080", "http://[::1]:18180"}
	bad := []string{"", "http://10.0.0.1:80", "http://example.com", "http://0.0.0.0:18180", "https://127.0.0.1:18180", "http://127.0.0.1:18180/v1/me"}
	for _, u := range ok {
		o := valid
		o.base = u
		if err := o.check(); err != nil {
			t.Errorf("check(%q) = %v, want ok", u, err)
		}
	}
	for _, u := range bad {
		o := valid
		o.base = u
		if err := o.check(); err == nil {
			t.Errorf("check(%q) passed, want refused", u)
		}
	}
	for _, tcp := range []string{"127.0.0.1:18200", "localhost:7350", "[::1]:7350"} {
		o := valid
		o.tcp = tcp
		if err := o.check(); err != nil {
			t.Errorf("check(-tcp %q) = %v, want ok", tcp, err)
		}
	}
	for _, tcp := range []string{"10.0.0.1:7350", "example.com:7350", "127.0.0.1", "0.0.0.0:7350"} {
		o := valid
		o.tcp = tcp
		if err := o.check(); err == nil {
			t.Errorf("check(-tcp %q) passed, want refused", tcp)
		}
	}
	for _, tt := range []struct {
		rate     int
		d        time.Duration
		inflight int
		clients  int
		notes    int
	}{
		{0, time.Second, 1, 1, 0}, {1001, time.Second, 1, 1, 0}, {10, 0, 1, 1, 0}, {10, 3 * time.Minute, 1, 1, 0}, {10, time.Second, 0, 1, 0},
		{10, time.Second, 1, 0, 0}, {10, time.Second, 1, 501, 0}, {10, time.Second, 1, 1, -1}, {10, time.Second, 1, 1, 201},
	} {
		o := options{base: "http://127.0.0.1:1", rate: tt.rate, dur: tt.d, inflight: tt.inflight, clients: tt.clients, notes: tt.notes}
		if err := o.check(); err == nil {
			t.Errorf("check(%+v) passed, want refused", tt)
		}
	}
}

func TestRealtimeVerdict(t *testing.T) {
	good := realtimeResult{Clients: 2, Reconnected: 2, Reconnections: 3, Resumed: 3, Made: 10, Received: 10, Stored: 10}
	if !good.ok() {
		t.Fatalf("%+v: want ok", good)
	}
	for name, mutate := range map[string]func(*realtimeResult){
		"a client never told to reconnect": func(r *realtimeResult) { r.Reconnected = 1 },
		"a session not resumed":            func(r *realtimeResult) { r.NotResumed = 1 },
		"a drop without Reconnect":         func(r *realtimeResult) { r.Dropped = 1 },
		"a duplicate":                      func(r *realtimeResult) { r.Duplicates = 1 },
		"a lost notification":              func(r *realtimeResult) { r.Lost = 1 },
		"fewer received than made":         func(r *realtimeResult) { r.Received = 9 },
		"more stored than made":            func(r *realtimeResult) { r.Stored = 11 },
		"a client short of its count":      func(r *realtimeResult) { r.Behind = 1 },
		"a failure":                        func(r *realtimeResult) { r.Failures = []string{"x"} },
	} {
		r := good
		mutate(&r)
		if r.ok() {
			t.Errorf("%s: %+v passed, want failed", name, r)
		}
	}
}
