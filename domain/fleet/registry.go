package fleet

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/match"
)

// Registration is what a game server process says about itself when it
// registers.
type Registration struct {
	Fleet   string `json:"fleet"`   // the build or pool it belongs to: lower-case id
	Region  string `json:"region"`  // where it runs, as the matchmaker names regions
	Address string `json:"address"` // host:port players connect to
	// Capacity is how many matches the process hosts at once (not players:
	// the mode decides a match's players). 0 means 1.
	Capacity int    `json:"capacity"`
	Version  string `json:"version"`
	Labels   Labels `json:"labels"`
}

// Labels are free-form key/value tags of an instance (build flavour, map
// pool), shown to staff.
type Labels map[string]string

// Value stores labels as a JSON object.
func (l Labels) Value() (driver.Value, error) {
	if l == nil {
		return []byte(`{}`), nil
	}
	return json.Marshal(map[string]string(l))
}

// Scan reads labels from a JSON object.
func (l *Labels) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	case nil:
		*l = Labels{}
		return nil
	default:
		return fmt.Errorf("labels: cannot scan %T", src)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*l = m
	return nil
}

// Instance is a registered game server process.
type Instance struct {
	ID           int64      `db:"id" json:"id"`
	ServerID     int64      `db:"server_id" json:"server_id"` // its credential
	Fleet        string     `db:"fleet" json:"fleet"`
	Region       string     `db:"region" json:"region"`
	Host         string     `db:"host" json:"host"`
	Port         int        `db:"port" json:"port"`
	Version      string     `db:"version" json:"version"`
	Labels       Labels     `db:"labels" json:"labels"`
	Capacity     int        `db:"capacity" json:"capacity"`
	Allocated    int        `db:"allocated" json:"allocated"`
	State        string     `db:"state" json:"state"` // ready, busy, draining or gone
	DrainedBy    string     `db:"drained_by" json:"drained_by,omitempty"`
	RegisteredAt time.Time  `db:"registered_at" json:"registered_at"`
	HeartbeatAt  time.Time  `db:"heartbeat_at" json:"heartbeat_at"`
	GoneAt       *time.Time `db:"gone_at" json:"gone_at,omitempty"`
	GoneReason   string     `db:"gone_reason" json:"gone_reason,omitempty"`
}

// Address is host:port.
func (in Instance) Address() string { return net.JoinHostPort(in.Host, strconv.Itoa(in.Port)) }

const instanceCols = `id, server_id, fleet, region, host, port, version, labels, capacity, allocated, state,
	drained_by, registered_at, heartbeat_at, gone_at, gone_reason`

// shown turns the stored state into the one shown: a full ready instance
// is busy.
func shown(in Instance) Instance {
	if in.State == StateReady && in.Allocated >= in.Capacity {
		in.State = StateBusy
	}
	return in
}

// Registry keeps the fleet's instances and allocates matches to them (it is
// the built-in Allocator).
type Registry struct {
	conn *sqlx.DB
	prep *db.Prepared // the allocator's statements
	cfg  Config
}

// NewRegistry returns the registry over conn.
func NewRegistry(conn *sqlx.DB, cfg Config) *Registry {
	return &Registry{conn: conn, prep: db.NewPrepared(conn), cfg: cfg.withDefaults()}
}

// Config answers the registry's effective configuration.
func (r *Registry) Config() Config { return r.cfg }

