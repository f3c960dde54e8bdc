//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func okRun() runOptions {
	return runOptions{playersFile: "p", conns: 100000, gateways: []string{"127.0.0.1:7401", "127.0.0.1:7402", "127.0.0.1:7403",
		"127.0.0.1:7404", "127.0.0.1:7405", "127.0.0.1:7406"}, pids: []int{11, 12, 13, 14, 15, 16}, perProc: 16000, dialers: 32,
		hold: time.Minute, redisURL: "redis://127.0.0.1:6379/0", redisPrefix: "muster:", step: 10 * time.Second,
		settle: 5 * time.Second, publishers: 2, fdLimit: 20000,
		dbURL: "postgres://postgres@127.0.0.1:5432/x?sslmode=disable", rates: []float64{20000, 200000}}
}

func TestCheckRun(t *testing.T) {
	if err := checkRun(okRun(), 100000); err != nil {
		t.Fatalf("a good run refused: %v", err)
	}
	bad := map[string]func(*runOptions){
		"no players file":       func(o *runOptions) { o.playersFile = "" },
		"remote gateway":        func(o *runOptions) { o.gateways[2] = "10.0.0.7:7350" },
		"named gateway":         func(o *runOptions) { o.gateways[0] = "example.com:7350" },
		"gateway without port":  func(o *runOptions) { o.gateways[0] = "127.0.0.1" },
		"pids do not match":     func(o *runOptions) { o.pids = o.pids[:2] },
		"ops do not match":      func(o *runOptions) { o.ops = []string{"127.0.0.1:9090"} },
		"remote ops":            func(o *runOptions) { o.gateways, o.pids, o.ops = o.gateways[:1], nil, []string{"192.0.2.1:9090"} },
		"remote redis":          func(o *runOptions) { o.redisURL = "redis://192.168.1.2:6379/0" },
		"remote database":       func(o *runOptions) { o.dbURL = "postgres://postgres@db.example.com/x" },
		"no database for rates": func(o *runOptions) { o.dbURL = "" },
		"more than the file":    func(o *runOptions) { o.conns = 100001 },
		"too many":              func(o *runOptions) { o.conns = maxConns + 1 },
		"per-proc above fds":    func(o *runOptions) { o.perProc = 19950 },
		"too many processes":    func(o *runOptions) { o.perProc = 1000 },
		"too few gateways":      func(o *runOptions) { o.gateways, o.pids = o.gateways[:4], o.pids[:4] },
		"no dialers":            func(o *runOptions) { o.dialers = 0 },
		"negative rate":         func(o *runOptions) { o.connectRate = -1 },
		"rate too slow":         func(o *runOptions) { o.connectRate = 50 },
		"long hold":             func(o *runOptions) { o.hold = 11 * time.Minute },
		"long step":             func(o *runOptions) { o.step = 3 * time.Minute },
		"no step":               func(o *runOptions) { o.step = 0 },
		"long settle":           func(o *runOptions) { o.settle = time.Minute },
		"no publishers":         func(o *runOptions) { o.publishers = 0 },
		"no prefix":             func(o *runOptions) { o.redisPrefix = "" },
		"too long in all": func(o *runOptions) {
			o.rates = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
			o.step, o.hold = 2*time.Minute, 10*time.Minute
		},
	}
	for name, change := range bad {
		t.Run(name, func(t *testing.T) {
			o := okRun()
			o.gateways = append([]string(nil), o.gateways...)
			change(&o)
			var b badFlags
			if err := checkRun(o, 100000); !errors.As(err, &b) {
				t.Fatalf("checkRun = %v, want a flag error", err)
			}
		})
	}
	// Without rates the database is not needed.
	o := okRun()
	o.rates, o.dbURL = nil, ""
	if err := checkRun(o, 100000); err != nil {
		t.Fatalf("a run without rates needs no database: %v", err)
	}
}

