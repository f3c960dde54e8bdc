package player

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/inventory"
)

// Content kinds of this package, each read from the document RulesID.
const (
	KindLoadoutRules = "loadout_rules"
	KindProfileRules = "profile_rules"
	RulesID          = "default"
)

// Bounds of the rules documents.
const (
	maxSlots       = 32
	maxLoadoutsCap = 100
)

// Slot is a place in a loadout or profile that holds one item.
type Slot struct {
	ID string `json:"id"`
	// ItemKinds are the catalog kinds the slot takes (catalog.Kinds).
	ItemKinds []string `json:"item_kinds"`
	// Tags, when given, narrow the slot to items that carry at least one
	// of them.
	Tags []string `json:"tags,omitempty"`
	// Required slots must hold an item in every saved loadout.
	Required bool `json:"required,omitempty"`
}

// LoadoutRules is the content document loadout_rules/default.
type LoadoutRules struct {
	MaxLoadouts int    `json:"max_loadouts"`
	Slots       []Slot `json:"slots"`
}

// ProfileRules is the content document profile_rules/default.
type ProfileRules struct {
	Slots []Slot `json:"slots"`
}

// DefaultLoadoutRules apply until loadout_rules/default is published.
func DefaultLoadoutRules() LoadoutRules {
	return LoadoutRules{MaxLoadouts: 10, Slots: []Slot{
		{ID: "primary", ItemKinds: []string{"weapon"}, Required: true},
		{ID: "secondary", ItemKinds: []string{"weapon"}},
		{ID: "operator", ItemKinds: []string{"operator"}},
		{ID: "skin", ItemKinds: []string{"skin"}},
		{ID: "charm", ItemKinds: []string{"charm"}},
		{ID: "emote", ItemKinds: []string{"emote"}},
	}}
}

// DefaultProfileRules apply until profile_rules/default is published.
func DefaultProfileRules() ProfileRules {
	return ProfileRules{Slots: []Slot{
		{ID: "banner", ItemKinds: []string{"banner"}},
		{ID: "emblem", ItemKinds: []string{"charm"}, Tags: []string{"emblem"}},
		{ID: "title", ItemKinds: []string{"charm"}, Tags: []string{"title"}},
	}}
}

var slotPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

func checkSlots(slots []Slot) error {
	if len(slots) == 0 || len(slots) > maxSlots {
		return content.Invalid("slots", "give 1 to %d slots", maxSlots)
	}
	for i, s := range slots {
		field := fmt.Sprintf("slots[%d]", i)
		if !slotPattern.MatchString(s.ID) {
			return content.Invalid(field+".id", "use 1 to 32 lower-case letters, digits or '_', starting with a letter")
		}
		if slices.ContainsFunc(slots[:i], func(o Slot) bool { return o.ID == s.ID }) {
			return content.Invalid(field+".id", "slot %s is listed twice", s.ID)
		}
		if len(s.ItemKinds) == 0 {
			return content.Invalid(field+".item_kinds", "name at least one item kind")
		}
		for _, k := range s.ItemKinds {
			if !slices.Contains(catalog.Kinds, k) {
				return content.Invalid(field+".item_kinds", "unknown item kind %q; known: %s", k, strings.Join(catalog.Kinds, ", "))
			}
		}
		for _, t := range s.Tags {
			if t == "" || len(t) > 64 {
				return content.Invalid(field+".tags", "tags are 1 to 64 characters")
			}
		}
	}
	return nil
}

// Validate checks loadout rules.
func (r LoadoutRules) Validate() error {
	if r.MaxLoadouts < 1 || r.MaxLoadouts > maxLoadoutsCap {
		return content.Invalid("max_loadouts", "must be 1 to %d", maxLoadoutsCap)
	}
	return checkSlots(r.Slots)
}

// Validate checks profile rules.
func (r ProfileRules) Validate() error { return checkSlots(r.Slots) }

// LoadoutRulesKind is the content kind of loadout rules.
func LoadoutRulesKind() content.Kind {
	return content.Kind{Name: KindLoadoutRules, Check: func(_ context.Context, _ sqlx.QueryerContext, id string, body json.RawMessage) error {
		if id != RulesID {
			return content.Invalid("id", "loadout rules are read from the document %q only", RulesID)
		}
		var r LoadoutRules
		if err := content.Decode(body, &r); err != nil {
			return err
		}
		return r.Validate()
	}}
}

// ProfileRulesKind is the content kind of profile rules.
func ProfileRulesKind() content.Kind {
	return content.Kind{Name: KindProfileRules, Check: func(_ context.Context, _ sqlx.QueryerContext, id string, body json.RawMessage) error {
		if id != RulesID {
			return content.Invalid("id", "profile rules are read from the document %q only", RulesID)
		}
		var r ProfileRules
		if err := content.Decode(body, &r); err != nil {
			return err
		}
		return r.Validate()
	}}
}

// loadLoadoutRules reads the published loadout rules, or the defaults.
func loadLoadoutRules(ctx context.Context, q sqlx.QueryerContext) (LoadoutRules, error) {
	var r LoadoutRules
	_, err := content.Published(ctx, q, KindLoadoutRules, RulesID, &r)
	if errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished) {
		return DefaultLoadoutRules(), nil
	}
	if err != nil {
		return LoadoutRules{}, fmt.Errorf("load loadout rules: %w", err)
	}
	return r, nil
}

