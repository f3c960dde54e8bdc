package matchmaking

import (
	"math"
	"sync"
)

// scratch holds one tick's working arrays. Ticks take one from
// scratchPool and give it back, so that a tick of 100,000 tickets reuses
// the megabytes of the last one instead of allocating them again (and the
// collector sweeping them) every second.
type scratch struct {
	keys, tmp []keyed
	eligible  []*Ticket
	byRating  []*Ticket
	ratings   []float64
	byAge     []int32
	w         window
	p         packer
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// keyed is an index sorted by an unsigned key.
type keyed struct {
	key uint64
	i   int32
}

// reset sizes the arrays for n tickets.
func (s *scratch) reset(n int) {
	s.keys, s.tmp = resize(s.keys, n), resize(s.tmp, n)
	s.eligible, s.byRating = resize(s.eligible, n), resize(s.byRating, n)
	s.ratings, s.byAge = resize(s.ratings, n), resize(s.byAge, n)
}

// release drops the scratch's references to tickets and returns it.
func (s *scratch) release() {
	clear(s.eligible)
	clear(s.byRating)
	clear(s.p.chosen[:cap(s.p.chosen)])
	scratchPool.Put(s)
}

// resize answers a slice of length n, reusing b's array when it is large
// enough. The contents are not cleared.
func resize[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// ratingKey maps a rating to an unsigned key of the same order.
func ratingKey(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

// timeKey maps Unix nanoseconds to an unsigned key of the same order.
func timeKey(ns int64) uint64 { return uint64(ns) ^ 1<<63 }

// radixSort sorts keys by key, stably, using tmp (of the same length) as
// the second buffer: eight passes of one byte each, least significant
// first, skipping a byte that every key shares. It answers the sorted
// slice, which is either keys or tmp.
func radixSort(keys, tmp []keyed) []keyed {
	var counts [256]int
	for shift := uint(0); shift < 64; shift += 8 {
		clear(counts[:])
		for _, k := range keys {
			counts[byte(k.key>>shift)]++
		}
		if len(keys) == 0 || counts[byte(keys[0].key>>shift)] == len(keys) {
			continue // every key has this byte: the order stands
		}
		at := 0
		for d, c := range counts {
			counts[d] = at
			at += c
		}
		for _, k := range keys {
			d := byte(k.key >> shift)
			tmp[counts[d]] = k
			counts[d]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}
