package matchmaking

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// SimConfig describes a day of arrivals for Simulate.
type SimConfig struct {
	Queue    Queue
	Duration time.Duration // simulated time: 24h
	Tick     time.Duration // the matchmaker's tick: 1s
	// PeakPerSecond is the player arrival rate at the daily peak (20:00);
	// the quietest hour (08:00) sees a fifth of it.
	PeakPerSecond float64
	// PartySizes weighs party sizes 1, 2, ...: {55, 20, 10, 15} by default.
	PartySizes []float64
	// RegionShare weighs the queue's regions in order (equal by default);
	// each player's latency is 20-60 ms to their home and 80-160 ms elsewhere.
	RegionShare []float64
	RatingMean  float64 // 25
	RatingSD    float64 // 8
	Seed        uint64
}

// SimReport is what Simulate measured.
type SimReport struct {
	Arrived, Matched, Waiting   int // players
	Matches, Fallback           int
	WaitP50, WaitP90, WaitP99   time.Duration
	WaitMax                     time.Duration
	SpreadMean, SpreadP90       float64
	ImbalanceMean, ImbalanceP90 float64
	PartiesSplit                int // tickets found on more than one team: always 0
	Elapsed                     time.Duration
}

// Simulate replays arrivals (Poisson, with a daily curve) through the
// matchmaker's tick on a simulated clock and reports waits and match
// quality.
func Simulate(cfg SimConfig) SimReport {
	if cfg.Duration <= 0 {
		cfg.Duration = 24 * time.Hour
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if len(cfg.PartySizes) == 0 {
		cfg.PartySizes = []float64{55, 20, 10, 15}
	}
	if cfg.RatingMean == 0 && cfg.RatingSD == 0 {
		cfg.RatingMean, cfg.RatingSD = 25, 8
	}
	q := cfg.Queue
	if len(cfg.RegionShare) != len(q.Regions) {
		cfg.RegionShare = slices.Repeat([]float64{1}, len(q.Regions))
	}
	sizes := cfg.PartySizes[:min(len(cfg.PartySizes), q.PartyMax)]
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	began := time.Now()

	var (
		rep    SimReport
		waits  []time.Duration
		spread []float64
		imbal  []float64
		pool   = map[string]*Ticket{}
		nextID int
		owed   float64 // fractional arrivals carried between ticks
	)
	meanSize := 0.0
	total := 0.0
	for i, w := range sizes {
		meanSize += float64(i+1) * w
		total += w
	}
	meanSize /= total
	for now := start; now.Before(start.Add(cfg.Duration)); now = now.Add(cfg.Tick) {
		// Players per second at this hour: a cosine with its peak at 20:00.
		hour := float64(now.Sub(start)%(24*time.Hour)) / float64(time.Hour)
		rate := cfg.PeakPerSecond * (0.6 + 0.4*math.Cos((hour-20)/24*2*math.Pi))
		owed += rng.ExpFloat64() * rate * cfg.Tick.Seconds() / meanSize
		for ; owed >= 1; owed-- {
			size := 1 + pick(rng, sizes)
			home := pick(rng, cfg.RegionShare)
			lat := map[string]int{}
			for i, r := range q.Regions {
				if i == home {
					lat[r] = 20 + rng.IntN(40)
				} else {
					lat[r] = 80 + rng.IntN(80)
				}
			}
			nextID++
			t := &Ticket{ID: fmt.Sprintf("s%d", nextID), Latency: lat, Created: now.Add(-time.Duration(rng.IntN(int(cfg.Tick))))}
			sum := 0.0
			for range size {
				r := cfg.RatingMean + cfg.RatingSD*rng.NormFloat64()
				t.Players = append(t.Players, Player{Rating: r})
				sum += r
			}
			t.Rating = sum / float64(size)
			pool[t.ID] = t
			rep.Arrived += size
		}
		for _, region := range q.Regions {
			list := make([]*Ticket, 0, len(pool))
			for _, t := range pool {
				list = append(list, t)
			}
			for _, m := range q.Tick(region, list, now) {
				rep.Matches++
				if !m.Full {
					rep.Fallback++
				}
				spread = append(spread, m.Spread())
				imbal = append(imbal, m.Imbalance())
				seen := map[*Ticket]int{}
				for ti, team := range m.Teams {
					for _, t := range team {
						if prev, ok := seen[t]; ok && prev != ti {
							rep.PartiesSplit++
						}
						seen[t] = ti
						delete(pool, t.ID)
						rep.Matched += t.Size()
						for range t.Players {
							waits = append(waits, now.Sub(t.Created))
						}
					}
				}
			}
		}
	}
	for _, t := range pool {
		rep.Waiting += t.Size()
	}
	slices.Sort(waits)
	if n := len(waits); n > 0 {
		rep.WaitP50, rep.WaitP90, rep.WaitP99, rep.WaitMax = waits[n*50/100], waits[n*90/100], waits[n*99/100], waits[n-1]
	}
	rep.SpreadMean, rep.SpreadP90 = meanP90(spread)
	rep.ImbalanceMean, rep.ImbalanceP90 = meanP90(imbal)
	rep.Elapsed = time.Since(began)
	return rep
}

// Print writes the report for people.
func (r SimReport) Print(w io.Writer) {
	fmt.Fprintf(w, "players: %d arrived, %d matched, %d still waiting at the end\n", r.Arrived, r.Matched, r.Waiting)
	fmt.Fprintf(w, "matches: %d (%d started by the fallback)\n", r.Matches, r.Fallback)
	fmt.Fprintf(w, "wait: p50 %s, p90 %s, p99 %s, max %s\n", r.WaitP50, r.WaitP90, r.WaitP99, r.WaitMax)
	fmt.Fprintf(w, "skill spread (ordinal points): mean %.2f, p90 %.2f\n", r.SpreadMean, r.SpreadP90)
	fmt.Fprintf(w, "team imbalance (team mean ratings): mean %.2f, p90 %.2f\n", r.ImbalanceMean, r.ImbalanceP90)
	fmt.Fprintf(w, "parties split across teams: %d\n", r.PartiesSplit)
	fmt.Fprintf(w, "simulated in %s\n", r.Elapsed.Round(time.Millisecond))
}

func pick(rng *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func meanP90(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	slices.Sort(v)
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v)), v[len(v)*90/100]
}
