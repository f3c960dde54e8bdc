package bots

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestScenarioFileOverridesTheDefaults(t *testing.T) {
	for name, raw := range map[string]string{
		"yaml": "players: 300\nduration: 90s\nramp: 25\nmix:\n  play: 3\n  reconnect: 1\nparties: {share: 0.8, min_size: 3, max_size: 4}\nmatch:\n  queue: br_quads\n  latency_ms: {eu-west: 20}\n",
		"json": `{"players": 300, "duration": 90, "ramp": 25, "mix": {"play": 3, "reconnect": 1},
			"parties": {"share": 0.8, "min_size": 3, "max_size": 4}, "match": {"queue": "br_quads", "latency_ms": {"eu-west": 20}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s."+name)
			if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := LoadScenario(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if s.Players != 300 || s.Duration.D() != 90*time.Second || s.Ramp != 25 {
				t.Errorf("players %d duration %s ramp %v", s.Players, s.Duration.D(), s.Ramp)
			}
			// The file's mix replaces the default one: buying is not played.
			if len(s.Mix) != 2 || s.Mix[ActPlay] != 3 || s.Mix[ActBuyOffer] != 0 {
				t.Errorf("mix %v", s.Mix)
			}
			// Fields of a section the file names but leaves out keep their defaults.
			if s.Match.Queue != "br_quads" || s.Match.Wait.D() != DefaultScenario().Match.Wait.D() || s.Parties.MinSize != 3 {
				t.Errorf("match %+v parties %+v", s.Match, s.Parties)
			}
			if s.Match.Latency["eu-west"] != 20 || s.Match.Latency["us-east"] != 90 {
				t.Errorf("latency %v: a map in the file is merged into the default's", s.Match.Latency)
			}
		})
	}
}

func TestScenarioRefusesWhatCannotRun(t *testing.T) {
	if err := DefaultScenario().Validate(); err != nil {
		t.Fatalf("the default scenario: %v", err)
	}
	cases := map[string]struct {
		change func(*Scenario)
		want   string
	}{
		"no players":      {func(s *Scenario) { s.Players = 0 }, "players must be 1 to 100000"},
		"too many":        {func(s *Scenario) { s.Players = MaxPlayers + 1 }, "players must be 1 to 100000"},
		"unbounded":       {func(s *Scenario) { s.Duration = Duration(2 * time.Hour) }, "duration must be"},
		"no ramp":         {func(s *Scenario) { s.Ramp = 0 }, "ramp must be"},
		"empty mix":       {func(s *Scenario) { s.Mix = map[string]int{ActPlay: 0} }, "at least one activity"},
		"unknown act":     {func(s *Scenario) { s.Mix["dance"] = 1 }, `unknown activity "dance"`},
		"party of one":    {func(s *Scenario) { s.Parties.MinSize = 1 }, "min_size"},
		"latency":         {func(s *Scenario) { s.Match.Latency["eu-west"] = 1990 }, "latency_ms"},
		"no servers":      {func(s *Scenario) { s.Servers.PerRegion = 0 }, "servers:"},
		"think backwards": {func(s *Scenario) { s.Think.Max = 0 }, "think must have"},
		"bad prefix":      {func(s *Scenario) { s.Accounts.Prefix = "9bots" }, "accounts.prefix"},
		"replay":          {func(s *Scenario) { s.Store.Replay = 2 }, "store.replay"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := DefaultScenario()
			c.change(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
		})
	}
}

func TestScenarioRefusesUnknownFieldsAndBadDurations(t *testing.T) {
	for raw, want := range map[string]string{
		"players: 10\nplayerz: 20\n":   "unknown field",
		"duration: soon\n":             "want a Go duration",
		"think: {min: 1s, max: [1]}\n": "duration",
	} {
		s := DefaultScenario()
		if err := ParseScenario([]byte(raw), &s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", raw, err, want)
		}
	}
}

// docs/bots-example.yaml is the default scenario written out, as
// docs/bots.md says.
func TestExampleScenarioIsTheDefault(t *testing.T) {
	s, err := LoadScenario("../../docs/bots-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(s)
	want, _ := json.Marshal(DefaultScenario())
	if string(got) != string(want) {
		t.Fatalf("docs/bots-example.yaml\n%s\nthe default\n%s", got, want)
	}
}
