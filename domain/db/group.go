package db

import (
	"context"
	"errors"
	"sync"
)

// ErrAlone sends a request to the caller's one-by-one path.
var ErrAlone = errors.New("handle on its own")

// Group gathers requests that arrive together into batches, so that many
// writes share one transaction and its round trips: each of its workers
// takes the requests waiting when it is free (at most max) and writes them
// with write, which answers each one. Requests with the same key (a
// player) never share a batch (the later gets ErrAlone), and when the
// queue is full a request gets ErrAlone at once. Workers start with the
// first request and wait for requests for the life of the process.
type Group[In, Out any] struct {
	max, workers int
	key          func(In) int64
	write        func(batch []*Job[In, Out])
	queue        chan *Job[In, Out]
	once         sync.Once
}

// Job is one request and where its answer goes.
type Job[In, Out any] struct {
	In   In
	done chan answer[Out]
}

type answer[Out any] struct {
	out Out
	err error
}

// Answer gives the job's request its answer; write calls it once per job.
func (j *Job[In, Out]) Answer(out Out, err error) { j.done <- answer[Out]{out, err} }

// NewGroup returns a Group of workers writing batches of at most max
// requests with write; key says which requests may not share a batch.
func NewGroup[In, Out any](max, workers int, key func(In) int64, write func([]*Job[In, Out])) *Group[In, Out] {
	return &Group[In, Out]{max: max, workers: workers, key: key, write: write, queue: make(chan *Job[In, Out], 4*max)}
}

// Do runs in in a batch and returns its answer; ErrAlone means the caller
// must handle it on its own. When ctx ends first, Do returns ctx.Err() and
// the batch may still write the request (as with any write whose answer is
// lost: a retry with the same idempotency key answers it).
func (g *Group[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	g.once.Do(func() {
		for range g.workers {
			go g.run()
		}
	})
	j := &Job[In, Out]{In: in, done: make(chan answer[Out], 1)}
	var zero Out
	select {
	case g.queue <- j:
	default:
		return zero, ErrAlone
	}
	select {
	case a := <-j.done:
		return a.out, a.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (g *Group[In, Out]) run() {
	var zero Out
	for first := range g.queue {
		batch := []*Job[In, Out]{first}
		keys := map[int64]bool{g.key(first.In): true}
	drain:
		for len(batch) < g.max {
			select {
			case j := <-g.queue:
				if k := g.key(j.In); keys[k] {
					j.Answer(zero, ErrAlone)
				} else {
					keys[k] = true
					batch = append(batch, j)
				}
			default:
				break drain
			}
		}
		g.write(batch)
	}
}
