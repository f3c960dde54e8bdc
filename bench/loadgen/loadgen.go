// Package loadgen holds what Muster's loopback load tools (bench/httpload,
// bench/authload, bench/rtload, bench/ceiling) share: the loopback-only address check, an HTTP client
// that dials nothing but loopback addresses, a log-linear latency
// histogram with percentiles, and (on Linux) readers of process and machine
// CPU time in /proc.
package loadgen

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// LoopbackHost reports whether host is localhost or a loopback IP address
// (127.0.0.0/8, ::1).
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoopbackAddr reports whether a host:port address has a loopback host.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && LoopbackHost(host)
}

// NewClient returns an HTTP client for a closed-loop load test with conns
// keep-alive connections to one host. It refuses to dial any address that
// is not loopback, whatever a name resolves to, and counts each dial in
// dialled when that is not nil. Requests time out after timeout.
func NewClient(conns int, timeout time.Duration, dialled *atomic.Int64) *http.Client {
	dialer := &net.Dialer{
		Timeout: timeout,
		// Check the address actually dialled, whatever localhost resolves to.
		Control: func(_, address string, _ syscall.RawConn) error {
			if !LoopbackAddr(address) {
				return fmt.Errorf("refusing to dial non-loopback address %s", address)
			}
			if dialled != nil {
				dialled.Add(1)
			}
			return nil
		},
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			MaxConnsPerHost:     conns,
			MaxIdleConnsPerHost: conns,
			MaxIdleConns:        conns,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// MS converts d to milliseconds rounded to the microsecond.
func MS(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Histogram counts nanosecond latencies in log-linear buckets: exact below
// 256ns, then 128 buckets per power of two (at most 0.8% wide). Values from
// 2^40ns (about 18 minutes) up share the last bucket; Max is kept exactly.
// The zero value is empty and ready to use; it is not safe for concurrent
// use, so keep one per worker and Merge them.
type Histogram struct {
	counts [nBuckets]int64
	Count  int64         // values recorded
	Sum    int64         // their sum in nanoseconds
	Max    time.Duration // the largest
}

const (
	subBits  = 8
	half     = 1 << (subBits - 1)
	topBits  = 40
	nBuckets = (topBits-subBits)*half + 2*half
)

func bucketOf(v int64) int {
	if v < 2*half {
		return int(max(v, 0))
	}
	v = min(v, 1<<topBits-1)
	shift := bits.Len64(uint64(v)) - subBits
	return shift*half + int(v>>shift)
}

// upper is the largest value bucket i holds.
func upper(i int) int64 {
	if i < 2*half {
		return int64(i)
	}
	shift := i/half - 1
	return int64(i-shift*half+1)<<shift - 1
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	h.counts[bucketOf(int64(d))]++
	h.Count++
	h.Sum += int64(d)
	h.Max = max(h.Max, d)
}

// Merge adds every value of o.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.Count += o.Count
	h.Sum += o.Sum
	h.Max = max(h.Max, o.Max)
}

// Mean is the average latency, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.Count == 0 {
		return 0
	}
	return time.Duration(h.Sum / h.Count)
}

// Quantile returns the upper bound of the bucket holding the q-th value,
// never more than the largest value recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.Count)))
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= max(rank, 1) {
			return min(time.Duration(upper(i)), h.Max)
		}
	}
	return h.Max
}

// histogramJSON is a Histogram's wire form: the non-empty buckets as
// [index, count] pairs, so that a load tool's child processes can send
// their histograms to the parent to be merged.
type histogramJSON struct {
	Buckets [][2]int64 `json:"buckets"`
	Count   int64      `json:"count"`
	Sum     int64      `json:"sum_ns"`
	Max     int64      `json:"max_ns"`
}

// MarshalJSON encodes the histogram losslessly (see UnmarshalJSON).
func (h *Histogram) MarshalJSON() ([]byte, error) {
	w := histogramJSON{Buckets: [][2]int64{}, Count: h.Count, Sum: h.Sum, Max: int64(h.Max)}
	for i, c := range h.counts {
		if c != 0 {
			w.Buckets = append(w.Buckets, [2]int64{int64(i), c})
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON replaces h with a histogram encoded by MarshalJSON. It
// refuses bucket indexes out of range and counts that do not add up.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var w histogramJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var out Histogram
	var n int64
	for _, bc := range w.Buckets {
		if bc[0] < 0 || bc[0] >= nBuckets || bc[1] < 0 {
			return fmt.Errorf("histogram: bucket %d count %d out of range", bc[0], bc[1])
		}
		out.counts[bc[0]] += bc[1]
		n += bc[1]
	}
	if n != w.Count {
		return fmt.Errorf("histogram: buckets hold %d values, count says %d", n, w.Count)
	}
	out.Count, out.Sum, out.Max = w.Count, w.Sum, time.Duration(w.Max)
	*h = out
	return nil
}
