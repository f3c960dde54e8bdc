package main

import (
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
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {0.999, 999 * time.Microsecond}, {1, time.Millisecond}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got-c.want) > 0.008*float64(c.want) {
			t.Errorf("quantile(%v) = %v, want %v within 0.8%%", c.q, got, c.want)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	ok := []string{"http://127.0.0.1:9090/healthz", "http://127.1.2.3/", "http://[::1]:9090/", "http://LOCALHOST:9090/"}
	bad := []string{"http://10.0.0.1/", "http://example.com/", "http://[::ffff:8.8.8.8]/", "http://0.0.0.0:9090/", "ftp://127.0.0.1/", ""}
	for _, u := range ok {
		if err := check(u, 64, time.Second, 0, 0); err != nil {
			t.Errorf("check(%q) = %v, want ok", u, err)
		}
	}
	for _, u := range bad {
		if err := check(u, 64, time.Second, 0, 0); err == nil {
			t.Errorf("check(%q) passed, want refused", u)
		}
	}
	if err := check("http://127.0.0.1/", 64, 3*time.Minute, 0, 0); err == nil {
		t.Error("-d 3m passed, want refused")
	}
}
