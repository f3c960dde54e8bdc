package store

import (
	"context"
	"errors"
	"sync"
)

// errAlone sends a request to the one-by-one path.
var errAlone = errors.New("handle on its own")

// grouper gathers requests that arrive together into batches: each of its
// workers takes the requests waiting when it is free (at most max) and
// writes them with write, which answers each one. Requests of the same
// player never share a batch (the later gets errAlone), and when the queue
// is full a request gets errAlone at once. Workers start with the first
// request and wait for requests for the life of the process.
type grouper[In, Out any] struct {
	max, workers int
	player       func(In) int64
	write        func(batch []*job[In, Out])
	queue        chan *job[In, Out]
	once         sync.Once
}

// job is one request and where its answer goes.
type job[In, Out any] struct {
	in   In
	done chan answer[Out]
}

type answer[Out any] struct {
	out Out
	err error
}

func (j *job[In, Out]) answer(out Out, err error) { j.done <- answer[Out]{out, err} }

func newGrouper[In, Out any](max, workers int, player func(In) int64, write func([]*job[In, Out])) *grouper[In, Out] {
	return &grouper[In, Out]{max: max, workers: workers, player: player, write: write, queue: make(chan *job[In, Out], 4*max)}
}

// do runs in in a batch; errAlone means it must be handled on its own.
func (g *grouper[In, Out]) do(ctx context.Context, in In) (Out, error) {
	g.once.Do(func() {
		for range g.workers {
			go g.run()
		}
	})
	j := &job[In, Out]{in: in, done: make(chan answer[Out], 1)}
	var zero Out
	select {
	case g.queue <- j:
	default:
		return zero, errAlone
	}
	select {
	case a := <-j.done:
		return a.out, a.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (g *grouper[In, Out]) run() {
	var zero Out
	for first := range g.queue {
		batch := []*job[In, Out]{first}
		players := map[int64]bool{g.player(first.in): true}
	drain:
		for len(batch) < g.max {
			select {
			case j := <-g.queue:
				if p := g.player(j.in); players[p] {
					j.answer(zero, errAlone)
				} else {
					players[p] = true
					batch = append(batch, j)
				}
			default:
				break drain
			}
		}
		g.write(batch)
	}
}
