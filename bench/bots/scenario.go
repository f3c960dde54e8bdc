package bots

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Scenario is what the bots do and how fast: the mix of activities, the
// rates and the sizes of the world they play in. A scenario file (YAML or
// JSON, docs/bots.md) overrides DefaultScenario field by field; the flags
// --players, --duration and --ramp override the file.
type Scenario struct {
	Players  int      `json:"players"`  // simulated players, 1 to 100,000
	Duration Duration `json:"duration"` // how long they play, at most MaxDuration
	Ramp     float64  `json:"ramp"`     // players arriving per second
	// Think is the pause between two activities of a player.
	Think Range `json:"think"`
	// Mix weighs the activities a player picks between two pauses.
	Mix map[string]int `json:"mix"`

	Accounts Accounts `json:"accounts"`
	Parties  Parties  `json:"parties"`
	Match    Match    `json:"match"`
	Servers  Servers  `json:"servers"`
	Store    Store    `json:"store"`
	// Reconnect is how long a player who drops their socket waits before
	// resuming it.
	Reconnect Range `json:"reconnect"`
	// Drain bounds the end of the run: matches finish, tickets are
	// cancelled, wallets and progression are read back.
	Drain Duration `json:"drain"`
}

// Activities a player picks from Mix.
const (
	ActPlay        = "play"        // queue (alone or as the party's leader) and play a match
	ActBuyOffer    = "buy_offer"   // buy an offer with virtual currency
	ActBuyPack     = "buy_pack"    // buy a currency pack: Checkout, then Stripe's signed webhook
	ActGift        = "gift"        // gift an item to a friend, who accepts it
	ActProgression = "progression" // read XP and the battle pass back
	ActReconnect   = "reconnect"   // drop the socket and resume it
	ActStorefront  = "storefront"  // look at the store
	ActFriends     = "friends"     // read the friend list over the socket
	ActChat        = "chat"        // a line of party chat
)

var activities = []string{ActPlay, ActBuyOffer, ActBuyPack, ActGift, ActProgression, ActReconnect, ActStorefront, ActFriends, ActChat}

// Accounts names the bots' accounts: player i is <prefix><i>@<domain>
// with display name <prefix><i>, logged in when it exists and registered
// otherwise, so a second run plays the same players.
type Accounts struct {
	Prefix   string `json:"prefix"`
	Domain   string `json:"domain"`
	Password string `json:"password"`
	// PerAddress is how many players share a loopback source address
	// (127.x.y.z): players come from many addresses, as they do, and
	// per-address limits see a crowd, not one client.
	PerAddress int `json:"per_address"`
}

// Parties says who plays together: a share of the players form parties of
// friends (each member befriends the leader, who invites them).
type Parties struct {
	Share   float64 `json:"share"`    // 0 to 1: players who play in a party
	MinSize int     `json:"min_size"` // at least 2
	MaxSize int     `json:"max_size"`
}

// Match is how players queue and how long matches last.
type Match struct {
	Queue string `json:"queue"`
	// Latency is the round trip each player measures to each region, in
	// milliseconds; each player adds up to Jitter to each.
	Latency map[string]int `json:"latency_ms"`
	Jitter  int            `json:"jitter_ms"`
	Length  Range          `json:"length"` // how long a match lasts on its server
	// Wait bounds a ticket's wait for match.found; longer is an error
	// (the queue's fallback should have started a match).
	Wait Duration `json:"wait"`
	// Connect bounds how long a server waits for its roster to connect
	// before the match starts with those who did.
	Connect Duration `json:"connect"`
}

// Servers are the simulated dedicated servers: per region, processes that
// register with the bots' game server credential and host matches.
type Servers struct {
	Fleet     string   `json:"fleet"`
	Regions   []string `json:"regions"`
	PerRegion int      `json:"per_region"`
	Capacity  int      `json:"capacity"` // matches a process hosts at once
}

