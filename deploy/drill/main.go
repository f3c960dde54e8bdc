// Command drill is the load side of the zero-downtime drill
// (deploy/drill/drill.sh, `make drill`). Through the proxy in front of two
// muster instances it registers players, then, while the script restarts
// the instances one after the other:
//
//   - sends GET requests of one player, with its access token, at a fixed
//     rate (the HTTP load);
//   - keeps -clients realtime clients connected through the proxy's TCP
//     port (-tcp); when their gateway drains and says Reconnect, each
//     waits the delay it names and connects again through the proxy,
//     resuming its session with its resume token and the last seq it
//     processed;
//   - makes -notes notifications a second for those clients' players (a
//     friend request and its withdrawal, through the proxy's HTTP port).
//
// It then waits until every client has every notification made for it
// and reports every HTTP request that failed, every reconnection that did
// not resume, and every notification lost or received twice; the stored
// count of each player's notifications must match too.
//
// It only loads this machine: -url and -tcp must be loopback addresses,
// and the clients refuse to dial anything else. The GET rate is open loop:
// a request starts every 1/-rate seconds whether or not earlier ones have
// finished (at most -inflight at once; a request that finds no free slot
// counts as failed), so a stalled upstream shows as failures and latency,
// not as a slower rate.
//
// Usage:
//
//	go run ./deploy/drill -url http://127.0.0.1:18180 [-tcp 127.0.0.1:18200]
//	    [-rate 100] [-d 20s] [-clients 20] [-notes 20] [-json]
//
// An HTTP request fails when it gets a transport error or a status other
// than the route's. The exit status is 2 for bad flags or a failed set-up
// (registration, first connections) and 1 when anything failed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

const (
	maxDuration    = 2 * time.Minute
	maxRate        = 1000
	maxClients     = 500
	maxNotes       = 200
	requestTimeout = 10 * time.Second
	// settle bounds the wait, after the load, for the last notifications
	// to reach the clients.
	settle = 30 * time.Second
)

// options are the command line's.
type options struct {
	base     string
	tcp      string
	rate     int
	dur      time.Duration
	inflight int
	clients  int
	notes    int
	ready    string
}

func main() {
	var o options
	flag.StringVar(&o.base, "url", "", "base URL of the proxy's HTTP port; its host must be a loopback address")
	flag.StringVar(&o.tcp, "tcp", "", "host:port of the proxy's realtime TCP port (loopback); empty: no realtime clients")
	flag.IntVar(&o.rate, "rate", 100, "GET requests started per second (1 to 1000)")
	flag.DurationVar(&o.dur, "d", 20*time.Second, "how long to send requests and notifications (at most 2m)")
	flag.IntVar(&o.inflight, "inflight", 256, "most GET requests in flight at once")
	flag.IntVar(&o.clients, "clients", 20, "realtime clients with -tcp (1 to 500)")
	flag.IntVar(&o.notes, "notes", 20, "notifications made per second for the clients' players with -tcp (0 to 200)")
	flag.StringVar(&o.ready, "ready", "", "a file to create once the players are registered, the clients connected and the load started")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	flag.Parse()

	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "drill:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "drill:", err)
		os.Exit(2)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r)
	} else {
		r.print(os.Stdout)
	}
	if r.Failed > 0 || (r.Realtime != nil && !r.Realtime.ok()) {
		os.Exit(1)
	}
}

// check validates the flags; the URL must be plain http on loopback.
func (o options) check() error {
	u, err := url.Parse(o.base)
	switch {
	case o.base == "":
		return errors.New("-url is required, e.g. -url http://127.0.0.1:18180")
	case err != nil:
		return fmt.Errorf("-url: %w", err)
	case u.Scheme != "http" || !loadgen.LoopbackHost(u.Hostname()):
		return fmt.Errorf("-url %s: want http:// on a loopback address (127.0.0.0/8, ::1, localhost)", o.base)
	case u.Path != "" && u.Path != "/":
		return fmt.Errorf("-url %s: want the proxy's base URL, without a path", o.base)
	case o.tcp != "" && !loadgen.LoopbackAddr(o.tcp):
		return fmt.Errorf("-tcp %s: want host:port on a loopback address", o.tcp)
	case o.rate < 1 || o.rate > maxRate:
		return fmt.Errorf("-rate %d: want 1 to %d", o.rate, maxRate)
	case o.dur <= 0 || o.dur > maxDuration:
		return fmt.Errorf("-d %s: want more than 0 and at most %s", o.dur, maxDuration)
	case o.inflight < 1 || o.inflight > 4096:
		return fmt.Errorf("-inflight %d: want 1 to 4096", o.inflight)
	case o.clients < 1 || o.clients > maxClients:
		return fmt.Errorf("-clients %d: want 1 to %d", o.clients, maxClients)
	case o.notes < 0 || o.notes > maxNotes:
		return fmt.Errorf("-notes %d: want 0 to %d", o.notes, maxNotes)
	}
	return nil
}

