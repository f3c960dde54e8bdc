package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/musterhq/muster/domain/matchmaking"
)

// cmdSimulate replays a day of matchmaking arrivals through the
// matchmaker's tick on a simulated clock (no database) and reports waits
// and match quality: `muster simulate --queue=br_quads --peak=20`.
func cmdSimulate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	queue := fs.String("queue", "br_quads", "the demo queue to simulate: br_quads or tdm_6v6")
	peak := fs.Float64("peak", 20, "players arriving per second at the daily peak (20:00); a fifth of it at 08:00")
	duration := fs.Duration("duration", 24*time.Hour, "simulated time")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	var q matchmaking.Queue
	found := false
	for _, d := range demoContent(time.Now()) {
		if qq, ok := d.body.(matchmaking.Queue); ok && d.id == *queue {
			q, found = qq, true
		}
	}
	if !found {
		return fmt.Errorf("unknown queue %q: want br_quads or tdm_6v6", *queue)
	}
	if *peak <= 0 || *duration <= 0 || *duration > 7*24*time.Hour {
		return errors.New("peak must be positive and duration 1s to 168h")
	}
	fmt.Fprintf(stdout, "queue %s (%d x %d, regions %v), peak %.1f players/s, %s simulated\n", *queue, q.Teams, q.TeamSize, q.Regions, *peak, *duration)
	matchmaking.Simulate(matchmaking.SimConfig{Queue: q, Duration: *duration, PeakPerSecond: *peak, Seed: *seed}).Print(stdout)
	return nil
}
