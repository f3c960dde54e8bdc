//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/musterhq/muster/bench/loadgen"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/push"
)

const (
	maxConns      = 200_000
	maxProcs      = 32
	maxHold       = 10 * time.Minute
	maxStep       = 2 * time.Minute
	maxSettle     = 30 * time.Second
	maxRates      = 10
	maxRate       = 1_000_000
	maxPublishers = 8
	maxDialers    = 256
	maxRun        = 30 * time.Minute // every phase together, connecting included
	fdReserve     = 100              // descriptors a process needs besides its sockets
)

type runOptions struct {
	playersFile string
	conns       int
	gateways    []string
	pids        []int
	ops         []string
	perProc     int
	sources     bool
	dialers     int
	connectRate float64
	hold        time.Duration
	redisURL    string
	redisPrefix string
	redisPID    int
	dbURL       string
	rates       []float64
	step        time.Duration
	settle      time.Duration
	publishers  int
	push        int // recipients of each published push event; 0: a stored notification per player
	asJSON      bool
	fdLimit     int // this process's open-file limit, which the clients share
}

func runMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rtload run", flag.ContinueOnError)
	var o runOptions
	var gws, pids, ops, rates string
	fs.StringVar(&o.playersFile, "players", "", "players file written by rtload prepare (required)")
	fs.IntVar(&o.conns, "conns", 0, fmt.Sprintf("connections, one per player from the file's first (0: every player; at most %d)", maxConns))
	fs.StringVar(&gws, "gateways", "", "comma-separated loopback host:port of the gateways' TCP listeners (MUSTER_REALTIME_ADDR); player i connects to the (i mod n)-th")
	fs.StringVar(&pids, "pids", "", "comma-separated process ids of the gateways, in the order of -gateways, for their resident memory and CPU time")
	fs.StringVar(&ops, "ops", "", "comma-separated ops listeners of the gateways (MUSTER_OPS_ADDR), in the order of -gateways, for the Go runtime's heap and stacks from /metrics")
	fs.IntVar(&o.perProc, "per-proc", 16000, "most connections one client process holds (below the open-file limit)")
	fs.BoolVar(&o.sources, "sources", true, "client process k connects from 127.0.0.(10+k), so that each source address has its own ephemeral ports")
	fs.IntVar(&o.dialers, "dialers", 32, fmt.Sprintf("handshakes each client process runs at once (1 to %d)", maxDialers))
	fs.Float64Var(&o.connectRate, "connect-rate", 0, "connections opened a second in all, spread evenly (0: as fast as the dialers go)")
	fs.DurationVar(&o.hold, "hold", time.Minute, "how long every connection stays idle (pinging) before memory is read again (at most 10m)")
	fs.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis URL (loopback) the gateways use, for publishing")
	fs.StringVar(&o.redisPrefix, "redis-prefix", "muster:", "the gateways' MUSTER_REDIS_PREFIX")
	fs.IntVar(&o.redisPID, "redis-pid", 0, "process id of the Redis server, for its CPU time (default: every redis-server process)")
	fs.StringVar(&o.dbURL, "database-url", os.Getenv("MUSTER_DATABASE_URL"), "the gateways' database, for each player's last notification seq (default $MUSTER_DATABASE_URL; needed with -rates)")
	fs.StringVar(&rates, "rates", "", "comma-separated notification rates (messages/s in total) to publish, lowest first; empty: no fan-out phase")
	fs.DurationVar(&o.step, "step", 10*time.Second, "how long each rate is published (at most 2m)")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "after a step, how long to wait for the last deliveries (at most 30s)")
	fs.IntVar(&o.push, "push", 0, fmt.Sprintf("fan-out of push events (party chat lines, not stored) to this many recipients each, instead of one stored notification per player (1 to %d); rates count deliveries", push.MaxRecipients))
	fs.IntVar(&o.publishers, "publishers", 2, fmt.Sprintf("publishing goroutines, each with its Redis connection and its share of the players (1 to %d)", maxPublishers))
	fs.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return badFlags{err}
	}
	o.gateways = splitList(gws)
	o.ops = splitList(ops)
	var err error
	if o.pids, err = parseInts(pids); err != nil {
		return badf("-pids: %v", err)
	}
	if o.rates, err = parseRates(rates); err != nil {
		return badf("-rates: %v", err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		o.fdLimit = int(min(lim.Cur, 1<<30))
	}
	f, err := os.Open(o.playersFile)
	if err != nil {
		return badf("-players: %v", err)
	}
	players, expires, err := readPlayers(f)
	f.Close()
	if err != nil {
		return err
	}
	if o.conns == 0 {
		o.conns = len(players)
	}
	if err := checkRun(o, len(players)); err != nil {
		return err
	}
	if until := time.Until(expires); until < plannedDuration(o)+5*time.Minute {
		return fmt.Errorf("the players' access tokens expire at %s, too soon for this run: prepare them again", expires.Format(time.RFC3339))
	}
	rep, err := run(ctx, o, players[:o.conns], os.Stderr)
	if o.asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.print(os.Stdout)
	}
	if err != nil {
		return err
	}
	if rep.failed() {
		return errFailed
	}
	return nil
}

