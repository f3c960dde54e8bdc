package player

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/season"
)

// StatsConsumerName is the outbox consumer, and the match.Claim consumer,
// that writes stats.
const StatsConsumerName = "stats"

// Stats are a player's match stats over their lifetime or one season.
type Stats struct {
	Matches       int64            `db:"matches" json:"matches"`
	Wins          int64            `db:"wins" json:"wins"`
	BestPlacement *int             `db:"best_placement" json:"best_placement"` // nil: none reported yet
	MostKills     int64            `db:"most_kills" json:"most_kills"`         // in one match
	Totals        map[string]int64 `db:"-" json:"totals"`                      // match stat name -> sum
	KillsByClass  map[string]int64 `db:"-" json:"kills_by_class"`              // weapon class -> kills
	LastMatchAt   *time.Time       `db:"last_match_at" json:"last_match_at"`
}

// SeasonStats are a player's stats in one season.
type SeasonStats struct {
	Season season.Season `json:"-"`
	Stats
}

// statColumns are the match stats summed, each in the column of its name.
var statColumns = []string{match.StatKills, match.StatDeaths, match.StatAssists, match.StatDamage,
	match.StatHeadshots, match.StatRevives, match.StatScore, match.StatSecondsPlayed}

// StatsConsumer applies accepted match results (match.TopicAccepted) to
// stats. Register it with the outbox relay.
func (s *Store) StatsConsumer() outbox.Consumer {
	return outbox.Consumer{Name: StatsConsumerName, Topics: []string{match.TopicAccepted},
		Handle: func(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
			var a match.Accepted
			if err := ev.Decode(&a); err != nil {
				return err
			}
			return ApplyMatch(ctx, tx, a)
		}}
}

// applySQL adds one match to the lifetime row (season empty) and, when the match
// belongs to a season, the season row of each player, in one statement.
// Rows are written in key order, so two matches applied at once that share
// players take their row locks in the same order and cannot deadlock.
const applySQL = `
INSERT INTO player_stats AS s (account_id, season, matches, wins, best_placement, most_kills,
	kills, deaths, assists, damage, headshots, revives, score, seconds_played, kills_by_class, last_match_at)
SELECT p.account_id, sc.season, 1, p.won::int, nullif(p.placement, 0), p.kills,
	p.kills, p.deaths, p.assists, p.damage, p.headshots, p.revives, p.score, p.seconds_played, p.classes::jsonb, $14
FROM unnest($1::bigint[], $2::int[], $3::bool[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
		$8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[])
	AS p (account_id, placement, won, kills, deaths, assists, damage, headshots, revives, score, seconds_played, classes)
CROSS JOIN unnest($13::text[]) AS sc (season)
ORDER BY p.account_id, sc.season
ON CONFLICT (account_id, season) DO UPDATE SET
	matches = s.matches + 1,
	wins = s.wins + EXCLUDED.wins,
	best_placement = least(s.best_placement, EXCLUDED.best_placement),
	most_kills = greatest(s.most_kills, EXCLUDED.most_kills),
	kills = s.kills + EXCLUDED.kills,
	deaths = s.deaths + EXCLUDED.deaths,
	assists = s.assists + EXCLUDED.assists,
	damage = s.damage + EXCLUDED.damage,
	headshots = s.headshots + EXCLUDED.headshots,
	revives = s.revives + EXCLUDED.revives,
	score = s.score + EXCLUDED.score,
	seconds_played = s.seconds_played + EXCLUDED.seconds_played,
	kills_by_class = CASE WHEN EXCLUDED.kills_by_class = '{}' THEN s.kills_by_class ELSE (
		SELECT jsonb_object_agg(k, n) FROM (
			SELECT k, sum(v) AS n FROM (
				SELECT key AS k, value::bigint AS v FROM jsonb_each_text(s.kills_by_class)
				UNION ALL
				SELECT key, value::bigint FROM jsonb_each_text(EXCLUDED.kills_by_class)
			) u GROUP BY k
		) g) END,
	last_match_at = greatest(s.last_match_at, EXCLUDED.last_match_at),
	updated_at = now()`

