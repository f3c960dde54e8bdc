package main

import (
	"os"
	"strings"
	"testing"
)

// README's configuration table must list every setting with its default.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	for _, s := range settings(&cfg) {
		row := "| `" + s.env() + "` | `--" + s.name + "` | "
		i := strings.Index(string(readme), row)
		if i < 0 {
			t.Errorf("README.md lacks the row for %s (%q)", s.env(), row)
			continue
		}
		line := string(readme[i:])
		line = line[:strings.IndexByte(line, '\n')]
		def := s.def
		if def == "" {
			def = "(none)"
		}
		if !strings.Contains(line, "`"+def+"`") && !(s.def == "" && strings.Contains(line, "(none)")) {
			t.Errorf("README.md row for %s does not give the default %q: %s", s.env(), def, line)
		}
	}
}
