package matchmaking

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Ticket is one waiting ticket as the matchmaker sees it: one player or a
// whole party, who must play on one team.
type Ticket struct {
	ID      string
	Players []Player
	PartyID string
	Rating  float64        // the players' mean rating
	Latency map[string]int // milliseconds to each region the client measured
	Created time.Time      // when it started waiting (kept when requeued)
	best    string         // the region of lowest latency
}

// Size is how many players the ticket holds.
func (t *Ticket) Size() int { return len(t.Players) }

// bestRegion is the ticket's region of lowest latency among the queue's.
func (t *Ticket) bestRegion(regions []string) string {
	if t.best != "" {
		return t.best
	}
	best, ms := "", math.MaxInt
	for _, r := range regions {
		if l, ok := t.Latency[r]; ok && l < ms {
			best, ms = r, l
		}
	}
	t.best = best
	return best
}

// eligible reports whether the ticket may play in region after waiting:
// its best region always, others within the latency limit for its wait.
func (q *Queue) eligible(t *Ticket, region string, now time.Time) bool {
	if t.bestRegion(q.Regions) == region {
		return true
	}
	l, ok := t.Latency[region]
	return ok && float64(l) <= q.Latency.At(now.Sub(t.Created))
}

// Match is a match formed by a tick: its teams of tickets.
type Match struct {
	Region string
	Teams  [][]*Ticket
	Full   bool // every seat taken (false: a fallback match the server fills with bots)
}

// Players counts the match's players.
func (m Match) Players() int {
	n := 0
	for _, team := range m.Teams {
		for _, t := range team {
			n += t.Size()
		}
	}
	return n
}

// Spread is the largest rating difference between two of the match's
// tickets.
func (m Match) Spread() float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, team := range m.Teams {
		for _, t := range team {
			lo, hi = min(lo, t.Rating), max(hi, t.Rating)
		}
	}
	if hi < lo {
		return 0
	}
	return hi - lo
}

// Imbalance is the difference between the highest and lowest mean rating of
// the match's non-empty teams.
func (m Match) Imbalance() float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, team := range m.Teams {
		sum, n := 0.0, 0
		for _, t := range team {
			sum += t.Rating * float64(t.Size())
			n += t.Size()
		}
		if n > 0 {
			lo, hi = min(lo, sum/float64(n)), max(hi, sum/float64(n))
		}
	}
	if hi < lo {
		return 0
	}
	return hi - lo
}

// scanFactor bounds the candidates one anchor examines, in seats: an anchor
// whose rating window is crowded with tickets that fit no team gives up
// after looking at this many times the match's seats.
const scanFactor = 8

// Tick forms the matches it can in region from tickets at now, oldest
// ticket first: each match is the oldest unmatched ticket with the nearest
// ratings within the skill spread its wait allows, packed so that every
// ticket stays on one team, then balanced. A ticket that waited MaxWait
// starts a smaller match when the fallback says so. Tickets not eligible
// for region are left alone.
func (q *Queue) Tick(region string, tickets []*Ticket, now time.Time) []Match {
	s := scratchPool.Get().(*scratch)
	defer s.release()
	s.reset(len(tickets))
	n := 0
	for _, t := range tickets {
		if t.Size() > 0 && q.eligible(t, region, now) {
			s.eligible[n] = t
			s.keys[n] = keyed{ratingKey(t.Rating), int32(n)}
			n++
		}
	}
	if n == 0 {
		return nil
	}
	// The eligible tickets in rating order; every index below is into
	// byRating. byAge holds those indices oldest first (ties in rating
	// order).
	s.reset(n)
	byRating, ratings, byAge := s.byRating, s.ratings, s.byAge
	for i, k := range radixSort(s.keys, s.tmp) {
		t := s.eligible[k.i]
		byRating[i], ratings[i] = t, t.Rating
	}
	for i, t := range byRating {
		s.keys[i] = keyed{timeKey(t.Created.UnixNano()), int32(i)}
	}
	for i, k := range radixSort(s.keys, s.tmp) {
		byAge[i] = k.i
	}
	w := &s.w
	w.reset(byRating)

	slots := q.Slots()
	var out []Match
	p := &s.p
	p.reset(q)
	for _, a := range byAge {
		ai := int(a)
		if w.used(ai) {
			continue
		}
		wait := now.Sub(byRating[ai].Created)
		fallback := q.Fallback == FallbackBots && wait >= q.MaxWait()
		spread := q.Skill.At(wait)
		lo := sort.SearchFloat64s(ratings, ratings[ai]-spread)
		hi := sort.Search(n, func(i int) bool { return ratings[i] > ratings[ai]+spread })
		if !fallback && w.players(lo, hi) < slots {
			continue // not enough unmatched players in range
		}
		teams, free := q.pack(p, byRating, ratings, w, ai, lo, hi)
		full := free == 0
		if !full && !(fallback && slots-free >= max(q.MinPlayers, 1)) {
			continue
		}
		chosen := p.chosen[:0]
		team := p.team[:0]
		for i, tm := range teams {
			for _, idx := range tm {
				w.take(idx, byRating[idx].Size())
				chosen = append(chosen, byRating[idx])
				team = append(team, i)
			}
		}
		p.chosen, p.team = chosen, team
		if !q.spreadTeams(p, chosen, team) {
			// Dealing out failed to seat everyone: keep the packing.
			team = team[:0]
			for i, tm := range teams {
				for range tm {
					team = append(team, i)
				}
			}
		}
		m := Match{Region: region, Full: full, Teams: group(q.Teams, chosen, team)}
		balance(m.Teams)
		out = append(out, m)
	}
	return out
}