// ApplyMatch adds an accepted match to its players' lifetime stats and to
// their stats of the season it started in, inside tx, once per match
// (match.Claim): a match applied before changes nothing. All players go in
// one statement.
func ApplyMatch(ctx context.Context, tx *sqlx.Tx, a match.Accepted) error {
	first, err := match.Claim(ctx, tx, StatsConsumerName, a.MatchID)
	if err != nil {
		return fmt.Errorf("claim match %s: %w", a.MatchID, err)
	}
	if !first || len(a.Players) == 0 {
		return nil
	}
	scopes := pq.StringArray{""}
	se, found, err := season.At(ctx, tx, a.StartedAt)
	if err != nil {
		return fmt.Errorf("season of match %s: %w", a.MatchID, err)
	}
	if found {
		scopes = append(scopes, se.ID)
	}

	n := len(a.Players)
	ids := make(pq.Int64Array, 0, n)
	placements := make(pq.Int64Array, 0, n)
	won := make(pq.BoolArray, 0, n)
	cols := make([]pq.Int64Array, len(statColumns))
	for i := range cols {
		cols[i] = make(pq.Int64Array, 0, n)
	}
	classes := make(pq.StringArray, 0, n)
	seen := make(map[int64]bool, n)
	for _, p := range a.Players {
		if seen[p.AccountID] { // results name a player once; never apply one twice
			continue
		}
		seen[p.AccountID] = true
		ids = append(ids, p.AccountID)
		placements = append(placements, int64(max(p.Placement, 0)))
		won = append(won, p.Won)
		for i, name := range statColumns {
			cols[i] = append(cols[i], p.Stats[name])
		}
		byClass := map[string]int64{}
		for c, k := range p.KillsByClass {
			if k != 0 {
				byClass[c] = k
			}
		}
		b, err := json.Marshal(byClass)
		if err != nil {
			return err
		}
		classes = append(classes, string(b))
	}
	args := []any{ids, placements, won}
	for _, c := range cols {
		args = append(args, c)
	}
	args = append(args, classes, scopes, a.EndedAt)
	if _, err := tx.ExecContext(ctx, applySQL, args...); err != nil {
		return fmt.Errorf("apply match %s to stats: %w", a.MatchID, err)
	}
	return nil
}

type statsRow struct {
	Season string `db:"season"`
	Stats
	Kills         int64  `db:"kills"`
	Deaths        int64  `db:"deaths"`
	Assists       int64  `db:"assists"`
	Damage        int64  `db:"damage"`
	Headshots     int64  `db:"headshots"`
	Revives       int64  `db:"revives"`
	Score         int64  `db:"score"`
	SecondsPlayed int64  `db:"seconds_played"`
	ByClass       []byte `db:"kills_by_class"`
}

func (r statsRow) stats() (Stats, error) {
	st := r.Stats
	st.Totals = map[string]int64{
		match.StatKills: r.Kills, match.StatDeaths: r.Deaths, match.StatAssists: r.Assists, match.StatDamage: r.Damage,
		match.StatHeadshots: r.Headshots, match.StatRevives: r.Revives, match.StatScore: r.Score,
		match.StatSecondsPlayed: r.SecondsPlayed,
	}
	st.KillsByClass = map[string]int64{}
	if err := json.Unmarshal(r.ByClass, &st.KillsByClass); err != nil {
		return Stats{}, fmt.Errorf("decode kills by class: %w", err)
	}
	if st.LastMatchAt != nil {
		t := st.LastMatchAt.UTC()
		st.LastMatchAt = &t
	}
	return st, nil
}

// emptyStats are the stats of a player who has not played (in a season).
func emptyStats() Stats {
	st, _ := statsRow{ByClass: []byte(`{}`)}.stats()
	return st
}

// StatsView is a player's lifetime stats and those of one season; Season
// is nil when no season was asked for and none is running.
type StatsView struct {
	Lifetime Stats
	Season   *SeasonStats
}

// Stats returns a player's lifetime stats and their stats in the season
// seasonID, or in the season running now when seasonID is empty.
// ErrUnknownSeason when seasonID names no published season.
func (s *Store) Stats(ctx context.Context, accountID int64, seasonID string) (StatsView, error) {
	var se season.Season
	found := false
	if seasonID != "" {
		if !content.ValidID(seasonID) {
			return StatsView{}, fmt.Errorf("%w: %s", ErrUnknownSeason, seasonID)
		}
		var err error
		se, err = season.Get(ctx, s.conn, seasonID)
		if errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished) {
			return StatsView{}, fmt.Errorf("%w: %s", ErrUnknownSeason, seasonID)
		}
		if err != nil {
			return StatsView{}, fmt.Errorf("load season: %w", err)
		}
		found = true
	} else {
		var err error
		if se, found, err = season.At(ctx, s.conn, time.Now()); err != nil {
			return StatsView{}, fmt.Errorf("load season: %w", err)
		}
	}
	scopes := pq.StringArray{""}
	if found {
		scopes = append(scopes, se.ID)
	}
	var rows []statsRow
	const q = `SELECT season, matches, wins, best_placement, most_kills, kills, deaths, assists, damage, headshots,
			revives, score, seconds_played, kills_by_class, last_match_at
		FROM player_stats WHERE account_id = $1 AND season = ANY($2)`
	if err := s.conn.SelectContext(ctx, &rows, q, accountID, scopes); err != nil {
		return StatsView{}, fmt.Errorf("load stats: %w", err)
	}
	out := StatsView{Lifetime: emptyStats()}
	if found {
		out.Season = &SeasonStats{Season: se, Stats: emptyStats()}
	}
	for _, r := range rows {
		st, err := r.stats()
		if err != nil {
			return StatsView{}, err
		}
		if r.Season == "" {
			out.Lifetime = st
		} else if out.Season != nil {
			out.Season.Stats = st
		}
	}
	return out, nil
}
