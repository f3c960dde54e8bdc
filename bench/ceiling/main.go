//go:build linux

// Command ceiling measures what this machine can do at best for two of
// Muster's performance goals, with no Muster domain code and no database:
// the figures are ceilings that Muster itself cannot exceed here.
//
// Experiments (run them all by default, or name some as arguments):
//
//   - http-empty: a bare fiber v2 server answering POST / with a small JSON
//     body, loaded with -c closed-loop keep-alive connections.
//   - http-sign: the same, but each request's small JSON body is parsed and
//     the answer is a refresh answer: an Ed25519 (EdDSA) JWT signed with
//     golang-jwt/jwt/v5 and a random 32-byte refresh token in hex.
//   - http-steam: http-sign plus one call per request to a fake Steam Web
//     API (web/steam/steamtest, in a child process of its own) through
//     web/steam's Client with a pooled loopback transport.
//   - fanout: a server process accepts -n loopback TCP connections and -w
//     writer goroutines loop writing one 120-byte frame (one write) to each
//     connection in turn; a client process reads each connection with a
//     1 KiB buffer in a goroutine of its own and counts the frames.
//
// Every server and client runs as a child process (this program again,
// with a hidden subcommand), so the CPU time of each comes apart: it is
// read from /proc/<pid>/stat over the measured window. The HTTP load comes
// from this process (bench/loadgen's client and histogram). Each
// experiment runs -warmup unmeasured, then -d measured.
//
// It prints, for each experiment, the rate (requests/s or frames/s), errors,
// latency percentiles (HTTP), and the CPU seconds of each process and of the
// whole machine. The exit status is 1 when a request or a frame failed or
// the run broke, 2 for bad flags.
//
// Everything is on loopback: -addr must be a loopback address, and every
// dial is checked.
//
// Usage (from the module root; Linux only, it reads /proc):
//
//	go run ./bench/ceiling [-c 64] [-d 10s] [-warmup 2s] [-n 2000] [-w 2] [-json] [experiment ...]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

const (
	maxDuration = 2 * time.Minute
	maxWarmup   = 30 * time.Second
	maxConns    = 1024
	// fdReserve is what a process keeps for itself besides its connections.
	fdReserve = 100
)

var experiments = []string{"http-empty", "http-sign", "http-steam", "fanout"}

// options are the command's flags.
type options struct {
	conns       int           // HTTP keep-alive connections
	dur, warmup time.Duration // measured and unmeasured time of each experiment
	fanConns    int           // fanout connections
	writers     int           // fanout writer goroutines
	addr        string        // where the servers listen
	asJSON      bool
	run         []string // experiments
}

func main() {
	if len(os.Args) > 1 {
		if child, ok := children[os.Args[1]]; ok {
			if err := child(os.Args[2:], os.Stdin, os.Stdout); err != nil {
				fmt.Fprintf(os.Stderr, "ceiling %s: %v\n", os.Args[1], err)
				os.Exit(1)
			}
			return
		}
	}

	var o options
	flag.Usage = func() {
		w := flag.CommandLine.Output()
		fmt.Fprintf(w, `Usage: go run ./bench/ceiling [flags] [experiment ...]

Measures the ceiling of this machine, with no Muster code and no database.
Experiments (default: all): %s

  http-empty  bare fiber v2 server answering POST with a small JSON body
  http-sign   + parse the JSON body, sign an Ed25519 JWT, random refresh token
  http-steam  + one call per request to a fake Steam Web API (child process)
  fanout      one write of a 120-byte frame per message per connection,
              -w writers over -n loopback TCP connections; a client
              process reads each connection with a 1 KiB buffer

Servers and clients run as child processes so their CPU time comes apart.
Everything is on loopback.

Flags:
`, strings.Join(experiments, ", "))
		flag.PrintDefaults()
	}
	flag.IntVar(&o.conns, "c", 64, "HTTP: closed-loop keep-alive connections (1 to 1024)")
	flag.DurationVar(&o.dur, "d", 10*time.Second, "measured time of each experiment (at most 2m)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured time before each (at most 30s)")
	flag.IntVar(&o.fanConns, "n", 2000, "fanout: TCP connections (each process needs one descriptor per connection)")
	flag.IntVar(&o.writers, "w", 2, "fanout: writer goroutines in the server")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:0", "loopback address the servers listen on (port 0: any free port)")
	flag.BoolVar(&o.asJSON, "json", false, "print the results as JSON")
	flag.Parse()
	o.run = flag.Args()
	if len(o.run) == 0 {
		o.run = experiments
	}
	if err := check(o); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := report{Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	failed := false
	for _, name := range o.run {
		fmt.Fprintf(os.Stderr, "ceiling: %s, %s warmup, %s measured\n", name, o.warmup, o.dur)
		r, err := runExperiment(ctx, name, o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ceiling: %s: %v\n", name, err)
			failed = true
			break
		}
		rep.Results = append(rep.Results, r)
		if r.Errors > 0 {
			failed = true
		}
	}
	if o.asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.print(os.Stdout)
	}
	if failed {
		os.Exit(1)
	}
}

