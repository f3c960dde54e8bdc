package challenge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/reward"
)

// Config tunes a Store.
type Config struct {
	// Now is the clock that says which period is current; time.Now when nil.
	Now func() time.Time
}

// Store assigns, advances and rerolls players' challenges.
type Store struct {
	conn  *sqlx.DB
	payer *reward.Payer
	now   func() time.Time

	mu     sync.Mutex
	cached *plan
}

// New returns a Store that pays rewards through payer.
func New(conn *sqlx.DB, payer *reward.Payer, cfg Config) *Store {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Store{conn: conn, payer: payer, now: now}
}

// Now is the Store's clock.
func (s *Store) Now() time.Time { return s.now() }

// plan is the published rotation and the pools it draws from, parsed once
// per set of published versions.
type plan struct {
	versions  map[string]int // "kind/id" -> published version, for telling when to parse again
	rot       Rotation
	weekday   time.Weekday
	zones     map[string]zone
	countries map[string]string // store country -> region
	pools     map[Cadence]*pool // cadences that give challenges
}

type pool struct {
	id         string
	version    int
	challenges []Challenge
}

// regionOf is the region of a player whose store country is country.
func (p *plan) regionOf(country string) string {
	if r, ok := p.countries[country]; ok {
		return r
	}
	return p.rot.DefaultRegion
}

func (p *plan) period(c Cadence, region string, t time.Time) Period {
	return p.zones[region].period(c, t, p.weekday)
}

// plan returns the published rotation and pools, read through q, parsing
// them again only when a version changed. ErrNotConfigured: no rotation is
// published.
func (s *Store) plan(ctx context.Context, q sqlx.QueryerContext) (*plan, error) {
	var rows []struct {
		Kind    string `db:"kind"`
		ID      string `db:"id"`
		Version int    `db:"published_version"`
	}
	const sel = `SELECT kind, id, published_version FROM content_documents WHERE kind IN ($1, $2) AND published_version > 0`
	if err := sqlx.SelectContext(ctx, q, &rows, sel, KindPool, KindRotation); err != nil {
		return nil, fmt.Errorf("load challenge content versions: %w", err)
	}
	versions := make(map[string]int, len(rows))
	for _, r := range rows {
		versions[r.Kind+"/"+r.ID] = r.Version
	}
	s.mu.Lock()
	cached := s.cached
	s.mu.Unlock()
	if cached != nil && maps.Equal(cached.versions, versions) {
		return cached, nil
	}
	if _, ok := versions[KindRotation+"/"+RotationID]; !ok {
		return nil, ErrNotConfigured
	}

	p := &plan{versions: versions, zones: map[string]zone{}, countries: map[string]string{}, pools: map[Cadence]*pool{}}
	if _, err := content.Published(ctx, q, KindRotation, RotationID, &p.rot); err != nil {
		return nil, fmt.Errorf("load challenge rotation: %w", err)
	}
	wd, ok := parseWeekday(p.rot.WeeklyDay)
	if !ok {
		return nil, fmt.Errorf("challenge rotation: weekly_day %q", p.rot.WeeklyDay)
	}
	p.weekday = wd
	for id, reg := range p.rot.Regions {
		z, err := loadZone(reg)
		if err != nil {
			return nil, fmt.Errorf("challenge rotation: region %s: %w", id, err)
		}
		p.zones[id] = z
		for _, c := range reg.Countries {
			p.countries[c] = id
		}
	}
	if _, ok := p.zones[p.rot.DefaultRegion]; !ok {
		return nil, fmt.Errorf("challenge rotation: no default region %q", p.rot.DefaultRegion)
	}
	for _, c := range Cadences {
		sl := p.rot.Slate(c)
		if sl.Count <= 0 {
			continue
		}
		var body Pool
		v, err := content.Published(ctx, q, KindPool, sl.Pool, &body)
		if errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished) {
			continue // checked when the rotation was published; nothing to draw from
		}
		if err != nil {
			return nil, fmt.Errorf("load challenge pool %s: %w", sl.Pool, err)
		}
		p.versions[KindPool+"/"+sl.Pool] = v
		p.pools[c] = &pool{id: sl.Pool, version: v, challenges: body.Challenges}
	}
	s.mu.Lock()
	s.cached = p
	s.mu.Unlock()
	return p, nil
}