// run registers the players, connects the clients, runs the load and the
// notifications for o.dur, waits for the last notifications and answers
// the result. An error is a set-up that failed.
func run(ctx context.Context, o options) (result, error) {
	client := loadgen.NewClient(64, requestTimeout, nil)
	// The GET load's player, the senders, the clients' players.
	n := 1 + senders(o)
	if o.tcp != "" {
		n += o.clients
	}
	players, err := registerMany(ctx, client, o.base, n)
	if err != nil {
		return result{}, fmt.Errorf("register players: %w", err)
	}
	t := newTally(client, o.base)

	var clients []*socketClient
	var socketsDone sync.WaitGroup
	socketCtx, stopSockets := context.WithCancel(ctx)
	defer func() { stopSockets(); socketsDone.Wait() }()
	if o.tcp != "" {
		if clients, err = connect(socketCtx, &socketsDone, o.tcp, players[1+senders(o):]); err != nil {
			return result{}, err
		}
	}

	if o.ready != "" {
		if err := os.WriteFile(o.ready, []byte("ready\n"), 0o644); err != nil {
			return result{}, err
		}
	}
	var elapsed time.Duration
	var sent int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		elapsed, sent = t.load(ctx, players[0].Token, o.rate, o.dur, o.inflight)
	}()
	if o.tcp != "" {
		notify(ctx, t, players[1:1+senders(o)], clients, o.notes, o.dur)
	}
	wg.Wait()

	r := result{Rate: o.rate, Duration: elapsed.Seconds(), Sent: sent}
	if o.tcp != "" {
		// The last notifications are on their way: wait for them, bounded.
		start := time.Now()
		for deadline := start.Add(settle); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
			if allCaughtUp(clients) {
				break
			}
		}
		waited := time.Since(start)
		stopSockets()
		socketsDone.Wait()
		r.Realtime = summarize(t, clients, waited)
	}
	r.tallied(t)
	return r, nil
}

// senders is how many players make the notifications: a sender has at
// most one request waiting per client's player, and a player may have 100
// requests waiting (domain/friend), so each sender serves at most 50
// clients.
func senders(o options) int {
	if o.tcp == "" {
		return 0
	}
	return (o.clients + clientsPerSender - 1) / clientsPerSender
}

const clientsPerSender = 50

func allCaughtUp(clients []*socketClient) bool {
	for _, c := range clients {
		if !c.caughtUp() {
			return false
		}
	}
	return true
}

// result is what the drill prints.
type result struct {
	Rate       int              `json:"rate_per_second"`
	Duration   float64          `json:"duration_seconds"`
	Sent       int64            `json:"get_load_sent"` // GET requests of the load (Requests counts every request)
	Requests   int64            `json:"requests"`
	Failed     int64            `json:"failed"`
	ByMethod   map[string]int64 `json:"by_method"`
	ByStatus   map[string]int64 `json:"by_status"`
	ByUpstream map[string]int64 `json:"by_upstream"`
	// Retried counts requests the proxy sent to a second instance after the
	// first refused or dropped them (X-Upstream names two addresses).
	Retried  int64           `json:"retried_by_proxy"`
	P50ms    float64         `json:"p50_ms"`
	P99ms    float64         `json:"p99_ms"`
	MaxMs    float64         `json:"max_ms"`
	Failures []string        `json:"first_failures,omitempty"`
	Realtime *realtimeResult `json:"realtime,omitempty"`
}

// tallied fills in the HTTP figures; call it last, once no request runs.
func (r *result) tallied(t *tally) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r.Requests, r.Failed = t.requests.Load(), t.failed.Load()
	r.ByMethod, r.ByStatus, r.ByUpstream, r.Retried = t.byMethod, t.byStatus, t.byUpstream, t.retried
	r.P50ms, r.P99ms, r.MaxMs = loadgen.MS(t.hist.Quantile(0.5)), loadgen.MS(t.hist.Quantile(0.99)), loadgen.MS(t.hist.Max)
	r.Failures = t.failures
}

