//go:build linux

package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

// procSet names the processes whose CPU time a phase reports.
type procSet struct {
	self, steam, muster int
	dbName              string  // the bench database
	admin               *sql.DB // reads pg_stat_database
}

// cpuSample is CPU time in ticks at one moment.
type cpuSample struct {
	at                  time.Time
	self, steam, muster int64
	postgres            int64 // every postgres process, plus the postmaster's reaped children
	redis               int64 // every redis-server process
	busy, total         int64 // the machine, all CPUs (/proc/stat)
	pg                  pgStats
}

// pgStats are the bench database's counters in pg_stat_database. Backends
// publish them about once a second, so deltas are approximate.
type pgStats struct {
	sessions, commits, rollbacks int64
}

func readPgStats(admin *sql.DB, dbName string) pgStats {
	var s pgStats
	if admin == nil {
		return s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = admin.QueryRowContext(ctx, `SELECT sessions, xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1`, dbName).
		Scan(&s.sessions, &s.commits, &s.rollbacks)
	return s
}

func sampleCPU(p procSet) cpuSample {
	s := cpuSample{at: time.Now(), pg: readPgStats(p.admin, p.dbName)}
	s.self, s.steam, s.muster = loadgen.ProcTicks(p.self), loadgen.ProcTicks(p.steam), loadgen.ProcTicks(p.muster)
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
	for _, st := range stats {
		t := st.Utime + st.Stime
		if st.Comm == "redis-server" {
			s.redis += t
			continue
		}
		s.postgres += t
		if parent, ok := stats[st.PPID]; !ok || parent.Comm != "postgres" {
			// The postmaster: add the backends that have exited.
			s.postgres += st.Cutime + st.Cstime
		}
	}
	return s
}

// cpuUse is CPU time in seconds over a measured phase.
type cpuUse struct {
	WallSeconds  float64 `json:"wall_seconds"`
	Authload     float64 `json:"authload_seconds"`
	FakeSteam    float64 `json:"fake_steam_seconds"`
	Muster       float64 `json:"muster_seconds"`
	Postgres     float64 `json:"postgres_seconds"`
	Redis        float64 `json:"redis_seconds"`
	MachineBusy  float64 `json:"machine_busy_seconds"`
	MachineTotal float64 `json:"machine_total_seconds"`
	// From pg_stat_database of the bench database (approximate).
	PgSessions  int64 `json:"pg_sessions_opened"`
	PgCommits   int64 `json:"pg_commits"`
	PgRollbacks int64 `json:"pg_rollbacks"`
}

func (s cpuSample) since(a cpuSample) cpuUse {
	sec := func(t int64) float64 { return float64(t) / loadgen.ClockTicks }
	return cpuUse{
		WallSeconds:  s.at.Sub(a.at).Seconds(),
		Authload:     sec(s.self - a.self),
		FakeSteam:    sec(s.steam - a.steam),
		Muster:       sec(s.muster - a.muster),
		Postgres:     sec(s.postgres - a.postgres),
		Redis:        sec(s.redis - a.redis),
		MachineBusy:  sec(s.busy - a.busy),
		MachineTotal: sec(s.total - a.total),
		PgSessions:   s.pg.sessions - a.pg.sessions,
		PgCommits:    s.pg.commits - a.pg.commits,
		PgRollbacks:  s.pg.rollbacks - a.pg.rollbacks,
	}
}

// Other is busy machine time none of the named processes account for:
// other processes, and interrupts not charged to a process.
func (c cpuUse) Other() float64 {
	return c.MachineBusy - c.Authload - c.FakeSteam - c.Muster - c.Postgres - c.Redis
}

func (c cpuUse) print(out io.Writer, requests int64) {
	if c.WallSeconds == 0 {
		return
	}
	fmt.Fprintf(out, "cpu seconds  authload %.2f, fake steam %.2f, muster %.2f, postgres %.2f, redis %.2f, other %.2f\n",
		c.Authload, c.FakeSteam, c.Muster, c.Postgres, c.Redis, c.Other())
	busy := 0.0
	if c.MachineTotal > 0 {
		busy = 100 * c.MachineBusy / c.MachineTotal
	}
	fmt.Fprintf(out, "machine      %.2f of %.2f CPU-seconds busy (%.0f%%) over %.2fs\n", c.MachineBusy, c.MachineTotal, busy, c.WallSeconds)
	if c.MachineTotal > 0 && c.Other() > 0.15*c.MachineTotal {
		fmt.Fprintf(out, "warning      %.0f%% of the machine went to other processes or interrupts: something else ran, repeat the run\n", 100*c.Other()/c.MachineTotal)
	}
	if requests > 0 {
		per := func(s float64) string { return fmt.Sprintf("%.0fµs", s/float64(requests)*1e6) }
		fmt.Fprintf(out, "cpu/request  muster %s, postgres %s, redis %s, authload %s, fake steam %s\n",
			per(c.Muster), per(c.Postgres), per(c.Redis), per(c.Authload), per(c.FakeSteam))
		fmt.Fprintf(out, "postgres     %d connections opened, %d commits (%.1f/request), %d rollbacks (approximate)\n",
			c.PgSessions, c.PgCommits, float64(c.PgCommits)/float64(requests), c.PgRollbacks)
	}
}
