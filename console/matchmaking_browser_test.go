package console_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/rbac"
)

// unrated rates every player 0.
type unrated struct{}

func (unrated) Ordinals(_ context.Context, _ string, ids []int64) (map[int64]float64, error) {
	out := make(map[int64]float64, len(ids))
	for _, id := range ids {
		out[id] = 0
	}
	return out, nil
}

// A designer opens Matchmaking from the navigation and sees the players
// waiting in a queue, by their best region, and the replica that holds
// the queue; the page reloads itself and shows a player who queued
// meanwhile. Support, without matchmaking:view, sees no entry and is
// refused.
func TestMatchmakingPageShowsWaitingPlayersInTheBrowser(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	mode, queue := "mm_mode_"+s.suffix, "mm_queue_"+s.suffix
	s.publishDoc(t, match.KindMode, mode, testMode("Console duo"))
	s.publishDoc(t, matchmaking.KindQueue, queue, matchmaking.Queue{Name: "Console duos", Mode: mode, TeamSize: 2, Teams: 2,
		Regions: []string{"eu-west", "us-east"}, PartyMin: 1, PartyMax: 2,
		Skill: matchmaking.Widening{Start: 5, PerSecond: 1, Max: 50}, Latency: matchmaking.Widening{Start: 60, PerSecond: 1, Max: 120},
		MaxWaitSeconds: 90, Fallback: matchmaking.FallbackNone})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := matchmaking.NewService(s.db, nil, unrated{}, s.accounts, nil, log)
	join := func(name string, latency map[string]int) {
		t.Helper()
		p := s.player(t, name+s.suffix)
		if _, err := svc.Join(ctx, p.ID, queue, latency); err != nil {
			t.Fatalf("%s joins: %v", name, err)
		}
	}
	// Three players for a match of four: nobody is matched.
	join("Eu1", map[string]int{"eu-west": 20, "us-east": 140})
	join("Eu2", map[string]int{"eu-west": 35})
	join("Us1", map[string]int{"eu-west": 150, "us-east": 25})
	holder := "mm-replica-" + s.suffix
	mk := matchmaking.NewMatchmaker(s.db, svc, matchmaking.Config{Tick: time.Second, Lease: 5 * time.Minute, Holder: holder},
		prometheus.NewRegistry(), log)
	if err := mk.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}

	designer := browser(t)
	s.signIn(t, designer, rbac.RoleDesigner)
	row := "#queue-" + queue
	var players, tickets, regions, held, refresh string
	err := chromedp.Run(designer,
		follow(`nav a[href="/matchmaking"]`, chromedp.ByQuery),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.Text(row+" .players", &players, chromedp.ByQuery),
		chromedp.Text(row+" .tickets", &tickets, chromedp.ByQuery),
		chromedp.Text(row+" .regions", &regions, chromedp.ByQuery),
		chromedp.Text(row+" .holder", &held, chromedp.ByQuery),
		chromedp.AttributeValue(`meta[http-equiv="refresh"]`, "content", &refresh, nil, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("designer opens matchmaking: %v", err)
	}
	if players != "3" || tickets != "3" {
		t.Fatalf("waiting: %q players in %q tickets, want 3 in 3", players, tickets)
	}
	if !strings.Contains(regions, "eu-west 2") || !strings.Contains(regions, "us-east 1") {
		t.Errorf("players by best region: %q", regions)
	}
	if held != holder {
		t.Errorf("matchmaker: %q, want %q", held, holder)
	}
	if refresh != "10" {
		t.Errorf("meta refresh: %q", refresh)
	}

	// A fourth player queues; the page shows them after its next reload,
	// without anyone touching it.
	join("Us2", map[string]int{"us-east": 30})
	var shown string
	for deadline := time.Now().Add(25 * time.Second); shown != "4" && time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		// Errors are expected while the page reloads.
		_ = chromedp.Run(designer, chromedp.Evaluate(`(document.querySelector(`+jsString(row+" .players")+`) || {}).textContent || ""`, &shown))
		shown = strings.TrimSpace(shown)
	}
	if shown != "4" {
		t.Fatalf("the page did not reload to show the fourth player: %q", shown)
	}
	if err := chromedp.Run(designer, chromedp.Text(row+" .regions", &regions, chromedp.ByQuery)); err != nil || !strings.Contains(regions, "us-east 2") {
		t.Errorf("after the reload, players by best region: %q %v", regions, err)
	}

	// Pausing stops the reloads.
	var paused int
	err = chromedp.Run(designer, follow("#pause", chromedp.ByID), chromedp.WaitVisible("#resume", chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll('meta[http-equiv="refresh"]').length`, &paused))
	if err != nil || paused != 0 {
		t.Errorf("paused page: %d refresh tags, %v", paused, err)
	}

	support := browser(t)
	s.signIn(t, support, rbac.RoleSupport)
	var nav, status string
	err = chromedp.Run(support, chromedp.Text("nav", &nav, chromedp.ByQuery),
		chromedp.Navigate(s.url+"/matchmaking"), chromedp.WaitVisible("#error", chromedp.ByID),
		chromedp.AttributeValue("#error", "data-status", &status, nil, chromedp.ByID))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(nav, "Matchmaking") || status != "403" {
		t.Errorf("support: nav %q, /matchmaking answers %s", nav, status)
	}
}
