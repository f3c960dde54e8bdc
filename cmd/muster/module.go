package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// A module is one piece of a muster process: a target that an operator can
// name in --target (worker, and the services of later issues), or an
// internal piece that targets depend on (database, state). Modules are
// initialised in dependency order, each once.
type module struct {
	name     string
	deps     []string
	init     func(*platform) error
	isTarget bool
}

// modules is the registry of every module the binary knows.
type modules struct {
	byName map[string]module
}

func newModules() *modules { return &modules{byName: map[string]module{}} }

// target registers a module that --target may name.
func (m *modules) target(name string, init func(*platform) error, deps ...string) {
	m.add(module{name: name, deps: deps, init: init, isTarget: true})
}

// internal registers a module that only other modules depend on.
func (m *modules) internal(name string, init func(*platform) error, deps ...string) {
	m.add(module{name: name, deps: deps, init: init})
}

func (m *modules) add(mod module) {
	if _, dup := m.byName[mod.name]; dup {
		panic("muster: module " + mod.name + " registered twice")
	}
	m.byName[mod.name] = mod
}

// targets lists the names --target accepts, sorted, without "all".
func (m *modules) targets() []string {
	var out []string
	for name, mod := range m.byName {
		if mod.isTarget {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// resolve turns a --target value into the modules to initialise, each after
// its dependencies. It fails on an unknown target, naming the valid ones, and
// on a dependency cycle or a dependency nobody registered.
func (m *modules) resolve(spec string) ([]module, error) {
	var wanted []string
	for _, name := range strings.Split(spec, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case name == "all":
			wanted = append(wanted, m.targets()...)
		default:
			mod, ok := m.byName[name]
			if !ok || !mod.isTarget {
				return nil, fmt.Errorf("unknown target %q; valid targets: all, %s", name, strings.Join(m.targets(), ", "))
			}
			wanted = append(wanted, name)
		}
	}
	if len(wanted) == 0 {
		return nil, fmt.Errorf("no target given; valid targets: all, %s", strings.Join(m.targets(), ", "))
	}

	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []module
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		mod, ok := m.byName[name]
		if !ok {
			return fmt.Errorf("module %s depends on unregistered module %q", path[len(path)-1], name)
		}
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("module dependency cycle: %s", strings.Join(append(path, name), " -> "))
		}
		state[name] = visiting
		for _, d := range mod.deps {
			if err := visit(d, append(slices.Clone(path), name)); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, mod)
		return nil
	}
	for _, name := range wanted {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
