package liveops

import (
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
)

// Preview renders a document body of one kind as designers review it: the
// XP curve's level table, a battle pass's whole track. It reads leniently
// (an old published version may predate a field), and an error shows the
// JSON alone with the reason.
type Preview func(body json.RawMessage) (templ.Component, error)

// Previews are the preview renderers by content kind; a kind without one is
// shown as pretty-printed JSON.
type Previews map[string]Preview

// DefaultPreviews are the renderers of the kinds the console knows. Adding
// one is a function from body to component and an entry here.
func DefaultPreviews() Previews {
	return Previews{
		progression.KindCurve:   curvePreview,
		progression.KindTree:    treePreview,
		match.KindMode:          modePreview,
		season.Kind:             seasonPreview,
		battlepass.Kind:         battlePassPreview,
		challenge.KindPool:      challengePoolPreview,
		challenge.KindRotation:  rotationPreview,
		player.KindLoadoutRules: loadoutRulesPreview,
		matchmaking.KindQueue:   queuePreview,
	}
}

// CurveLevel is one row of the XP curve's level table.
type CurveLevel struct {
	Level  int
	XP     int64 // from the level before; 0 for level 1
	Total  int64 // XP from level 1 to reach this level
	Reward string
}

// CurveView is the XP curve as its preview shows it.
type CurveView struct {
	Levels      []CurveLevel
	MaxLevel    int
	Cap         int64 // XP to the maximum level
	MaxRank     int
	RankRewards []RankRow
}

// RankRow is one prestige rank's reward.
type RankRow struct {
	Rank   int
	Reward string
}

func curvePreview(body json.RawMessage) (templ.Component, error) {
	var c progression.Curve
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, err
	}
	rewards := map[int]reward.Reward{}
	for _, r := range c.Rewards {
		rewards[r.Level] = r.Reward
	}
	v := CurveView{MaxLevel: len(c.XPPerLevel) + 1, MaxRank: c.Prestige.MaxRank}
	v.Levels = append(v.Levels, CurveLevel{Level: 1})
	for i, xp := range c.XPPerLevel {
		v.Cap += xp
		v.Levels = append(v.Levels, CurveLevel{Level: i + 2, XP: xp, Total: v.Cap, Reward: rewardText(rewards[i+2])})
	}
	ranks := append([]progression.RankReward(nil), c.Prestige.Rewards...)
	sort.Slice(ranks, func(i, j int) bool { return ranks[i].Rank < ranks[j].Rank })
	for _, r := range ranks {
		v.RankRewards = append(v.RankRewards, RankRow{Rank: r.Rank, Reward: rewardText(r.Reward)})
	}
	return curveTable(v), nil
}

// TreeNodeRow is one node of an unlock tree's preview.
type TreeNodeRow struct {
	ID, Name, Requires, Cost, Reward string
	MinLevel, MinPrestige            int
}

func treePreview(body json.RawMessage) (templ.Component, error) {
	var t progression.Tree
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, err
	}
	rows := make([]TreeNodeRow, len(t.Nodes))
	for i, n := range t.Nodes {
		rows[i] = TreeNodeRow{ID: n.ID, Name: n.Name, Requires: strings.Join(n.Requires, ", "), MinLevel: n.MinLevel,
			MinPrestige: n.MinPrestige, Reward: rewardText(n.Reward)}
		if n.Cost != nil {
			rows[i].Cost = amountText(*n.Cost)
		}
	}
	return treeTable(t.Name, t.Kind, rows), nil
}

// ModeView is a match mode as its preview shows it.
type ModeView struct {
	match.Mode
	Bounds    []Bound
	Duration  string
	Placement string
}

// Bound is the largest value of a stat one player may report.
type Bound struct {
	Stat  string
	Value int64
}

func modePreview(body json.RawMessage) (templ.Component, error) {
	var m match.Mode
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	v := ModeView{Mode: m, Duration: (time.Duration(m.MaxDurationSeconds) * time.Second).String()}
	for stat, b := range m.Bounds {
		v.Bounds = append(v.Bounds, Bound{Stat: stat, Value: b})
	}
	sort.Slice(v.Bounds, func(i, j int) bool { return v.Bounds[i].Stat < v.Bounds[j].Stat })
	places := make([]string, len(m.XP.Placement))
	for i, p := range m.XP.Placement {
		places[i] = ordinal(i+1) + " " + i64(p)
	}
	v.Placement = strings.Join(places, ", ")
	return modeTable(v), nil
}

