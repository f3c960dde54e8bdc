package challenge_test

import (
	"testing"
	"time"

	"github.com/musterhq/muster/domain/challenge"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestPeriodsTurnOverAtTheRegionsLocalTime checks period keys and bounds in
// New York and Berlin, both turning over at 04:00 local time, around
// ordinary resets and both kinds of daylight saving change.
func TestPeriodsTurnOverAtTheRegionsLocalTime(t *testing.T) {
	rot := rotation(challenge.Slate{}, challenge.Slate{})
	tests := []struct {
		name       string
		cadence    challenge.Cadence
		region     string
		at         string
		key        string
		start, end string
	}{
		// 2026-01-15: New York is UTC-5 (04:00 is 09:00Z), Berlin UTC+1 (04:00 is 03:00Z).
		{"berlin a minute before 04:00", challenge.Daily, "eu", "2026-01-15T02:59:00Z", "daily:2026-01-14", "2026-01-14T03:00:00Z", "2026-01-15T03:00:00Z"},
		{"berlin at 04:00", challenge.Daily, "eu", "2026-01-15T03:00:00Z", "daily:2026-01-15", "2026-01-15T03:00:00Z", "2026-01-16T03:00:00Z"},
		{"new york when berlin has turned over", challenge.Daily, "na", "2026-01-15T03:00:00Z", "daily:2026-01-14", "2026-01-14T09:00:00Z", "2026-01-15T09:00:00Z"},
		{"new york a minute before 04:00", challenge.Daily, "na", "2026-01-15T08:59:00Z", "daily:2026-01-14", "2026-01-14T09:00:00Z", "2026-01-15T09:00:00Z"},
		{"new york at 04:00", challenge.Daily, "na", "2026-01-15T09:00:00Z", "daily:2026-01-15", "2026-01-15T09:00:00Z", "2026-01-16T09:00:00Z"},
		{"new york just after local midnight", challenge.Daily, "na", "2026-01-16T05:30:00Z", "daily:2026-01-15", "2026-01-15T09:00:00Z", "2026-01-16T09:00:00Z"},
		// New York springs forward on 2026-03-08 at 02:00: that day's
		// 04:00 is 08:00Z, an hour earlier than the day before, and the
		// period before it lasts 23 hours.
		{"new york spring forward, before", challenge.Daily, "na", "2026-03-08T07:59:00Z", "daily:2026-03-07", "2026-03-07T09:00:00Z", "2026-03-08T08:00:00Z"},
		{"new york spring forward, at 04:00 EDT", challenge.Daily, "na", "2026-03-08T08:00:00Z", "daily:2026-03-08", "2026-03-08T08:00:00Z", "2026-03-09T08:00:00Z"},
		{"new york spring forward, 04:30 EDT (03:30 EST)", challenge.Daily, "na", "2026-03-08T08:30:00Z", "daily:2026-03-08", "2026-03-08T08:00:00Z", "2026-03-09T08:00:00Z"},
		// New York falls back on 2026-11-01: the period before lasts 25 hours.
		{"new york fall back", challenge.Daily, "na", "2026-11-01T08:30:00Z", "daily:2026-10-31", "2026-10-31T08:00:00Z", "2026-11-01T09:00:00Z"},
		// Berlin springs forward on 2026-03-29; in summer 04:00 is 02:00Z.
		{"berlin spring forward", challenge.Daily, "eu", "2026-03-29T02:30:00Z", "daily:2026-03-29", "2026-03-29T02:00:00Z", "2026-03-30T02:00:00Z"},
		{"berlin the day before spring forward", challenge.Daily, "eu", "2026-03-29T01:59:00Z", "daily:2026-03-28", "2026-03-28T03:00:00Z", "2026-03-29T02:00:00Z"},
		{"berlin summer", challenge.Daily, "eu", "2026-07-01T01:59:00Z", "daily:2026-06-30", "2026-06-30T02:00:00Z", "2026-07-01T02:00:00Z"},
		// Weekly sets turn over on Mondays at 04:00; 2026-01-19 is a Monday.
		{"new york weekly, sunday", challenge.Weekly, "na", "2026-01-18T20:00:00Z", "weekly:2026-01-12", "2026-01-12T09:00:00Z", "2026-01-19T09:00:00Z"},
		{"new york weekly, monday 03:59", challenge.Weekly, "na", "2026-01-19T08:59:00Z", "weekly:2026-01-12", "2026-01-12T09:00:00Z", "2026-01-19T09:00:00Z"},
		{"new york weekly, monday 04:00", challenge.Weekly, "na", "2026-01-19T09:00:00Z", "weekly:2026-01-19", "2026-01-19T09:00:00Z", "2026-01-26T09:00:00Z"},
		{"berlin weekly, monday 04:00", challenge.Weekly, "eu", "2026-01-19T03:00:00Z", "weekly:2026-01-19", "2026-01-19T03:00:00Z", "2026-01-26T03:00:00Z"},
		{"berlin weekly across spring forward", challenge.Weekly, "eu", "2026-03-28T12:00:00Z", "weekly:2026-03-23", "2026-03-23T03:00:00Z", "2026-03-30T02:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := rot.Period(tt.cadence, tt.region, utc(tt.at))
			if err != nil {
				t.Fatal(err)
			}
			if p.Key != tt.key || !p.Start.Equal(utc(tt.start)) || !p.End.Equal(utc(tt.end)) {
				t.Fatalf("period = %s [%s, %s), want %s [%s, %s)", p.Key, p.Start.UTC().Format(time.RFC3339), p.End.UTC().Format(time.RFC3339), tt.key, tt.start, tt.end)
			}
			if !p.Contains(utc(tt.at)) {
				t.Fatalf("%s does not contain %s", p.Key, tt.at)
			}
		})
	}
}