// checkRun validates run's flags against the players file's size.
func checkRun(o runOptions, players int) error {
	if o.playersFile == "" {
		return badf("-players: a players file is required (rtload prepare)")
	}
	if err := checkAddrs("-gateways", o.gateways); err != nil {
		return err
	}
	if len(o.pids) != 0 && len(o.pids) != len(o.gateways) {
		return badf("-pids: %d process ids for %d gateways", len(o.pids), len(o.gateways))
	}
	if len(o.ops) != 0 {
		if len(o.ops) != len(o.gateways) {
			return badf("-ops: %d addresses for %d gateways", len(o.ops), len(o.gateways))
		}
		if err := checkAddrs("-ops", o.ops); err != nil {
			return err
		}
	}
	if err := checkLoopbackURL("-redis", o.redisURL, "redis"); err != nil {
		return err
	}
	if len(o.rates) > 0 {
		if err := checkLoopbackURL("-database-url", o.dbURL, "postgres", "postgresql"); err != nil {
			return err
		}
	}
	procs := procsFor(o.conns, o.perProc)
	perGateway := (o.conns + len(o.gateways) - 1) / len(o.gateways)
	switch {
	case o.conns < 1 || o.conns > min(players, maxConns):
		return badf("-conns %d: want 1 to %d (the players file holds %d)", o.conns, min(players, maxConns), players)
	case o.perProc < 1 || (o.fdLimit > 0 && o.perProc > o.fdLimit-fdReserve):
		return badf("-per-proc %d: want 1 to %d (the open-file limit %d less %d)", o.perProc, o.fdLimit-fdReserve, o.fdLimit, fdReserve)
	case procs > maxProcs:
		return badf("%d connections at %d per process need %d client processes, more than %d", o.conns, o.perProc, procs, maxProcs)
	case o.fdLimit > 0 && perGateway > o.fdLimit-fdReserve:
		return badf("%d connections over %d gateways is %d each, above what a process may open here (%d less %d): run more gateways",
			o.conns, len(o.gateways), perGateway, o.fdLimit, fdReserve)
	case o.dialers < 1 || o.dialers > maxDialers:
		return badf("-dialers %d: want 1 to %d", o.dialers, maxDialers)
	case o.connectRate < 0 || (o.connectRate > 0 && time.Duration(float64(o.conns)/o.connectRate*float64(time.Second)) > connectBound(o.conns)):
		return badf("-connect-rate %v: want 0 (no pacing) or a rate that opens %d connections within %s", o.connectRate, o.conns, connectBound(o.conns))
	case o.hold < 0 || o.hold > maxHold:
		return badf("-hold %s: want 0 to %s", o.hold, maxHold)
	case o.step <= 0 || o.step > maxStep:
		return badf("-step %s: want more than 0 and at most %s", o.step, maxStep)
	case o.settle < 0 || o.settle > maxSettle:
		return badf("-settle %s: want 0 to %s", o.settle, maxSettle)
	case o.push < 0 || o.push > push.MaxRecipients:
		return badf("-push %d: want 0 to %d", o.push, push.MaxRecipients)
	case o.publishers < 1 || o.publishers > maxPublishers:
		return badf("-publishers %d: want 1 to %d", o.publishers, maxPublishers)
	case o.redisPrefix == "":
		return badf("-redis-prefix: the gateways' MUSTER_REDIS_PREFIX is required")
	}
	if d := plannedDuration(o); d > maxRun {
		return badf("the phases add up to %s, more than %s: fewer rates, a shorter -step or -hold", d, maxRun)
	}
	return nil
}

