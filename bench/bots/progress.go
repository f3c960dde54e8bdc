package bots

import (
	"context"
	"fmt"
	"io"
	"time"
)

// progress writes one status line a second: rewritten in place on a
// terminal, else one line every ten seconds (a log file stays short).
func progress(ctx context.Context, w io.Writer, terminal bool, m *metrics, players int, start time.Time) {
	if w == nil {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prev, prevAt := m.snap(), start
	for {
		select {
		case <-ctx.Done():
			if terminal {
				fmt.Fprintln(w)
			}
			return
		case now := <-t.C:
			s := m.snap()
			line := progressLine(s, prev, now.Sub(prevAt), now.Sub(start), players)
			prev, prevAt = s, now
			switch {
			case terminal:
				fmt.Fprintf(w, "\r\033[K%s", line)
			case int(now.Sub(start).Seconds())%10 == 0:
				fmt.Fprintln(w, line)
			}
		}
	}
}

func progressLine(s, prev snapshot, dt, elapsed time.Duration, players int) string {
	rate := float64(s.calls-prev.calls) / max(dt.Seconds(), 1e-3)
	return fmt.Sprintf("[%4ds] players %d/%d online %d | %6.0f ops/s | errors %d | queued %d in match %d | matches %d started, %d done",
		int(elapsed.Seconds()), s.ready, players, s.online, rate, s.failed, s.queued, s.inMatch, s.matches, s.finished)
}