// SeasonView is a season as its preview shows it.
type SeasonView struct {
	Name, Starts, Ends, Length, Now string
}

func seasonPreview(body json.RawMessage) (templ.Component, error) {
	var s season.Season
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, err
	}
	v := SeasonView{Name: s.Name, Starts: whenUTC(s.StartsAt), Ends: whenUTC(s.EndsAt)}
	days := s.EndsAt.Sub(s.StartsAt).Hours() / 24
	v.Length = strconv.FormatFloat(days, 'f', -1, 64) + " days"
	switch now := time.Now(); {
	case now.Before(s.StartsAt):
		v.Now = "upcoming: starts in " + span(s.StartsAt.Sub(now))
	case s.Contains(now):
		v.Now = "running: ends in " + span(s.EndsAt.Sub(now))
	default:
		v.Now = "ended"
	}
	return seasonTable(v), nil
}

// PassTier is one tier of a battle pass track.
type PassTier struct {
	Tier          string
	XP, TotalXP   string
	Free, Premium string
}

// PassView is a battle pass as its preview shows it: its settings, then the
// whole track.
type PassView struct {
	Fields []Field
	Tiers  []PassTier
}

// Field is a top-level setting of a document.
type Field struct{ Name, Value string }

// battlePassPreview shows the whole track of a battle pass: tier, XP,
// total XP, free reward, premium reward, and its prices.
func battlePassPreview(body json.RawMessage) (templ.Component, error) {
	var d battlepass.Doc
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, err
	}
	if len(d.Tiers) == 0 {
		return nil, errors.New("the battle pass has no tiers")
	}
	var v PassView
	price := func(p *battlepass.Price) string {
		if p == nil {
			return "not sold"
		}
		return i64(p.Amount) + " " + p.Currency
	}
	v.Fields = append(v.Fields, Field{Name: "Premium track", Value: price(d.PremiumPrice)}, Field{Name: "Tier skip", Value: price(d.TierSkipPrice)})
	var total int64
	for i, t := range d.Tiers {
		xp := t.XP
		if xp == 0 {
			xp = d.XPPerTier
		}
		total += xp
		v.Tiers = append(v.Tiers, PassTier{Tier: strconv.Itoa(i + 1), XP: i64(xp), TotalXP: i64(total),
			Free: rewardText(t.Free), Premium: rewardText(t.Premium)})
	}
	return passTable(v), nil
}

// ChallengeRow is one challenge of a pool's preview.
type ChallengeRow struct {
	ID, Name, Goal, Reward string
	Weight                 int
}

// challengePoolPreview shows a challenge pool as a table: id, name, the
// goal as a sentence, weight and reward.
func challengePoolPreview(body json.RawMessage) (templ.Component, error) {
	var p challenge.Pool
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, err
	}
	if len(p.Challenges) == 0 {
		return nil, errors.New("the pool has no challenges")
	}
	rows := make([]ChallengeRow, len(p.Challenges))
	total := 0
	for i, c := range p.Challenges {
		rows[i] = ChallengeRow{ID: c.ID, Name: c.Name, Goal: goalText(c.Goal), Weight: c.Weight, Reward: rewardText(c.Reward)}
		total += c.Weight
	}
	return poolTable(rows, total), nil
}

