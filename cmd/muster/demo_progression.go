package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
)

// Demo metagame content: two modes, a running season, an XP curve with
// rewards and prestige, and an unlock tree per weapon class.
func demoContent(now time.Time) []struct {
	kind, id string
	body     any
} {
	items := func(id string) reward.Reward {
		return reward.Reward{Items: []inventory.Line{{ItemID: id, Quantity: 1}}}
	}
	coins := func(n int64) reward.Reward {
		return reward.Reward{Currencies: []reward.Amount{{Currency: credits, Amount: n}}}
	}
	bounds := map[string]int64{match.StatKills: 60, match.StatDeaths: 60, match.StatAssists: 60, match.StatDamage: 20000,
		match.StatHeadshots: 60, match.StatRevives: 30, match.StatScore: 20000, match.StatSecondsPlayed: 2700}
	classes := []string{"assault_rifle", "smg", "sniper", "shotgun", "pistol"}
	xpPerLevel := make([]int64, 49)
	for i := range xpPerLevel {
		xpPerLevel[i] = 1000 + int64(i)*100
	}
	start := now.Truncate(24*time.Hour).AddDate(0, 0, -7)
	season1 := season.Season{Name: "Season 1: Landfall", StartsAt: start, EndsAt: start.AddDate(0, 0, 70)}
	return []struct {
		kind, id string
		body     any
	}{
		{match.KindMode, "br_quads", match.Mode{Name: "Battle Royale Quads", Teams: 38, TeamSize: 4, MaxDurationSeconds: 2700,
			Bounds: bounds, WeaponClasses: classes,
			XP: match.XPRules{PerMinute: 20, PerKill: 100, PerAssist: 40, PerRevive: 60, Win: 2000,
				Placement: []int64{1000, 700, 500, 400, 300, 200, 150, 100, 50, 25}, Max: 10000}}},
		{match.KindMode, "tdm_6v6", match.Mode{Name: "Team Deathmatch 6v6", Teams: 2, TeamSize: 6, MaxDurationSeconds: 900,
			Bounds: bounds, WeaponClasses: classes,
			XP: match.XPRules{PerMinute: 30, PerKill: 50, PerAssist: 20, Win: 500, Placement: []int64{500, 100}, Max: 5000}}},
		{season.Kind, "s1", season1},
		{progression.KindCurve, progression.CurveID, progression.Curve{XPPerLevel: xpPerLevel,
			Rewards: []progression.LevelReward{{Level: 5, Reward: coins(500)}, {Level: 10, Reward: items("charm.dice")},
				{Level: 25, Reward: items("emote.salute")}, {Level: 50, Reward: coins(5000)}},
			Prestige: progression.PrestigeRules{MaxRank: 10, Rewards: []progression.RankReward{{Rank: 1, Reward: items("banner.founders")}}}}},
		{progression.KindTree, "kestrel", progression.Tree{Name: "Kestrel AR", Kind: "weapon", Nodes: []progression.Node{
			{ID: "base", Name: "Kestrel AR", Reward: items("weapon.ar.kestrel")},
			{ID: "uav", Name: "UAV Token", Requires: []string{"base"}, MinLevel: 5, Cost: &reward.Amount{Currency: credits, Amount: 200}, Reward: items("consumable.uav")},
			{ID: "arctic", Name: "Arctic finish", Requires: []string{"uav"}, MinLevel: 20, Cost: &reward.Amount{Currency: credits, Amount: 1500}, Reward: items("skin.kestrel.arctic")},
		}}},
		{progression.KindTree, "operators", progression.Tree{Name: "Operators", Kind: "operator", Nodes: []progression.Node{
			{ID: "rook", Name: "Rook", MinLevel: 3, Reward: items("operator.rook")},
			{ID: "ghost", Name: "Ghost", Requires: []string{"rook"}, MinLevel: 15, Cost: &reward.Amount{Currency: credits, Amount: 2500}, Reward: items("operator.ghost")},
		}}},
	}
}

// seedDemoProgression publishes the demo metagame content that is not there
// yet; documents a designer already made are left as they are.
func seedDemoProgression(ctx context.Context, p *platform) error {
	for _, d := range demoContent(time.Now()) {
		if _, err := p.meta.content.Get(ctx, d.kind, d.id); err == nil {
			continue
		} else if !errors.Is(err, content.ErrNotFound) {
			return err
		}
		body, err := json.Marshal(d.body)
		if err != nil {
			return err
		}
		doc, err := p.meta.content.SaveDraft(ctx, d.kind, d.id, "", body, content.Edit{Editor: "muster dev"})
		if err != nil {
			return fmt.Errorf("seed %s %s: %w", d.kind, d.id, err)
		}
		if _, err := p.meta.content.Publish(ctx, d.kind, d.id, content.Edit{Expected: doc.DraftRevision, Editor: "muster dev"}); err != nil {
			return fmt.Errorf("publish %s %s: %w", d.kind, d.id, err)
		}
	}
	return nil
}
