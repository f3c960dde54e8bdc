//go:build linux

package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

// report is a whole run.
type report struct {
	Date      string         `json:"date"`
	CPUs      int            `json:"cpus"`
	GoVersion string         `json:"go_version"`
	Conns     int            `json:"conns"`
	Gateways  int            `json:"gateways"`
	Heartbeat string         `json:"heartbeat"`
	Hold      string         `json:"hold"`
	Connect   connectResult  `json:"connect"`
	Memory    []memSnapshot  `json:"memory"`
	PerConn   *perConn       `json:"per_conn,omitempty"`
	HoldRes   *holdResult    `json:"idle,omitempty"`
	Fanout    []fanoutResult `json:"fanout,omitempty"`
}

type connectResult struct {
	Connected int                `json:"connected"`
	Failed    int                `json:"failed"`
	Failures  map[string]int     `json:"failures"`
	Seconds   float64            `json:"seconds"`
	PerSecond float64            `json:"per_second"`
	Handshake *loadgen.Histogram `json:"handshake"`
	CPU       cpuUse             `json:"cpu"`
}

// memSnapshot is every gateway's memory at one point of the run.
type memSnapshot struct {
	Phase    string       `json:"phase"`
	At       string       `json:"at"`
	Gateways []gatewayMem `json:"gateways"`
}

type gatewayMem struct {
	Addr string `json:"addr"`
	PID  int    `json:"pid,omitempty"`
	RSS  int64  `json:"rss_bytes"`
	Go   goMem  `json:"go"`
}

func (s memSnapshot) rss() int64 {
	var n int64
	for _, g := range s.Gateways {
		n += g.RSS
	}
	return n
}

func (s memSnapshot) heapStack() int64 {
	var n int64
	for _, g := range s.Gateways {
		n += g.Go.HeapInuse + g.Go.StackInuse
	}
	return n
}

func (s memSnapshot) goroutines() int64 {
	var n int64
	for _, g := range s.Gateways {
		n += g.Go.Goroutines
	}
	return n
}

// perConn is what one connection costs the gateways: the growth from
// before connecting to the snapshot named, divided by the connections.
type perConn struct {
	Snapshot      string  `json:"snapshot"`
	Conns         int     `json:"conns"`
	RSSBytes      float64 `json:"rss_bytes"`
	ConnsPerGiB   float64 `json:"conns_per_gib"`
	HeapStack     float64 `json:"heap_stack_bytes"`
	Goroutines    float64 `json:"goroutines"`
	TotalRSS      int64   `json:"total_rss_bytes"`
	IdleRSS       int64   `json:"idle_rss_bytes"`
	OneProcessRSS float64 `json:"one_process_rss_bytes"` // an idle gateway plus every connection's growth
	// The same growth from the gateways' RSS read every second of the
	// hold: its mean and its highest.
	HoldMeanRSSBytes float64 `json:"hold_mean_rss_bytes,omitempty"`
	HoldMaxRSSBytes  float64 `json:"hold_max_rss_bytes,omitempty"`
}

// rssSeries is the gateways' summed RSS read over time.
type rssSeries struct {
	n, sum, max int64
}

func (r *rssSeries) add(v int64) {
	r.n++
	r.sum += v
	r.max = max(r.max, v)
}

func (r rssSeries) mean() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.sum) / float64(r.n)
}

// costPerConn computes perConn from the first snapshot (before
// connecting) and the named later one.
func costPerConn(before, after memSnapshot, conns int) *perConn {
	if conns <= 0 || before.rss() == 0 {
		return nil
	}
	p := &perConn{Snapshot: after.Phase, Conns: conns, TotalRSS: after.rss(), IdleRSS: before.rss()}
	p.RSSBytes = float64(after.rss()-before.rss()) / float64(conns)
	if p.RSSBytes > 0 {
		p.ConnsPerGiB = float64(1<<30) / p.RSSBytes
	}
	if before.heapStack() > 0 {
		p.HeapStack = float64(after.heapStack()-before.heapStack()) / float64(conns)
		p.Goroutines = float64(after.goroutines()-before.goroutines()) / float64(conns)
	}
	p.OneProcessRSS = float64(before.rss())/float64(len(before.Gateways)) + p.RSSBytes*float64(conns)
	return p
}

