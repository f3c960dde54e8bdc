package liveops

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

const doc = `{
  "name": "Pass",
  "tiers": [
    {
      "xp": 100,
      "free": {"items": [{"item_id": "charm.a", "quantity": 1}]}
    },
    {
      "xp": 200,
      "premium": {
        "items": [
          {"item_id": "skin.b", "quantity": 0}
        ]
      }
    }
  ],
  "bounds": {"kills": 5}
}`

func TestLineOfPointsAtTheField(t *testing.T) {
	cases := []struct {
		path string
		want int
	}{
		{"name", 2},
		{"tiers", 3},
		{"tiers[0]", 4},
		{"tiers[0].xp", 5},
		{"tiers[1].premium.items[0]", 12},
		{"tiers[1].premium.items[0].quantity", 12},
		{"bounds.kills", 17},
		{"tiers[1].free", 8},       // missing: the tier that lacks it
		{"tiers[7].xp", 3},         // missing: the list
		{"starts_at", 1},           // missing at the top: the document
		{"document", 1},            // not a path the body has
		{"tiers[x]", 0},            // not a path
		{"", 0},                    // nothing
		{"tiers[0].free.items", 6}, // inside a one-line object
	}
	for _, c := range cases {
		if got := lineOf(doc, c.path); got != c.want {
			t.Errorf("lineOf(%q) = %d, want %d", c.path, got, c.want)
		}
	}
	if got := lineOf("not json", "name"); got != 0 {
		t.Errorf("lineOf on text that is not JSON = %d", got)
	}
}

func TestSyntaxProblemSaysWhere(t *testing.T) {
	cases := []struct{ text, want string }{
		{doc, ""},
		{"{\n  \"a\": 1,\n}", "line 3, column 1"},
		{"{\"a\": 1} {}", "more after the document at line 1, column 10"},
		{"{\"a\": [1, 2", "ends too early"},
		{"", "{} at the least"},
	}
	for _, c := range cases {
		got := syntaxProblem(c.text)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("syntaxProblem(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func render(t *testing.T, p Preview, body string) string {
	t.Helper()
	comp, err := p(json.RawMessage(body))
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	var buf bytes.Buffer
	if err := comp.Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestPreviewsRenderTheirKinds(t *testing.T) {
	p := DefaultPreviews()
	curve := render(t, p["xp_curve"], `{"xp_per_level":[100,250],"rewards":[{"level":3,"reward":{"currencies":[{"currency":"credits","amount":50}]}}],
		"prestige":{"max_rank":2,"rewards":[{"rank":1,"reward":{"items":[{"item_id":"banner.x","quantity":1}]}}]}}`)
	for _, want := range []string{`data-level="3"`, "<td class=\"num\">350</td>", "50 credits", "1 × banner.x", "Prestige up to rank 2", "3 levels"} {
		if !strings.Contains(curve, want) {
			t.Errorf("curve preview lacks %q:\n%s", want, curve)
		}
	}
	pass := render(t, p["battle_pass"], `{"xp_per_tier":100,"premium_price":{"currency":"gems","amount":950},
		"tiers":[{"free":{"items":[{"item_id":"charm.a","quantity":1}]}},{"xp":200,"premium":{"items":[{"item_id":"skin.b","quantity":1}]}}]}`)
	for _, want := range []string{"1 × charm.a", "1 × skin.b", "<td class=\"num\">300</td>", "950 gems", "not sold"} {
		if !strings.Contains(pass, want) {
			t.Errorf("battle pass preview lacks %q:\n%s", want, pass)
		}
	}
	if _, err := p["battle_pass"](json.RawMessage(`{"xp_per_tier":100}`)); err == nil {
		t.Error("a battle pass without tiers previewed")
	}
	tree := render(t, p["unlock_tree"], `{"name":"AR","kind":"weapon","nodes":[{"id":"base","name":"Base","reward":{"items":[{"item_id":"w","quantity":1}]}},
		{"id":"uav","name":"UAV","requires":["base"],"min_level":5,"cost":{"currency":"credits","amount":200},"reward":{"items":[{"item_id":"u","quantity":1}]}}]}`)
	for _, want := range []string{"200 credits", "<code>base</code>", "2 nodes"} {
		if !strings.Contains(tree, want) {
			t.Errorf("tree preview lacks %q:\n%s", want, tree)
		}
	}
	mode := render(t, p["mode"], `{"name":"TDM","teams":2,"team_size":6,"max_duration_seconds":900,"bounds":{"kills":60,"seconds_played":900},
		"xp":{"per_kill":50,"placement":[500,100],"max":5000}}`)
	for _, want := range []string{"12 at most", "15m0s", "1st 500, 2nd 100", "seconds_played"} {
		if !strings.Contains(mode, want) {
			t.Errorf("mode preview lacks %q:\n%s", want, mode)
		}
	}
	season := render(t, p["season"], `{"name":"S1","starts_at":"2020-01-01T00:00:00Z","ends_at":"2020-03-11T00:00:00Z"}`)
	for _, want := range []string{"2020-01-01 00:00 UTC", "70 days", "ended"} {
		if !strings.Contains(season, want) {
			t.Errorf("season preview lacks %q:\n%s", want, season)
		}
	}
}

func TestPrettyKeepsTheDocumentAndReadsWell(t *testing.T) {
	in := `{"xp_per_level": [100, 250, 1e3], "rewards": [{"level": 2, "reward": {"items": [{"item_id": "charm.<a>", "quantity": 1}]}}],
		"prestige": {"max_rank": 0}, "name": "long name that does not fit on one line with everything else in it, surely"}`
	want := `{
  "name": "long name that does not fit on one line with everything else in it, surely",
  "prestige": {"max_rank": 0},
  "rewards": [
    {
      "level": 2,
      "reward": {
        "items": [
          {"item_id": "charm.<a>", "quantity": 1}
        ]
      }
    }
  ],
  "xp_per_level": [100, 250, 1e3]
}`
	got := pretty([]byte(in))
	if got != want {
		t.Fatalf("pretty:\n%s\nwant:\n%s", got, want)
	}
	var a, b any
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(got), &b); err != nil {
		t.Fatal(err)
	}
	if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
		t.Errorf("pretty changed the document: %s != %s", ja, jb)
	}
	if got := pretty([]byte("not json")); got != "not json" {
		t.Errorf("pretty of text = %q", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
