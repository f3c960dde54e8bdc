package rating

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrInvalid is returned for parameters or a match the model cannot rate.
var ErrInvalid = errors.New("invalid rating input")

// Rating is what the model believes of a player's skill: a normal
// distribution with mean Mu and standard deviation Sigma (the uncertainty).
type Rating struct {
	Mu    float64 `json:"mu"`
	Sigma float64 `json:"sigma"`
}

// Params are the model's parameters, in the units of Mu.
type Params struct {
	Mu    float64 // a new player's mean: 25
	Sigma float64 // a new player's uncertainty: 25/3
	// Beta is the performance noise: how far one match's showing strays
	// from a player's skill (the skill gap that makes a win about 76%
	// likely in a 1v1). 25/6.
	Beta float64
	// Kappa bounds how much one match may shrink a variance: a player's
	// sigma² is multiplied by at least Kappa. 0.0001.
	Kappa float64
	// Tau is the additive dynamics factor: before each match a player's
	// variance grows by Tau², so that sigma never settles at zero and a
	// rating keeps following a player whose skill changes. 25/300.
	Tau float64
	// SigmaFloor is the least sigma an update leaves. With the default
	// Tau it never binds (sigma settles far above it); it keeps ratings
	// movable when Tau is set to 0. 0.5.
	SigmaFloor float64
	// Z is how many sigmas Ordinal takes off Mu: 3, a value the player's
	// skill exceeds with about 99.9% certainty.
	Z float64
}

// Defaults are the parameters of Weng and Lin's paper, as OpenSkill uses
// them, with the sigma floor and ordinal described on Params.
func Defaults() Params {
	return Params{Mu: 25, Sigma: 25.0 / 3, Beta: 25.0 / 6, Kappa: 0.0001, Tau: 25.0 / 300, SigmaFloor: 0.5, Z: 3}
}

// Validate checks the parameters.
func (p Params) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !finite(p.Mu):
		return fmt.Errorf("%w: mu must be a finite number", ErrInvalid)
	case !finite(p.Sigma) || p.Sigma <= 0:
		return fmt.Errorf("%w: sigma must be above 0", ErrInvalid)
	case !finite(p.Beta) || p.Beta <= 0:
		return fmt.Errorf("%w: beta must be above 0", ErrInvalid)
	case !(p.Kappa > 0 && p.Kappa < 1):
		return fmt.Errorf("%w: kappa must be between 0 and 1", ErrInvalid)
	case !finite(p.Tau) || p.Tau < 0:
		return fmt.Errorf("%w: tau must be 0 or more", ErrInvalid)
	case !finite(p.SigmaFloor) || p.SigmaFloor < 0 || p.SigmaFloor >= p.Sigma:
		return fmt.Errorf("%w: the sigma floor must be 0 or more and below sigma", ErrInvalid)
	case !finite(p.Z) || p.Z < 0:
		return fmt.Errorf("%w: z must be 0 or more", ErrInvalid)
	}
	return nil
}

// Model rates matches with the Bayesian approximation of Weng and Lin
// under the Plackett-Luce model of rankings ("A Bayesian Approximation
// Method for Online Ranking", JMLR 12, 2011, Algorithm 4), the model
// OpenSkill implements. A Model is a value; it is safe for concurrent use.
type Model struct {
	p Params
}

// NewModel returns a model with parameters p.
func NewModel(p Params) (Model, error) {
	if err := p.Validate(); err != nil {
		return Model{}, err
	}
	return Model{p: p}, nil
}

// Params returns the model's parameters.
func (m Model) Params() Params { return m.p }

// New is a new player's rating.
func (m Model) New() Rating { return Rating{Mu: m.p.Mu, Sigma: m.p.Sigma} }

// Ordinal is the single number a rating is shown and matched by:
// Mu - Z·Sigma, a skill the player has with high certainty. It starts at 0
// for a new player with the defaults and grows as sigma shrinks, so it
// rewards playing as well as winning.
func (m Model) Ordinal(r Rating) float64 { return r.Mu - m.p.Z*r.Sigma }

// stackTeams is how many teams Rate handles without allocating.
const stackTeams = 64

// teamStat is one team's aggregate for an update.
type teamStat struct {
	index int     // the team's position in the caller's slice
	place int     // its placement; lower is better
	mu    float64 // the sum of its players' means
	s2    float64 // the sum of its players' variances (after Tau)
	e     float64 // exp((mu - the highest team mu) / c)
	tail  float64 // the sum of e over this team and the teams after it
}