var (
	idPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	labelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$`)
)

// Bounds of a registration.
const (
	MaxCapacity = 1000
	maxLabels   = 32
	maxLabelLen = 128
	maxVersion  = 64
	maxHost     = 253
)

func (reg *Registration) check() (host string, port int, err error) {
	if reg.Capacity == 0 {
		reg.Capacity = 1
	}
	switch {
	case !idPattern.MatchString(reg.Fleet):
		return "", 0, fmt.Errorf("%w: fleet: 1 to 64 lower-case letters, digits, '_', '.' or '-'", ErrInvalid)
	case !idPattern.MatchString(reg.Region):
		return "", 0, fmt.Errorf("%w: region: 1 to 64 lower-case letters, digits, '_', '.' or '-'", ErrInvalid)
	case reg.Capacity < 1 || reg.Capacity > MaxCapacity:
		return "", 0, fmt.Errorf("%w: capacity: 1 to %d matches at once", ErrInvalid, MaxCapacity)
	case len(reg.Version) > maxVersion || !printable(reg.Version):
		return "", 0, fmt.Errorf("%w: version: at most %d printable characters", ErrInvalid, maxVersion)
	case len(reg.Labels) > maxLabels:
		return "", 0, fmt.Errorf("%w: labels: at most %d", ErrInvalid, maxLabels)
	}
	for k, v := range reg.Labels {
		if !labelPattern.MatchString(k) || len(v) > maxLabelLen || !printable(v) {
			return "", 0, fmt.Errorf("%w: label %q: a key of letters, digits, '_', '.', '/' or '-' and a value of at most %d printable characters", ErrInvalid, k, maxLabelLen)
		}
	}
	h, p, err := net.SplitHostPort(reg.Address)
	n, perr := strconv.Atoi(p)
	if err != nil || perr != nil || h == "" || len(h) > maxHost || !printable(h) || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("%w: address: host:port players connect to, such as 203.0.113.7:7777", ErrInvalid)
	}
	for _, c := range h {
		if c == ' ' || c == '/' {
			return "", 0, fmt.Errorf("%w: address: host:port players connect to, such as 203.0.113.7:7777", ErrInvalid)
		}
	}
	return h, n, nil
}

func printable(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// Register records a game server process of server's credential. A live
// instance of the same credential at the same address is a process that
// restarted: it is marked gone (its matches lost) and replaced. A live
// instance of another credential there is ErrAddressInUse.
func (r *Registry) Register(ctx context.Context, server match.Server, reg Registration) (Instance, error) {
	host, port, err := reg.check()
	if err != nil {
		return Instance{}, err
	}
	var in Instance
	err = db.InTx(ctx, r.conn, nil, func(tx *sqlx.Tx) error {
		var old []struct {
			ID       int64 `db:"id"`
			ServerID int64 `db:"server_id"`
		}
		const sel = `SELECT id, server_id FROM fleet_instances WHERE host = $1 AND port = $2 AND state <> 'gone' FOR UPDATE`
		if err := tx.SelectContext(ctx, &old, sel, host, port); err != nil {
			return fmt.Errorf("find instance at address: %w", err)
		}
		for _, o := range old {
			if o.ServerID != server.ID {
				return ErrAddressInUse
			}
			if _, err := markGone(ctx, tx, []int64{o.ID}, "replaced"); err != nil {
				return err
			}
		}
		const ins = `INSERT INTO fleet_instances (server_id, fleet, region, host, port, version, labels, capacity)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ` + instanceCols
		return tx.GetContext(ctx, &in, ins, server.ID, reg.Fleet, reg.Region, host, port, reg.Version, reg.Labels, reg.Capacity)
	})
	switch {
	case db.IsConstraint(err, "fleet_instances_address"):
		return Instance{}, ErrAddressInUse // a concurrent registration at the address won
	case err != nil:
		return Instance{}, err
	}
	return shown(in), nil
}

// Beat is the answer to a heartbeat.
type Beat struct {
	Instance Instance
	// Drain asks the process to finish its matches and take no new ones; it
	// may exit (deregister) once it hosts none.
	Drain bool
	// Matches are the matches allocated to the instance and not over.
	Matches []Assigned
}

// Assigned is a match allocated to an instance, as its heartbeat lists it;
// the server reads the roster with Sessions.Get.
type Assigned struct {
	MatchID     string    `db:"match_id" json:"match_id"`
	Queue       string    `db:"queue" json:"queue"`
	Mode        string    `db:"mode" json:"mode"`
	AllocatedAt time.Time `db:"allocated_at" json:"allocated_at"`
}

// Heartbeat records that instance id of server's credential is alive and
// answers whether to drain and which matches it hosts. A heartbeat after
// the timeout but before the sweeper ran revives the instance; one after
// the sweeper marked it gone is ErrInstanceGone (register again).
func (r *Registry) Heartbeat(ctx context.Context, server match.Server, id int64) (Beat, error) {
	var in Instance
	const upd = `UPDATE fleet_instances SET heartbeat_at = now() WHERE id = $1 AND server_id = $2 AND state <> 'gone' RETURNING ` + instanceCols
	err := r.conn.GetContext(ctx, &in, upd, id, server.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return Beat{}, r.missing(ctx, server, id)
	}
	if err != nil {
		return Beat{}, fmt.Errorf("heartbeat: %w", err)
	}
	b := Beat{Instance: shown(in), Drain: in.State == StateDraining, Matches: []Assigned{}}
	const q = `SELECT match_id, queue, mode, allocated_at FROM fleet_allocations
		WHERE instance_id = $1 AND state = 'allocated' ORDER BY allocated_at, match_id`
	if err := r.conn.SelectContext(ctx, &b.Matches, q, id); err != nil {
		return Beat{}, fmt.Errorf("list instance matches: %w", err)
	}
	return b, nil
}

// missing tells why instance id of server is not live: gone, or not
// theirs (which looks the same as not existing).
func (r *Registry) missing(ctx context.Context, server match.Server, id int64) error {
	var state string
	err := r.conn.GetContext(ctx, &state, `SELECT state FROM fleet_instances WHERE id = $1 AND server_id = $2`, id, server.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrInstanceNotFound
	case err != nil:
		return fmt.Errorf("load instance: %w", err)
	case state == StateGone:
		return ErrInstanceGone
	}
	return ErrInstanceNotFound
}

// Deregister marks instance id of server gone, as a process does when it
// shuts down; matches still allocated to it are lost. Deregistering a gone
// instance changes nothing.
func (r *Registry) Deregister(ctx context.Context, server match.Server, id int64) error {
	return db.InTx(ctx, r.conn, nil, func(tx *sqlx.Tx) error {
		var state string
		err := tx.GetContext(ctx, &state, `SELECT state FROM fleet_instances WHERE id = $1 AND server_id = $2 FOR UPDATE`, id, server.ID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrInstanceNotFound
		case err != nil:
			return fmt.Errorf("load instance: %w", err)
		case state == StateGone:
			return nil
		}
		_, err = markGone(ctx, tx, []int64{id}, "deregistered")
		return err
	})
}

// Drain stops new matches going to instance id: it finishes the ones it
// hosts, and its heartbeats answer drain. by names who asked (staff).
// also, when not nil, runs in the same transaction with the instance before
// and after (the console's audit row). Draining a draining instance
// changes nothing; a gone one is ErrInstanceGone.
func (r *Registry) Drain(ctx context.Context, id int64, by string, also func(tx *sqlx.Tx, before, after Instance) error) (Instance, error) {
	return r.setState(ctx, id, StateDraining, by, also)
}

// Resume makes a draining instance ready again, as Drain otherwise does.
func (r *Registry) Resume(ctx context.Context, id int64, also func(tx *sqlx.Tx, before, after Instance) error) (Instance, error) {
	return r.setState(ctx, id, StateReady, "", also)
}

func (r *Registry) setState(ctx context.Context, id int64, to, by string, also func(tx *sqlx.Tx, before, after Instance) error) (Instance, error) {
	var after Instance
	err := db.InTx(ctx, r.conn, nil, func(tx *sqlx.Tx) error {
		var before Instance
		err := tx.GetContext(ctx, &before, `SELECT `+instanceCols+` FROM fleet_instances WHERE id = $1 FOR UPDATE`, id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrInstanceNotFound
		case err != nil:
			return fmt.Errorf("load instance: %w", err)
		case before.State == StateGone:
			return ErrInstanceGone
		case before.State == to:
			after = before
			return nil
		}
		const upd = `UPDATE fleet_instances SET state = $2, drained_by = $3 WHERE id = $1 RETURNING ` + instanceCols
		if err := tx.GetContext(ctx, &after, upd, id, to, by); err != nil {
			return fmt.Errorf("set instance state: %w", err)
		}
		if also != nil {
			return also(tx, shown(before), shown(after))
		}
		return nil
	})
	if err != nil {
		return Instance{}, err
	}
	return shown(after), nil
}

// Get returns instance id.
func (r *Registry) Get(ctx context.Context, id int64) (Instance, error) {
	var in Instance
	err := r.conn.GetContext(ctx, &in, `SELECT `+instanceCols+` FROM fleet_instances WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Instance{}, ErrInstanceNotFound
	}
	if err != nil {
		return Instance{}, fmt.Errorf("load instance: %w", err)
	}
	return shown(in), nil
}

