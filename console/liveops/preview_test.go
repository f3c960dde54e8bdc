package liveops

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/matchmaking"
)

// wants fails t for each string page lacks.
func wants(t *testing.T, what, page string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("%s preview lacks %q:\n%s", what, w, page)
		}
	}
}

func TestChallengePoolPreviewTabulatesTheChallenges(t *testing.T) {
	p := DefaultPreviews()[challenge.KindPool]
	if p == nil {
		t.Fatal("no preview of challenge pools")
	}
	page := render(t, p, `{"challenges":[
		{"id":"smg_kills","name":"Spray and pray","goal":{"metric":"kills","target":5,"weapon_class":"smg"},"weight":3,
			"reward":{"currencies":[{"currency":"credits","amount":100}]}},
		{"id":"top3","name":"Podium","goal":{"metric":"placement","target":1,"placement":3,"modes":["br_solo","br_duo"]},"weight":1,
			"reward":{"items":[{"item_id":"charm.podium","quantity":1}]}}]}`)
	wants(t, "challenge pool", page, "<code>smg_kills</code>", "Spray and pray", "<td>5 kills with smg</td>", `<td class="num">3</td>`,
		"100 credits", "<td>1 match placed 3rd or better in br_solo, br_duo</td>", "1 × charm.podium", "2 challenges; weights add up to 4")
	if _, err := p(json.RawMessage(`{"challenges":[]}`)); err == nil {
		t.Error("a pool without challenges previewed")
	}
}

func TestGoalText(t *testing.T) {
	cases := []struct {
		goal challenge.Goal
		want string
	}{
		{challenge.Goal{Metric: challenge.MetricKills, Target: 5, WeaponClass: "smg"}, "5 kills with smg"},
		{challenge.Goal{Metric: challenge.MetricKills, Target: 1}, "1 kill"},
		{challenge.Goal{Metric: challenge.MetricWins, Target: 2, Modes: []string{"tdm"}}, "2 wins in tdm"},
		{challenge.Goal{Metric: challenge.MetricPlacement, Target: 4, Placement: 1}, "4 matches placed 1st"},
		{challenge.Goal{Metric: challenge.MetricMatches, Target: 10}, "10 matches played"},
		{challenge.Goal{Metric: challenge.MetricXP, Target: 5000}, "5000 XP"},
		{challenge.Goal{Metric: challenge.MetricDamage, Target: 2500}, "2500 damage"},
		{challenge.Goal{Metric: challenge.MetricHeadshots, Target: 1}, "1 headshot"},
		{challenge.Goal{Metric: challenge.MetricAssists, Target: 3}, "3 assists"},
		{challenge.Goal{Metric: challenge.MetricRevives, Target: 2}, "2 revives"},
		{challenge.Goal{Metric: "flags", Target: 2}, "2 flags"},
	}
	for _, c := range cases {
		if got := goalText(c.goal); got != c.want {
			t.Errorf("goalText(%+v) = %q, want %q", c.goal, got, c.want)
		}
	}
}

func TestChallengeRotationPreviewShowsRegionsAndSlates(t *testing.T) {
	p := DefaultPreviews()[challenge.KindRotation]
	if p == nil {
		t.Fatal("no preview of the challenge rotation")
	}
	page := render(t, p, `{"regions":{
			"na":{"timezone":"America/New_York","reset_at":"04:00","countries":["US","CA"]},
			"eu":{"timezone":"Europe/Berlin","reset_at":"05:00"}},
		"default_region":"eu","weekly_day":"tuesday",
		"daily":{"pool":"daily_pool","count":3,"rerolls":1},"weekly":{"pool":"weekly_pool","count":0}}`)
	wants(t, "rotation", page, "America/New_York", "04:00", "US, CA", "Europe/Berlin", "05:00", "none listed",
		"<dd>eu</dd>", `<span class="badge">default</span>`, "<dd>tuesday</dd>",
		`href="/liveops/challenge_pool/daily_pool"`, `<td class="num">3</td>`, `<td class="num">1</td>`, "weekly_pool", "off")
	if strings.Index(page, "<code>eu</code>") > strings.Index(page, "<code>na</code>") {
		t.Error("the regions are not listed by id")
	}
	if eu, badge, na := strings.Index(page, "<code>eu</code>"), strings.Index(page, `badge">default`), strings.Index(page, "<code>na</code>"); eu > badge || badge > na {
		t.Error("the default badge is not on the default region")
	}
	if strings.Index(page, "<td>daily</td>") > strings.Index(page, "<td>weekly</td>") {
		t.Error("the daily slate does not come first")
	}
	if _, err := p(json.RawMessage(`{"regions":{}}`)); err == nil {
		t.Error("a rotation without regions previewed")
	}
}