// Rate updates the ratings of one match's players in place. teams[i]
// holds the ratings of team i's players and places[i] is team i's
// placement: 1 is best, and teams with equal placements tied (a
// free-for-all is teams of one). A match of fewer than two teams changes
// nothing. Rate does not allocate for matches of up to 64 teams.
//
// A team's skill is the sum of its players' (mean and variance); each
// player's share of the team's update is their share of its variance.
func (m Model) Rate(teams [][]Rating, places []int) error {
	k := len(teams)
	if len(places) != k {
		return fmt.Errorf("%w: %d teams and %d placements", ErrInvalid, k, len(places))
	}
	if k < 2 {
		return nil
	}
	var buf [stackTeams]teamStat
	stats := buf[:0]
	if k > stackTeams {
		stats = make([]teamStat, 0, k)
	}
	tau2, beta2 := m.p.Tau*m.p.Tau, m.p.Beta*m.p.Beta
	var c2 float64
	for i, team := range teams {
		if len(team) == 0 {
			return fmt.Errorf("%w: team %d has no players", ErrInvalid, i+1)
		}
		if places[i] < 1 {
			return fmt.Errorf("%w: team %d has placement %d", ErrInvalid, i+1, places[i])
		}
		st := teamStat{index: i, place: places[i]}
		for _, r := range team {
			if math.IsNaN(r.Mu) || math.IsInf(r.Mu, 0) || !(r.Sigma > 0) || math.IsInf(r.Sigma, 0) {
				return fmt.Errorf("%w: team %d has a rating of mu %v, sigma %v", ErrInvalid, i+1, r.Mu, r.Sigma)
			}
			st.mu += r.Mu
			st.s2 += r.Sigma*r.Sigma + tau2
		}
		c2 += st.s2 + beta2
		stats = append(stats, st)
	}
	c := math.Sqrt(c2)
	slices.SortFunc(stats, func(a, b teamStat) int {
		return cmp.Or(cmp.Compare(a.place, b.place), cmp.Compare(a.index, b.index))
	})

	// Shares of each team in the Plackett-Luce model: exp(mu_i/c), scaled
	// by exp(-max/c) so that no exponent overflows (the update uses only
	// their ratios).
	top := stats[0].mu
	for _, st := range stats[1:] {
		top = max(top, st.mu)
	}
	for i := range stats {
		// A team more than 300·c below the best has no chance worth
		// counting; the floor keeps 1/C² finite.
		stats[i].e = math.Exp(max((stats[i].mu-top)/c, -300))
	}

	// The paper's sums run over q with r(q) <= r(i) of 1/A_q terms, where
	// C_q sums exp(mu_s/c) over the teams s placed at or below q and A_q
	// counts the teams tied with q. Every team of a tied group has the same
	// C, so a group g contributes A_g · (1/A_g) · f(C_g) = f(C_g), and the
	// sums are running sums over the groups placed at or above a team's:
	//   Ω_i = σ_i²/c · (1/A_i − e_i·S1)
	//   Δ_i = (σ_i/c) · σ_i²/c² · (e_i·S1 − e_i²·S2)
	// with S1 = Σ 1/C_g and S2 = Σ 1/C_g² (γ = σ_i/c, the paper's choice).
	// C_g is the sum of e from the group's first team to the last team.
	var tail float64
	for i := k - 1; i >= 0; i-- {
		tail += stats[i].e
		stats[i].tail = tail
	}
	var s1, s2 float64
	for start := 0; start < k; {
		end := start + 1
		for end < k && stats[end].place == stats[start].place {
			end++
		}
		cg := stats[start].tail
		s1 += 1 / cg
		s2 += 1 / (cg * cg)
		a := float64(end - start)
		for _, st := range stats[start:end] {
			omega := st.s2 / c * (1/a - st.e*s1)
			delta := math.Sqrt(st.s2) / c * st.s2 / c2 * (st.e*s1 - st.e*st.e*s2)
			m.apply(teams[st.index], st.s2, omega, delta, tau2)
		}
		start = end
	}
	return nil
}

// apply moves one team's players by the team's update: each by their
// share of the team's variance.
func (m Model) apply(team []Rating, teamS2, omega, delta, tau2 float64) {
	for j := range team {
		v := team[j].Sigma*team[j].Sigma + tau2
		share := v / teamS2
		team[j].Mu += share * omega
		v *= max(1-share*delta, m.p.Kappa)
		team[j].Sigma = max(math.Sqrt(v), m.p.SigmaFloor)
	}
}
