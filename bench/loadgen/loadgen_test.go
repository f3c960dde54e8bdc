package loadgen

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<20; v++ {
		i := bucketOf(v)
		if i < prev || i > prev+1 {
			t.Fatalf("bucketOf(%d) = %d after %d: buckets must be contiguous", v, i, prev)
		}
		if v > upper(i) || (i > 0 && v <= upper(i-1)) {
			t.Fatalf("value %d outside bucket %d (%d, %d]", v, i, upper(i-1), upper(i))
		}
		if v > 0 && float64(upper(i)-v)/float64(v) > 0.008 {
			t.Fatalf("bucket %d too wide for %d: upper %d", i, v, upper(i))
		}
		prev = i
	}
	if i := bucketOf(1 << 50); i != nBuckets-1 {
		t.Fatalf("huge value in bucket %d, want last %d", i, nBuckets-1)
	}
}

func TestQuantile(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {0.999, 999 * time.Microsecond}, {1, time.Millisecond}} {
		got := h.Quantile(c.q)
		if got < c.want || float64(got-c.want) > 0.008*float64(c.want) {
			t.Errorf("Quantile(%v) = %v, want %v within 0.8%%", c.q, got, c.want)
		}
	}
	if m := h.Mean(); m != 500500*time.Nanosecond {
		t.Errorf("Mean = %v, want 500.5µs", m)
	}
}

func TestMerge(t *testing.T) {
	var a, b Histogram
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	a.Merge(&b)
	if a.Count != 2 || a.Max != 3*time.Millisecond || a.Mean() != 2*time.Millisecond {
		t.Errorf("merged: count %d max %v mean %v", a.Count, a.Max, a.Mean())
	}
	if got := a.Quantile(0.5); got < time.Millisecond || got > time.Millisecond*1008/1000 {
		t.Errorf("median %v, want 1ms", got)
	}
}

func TestLoopback(t *testing.T) {
	for _, h := range []string{"127.0.0.1", "127.1.2.3", "::1", "LOCALHOST"} {
		if !LoopbackHost(h) {
			t.Errorf("LoopbackHost(%q) = false", h)
		}
	}
	for _, h := range []string{"10.0.0.1", "example.com", "::ffff:8.8.8.8", "0.0.0.0", ""} {
		if LoopbackHost(h) {
			t.Errorf("LoopbackHost(%q) = true", h)
		}
	}
	if !LoopbackAddr("127.0.0.1:5432") || !LoopbackAddr("[::1]:80") || LoopbackAddr("127.0.0.1") || LoopbackAddr("10.1.1.1:80") {
		t.Error("LoopbackAddr is wrong")
	}
}

func TestClientRefusesNonLoopback(t *testing.T) {
	c := NewClient(1, time.Second, nil)
	// 192.0.2.1 is TEST-NET-1: never routed, and refused before any dial.
	_, err := c.Get("http://192.0.2.1:9/")
	if err == nil || !strings.Contains(err.Error(), "refusing to dial non-loopback") {
		t.Fatalf("request to 192.0.2.1: err %v, want refused", err)
	}
}

func TestHistogramJSON(t *testing.T) {
	var h Histogram
	for i := 1; i <= 5000; i++ {
		h.Record(time.Duration(i*i) * time.Nanosecond)
	}
	b, err := json.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != h {
		t.Fatalf("round trip changed the histogram: count %d/%d sum %d/%d max %v/%v",
			back.Count, h.Count, back.Sum, h.Sum, back.Max, h.Max)
	}
	var empty Histogram
	if b, _ := json.Marshal(&empty); string(b) != `{"buckets":[],"count":0,"sum_ns":0,"max_ns":0}` {
		t.Errorf("empty histogram encodes as %s", b)
	}
	for _, bad := range []string{
		`{"buckets":[[-1,1]],"count":1}`,
		`{"buckets":[[99999,1]],"count":1}`,
		`{"buckets":[[3,-1]],"count":-1}`,
		`{"buckets":[[3,2]],"count":1}`,
		`[]`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}