func TestCheckPrepare(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	ok := prepareOptions{dbURL: "postgres://postgres@127.0.0.1:5432/x", players: 1000, out: "f", accessTTL: time.Hour, workers: 16}
	if _, err := checkPrepare(ok, key); err != nil {
		t.Fatalf("good options refused: %v", err)
	}
	bad := map[string]func(*prepareOptions, *string){
		"remote database": func(o *prepareOptions, _ *string) { o.dbURL = "postgres://10.1.1.1/x" },
		"not postgres":    func(o *prepareOptions, _ *string) { o.dbURL = "mysql://127.0.0.1/x" },
		"no key":          func(_ *prepareOptions, k *string) { *k = "" },
		"short key":       func(_ *prepareOptions, k *string) { *k = base64.StdEncoding.EncodeToString([]byte("short")) },
		"no players":      func(o *prepareOptions, _ *string) { o.players = 0 },
		"too many":        func(o *prepareOptions, _ *string) { o.players = maxPlayers + 1 },
		"no out":          func(o *prepareOptions, _ *string) { o.out = "" },
		"short ttl":       func(o *prepareOptions, _ *string) { o.accessTTL = time.Second },
		"workers":         func(o *prepareOptions, _ *string) { o.workers = 100 },
	}
	for name, change := range bad {
		o, k := ok, key
		change(&o, &k)
		var b badFlags
		if _, err := checkPrepare(o, k); !errors.As(err, &b) {
			t.Errorf("%s: checkPrepare = %v, want a flag error", name, err)
		}
	}
}

func TestParseRates(t *testing.T) {
	got, err := parseRates("20000, 50000,200000")
	if err != nil || len(got) != 3 || got[0] != 20000 || got[2] != 200000 {
		t.Fatalf("parseRates = %v, %v", got, err)
	}
	if got, err := parseRates(""); err != nil || got != nil {
		t.Fatalf("no rates: %v, %v", got, err)
	}
	for _, bad := range []string{"0", "-5", "x", "2000000", "50000,20000", "100,100", "1,2,3,4,5,6,7,8,9,10,11"} {
		if _, err := parseRates(bad); err == nil {
			t.Errorf("parseRates(%q) accepted", bad)
		}
	}
	if _, err := parseInts("12,x"); err == nil {
		t.Error("parseInts accepted x")
	}
}