type holdResult struct {
	Open         int64              `json:"open"`
	Pings        int64              `json:"pings"`
	Pongs        int64              `json:"pongs"`
	Closed       int64              `json:"closed"`
	CloseReasons map[string]int     `json:"close_reasons"`
	RTT          *loadgen.Histogram `json:"ping_rtt"`
	CPU          cpuUse             `json:"cpu"`
	ClientsRSS   int64              `json:"clients_rss_bytes"`
	RSSMean      float64            `json:"gateways_rss_mean_bytes"` // read every second
	RSSMax       int64              `json:"gateways_rss_max_bytes"`
}

type fanoutResult struct {
	Rate         float64       `json:"rate"`
	Publish      publishResult `json:"publish"`
	DrainSeconds float64       `json:"drain_seconds"`
	// LastDeliverySeconds is when the last notification arrived, from the
	// step's start; delivered/s divides by it (or by the publishing time
	// when that is longer).
	LastDeliverySeconds float64            `json:"last_delivery_seconds"`
	Delivered           int64              `json:"delivered"`
	DeliveredPerSec     float64            `json:"delivered_per_second"`
	Lost                int64              `json:"lost"`
	Gaps                int64              `json:"gaps"`
	Dups                int64              `json:"duplicates"`
	Closed              int64              `json:"closed"`
	CloseReasons        map[string]int     `json:"close_reasons,omitempty"`
	Latency             *loadgen.Histogram `json:"latency"`
	CPU                 cpuUse             `json:"cpu"`
	KeptUp              bool               `json:"kept_up"`
	Why                 string             `json:"why,omitempty"`
}

// failed is a run that lost connections: some did not connect or some
// closed while idle. A fan-out rate the gateways could not keep is a
// finding, not a failure.
func (r report) failed() bool {
	return r.Connect.Failed > 0 || (r.HoldRes != nil && r.HoldRes.Closed > 0)
}

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }
func mib(b int64) string   { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", loadgen.MS(d)) }

func quantiles(h *loadgen.Histogram) string {
	if h == nil || h.Count == 0 {
		return "none"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%d values)",
		ms(h.Quantile(0.5)), ms(h.Quantile(0.9)), ms(h.Quantile(0.99)), ms(h.Quantile(0.999)), ms(h.Max), h.Count)
}