// loadProfileRules reads the published profile rules, or the defaults.
func loadProfileRules(ctx context.Context, q sqlx.QueryerContext) (ProfileRules, error) {
	var r ProfileRules
	_, err := content.Published(ctx, q, KindProfileRules, RulesID, &r)
	if errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished) {
		return DefaultProfileRules(), nil
	}
	if err != nil {
		return ProfileRules{}, fmt.Errorf("load profile rules: %w", err)
	}
	return r, nil
}

// rulesCache keeps the rules a process shows with reads for RulesTTL.
type rulesCache struct {
	ttl        time.Duration
	mu         sync.Mutex
	at         time.Time // zero: never read
	refreshing bool
	loadout    LoadoutRules
	profile    ProfileRules
}

// get returns the cached rules, reading them again when they are older
// than the TTL. One caller reads while the others go on with the rules the
// process had; only before the first read do callers wait on the database.
func (c *rulesCache) get(ctx context.Context, q sqlx.QueryerContext) (LoadoutRules, ProfileRules, error) {
	c.mu.Lock()
	l, p, at := c.loadout, c.profile, c.at
	fresh := !at.IsZero() && time.Since(at) < c.ttl
	if !fresh && !at.IsZero() && c.refreshing {
		fresh = true // another caller is reading them
	}
	if !fresh {
		c.refreshing = true
	}
	c.mu.Unlock()
	if fresh {
		return l, p, nil
	}
	l, p, err := c.read(ctx, q)
	c.mu.Lock()
	c.refreshing = false
	if err == nil {
		c.loadout, c.profile, c.at = l, p, time.Now()
	}
	c.mu.Unlock()
	return l, p, err
}

func (c *rulesCache) read(ctx context.Context, q sqlx.QueryerContext) (LoadoutRules, ProfileRules, error) {
	l, err := loadLoadoutRules(ctx, q)
	if err != nil {
		return LoadoutRules{}, ProfileRules{}, err
	}
	p, err := loadProfileRules(ctx, q)
	if err != nil {
		return LoadoutRules{}, ProfileRules{}, err
	}
	return l, p, nil
}

// LoadoutRules returns the loadout rules reads show: the published ones as
// of at most RulesTTL ago.
func (s *Store) LoadoutRules(ctx context.Context) (LoadoutRules, error) {
	l, _, err := s.rules.get(ctx, s.conn)
	return l, err
}

// ProfileRules returns the profile rules reads show.
func (s *Store) ProfileRules(ctx context.Context) (ProfileRules, error) {
	_, p, err := s.rules.get(ctx, s.conn)
	return p, err
}

// equip checks a choice of items for slots inside tx: every slot known,
// every required slot filled, every item of a kind and tag its slot takes,
// and held by the player (rows locked until tx ends, so the items cannot
// leave the inventory before it commits). It returns the choice without
// empty slots.
func (s *Store) equip(ctx context.Context, tx *sqlx.Tx, accountID int64, slots []Slot, chosen map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(chosen))
	keys := make([]string, 0, len(chosen))
	for k, v := range chosen {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	bySlot := make(map[string]Slot, len(slots))
	for _, sl := range slots {
		bySlot[sl.ID] = sl
	}
	for _, k := range keys {
		if _, ok := bySlot[k]; !ok {
			return nil, fmt.Errorf("%w: %s", ErrUnknownSlot, k)
		}
		out[k] = chosen[k]
	}
	for _, sl := range slots {
		if sl.Required && out[sl.ID] == "" {
			return nil, fmt.Errorf("%w: %s", ErrSlotRequired, sl.ID)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}

	items := map[string]catalog.Item{}
	var lines []inventory.Line
	for _, k := range keys {
		id := out[k]
		it, seen := items[id]
		if !seen {
			var err error
			it, err = catalog.ItemTx(ctx, tx, id)
			if errors.Is(err, catalog.ErrNotFound) {
				return nil, fmt.Errorf("%w: unknown item %s (slot %s)", ErrItemNotAllowed, id, k)
			}
			if err != nil {
				return nil, err
			}
			items[id] = it
			lines = append(lines, inventory.Line{ItemID: id, Quantity: 1})
		}
		if err := fits(bySlot[k], it); err != nil {
			return nil, err
		}
	}
	held, err := s.inv.HoldsTx(ctx, tx, accountID, lines)
	if err != nil {
		return nil, err
	}
	if !held {
		// Rare: find the first item missing, to say which.
		for _, k := range keys {
			one, err := s.inv.HoldsTx(ctx, tx, accountID, []inventory.Line{{ItemID: out[k], Quantity: 1}})
			if err != nil {
				return nil, err
			}
			if !one {
				return nil, fmt.Errorf("%w: %s (slot %s)", ErrNotOwned, out[k], k)
			}
		}
		return nil, ErrNotOwned
	}
	return out, nil
}

// fits checks an item against a slot's kinds and tags.
func fits(sl Slot, it catalog.Item) error {
	if !slices.Contains(sl.ItemKinds, it.Kind) {
		return fmt.Errorf("%w: %s is a %s; slot %s takes %s", ErrItemNotAllowed, it.ID, it.Kind, sl.ID, strings.Join(sl.ItemKinds, ", "))
	}
	if len(sl.Tags) > 0 && !slices.ContainsFunc(it.Tags, func(t string) bool { return slices.Contains(sl.Tags, t) }) {
		return fmt.Errorf("%w: %s carries none of the tags slot %s takes (%s)", ErrItemNotAllowed, it.ID, sl.ID, strings.Join(sl.Tags, ", "))
	}
	return nil
}
