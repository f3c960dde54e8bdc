package rbac

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// freshDB empties rbac_rules. The tests of this package share one database
// and do not run in parallel.
func freshDB(t *testing.T) *sqlx.DB {
	t.Helper()
	conn := testenv.DB(t)
	if _, err := conn.Exec(`DELETE FROM rbac_rules`); err != nil {
		t.Fatal(err)
	}
	return conn
}

func newEnforcer(t *testing.T, conn *sqlx.DB, ps state.PubSub) *Enforcer {
	t.Helper()
	e, err := New(context.Background(), conn, ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run starts e.Run until the test ends.
func run(t *testing.T, e *Enforcer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func countRules(t *testing.T, conn *sqlx.DB) int {
	t.Helper()
	var n int
	if err := conn.Get(&n, `SELECT count(*) FROM rbac_rules`); err != nil {
		t.Fatal(err)
	}
	return n
}

func defaultRuleCount() int {
	n := 0
	for _, perms := range DefaultPolicy() {
		n += len(perms)
	}
	return n
}

func TestDefaultPolicy(t *testing.T) {
	conn := freshDB(t)
	e := newEnforcer(t, conn, state.NewMemory())
	if e.Allowed(RoleOwner, PermDashboardView) {
		t.Fatal("empty policy allowed something: deny by default is broken")
	}
	if err := e.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		role, perm string
		want       bool
	}{
		{RoleOwner, PermDashboardView, true},
		{RoleOwner, PermStaffManage, true},
		{RoleOwner, PermRolesManage, true},
		{RoleOwner, "economy:grant", true}, // "*:*" covers permissions added later
		{RoleAdmin, PermDashboardView, true},
		{RoleAdmin, PermPlayersView, true},
		{RoleAdmin, PermPlayersBan, true},
		{RoleAdmin, PermPlayersSession, true},
		{RoleAdmin, PermAuditView, true},
		{RoleAdmin, PermStaffView, true},
		{RoleAdmin, PermStaffManage, false},
		{RoleAdmin, PermRolesManage, false},
		{RoleDesigner, PermDashboardView, true},
		{RoleDesigner, PermPlayersView, true},
		{RoleDesigner, PermPlayersBan, false},
		{RoleDesigner, PermAuditView, false},
		{RoleDesigner, PermStaffView, false},
		{RoleSupport, PermPlayersBan, true},
		{RoleSupport, PermPlayersSession, true},
		{RoleSupport, PermAuditView, true},
		{RoleSupport, PermStaffView, false},
		{RoleSupport, PermStaffManage, false},
		{RoleAnalyst, PermDashboardView, true},
		{RoleAnalyst, PermPlayersView, true},
		{RoleAnalyst, PermAuditView, true},
		{RoleAnalyst, PermPlayersBan, false},
		{RoleAnalyst, PermPlayersSession, false},
		{RoleAdmin, PermMatchmakingView, true},
		{RoleDesigner, PermMatchmakingView, true},
		{RoleAnalyst, PermMatchmakingView, true},
		{RoleSupport, PermMatchmakingView, false},
		{"intern", PermDashboardView, false},
		{"", PermDashboardView, false},
		{RoleAdmin, "dashboard", false},
		{RoleAdmin, "", false},
		{RoleAdmin, "*:*", false},
		{RoleAdmin, "players:*", false},
		{RoleOwner, "*:view", false},
	}
	for _, tt := range tests {
		if got := e.Allowed(tt.role, tt.perm); got != tt.want {
			t.Errorf("Allowed(%q, %q) = %v, want %v", tt.role, tt.perm, got, tt.want)
		}
	}
	for role, perms := range DefaultPolicy() {
		want := slices.Sorted(slices.Values(perms))
		if got := e.Permissions(role); !slices.Equal(got, want) {
			t.Errorf("Permissions(%s) = %q, want %q", role, got, want)
		}
	}
}

func TestWildcardRules(t *testing.T) {
	conn := freshDB(t)
	e := newEnforcer(t, conn, state.NewMemory())
	ctx := context.Background()
	if err := e.SetRolePermissions(ctx, RoleAnalyst, []string{"players:*", "*:view"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		perm string
		want bool
	}{
		{PermPlayersBan, true},
		{PermPlayersSession, true},
		{PermAuditView, true},
		{PermStaffView, true},
		{PermStaffManage, false},
		{PermRolesManage, false},
	}
	for _, tt := range tests {
		if got := e.Allowed(RoleAnalyst, tt.perm); got != tt.want {
			t.Errorf("Allowed(analyst, %q) = %v, want %v", tt.perm, got, tt.want)
		}
	}
}

func TestSeedIsIdempotentAndConcurrent(t *testing.T) {
	conn := freshDB(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 6 {
		e := newEnforcer(t, conn, state.NewMemory())
		wg.Go(func() {
			if err := e.Seed(ctx); err != nil {
				t.Error(err)
			}
			if !e.Allowed(RoleSupport, PermPlayersBan) {
				t.Error("after Seed, support may not ban")
			}
		})
	}
	wg.Wait()
	if got, want := countRules(t, conn), defaultRuleCount(); got != want {
		t.Fatalf("%d rules after concurrent seeds, want %d", got, want)
	}

	// An edited policy is not overwritten by a later Seed.
	e := newEnforcer(t, conn, state.NewMemory())
	if err := e.SetRolePermissions(ctx, RoleDesigner, []string{PermDashboardView}); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	if e.Allowed(RoleDesigner, PermPlayersView) {
		t.Fatal("Seed restored a permission an owner had removed")
	}
	if got, want := countRules(t, conn), defaultRuleCount()-len(DefaultPolicy()[RoleDesigner])+1; got != want {
		t.Fatalf("%d rules, want %d", got, want)
	}
}

func TestSetRolePermissions(t *testing.T) {
	conn := freshDB(t)
	ctx := context.Background()
	e := newEnforcer(t, conn, state.NewMemory())
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	perms := []string{PermAuditView, " players:view ", PermAuditView, PermStaffView}
	if err := e.SetRolePermissions(ctx, RoleDesigner, perms); err != nil {
		t.Fatal(err)
	}
	want := []string{PermAuditView, PermPlayersView, PermStaffView}
	if got := e.Permissions(RoleDesigner); !slices.Equal(got, want) {
		t.Fatalf("Permissions = %q, want %q", got, want)
	}
	if e.Allowed(RoleDesigner, PermDashboardView) || !e.Allowed(RoleDesigner, PermAuditView) {
		t.Fatal("Allowed does not reflect the new permissions")
	}
	// Other roles are untouched.
	if !e.Allowed(RoleAnalyst, PermDashboardView) {
		t.Fatal("changing designer changed analyst")
	}
	// A fresh enforcer reads the same from PostgreSQL.
	if got := newEnforcer(t, conn, state.NewMemory()).Permissions(RoleDesigner); !slices.Equal(got, want) {
		t.Fatalf("stored permissions = %q, want %q", got, want)
	}

	if err := e.SetRolePermissions(ctx, RoleDesigner, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.Permissions(RoleDesigner); len(got) != 0 {
		t.Fatalf("Permissions after clearing = %q", got)
	}

	errTests := []struct {
		name  string
		role  string
		perms []string
		want  error
	}{
		{"unknown role", "intern", []string{PermDashboardView}, ErrUnknownRole},
		{"no colon", RoleAdmin, []string{"dashboard"}, ErrInvalidPermission},
		{"empty action", RoleAdmin, []string{"dashboard:"}, ErrInvalidPermission},
		{"upper case", RoleAdmin, []string{"Dashboard:View"}, ErrInvalidPermission},
		{"comma", RoleAdmin, []string{"a,b:view"}, ErrInvalidPermission},
		{"owner without all", RoleOwner, []string{PermStaffManage, PermRolesManage}, ErrOwnerLockout},
		{"owner empty", RoleOwner, nil, ErrOwnerLockout},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			before := countRules(t, conn)
			if err := e.SetRolePermissions(ctx, tt.role, tt.perms); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if after := countRules(t, conn); after != before {
				t.Fatalf("a refused change wrote rules: %d -> %d", before, after)
			}
		})
	}
	if !e.Allowed(RoleOwner, PermRolesManage) {
		t.Fatal("owner lost roles:manage")
	}
	// The owner may hold more than "*:*".
	if err := e.SetRolePermissions(ctx, RoleOwner, []string{PermAll, PermStaffManage}); err != nil {
		t.Fatal(err)
	}
}

func TestSetRolePermissionsWithRunsInTheTransaction(t *testing.T) {
	conn := freshDB(t)
	ctx := context.Background()
	e := newEnforcer(t, conn, state.NewMemory())
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	perms := []string{PermDashboardView, PermAuditView, PermStaffView}
	calls := 0
	err := e.SetRolePermissionsWith(ctx, RoleDesigner, perms, func(tx *sqlx.Tx, before []string) error {
		calls++
		if want := DefaultPolicy()[RoleDesigner]; !slices.Equal(before, slices.Sorted(slices.Values(want))) {
			t.Errorf("callback's before = %v, want the seeded %v", before, want)
		}
		var n int
		if err := tx.Get(&n, `SELECT count(*) FROM rbac_rules WHERE ptype = 'p' AND v0 = $1`, RoleDesigner); err != nil {
			return err
		}
		if n != len(perms) {
			t.Errorf("callback sees %d rules, want %d", n, len(perms))
		}
		return nil
	})
	if err != nil || calls != 1 {
		t.Fatalf("err = %v, calls = %d", err, calls)
	}

	errAudit := errors.New("audit log unavailable")
	err = e.SetRolePermissionsWith(ctx, RoleDesigner, []string{PermPlayersBan}, func(*sqlx.Tx, []string) error { return errAudit })
	if err != errAudit {
		t.Fatalf("err = %v, want the callback's error as is", err)
	}
	want := slices.Sorted(slices.Values(perms))
	if got := e.Permissions(RoleDesigner); !slices.Equal(got, want) {
		t.Fatalf("after a failed callback Permissions = %q, want %q", got, want)
	}
	if got := newEnforcer(t, conn, state.NewMemory()).Permissions(RoleDesigner); !slices.Equal(got, want) {
		t.Fatalf("after a failed callback the stored permissions are %q, want %q", got, want)
	}
}

// TestReloadAcrossNodes runs two enforcers, as two processes would, sharing
// PostgreSQL and a PubSub: a change made through one is seen by the other
// well before the periodic reload.
func TestReloadAcrossNodes(t *testing.T) {
	pubsubs := map[string]func(t *testing.T) (a, b state.PubSub){
		"redis": func(t *testing.T) (state.PubSub, state.PubSub) {
			ca, prefix := testenv.Redis(t)
			cb, _ := testenv.Redis(t)
			return state.NewRedis(ca, prefix), state.NewRedis(cb, prefix)
		},
		"memory": func(t *testing.T) (state.PubSub, state.PubSub) {
			m := state.NewMemory()
			return m, m
		},
	}
	for name, mk := range pubsubs {
		t.Run(name, func(t *testing.T) {
			conn := freshDB(t)
			ctx := context.Background()
			psA, psB := mk(t)
			a := newEnforcer(t, conn, psA)
			if err := a.Seed(ctx); err != nil {
				t.Fatal(err)
			}
			b := newEnforcer(t, conn, psB)
			run(t, a)
			run(t, b)
			if b.Allowed(RoleDesigner, PermAuditView) {
				t.Fatal("designer may view the audit log before the change")
			}
			// Run subscribes in the background; a change published before
			// that is caught by the reload Run does once subscribed, so no
			// wait is needed here.
			if err := a.SetRolePermissions(ctx, RoleDesigner, []string{PermDashboardView, PermAuditView}); err != nil {
				t.Fatal(err)
			}
			if !a.Allowed(RoleDesigner, PermAuditView) {
				t.Fatal("the changing node does not see its own change at once")
			}
			waitFor(t, 2*time.Second, func() bool {
				return b.Allowed(RoleDesigner, PermAuditView) && !b.Allowed(RoleDesigner, PermPlayersView)
			})

			// And back the other way, from B to A.
			if err := b.SetRolePermissions(ctx, RoleDesigner, []string{PermPlayersView}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 2*time.Second, func() bool {
				return a.Allowed(RoleDesigner, PermPlayersView) && !a.Allowed(RoleDesigner, PermAuditView)
			})
		})
	}
}

// silent is a PubSub that loses every message.
type silent struct{}

func (silent) Publish(context.Context, string, []byte) error { return nil }
func (silent) Subscribe(context.Context, ...string) (state.Subscription, error) {
	return nil, errors.New("unavailable")
}

func TestPeriodicReloadWithoutPubSub(t *testing.T) {
	conn := freshDB(t)
	ctx := context.Background()
	a := newEnforcer(t, conn, silent{})
	if err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	b := newEnforcer(t, conn, silent{})
	b.reloadEvery = 50 * time.Millisecond
	run(t, b)
	if err := a.SetRolePermissions(ctx, RoleAnalyst, []string{PermStaffView}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, func() bool {
		return b.Allowed(RoleAnalyst, PermStaffView) && !b.Allowed(RoleAnalyst, PermAuditView)
	})
}

func TestRunReturnsWhenContextEnds(t *testing.T) {
	e := newEnforcer(t, freshDB(t), state.NewMemory())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
}

func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSplitPermission(t *testing.T) {
	tests := []struct {
		in       string
		obj, act string
		ok       bool
	}{
		{"players:ban", "players", "ban", true},
		{"*:*", "*", "*", true},
		{"players:*", "players", "*", true},
		{"live-ops.events:edit_2", "live-ops.events", "edit_2", true},
		{"players", "", "", false},
		{":ban", "", "", false},
		{"players:", "", "", false},
		{"players:ban:now", "", "", false},
		{"pl ayers:ban", "", "", false},
		{"p*:ban", "", "", false},
	}
	for _, tt := range tests {
		obj, act, err := SplitPermission(tt.in)
		if (err == nil) != tt.ok || obj != tt.obj || act != tt.act {
			t.Errorf("SplitPermission(%q) = %q, %q, %v", tt.in, obj, act, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidPermission) {
			t.Errorf("SplitPermission(%q) error %v does not wrap ErrInvalidPermission", tt.in, err)
		}
	}
}