// pack fills the teams from the anchor outwards in rating within [lo, hi),
// skipping matched tickets and those that fit no team, and answers the
// teams (indices) and the seats left free.
func (q *Queue) pack(p *packer, byRating []*Ticket, ratings []float64, w *window, anchor, lo, hi int) ([][]int, int) {
	p.clear(q)
	left := q.Slots()
	left -= p.place(anchor, byRating[anchor].Size())
	budget := scanFactor * q.Slots()
	r := ratings[anchor]
	below, above := w.prev(anchor-1), w.next(anchor+1)
	for left > 0 && budget > 0 {
		okBelow, okAbove := below >= lo, above < hi
		var idx int
		switch {
		case !okBelow && !okAbove:
			return p.teams, left
		case !okBelow:
			idx, above = above, w.next(above+1)
		case !okAbove:
			idx, below = below, w.prev(below-1)
		case r-ratings[below] <= ratings[above]-r:
			idx, below = below, w.prev(below-1)
		default:
			idx, above = above, w.next(above+1)
		}
		budget--
		if size := byRating[idx].Size(); size <= left {
			left -= p.place(idx, size)
		}
	}
	return p.teams, left
}

// packer holds pack's buffers, reused from one anchor to the next.
type packer struct {
	teams  [][]int
	free   []int
	byFree [][]int // the teams with f free seats at byFree[f], a stack each
	chosen []*Ticket
	team   []int
	order  []int
	sums   []float64
	means  []float64
}

// reset sizes the packer for q's teams.
func (p *packer) reset(q *Queue) {
	p.teams, p.free = resize(p.teams, q.Teams), resize(p.free, q.Teams)
	p.sums, p.means = resize(p.sums, q.Teams), resize(p.means, q.Teams)
	p.byFree = resize(p.byFree, q.TeamSize+1)
}

// clear empties every team for the next anchor.
func (p *packer) clear(q *Queue) {
	for f := range p.byFree {
		p.byFree[f] = p.byFree[f][:0]
	}
	for i := len(p.teams) - 1; i >= 0; i-- {
		p.teams[i], p.free[i] = p.teams[i][:0], q.TeamSize
		p.byFree[q.TeamSize] = append(p.byFree[q.TeamSize], i) // team 0 on top
	}
}

// place seats ticket idx of size players on the team with the fewest free
// seats that still takes it (best fit, so that parties keep room for
// others) and answers the seats taken: size, or 0 when no team has room.
func (p *packer) place(idx, size int) int {
	for f := size; f < len(p.byFree); f++ {
		stack := p.byFree[f]
		if len(stack) == 0 {
			continue
		}
		i := stack[len(stack)-1]
		p.byFree[f] = stack[:len(stack)-1]
		p.teams[i] = append(p.teams[i], idx)
		p.free[i] -= size
		if rest := p.free[i]; rest > 0 {
			p.byFree[rest] = append(p.byFree[rest], i)
		}
		return size
	}
	return 0
}

// window tracks which tickets (by index in rating order) are still
// unmatched: a Fenwick tree of their players, for the players of a rating
// range in O(log n), and skip pointers to step over matched tickets.
type window struct {
	tree        []int
	taken       []bool
	right, left []int32 // union-find: the nearest unmatched index at or beyond
}

// reset makes every ticket of byRating unmatched, building the tree in
// O(n).
func (w *window) reset(byRating []*Ticket) {
	n := len(byRating)
	w.tree, w.taken = resize(w.tree, n+1), resize(w.taken, n)
	w.right, w.left = resize(w.right, n+1), resize(w.left, n+1)
	clear(w.taken)
	w.tree[0] = 0
	for i, t := range byRating {
		w.tree[i+1] = t.Size()
	}
	for i := 1; i <= n; i++ {
		if j := i + i&-i; j <= n {
			w.tree[j] += w.tree[i]
		}
	}
	for i := range w.right {
		w.right[i], w.left[i] = int32(i), int32(i)
	}
}

