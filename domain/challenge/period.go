package challenge

import (
	"fmt"
	"time"

	// Time zones come from the binary when the machine has no tzdata (a
	// distroless or scratch image), so a region's day turns over where its
	// designers said it does on every machine.
	_ "time/tzdata"
)

// Period is one period of a cadence in a region: from Start, before End.
type Period struct {
	Cadence Cadence
	// Key names the period: the cadence and the local date it starts on,
	// "daily:2026-03-08" or "weekly:2026-03-02".
	Key   string
	Start time.Time
	End   time.Time
}

// Contains reports whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// zone is a region's clock: its time zone and the local time its day
// turns over at.
type zone struct {
	loc          *time.Location
	hour, minute int
}

func loadZone(r Region) (zone, error) {
	if r.Timezone == "" || r.Timezone == "Local" {
		return zone{}, fmt.Errorf("give an IANA time zone such as America/New_York")
	}
	loc, err := time.LoadLocation(r.Timezone)
	if err != nil {
		return zone{}, fmt.Errorf("unknown time zone %q", r.Timezone)
	}
	h, m, ok := parseClock(r.ResetAt)
	if !ok {
		return zone{}, fmt.Errorf("reset_at must be a local time of day HH:MM, 00:00 to 23:59")
	}
	return zone{loc: loc, hour: h, minute: m}, nil
}

// parseClock reads "HH:MM".
func parseClock(s string) (h, m int, ok bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, false
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, 0, false
	}
	return t.Hour(), t.Minute(), true
}

// at is when the period of the local date day (a UTC midnight) starts:
// the reset time on that date in the zone, whatever its offset that day.
func (z zone) at(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), z.hour, z.minute, 0, 0, z.loc)
}

// day is the local date whose daily period contains t, as a UTC midnight.
func (z zone) day(t time.Time) time.Time {
	lt := t.In(z.loc)
	d := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC)
	if t.Before(z.at(d)) {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

func (z zone) daily(t time.Time) Period {
	d := z.day(t)
	return Period{Cadence: Daily, Key: string(Daily) + ":" + d.Format(time.DateOnly), Start: z.at(d), End: z.at(d.AddDate(0, 0, 1))}
}

func (z zone) weekly(t time.Time, weekday time.Weekday) Period {
	d := z.day(t)
	d = d.AddDate(0, 0, -((int(d.Weekday()) - int(weekday) + 7) % 7))
	return Period{Cadence: Weekly, Key: string(Weekly) + ":" + d.Format(time.DateOnly), Start: z.at(d), End: z.at(d.AddDate(0, 0, 7))}
}

func (z zone) period(c Cadence, t time.Time, weekday time.Weekday) Period {
	if c == Weekly {
		return z.weekly(t, weekday)
	}
	return z.daily(t)
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

func parseWeekday(s string) (time.Weekday, bool) {
	d, ok := weekdays[s]
	return d, ok
}

// Period returns the period of cadence c in region that contains t.
func (r Rotation) Period(c Cadence, region string, t time.Time) (Period, error) {
	reg, ok := r.Regions[region]
	if !ok {
		return Period{}, fmt.Errorf("no region %q", region)
	}
	z, err := loadZone(reg)
	if err != nil {
		return Period{}, err
	}
	wd, ok := parseWeekday(r.WeeklyDay)
	if !ok {
		return Period{}, fmt.Errorf("weekly_day %q is not a weekday", r.WeeklyDay)
	}
	return z.period(c, t, wd), nil
}