func TestLoadoutRulesPreviewTabulatesTheSlots(t *testing.T) {
	p := DefaultPreviews()["loadout_rules"]
	if p == nil {
		t.Fatal("no preview of loadout rules")
	}
	page := render(t, p, `{"max_loadouts":8,"slots":[
		{"id":"primary","item_kinds":["weapon"],"required":true},
		{"id":"emblem","item_kinds":["charm","banner"],"tags":["emblem","rare"]}]}`)
	wants(t, "loadout rules", page, "up to 8 loadouts of 2 slots", "<code>primary</code>", "<td>weapon</td>", "<td>required</td>",
		"<code>emblem</code>", "<td>charm, banner</td>", "<td>emblem, rare</td>", "optional", "any")
	if _, err := p(json.RawMessage(`{"max_loadouts":8,"slots":[]}`)); err == nil {
		t.Error("loadout rules without slots previewed")
	}
}

func TestQueuePreviewShowsShapeWideningAndRules(t *testing.T) {
	p := DefaultPreviews()[matchmaking.KindQueue]
	if p == nil {
		t.Fatal("no preview of matchmaking queues")
	}
	page := render(t, p, `{"name":"Battle Royale Quads","mode":"br_quads","team_size":4,"teams":38,"regions":["eu-west","us-east"],
		"party_min":1,"party_max":4,"skill":{"start":4,"per_second":0.25,"max":30},"latency":{"start":60,"per_second":1,"max":150},
		"max_wait_seconds":120,"fallback":"bots","min_players":60,"backfill":true}`)
	wants(t, "queue", page, "Battle Royale Quads", `href="/liveops/mode/br_quads"`, "38 × 4 = 152 players per match",
		"<code>eu-west</code>,", "<code>us-east</code>", "1 to 4 players", "the queue's own",
		// 4 + 0.25/s: ± 4 at 0 s, 7.75 at 15 s, 11.5 at 30 s, 19 at 60 s, 30 (its max) from 104 s.
		`<td class="num">± 4</td>`, `<td class="num">± 7.8</td>`, `<td class="num">± 11.5</td>`, `<td class="num">± 19</td>`, `<td class="num">± 30</td>`,
		// 60 + 1/s ms: 60, 75, 90, 120, then 150 from 90 s.
		`<td class="num">60 ms</td>`, `<td class="num">75 ms</td>`, `<td class="num">90 ms</td>`, `<td class="num">150 ms</td>`,
		"widest after 1 min 44 s", "widest after 1 min 30 s",
		"at least 60 of 152", "fills the empty seats with bots", "With fewer than 60 players around it, the ticket keeps waiting.",
		"each tick fills their seats first", "± 30)")
	// Rows: 0, 15, 30, 60 s and the max wait, 2 min, once (120 s is the max wait, not a row of its own).
	if got := strings.Count(page, "<tr data-wait="); got != 5 {
		t.Errorf("widening rows: %d, want 5:\n%s", got, page)
	}
	if i, j := strings.Index(page, `data-wait="2 min"`), strings.Index(page, "max wait</span>"); i < 0 || j < i {
		t.Error("the last row is not marked as the max wait")
	}

	solo := render(t, p, `{"name":"Duel","mode":"duel","team_size":1,"teams":2,"regions":["eu-west"],"party_min":1,"party_max":1,
		"skill":{"start":10,"per_second":0,"max":10},"latency":{"start":80,"per_second":0,"max":80},
		"max_wait_seconds":45,"fallback":"none","rating_pool":"duel_ranked","backfill":false}`)
	wants(t, "solo queue", solo, "2 × 1 = 2 players per match", "solo players only", "<code>duel_ranked</code>",
		"widest from the start", "None: after 45 s a ticket keeps waiting", "Off: seats that open in a started match stay empty.")
	if strings.Contains(solo, "bots fallback") {
		t.Error("a queue without the bots fallback shows it")
	}
	if got := strings.Count(solo, "<tr data-wait="); got != 4 { // 0, 15, 30, 45 s
		t.Errorf("widening rows of a 45 s queue: %d, want 4", got)
	}

	lone := render(t, p, `{"name":"Solos","mode":"br_solo","team_size":1,"teams":100,"regions":["eu-west"],"party_min":1,"party_max":1,
		"skill":{"start":5,"per_second":1,"max":50},"latency":{"start":60,"per_second":1,"max":150},
		"max_wait_seconds":600,"fallback":"bots","min_players":0}`)
	wants(t, "solos", lone, "at least 1 of 100", "A lone player in an empty region plays after 10 min.", `data-wait="5 min"`, `data-wait="10 min"`)
	if _, err := p(json.RawMessage(`{"teams":"many"}`)); err == nil {
		t.Error("a queue whose JSON does not decode previewed")
	}
}

func TestSecondsAndNumbers(t *testing.T) {
	for s, want := range map[int]string{0: "0 s", 45: "45 s", 60: "1 min", 104: "1 min 44 s", 3600: "60 min"} {
		if got := seconds(s); got != want {
			t.Errorf("seconds(%d) = %q, want %q", s, got, want)
		}
	}
	for f, want := range map[float64]string{4: "4", 7.75: "7.8", 11.5: "11.5", 0.04: "0", 150: "150"} {
		if got := number(f); got != want {
			t.Errorf("number(%v) = %q, want %q", f, got, want)
		}
	}
}