func (w *window) add(i, v int) {
	for i++; i < len(w.tree); i += i & -i {
		w.tree[i] += v
	}
}

func (w *window) sum(i int) int { // players of indices [0, i)
	s := 0
	for ; i > 0; i -= i & -i {
		s += w.tree[i]
	}
	return s
}

func (w *window) players(lo, hi int) int { return w.sum(hi) - w.sum(lo) }

func (w *window) used(i int) bool { return w.taken[i] }

func (w *window) take(i, size int) {
	w.taken[i] = true
	w.add(i, -size)
	w.right[i] = int32(i + 1)
	// left is shifted by one so that index -1 is representable: left[i+1]
	// is the nearest unmatched index <= i, plus one.
	w.left[i+1] = int32(i)
}

// next is the first unmatched index >= i, or len when none.
func (w *window) next(i int) int {
	n := len(w.taken)
	if i >= n {
		return n
	}
	root := i
	for int(w.right[root]) != root && root < n {
		root = int(w.right[root])
	}
	for int(w.right[i]) != i && i < n {
		nxt := int(w.right[i])
		w.right[i] = int32(root)
		i = nxt
	}
	return root
}

// prev is the last unmatched index <= i, or -1 when none.
func (w *window) prev(i int) int {
	if i < 0 {
		return -1
	}
	j := i + 1 // shifted
	root := j
	for int(w.left[root]) != root && root > 0 {
		root = int(w.left[root])
	}
	for int(w.left[j]) != j && j > 0 {
		nxt := int(w.left[j])
		w.left[j] = int32(root)
		j = nxt
	}
	return root - 1
}

// spreadTeams deals the chosen tickets out to the teams for balance:
// largest first, strongest first, each to the team with the lowest mean
// rating that has room, writing each ticket's team into team. It reports
// false when that leaves a ticket with no room (the caller then keeps the
// packing it had).
func (q *Queue) spreadTeams(p *packer, chosen []*Ticket, team []int) bool {
	order := p.order[:0]
	for i := range chosen {
		order = append(order, i)
	}
	p.order = order
	slices.SortFunc(order, func(a, b int) int {
		if sa, sb := chosen[a].Size(), chosen[b].Size(); sa != sb {
			return sb - sa
		}
		return cmpFloat(chosen[b].Rating, chosen[a].Rating)
	})
	free, sums, means := p.free, p.sums, p.means
	for i := range free {
		free[i], sums[i], means[i] = q.TeamSize, 0, 0
	}
	for _, c := range order {
		t := chosen[c]
		size, best := t.Size(), -1
		for i, f := range free {
			if f >= size && (best < 0 || means[i] < means[best]) {
				best = i
			}
		}
		if best < 0 {
			return false
		}
		team[c] = best
		free[best] -= size
		sums[best] += t.Rating * float64(size)
		// Empty seats count as average players, so that a team is judged
		// by what it will hold, not by how full it is.
		means[best] = sums[best] / float64(q.TeamSize-free[best]+1)
	}
	return true
}

// group builds the teams of a match from each chosen ticket's team, in one
// backing array.
func group(teams int, chosen []*Ticket, team []int) [][]*Ticket {
	counts := make([]int, teams)
	for _, t := range team {
		counts[t]++
	}
	flat := make([]*Ticket, len(chosen))
	out := make([][]*Ticket, teams)
	at := 0
	for i, n := range counts {
		out[i] = flat[at : at : at+n]
		at += n
	}
	for c, t := range team {
		out[t] = append(out[t], chosen[c])
	}
	return out
}

// balance evens the teams' total ratings by swapping tickets of equal size
// between the strongest and the weakest team while that helps.
func balance(teams [][]*Ticket) {
	if len(teams) < 2 {
		return
	}
	sum := func(team []*Ticket) float64 {
		s := 0.0
		for _, t := range team {
			s += t.Rating * float64(t.Size())
		}
		return s
	}
	sums := make([]float64, len(teams))
	for range 4 * len(teams) {
		hi, lo := 0, 0
		for i, team := range teams {
			sums[i] = sum(team)
			if sums[i] > sums[hi] {
				hi = i
			}
			if sums[i] < sums[lo] {
				lo = i
			}
		}
		gap := sums[hi] - sums[lo]
		bi, bj, bestGap := -1, -1, gap
		for i, a := range teams[hi] {
			for j, b := range teams[lo] {
				if a.Size() != b.Size() {
					continue
				}
				d := (a.Rating - b.Rating) * float64(a.Size())
				if g := math.Abs(gap - 2*d); g < bestGap-1e-9 {
					bi, bj, bestGap = i, j, g
				}
			}
		}
		if bi < 0 {
			return
		}
		teams[hi][bi], teams[lo][bj] = teams[lo][bj], teams[hi][bi]
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
