package bots

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// fleet is the bots' simulated dedicated servers: processes registered
// with the bots' game server credential, per region, that heartbeat, learn
// their matches, wait for their roster to connect, report who joined, play
// the match out and report its results and its end, as
// docs/matchmaking.md describes a game server.
type fleet struct {
	r       *runner
	servers []*simServer
	byAddrs map[string]*simServer
	ending  chan struct{} // closed when the run's time is up: matches end now
	late    atomic.Int64  // players who reached a match after it ended
	wg      sync.WaitGroup
}

type simServer struct {
	f      *fleet
	region string
	addr   string
	api    *serverAPI
	id     int64
	every  time.Duration // how often to heartbeat
	within time.Duration // how long a heartbeat may take: what is left of the platform's timeout after an interval
	rng    *rand.Rand
	rngMu  sync.Mutex
	stop   chan struct{}
	mu     sync.Mutex
	hosted map[string]*simMatch
}

// simMatch is one match on a server.
type simMatch struct {
	id        string
	ready     chan struct{} // closed once the roster is read
	err       error         // why the roster could not be read
	roster    map[string]int
	mu        sync.Mutex
	players   map[string]chan matchResult // connected players, told the outcome
	allIn     chan struct{}
	over      bool
	startedAt time.Time
}

type matchResult struct{ accepted bool }

// newFleet registers the servers: per region, PerRegion processes at
// addresses in 198.51.100.0/24 (documentation addresses, never dialled:
// players reach a server in-process) on ports unique to the run.
func newFleet(ctx context.Context, r *runner) (*fleet, error) {
	f := &fleet{r: r, byAddrs: map[string]*simServer{}, ending: make(chan struct{})}
	sv := r.sc.Servers
	base := 10000 + int(r.seed%40000)
	n := 0
	for _, region := range sv.Regions {
		for range sv.PerRegion {
			addr := net.JoinHostPort(fmt.Sprintf("198.51.100.%d", 1+n%250), strconv.Itoa(base+n))
			s := &simServer{f: f, region: region, addr: addr, api: r.serverAPI(), hosted: map[string]*simMatch{},
				stop: make(chan struct{}), rng: rand.New(rand.NewPCG(r.seed, uint64(n)))}
			if err := s.register(ctx); err != nil {
				f.close(ctx)
				return nil, fmt.Errorf("register game server %s in %s: %w", addr, region, err)
			}
			f.servers = append(f.servers, s)
			f.byAddrs[addr] = s
			f.wg.Add(1)
			go s.beat()
			n++
		}
	}
	return f, nil
}

func (f *fleet) byAddr(addr string) *simServer { return f.byAddrs[addr] }

// end makes every running match end now (the run's time is up).
func (f *fleet) end() { close(f.ending) }

// close stops the heartbeats, ends what is still hosted and deregisters
// every process.
func (f *fleet) close(ctx context.Context) {
	for _, s := range f.servers {
		close(s.stop)
	}
	f.wg.Wait()
	for _, s := range f.servers {
		_ = f.r.timedServer("deregisterInstance", func() error { return s.api.deregister(ctx, s.id) })
	}
}

func (s *simServer) register(ctx context.Context) error {
	return s.f.r.timedServer("registerInstance", func() error {
		in, err := s.api.register(ctx, s.f.r.sc.Servers.Fleet, s.region, s.addr, s.f.r.sc.Servers.Capacity, s.f.r.runID)
		if err == nil {
			s.id = in.ID
			s.every = time.Duration(in.HeartbeatEverySeconds * float64(time.Second))
			s.within = time.Duration(in.HeartbeatTimeoutSeconds*float64(time.Second)) - s.every
		}
		return err
	})
}

// beat heartbeats at the interval the platform asked for and picks up the
// matches allocated to the server.
func (s *simServer) beat() {
	defer s.f.wg.Done()
	every := s.every
	if every <= 0 || every > 5*time.Second {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(s.within, every))
		var matches []string
		err := s.f.r.timedServer("heartbeatInstance", func() error {
			var err error
			matches, err = s.api.heartbeat(ctx, s.id)
			return err
		}, "instance_gone")
		if apiCode(err) == "instance_gone" {
			// Swept as silent (its heartbeats were late): a game server
			// registers again, as docs/matchmaking.md says. The late
			// heartbeats were counted; this is their consequence.
			_ = s.register(ctx)
		}
		cancel()
		if err != nil {
			continue
		}
		for _, id := range matches {
			s.match(id)
		}
	}
}

// match is the server's match id, hosting it from the first time the
// server hears of it (a heartbeat, or a player who connects first).
func (s *simServer) match(id string) *simMatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.hosted[id]; m != nil {
		return m
	}
	m := &simMatch{id: id, ready: make(chan struct{}), players: map[string]chan matchResult{}, allIn: make(chan struct{})}
	s.hosted[id] = m
	s.f.wg.Add(1)
	go s.host(m)
	return m
}