// realtimeResult is what happened to the realtime clients.
type realtimeResult struct {
	Clients int `json:"clients"`
	// Reconnected counts clients told to reconnect at least once: every
	// client should be, since the drill restarts both instances.
	Reconnected   int `json:"clients_reconnected"`
	Reconnections int `json:"reconnections"`
	Resumed       int `json:"resumed"`
	NotResumed    int `json:"not_resumed"`
	// Dropped counts connections that ended without a Reconnect.
	Dropped     int `json:"dropped_without_reconnect"`
	DialRetries int `json:"dial_retries"`
	// Notifications made (friend requests answered 200), processed by the
	// clients, and stored for their players (their unread count).
	Made       int64    `json:"notifications_made"`
	Received   int64    `json:"notifications_received"`
	Stored     int64    `json:"notifications_stored"`
	Duplicates int64    `json:"duplicates"`
	Lost       int64    `json:"lost"`
	WrongKind  int64    `json:"wrong_kind"`
	Behind     int      `json:"clients_short_of_their_count"`
	WaitedMs   float64  `json:"waited_for_last_ms"`
	Failures   []string `json:"first_failures,omitempty"`
}

func (r *realtimeResult) ok() bool {
	return r.Reconnected == r.Clients && r.NotResumed == 0 && r.Dropped == 0 && r.Duplicates == 0 && r.Lost == 0 &&
		r.WrongKind == 0 && r.Behind == 0 && r.Made == r.Received && r.Stored == r.Made && len(r.Failures) == 0
}

// summarize adds up the clients, once they have stopped, and reads each
// player's stored count through the proxy.
func summarize(t *tally, clients []*socketClient, waited time.Duration) *realtimeResult {
	r := &realtimeResult{Clients: len(clients), WaitedMs: loadgen.MS(waited)}
	for _, c := range clients {
		c.mu.Lock()
		made := c.expected.Load()
		r.Made += made
		r.Received += c.received
		r.Duplicates += c.duplicates
		r.Lost += c.missing
		r.WrongKind += c.wrongKind
		r.Reconnections += c.connections - 1
		r.Resumed += c.resumed
		r.NotResumed += c.notResumed
		r.Dropped += c.dropped
		r.DialRetries += c.dialRetries
		if c.told > 0 {
			r.Reconnected++
		}
		if c.received != made {
			r.Behind++
		}
		fails := c.failures
		c.mu.Unlock()
		for _, f := range fails {
			if len(r.Failures) < 20 {
				r.Failures = append(r.Failures, c.p.ID+" "+f)
			}
		}
		n, ok := stored(t, c)
		r.Stored += n
		if ok && n != made && len(r.Failures) < 20 {
			r.Failures = append(r.Failures, fmt.Sprintf("%s: %d notifications stored, %d made", c.p.ID, n, made))
		}
	}
	return r
}

func (r result) print(out io.Writer) {
	fmt.Fprintf(out, "rate         %d/s asked, %.0f/s GET sent, for %.1fs\n", r.Rate, float64(r.Sent)/r.Duration, r.Duration)
	fmt.Fprintf(out, "requests     %d\n", r.Requests)
	fmt.Fprintf(out, "failed       %d\n", r.Failed)
	fmt.Fprintf(out, "by method    %s\n", counts(r.ByMethod))
	fmt.Fprintf(out, "by status    %s\n", counts(r.ByStatus))
	fmt.Fprintf(out, "answered by  %s\n", counts(r.ByUpstream))
	fmt.Fprintf(out, "retried      %d (the proxy's next upstream after a refused or cut connection)\n", r.Retried)
	fmt.Fprintf(out, "latency      p50 %.2fms, p99 %.2fms, max %.2fms\n", r.P50ms, r.P99ms, r.MaxMs)
	for _, f := range r.Failures {
		fmt.Fprintf(out, "failure      %s\n", f)
	}
	if rt := r.Realtime; rt != nil {
		fmt.Fprintf(out, "tcp clients  %d, %d told to reconnect; %d reconnections, %d resumed, %d not resumed, %d dropped without Reconnect, %d dial retries\n",
			rt.Clients, rt.Reconnected, rt.Reconnections, rt.Resumed, rt.NotResumed, rt.Dropped, rt.DialRetries)
		fmt.Fprintf(out, "notes        %d made, %d received, %d stored; %d duplicated, %d lost, %d clients short; last arrived %.0fms after the load\n",
			rt.Made, rt.Received, rt.Stored, rt.Duplicates, rt.Lost, rt.Behind, rt.WaitedMs)
		for _, f := range rt.Failures {
			fmt.Fprintf(out, "tcp failure  %s\n", f)
		}
		verdict := "ok"
		if !rt.ok() {
			verdict = "FAILED"
		}
		fmt.Fprintf(out, "realtime     %s\n", verdict)
	}
}

func counts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
