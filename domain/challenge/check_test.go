package challenge_test

import (
	"errors"
	"testing"

	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/reward"
)

func TestInvalidContentIsRefusedWithTheField(t *testing.T) {
	f := setup(t)
	good := func() []challenge.Challenge {
		return []challenge.Challenge{
			ch("smg_kills", challenge.MetricKills, 10, f.coins(100), func(c *challenge.Challenge) { c.Goal.WeaponClass = "smg" }),
			ch("win", challenge.MetricWins, 1, reward.Reward{Items: []inventory.Line{{ItemID: f.item, Quantity: 1}}}),
			ch("top3", challenge.MetricPlacement, 2, f.coins(50), func(c *challenge.Challenge) { c.Goal.Placement = 3 }),
		}
	}
	pool := func(edit func([]challenge.Challenge) []challenge.Challenge) challenge.Pool {
		return challenge.Pool{Challenges: edit(good())}
	}
	// A published rotation that draws 3 from a published pool, for the
	// checks that look at what is published.
	f.configure(good(), 3, 1, []challenge.Challenge{ch("weekly_xp", challenge.MetricXP, 5000, f.coins(500))}, 1, 0)
	var rot challenge.Rotation
	if _, err := content.Published(f.ctx, f.conn, challenge.KindRotation, challenge.RotationID, &rot); err != nil {
		t.Fatal(err)
	}
	dailyPool := rot.Daily.Pool
	rotWith := func(edit func(*challenge.Rotation)) challenge.Rotation {
		r := rotation(rot.Daily, rot.Weekly)
		edit(&r)
		return r
	}

	tests := []struct {
		name  string
		kind  string
		id    string
		body  any
		field string
	}{
		{"no challenges", challenge.KindPool, "p", challenge.Pool{}, "challenges"},
		{"unknown metric", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[0].Goal.Metric = "fun"; return c }), "challenges[0].goal.metric"},
		{"target zero", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[1].Goal.Target = 0; return c }), "challenges[1].goal.target"},
		{"weapon class on wins", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[1].Goal.WeaponClass = "smg"; return c }), "challenges[1].goal.weapon_class"},
		{"weapon class no mode has", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[0].Goal.WeaponClass = "rocket"; return c }), "challenges[0].goal.weapon_class"},
		{"weapon class not in the goal's mode", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge {
			c[0].Goal.WeaponClass, c[0].Goal.Modes = "ar", []string{"tdm"}
			return c
		}), "challenges[0].goal.weapon_class"},
		{"unknown mode", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[2].Goal.Modes = []string{"ctf"}; return c }), "challenges[2].goal.modes[0]"},
		{"placement goal without placement", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[2].Goal.Placement = 0; return c }), "challenges[2].goal.placement"},
		{"placement on a kills goal", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[0].Goal.Placement = 2; return c }), "challenges[0].goal.placement"},
		{"duplicate id", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[2].ID = c[0].ID; return c }), "challenges[2].id"},
		{"bad id", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[1].ID = "Win!"; return c }), "challenges[1].id"},
		{"no name", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[1].Name = ""; return c }), "challenges[1].name"},
		{"weight zero", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge { c[0].Weight = 0; return c }), "challenges[0].weight"},
		{"unknown currency", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge {
			c[0].Reward = reward.Reward{Currencies: []reward.Amount{{Currency: "nope", Amount: 5}}}
			return c
		}), "challenges[0].reward.currencies[0]"},
		{"unknown item", challenge.KindPool, "p", pool(func(c []challenge.Challenge) []challenge.Challenge {
			c[1].Reward.Items[0].ItemID = "item.nope"
			return c
		}), "challenges[1].reward.items[0]"},
		{"unknown field", challenge.KindPool, "p", map[string]any{"challenges": good(), "colour": "red"}, "document"},
		{"shrinking a pool below the rotation's count", challenge.KindPool, dailyPool, pool(func(c []challenge.Challenge) []challenge.Challenge { return c[:2] }), "challenges"},
		{"a daily pool sharing an id with the weekly pool", challenge.KindPool, dailyPool, pool(func(c []challenge.Challenge) []challenge.Challenge { c[1].ID = "weekly_xp"; return c }), "challenges[1].id"},

		{"rotation under another id", challenge.KindRotation, "other", rot, "id"},
		{"unknown time zone", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) {
			r.Regions["na"] = challenge.Region{Timezone: "Mars/Olympus_Mons", ResetAt: "04:00"}
		}), "regions.na.timezone"},
		{"reset time not HH:MM", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) {
			r.Regions["na"] = challenge.Region{Timezone: "America/New_York", ResetAt: "4am"}
		}), "regions.na.reset_at"},
		{"reset time out of the day", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) {
			r.Regions["na"] = challenge.Region{Timezone: "America/New_York", ResetAt: "24:00"}
		}), "regions.na.reset_at"},
		{"country in two regions", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) {
			r.Regions["na"] = challenge.Region{Timezone: "America/New_York", ResetAt: "04:00", Countries: []string{"FR"}}
		}), "regions.na.countries[0]"},
		{"country in lower case", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) {
			r.Regions["na"] = challenge.Region{Timezone: "America/New_York", ResetAt: "04:00", Countries: []string{"us"}}
		}), "regions.na.countries[0]"},
		{"no default region", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) { r.DefaultRegion = "asia" }), "default_region"},
		{"no regions", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) { r.Regions = nil }), "regions"},
		{"weekday", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) { r.WeeklyDay = "funday" }), "weekly_day"},
		{"unpublished pool", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) { r.Daily.Pool = "nowhere" }), "daily.pool"},
		{"more than the pool holds", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) { r.Weekly.Count = 2 }), "weekly.count"},
		{"too many", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) { r.Daily.Count = challenge.MaxCount + 1 }), "daily.count"},
		{"negative rerolls", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) { r.Daily.Rerolls = -1 }), "daily.rerolls"},
		{"one pool for both", challenge.KindRotation, challenge.RotationID, rotWith(func(r *challenge.Rotation) { r.Weekly.Pool = dailyPool }), "weekly.pool"},
		{"unknown field", challenge.KindRotation, challenge.RotationID, map[string]any{"regions": rot.Regions, "default_region": "eu", "weekly_day": "monday", "dayly": rot.Daily}, "document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.save(tt.kind, tt.id, tt.body)
			var fe *content.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, content.ErrInvalid) {
				t.Fatalf("save = %v, want a field error on %s", err, tt.field)
			}
			if fe.Field != tt.field {
				t.Fatalf("field = %q (%s), want %q", fe.Field, fe.Problem, tt.field)
			}
		})
	}

	// The published content was left as it was, and stays valid to save.
	if err := f.save(challenge.KindPool, dailyPool, pool(func(c []challenge.Challenge) []challenge.Challenge { return c })); err != nil {
		t.Fatalf("saving the good pool again: %v", err)
	}
	if err := f.save(challenge.KindRotation, challenge.RotationID, rot); err != nil {
		t.Fatalf("saving the good rotation again: %v", err)
	}
}

func TestPublishingARotationThatSharesIDsAcrossPoolsIsRefused(t *testing.T) {
	f := setup(t)
	d, w := next("daily"), next("weekly")
	f.publish(challenge.KindPool, d, challenge.Pool{Challenges: []challenge.Challenge{ch("same", challenge.MetricWins, 1, f.coins(1))}})
	f.publish(challenge.KindPool, w, challenge.Pool{Challenges: []challenge.Challenge{ch("same", challenge.MetricWins, 3, f.coins(1))}})
	err := f.save(challenge.KindRotation, challenge.RotationID, rotation(challenge.Slate{Pool: d, Count: 1}, challenge.Slate{Pool: w, Count: 1}))
	var fe *content.FieldError
	if !errors.As(err, &fe) || fe.Field != "weekly.pool" {
		t.Fatalf("save = %v, want a field error on weekly.pool", err)
	}
}
