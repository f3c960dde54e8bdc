package matchmaking

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/console/frame"
	mm "github.com/musterhq/muster/domain/matchmaking"
)

func TestWait(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"},
		{-time.Second, "0 s"},
		{400 * time.Millisecond, "0.4 s"},
		{9950 * time.Millisecond, "9.9 s"},
		{12 * time.Second, "12 s"},
		{2 * time.Minute, "2 min"},
		{125 * time.Second, "2 min 5 s"},
		{63 * time.Minute, "1 h 3 min"},
	}
	for _, c := range cases {
		if got := wait(c.d); got != c.want {
			t.Errorf("wait(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func queueBody(t *testing.T, q mm.Queue) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every published queue has a row, idle ones too; a queue with stats that
// is not published any more has one, marked; the busiest come first.
func TestRowsJoinPublishedQueuesAndStats(t *testing.T) {
	quads := mm.Queue{Name: "Quads", TeamSize: 4, Teams: 38, Regions: []string{"eu-west", "us-east"}, MaxWaitSeconds: 120}
	duel := mm.Queue{Name: "Duel", TeamSize: 1, Teams: 2, Regions: []string{"eu-west"}, MaxWaitSeconds: 30}
	bodies := map[string]json.RawMessage{"br_quads": queueBody(t, quads), "duel": queueBody(t, duel), "idle": queueBody(t, duel),
		"broken": json.RawMessage(`{"teams":"many"}`)}
	stats := []mm.QueueStats{
		{Queue: "br_quads", Tickets: 5, Players: 12, OldestWait: 90 * time.Second, Holder: "mm-0",
			Regions: []mm.RegionStats{{Region: "us-east", Players: 4}, {Region: "eu-west", Players: 6}, {Region: "ap-south", Players: 2}}},
		{Queue: "duel", Tickets: 2, Players: 2, OldestWait: 45 * time.Second},
		{Queue: "old_event", Tickets: 1, Players: 3, Regions: []mm.RegionStats{{Region: "eu-west", Players: 3}}},
	}
	got := rows(bodies, stats)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if want := "br_quads old_event duel broken idle"; strings.Join(ids, " ") != want {
		t.Fatalf("rows %q, want %q", ids, want)
	}
	q := got[0]
	if q.Queue == nil || q.PerMatch != 152 || q.MaxWait != "2 min" || q.Stalled || q.OverWait {
		t.Errorf("br_quads: %+v", q)
	}
	if want := []RegionCell{{"eu-west", 6, false}, {"us-east", 4, false}, {"ap-south", 2, true}}; !equalCells(q.Regions, want) {
		t.Errorf("br_quads regions %+v, want %+v", q.Regions, want)
	}
	if old := got[1]; old.Queue != nil || !old.Stalled || old.OverWait || !equalCells(old.Regions, []RegionCell{{"eu-west", 3, false}}) {
		t.Errorf("unpublished queue: %+v", old)
	}
	if d := got[2]; !d.Stalled || !d.OverWait {
		t.Errorf("duel (no holder, oldest 45 s of 30 s): %+v", d)
	}
	if b := got[3]; b.Queue != nil || b.Stalled {
		t.Errorf("a queue whose body does not decode: %+v", b)
	}
	if idle := got[4]; idle.Queue == nil || idle.Stalled || idle.OverWait || !equalCells(idle.Regions, []RegionCell{{"eu-west", 0, false}}) {
		t.Errorf("idle queue: %+v", idle)
	}
}

func equalCells(a, b []RegionCell) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPageShowsFiguresAndWarnings(t *testing.T) {
	quads := mm.Queue{Name: "Quads", TeamSize: 4, Teams: 38, Regions: []string{"eu-west"}, MaxWaitSeconds: 120}
	stats := []mm.QueueStats{
		{Queue: "br_quads", Tickets: 5, Players: 12, OldestWait: 3 * time.Minute, Matches: 7, Fallback: 2,
			WaitP50: 12 * time.Second, WaitP90: 75 * time.Second, WaitP99: 2 * time.Minute, MeanSpread: 8.25, MeanImbalance: 0.5,
			Regions: []mm.RegionStats{{Region: "eu-west", Players: 12}}},
	}
	d := Page{Rows: rows(map[string]json.RawMessage{"br_quads": queueBody(t, quads), "tdm": queueBody(t, quads)}, stats), Refresh: 10, CanOpen: true}
	var buf bytes.Buffer
	if err := page(frame.Page{Title: "Matchmaking", Refresh: 10}, d).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{`<meta http-equiv="refresh" content="10">`, `href="/liveops/queue/br_quads"`, "152 per match · max wait 2 min",
		`<td class="num players">12</td>`, `<code>eu-west</code> 12`, "3 min", "over max wait", "7 (2)", "12 s / 1 min 15 s / 2 min",
		`<td class="num spread">8.2</td>`, `<td class="num imbalance">0.5</td>`, "none: tickets wait", `id="pause"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The idle queue shows no figures of matches it never formed.
	idle := html[strings.Index(html, `id="queue-tdm"`):]
	if !strings.Contains(idle, `<td class="num waits muted" title="nobody was matched in the last hour">–</td>`) || strings.Contains(idle, "none: tickets wait") {
		t.Errorf("idle queue row: %s", idle)
	}
}
