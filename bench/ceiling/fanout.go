//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

const (
	frameSize   = 120  // bytes of one notification, one write each
	readBufSize = 1024 // the client's read buffer per connection
	dialTimeout = 2 * time.Minute
)

// runFanout starts a fanout-server and a fanout-client child with o.fanConns
// connections between them and measures the frames the client receives.
func runFanout(ctx context.Context, o options) (res result, err error) {
	res = result{Experiment: "fanout", Connections: o.fanConns, Writers: o.writers, Unit: "frames"}
	n := strconv.Itoa(o.fanConns)
	var srv, cl *child
	// The server stops first, so its writers never block on a connection
	// nobody reads.
	defer func() {
		for _, c := range []*child{srv, cl} {
			if c != nil {
				stopInto(c, &err)
			}
		}
	}()
	srv, err = startChild("fanout-server", "-addr", o.addr, "-n", n, "-w", strconv.Itoa(o.writers))
	if err != nil {
		return res, err
	}
	addr, err := srv.line(startTimeout)
	if err != nil {
		return res, err
	}
	if !loadgen.LoopbackAddr(addr) {
		return res, fmt.Errorf("fanout server answered a non-loopback address %q", addr)
	}
	if cl, err = startChild("fanout-client", "-addr", addr, "-n", n); err != nil {
		return res, err
	}
	if _, err := cl.line(dialTimeout); err != nil { // "dialled"
		return res, err
	}
	if _, err := srv.line(dialTimeout); err != nil { // "accepted": the writers run
		return res, err
	}

	procs := []procRef{{"ceiling", os.Getpid()}, {"server", srv.pid}, {"client", cl.pid}}
	sample := func() (cpuSample, counters, counters, error) {
		cpu := sampleCPU(procs)
		got, err := cl.sample()
		if err != nil {
			return cpu, got, counters{}, err
		}
		sent, err := srv.sample()
		return cpu, got, sent, err
	}
	sleepUntil(ctx, time.Now().Add(o.warmup))
	cpu0, got0, sent0, err := sample()
	if err != nil {
		return res, err
	}
	sleepUntil(ctx, cpu0.at.Add(o.dur))
	cpu1, got1, sent1, err := sample()
	if err != nil {
		return res, err
	}
	if ctx.Err() != nil {
		return res, errors.New("interrupted")
	}
	res.CPU = cpu1.since(cpu0)
	res.Seconds = res.CPU.WallSeconds
	res.Count = got1.Count - got0.Count
	res.Rate = float64(res.Count) / res.Seconds
	res.Sent = sent1.Count - sent0.Count
	res.Errors = got1.Errors + sent1.Errors
	res.FirstError = sent1.FirstError
	if res.FirstError == "" {
		res.FirstError = got1.FirstError
	}
	if res.Count == 0 && res.Errors == 0 {
		res.Errors, res.FirstError = 1, "the client received nothing"
	}
	return res, nil
}

// fanoutServer is the fanout-server child. It prints its address, accepts
// -n connections, prints "accepted" and runs -w writers, each writing one
// frame to each of its connections in turn, until stdin closes. Its
// samples count the frames written.
func fanoutServer(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("fanout-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	n := fs.Int("n", 2000, "connections to accept")
	writers := fs.Int("w", 2, "writer goroutines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !loadgen.LoopbackAddr(*addr) {
		return fmt.Errorf("refusing non-loopback address %q", *addr)
	}
	if *n < 1 || *writers < 1 || *writers > *n {
		return fmt.Errorf("-n %d -w %d: want 1 <= w <= n", *n, *writers)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, ln.Addr().String())
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(dialTimeout))
	conns := make([]net.Conn, 0, *n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for len(conns) < *n {
		c, err := ln.Accept()
		if err != nil {
			ln.Close()
			return fmt.Errorf("accepted %d of %d connections: %w", len(conns), *n, err)
		}
		conns = append(conns, c)
	}
	ln.Close()
	fmt.Fprintln(out, "accepted")

	var stop atomic.Bool
	var errs atomic.Int64
	var first firstError
	written := make([]paddedCount, *writers)
	frame := make([]byte, frameSize)
	for i := range frame {
		frame[i] = 'a' + byte(i%26)
	}
	var wg sync.WaitGroup
	for w := range *writers {
		var mine []net.Conn
		for i := w; i < len(conns); i += *writers {
			mine = append(mine, conns[i])
		}
		wg.Go(func() {
			for !stop.Load() {
				var k int64
				for i, c := range mine {
					if c == nil {
						continue
					}
					if _, err := c.Write(frame); err != nil {
						errs.Add(1)
						first.set(err)
						mine[i] = nil // one error a connection
						continue
					}
					k++
				}
				written[w].n.Add(k)
				if k == 0 {
					return // every connection failed
				}
			}
		})
	}
	err = answerSamples(in, out, func() counters {
		var sum int64
		for i := range written {
			sum += written[i].n.Load()
		}
		return counters{Count: sum, Errors: errs.Load(), FirstError: first.String()}
	})
	stop.Store(true)
	wg.Wait()
	return err
}

// paddedCount is a counter on a cache line of its own.
type paddedCount struct {
	n atomic.Int64
	_ [56]byte
}

// fanoutClient is the fanout-client child. It dials -n connections to
// -addr, reads each in a goroutine of its own with a 1 KiB buffer, prints
// "dialled", and counts the frames read until stdin closes.
func fanoutClient(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("fanout-client", flag.ContinueOnError)
	addr := fs.String("addr", "", "server address (loopback)")
	n := fs.Int("n", 2000, "connections to dial")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !loadgen.LoopbackAddr(*addr) {
		return fmt.Errorf("refusing non-loopback address %q", *addr)
	}
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			if !loadgen.LoopbackAddr(address) {
				return fmt.Errorf("refusing to dial non-loopback address %s", address)
			}
			return nil
		},
	}
	var stopping atomic.Bool
	var errs atomic.Int64
	var first firstError
	got := make([]paddedCount, *n) // bytes read per connection
	conns := make([]net.Conn, 0, *n)
	var wg sync.WaitGroup
	defer func() {
		stopping.Store(true)
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	for i := range *n {
		c, err := dialer.Dial("tcp", *addr)
		if err != nil {
			return fmt.Errorf("dialled %d of %d connections: %w", i, *n, err)
		}
		conns = append(conns, c)
		wg.Go(func() {
			buf := make([]byte, readBufSize)
			for {
				k, err := c.Read(buf)
				got[i].n.Add(int64(k))
				if err != nil {
					if !stopping.Load() {
						errs.Add(1)
						first.set(err)
					}
					return
				}
			}
		})
	}
	fmt.Fprintln(out, "dialled")
	return answerSamples(in, out, func() counters {
		var sum int64
		for i := range got {
			sum += got[i].n.Load()
		}
		return counters{Count: sum / frameSize, Errors: errs.Load(), FirstError: first.String()}
	})
}