func (c cpuUse) line() string {
	busy := 0.0
	if c.Total > 0 {
		busy = 100 * c.Busy / c.Total
	}
	return fmt.Sprintf("cpu seconds over %.1fs: gateways %.2f, clients %.2f, rtload %.2f, redis %.2f, postgres %.2f, other %.2f; machine %.0f%% busy",
		c.Wall, c.Gateways, c.Clients, c.Rtload, c.Redis, c.Postgres, c.Other(), busy)
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (r report) print(out io.Writer) {
	fmt.Fprintf(out, "# %s, %d CPUs, %s, %d connections over %d gateways, heartbeat %s\n",
		r.Date, r.CPUs, r.GoVersion, r.Conns, r.Gateways, r.Heartbeat)
	c := r.Connect
	fmt.Fprintf(out, "\nconnect      %d connected, %d failed%s in %.1fs (%.0f/s)\n", c.Connected, c.Failed, reasons(c.Failures), c.Seconds, c.PerSecond)
	fmt.Fprintf(out, "handshake    %s\n", quantiles(c.Handshake))
	fmt.Fprintf(out, "             %s\n", c.CPU.line())

	if len(r.Memory) > 0 && r.Memory[0].rss() > 0 {
		fmt.Fprintf(out, "\nmemory (VmRSS of each gateway; Go heap+stacks in use from its /metrics)\n")
		fmt.Fprintf(out, "%-22s %8s", "gateway", "pid")
		for _, s := range r.Memory {
			fmt.Fprintf(out, "  %22s", s.Phase)
		}
		fmt.Fprintln(out)
		for i, g := range r.Memory[0].Gateways {
			fmt.Fprintf(out, "%-22s %8d", g.Addr, g.PID)
			for _, s := range r.Memory {
				if i < len(s.Gateways) {
					fmt.Fprintf(out, "  %22s", memCell(s.Gateways[i]))
				}
			}
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "%-22s %8s", "all gateways", "")
		for _, s := range r.Memory {
			fmt.Fprintf(out, "  %22s", memCell(gatewayMem{RSS: s.rss(), Go: goMem{HeapInuse: s.heapStack()}}))
		}
		fmt.Fprintln(out)
	}
	if p := r.PerConn; p != nil {
		fmt.Fprintf(out, "\nper conn     (%s) RSS %.0f bytes (%s): %.0f connections per GiB; Go heap+stacks %.0f bytes, %.2f goroutines\n",
			p.Snapshot, p.RSSBytes, kib(p.RSSBytes), p.ConnsPerGiB, p.HeapStack, p.Goroutines)
		if p.HoldMaxRSSBytes > 0 {
			fmt.Fprintf(out, "             during the hold (RSS read every second): mean %.0f bytes (%s, %.0f per GiB), highest %.0f bytes (%s, %.0f per GiB)\n",
				p.HoldMeanRSSBytes, kib(p.HoldMeanRSSBytes), float64(1<<30)/p.HoldMeanRSSBytes,
				p.HoldMaxRSSBytes, kib(p.HoldMaxRSSBytes), float64(1<<30)/p.HoldMaxRSSBytes)
		}
		fmt.Fprintf(out, "total        %d connections: gateways' RSS %s (%s of it before connecting); one process holding them all would be about %s\n",
			p.Conns, mib(p.TotalRSS), mib(p.IdleRSS), mib(int64(p.OneProcessRSS)))
	}
	if h := r.HoldRes; h != nil {
		fmt.Fprintf(out, "\nidle         %s: %d open, %d closed%s; %d pings (%.0f/s), %d pongs\n",
			r.Hold, h.Open, h.Closed, reasons(h.CloseReasons), h.Pings, float64(h.Pings)/max(h.CPU.Wall, 1e-9), h.Pongs)
		fmt.Fprintf(out, "ping rtt     %s\n", quantiles(h.RTT))
		fmt.Fprintf(out, "             %s; client processes' RSS %s\n", h.CPU.line(), mib(h.ClientsRSS))
	}
	if len(r.Fanout) > 0 {
		fmt.Fprintf(out, "\nfan-out (latency: send time stamped in the payload to the client's read)\n")
		for _, f := range r.Fanout {
			state := "kept up"
			if !f.KeptUp {
				state = "NOT kept: " + f.Why
			}
			fmt.Fprintf(out, "rate %-8.0f published %d in %.1fs (publisher at most %.1fms behind, each message reached %d gateways); delivered %d (%.0f/s), lost %d, gaps %d, duplicates %d, closed %d%s; %s\n",
				f.Rate, f.Publish.Published, f.Publish.Seconds, f.Publish.MaxBehindMs, f.Publish.MinReceivers,
				f.Delivered, f.DeliveredPerSec, f.Lost, f.Gaps, f.Dups, f.Closed, reasons(f.CloseReasons), state)
			fmt.Fprintf(out, "  latency    %s\n", quantiles(f.Latency))
			fmt.Fprintf(out, "  %s\n", f.CPU.line())
			if f.Delivered > 0 {
				per := func(s float64) string { return fmt.Sprintf("%.1fµs", s/float64(f.Delivered)*1e6) }
				fmt.Fprintf(out, "  cpu/message gateways %s, clients %s, rtload (publisher) %s, redis %s\n",
					per(f.CPU.Gateways), per(f.CPU.Clients), per(f.CPU.Rtload), per(f.CPU.Redis))
			}
		}
	}
}

func memCell(g gatewayMem) string {
	if g.Go.HeapInuse+g.Go.StackInuse == 0 {
		return mib(g.RSS)
	}
	return mib(g.RSS) + " / " + mib(g.Go.HeapInuse+g.Go.StackInuse)
}