// Store names what the bots buy.
type Store struct {
	Offers []string `json:"offers"` // offers bought with virtual currency, first affordable unowned one
	Packs  []string `json:"packs"`  // currency packs bought through Checkout
	Gift   string   `json:"gift"`   // the giftable item given to friends (bought first when not owned)
	// Replay is the share of purchases and webhooks sent twice (the same
	// Idempotency-Key, the same Stripe event), as clients and Stripe retry:
	// each must count once.
	Replay float64 `json:"replay"`
}

// Range is an interval of durations a value is drawn from uniformly.
type Range struct {
	Min Duration `json:"min"`
	Max Duration `json:"max"`
}

// Duration is a time.Duration written as in Go ("90s", "2m").
type Duration time.Duration

// UnmarshalJSON reads "90s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: want a Go duration such as 90s or 2m", s)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration %s: want a Go duration such as 90s or 2m", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as in Go.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// D is the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Limits that keep a run bounded.
const (
	MaxPlayers  = 100_000
	MaxDuration = time.Hour
)

// DefaultScenario is the mix `muster bots` plays without a scenario file:
// parties of friends queueing for the demo's 6v6, matches of 20 to 40 s
// on simulated servers in both demo regions, purchases of offers and
// packs, gifts, read-backs and socket drops.
func DefaultScenario() Scenario {
	return Scenario{
		Players:  20,
		Duration: Duration(time.Minute),
		Ramp:     20,
		Think:    Range{Duration(2 * time.Second), Duration(6 * time.Second)},
		Mix: map[string]int{ActPlay: 6, ActBuyOffer: 2, ActBuyPack: 1, ActGift: 1, ActProgression: 2,
			ActReconnect: 1, ActStorefront: 2, ActFriends: 1, ActChat: 1},
		Accounts: Accounts{Prefix: "bot", Domain: "bots.muster.test", Password: "muster bots play fair", PerAddress: 5},
		Parties:  Parties{Share: 0.5, MinSize: 2, MaxSize: 4},
		Match: Match{Queue: "tdm_6v6", Latency: map[string]int{"eu-west": 35, "us-east": 90}, Jitter: 60,
			Length: Range{Duration(20 * time.Second), Duration(40 * time.Second)},
			Wait:   Duration(150 * time.Second), Connect: Duration(10 * time.Second)},
		Servers: Servers{Fleet: "bots", Regions: []string{"eu-west", "us-east"}, PerRegion: 8, Capacity: 8},
		Store: Store{
			Offers: []string{"offer.uav.5", "offer.boost.double_xp", "offer.operator.ghost", "offer.skin.kestrel.molten"},
			Packs:  []string{"pack.points.500", "pack.points.1000", "pack.points.2500"},
			Gift:   "skin.kestrel.molten", Replay: 0.1},
		Reconnect: Range{Duration(200 * time.Millisecond), Duration(2 * time.Second)},
		Drain:     Duration(45 * time.Second),
	}
}

