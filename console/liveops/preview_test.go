package liveops

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/musterhq/muster/domain/challenge"
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
