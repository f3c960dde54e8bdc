package matchmaking

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// QueueStats is a queue's live state for staff: who waits and how long
// matched players waited over the last hour.
type QueueStats struct {
	Queue         string        `db:"queue"`
	Tickets       int           `db:"tickets"`
	Players       int           `db:"players"`
	OldestWait    time.Duration `db:"-"`
	Matches       int           `db:"matches"`
	Fallback      int           `db:"fallback"`
	WaitP50       time.Duration `db:"-"`
	WaitP90       time.Duration `db:"-"`
	WaitP99       time.Duration `db:"-"`
	MeanSpread    float64       `db:"mean_spread"`
	MeanImbalance float64       `db:"mean_imbalance"`
	Holder        string        `db:"holder"` // the replica holding the lease, empty when none
	Regions       []RegionStats `db:"-"`
}

// RegionStats is the waiting players of a queue by their best region.
type RegionStats struct {
	Region  string
	Players int
}

// Stats answers every queue that has tickets, matches or a lease.
func Stats(ctx context.Context, conn sqlx.QueryerContext) ([]QueueStats, error) {
	var rows []struct {
		QueueStats
		OldestMs int64 `db:"oldest_ms"`
		P50      int64 `db:"p50"`
		P90      int64 `db:"p90"`
		P99      int64 `db:"p99"`
	}
	const q = `
WITH waiting AS (
    SELECT queue, count(*) AS tickets, sum(jsonb_array_length(players)) AS players,
           max(extract(epoch FROM now() - waiting_since) * 1000)::bigint AS oldest_ms
    FROM mm_tickets WHERE state = 'waiting' GROUP BY queue
), waited AS (
    SELECT queue,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY w) AS p50,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY w) AS p90,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY w) AS p99
    FROM (SELECT queue, extract(epoch FROM updated_at - waiting_since) * 1000 AS w
          FROM mm_tickets WHERE state = 'matched' AND updated_at > now() - interval '1 hour') t
    GROUP BY queue
), formed AS (
    SELECT queue, count(*) AS matches, count(*) FILTER (WHERE NOT full_match) AS fallback,
           avg(spread) AS mean_spread, avg(imbalance) AS mean_imbalance
    FROM mm_matches WHERE formed_at > now() - interval '1 hour' GROUP BY queue
), queues AS (
    SELECT queue FROM waiting UNION SELECT queue FROM formed
    UNION SELECT queue FROM mm_leases WHERE expires_at > now()
)
SELECT q.queue, coalesce(w.tickets, 0) AS tickets, coalesce(w.players, 0) AS players, coalesce(w.oldest_ms, 0) AS oldest_ms,
       coalesce(f.matches, 0) AS matches, coalesce(f.fallback, 0) AS fallback,
       coalesce(f.mean_spread, 0) AS mean_spread, coalesce(f.mean_imbalance, 0) AS mean_imbalance,
       coalesce(d.p50, 0)::bigint AS p50, coalesce(d.p90, 0)::bigint AS p90, coalesce(d.p99, 0)::bigint AS p99,
       coalesce((SELECT holder FROM mm_leases l WHERE l.queue = q.queue AND l.expires_at > now()), '') AS holder
FROM queues q LEFT JOIN waiting w USING (queue) LEFT JOIN formed f USING (queue) LEFT JOIN waited d USING (queue)
ORDER BY q.queue`
	if err := sqlx.SelectContext(ctx, conn, &rows, q); err != nil {
		return nil, err
	}
	var regions []struct {
		Queue   string `db:"queue"`
		Region  string `db:"region"`
		Players int    `db:"players"`
	}
	// A ticket's best region is the one of its lowest latency.
	if err := sqlx.SelectContext(ctx, conn, &regions, `
		SELECT queue, region, sum(jsonb_array_length(players))::int AS players FROM (
		    SELECT DISTINCT ON (t.id) t.queue, t.players, l.key AS region
		    FROM mm_tickets t, jsonb_each_text(t.latency) l
		    WHERE t.state = 'waiting' ORDER BY t.id, l.value::int) best
		GROUP BY queue, region ORDER BY queue, region`); err != nil {
		return nil, err
	}
	out := make([]QueueStats, len(rows))
	for i, r := range rows {
		out[i] = r.QueueStats
		out[i].OldestWait = time.Duration(r.OldestMs) * time.Millisecond
		out[i].WaitP50 = time.Duration(r.P50) * time.Millisecond
		out[i].WaitP90 = time.Duration(r.P90) * time.Millisecond
		out[i].WaitP99 = time.Duration(r.P99) * time.Millisecond
		for _, g := range regions {
			if g.Queue == r.Queue {
				out[i].Regions = append(out[i].Regions, RegionStats{Region: g.Region, Players: g.Players})
			}
		}
	}
	return out, nil
}
