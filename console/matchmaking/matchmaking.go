// Package matchmaking is the console's live view of the matchmaking
// queues: per queue, the tickets and players waiting now and in which
// region, the oldest wait, the last hour's matches (fallback ones apart),
// how long their players waited, their rating spread and team imbalance,
// and which replica runs the queue. It is read-only and reloads itself.
// Queues are edited as live-ops content (kind queue).
package matchmaking

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/content"
	mm "github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/rbac"
)

// RefreshEvery is how often the page reloads itself unless paused.
const RefreshEvery = 10

type handler struct {
	f  *frame.Frame
	db *sqlx.DB
}

// Mount adds /matchmaking. conn reads the published queues and their live
// stats.
func Mount(rt *frame.Router, f *frame.Frame, conn *sqlx.DB) {
	h := &handler{f: f, db: conn}
	rt.Get("/matchmaking", rbac.PermMatchmakingView, h.show)
}

// Row is one queue: its published settings, when it is published, and
// its live stats.
type Row struct {
	ID       string
	Queue    *mm.Queue // nil when the queue is not published (any more)
	Stats    mm.QueueStats
	Regions  []RegionCell
	Stalled  bool // tickets wait and no replica holds the queue
	OverWait bool // the oldest ticket waited longer than the queue's maximum wait
	PerMatch int
	MaxWait  string
}

// RegionCell is the waiting players whose best region is Region.
type RegionCell struct {
	Region  string
	Players int
	Foreign bool // not one of the queue's regions (it changed since they queued)
}

// Page is the matchmaking screen.
type Page struct {
	Rows    []Row
	Totals  mm.QueueStats // tickets, players, matches and fallback of every queue
	At      string
	Paused  bool
	Refresh int
	// CanOpen links each queue to its live-ops document (progression:view).
	CanOpen bool
}

func (h *handler) show(c *fiber.Ctx) error {
	ctx := c.UserContext()
	stats, err := mm.Stats(ctx, h.db)
	if err != nil {
		return err
	}
	bodies, err := content.PublishedBodies(ctx, h.db, mm.KindQueue)
	if err != nil {
		return err
	}
	p := Page{Rows: rows(bodies, stats), At: time.Now().UTC().Format("2006-01-02 15:04:05 UTC"), Paused: c.Query("refresh") == "off"}
	p.CanOpen = h.f.Allowed(c, rbac.PermProgressView)
	for _, r := range p.Rows {
		s := r.Stats
		p.Totals.Tickets += s.Tickets
		p.Totals.Players += s.Players
		p.Totals.Matches += s.Matches
		p.Totals.Fallback += s.Fallback
	}
	fp := h.f.Page(c, "Matchmaking", "matchmaking")
	if !p.Paused {
		fp.Refresh = RefreshEvery
		p.Refresh = RefreshEvery
	}
	return frame.Render(c, http.StatusOK, page(fp, p))
}

// rows joins the published queues with the stats: every published queue,
// idle or not, and every queue with stats that is not published any more.
func rows(bodies map[string]json.RawMessage, stats []mm.QueueStats) []Row {
	byID := map[string]*Row{}
	for id, body := range bodies {
		r := &Row{ID: id}
		var q mm.Queue
		if json.Unmarshal(body, &q) == nil {
			r.Queue = &q
		}
		byID[id] = r
	}
	for _, s := range stats {
		r := byID[s.Queue]
		if r == nil {
			r = &Row{ID: s.Queue}
			byID[s.Queue] = r
		}
		r.Stats = s
	}
	out := make([]Row, 0, len(byID))
	for _, r := range byID {
		r.Stalled = r.Stats.Tickets > 0 && r.Stats.Holder == ""
		if r.Queue != nil {
			r.PerMatch, r.MaxWait = r.Queue.Slots(), wait(r.Queue.MaxWait())
			r.OverWait = r.Stats.Tickets > 0 && r.Stats.OldestWait > r.Queue.MaxWait()
		}
		r.Regions = regions(r.Queue, r.Stats.Regions)
		out = append(out, *r)
	}
	// Busiest first, then by id.
	slices.SortFunc(out, func(a, b Row) int {
		if a.Stats.Players != b.Stats.Players {
			return b.Stats.Players - a.Stats.Players
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}

// regions lists the waiting players by best region: the queue's regions in
// its order (those with nobody too), then any other region tickets named.
func regions(q *mm.Queue, waiting []mm.RegionStats) []RegionCell {
	var out []RegionCell
	seen := map[string]bool{}
	if q != nil {
		for _, r := range q.Regions {
			cell := RegionCell{Region: r}
			for _, w := range waiting {
				if w.Region == r {
					cell.Players = w.Players
				}
			}
			out = append(out, cell)
			seen[r] = true
		}
	}
	for _, w := range waiting {
		if !seen[w.Region] {
			out = append(out, RegionCell{Region: w.Region, Players: w.Players, Foreign: q != nil})
		}
	}
	return out
}

// wait writes a duration as staff read a wait: "0.4 s", "12 s",
// "2 min 5 s", "1 h 3 min".
func wait(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 s"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + " s"
	case d < time.Hour:
		m, s := int(d.Minutes()), int(d.Seconds())%60
		if s == 0 {
			return strconv.Itoa(m) + " min"
		}
		return strconv.Itoa(m) + " min " + strconv.Itoa(s) + " s"
	}
	return strconv.Itoa(int(d.Hours())) + " h " + strconv.Itoa(int(d.Minutes())%60) + " min"
}

// rating writes a mean spread or imbalance in rating points.
func rating(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func itoa(n int) string { return strconv.Itoa(n) }
