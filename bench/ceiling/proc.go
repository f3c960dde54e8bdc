//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

// A child process speaks a line protocol. It prints one line when it is
// ready (its address, say), maybe more lines its parent expects, then
// answers each line it reads on stdin with one JSON line of counters. When
// stdin closes it stops and exits, so it cannot outlive its parent.
var children = map[string]func(args []string, in io.Reader, out io.Writer) error{
	"serve-http":    serveHTTP,
	"fake-steam":    serveFakeSteam,
	"fanout-server": fanoutServer,
	"fanout-client": fanoutClient,
}

// counters is a child's answer to a sample request.
type counters struct {
	Count      int64  `json:"count"`
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

// firstError keeps the first error of many goroutines.
type firstError struct {
	mu  sync.Mutex
	msg string
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	if f.msg == "" {
		f.msg = err.Error()
	}
	f.mu.Unlock()
}

func (f *firstError) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

// answerSamples answers each line of in with sample() as JSON until in
// closes.
func answerSamples(in io.Reader, out io.Writer, sample func() counters) error {
	s := bufio.NewScanner(in)
	enc := json.NewEncoder(out)
	for s.Scan() {
		if err := enc.Encode(sample()); err != nil {
			return err
		}
	}
	return s.Err()
}

// child is a running child process.
type child struct {
	name   string
	pid    int
	stdin  io.WriteCloser
	lines  chan string
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed
	proc   *os.Process
}

// startChild runs this program again with args (a subcommand first).
func startChild(args ...string) (*child, error) {
	cmd, stdin, stdout, err := loadgen.StartSelf(args...)
	if err != nil {
		return nil, err
	}
	c := &child{name: args[0], pid: cmd.Process.Pid, stdin: stdin, lines: make(chan string, 16), exited: make(chan struct{}), proc: cmd.Process}
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			c.lines <- s.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
		close(c.lines)
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// line returns the child's next line of output.
func (c *child) line(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-c.lines:
		if !ok {
			<-c.exited
			return "", fmt.Errorf("%s exited: %v", c.name, c.err)
		}
		return l, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("%s said nothing within %s", c.name, timeout)
	}
}

// sample asks the child for its counters.
func (c *child) sample() (counters, error) {
	var n counters
	if _, err := io.WriteString(c.stdin, "sample\n"); err != nil {
		return n, fmt.Errorf("%s: %w", c.name, err)
	}
	l, err := c.line(10 * time.Second)
	if err != nil {
		return n, err
	}
	if err := json.Unmarshal([]byte(l), &n); err != nil {
		return n, fmt.Errorf("%s answered %q: %w", c.name, l, err)
	}
	return n, nil
}

// stop closes the child's stdin and waits for it to exit; after grace it
// is killed. It returns an error if the child failed or had to be killed.
func (c *child) stop(grace time.Duration) error {
	c.stdin.Close()
	select {
	case <-c.exited:
		if c.err != nil {
			return fmt.Errorf("%s: %w", c.name, c.err)
		}
		return nil
	case <-time.After(grace):
		_ = c.proc.Kill()
		<-c.exited
		return fmt.Errorf("%s did not exit within %s of its stdin closing; killed it", c.name, grace)
	}
}

// cpuSample is the CPU time of named processes and of the machine.
type cpuSample struct {
	at          time.Time
	names       []string
	ticks       []int64
	busy, total int64
}

// procRef names a process whose CPU time is reported.
type procRef struct {
	name string
	pid  int
}

func sampleCPU(procs []procRef) cpuSample {
	s := cpuSample{at: time.Now()}
	for _, p := range procs {
		s.names = append(s.names, p.name)
		s.ticks = append(s.ticks, loadgen.ProcTicks(p.pid))
	}
	s.busy, s.total = loadgen.MachineTicks()
	return s
}

// cpuUse is CPU time in seconds over a window.
type cpuUse struct {
	WallSeconds  float64            `json:"wall_seconds"`
	Process      map[string]float64 `json:"process_seconds"`
	Order        []string           `json:"-"`
	MachineBusy  float64            `json:"machine_busy_seconds"`
	MachineTotal float64            `json:"machine_total_seconds"`
}

func (s cpuSample) since(a cpuSample) cpuUse {
	sec := func(t int64) float64 { return float64(t) / loadgen.ClockTicks }
	u := cpuUse{
		WallSeconds: s.at.Sub(a.at).Seconds(), Process: map[string]float64{}, Order: s.names,
		MachineBusy: sec(s.busy - a.busy), MachineTotal: sec(s.total - a.total),
	}
	for i, n := range s.names {
		u.Process[n] = sec(s.ticks[i] - a.ticks[i])
	}
	return u
}

// Other is busy machine time the named processes do not account for.
func (c cpuUse) Other() float64 {
	o := c.MachineBusy
	for _, v := range c.Process {
		o -= v
	}
	return o
}

func (c cpuUse) print(out io.Writer) {
	if c.WallSeconds == 0 {
		return
	}
	var parts []string
	for _, n := range c.Order {
		parts = append(parts, fmt.Sprintf("%s %.2f", n, c.Process[n]))
	}
	parts = append(parts, fmt.Sprintf("other %.2f", c.Other()))
	fmt.Fprintf(out, "cpu seconds %s\n", strings.Join(parts, ", "))
	busy := 0.0
	if c.MachineTotal > 0 {
		busy = 100 * c.MachineBusy / c.MachineTotal
	}
	fmt.Fprintf(out, "machine     %.2f of %.2f CPU-seconds busy (%.0f%%) over %.2fs\n", c.MachineBusy, c.MachineTotal, busy, c.WallSeconds)
	if c.MachineTotal > 0 && c.Other() > 0.15*c.MachineTotal {
		fmt.Fprintf(out, "warning     %.0f%% of the machine went to other processes or interrupts: something else ran, repeat the run\n", 100*c.Other()/c.MachineTotal)
	}
}
