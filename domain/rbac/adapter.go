package rbac

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// maxFields is how many values a rule may have: columns v0 to v5.
const maxFields = 6

// adapterTimeout bounds each call of casbin's context-free Adapter methods.
const adapterTimeout = 10 * time.Second

// Adapter stores casbin policy rules in PostgreSQL's rbac_rules table, one
// row per rule: ptype ("p") and up to six values v0..v5, unused ones ”.
// It implements persist.Adapter and persist.ContextAdapter; the
// context-free methods give up after 10 seconds.
type Adapter struct {
	db *sqlx.DB
}

var (
	_ persist.Adapter        = (*Adapter)(nil)
	_ persist.ContextAdapter = (*Adapter)(nil)
)

// NewAdapter returns an Adapter over conn.
func NewAdapter(conn *sqlx.DB) *Adapter { return &Adapter{db: conn} }

type ruleRow struct {
	PType string `db:"ptype"`
	V0    string `db:"v0"`
	V1    string `db:"v1"`
	V2    string `db:"v2"`
	V3    string `db:"v3"`
	V4    string `db:"v4"`
	V5    string `db:"v5"`
}

// values returns the rule without trailing empty values.
func (r ruleRow) values() []string {
	v := []string{r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
	for len(v) > 0 && v[len(v)-1] == "" {
		v = v[:len(v)-1]
	}
	return v
}

func newRuleRow(ptype string, rule []string) (ruleRow, error) {
	if len(rule) > maxFields {
		return ruleRow{}, fmt.Errorf("rbac: rule %q has %d values, at most %d fit", rule, len(rule), maxFields)
	}
	var v [maxFields]string
	copy(v[:], rule)
	return ruleRow{PType: ptype, V0: v[0], V1: v[1], V2: v[2], V3: v[3], V4: v[4], V5: v[5]}, nil
}

// LoadPolicy implements persist.Adapter.
func (a *Adapter) LoadPolicy(m model.Model) error {
	ctx, cancel := context.WithTimeout(context.Background(), adapterTimeout)
	defer cancel()
	return a.LoadPolicyCtx(ctx, m)
}

// LoadPolicyCtx implements persist.ContextAdapter. It reads every rule in
// one statement, so the model sees one committed state of the table.
func (a *Adapter) LoadPolicyCtx(ctx context.Context, m model.Model) error {
	const q = `SELECT ptype, v0, v1, v2, v3, v4, v5 FROM rbac_rules ORDER BY id`
	var rows []ruleRow
	if err := a.db.SelectContext(ctx, &rows, q); err != nil {
		return fmt.Errorf("rbac: load policy: %w", err)
	}
	for _, r := range rows {
		if err := persist.LoadPolicyArray(append([]string{r.PType}, r.values()...), m); err != nil {
			return fmt.Errorf("rbac: load rule %s %q: %w", r.PType, r.values(), err)
		}
	}
	return nil
}

// SavePolicy implements persist.Adapter: it replaces every stored rule with
// the model's, in one transaction.
func (a *Adapter) SavePolicy(m model.Model) error {
	ctx, cancel := context.WithTimeout(context.Background(), adapterTimeout)
	defer cancel()
	return a.SavePolicyCtx(ctx, m)
}

// SavePolicyCtx implements persist.ContextAdapter.
func (a *Adapter) SavePolicyCtx(ctx context.Context, m model.Model) error {
	var rows []ruleRow
	for _, sec := range []string{"p", "g"} {
		for ptype, ast := range m[sec] {
			for _, rule := range ast.Policy {
				r, err := newRuleRow(ptype, rule)
				if err != nil {
					return err
				}
				rows = append(rows, r)
			}
		}
	}
	return db.InTx(ctx, a.db, nil, func(tx *sqlx.Tx) error {
		if err := lockRules(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM rbac_rules`); err != nil {
			return fmt.Errorf("rbac: clear policy: %w", err)
		}
		for _, r := range rows {
			if err := insertRule(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddPolicy implements persist.Adapter. Adding a rule that exists is not an
// error.
func (a *Adapter) AddPolicy(sec, ptype string, rule []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adapterTimeout)
	defer cancel()
	return a.AddPolicyCtx(ctx, sec, ptype, rule)
}

// AddPolicyCtx implements persist.ContextAdapter.
func (a *Adapter) AddPolicyCtx(ctx context.Context, _, ptype string, rule []string) error {
	r, err := newRuleRow(ptype, rule)
	if err != nil {
		return err
	}
	return insertRule(ctx, a.db, r)
}

// RemovePolicy implements persist.Adapter. Removing a rule that does not
// exist is not an error.
func (a *Adapter) RemovePolicy(sec, ptype string, rule []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adapterTimeout)
	defer cancel()
	return a.RemovePolicyCtx(ctx, sec, ptype, rule)
}

// RemovePolicyCtx implements persist.ContextAdapter.
func (a *Adapter) RemovePolicyCtx(ctx context.Context, _, ptype string, rule []string) error {
	r, err := newRuleRow(ptype, rule)
	if err != nil {
		return err
	}
	const q = `DELETE FROM rbac_rules
WHERE ptype = :ptype AND v0 = :v0 AND v1 = :v1 AND v2 = :v2 AND v3 = :v3 AND v4 = :v4 AND v5 = :v5`
	if _, err := a.db.NamedExecContext(ctx, q, r); err != nil {
		return fmt.Errorf("rbac: remove rule: %w", err)
	}
	return nil
}

// RemoveFilteredPolicy implements persist.Adapter: it removes the rules of
// ptype whose values from fieldIndex on equal fieldValues; an empty value
// matches anything.
func (a *Adapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adapterTimeout)
	defer cancel()
	return a.RemoveFilteredPolicyCtx(ctx, sec, ptype, fieldIndex, fieldValues...)
}

// RemoveFilteredPolicyCtx implements persist.ContextAdapter.
func (a *Adapter) RemoveFilteredPolicyCtx(ctx context.Context, _, ptype string, fieldIndex int, fieldValues ...string) error {
	_, err := removeFiltered(ctx, a.db, ptype, fieldIndex, fieldValues...)
	return err
}

// removeFiltered deletes matching rules with q, which may be a transaction,
// and returns how many it deleted.
func removeFiltered(ctx context.Context, q sqlx.ExecerContext, ptype string, fieldIndex int, fieldValues ...string) (int64, error) {
	if fieldIndex < 0 || fieldIndex+len(fieldValues) > maxFields {
		return 0, fmt.Errorf("rbac: filter on fields %d..%d: only v0..v5 exist", fieldIndex, fieldIndex+len(fieldValues)-1)
	}
	var where strings.Builder
	where.WriteString(`DELETE FROM rbac_rules WHERE ptype = $1`)
	args := []any{ptype}
	for i, v := range fieldValues {
		if v == "" {
			continue
		}
		args = append(args, v)
		// Column names come from this loop's own counter, never from input.
		where.WriteString(` AND v` + strconv.Itoa(fieldIndex+i) + ` = $` + strconv.Itoa(len(args)))
	}
	res, err := q.ExecContext(ctx, where.String(), args...)
	if err != nil {
		return 0, fmt.Errorf("rbac: remove rules: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func insertRule(ctx context.Context, q sqlx.ExtContext, r ruleRow) error {
	const stmt = `INSERT INTO rbac_rules (ptype, v0, v1, v2, v3, v4, v5)
VALUES (:ptype, :v0, :v1, :v2, :v3, :v4, :v5) ON CONFLICT DO NOTHING`
	if _, err := sqlx.NamedExecContext(ctx, q, stmt, r); err != nil {
		return fmt.Errorf("rbac: add rule: %w", err)
	}
	return nil
}

// rulesLock is the advisory lock that serialises writers of rbac_rules
// across processes ("muster" + 0x0100).
const rulesLock int64 = 0x6d7573746572_0100

func lockRules(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, rulesLock); err != nil {
		return fmt.Errorf("rbac: lock rules: %w", err)
	}
	return nil
}