// Filter narrows List.
type Filter struct {
	Region string
	Fleet  string
	Gone   bool // include gone instances (of the retention period)
	Limit  int  // 0: 500
}

// List returns instances, by region, fleet and id.
func (r *Registry) List(ctx context.Context, f Filter) ([]Instance, error) {
	if f.Limit <= 0 || f.Limit > 5000 {
		f.Limit = 500
	}
	const q = `SELECT ` + instanceCols + ` FROM fleet_instances
		WHERE ($1 = '' OR region = $1) AND ($2 = '' OR fleet = $2) AND ($3 OR state <> 'gone')
		ORDER BY region, fleet, id LIMIT $4`
	var out []Instance
	if err := r.conn.SelectContext(ctx, &out, q, f.Region, f.Fleet, f.Gone, f.Limit); err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	for i := range out {
		out[i] = shown(out[i])
	}
	return out, nil
}

// Load is the fleet's load in one region: what staff watch.
type Load struct {
	Region    string `db:"region" json:"region"`
	Instances int    `db:"instances" json:"instances"` // live (not gone)
	Ready     int    `db:"ready" json:"ready"`         // with a free slot, taking matches
	Draining  int    `db:"draining" json:"draining"`
	Capacity  int    `db:"capacity" json:"capacity"`   // slots of live, not draining, instances
	Allocated int    `db:"allocated" json:"allocated"` // matches on live instances
	Free      int    `db:"free" json:"free"`           // free slots of ready instances: matches it can take now
}