// goalText writes a challenge's goal as a sentence: "5 kills with smg",
// "3 matches placed 2nd or better in tdm".
func goalText(g challenge.Goal) string {
	n := i64(g.Target)
	var out string
	switch g.Metric {
	case challenge.MetricKills:
		out = n + " " + plural(g.Target, "kill", "kills")
		if g.WeaponClass != "" {
			out += " with " + g.WeaponClass
		}
	case challenge.MetricWins:
		out = n + " " + plural(g.Target, "win", "wins")
	case challenge.MetricPlacement:
		out = n + " " + plural(g.Target, "match", "matches") + " placed " + ordinal(max(g.Placement, 1))
		if g.Placement > 1 {
			out += " or better"
		}
	case challenge.MetricMatches:
		out = n + " " + plural(g.Target, "match", "matches") + " played"
	case challenge.MetricXP:
		out = n + " XP"
	case challenge.MetricDamage:
		out = n + " damage"
	case challenge.MetricHeadshots:
		out = n + " " + plural(g.Target, "headshot", "headshots")
	case challenge.MetricAssists:
		out = n + " " + plural(g.Target, "assist", "assists")
	case challenge.MetricRevives:
		out = n + " " + plural(g.Target, "revive", "revives")
	default:
		out = n + " " + g.Metric
	}
	if len(g.Modes) > 0 {
		out += " in " + strings.Join(g.Modes, ", ")
	}
	return out
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// RegionRow is one region of the challenge rotation.
type RegionRow struct {
	ID, Timezone, ResetAt, Countries string
	Default                          bool
}

// SlateRow is what a player gets each period of one cadence.
type SlateRow struct {
	Cadence, Pool string
	Count         int
	Rerolls       int
}

// RotationView is the challenge rotation as its preview shows it.
type RotationView struct {
	Regions       []RegionRow
	DefaultRegion string
	WeeklyDay     string
	Slates        []SlateRow
}

// rotationPreview shows the challenge rotation: its regions with their
// time zone, reset time and countries, the default region, the weekly
// day, and the daily and weekly slates.
func rotationPreview(body json.RawMessage) (templ.Component, error) {
	var r challenge.Rotation
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	if len(r.Regions) == 0 {
		return nil, errors.New("the rotation has no regions")
	}
	v := RotationView{DefaultRegion: r.DefaultRegion, WeeklyDay: r.WeeklyDay}
	for _, id := range sortedKeys(r.Regions) {
		reg := r.Regions[id]
		v.Regions = append(v.Regions, RegionRow{ID: id, Timezone: reg.Timezone, ResetAt: reg.ResetAt,
			Countries: strings.Join(reg.Countries, ", "), Default: id == r.DefaultRegion})
	}
	for _, c := range challenge.Cadences {
		sl := r.Slate(c)
		v.Slates = append(v.Slates, SlateRow{Cadence: string(c), Pool: sl.Pool, Count: sl.Count, Rerolls: sl.Rerolls})
	}
	return rotationTable(v), nil
}

// SlotRow is one slot of the loadout rules.
type SlotRow struct {
	ID, ItemKinds, Tags string
	Required            bool
}

// loadoutRulesPreview shows the loadout rules: how many loadouts a player
// may keep, and a table of the slots.
func loadoutRulesPreview(body json.RawMessage) (templ.Component, error) {
	var r player.LoadoutRules
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	if len(r.Slots) == 0 {
		return nil, errors.New("the loadout rules have no slots")
	}
	rows := make([]SlotRow, len(r.Slots))
	for i, sl := range r.Slots {
		rows[i] = SlotRow{ID: sl.ID, ItemKinds: strings.Join(sl.ItemKinds, ", "), Tags: strings.Join(sl.Tags, ", "), Required: sl.Required}
	}
	return slotsTable(r.MaxLoadouts, rows), nil
}

// rewardText writes a reward on one line: "2 × charm.dice, 500 credits".
func rewardText(r reward.Reward) string {
	parts := make([]string, 0, len(r.Items)+len(r.Currencies))
	for _, it := range r.Items {
		parts = append(parts, strconv.Itoa(it.Quantity)+" × "+it.ItemID)
	}
	for _, a := range r.Currencies {
		parts = append(parts, amountText(a))
	}
	return strings.Join(parts, ", ")
}

func amountText(a reward.Amount) string { return i64(a.Amount) + " " + a.Currency }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

// span writes a duration in days and hours.
func span(d time.Duration) string {
	days := int(d.Hours()) / 24
	hours := int(d.Hours()) % 24
	if days > 0 {
		return strconv.Itoa(days) + " d " + strconv.Itoa(hours) + " h"
	}
	return strconv.Itoa(hours) + " h " + strconv.Itoa(int(d.Minutes())%60) + " min"
}