// plannedDuration bounds a run: connecting (at least about 200 handshakes
// a second, or it is cut off), the hold, and every step with its settling.
func plannedDuration(o runOptions) time.Duration {
	return connectBound(o.conns) + o.hold + time.Duration(len(o.rates))*(o.step+o.settle+10*time.Second)
}

// connectBound is the longest connecting may take: 2 minutes plus 5
// milliseconds a connection.
func connectBound(conns int) time.Duration {
	return 2*time.Minute + time.Duration(conns)*5*time.Millisecond
}

func procsFor(conns, perProc int) int {
	if perProc < 1 {
		return 0
	}
	return (conns + perProc - 1) / perProc
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a process id", p)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseRates reads increasing rates in messages/s.
func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, p := range splitList(s) {
		r, err := strconv.ParseFloat(p, 64)
		if err != nil || r < 1 || r > maxRate {
			return nil, fmt.Errorf("%q: want 1 to %d messages/s", p, maxRate)
		}
		if len(out) > 0 && r <= out[len(out)-1] {
			return nil, fmt.Errorf("rates must increase: %v after %v", r, out[len(out)-1])
		}
		out = append(out, r)
	}
	if len(out) > maxRates {
		return nil, fmt.Errorf("%d rates, at most %d", len(out), maxRates)
	}
	return out, nil
}

// childProc is one client process.
type childProc struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	pid       int
	from, to  int
	connected atomic.Int64
	failed    atomic.Int64
	ready     chan readyLine
	stats     chan statsLine
	acks      chan string
	exited    chan struct{}
}

func (c *childProc) send(cmd string) error {
	_, err := io.WriteString(c.stdin, cmd+"\n")
	return err
}

