package fleet_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
)

// backfills records what sessions ask of the matchmaker (whose side,
// matchmaking.Service, has its own tests).
type backfills struct {
	mu        sync.Mutex
	requests  map[string][][]int
	cancelled map[string]int
}

func (b *backfills) RequestBackfill(_ context.Context, _ sqlx.ExtContext, matchID string, free []int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests[matchID] = append(b.requests[matchID], slices.Clone(free))
	return nil
}

func (b *backfills) CancelBackfill(_ context.Context, _ sqlx.ExtContext, matchID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cancelled[matchID]++
	return nil
}

func (b *backfills) last(matchID string) []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.requests[matchID]
	if len(r) == 0 {
		return nil
	}
	return r[len(r)-1]
}

// A player leaves a running match: sessions ask for their seat; the
// matchmaker's backfilled player joins the roster (and may be in the
// results), is told where the running match is, and fills the seat. The
// match's end withdraws the request; a backfill into a match that is over
// tells its players to queue again, without giving the match back.
func TestBackfillFillsALeaversSeat(t *testing.T) {
	bf := &backfills{requests: map[string][][]int{}, cancelled: map[string]int{}}
	e := newEnv(t, options{backfill: bf})
	ctx := context.Background()
	in := e.register(t, 1)
	ps := e.gamers(t, 6)
	id := unique("m-")
	f := e.formed(id, nil)
	f.Teams = []matchmaking.Team{{}, {}}
	for i, p := range ps[:4] {
		f.Teams[i/2].Players = append(f.Teams[i/2].Players, matchmaking.Player{AccountID: p.account, PlayerID: p.public})
	}
	e.form(t, f)

	all := []string{ps[0].public, ps[1].public, ps[2].public, ps[3].public}
	if _, err := e.sessions.Players(ctx, e.server, id, all, nil); err != nil {
		t.Fatal(err)
	}
	if got := bf.last(id); !slices.Equal(got, []int{0, 0}) {
		t.Fatalf("backfill asked with everyone in: %v, want [0 0]", got)
	}
	if _, err := e.sessions.Players(ctx, e.server, id, nil, []string{ps[1].public}); err != nil {
		t.Fatal(err)
	}
	if got := bf.last(id); !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("backfill after a team 1 player left: %v, want [1 0]", got)
	}

	// The matchmaker fills the seat.
	e.form(t, matchmaking.Formed{MatchID: id, Queue: f.Queue, Mode: e.mode, Region: e.region, Backfill: true,
		Teams: []matchmaking.Team{{Players: []matchmaking.Player{{AccountID: ps[4].account, PlayerID: ps[4].public}}}, {}}})
	e.deliver(t)
	found := e.notifications(t, ps[4].account, fleet.KindMatchFound)
	var pl fleet.FoundPayload
	if len(found) != 1 || json.Unmarshal(found[0], &pl) != nil || pl.MatchID != id || pl.Address != in.Host || pl.Port != in.Port || pl.Team != 1 {
		t.Fatalf("the backfilled player's match.found = %s", found)
	}
	if m, err := e.matches.Get(ctx, id); err != nil || len(m.Roster) != 5 || !slices.Contains(m.Roster, ps[4].account) {
		t.Fatalf("roster after the backfill = %+v, %v", m.Roster, err)
	}
	if got, _ := e.registry.Get(ctx, in.ID); got.Allocated != 1 {
		t.Fatalf("a backfill took another slot: %+v", got)
	}
	if live, err := e.sessions.ForPlayer(ctx, ps[4].account); err != nil || live.MatchID != id || live.Team != 1 {
		t.Fatalf("the backfilled player's live match = %+v, %v", live, err)
	}
	if _, err := e.sessions.Players(ctx, e.server, id, []string{ps[4].public}, nil); err != nil {
		t.Fatal(err)
	}
	if got := bf.last(id); !slices.Equal(got, []int{0, 0}) {
		t.Fatalf("backfill after the seat was filled: %v, want [0 0]", got)
	}

	// The backfilled player is in the results; they end the match and the request.
	res := match.Result{}
	for i, p := range []gamer{ps[0], ps[4], ps[2], ps[3]} {
		res.Players = append(res.Players, match.PlayerResult{PlayerID: p.public, Team: i/2 + 1, Placement: i/2 + 1,
			Stats: map[string]int64{match.StatKills: 1, match.StatSecondsPlayed: 0}})
	}
	if rc, err := e.matches.Report(ctx, e.server, id, res); err != nil || rc.Status != match.StatusAccepted {
		t.Fatalf("results with the backfilled player = %+v, %v", rc, err)
	}
	e.deliver(t)
	if st, _, _ := e.allocation(t, id); st != fleet.AllocEnded {
		t.Fatalf("after the results: %s", st)
	}
	if bf.cancelled[id] != 1 {
		t.Fatalf("backfill cancelled %d times at the end, want 1", bf.cancelled[id])
	}

	// Too late: the match is over.
	e.form(t, matchmaking.Formed{MatchID: id, Queue: f.Queue, Mode: e.mode, Region: e.region, Backfill: true,
		Teams: []matchmaking.Team{{}, {Players: []matchmaking.Player{{AccountID: ps[5].account, PlayerID: ps[5].public}}}}})
	e.deliver(t)
	lost := e.notifications(t, ps[5].account, fleet.KindMatchLost)
	var lp fleet.LostPayload
	if len(lost) != 1 || json.Unmarshal(lost[0], &lp) != nil || lp.Reason != "match_over" {
		t.Fatalf("a player backfilled into an ended match got %s", lost)
	}
	if got := e.failures(t, id); len(got) != 0 {
		t.Fatalf("a late backfill gave the match back to the matchmaker: %+v", got)
	}
}
