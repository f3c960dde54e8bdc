package main

import (
	"strings"
	"testing"
)

func names(mods []module) string {
	var out []string
	for _, m := range mods {
		out = append(out, m.name)
	}
	return strings.Join(out, ",")
}

func TestResolveOrdersDependenciesOnce(t *testing.T) {
	m := newModules()
	m.internal("database", nil)
	m.internal("state", nil)
	m.internal("server", nil, "state")
	m.target("auth", nil, "database", "server")
	m.target("store", nil, "auth", "database")
	m.target("worker", nil, "database")

	tests := []struct {
		spec, want, err string
	}{
		{spec: "auth", want: "database,state,server,auth"},
		{spec: "store", want: "database,state,server,auth,store"},
		{spec: "worker,auth", want: "database,worker,state,server,auth"},
		{spec: "all", want: "database,state,server,auth,store,worker"},
		{spec: " auth , auth ", want: "database,state,server,auth"},
		{spec: "bogus", err: `unknown target "bogus"; valid targets: all, auth, store, worker`},
		{spec: "database", err: `unknown target "database"`},
		{spec: "", err: "no target given"},
	}
	for _, tt := range tests {
		got, err := m.resolve(tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("resolve(%q) error = %v, want %q", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || names(got) != tt.want {
			t.Errorf("resolve(%q) = %s, %v; want %s", tt.spec, names(got), err, tt.want)
		}
	}
}

func TestResolveRejectsCyclesAndMissingDependencies(t *testing.T) {
	m := newModules()
	m.internal("a", nil, "b")
	m.internal("b", nil, "c")
	m.internal("c", nil, "a")
	m.target("x", nil, "a")
	m.target("y", nil, "nowhere")
	if _, err := m.resolve("x"); err == nil || !strings.Contains(err.Error(), "cycle: x -> a -> b -> c -> a") {
		t.Fatalf("cycle: %v", err)
	}
	if _, err := m.resolve("y"); err == nil || !strings.Contains(err.Error(), `unregistered module "nowhere"`) {
		t.Fatalf("missing dependency: %v", err)
	}
}
