//go:build linux

package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary act as the children the experiments start
// (they re-execute os.Executable, which is the test binary here).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		if child, ok := children[os.Args[1]]; ok {
			if err := child(os.Args[2:], os.Stdin, os.Stdout); err != nil {
				os.Stderr.WriteString("ceiling " + os.Args[1] + ": " + err.Error() + "\n")
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

func smallOptions() options {
	return options{conns: 4, dur: time.Second, warmup: 200 * time.Millisecond, fanConns: 20, writers: 2, addr: "127.0.0.1:0", run: experiments}
}

func TestExperiments(t *testing.T) {
	for _, name := range experiments {
		t.Run(name, func(t *testing.T) {
			r, err := runExperiment(context.Background(), name, smallOptions())
			if err != nil {
				t.Fatal(err)
			}
			if r.Errors != 0 || r.FirstError != "" {
				t.Fatalf("%d errors, first: %s", r.Errors, r.FirstError)
			}
			if r.Count <= 0 || r.Rate <= 0 || r.Seconds < 0.9 {
				t.Fatalf("count %d, rate %.0f/s over %.2fs: want a positive rate over about 1s", r.Count, r.Rate, r.Seconds)
			}
			switch name {
			case "http-steam":
				// One Steam call per request. The requests in flight at
				// each end of the window (one per connection) may have
				// their call on the other side of it, and the fake Steam's
				// count is sampled a moment apart from the load's, so
				// allow both ends and 2% more.
				slack := 2*int64(r.Connections) + r.Count/50
				if d := r.SteamCalls - r.Count; d < -slack || d > slack {
					t.Fatalf("%d steam calls for %d requests, want one each", r.SteamCalls, r.Count)
				}
			case "fanout":
				if r.Sent < r.Count/2 {
					t.Fatalf("server wrote %d frames, client read %d", r.Sent, r.Count)
				}
			}
			if _, ok := r.CPU.Process["server"]; !ok {
				t.Fatalf("no server CPU in %+v", r.CPU)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	if err := check(smallOptions()); err != nil {
		t.Fatalf("small options refused: %v", err)
	}
	bad := map[string]func(*options){
		"remote addr":    func(o *options) { o.addr = "10.0.0.5:0" },
		"any addr":       func(o *options) { o.addr = ":8080" },
		"named addr":     func(o *options) { o.addr = "example.com:80" },
		"no conns":       func(o *options) { o.conns = 0 },
		"too long":       func(o *options) { o.dur = time.Hour },
		"long warmup":    func(o *options) { o.warmup = time.Hour },
		"too many fds":   func(o *options) { o.fanConns = 1 << 30 },
		"more writers":   func(o *options) { o.writers = 21 },
		"bad experiment": func(o *options) { o.run = []string{"fanout", "nope"} },
	}
	for name, mutate := range bad {
		o := smallOptions()
		mutate(&o)
		if err := check(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
