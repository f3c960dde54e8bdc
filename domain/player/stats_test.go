package player_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/domain/season"
	"github.com/musterhq/muster/test/testenv"
)

// openMatches writes the match rows accepted results belong to (the match
// package's table: match.Claim refers to it), for a test server.
func openMatches(t testing.TB, conn *sqlx.DB, startedAt time.Time, ids ...string) {
	t.Helper()
	const srv = `INSERT INTO game_servers (name, secret_hash) VALUES ('player-tests', '\x00') ON CONFLICT (name) DO NOTHING`
	if _, err := conn.Exec(srv); err != nil {
		t.Fatal(err)
	}
	const q = `INSERT INTO matches (id, server_id, mode, roster, started_at)
		SELECT m, (SELECT id FROM game_servers WHERE name = 'player-tests'), 'test', '{}', $2 FROM unnest($1::text[]) AS m`
	if _, err := conn.Exec(q, pq.StringArray(ids), startedAt); err != nil {
		t.Fatal(err)
	}
}

func result(id int64, placement int, kills, deaths int64, byClass map[string]int64) match.AcceptedPlayer {
	return match.AcceptedPlayer{PlayerResult: match.PlayerResult{AccountID: id, Team: placement, Placement: placement,
		Stats:        map[string]int64{match.StatKills: kills, match.StatDeaths: deaths, match.StatSecondsPlayed: 600},
		KillsByClass: byClass}, Won: placement == 1}
}

