package liveops

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"github.com/musterhq/muster/domain/matchmaking"
)

// QueueView is a matchmaking queue as its preview shows it: its shape in
// words, how its limits widen with a ticket's wait, and what happens at
// the maximum wait and to seats that open in a started match.
type QueueView struct {
	matchmaking.Queue
	Players  int    // per full match
	Parties  string // "1 to 4 players"
	Pool     string // the rating pool
	Widening []WaitRow
	// When the skill spread and the latency limit reach their widest, in
	// words ("after 1 min 44 s", "from the start").
	SkillWidest, LatencyWidest string
	Fallback, Backfill         string
}

// WaitRow is the queue's limits after a wait.
type WaitRow struct {
	Wait     string // "30 s", "2 min"
	MaxWait  bool   // the row of the maximum wait
	Skill    string // ± rating points around the oldest ticket
	Latency  string // ms to a region other than the player's best
	Fallback bool   // the fallback applies from this wait on
}

// waitSteps are the waits the widening table shows, up to the queue's
// maximum wait, which is always its last row.
var waitSteps = []int{0, 15, 30, 60, 120, 300, 600}

// queuePreview shows a queue: mode, teams × size = players per match,
// regions and party sizes, a table of the skill spread and latency limit
// after 0, 15, 30, 60 and 120 seconds and the maximum wait, and the
// fallback and backfill in words.
func queuePreview(body json.RawMessage) (templ.Component, error) {
	var q matchmaking.Queue
	if err := json.Unmarshal(body, &q); err != nil {
		return nil, err
	}
	v := QueueView{Queue: q, Players: q.Slots(), Pool: q.RatingPool}
	switch {
	case q.PartyMin == q.PartyMax && q.PartyMax == 1:
		v.Parties = "solo players only"
	case q.PartyMin == q.PartyMax:
		v.Parties = "parties of exactly " + itoa(q.PartyMax) + " players"
	default:
		v.Parties = itoa(q.PartyMin) + " to " + itoa(q.PartyMax) + " players"
	}
	steps := slices.DeleteFunc(slices.Clone(waitSteps), func(s int) bool { return s >= q.MaxWaitSeconds })
	for _, s := range append(steps, q.MaxWaitSeconds) {
		d := time.Duration(s) * time.Second
		v.Widening = append(v.Widening, WaitRow{Wait: seconds(s), MaxWait: s == q.MaxWaitSeconds,
			Skill: "± " + number(q.Skill.At(d)), Latency: number(q.Latency.At(d)) + " ms",
			Fallback: s == q.MaxWaitSeconds && q.Fallback == matchmaking.FallbackBots})
	}
	v.SkillWidest, v.LatencyWidest = widest(q.Skill), widest(q.Latency)
	maxWait := seconds(q.MaxWaitSeconds)
	switch q.Fallback {
	case matchmaking.FallbackBots:
		least := max(q.MinPlayers, 1)
		v.Fallback = "Bots: after " + maxWait + ", a ticket that has waited that long starts a match with the players that fit around it, " +
			"at least " + itoa(least) + " of " + itoa(v.Players) + "; the server fills the empty seats with bots."
		if least == 1 {
			v.Fallback += " A lone player in an empty region plays after " + maxWait + "."
		} else {
			v.Fallback += " With fewer than " + itoa(least) + " players around it, the ticket keeps waiting."
		}
	case matchmaking.FallbackNone:
		v.Fallback = "None: after " + maxWait + " a ticket keeps waiting with the widest limits until its players cancel; only full matches start."
	default:
		v.Fallback = "Unknown fallback " + strconv.Quote(q.Fallback) + ": publishing refuses it."
	}
	if q.Backfill {
		v.Backfill = "On: when players leave a started match, each tick fills their seats first, before forming new matches, " +
			"with waiting tickets eligible for the match's region and nearest the match's mean rating within the widest skill spread (± " +
			number(q.Skill.Max) + "), each ticket whole on one team."
	} else {
		v.Backfill = "Off: seats that open in a started match stay empty."
	}
	return queueTable(v), nil
}

// widest says when a limit reaches its maximum.
func widest(w matchmaking.Widening) string {
	if w.Start >= w.Max {
		return "from the start"
	}
	if w.PerSecond <= 0 {
		return "never: it stays at " + number(w.Start)
	}
	return "after " + seconds(int((w.Max-w.Start)/w.PerSecond+0.999))
}

// seconds writes a wait: "0 s", "45 s", "2 min", "1 min 44 s".
func seconds(s int) string {
	switch {
	case s < 60:
		return itoa(s) + " s"
	case s%60 == 0:
		return itoa(s/60) + " min"
	}
	return itoa(s/60) + " min " + itoa(s%60) + " s"
}

// number writes a limit with at most one decimal: "4", "7.5".
func number(f float64) string { return strconv.FormatFloat(float64(int64(f*10+0.5))/10, 'f', -1, 64) }
