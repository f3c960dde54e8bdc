package rbac

import (
	"slices"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/jmoiron/sqlx"
)

func storedRules(t *testing.T, conn *sqlx.DB) [][]string {
	t.Helper()
	var rows []ruleRow
	if err := conn.Select(&rows, `SELECT ptype, v0, v1, v2, v3, v4, v5 FROM rbac_rules ORDER BY v0, v1, v2`); err != nil {
		t.Fatal(err)
	}
	out := make([][]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, append([]string{r.PType}, r.values()...))
	}
	return out
}

func casbinEnforcer(t *testing.T, a *Adapter) *casbin.Enforcer {
	t.Helper()
	m, err := model.NewModelFromString(modelConf)
	if err != nil {
		t.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m, a) // loads the policy; auto-save is on
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAdapterThroughCasbin drives every Adapter method through casbin's own
// management API and checks the table after each.
func TestAdapterThroughCasbin(t *testing.T) {
	conn := freshDB(t)
	a := NewAdapter(conn)
	e := casbinEnforcer(t, a)

	mustOK := func(ok bool, err error) {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("casbin: ok=%v err=%v", ok, err)
		}
	}
	wantRules := func(want ...[]string) {
		t.Helper()
		if got := storedRules(t, conn); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("stored rules = %q, want %q", got, want)
		}
	}

	// AddPolicy.
	mustOK(e.AddPolicy("support", "players", "ban"))
	mustOK(e.AddPolicy("support", "players", "view"))
	mustOK(e.AddPolicy("analyst", "players", "view"))
	wantRules(
		[]string{"p", "analyst", "players", "view"},
		[]string{"p", "support", "players", "ban"},
		[]string{"p", "support", "players", "view"},
	)

	// LoadPolicy: a second enforcer reads what the first wrote.
	if ok, err := casbinEnforcer(t, a).Enforce("support", "players", "ban"); err != nil || !ok {
		t.Fatalf("reloaded policy: ok=%v err=%v", ok, err)
	}

	// RemovePolicy.
	mustOK(e.RemovePolicy("support", "players", "view"))
	wantRules(
		[]string{"p", "analyst", "players", "view"},
		[]string{"p", "support", "players", "ban"},
	)

	// RemoveFilteredPolicy on a later field, with an empty (any) value.
	mustOK(e.AddPolicy("support", "audit", "view"))
	mustOK(e.RemoveFilteredPolicy(1, "", "view"))
	wantRules([]string{"p", "support", "players", "ban"})

	// SavePolicy replaces the table with the in-memory policy.
	e.EnableAutoSave(false)
	if _, err := e.AddPolicy("owner", "*", "*"); err != nil {
		t.Fatal(err)
	}
	wantRules([]string{"p", "support", "players", "ban"})
	if err := e.SavePolicy(); err != nil {
		t.Fatal(err)
	}
	wantRules(
		[]string{"p", "owner", "*", "*"},
		[]string{"p", "support", "players", "ban"},
	)

	// RemoveFilteredPolicy by role.
	e.EnableAutoSave(true)
	mustOK(e.RemoveFilteredPolicy(0, "support"))
	wantRules([]string{"p", "owner", "*", "*"})
}

func TestAdapterRefusesTooManyFields(t *testing.T) {
	a := NewAdapter(freshDB(t))
	if err := a.AddPolicy("p", "p", []string{"1", "2", "3", "4", "5", "6", "7"}); err == nil {
		t.Fatal("AddPolicy stored a rule of 7 values")
	}
	if err := a.RemoveFilteredPolicy("p", "p", 5, "a", "b"); err == nil {
		t.Fatal("RemoveFilteredPolicy accepted a filter past v5")
	}
	if err := a.RemoveFilteredPolicy("p", "p", -1, "a"); err == nil {
		t.Fatal("RemoveFilteredPolicy accepted a negative field index")
	}
}