// connect is a player arriving at the server for a match: it answers the
// channel on which the player learns that the match is over.
func (s *simServer) connect(ctx context.Context, matchID, playerID string) (<-chan matchResult, error) {
	m := s.match(matchID)
	select {
	case <-m.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if m.err != nil {
		return nil, m.err
	}
	if _, ok := m.roster[playerID]; !ok {
		return nil, flowErr("not_in_roster", "player %s is not on the roster of match %s", playerID, matchID)
	}
	ch := make(chan matchResult, 1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.over {
		s.f.late.Add(1)
		ch <- matchResult{}
		return ch, nil
	}
	m.players[playerID] = ch
	if !m.startedAt.IsZero() {
		// Late: the match runs already; report the player joining. It
		// may end meanwhile (allocation_over): the player is told so.
		go func() {
			_ = s.f.r.timedServer("reportAllocationPlayers", func() error {
				return s.api.players(context.Background(), matchID, []string{playerID})
			}, "allocation_over")
		}()
	} else if len(m.players) == len(m.roster) {
		close(m.allIn)
	}
	return ch, nil
}

// host runs one match: read the roster, wait for the players (at most the
// scenario's connect time), report who joined, play, report the results
// of those who played and end the match.
func (s *simServer) host(m *simMatch) {
	defer s.f.wg.Done()
	r := s.f.r
	ctx := context.Background()
	m.err = r.timedServer("getAllocation", func() error {
		var err error
		m.roster, err = s.api.allocation(ctx, m.id)
		return err
	})
	close(m.ready)
	if m.err != nil {
		s.forget(m)
		return
	}
	select {
	case <-m.allIn:
	case <-time.After(r.sc.Match.Connect.D()):
	case <-s.f.ending:
	}
	m.mu.Lock()
	joined := make([]string, 0, len(m.players))
	for id := range m.players {
		joined = append(joined, id)
	}
	m.startedAt = time.Now()
	m.mu.Unlock()
	if len(joined) > 0 {
		_ = r.timedServer("reportAllocationPlayers", func() error { return s.api.players(ctx, m.id, joined) })
	}
	r.m.matches.Add(1)
	s.rngMu.Lock()
	length := r.draw(s.rng, r.sc.Match.Length)
	s.rngMu.Unlock()
	played := time.NewTimer(length)
	select {
	case <-played.C:
	case <-s.f.ending:
		// The run's time is up: the match ends within the drain's first
		// quarter (or sooner, when it would), not in the same second as
		// every other match of the run.
		s.rngMu.Lock()
		spread := time.Duration(s.rng.Int64N(int64(r.sc.Drain.D()/4) + 1))
		s.rngMu.Unlock()
		select {
		case <-played.C:
		case <-time.After(spread):
		}
	}
	played.Stop()
	m.mu.Lock()
	m.over = true
	players := m.players
	m.mu.Unlock()
	accepted := false
	if len(players) > 0 {
		res := s.results(m, players)
		var status string
		err := r.timedServer("reportMatch", func() error {
			var err error
			status, err = s.api.result(ctx, m.id, res)
			return err
		})
		switch {
		case err != nil:
		case status == "accepted":
			accepted = true
			r.m.finished.Add(1)
		default:
			r.m.fail("reportMatch", "result_"+status)
			r.logf("match %s: results %s", m.id, status)
		}
	}
	_ = r.timedServer("endAllocation", func() error { return s.api.end(ctx, m.id) })
	for _, ch := range players {
		ch <- matchResult{accepted: accepted}
	}
	s.forget(m)
}

// forget drops a finished match a while later, so that a player's late
// connect still finds it over.
func (s *simServer) forget(m *simMatch) {
	time.AfterFunc(2*time.Minute, func() {
		s.mu.Lock()
		delete(s.hosted, m.id)
		s.mu.Unlock()
	})
}

// resultLine is one player's line of a match result.
type resultLine struct {
	PlayerID  string           `json:"player_id"`
	Team      int              `json:"team"`
	Placement int              `json:"placement"`
	Stats     map[string]int64 `json:"stats"`
}

// results are plausible stats, well inside the demo modes' bounds, for
// the players who played; the teams of the roster place in a random order.
func (s *simServer) results(m *simMatch, players map[string]chan matchResult) []resultLine {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	teams := 0
	for _, t := range m.roster {
		teams = max(teams, t)
	}
	place := s.rng.Perm(teams)
	secs := int64(time.Since(m.startedAt).Seconds())
	out := make([]resultLine, 0, len(players))
	for id := range players {
		team := m.roster[id]
		kills := s.rng.Int64N(15)
		out = append(out, resultLine{PlayerID: id, Team: team, Placement: place[team-1] + 1, Stats: map[string]int64{
			"kills": kills, "deaths": s.rng.Int64N(15), "assists": s.rng.Int64N(8), "headshots": kills / 3,
			"damage": kills*100 + s.rng.Int64N(500), "score": kills*100 + s.rng.Int64N(300), "seconds_played": secs,
		}})
	}
	return out
}