// LoadScenario reads a scenario file over DefaultScenario. YAML and JSON
// are both read (JSON is YAML); unknown fields are refused.
func LoadScenario(path string) (Scenario, error) {
	s := DefaultScenario()
	if path == "" {
		return s, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := ParseScenario(raw, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseScenario reads YAML or JSON over s.
func ParseScenario(raw []byte, s *Scenario) error {
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return err
	}
	// A mix in the file replaces the default mix rather than merging
	// with it, so that an activity left out is not played.
	var probe struct {
		Mix map[string]int `json:"mix"`
	}
	if err := json.Unmarshal(js, &probe); err == nil && probe.Mix != nil {
		s.Mix = nil
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return err
	}
	return nil
}

// Validate checks that the scenario is bounded and playable.
func (s Scenario) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if s.Players < 1 || s.Players > MaxPlayers {
		bad("players must be 1 to %d, got %d", MaxPlayers, s.Players)
	}
	if s.Duration.D() <= 0 || s.Duration.D() > MaxDuration {
		bad("duration must be above 0 and at most %s, got %s", MaxDuration, s.Duration.D())
	}
	if s.Ramp <= 0 || s.Ramp > 10_000 {
		bad("ramp must be above 0 and at most 10000 players a second, got %v", s.Ramp)
	}
	for name, r := range map[string]Range{"think": s.Think, "reconnect": s.Reconnect, "match.length": s.Match.Length} {
		if r.Min.D() < 0 || r.Max.D() < r.Min.D() || r.Max.D() > 10*time.Minute {
			bad("%s must have 0 <= min <= max <= 10m, got %s..%s", name, r.Min.D(), r.Max.D())
		}
	}
	if s.Match.Length.Min.D() < time.Second {
		bad("match.length.min must be at least 1s")
	}
	total := 0
	for name, w := range s.Mix {
		if !slices.Contains(activities, name) {
			bad("mix: unknown activity %q (want %s)", name, strings.Join(activities, ", "))
		}
		if w < 0 {
			bad("mix: %s has a negative weight", name)
		}
		total += w
	}
	if total == 0 {
		bad("mix: at least one activity needs a positive weight")
	}
	a := s.Accounts
	if a.Prefix == "" || len(a.Prefix) > 12 || !nameChars(a.Prefix) {
		bad("accounts.prefix must be 1 to 12 letters or digits starting with a letter, got %q", a.Prefix)
	}
	if a.Domain == "" || strings.ContainsAny(a.Domain, "@ ") {
		bad("accounts.domain must be a domain name, got %q", a.Domain)
	}
	if len(a.Password) < 8 || len(a.Password) > 128 {
		bad("accounts.password must be 8 to 128 characters")
	}
	if a.PerAddress < 1 || a.PerAddress > 1000 {
		bad("accounts.per_address must be 1 to 1000, got %d", a.PerAddress)
	}
	p := s.Parties
	if p.Share < 0 || p.Share > 1 {
		bad("parties.share must be 0 to 1, got %v", p.Share)
	}
	if p.Share > 0 && (p.MinSize < 2 || p.MaxSize < p.MinSize || p.MaxSize > 8) {
		bad("parties: want 2 <= min_size <= max_size <= 8, got %d and %d", p.MinSize, p.MaxSize)
	}
	m := s.Match
	if m.Queue == "" {
		bad("match.queue is required")
	}
	if len(m.Latency) == 0 {
		bad("match.latency_ms needs at least one region")
	}
	for r, ms := range m.Latency {
		if ms < 1 || ms+m.Jitter > 2000 {
			bad("match.latency_ms: %s must be 1 to 2000 with the jitter, got %d + %d", r, ms, m.Jitter)
		}
	}
	if m.Jitter < 0 {
		bad("match.jitter_ms must not be negative")
	}
	if m.Wait.D() <= 0 || m.Connect.D() <= 0 {
		bad("match.wait and match.connect must be positive")
	}
	sv := s.Servers
	if len(sv.Regions) == 0 || sv.PerRegion < 1 || sv.PerRegion > 1000 || sv.Capacity < 1 || sv.Capacity > 1000 {
		bad("servers: want at least one region, per_region 1 to 1000 and capacity 1 to 1000")
	}
	if sv.Fleet == "" {
		bad("servers.fleet is required")
	}
	if s.Store.Replay < 0 || s.Store.Replay > 1 {
		bad("store.replay must be 0 to 1, got %v", s.Store.Replay)
	}
	if s.Mix[ActBuyOffer] > 0 && len(s.Store.Offers) == 0 {
		bad("store.offers is empty but the mix buys offers")
	}
	if s.Mix[ActBuyPack] > 0 && len(s.Store.Packs) == 0 {
		bad("store.packs is empty but the mix buys packs")
	}
	if s.Mix[ActGift] > 0 && s.Store.Gift == "" {
		bad("store.gift is empty but the mix gives gifts")
	}
	if s.Drain.D() < 5*time.Second || s.Drain.D() > 5*time.Minute {
		bad("drain must be 5s to 5m, got %s", s.Drain.D())
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func nameChars(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