func TestStatsConsumerAppliesEachMatchOncePerSeason(t *testing.T) {
	w := newWorld(t)
	s := w.store(player.Config{})
	ctx := context.Background()

	// A season that runs now, and a match before it.
	now := time.Now().UTC().Truncate(time.Second)
	s1 := season.Season{Name: "Season one", StartsAt: now.Add(-24 * time.Hour), EndsAt: now.Add(24 * time.Hour)}
	publish(t, w.conn, season.ContentKind(), "player-test-s1", s1)

	a, b := w.player(t), w.player(t)
	tag := economytest.Name("m")
	inSeason := []match.Accepted{
		{MatchID: tag + "-1", Mode: "test", StartedAt: now.Add(-time.Hour), EndedAt: now.Add(-50 * time.Minute), Players: []match.AcceptedPlayer{
			result(a, 1, 10, 2, map[string]int64{"rifle": 7, "smg": 3}), result(b, 2, 4, 9, nil)}},
		{MatchID: tag + "-2", Mode: "test", StartedAt: now.Add(-30 * time.Minute), EndedAt: now.Add(-20 * time.Minute), Players: []match.AcceptedPlayer{
			result(a, 3, 5, 5, map[string]int64{"rifle": 1, "sniper": 4}), result(b, 1, 12, 1, map[string]int64{"smg": 12})}},
	}
	before := match.Accepted{MatchID: tag + "-0", Mode: "test", StartedAt: now.Add(-48 * time.Hour), EndedAt: now.Add(-47 * time.Hour),
		Players: []match.AcceptedPlayer{result(a, 2, 1, 0, map[string]int64{"rifle": 1})}}
	openMatches(t, w.conn, now, before.MatchID, inSeason[0].MatchID, inSeason[1].MatchID)

	relay := outbox.NewRelay(w.conn, testenv.DBURL(t), quiet, prometheus.NewRegistry(), outbox.Config{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err := relay.Register(ctx, s.StatsConsumer()); err != nil {
		t.Fatal(err)
	}
	// Each match is sent twice, as two events: the second changes nothing.
	for range 2 {
		for _, m := range append([]match.Accepted{before}, inSeason...) {
			enqueue(t, w.conn, m)
		}
	}
	deliverAll(t, w.conn, relay)

	tests := []struct {
		name                         string
		who                          int64
		season                       string
		matches, wins, kills, deaths int64
		best                         int
		most                         int64
		byClass                      map[string]int64
	}{
		{"a lifetime", a, "", 3, 1, 16, 7, 1, 10, map[string]int64{"rifle": 9, "smg": 3, "sniper": 4}},
		{"a in season", a, "player-test-s1", 2, 1, 15, 7, 1, 10, map[string]int64{"rifle": 8, "smg": 3, "sniper": 4}},
		{"b lifetime", b, "", 2, 1, 16, 10, 1, 12, map[string]int64{"smg": 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := s.Stats(ctx, tt.who, tt.season)
			if err != nil {
				t.Fatal(err)
			}
			st := v.Lifetime
			if tt.season != "" {
				if v.Season == nil || v.Season.Season.ID != tt.season {
					t.Fatalf("season = %+v", v.Season)
				}
				st = v.Season.Stats
			}
			if st.Matches != tt.matches || st.Wins != tt.wins || st.Totals[match.StatKills] != tt.kills ||
				st.Totals[match.StatDeaths] != tt.deaths || st.BestPlacement == nil || *st.BestPlacement != tt.best ||
				st.MostKills != tt.most || st.Totals[match.StatSecondsPlayed] != 600*tt.matches {
				t.Fatalf("stats = %+v (best %v)", st, st.BestPlacement)
			}
			if fmt.Sprint(st.KillsByClass) != fmt.Sprint(tt.byClass) {
				t.Fatalf("kills by class = %v, want %v", st.KillsByClass, tt.byClass)
			}
		})
	}

	// With no season asked for, the running one is shown.
	v, err := s.Stats(ctx, b, "")
	if err != nil || v.Season == nil || v.Season.Season.ID != "player-test-s1" || v.Season.Matches != 2 {
		t.Fatalf("current season = %+v, %v", v.Season, err)
	}
	if _, err := s.Stats(ctx, b, "no-such-season"); !errors.Is(err, player.ErrUnknownSeason) {
		t.Fatalf("unknown season: %v", err)
	}
	// A player who never played has zeroes.
	v, err = s.Stats(ctx, w.player(t), "")
	if err != nil || v.Lifetime.Matches != 0 || v.Lifetime.BestPlacement != nil || v.Lifetime.Totals == nil {
		t.Fatalf("new player's stats = %+v, %v", v, err)
	}
}

func TestApplyMatchClaimsTheMatch(t *testing.T) {
	w := newWorld(t)
	a := w.player(t)
	m := match.Accepted{MatchID: economytest.Name("claim"), Mode: "test", StartedAt: time.Now(), EndedAt: time.Now(),
		Players: []match.AcceptedPlayer{result(a, 1, 3, 1, nil), result(a, 1, 3, 1, nil)}} // named twice: counted once
	openMatches(t, w.conn, time.Now(), m.MatchID)
	for range 2 {
		tx := w.conn.MustBegin()
		if err := player.ApplyMatch(context.Background(), tx, m); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	v, err := w.store(player.Config{}).Stats(context.Background(), a, "")
	if err != nil || v.Lifetime.Matches != 1 || v.Lifetime.Totals[match.StatKills] != 3 {
		t.Fatalf("stats = %+v, %v", v.Lifetime, err)
	}
}

func enqueue(t testing.TB, conn *sqlx.DB, m match.Accepted) {
	t.Helper()
	tx := conn.MustBegin()
	if _, err := outbox.Enqueue(context.Background(), tx, match.TopicAccepted, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// deliverAll runs the relay until no delivery of match results is pending,
// and fails on a dead one.
func deliverAll(t testing.TB, conn *sqlx.DB, relay *outbox.Relay) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		n, err := relay.DeliverDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var pending, failed int
		const q = `SELECT count(*) FILTER (WHERE d.state = 'pending'), count(*) FILTER (WHERE d.attempts > 0 AND d.state <> 'delivered')
			FROM outbox_deliveries d WHERE d.consumer = $1`
		if err := conn.QueryRow(q, player.StatsConsumerName).Scan(&pending, &failed); err != nil {
			t.Fatal(err)
		}
		if failed > 0 {
			var lastErr string
			_ = conn.Get(&lastErr, `SELECT coalesce(max(last_error), '') FROM outbox_deliveries WHERE consumer = $1`, player.StatsConsumerName)
			t.Fatalf("a stats delivery failed: %s", lastErr)
		}
		if pending == 0 {
			return
		}
		if n == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	t.Fatal("stats deliveries still pending after 10s")
}

// TestProfileCacheConsumerShowsLevelUps stands in for progression: it
// changes a player's level and writes an event naming them in the same
// transaction; once the event is delivered the cached profile shows it.
func TestProfileCacheConsumerShowsLevelUps(t *testing.T) {
	w := newWorld(t)
	s := w.store(player.Config{})
	ctx := context.Background()
	p := w.player(t)
	if got, err := s.Profile(ctx, p); err != nil || got.Level != 1 {
		t.Fatalf("profile = %+v, %v", got, err)
	}
	const topic = "player_test.level_up"
	relay := outbox.NewRelay(w.conn, testenv.DBURL(t), quiet, prometheus.NewRegistry(), outbox.Config{})
	if err := relay.Register(ctx, s.ProfileCacheConsumer(topic)); err != nil {
		t.Fatal(err)
	}
	tx := w.conn.MustBegin()
	if _, err := tx.Exec(`INSERT INTO progression (account_id, level) VALUES ($1, 4)`, p); err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Enqueue(ctx, tx, topic, map[string]any{"account_id": p, "level": 4}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Profile(ctx, p); got.Level != 1 {
		t.Fatalf("the cached profile changed before the event: %+v", got)
	}
	if _, err := relay.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Profile(ctx, p); err != nil || got.Level != 4 {
		t.Fatalf("profile after the event = %+v, %v", got, err)
	}
}
