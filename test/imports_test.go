// Package test holds checks of the whole tree.
package test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/musterhq/muster"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func under(path, dir string) bool {
	p := module + "/" + dir
	return path == p || strings.HasPrefix(path, p+"/")
}

// violations returns what the import rules forbid for p:
// cmd -> {api, console, realtime} -> domain; domain imports no HTTP or
// template library and no edge package; the edges never import each other.
func violations(p pkg) []string {
	var bad []string
	edges := []string{"api", "console", "realtime"}
	if under(p.ImportPath, "domain") {
		for _, imp := range p.Imports {
			if imp == "net/http" || strings.HasPrefix(imp, "github.com/gofiber/") || strings.HasPrefix(imp, "github.com/a-h/templ") {
				bad = append(bad, p.ImportPath+" imports "+imp)
			}
		}
		for _, dep := range p.Deps {
			for _, higher := range append(edges, "web", "cmd") {
				if under(dep, higher) {
					bad = append(bad, p.ImportPath+" depends on "+dep)
				}
			}
		}
	}
	for _, edge := range edges {
		if !under(p.ImportPath, edge) {
			continue
		}
		for _, dep := range p.Deps {
			for _, other := range edges {
				if other != edge && under(dep, other) {
					bad = append(bad, p.ImportPath+" depends on "+dep)
				}
			}
		}
	}
	for _, dep := range p.Deps {
		if under(dep, "cmd") && !under(p.ImportPath, "cmd") {
			bad = append(bad, p.ImportPath+" depends on "+dep)
		}
	}
	return bad
}

func TestImportDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, v := range violations(p) {
			t.Error(v)
		}
	}
}

// The rules must catch what they are meant to catch.
func TestImportRulesCatchViolations(t *testing.T) {
	cases := []pkg{
		{ImportPath: module + "/domain/ledger", Imports: []string{"net/http"}},
		{ImportPath: module + "/domain/ledger", Imports: []string{"github.com/gofiber/fiber/v2"}},
		{ImportPath: module + "/domain/ledger", Deps: []string{module + "/api/store"}},
		{ImportPath: module + "/api/store", Deps: []string{module + "/console/players"}},
		{ImportPath: module + "/realtime", Deps: []string{module + "/api"}},
		{ImportPath: module + "/web", Deps: []string{module + "/cmd/muster"}},
	}
	for _, c := range cases {
		if len(violations(c)) == 0 {
			t.Errorf("no violation found for %+v", c)
		}
	}
	ok := pkg{ImportPath: module + "/api/store", Imports: []string{"net/http"}, Deps: []string{module + "/domain/ledger", module + "/web"}}
	if v := violations(ok); len(v) != 0 {
		t.Errorf("allowed imports flagged: %v", v)
	}
}