// startChild starts client process k for players [from, to).
func startChild(o runOptions, k, from, to int) (*childProc, error) {
	args := []string{clientCommand, "-players", o.playersFile, "-from", strconv.Itoa(from), "-to", strconv.Itoa(to),
		"-gateways", strings.Join(o.gateways, ","), "-dialers", strconv.Itoa(o.dialers)}
	if o.sources {
		args = append(args, "-source", fmt.Sprintf("127.0.0.%d", 10+k))
	}
	if o.connectRate > 0 {
		args = append(args, "-rate", strconv.FormatFloat(o.connectRate*float64(to-from)/float64(o.conns), 'f', -1, 64))
	}
	cmd, stdin, stdout, err := loadgen.StartSelf(args...)
	if err != nil {
		return nil, err
	}
	c := &childProc{cmd: cmd, stdin: stdin, pid: cmd.Process.Pid, from: from, to: to,
		ready: make(chan readyLine, 1), stats: make(chan statsLine, 1), acks: make(chan string, 4), exited: make(chan struct{})}
	go func() {
		s := bufio.NewScanner(stdout)
		s.Buffer(make([]byte, 1<<20), 64<<20)
		for s.Scan() {
			var head struct{ Ev string }
			if json.Unmarshal(s.Bytes(), &head) != nil {
				continue
			}
			switch head.Ev {
			case "progress":
				var p progressLine
				_ = json.Unmarshal(s.Bytes(), &p)
				c.connected.Store(int64(p.Connected))
				c.failed.Store(int64(p.Failed))
			case "ready":
				var r readyLine
				if json.Unmarshal(s.Bytes(), &r) == nil {
					c.connected.Store(int64(r.Connected))
					c.failed.Store(int64(r.Failed))
					c.ready <- r
				}
			case "stats":
				var st statsLine
				if json.Unmarshal(s.Bytes(), &st) == nil {
					c.stats <- st
				}
			default:
				select {
				case c.acks <- head.Ev:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// stop asks the child to close its connections and exit, and kills it if
// it has not within grace.
func (c *childProc) stop(grace time.Duration) {
	_ = c.send("quit")
	c.stdin.Close()
	select {
	case <-c.exited:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// children is every client process of the run.
type children []*childProc

func (cs children) pids() []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = c.pid
	}
	return out
}

// collect sends cmd to every child and gathers their stats lines.
func (cs children) collect(ctx context.Context) (statsLine, []statsLine, error) {
	for _, c := range cs {
		if err := c.send("stats"); err != nil {
			return statsLine{}, nil, fmt.Errorf("client process %d: %w", c.pid, err)
		}
	}
	sum := statsLine{Ev: "stats", CloseReasons: map[string]int{}, Latency: &loadgen.Histogram{}, RTT: &loadgen.Histogram{}}
	var each []statsLine
	for _, c := range cs {
		select {
		case st := <-c.stats:
			each = append(each, st)
			sum.Open += st.Open
			sum.Notes += st.Notes
			sum.Gaps += st.Gaps
			sum.Dups += st.Dups
			sum.Pings += st.Pings
			sum.Pongs += st.Pongs
			sum.Closed += st.Closed
			sum.RSSBytes += st.RSSBytes
			sum.LastNs = max(sum.LastNs, st.LastNs)
			for k, v := range st.CloseReasons {
				sum.CloseReasons[k] += v
			}
			sum.Latency.Merge(st.Latency)
			sum.RTT.Merge(st.RTT)
		case <-c.exited:
			return sum, each, fmt.Errorf("client process %d exited", c.pid)
		case <-ctx.Done():
			return sum, each, errors.New("interrupted")
		case <-time.After(30 * time.Second):
			return sum, each, fmt.Errorf("client process %d did not answer within 30s", c.pid)
		}
	}
	return sum, each, nil
}

func (cs children) reset(ctx context.Context) error {
	for _, c := range cs {
		if err := c.send("reset"); err != nil {
			return err
		}
	}
	for _, c := range cs {
		select {
		case <-c.acks:
		case <-c.exited:
			return fmt.Errorf("client process %d exited", c.pid)
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-time.After(30 * time.Second):
			return fmt.Errorf("client process %d did not answer within 30s", c.pid)
		}
	}
	return nil
}

func (cs children) anyExited() error {
	for _, c := range cs {
		select {
		case <-c.exited:
			return fmt.Errorf("client process %d exited", c.pid)
		default:
		}
	}
	return nil
}

// run is the whole measurement; progress goes to logw. The report holds
// what was measured even when err is not nil.
func run(ctx context.Context, o runOptions, players []player, logw io.Writer) (rep report, err error) {
	say := func(format string, args ...any) { fmt.Fprintf(logw, "rtload: "+format+"\n", args...) }
	rep = report{Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Conns: o.conns, Gateways: len(o.gateways), Heartbeat: "", Hold: o.hold.String()}
	mc := newMetricsClient()
	defer mc.CloseIdleConnections()
	snap := func(name string) memSnapshot {
		s := memSnapshot{Phase: name, At: time.Now().UTC().Format(time.RFC3339)}
		for i := range o.gateways {
			g := gatewayMem{Addr: o.gateways[i]}
			if len(o.pids) > 0 {
				g.PID, g.RSS = o.pids[i], rssOf(o.pids[i])
			}
			if len(o.ops) > 0 {
				g.Go = scrapeGoMem(ctx, mc, o.ops[i])
			}
			s.Gateways = append(s.Gateways, g)
		}
		return s
	}

	rep.Memory = append(rep.Memory, snap("before connecting"))

	// Client processes.
	procs := procsFor(o.conns, o.perProc)
	per := (o.conns + procs - 1) / procs
	var cs children
	defer func() {
		for _, c := range cs {
			c.stop(30 * time.Second)
		}
	}()
	say("connecting %d players to %d gateways from %d client processes", o.conns, len(o.gateways), procs)
	cpu0 := sampleCPU(o.pids, nil, o.redisPID)
	for k := range procs {
		from, to := k*per, min((k+1)*per, o.conns)
		c, err := startChild(o, k, from, to)
		if err != nil {
			return rep, fmt.Errorf("start client process: %w", err)
		}
		cs = append(cs, c)
	}
	readyCh := make(chan readyLine, len(cs))
	for _, c := range cs {
		go func() {
			select {
			case r := <-c.ready:
				readyCh <- r
			case <-c.exited:
				readyCh <- readyLine{Ev: "exited"}
			}
		}()
	}
	deadline := time.After(connectBound(o.conns))
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	var readies []readyLine
	for len(readies) < len(cs) {
		select {
		case <-ctx.Done():
			return rep, errors.New("interrupted")
		case <-deadline:
			return rep, fmt.Errorf("connecting took longer than %s", connectBound(o.conns))
		case <-tick.C:
			var ok, bad int64
			for _, c := range cs {
				ok += c.connected.Load()
				bad += c.failed.Load()
			}
			say("connected %d, failed %d", ok, bad)
		case r := <-readyCh:
			if r.Ev == "exited" {
				return rep, errors.New("a client process exited while connecting")
			}
			readies = append(readies, r)
		}
	}
	cpu1 := sampleCPU(o.pids, cs.pids(), o.redisPID)
	conn := connectResult{Handshake: &loadgen.Histogram{}, Failures: map[string]int{}}
	failed := map[int]bool{}
	for _, r := range readies {
		conn.Connected += r.Connected
		conn.Failed += r.Failed
		for k, v := range r.Failures {
			conn.Failures[k] += v
		}
		for _, i := range r.FailedPlayers {
			failed[i] = true
		}
		conn.Handshake.Merge(r.Handshake)
		rep.Heartbeat = (time.Duration(r.HeartbeatMs) * time.Millisecond).String()
	}
	conn.CPU = cpu1.since(cpu0)
	conn.Seconds = conn.CPU.Wall
	conn.PerSecond = float64(conn.Connected) / conn.Seconds
	rep.Connect = conn
	say("connected %d (%d failed) in %.1fs", conn.Connected, conn.Failed, conn.Seconds)
	rep.Memory = append(rep.Memory, snap("all connected"))

	// Idle hold: every connection pings at the heartbeat.
	if err := cs.reset(ctx); err != nil {
		return rep, err
	}
	if o.hold > 0 {
		say("holding %d idle connections for %s", conn.Connected, o.hold)
		cpuA := sampleCPU(o.pids, cs.pids(), o.redisPID)
		// The gateways' resident memory is read every second: it rises
		// and falls with each GC cycle.
		var rss rssSeries
		end := time.Now().Add(o.hold)
		for time.Now().Before(end) {
			select {
			case <-ctx.Done():
				return rep, errors.New("interrupted")
			case <-time.After(min(time.Second, time.Until(end))):
			}
			if err := cs.anyExited(); err != nil {
				return rep, err
			}
			if len(o.pids) > 0 {
				var sum int64
				for _, p := range o.pids {
					sum += rssOf(p)
				}
				rss.add(sum)
			}
		}
		cpuB := sampleCPU(o.pids, cs.pids(), o.redisPID)
		st, _, err := cs.collect(ctx)
		if err != nil {
			return rep, err
		}
		rep.HoldRes = &holdResult{Open: st.Open, Pings: st.Pings, Pongs: st.Pongs, Closed: st.Closed, CloseReasons: st.CloseReasons,
			RTT: st.RTT, CPU: cpuB.since(cpuA), ClientsRSS: st.RSSBytes, RSSMean: rss.mean(), RSSMax: rss.max}
		rep.Memory = append(rep.Memory, snap(fmt.Sprintf("after %s idle", o.hold)))
	}

	rep.PerConn = costPerConn(rep.Memory[0], rep.Memory[len(rep.Memory)-1], conn.Connected)
	if h := rep.HoldRes; h != nil && rep.PerConn != nil && h.RSSMax > 0 {
		base := float64(rep.Memory[0].rss())
		rep.PerConn.HoldMeanRSSBytes = (h.RSSMean - base) / float64(conn.Connected)
		rep.PerConn.HoldMaxRSSBytes = (float64(h.RSSMax) - base) / float64(conn.Connected)
	}

	// Fan-out.
	if len(o.rates) > 0 {
		targets, err := fanoutTargets(ctx, o.dbURL, players, failed)
		if err != nil {
			return rep, err
		}
		ropts, err := redis.ParseURL(o.redisURL)
		if err != nil {
			return rep, err
		}
		ropts.PoolSize = o.publishers + 2
		rdb := redis.NewClient(ropts)
		defer rdb.Close()
		pub := newPublisher(rdb, o.redisPrefix, targets, o.publishers, o.push)
		for _, rate := range o.rates {
			if o.push > 0 {
				say("publishing %.0f push events/s of %d recipients each (%.0f deliveries/s) to %d players for %s", rate/float64(o.push), o.push, rate, len(targets), o.step)
			} else {
				say("publishing %.0f notifications/s to %d players for %s", rate, len(targets), o.step)
			}
			step, err := fanoutStep(ctx, o, cs, pub, rate)
			rep.Fanout = append(rep.Fanout, step)
			if err != nil {
				return rep, err
			}
			say("delivered %d of %d (%.0f/s), p50 %v p99 %v", step.Delivered, step.Publish.Published, step.DeliveredPerSec,
				step.Latency.Quantile(0.5), step.Latency.Quantile(0.99))
			if !step.KeptUp {
				say("stopping: %s", step.Why)
				break
			}
		}
		rep.Memory = append(rep.Memory, snap("after fan-out"))
	}
	return rep, nil
}

// fanoutTargets are the connected players with the seq each one's next
// notification takes: one after the last stored, as the gateway expects.
func fanoutTargets(ctx context.Context, dbURL string, players []player, failed map[int]bool) ([]*target, error) {
	conn, err := db.Open(ctx, dbURL, db.Pool{MaxOpen: 8, MaxIdle: 8})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	store := notify.NewStore(conn, notify.Config{})
	out := make([]*target, 0, len(players))
	for i, p := range players {
		if !failed[i] {
			out = append(out, &target{account: p.AccountID})
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(out) {
					return
				}
				last, err := store.LastSeq(ctx, out[i].account)
				if err != nil {
					errs <- err
					return
				}
				out[i].next = last + 1
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("last notification seqs: %w", err)
	}
	return out, nil
}

// fanoutStep publishes at rate for o.step, waits up to o.settle for the
// deliveries, and reports them.
func fanoutStep(ctx context.Context, o runOptions, cs children, pub *publisher, rate float64) (fanoutResult, error) {
	res := fanoutResult{Rate: rate}
	if err := cs.reset(ctx); err != nil {
		return res, err
	}
	cpu0 := sampleCPU(o.pids, cs.pids(), o.redisPID)
	start := time.Now()
	res.Publish = pub.run(ctx, rate, o.step)
	published := time.Now()
	var st statsLine
	var err error
	for {
		st, _, err = cs.collect(ctx)
		if err != nil {
			return res, err
		}
		if st.Notes >= res.Publish.Published || time.Since(published) >= o.settle {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.DrainSeconds = time.Since(published).Seconds()
	cpu1 := sampleCPU(o.pids, cs.pids(), o.redisPID)
	res.CPU = cpu1.since(cpu0)
	res.Delivered, res.Gaps, res.Dups, res.Closed, res.CloseReasons = st.Notes, st.Gaps, st.Dups, st.Closed, st.CloseReasons
	res.Lost = max(res.Publish.Published-st.Notes, 0)
	res.Latency = st.Latency
	// Delivered per second from the first publish to the last delivery.
	if st.LastNs > 0 {
		res.LastDeliverySeconds = time.Unix(0, st.LastNs).Sub(start).Seconds()
		res.DeliveredPerSec = float64(st.Notes) / max(res.LastDeliverySeconds, res.Publish.Seconds)
	}
	res.KeptUp, res.Why = keptUp(res, rate)
	return res, nil
}

// keptUp decides whether a step kept its rate: nothing lost or cut off,
// nothing out of order, and at least 95% of the rate delivered. A
// publisher that falls behind its schedule sends the late messages at
// once (each stamped when it is sent, so latency stays the gateways' and
// the clients'); only one a second behind ends the steps, as the load
// generator itself cannot keep the rate.
func keptUp(r fanoutResult, rate float64) (bool, string) {
	switch {
	case r.Publish.Err != "":
		return false, "publishing failed: " + r.Publish.Err
	case r.Publish.MinReceivers == 0:
		return false, "a message reached no gateway: is -redis-prefix the gateways' MUSTER_REDIS_PREFIX?"
	case r.Closed > 0:
		return false, fmt.Sprintf("%d connections closed", r.Closed)
	case r.Lost > 0 || r.Gaps > 0:
		return false, fmt.Sprintf("%d notifications lost, %d gaps: a gateway dropped messages it could not keep up with", r.Lost, r.Gaps)
	case r.Dups > 0:
		return false, fmt.Sprintf("%d notifications delivered twice", r.Dups)
	case r.Publish.MaxBehindMs > 1000:
		return false, fmt.Sprintf("the publisher fell %.0f ms behind its schedule", r.Publish.MaxBehindMs)
	case r.DeliveredPerSec < 0.95*rate:
		return false, fmt.Sprintf("delivered %.0f/s, below 95%% of %.0f/s", r.DeliveredPerSec, rate)
	}
	return true, ""
}