// Loads sums the live fleet by region.
func (r *Registry) Loads(ctx context.Context) ([]Load, error) {
	const q = `SELECT region, count(*) AS instances,
		count(*) FILTER (WHERE state = 'ready' AND allocated < capacity) AS ready,
		count(*) FILTER (WHERE state = 'draining') AS draining,
		coalesce(sum(capacity) FILTER (WHERE state = 'ready'), 0) AS capacity,
		coalesce(sum(allocated), 0) AS allocated,
		coalesce(sum(capacity - allocated) FILTER (WHERE state = 'ready' AND heartbeat_at > now() - $1 * interval '1 millisecond'), 0) AS free
		FROM fleet_instances WHERE state <> 'gone' GROUP BY region ORDER BY region`
	var out []Load
	if err := r.conn.SelectContext(ctx, &out, q, r.cfg.HeartbeatTimeout.Milliseconds()); err != nil {
		return nil, fmt.Errorf("fleet load: %w", err)
	}
	return out, nil
}

// markGone marks instances gone and loses the matches allocated to them
// (their players are told), in tx. It returns how many matches were lost.
func markGone(ctx context.Context, tx *sqlx.Tx, ids []int64, reason string) (int, error) {
	const upd = `UPDATE fleet_instances SET state = 'gone', gone_at = now(), gone_reason = $2, allocated = 0
		WHERE id = ANY($1) AND state <> 'gone'`
	if _, err := tx.ExecContext(ctx, upd, pq.Int64Array(ids), reason); err != nil {
		return 0, fmt.Errorf("mark instances gone: %w", err)
	}
	var lost []string
	const lose = `UPDATE fleet_allocations SET state = 'lost', ended_at = now(), end_reason = $2
		WHERE instance_id = ANY($1) AND state = 'allocated' RETURNING match_id`
	if err := tx.SelectContext(ctx, &lost, lose, pq.Int64Array(ids), "server_"+reason); err != nil {
		return 0, fmt.Errorf("lose matches: %w", err)
	}
	if err := tellLost(ctx, tx, lost, "server_"+reason); err != nil {
		return 0, err
	}
	return len(lost), nil
}
