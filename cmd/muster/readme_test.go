package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's configuration table")

const (
	tableBegin = "<!-- settings:begin (go test ./cmd/muster -run README -update) -->\n"
	tableEnd   = "<!-- settings:end -->"
)

// settingsTable is README's configuration table, made from the settings.
func settingsTable() string {
	var b strings.Builder
	b.WriteString("| variable | flag | default | meaning |\n|---|---|---|---|\n")
	var cfg Config
	for _, s := range settings(&cfg) {
		def := "`" + s.def + "`"
		if s.def == "" {
			def = "(none)"
		}
		fmt.Fprintf(&b, "| `%s` | `--%s` | %s | %s |\n", s.env(), s.name, def, s.usage)
	}
	return b.String()
}

// README's configuration table must be the one the settings make.
func TestREADMEListsEverySetting(t *testing.T) {
	const path = "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i, j := strings.Index(text, tableBegin), strings.Index(text, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the settings markers %q ... %q", tableBegin, tableEnd)
	}
	want := settingsTable()
	if got := text[i+len(tableBegin) : j]; got != want {
		if !*update {
			t.Fatalf("README.md's settings table is out of date; run go test ./cmd/muster -run README -update")
		}
		text = text[:i+len(tableBegin)] + want + text[j:]
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
