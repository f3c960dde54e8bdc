//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

// parseRSS reads VmRSS (kB) from a /proc/<pid>/status document, in bytes;
// 0 when it is missing.
func parseRSS(status []byte) int64 {
	s := bufio.NewScanner(bytes.NewReader(status))
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, "VmRSS:") {
			continue
		}
		f := strings.Fields(line[len("VmRSS:"):])
		if len(f) == 2 && f[1] == "kB" {
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// rssOf is a process's resident set in bytes, 0 if it cannot be read.
func rssOf(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	return parseRSS(b)
}

// cpuSample is CPU time in ticks of the run's processes at one moment.
type cpuSample struct {
	at          time.Time
	self        int64
	gateways    int64
	clients     int64
	postgres    int64 // every postgres process, plus the postmaster's reaped children
	redis       int64
	busy, total int64
}

// sampleCPU reads the CPU time of the gateways, the clients, this process,
// PostgreSQL (every postgres process) and Redis (redisPID, or every
// redis-server process when it is 0).
func sampleCPU(gateways, clients []int, redisPID int) cpuSample {
	s := cpuSample{at: time.Now(), self: loadgen.ProcTicks(os.Getpid())}
	for _, p := range gateways {
		s.gateways += loadgen.ProcTicks(p)
	}
	for _, p := range clients {
		s.clients += loadgen.ProcTicks(p)
	}
	s.busy, s.total = loadgen.MachineTicks()
	entries, _ := os.ReadDir("/proc")
	stats := map[int]loadgen.ProcStat{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := loadgen.ReadProcStat(pid); ok && (st.Comm == "postgres" || st.Comm == "redis-server") {
			stats[pid] = st
		}
	}
	if redisPID != 0 {
		s.redis = loadgen.ProcTicks(redisPID)
	}
	for _, st := range stats {
		t := st.Utime + st.Stime
		if st.Comm == "redis-server" {
			if redisPID == 0 {
				s.redis += t
			}
			continue
		}
		s.postgres += t
		if parent, ok := stats[st.PPID]; !ok || parent.Comm != "postgres" {
			s.postgres += st.Cutime + st.Cstime // the postmaster: backends that exited
		}
	}
	return s
}

// cpuUse is CPU seconds over a phase.
type cpuUse struct {
	Wall     float64 `json:"wall_seconds"`
	Gateways float64 `json:"gateways_seconds"`
	Clients  float64 `json:"clients_seconds"`
	Rtload   float64 `json:"rtload_seconds"` // the parent: the publisher
	Postgres float64 `json:"postgres_seconds"`
	Redis    float64 `json:"redis_seconds"`
	Busy     float64 `json:"machine_busy_seconds"`
	Total    float64 `json:"machine_total_seconds"`
}

func (s cpuSample) since(a cpuSample) cpuUse {
	sec := func(t int64) float64 { return float64(t) / loadgen.ClockTicks }
	return cpuUse{Wall: s.at.Sub(a.at).Seconds(), Gateways: sec(s.gateways - a.gateways), Clients: sec(s.clients - a.clients),
		Rtload: sec(s.self - a.self), Postgres: sec(s.postgres - a.postgres), Redis: sec(s.redis - a.redis),
		Busy: sec(s.busy - a.busy), Total: sec(s.total - a.total)}
}

// Other is busy time none of the named processes account for.
func (c cpuUse) Other() float64 {
	return c.Busy - c.Gateways - c.Clients - c.Rtload - c.Postgres - c.Redis
}

// goMem is what a gateway's Go runtime reports on /metrics.
type goMem struct {
	HeapInuse  int64 `json:"heap_inuse_bytes"`
	StackInuse int64 `json:"stack_inuse_bytes"`
	Sys        int64 `json:"sys_bytes"`
	Released   int64 `json:"heap_released_bytes"`
	Goroutines int64 `json:"goroutines"`
}

// parseGoMem picks the Go runtime's memory gauges out of a Prometheus text
// exposition.
func parseGoMem(r io.Reader) goMem {
	var m goMem
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		name, val, ok := strings.Cut(s.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes":
			m.HeapInuse = int64(f)
		case "go_memstats_stack_inuse_bytes":
			m.StackInuse = int64(f)
		case "go_memstats_sys_bytes":
			m.Sys = int64(f)
		case "go_memstats_heap_released_bytes":
			m.Released = int64(f)
		case "go_goroutines":
			m.Goroutines = int64(f)
		}
	}
	return m
}

// scrapeGoMem reads a gateway's /metrics; the zero goMem when it cannot.
func scrapeGoMem(ctx context.Context, c *http.Client, opsAddr string) goMem {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+opsAddr+"/metrics", nil)
	if err != nil {
		return goMem{}
	}
	resp, err := c.Do(req)
	if err != nil {
		return goMem{}
	}
	defer resp.Body.Close()
	return parseGoMem(resp.Body)
}

func newMetricsClient() *http.Client { return loadgen.NewClient(4, 5*time.Second, nil) }