// check validates the flags.
func check(o options) error {
	if !loadgen.LoopbackAddr(o.addr) {
		return fmt.Errorf("refusing -addr %q: not a loopback host:port (127.0.0.0/8, ::1 or localhost); ceiling only measures this machine", o.addr)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	maxFan := int(min(lim.Max, 1<<20)) - fdReserve
	switch {
	case o.conns < 1 || o.conns > maxConns:
		return fmt.Errorf("-c %d: want 1 to %d connections", o.conns, maxConns)
	case o.dur <= 0 || o.dur > maxDuration:
		return fmt.Errorf("-d %s: want more than 0 and at most %s", o.dur, maxDuration)
	case o.warmup < 0 || o.warmup > maxWarmup:
		return fmt.Errorf("-warmup %s: want 0 to %s", o.warmup, maxWarmup)
	case o.fanConns < 1 || o.fanConns > maxFan:
		return fmt.Errorf("-n %d: want 1 to %d (the descriptor limit is %d per process)", o.fanConns, maxFan, lim.Max)
	case o.writers < 1 || o.writers > o.fanConns:
		return fmt.Errorf("-w %d: want 1 to -n (%d)", o.writers, o.fanConns)
	}
	for _, e := range o.run {
		if !slices.Contains(experiments, e) {
			return fmt.Errorf("unknown experiment %q, want some of %s", e, strings.Join(experiments, ", "))
		}
	}
	return nil
}

func runExperiment(ctx context.Context, name string, o options) (result, error) {
	if name == "fanout" {
		return runFanout(ctx, o)
	}
	return runHTTP(ctx, strings.TrimPrefix(name, "http-"), o)
}

// report is the whole run.
type report struct {
	Date      string   `json:"date"`
	CPUs      int      `json:"cpus"`
	GoVersion string   `json:"go_version"`
	Results   []result `json:"results"`
}

// result is one experiment; latencies are in milliseconds, CPU in seconds.
type result struct {
	Experiment  string  `json:"experiment"`
	Connections int     `json:"connections"`
	Writers     int     `json:"writers,omitempty"`
	Seconds     float64 `json:"seconds"`
	Unit        string  `json:"unit"` // requests or frames
	Count       int64   `json:"count"`
	Rate        float64 `json:"per_second"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Sent        int64   `json:"frames_written,omitempty"` // fanout: by the server
	SteamCalls  int64   `json:"steam_calls,omitempty"`
	P50         float64 `json:"p50_ms,omitempty"`
	P90         float64 `json:"p90_ms,omitempty"`
	P99         float64 `json:"p99_ms,omitempty"`
	Max         float64 `json:"max_ms,omitempty"`
	CPU         cpuUse  `json:"cpu"`
}

func (r report) print(out io.Writer) {
	fmt.Fprintf(out, "# %s, %d CPUs, %s; ceiling measurements, no Muster code\n", r.Date, r.CPUs, r.GoVersion)
	for _, x := range r.Results {
		fmt.Fprintln(out)
		x.print(out)
	}
}

func (r result) print(out io.Writer) {
	conns := fmt.Sprintf("%d connections", r.Connections)
	if r.Writers > 0 {
		conns += fmt.Sprintf(", %d writers", r.Writers)
	}
	fmt.Fprintf(out, "%-11s %s, %.2fs measured\n", r.Experiment, conns, r.Seconds)
	fmt.Fprintf(out, "rate        %.0f %s/s (%d %s, %d errors)\n", r.Rate, r.Unit, r.Count, r.Unit, r.Errors)
	if r.FirstError != "" {
		fmt.Fprintf(out, "first error %s\n", r.FirstError)
	}
	if r.Unit == "requests" {
		fmt.Fprintf(out, "latency     p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n", r.P50, r.P90, r.P99, r.Max)
	}
	if r.Unit == "frames" {
		fmt.Fprintf(out, "written     %.0f frames/s by the server (%d frames)\n", float64(r.Sent)/r.Seconds, r.Sent)
	}
	if r.SteamCalls > 0 {
		fmt.Fprintf(out, "steam       %d calls (%.2f a request)\n", r.SteamCalls, float64(r.SteamCalls)/float64(max(r.Count, 1)))
	}
	r.CPU.print(out)
}
