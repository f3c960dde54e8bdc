package rbac

import (
	"context"
	_ "embed" // for model.conf
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/state"
)

//go:embed model.conf
var modelConf string

const (
	// ReloadChannel is the state.PubSub channel on which a process that
	// changed the policy tells the others to reload it.
	ReloadChannel = "rbac-reload"
	// reloadEvery is how often Run reloads the policy even without a
	// message, in case one was lost.
	reloadEvery = 30 * time.Second
	// publishTimeout bounds the announcement after a change has committed.
	publishTimeout = 5 * time.Second
)

// Enforcer answers whether a role holds a permission, from an in-memory copy
// of the policy in rbac_rules. It is safe for concurrent use. Call Seed once
// at start-up and keep Run running so that changes made by other processes
// arrive.
type Enforcer struct {
	db  *sqlx.DB
	ps  state.PubSub
	log *slog.Logger
	ce  *casbin.SyncedEnforcer

	// reloadMu serialises reloads, so that readers never wait behind two
	// reloads that both read the database.
	reloadMu    sync.Mutex
	reloadEvery time.Duration
}

// New loads the policy from conn and returns an Enforcer that announces its
// changes on ps and listens there (in Run) for the changes of others. A nil
// log discards.
func New(ctx context.Context, conn *sqlx.DB, ps state.PubSub, log *slog.Logger) (*Enforcer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := model.NewModelFromString(modelConf)
	if err != nil {
		return nil, fmt.Errorf("rbac: parse model: %w", err)
	}
	ce, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("rbac: create enforcer: %w", err)
	}
	ce.SetAdapter(NewAdapter(conn))
	ce.EnableAutoSave(false) // every write goes through SetRolePermissions' transaction
	e := &Enforcer{db: conn, ps: ps, log: log, ce: ce, reloadEvery: reloadEvery}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Allowed reports whether role holds permission ("resource:action"). A
// malformed permission, an unknown role or a role with no rules is denied.
func (e *Enforcer) Allowed(role, permission string) bool {
	obj, act, err := SplitPermission(permission)
	if err != nil || obj == "*" || act == "*" {
		// Callers ask about concrete permissions; a wildcard request would
		// only match a wildcard rule, which is never what they mean.
		return false
	}
	ok, err := e.ce.Enforce(role, obj, act)
	if err != nil {
		e.log.Error("rbac enforce", "role", role, "permission", permission, "err", err)
		return false
	}
	return ok
}