func TestPlayersFile(t *testing.T) {
	ps := []player{{1, "p_a", "tok.a.b"}, {42, "p_b", "tok.c.d"}}
	exp := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := writePlayers(&buf, ps, exp); err != nil {
		t.Fatal(err)
	}
	back, gotExp, err := readPlayers(bytes.NewReader(buf.Bytes()))
	if err != nil || len(back) != 2 || back[1] != ps[1] || !gotExp.Equal(exp) {
		t.Fatalf("round trip: %v %v %v", back, gotExp, err)
	}
	good := buf.String()
	for name, text := range map[string]string{
		"empty":         "",
		"no header":     "1 p_a tok\n",
		"short count":   strings.Replace(good, " 2 ", " 3 ", 1),
		"bad id":        strings.Replace(good, "\n42 ", "\nx ", 1),
		"missing token": strings.Replace(good, " tok.c.d", "", 1),
		"bad expiry":    strings.Replace(good, "2026-11-24T12:00:00Z", "soon", 1),
	} {
		if _, _, err := readPlayers(strings.NewReader(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSentNanos(t *testing.T) {
	at := time.Unix(1795520000, 123456789)
	got, ok := sentNanos(stampPayload(at))
	if !ok || got != at.UnixNano() {
		t.Fatalf("sentNanos(stampPayload) = %d %v, want %d", got, ok, at.UnixNano())
	}
	// As PostgreSQL's jsonb would print it, with other keys around.
	if got, ok := sentNanos([]byte(`{"a": 1, "sent_ns":1795520000123456789, "b": "x"}`)); !ok || got != 1795520000123456789 {
		t.Fatalf("spaced payload: %d %v", got, ok)
	}
	for _, bad := range []string{`{}`, `{"sent_ns":}`, `{"sent_ns":"12"}`, `{"sent_ns":0}`, ``} {
		if _, ok := sentNanos([]byte(bad)); ok {
			t.Errorf("sentNanos(%s) ok", bad)
		}
	}
}

func TestProcParsing(t *testing.T) {
	status := "Name:\tmuster\nVmPeak:\t  900000 kB\nVmRSS:\t  174668 kB\nRssAnon:\t  148676 kB\n"
	if got := parseRSS([]byte(status)); got != 174668*1024 {
		t.Errorf("parseRSS = %d", got)
	}
	if got := parseRSS([]byte("Name:\tx\n")); got != 0 {
		t.Errorf("parseRSS without VmRSS = %d", got)
	}
	m := parseGoMem(strings.NewReader("# HELP go_goroutines x\n# TYPE go_goroutines gauge\ngo_goroutines 10027\n" +
		"go_memstats_heap_inuse_bytes 6.1202432e+07\ngo_memstats_stack_inuse_bytes 8.2837504e+07\ngo_memstats_heap_inuse_bytes_total 1\n"))
	if m.Goroutines != 10027 || m.HeapInuse != 61202432 || m.StackInuse != 82837504 {
		t.Errorf("parseGoMem = %+v", m)
	}
}

func TestCostPerConn(t *testing.T) {
	before := memSnapshot{Gateways: []gatewayMem{{RSS: 30 << 20, Go: goMem{HeapInuse: 3 << 20, StackInuse: 1 << 20, Goroutines: 25}},
		{RSS: 30 << 20, Go: goMem{HeapInuse: 3 << 20, StackInuse: 1 << 20, Goroutines: 25}}}}
	after := memSnapshot{Phase: "after", Gateways: []gatewayMem{{RSS: 30<<20 + 10000*8192, Go: goMem{HeapInuse: 3<<20 + 10000*3000, StackInuse: 1<<20 + 10000*4096, Goroutines: 10025}},
		{RSS: 30<<20 + 10000*8192, Go: goMem{HeapInuse: 3<<20 + 10000*3000, StackInuse: 1<<20 + 10000*4096, Goroutines: 10025}}}}
	p := costPerConn(before, after, 20000)
	if p.RSSBytes != 8192 || p.ConnsPerGiB != 131072 || p.HeapStack != 7096 || p.Goroutines != 1 {
		t.Errorf("costPerConn = %+v", p)
	}
	if p.OneProcessRSS != 30<<20+20000*8192 {
		t.Errorf("one process: %.0f", p.OneProcessRSS)
	}
	if costPerConn(memSnapshot{}, after, 20000) != nil || costPerConn(before, after, 0) != nil {
		t.Error("costPerConn without a baseline or connections should be nil")
	}
	var r rssSeries
	if r.mean() != 0 {
		t.Error("an empty series has a mean")
	}
	for _, v := range []int64{300, 100, 200} {
		r.add(v)
	}
	if r.mean() != 200 || r.max != 300 {
		t.Errorf("series of 300, 100, 200: mean %v, max %d", r.mean(), r.max)
	}
}

func TestKeptUp(t *testing.T) {
	ok := fanoutResult{Publish: publishResult{Published: 1000, MinReceivers: 2, MaxBehindMs: 3}, Delivered: 1000, DeliveredPerSec: 990}
	if kept, why := keptUp(ok, 1000); !kept {
		t.Fatalf("a clean step not kept: %s", why)
	}
	for name, change := range map[string]func(*fanoutResult){
		"publish error": func(r *fanoutResult) { r.Publish.Err = "boom" },
		"no gateway":    func(r *fanoutResult) { r.Publish.MinReceivers = 0 },
		"closed":        func(r *fanoutResult) { r.Closed = 1 },
		"lost":          func(r *fanoutResult) { r.Lost = 1 },
		"gap":           func(r *fanoutResult) { r.Gaps = 1 },
		"dup":           func(r *fanoutResult) { r.Dups = 1 },
		"publisher":     func(r *fanoutResult) { r.Publish.MaxBehindMs = 1500 },
		"slow":          func(r *fanoutResult) { r.DeliveredPerSec = 900 },
	} {
		r := ok
		change(&r)
		if kept, _ := keptUp(r, 1000); kept {
			t.Errorf("%s: kept up", name)
		}
	}
}

// TestEndToEnd runs the whole path in one process: players prepared in the
// test database, a gateway following Redis, the client connecting them,
// and the publisher's messages delivered once each, in order, with their
// latency recorded. It proves the publisher's channels and messages are
// the ones the gateway reads.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn := testenv.DB(t)
	rc, prefix := testenv.Redis(t)
	rs := state.NewRedis(rc, prefix)
	secret := bytes.Repeat([]byte{9}, 32)

	const n = 6
	players, err := createPlayers(ctx, conn, prepareOptions{secret: secret, players: n, accessTTL: time.Hour, workers: 3}, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	// Player 2 has stored notifications: its live ones must follow them.
	store := notify.NewStore(conn, notify.Config{})
	if _, err := store.Add(ctx, conn, []notify.New{{AccountID: players[2].AccountID, Kind: "test.old"}, {AccountID: players[2].AccountID, Kind: "test.old"}}); err != nil {
		t.Fatal(err)
	}

	scfg := session.Config{SecretKey: secret}
	keys := session.NewKeys(conn, scfg)
	if err := keys.Load(ctx); err != nil {
		t.Fatal(err)
	}
	gw := realtime.New(realtime.Config{Heartbeat: 200 * time.Millisecond},
		realtime.Deps{Verify: session.NewTokens(keys, nil, scfg), Notes: realtime.StoredNotes{Store: store}, Resumes: rs})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { _ = gw.Serve(ln) }()
	followed := make(chan error, 1)
	go func() { followed <- gw.Follow(ctx, rs) }()

	c := newClient(clientOptions{from: 0, to: n, gateways: []string{ln.Addr().String()}, dialers: 2, rate: 50}, players)
	c.connectAll(ctx, func(int, int) {})
	if c.took < 100*time.Millisecond {
		t.Errorf("%d connections at 50 a second took %v", n, c.took)
	}
	defer c.closeAll()
	if r := c.readyLine(); r.Connected != n || r.Failed != 0 || r.HeartbeatMs != 200 {
		t.Fatalf("connected %d, failed %d %v, heartbeat %d ms", r.Connected, r.Failed, r.Failures, r.HeartbeatMs)
	}
	go c.heartbeats(ctx)

	targets, err := fanoutTargets(ctx, testenv.DBURL(t), players, map[int]bool{})
	if err != nil {
		t.Fatal(err)
	}
	if targets[2].next != 3 || targets[0].next != 1 {
		t.Fatalf("next seqs %d and %d, want 3 (after two stored) and 1", targets[2].next, targets[0].next)
	}
	pub := newPublisher(rc, prefix, targets, 2, 0)
	res := pub.run(ctx, 300, 500*time.Millisecond)
	if res.Err != "" || res.Published != 150 || res.MinReceivers != 1 {
		t.Fatalf("published %+v, want 150 messages each reaching the gateway", res)
	}
	deadline := time.Now().Add(5 * time.Second)
	var st statsLine
	for {
		st = c.stats.report(c)
		if st.Notes >= res.Published || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Notes != res.Published || st.Gaps != 0 || st.Dups != 0 || st.Closed != 0 {
		t.Fatalf("clients saw %d notifications of %d, %d gaps, %d duplicates, %d closed %v",
			st.Notes, res.Published, st.Gaps, st.Dups, st.Closed, st.CloseReasons)
	}
	if st.Latency.Count != res.Published || st.Latency.Max <= 0 || st.Latency.Max > 5*time.Second {
		t.Fatalf("latency: %d values, max %v", st.Latency.Count, st.Latency.Max)
	}
	for _, rc := range c.conns {
		want := uint64(25)
		if rc.idx == 2 {
			want = 27
		}
		if got := rc.last.Load(); got != want {
			t.Errorf("player %d: last seq %d, want %d", rc.idx, got, want)
		}
	}
	// Push events of three recipients each: 300 deliveries a second are
	// 100 events.
	c.stats.reset()
	pushes := newPublisher(rc, prefix, targets, 1, 3)
	res = pushes.run(ctx, 300, 500*time.Millisecond)
	if res.Err != "" || res.Published != 150 || res.MinReceivers != 1 {
		t.Fatalf("pushed %+v, want 150 deliveries in events reaching the gateway", res)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st = c.stats.report(c)
		if st.Notes >= res.Published || time.Now().After(deadline) {
			break
		}
	}
	if st.Notes != res.Published || st.Latency.Count != res.Published || st.Closed != 0 {
		t.Fatalf("clients saw %d pushes of %d (%d latencies), %d closed %v", st.Notes, res.Published, st.Latency.Count, st.Closed, st.CloseReasons)
	}
	if r := newPublisher(rc, prefix, targets, 2, 4).run(ctx, 100, 10*time.Millisecond); r.Err == "" {
		t.Error("events of 4 recipients from publishers of 3 players each: no error")
	}

	// Heartbeats at 200 ms, each answered.
	time.Sleep(500 * time.Millisecond)
	if st := c.stats.report(c); st.Pings < n || st.Pongs < n || st.RTT.Count == 0 {
		t.Errorf("%d pings, %d pongs, %d round trips after 1s at a 200ms heartbeat", st.Pings, st.Pongs, st.RTT.Count)
	}
	c.stats.reset()
	if st := c.stats.report(c); st.Notes != 0 || st.Latency.Count != 0 || st.Open != n {
		t.Errorf("after reset: %d notifications, %d latencies, %d open", st.Notes, st.Latency.Count, st.Open)
	}
	cancel()
	if err := <-followed; err != nil {
		t.Fatal(err)
	}
}
