package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/db"
)

// Swept is what one Sweep did.
type Swept struct {
	Gone    int // instances silent past the timeout, now gone
	Lost    int // matches allocated to them, now lost
	Expired int // matches past their mode's longest duration, now ended
	Pruned  int // gone instances and finished allocations past the retention, deleted
}

// Sweep marks instances silent for longer than HeartbeatTimeout gone and
// their matches lost (players get KindMatchLost), ends matches that ran
// past their mode's longest duration (freeing their slots), and deletes
// what is older than the retention. Several processes may sweep at once.
func (r *Registry) Sweep(ctx context.Context) (Swept, error) {
	var sw Swept
	err := db.InTx(ctx, r.conn, nil, func(tx *sqlx.Tx) error {
		sw = Swept{}
		var silent []int64
		const sel = `SELECT id FROM fleet_instances
			WHERE state <> 'gone' AND heartbeat_at < now() - $1 * interval '1 millisecond'
			ORDER BY id FOR UPDATE SKIP LOCKED`
		if err := tx.SelectContext(ctx, &silent, sel, r.cfg.HeartbeatTimeout.Milliseconds()); err != nil {
			return fmt.Errorf("find silent instances: %w", err)
		}
		if len(silent) > 0 {
			lost, err := markGone(ctx, tx, silent, "silent")
			if err != nil {
				return err
			}
			sw.Gone, sw.Lost = len(silent), lost
		}
		var expired []string
		const exp = `SELECT match_id FROM fleet_allocations WHERE state = 'allocated' AND expires_at < now()
			ORDER BY match_id LIMIT 1000 FOR UPDATE SKIP LOCKED`
		if err := tx.SelectContext(ctx, &expired, exp); err != nil {
			return fmt.Errorf("find expired allocations: %w", err)
		}
		for _, id := range expired {
			if _, err := endIn(ctx, tx, id, "expired"); err != nil {
				return err
			}
		}
		sw.Expired = len(expired)
		return nil
	})
	if err != nil {
		return Swept{}, err
	}
	n, err := r.prune(ctx)
	sw.Pruned = n
	return sw, err
}

// prune deletes finished allocations (with their players) and gone
// instances older than the retention, a bounded batch at a time.
func (r *Registry) prune(ctx context.Context) (int, error) {
	cutoff := r.cfg.Retention.Milliseconds()
	const allocs = `DELETE FROM fleet_allocations WHERE match_id = ANY(ARRAY(
		SELECT match_id FROM fleet_allocations WHERE state IN ('ended', 'lost', 'failed')
		AND coalesce(ended_at, created_at) < now() - $1 * interval '1 millisecond' LIMIT 1000))`
	res, err := r.conn.ExecContext(ctx, allocs, cutoff)
	if err != nil {
		return 0, fmt.Errorf("prune allocations: %w", err)
	}
	a, _ := res.RowsAffected()
	const instances = `DELETE FROM fleet_instances WHERE id = ANY(ARRAY(
		SELECT id FROM fleet_instances WHERE state = 'gone' AND gone_at < now() - $1 * interval '1 millisecond' LIMIT 1000))`
	res, err = r.conn.ExecContext(ctx, instances, cutoff)
	if err != nil {
		return int(a), fmt.Errorf("prune instances: %w", err)
	}
	i, _ := res.RowsAffected()
	return int(a + i), nil
}

// RunSweeper sweeps every interval until ctx ends. With reg, it also
// exports the fleet's load after each sweep: muster_fleet_instances by
// region and state (ready with a free slot, busy, draining) and
// muster_fleet_slots by region and use (allocated, free), the same on every
// sessions pod.
func (r *Registry) RunSweeper(ctx context.Context, every time.Duration, log *slog.Logger, reg prometheus.Registerer) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	instances := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "muster_fleet_instances", Help: "Live game server processes registered with sessions, by region and state (ready with a free slot, busy, draining).",
	}, []string{"region", "state"})
	slots := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "muster_fleet_slots", Help: "Match slots of live, not draining, game server processes, by region and use (allocated, free).",
	}, []string{"region", "use"})
	if reg != nil {
		reg.MustRegister(instances, slots)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		sw, err := r.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("fleet sweep", "err", err)
		case sw.Gone > 0 || sw.Expired > 0:
			log.Warn("fleet sweep", "instances_gone", sw.Gone, "matches_lost", sw.Lost, "matches_expired", sw.Expired)
		}
		if reg == nil {
			continue
		}
		loads, err := r.Loads(ctx)
		if err != nil {
			continue
		}
		instances.Reset()
		slots.Reset()
		for _, l := range loads {
			instances.WithLabelValues(l.Region, StateReady).Set(float64(l.Ready))
			instances.WithLabelValues(l.Region, StateBusy).Set(float64(l.Instances - l.Ready - l.Draining))
			instances.WithLabelValues(l.Region, StateDraining).Set(float64(l.Draining))
			slots.WithLabelValues(l.Region, "allocated").Set(float64(l.Allocated))
			slots.WithLabelValues(l.Region, "free").Set(float64(l.Free))
		}
	}
}