// Permissions returns the permissions role holds, sorted, as stored
// (wildcards such as "*:*" are not expanded).
func (e *Enforcer) Permissions(role string) []string {
	rules, err := e.ce.GetFilteredPolicy(0, role)
	if err != nil {
		e.log.Error("rbac list permissions", "role", role, "err", err)
		return nil
	}
	out := make([]string, 0, len(rules))
	for _, r := range rules {
		if len(r) >= 3 {
			out = append(out, r[1]+":"+r[2])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SetRolePermissions replaces every permission of role with perms, in one
// transaction, then reloads this process's policy and announces the change
// to the others. perms may be empty (the role can then do nothing). Errors:
// ErrUnknownRole, ErrInvalidPermission (see SplitPermission), and
// ErrOwnerLockout when the owner role would lose "*:*".
func (e *Enforcer) SetRolePermissions(ctx context.Context, role string, perms []string) error {
	return e.SetRolePermissionsWith(ctx, role, perms, nil)
}

// SetRolePermissionsWith is SetRolePermissions with a callback: also, when
// not nil, runs in the same transaction after the rules are written, with
// the role's permissions as they were in the database under the rules lock,
// so that the console's audit row records the true before and commits with
// the change or not at all. An error
// from also rolls the change back and is returned as is. The transaction
// is retried after a serialization failure, so also may run more than once
// and must not have effects outside tx.
func (e *Enforcer) SetRolePermissionsWith(ctx context.Context, role string, perms []string, also func(tx *sqlx.Tx, before []string) error) error {
	if !IsRole(role) {
		return fmt.Errorf("%w: %q", ErrUnknownRole, role)
	}
	type pair struct{ obj, act string }
	var pairs []pair
	seen := map[string]bool{}
	for _, p := range perms {
		p = strings.TrimSpace(p)
		obj, act, err := SplitPermission(p)
		if err != nil {
			return err
		}
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, pair{obj, act})
		}
	}
	if role == RoleOwner && !seen[PermAll] {
		return ErrOwnerLockout
	}
	err := db.InTx(ctx, e.db, nil, func(tx *sqlx.Tx) error {
		if err := lockRules(ctx, tx); err != nil {
			return err
		}
		var before []string
		const q = `SELECT v1 || ':' || v2 FROM rbac_rules WHERE ptype = 'p' AND v0 = $1 ORDER BY 1`
		if err := tx.SelectContext(ctx, &before, q, role); err != nil {
			return fmt.Errorf("read %s permissions: %w", role, err)
		}
		if _, err := removeFiltered(ctx, tx, "p", 0, role); err != nil {
			return err
		}
		for _, p := range pairs {
			r, err := newRuleRow("p", []string{role, p.obj, p.act})
			if err != nil {
				return err
			}
			if err := insertRule(ctx, tx, r); err != nil {
				return err
			}
		}
		if also != nil {
			if err := also(tx, before); err != nil {
				return errAlso{err}
			}
		}
		return nil
	})
	var ae errAlso
	if errors.As(err, &ae) {
		return ae.err
	}
	if err != nil {
		return fmt.Errorf("rbac: set permissions of %s: %w", role, err)
	}
	e.changed(ctx, "role", role)
	return nil
}

// errAlso carries the error of SetRolePermissionsWith's callback out of the
// transaction unchanged.
type errAlso struct{ err error }

func (e errAlso) Error() string { return e.err.Error() }
func (e errAlso) Unwrap() error { return e.err }

// Seed writes DefaultPolicy when rbac_rules holds no rule at all, so a new
// deployment starts with working roles; otherwise it changes nothing, so
// owners' edits survive restarts. Processes may call it at the same time:
// an advisory lock lets one write while the others wait and then find the
// table filled.
func (e *Enforcer) Seed(ctx context.Context) error {
	seeded := false
	err := db.InTx(ctx, e.db, nil, func(tx *sqlx.Tx) error {
		seeded = false
		if err := lockRules(ctx, tx); err != nil {
			return err
		}
		var exists bool
		if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM rbac_rules)`); err != nil {
			return fmt.Errorf("rbac: count rules: %w", err)
		}
		if exists {
			return nil
		}
		policy := DefaultPolicy()
		for _, role := range Roles {
			for _, perm := range policy[role] {
				obj, act, err := SplitPermission(perm)
				if err != nil {
					return err
				}
				r, err := newRuleRow("p", []string{role, obj, act})
				if err != nil {
					return err
				}
				if err := insertRule(ctx, tx, r); err != nil {
					return err
				}
			}
		}
		seeded = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("rbac: seed default policy: %w", err)
	}
	if seeded {
		e.log.Info("rbac default policy seeded")
		e.changed(ctx, "seed", "")
		return nil
	}
	return e.Reload(ctx)
}

// changed reloads after a committed change and tells the other processes.
// The change is durable already, so failures here are logged, not
// returned: the others catch up within reloadEvery regardless.
func (e *Enforcer) changed(ctx context.Context, what, role string) {
	if err := e.Reload(ctx); err != nil {
		e.log.Error("rbac reload after change", "role", role, "err", err)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := e.ps.Publish(pctx, ReloadChannel, []byte(what+":"+role)); err != nil {
		e.log.Warn("rbac announce change", "role", role, "err", err)
	}
}

// Reload reads the whole policy from PostgreSQL and swaps it in. Checks
// keep being answered from the previous policy until the new one is
// complete.
func (e *Enforcer) Reload(ctx context.Context) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rbac: reload policy: %w", err)
	}
	if err := e.ce.LoadPolicy(); err != nil {
		return fmt.Errorf("rbac: reload policy: %w", err)
	}
	return nil
}

// Run keeps the policy current until ctx ends, then returns nil: it
// reloads on every message on ReloadChannel and every 30 seconds. When the
// subscription cannot be made or breaks, it keeps polling and tries to
// subscribe again at each tick.
func (e *Enforcer) Run(ctx context.Context) error {
	tick := time.NewTicker(e.reloadEvery)
	defer tick.Stop()
	var sub state.Subscription
	defer func() {
		if sub != nil {
			_ = sub.Close()
		}
	}()
	subscribe := func() {
		s, err := e.ps.Subscribe(ctx, ReloadChannel)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("rbac reload subscription unavailable, polling only", "err", err)
			}
			return
		}
		sub = s
		// Changes made before the subscription was live were not heard.
		e.reloadLogged(ctx)
	}
	subscribe()
	for {
		var msgs <-chan state.Message
		if sub != nil {
			msgs = sub.C()
		}
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-msgs:
			if !ok {
				_ = sub.Close()
				sub = nil
				e.log.Warn("rbac reload subscription closed, polling only")
				continue
			}
			e.reloadLogged(ctx)
		case <-tick.C:
			if sub == nil {
				subscribe()
				if sub != nil {
					continue // subscribe reloaded
				}
			}
			e.reloadLogged(ctx)
		}
	}
}

func (e *Enforcer) reloadLogged(ctx context.Context) {
	if err := e.Reload(ctx); err != nil && ctx.Err() == nil {
		e.log.Error("rbac reload", "err", err)
	}
}
