package rating_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/musterhq/muster/domain/rating"
)

func model(t testing.TB, p rating.Params) rating.Model {
	t.Helper()
	m, err := rating.NewModel(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// r is a rating; d is a new player's with the defaults.
func r(mu, sigma float64) rating.Rating { return rating.Rating{Mu: mu, Sigma: sigma} }

var d = r(25, 25.0/3)

// players is n copies of one rating.
func players(n int, of rating.Rating) []rating.Rating {
	out := make([]rating.Rating, n)
	for i := range out {
		out[i] = of
	}
	return out
}

// TestReferenceValues checks the model against the values OpenSkill's
// implementations publish in their test suites (the expected mu and sigma
// of every player after one rate call), to 1e-6. The model here is written
// from Weng and Lin's paper; these values are what it must agree with.
//
// Sources:
//   - js: github.com/philihp/openskill.js, src/__tests__/rate.test.ts
//     (commit 376a6ed796a2b98f7542db6936c015966f55dffb): rate() with its
//     default model (Plackett-Luce) and default tau 25/300.
//   - js-model: the same repository, src/models/__tests__/plackett-luce.test.ts
//     (commit 1528fe740c3335ca3812dbedcef5e75df0f1b2c4): the model called
//     directly, so without tau.
//   - py6: github.com/vivekjoshy/openskill.py v6.2.0,
//     tests/models/data/plackettluce.json with the inputs of
//     tests/models/weng_lin/test_plackett_luce.py's test_rate (as vendored
//     byte for byte in openskill.js src/__tests__/data/plackettluce.json,
//     commit ae80b96f1f44d08fae0d75a46895b5f749cb9968, and replayed by its
//     parity-weng-lin.test.ts): a model of mu 20.35125162611535 and sigma
//     8.33148112355601, beta 25/6 and tau 25/300.
//   - py5: openskill.py's earlier fixture of the same file (commit
//     061f71f61e20313435b02c14abce215bcfc054ae): mu 31.321989232514305,
//     sigma 11.379964801443018.
func TestReferenceValues(t *testing.T) {
	py6 := rating.Defaults()
	py6.Mu, py6.Sigma = 20.35125162611535, 8.33148112355601
	p6 := r(py6.Mu, py6.Sigma)
	py5 := rating.Defaults()
	py5.Mu, py5.Sigma = 31.321989232514305, 11.379964801443018
	p5 := r(py5.Mu, py5.Sigma)
	noTau := rating.Defaults()
	noTau.Tau = 0

	cases := []struct {
		name   string
		params rating.Params
		teams  [][]rating.Rating
		places []int
		want   [][]rating.Rating
	}{{
		name:   "js: 1v1 of new players, the defaults' first update",
		params: rating.Defaults(),
		teams:  [][]rating.Rating{{d}, {d}},
		places: []int{1, 2},
		want:   [][]rating.Rating{{r(27.635389493140497, 8.06590141354368)}, {r(22.364610506859503, 8.06590141354368)}},
	}, {
		name:   "js: 1v1, the second listed wins (reverses rank)",
		params: rating.Defaults(),
		teams:  [][]rating.Rating{{d}, {d}},
		places: []int{2, 1},
		want:   [][]rating.Rating{{r(22.364610506859503, 8.06590141354368)}, {r(27.635389493140497, 8.06590141354368)}},
	}, {
		name:   "js: 4-player free-for-all of unequal ratings",
		params: rating.Defaults(),
		teams:  [][]rating.Rating{{r(29.182, 4.782)}, {r(27.174, 4.922)}, {r(16.672, 6.217)}, {d}},
		places: []int{1, 2, 3, 4},
		want: [][]rating.Rating{{r(30.210227447000438, 4.765617924939384)}, {r(27.644725221915632, 4.883479590134575)},
			{r(17.4036218889969, 6.101259408259549)}, {r(19.21460876538932, 7.854669920480409)}},
	}, {
		name:   "js: 2v2",
		params: rating.Defaults(),
		teams:  [][]rating.Rating{{r(29.182, 4.782), r(27.174, 4.922)}, {r(16.672, 6.217), d}},
		places: []int{1, 2},
		want: [][]rating.Rating{{r(29.607340941337068, 4.755311788972862), r(27.624602782532037, 4.892807828777459)},
			{r(15.953170429143093, 6.125902065139878), r(23.70858117648013, 8.111707446126035)}},
	}, {
		name:   "js: 4-player free-for-all with a tie for second (fixes orders of ties)",
		params: rating.Defaults(),
		teams:  [][]rating.Rating{{r(15, 25.0/3)}, {r(20, 25.0/3)}, {r(25, 25.0/3)}, {r(30, 25.0/3)}},
		places: []int{2, 4, 2, 1},
		want: [][]rating.Rating{{r(15.340043358359136, 8.213141619804967)}, {r(18.007678675484204, 8.189033933813437)},
			{r(24.25801928251219, 8.166918055585525)}, {r(32.39425868364447, 8.247687230833794)}},
	}, {
		name:   "js: 3 players, two tied last (allows ties)",
		params: rating.Defaults(),
		teams:  [][]rating.Rating{{r(10, 8)}, {r(5, 10)}, {r(0, 12)}},
		places: []int{1, 2, 2},
		want: [][]rating.Rating{{r(11.942996666741225, 7.926888197620324)}, {r(2.9381178546315034, 9.653804487570165)},
			{r(-1.4024317012198733, 11.323641575516767)}},
	}, {
		name:   "js: four-way tie of new players",
		params: rating.Defaults(),
		teams:  [][]rating.Rating{{d}, {d}, {d}, {d}},
		places: []int{1, 1, 1, 1},
		want:   [][]rating.Rating{{r(25, 8.263571791259416)}, {r(25, 8.263571791259416)}, {r(25, 8.263571791259416)}, {r(25, 8.263571791259416)}},
	}, {
		name:   "js: 4 players in a misordered ranking",
		params: rating.Defaults(),
		teams:  [][]rating.Rating{{d}, {d}, {d}, {d}},
		places: []int{2, 1, 4, 3},
		want: [][]rating.Rating{{r(26.55291815138952, 8.17961798837266)}, {r(27.795252672501135, 8.263571791259416)},
			{r(20.962412806387245, 8.084127880168786)}, {r(24.689416369722096, 8.084127880168786)}},
	}, {
		name:   "js: three teams of two, ranked 3, 1, 2",
		params: rating.Defaults(),
		teams:  [][]rating.Rating{{r(29.182, 4.782), d}, {r(27.174, 4.922), d}, {r(16.672, 6.217), d}},
		places: []int{3, 1, 2},
		want: [][]rating.Rating{{r(27.857622571955794, 4.744504197327133), r(20.97892943330433, 8.129851804000902)},
			{r(27.990904891666695, 4.901705733959291), r(27.341233554297506, 8.2314516336455)},
			{r(17.607030910762578, 6.141282638892306), r(26.67983701239816, 8.149157818911323)}},
	}, {
		name:   "js: tau 0.3",
		params: func() rating.Params { p := rating.Defaults(); p.Tau = 0.3; return p }(),
		teams:  [][]rating.Rating{{r(25, 3)}, {r(25, 3)}},
		places: []int{1, 2},
		want:   [][]rating.Rating{{r(25.624880438870754, 2.9879993738476953)}, {r(24.375119561129246, 2.9879993738476953)}},
	}, {
		name:   "js-model: teams of 3, 1 and 2 players, no tau",
		params: noTau,
		teams:  [][]rating.Rating{players(3, d), {d}, players(2, d)},
		places: []int{1, 2, 3},
		want: [][]rating.Rating{players(3, r(25.939870821784513, 8.247641552260456)), {r(27.21366020491262, 8.274321317985242)},
			players(2, r(21.84646897330287, 8.213058173195341))},
	}, {
		name:   "js-model: 5-player free-for-all, no tau",
		params: noTau,
		teams:  [][]rating.Rating{{d}, {d}, {d}, {d}, {d}},
		places: []int{1, 2, 3, 4, 5},
		want: [][]rating.Rating{{r(27.666666666666668, 8.290556877154474)}, {r(26.833333333333332, 8.240145629781066)},
			{r(25.72222222222222, 8.179996679645559)}, {r(24.055555555555557, 8.111796013701358)}, {r(20.72222222222222, 8.111796013701358)}},
	}, {
		name:   "py6 normal: a team of one beats a team of two",
		params: py6,
		teams:  [][]rating.Rating{{p6}, players(2, p6)},
		places: []int{1, 2},
		want:   [][]rating.Rating{{r(23.855123082692877, 8.22447878583752)}, players(2, r(16.84738016953782, 8.179571171464575))},
	}, {
		name:   "py6 ranks: teams of 1, 2, 1, 2 ranked 2, 1, 4, 3",
		params: py6,
		teams:  [][]rating.Rating{{p6}, players(2, p6), {p6}, players(2, p6)},
		places: []int{2, 1, 4, 3},
		want: [][]rating.Rating{{r(22.35555943890167, 8.265434830225024)}, players(2, r(22.373451456616035, 8.258479912445537)),
			{r(18.311159777900297, 8.219170401234347)}, players(2, r(18.364835831043397, 8.112716571808326))},
	}, {
		name:   "py6 ties: teams of 1, 2 and 3, the first and last tied",
		params: py6,
		teams:  [][]rating.Rating{{p6}, players(2, p6), players(3, p6)},
		places: []int{1, 2, 1},
		want: [][]rating.Rating{{r(21.63766806988004, 8.310709773172306)}, players(2, r(19.53956360838512, 8.268148437657915)),
			players(3, r(19.87652320008089, 8.237522411103104))},
	}, {
		name:   "py5 normal: a team of one beats a team of two",
		params: py5,
		teams:  [][]rating.Rating{{p5}, players(2, p5)},
		places: []int{1, 2},
		want:   [][]rating.Rating{{r(36.48967347401391, 11.237778601372977)}, players(2, r(26.154304991014694, 11.17822477763209))},
	}, {
		name:   "py5 ties: teams of 1, 2 and 3, the first and last tied",
		params: py5,
		teams:  [][]rating.Rating{{p5}, players(2, p5), players(3, p5)},
		places: []int{1, 2, 1},
		want: [][]rating.Rating{{r(33.21874815457553, 11.354896725884002)}, players(2, r(30.27713112192334, 11.291328826858104)),
			players(3, r(30.470088421044046, 11.249240904583088))},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := model(t, tc.params).Rate(tc.teams, tc.places); err != nil {
				t.Fatal(err)
			}
			for i, team := range tc.want {
				for j, want := range team {
					got := tc.teams[i][j]
					if math.Abs(got.Mu-want.Mu) > 1e-6 || math.Abs(got.Sigma-want.Sigma) > 1e-6 {
						t.Errorf("team %d player %d: mu %.15g sigma %.15g, want mu %.15g sigma %.15g", i+1, j+1, got.Mu, got.Sigma, want.Mu, want.Sigma)
					}
				}
			}
		})
	}
}

// Winners gain mu and losers lose it. A match tells something of every
// player, so without tau every sigma shrinks; tau first widens each sigma
// to sqrt(sigma² + tau²), and no update leaves it above that.
func TestWinnersGainAndEveryoneIsSurer(t *testing.T) {
	noTau := rating.Defaults()
	noTau.Tau = 0
	for _, p := range []rating.Params{rating.Defaults(), noTau} {
		m := model(t, p)
		rng := rand.New(rand.NewPCG(1, 2))
		for range 200 {
			a := []rating.Rating{r(15+20*rng.Float64(), 2+6*rng.Float64()), r(15+20*rng.Float64(), 2+6*rng.Float64())}
			b := []rating.Rating{r(15+20*rng.Float64(), 2+6*rng.Float64()), r(15+20*rng.Float64(), 2+6*rng.Float64())}
			before := [][]rating.Rating{append([]rating.Rating(nil), a...), append([]rating.Rating(nil), b...)}
			if err := m.Rate([][]rating.Rating{a, b}, []int{1, 2}); err != nil {
				t.Fatal(err)
			}
			for j := range a {
				if a[j].Mu <= before[0][j].Mu || b[j].Mu >= before[1][j].Mu {
					t.Fatalf("tau %v: winners %v -> %v, losers %v -> %v: winners must gain and losers lose", p.Tau, before[0], a, before[1], b)
				}
				for i, after := range []rating.Rating{a[j], b[j]} {
					if widened := math.Sqrt(before[i][j].Sigma*before[i][j].Sigma + p.Tau*p.Tau); after.Sigma >= widened {
						t.Fatalf("tau %v: sigma %v -> %v, not below %v", p.Tau, before[i][j].Sigma, after.Sigma, widened)
					}
				}
			}
		}
	}
}

// The order teams are listed in does not matter, only their placements.
func TestListingOrderDoesNotMatter(t *testing.T) {
	m := model(t, rating.Defaults())
	rng := rand.New(rand.NewPCG(3, 4))
	const k = 12
	teams := make([][]rating.Rating, k)
	places := make([]int, k)
	for i := range teams {
		teams[i] = []rating.Rating{r(10+30*rng.Float64(), 1+7*rng.Float64()), r(10+30*rng.Float64(), 1+7*rng.Float64())}
		places[i] = 1 + rng.IntN(6) // many ties
	}
	perm := rng.Perm(k)
	shuffled := make([][]rating.Rating, k)
	shuffledPlaces := make([]int, k)
	for i, p := range perm {
		shuffled[i] = append([]rating.Rating(nil), teams[p]...)
		shuffledPlaces[i] = places[p]
	}
	if err := m.Rate(teams, places); err != nil {
		t.Fatal(err)
	}
	if err := m.Rate(shuffled, shuffledPlaces); err != nil {
		t.Fatal(err)
	}
	for i, p := range perm {
		for j := range teams[p] {
			if math.Abs(shuffled[i][j].Mu-teams[p][j].Mu) > 1e-12 || math.Abs(shuffled[i][j].Sigma-teams[p][j].Sigma) > 1e-12 {
				t.Fatalf("team %d: %v listed first, %v shuffled", p, teams[p], shuffled[i])
			}
		}
	}
}

// A battle royale of 38 teams: the update follows the placements, and the
// players of a team move by their share of its variance.
func TestBattleRoyaleUpdate(t *testing.T) {
	m := model(t, rating.Defaults())
	teams, places := royale(rand.New(rand.NewPCG(5, 6)))
	for i := range teams {
		for j := range teams[i] {
			teams[i][j] = d
		}
	}
	if err := m.Rate(teams, places); err != nil {
		t.Fatal(err)
	}
	// Equal teams: mu falls with placement (the last placed teams lose).
	byPlace := map[int]float64{}
	for i, team := range teams {
		if len(team) == 4 {
			byPlace[places[i]] = team[0].Mu
		}
	}
	prev := math.Inf(1)
	for p := 1; p <= 38; p++ {
		mu, ok := byPlace[p]
		if !ok {
			continue
		}
		if mu >= prev {
			t.Fatalf("place %d: mu %v, not below the better place's %v", p, mu, prev)
		}
		prev = mu
	}
	widened := math.Sqrt(d.Sigma*d.Sigma + m.Params().Tau*m.Params().Tau)
	for i, team := range teams {
		if places[i] == 1 && team[0].Mu <= 25 || places[i] == 38 && team[0].Mu >= 25 {
			t.Errorf("place %d: mu %v", places[i], team[0].Mu)
		}
		for _, p := range team {
			if p.Sigma >= widened {
				t.Errorf("place %d: sigma %v, not below %v", places[i], p.Sigma, widened)
			}
		}
	}
}

func TestUnratedAndInvalidMatches(t *testing.T) {
	m := model(t, rating.Defaults())
	solo := [][]rating.Rating{{d, d}}
	if err := m.Rate(solo, []int{1}); err != nil || solo[0][0] != d {
		t.Errorf("one team: %v %v, want nothing changed", solo, err)
	}
	tie := [][]rating.Rating{{r(30, 5)}, {r(20, 5)}}
	if err := m.Rate(tie, []int{1, 1}); err != nil {
		t.Fatal(err)
	}
	if tie[0][0].Mu >= 30 || tie[1][0].Mu <= 20 {
		t.Errorf("a draw between a stronger and a weaker player: %v, want them closer", tie)
	}
	for name, c := range map[string]struct {
		teams  [][]rating.Rating
		places []int
	}{
		"placements missing": {[][]rating.Rating{{d}, {d}}, []int{1}},
		"empty team":         {[][]rating.Rating{{d}, {}}, []int{1, 2}},
		"placement 0":        {[][]rating.Rating{{d}, {d}}, []int{0, 1}},
		"sigma 0":            {[][]rating.Rating{{d}, {r(25, 0)}}, []int{1, 2}},
		"mu NaN":             {[][]rating.Rating{{d}, {r(math.NaN(), 1)}}, []int{1, 2}},
	} {
		if err := m.Rate(c.teams, c.places); !errors.Is(err, rating.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	for name, p := range map[string]func(*rating.Params){
		"sigma 0": func(p *rating.Params) { p.Sigma = 0 }, "beta 0": func(p *rating.Params) { p.Beta = 0 },
		"kappa 1": func(p *rating.Params) { p.Kappa = 1 }, "tau negative": func(p *rating.Params) { p.Tau = -1 },
		"floor above sigma": func(p *rating.Params) { p.SigmaFloor = 9 }, "mu NaN": func(p *rating.Params) { p.Mu = math.NaN() },
	} {
		params := rating.Defaults()
		p(&params)
		if _, err := rating.NewModel(params); !errors.Is(err, rating.ErrInvalid) {
			t.Errorf("params with %s: %v, want ErrInvalid", name, err)
		}
	}
}

// Far-apart ratings and the floors keep every number finite.
func TestExtremesStayFinite(t *testing.T) {
	p := rating.Defaults()
	p.Tau = 0
	m := model(t, p)
	teams := [][]rating.Rating{players(50, r(1e6, 0.6)), players(50, r(-1e6, 0.6)), {r(0, 1e-3)}}
	for range 1000 {
		if err := m.Rate(teams, []int{3, 1, 2}); err != nil {
			t.Fatal(err)
		}
	}
	for _, team := range teams {
		for _, pl := range team {
			if math.IsNaN(pl.Mu) || math.IsInf(pl.Mu, 0) || pl.Sigma < p.SigmaFloor {
				t.Fatalf("rating %v after many upsets", pl)
			}
		}
	}
}

func TestOrdinal(t *testing.T) {
	m := model(t, rating.Defaults())
	if o := m.Ordinal(m.New()); math.Abs(o) > 1e-12 {
		t.Errorf("a new player's ordinal is %v, want 0", o)
	}
	// openskill.js README: ordinal of (43.071274808241974, 2.4166900452721256).
	if o := m.Ordinal(r(43.071274808241974, 2.4166900452721256)); math.Abs(o-35.821204672425594) > 1e-9 {
		t.Errorf("ordinal %v", o)
	}
	p := rating.Defaults()
	p.Z = 2
	if o := model(t, p).Ordinal(r(30, 2)); o != 26 {
		t.Errorf("ordinal with z 2: %v, want 26", o)
	}
}

// royale is a 150-player battle royale: 36 teams of four and 2 of three
// with random ratings and a random finishing order.
func royale(rng *rand.Rand) ([][]rating.Rating, []int) {
	teams := make([][]rating.Rating, 38)
	for i := range teams {
		n := 4
		if i >= 36 {
			n = 3
		}
		teams[i] = make([]rating.Rating, n)
		for j := range teams[i] {
			teams[i][j] = r(10+30*rng.Float64(), 1+7*rng.Float64())
		}
	}
	places := make([]int, 38)
	for i, p := range rng.Perm(38) {
		places[i] = p + 1
	}
	return teams, places
}

func TestRateDoesNotAllocate(t *testing.T) {
	m := model(t, rating.Defaults())
	teams, places := royale(rand.New(rand.NewPCG(7, 8)))
	if n := testing.AllocsPerRun(100, func() {
		if err := m.Rate(teams, places); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Rate of a 38-team match allocates %v times", n)
	}
}

// BenchmarkRateBattleRoyale is one rating update of a 150-player, 38-team
// battle royale (36 quads and 2 trios), from the same ratings each time.
func BenchmarkRateBattleRoyale(b *testing.B) {
	m := model(b, rating.Defaults())
	teams, places := royale(rand.New(rand.NewPCG(9, 10)))
	orig := make([][]rating.Rating, len(teams))
	for i := range teams {
		orig[i] = append([]rating.Rating(nil), teams[i]...)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range teams {
			copy(teams[i], orig[i])
		}
		if err := m.Rate(teams, places); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "matches/s")
}

// BenchmarkRate1v1 is one update of a 1v1.
func BenchmarkRate1v1(b *testing.B) {
	m := model(b, rating.Defaults())
	teams := [][]rating.Rating{{d}, {d}}
	places := []int{1, 2}
	b.ReportAllocs()
	for b.Loop() {
		teams[0][0], teams[1][0] = d, d
		if err := m.Rate(teams, places); err != nil {
			b.Fatal(err)
		}
	}
}
