package bots

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

// clients hands out HTTP clients, one per group of players that share a
// loopback source address (127.77.x.y), so that the platform's per-address
// limits see many clients as they would in production. Without such
// addresses (not Linux, or remote targets allowed) every player shares
// one client from the default address.
type clients struct {
	perAddress  int
	allowRemote bool
	bind        bool

	mu      sync.Mutex
	all     map[int]*http.Client
	servers *http.Client
}

const requestTimeout = 30 * time.Second

func newClients(perAddress int, allowRemote bool) *clients {
	c := &clients{perAddress: perAddress, allowRemote: allowRemote, all: map[int]*http.Client{}}
	c.bind = !allowRemote && canBind(sourceAddr(0))
	return c
}

// sourceAddr is the loopback address of group g: 127.77.0.1, 127.77.0.2, ...
func sourceAddr(g int) net.IP {
	return net.IPv4(127, byte(77+g/(250*256)), byte(g/250%256), byte(g%250+1))
}

// canBind reports whether this machine routes ip to itself (Linux routes
// all of 127.0.0.0/8; macOS only 127.0.0.1 unless aliased).
func canBind(ip net.IP) bool {
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip})
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// forPlayer is player i's client.
func (c *clients) forPlayer(i int) *http.Client {
	g := 0
	if c.bind {
		g = i / c.perAddress
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc := c.all[g]; hc != nil {
		return hc
	}
	var local net.Addr
	conns := 1024 // every player shares the one client
	if c.bind {
		local, conns = &net.TCPAddr{IP: sourceAddr(g)}, 2*c.perAddress
	}
	hc := c.newClient(local, conns)
	c.all[g] = hc
	return hc
}

// server is the simulated game servers' client, from the default address.
func (c *clients) server() *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.servers == nil {
		c.servers = c.newClient(nil, 64)
	}
	return c.servers
}

// newClient is an HTTP client that dials from local (nil: any) and, unless
// remote targets are allowed, refuses every address that is not loopback,
// whatever a name resolves to.
func (c *clients) newClient(local net.Addr, conns int) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: local, KeepAlive: 30 * time.Second}
	if !c.allowRemote {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			if !loadgen.LoopbackAddr(address) {
				return fmt.Errorf("refusing to dial %s: not loopback (muster bots --allow-remote)", address)
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         d.DialContext,
			MaxIdleConnsPerHost: conns,
			MaxIdleConns:        conns * 4,
			IdleConnTimeout:     50 * time.Second,
			DisableCompression:  true,
		},
	}
}

// close drops the idle connections of every client.
func (c *clients) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, hc := range c.all {
		hc.CloseIdleConnections()
	}
	if c.servers != nil {
		c.servers.CloseIdleConnections()
	}
}

// sleep waits d or until ctx ends, reporting whether it waited it all.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