// regions returns the region of each account of ids that exists.
func (s *Store) regions(ctx context.Context, q sqlx.QueryerContext, p *plan, ids []int64) (map[int64]string, error) {
	var rows []struct {
		ID      int64  `db:"id"`
		Country string `db:"country"`
	}
	const sel = `SELECT id, COALESCE(store_country, '') AS country FROM accounts WHERE id = ANY($1)`
	if err := sqlx.SelectContext(ctx, q, &rows, sel, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("load players' regions: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = p.regionOf(r.Country)
	}
	return out, nil
}

// want is a set a player should have: their set of a cadence for the
// period containing some moment, in their region.
type want struct {
	accountID int64
	region    string
	period    Period
}

func sortWants(ws []want) {
	sort.Slice(ws, func(i, j int) bool {
		if ws[i].accountID != ws[j].accountID {
			return ws[i].accountID < ws[j].accountID
		}
		return ws[i].period.Key < ws[j].period.Key
	})
}

// create draws and stores the sets of wants, in one statement. A set that
// exists already (drawn meanwhile by another transaction) is kept as it is.
func (s *Store) create(ctx context.Context, tx *sqlx.Tx, p *plan, wants []want) error {
	type setRow struct {
		AccountID   int64     `json:"account_id"`
		Period      string    `json:"period"`
		Region      string    `json:"region"`
		PoolID      string    `json:"pool_id"`
		PoolVersion int       `json:"pool_version"`
		EndsAt      time.Time `json:"ends_at"`
	}
	type slotRow struct {
		AccountID   int64           `json:"account_id"`
		Period      string          `json:"period"`
		Slot        int             `json:"slot"`
		ChallengeID string          `json:"challenge_id"`
		Def         json.RawMessage `json:"def"`
		Target      int64           `json:"target"`
	}
	sortWants(wants)
	var sets []setRow
	var slots []slotRow
	for _, w := range wants {
		pl := p.pools[w.period.Cadence]
		if pl == nil {
			continue
		}
		n := p.rot.Slate(w.period.Cadence).Count
		drawn := pick(seed(w.accountID, w.period.Key, pl.id, pl.version, 0), pl.challenges, n)
		sets = append(sets, setRow{AccountID: w.accountID, Period: w.period.Key, Region: w.region, PoolID: pl.id, PoolVersion: pl.version, EndsAt: w.period.End})
		for i, c := range drawn {
			def, err := json.Marshal(c)
			if err != nil {
				return err
			}
			slots = append(slots, slotRow{AccountID: w.accountID, Period: w.period.Key, Slot: i, ChallengeID: c.ID, Def: def, Target: c.Goal.Target})
		}
	}
	if len(sets) == 0 {
		return nil
	}
	setsJSON, err := json.Marshal(sets)
	if err != nil {
		return err
	}
	slotsJSON, err := json.Marshal(slots)
	if err != nil {
		return err
	}
	const ins = `
WITH sets AS (
    INSERT INTO challenge_sets (account_id, period, region, pool_id, pool_version, ends_at)
    SELECT x.account_id, x.period, x.region, x.pool_id, x.pool_version, x.ends_at
    FROM jsonb_to_recordset($1::jsonb) AS x(account_id bigint, period text, region text, pool_id text, pool_version integer, ends_at timestamptz)
    ON CONFLICT (account_id, period) DO NOTHING
    RETURNING account_id, period
)
INSERT INTO challenge_slots (account_id, period, slot, challenge_id, def, target)
SELECT x.account_id, x.period, x.slot, x.challenge_id, x.def, x.target
FROM jsonb_to_recordset($2::jsonb) AS x(account_id bigint, period text, slot smallint, challenge_id text, def jsonb, target bigint)
JOIN sets ON sets.account_id = x.account_id AND sets.period = x.period`
	if _, err := tx.ExecContext(ctx, ins, setsJSON, slotsJSON); err != nil {
		return fmt.Errorf("draw challenges: %w", err)
	}
	return nil
}

// Set is a player's challenges of one period.
type Set struct {
	Cadence     Cadence
	Period      string
	Region      string
	EndsAt      time.Time
	RerollsLeft int
	Challenges  []Assigned // in slot order
	rerollsUsed int
}

// Assigned is one challenge of a player's set with their progress.
type Assigned struct {
	Challenge
	Progress    int64
	CompletedAt *time.Time
	slot        int
}

// Completed reports whether the challenge is complete.
func (a Assigned) Completed() bool { return a.CompletedAt != nil }

// View is a player's current challenges: a nil set is a cadence the
// rotation turns off.
type View struct {
	Daily  *Set
	Weekly *Set
}

// Sets lists the sets of v that exist, daily first.
func (v View) Sets() []*Set {
	var out []*Set
	for _, s := range []*Set{v.Daily, v.Weekly} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// load reads one player's sets of periods with their challenges.
func load(ctx context.Context, q sqlx.QueryerContext, accountID int64, periods []string) (map[string]*Set, error) {
	var rows []struct {
		Period      string     `db:"period"`
		Region      string     `db:"region"`
		EndsAt      time.Time  `db:"ends_at"`
		RerollsUsed int        `db:"rerolls_used"`
		Slot        int        `db:"slot"`
		Def         []byte     `db:"def"`
		Progress    int64      `db:"progress"`
		CompletedAt *time.Time `db:"completed_at"`
	}
	const sel = `
SELECT cs.period, cs.region, cs.ends_at, cs.rerolls_used, s.slot, s.def, s.progress, s.completed_at
FROM challenge_sets cs JOIN challenge_slots s ON s.account_id = cs.account_id AND s.period = cs.period
WHERE cs.account_id = $1 AND cs.period = ANY($2)
ORDER BY cs.period, s.slot`
	if err := sqlx.SelectContext(ctx, q, &rows, sel, accountID, pq.Array(periods)); err != nil {
		return nil, fmt.Errorf("load challenges: %w", err)
	}
	out := map[string]*Set{}
	for _, r := range rows {
		set := out[r.Period]
		if set == nil {
			set = &Set{Period: r.Period, Region: r.Region, EndsAt: r.EndsAt, rerollsUsed: r.RerollsUsed}
			out[r.Period] = set
		}
		a := Assigned{Progress: r.Progress, CompletedAt: r.CompletedAt, slot: r.Slot}
		if err := json.Unmarshal(r.Def, &a.Challenge); err != nil {
			return nil, fmt.Errorf("decode challenge of %s: %w", r.Period, err)
		}
		set.Challenges = append(set.Challenges, a)
	}
	return out, nil
}

// wants returns the player's sets for the periods containing now in their
// region.
func (s *Store) wants(ctx context.Context, q sqlx.QueryerContext, p *plan, accountID int64, now time.Time) ([]want, error) {
	regions, err := s.regions(ctx, q, p, []int64{accountID})
	if err != nil {
		return nil, err
	}
	region, ok := regions[accountID]
	if !ok {
		return nil, fmt.Errorf("no account %d", accountID)
	}
	var wants []want
	for _, c := range Cadences {
		if p.pools[c] != nil {
			wants = append(wants, want{accountID: accountID, region: region, period: p.period(c, region, now)})
		}
	}
	return wants, nil
}

// view returns one player's sets of wants, drawing those they do not have
// yet.
func (s *Store) view(ctx context.Context, tx *sqlx.Tx, p *plan, accountID int64, wants []want) (View, error) {
	keys := make([]string, len(wants))
	for i, w := range wants {
		keys[i] = w.period.Key
	}
	sets, err := load(ctx, tx, accountID, keys)
	if err != nil {
		return View{}, err
	}
	missing := slices.DeleteFunc(slices.Clone(wants), func(w want) bool { return sets[w.period.Key] != nil })
	if len(missing) > 0 {
		if err := s.create(ctx, tx, p, missing); err != nil {
			return View{}, err
		}
		if sets, err = load(ctx, tx, accountID, keys); err != nil {
			return View{}, err
		}
	}
	var v View
	for _, w := range wants {
		set := sets[w.period.Key]
		if set == nil {
			continue
		}
		set.Cadence = w.period.Cadence
		set.RerollsLeft = max(0, p.rot.Slate(w.period.Cadence).Rerolls-set.rerollsUsed)
		if w.period.Cadence == Daily {
			v.Daily = set
		} else {
			v.Weekly = set
		}
	}
	return v, nil
}
