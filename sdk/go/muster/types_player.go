package muster

import (
	"encoding/json"
	"time"
)

// Slot is a profile or loadout slot, as the game's content defines it.
type Slot struct {
	ID        string   `json:"id"`
	ItemKinds []string `json:"item_kinds"`         // The catalog item kinds the slot takes.
	Tags      []string `json:"tags,omitempty"`     // When present, the item must carry at least one of these tags.
	Required  bool     `json:"required,omitempty"` // A loadout must fill this slot.
}

type PublicProfile struct {
	ID          string            `json:"id"` // The player's public id.
	DisplayName string            `json:"display_name"`
	Level       int               `json:"level"`
	Prestige    int               `json:"prestige"`
	Cosmetics   map[string]string `json:"cosmetics"` // Slot id -> item id; empty slots are left out.
}

// Profile is the player's own profile.
type Profile struct {
	PublicProfile
	Version int    `json:"version"`         // Send it with the next change; 0 before the first.
	Slots   []Slot `json:"slots,omitempty"` // The profile slots of this game (on reads).
}

type ProfileRequest struct {
	Version   int                `json:"version"`
	Cosmetics map[string]*string `json:"cosmetics,omitempty"` // Slot id -> item id, or null to clear the slot.
}

type Loadout struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Slots     map[string]string `json:"slots"` // Slot id -> item id; empty slots are left out.
	Version   int               `json:"version"`
	UpdatedAt time.Time         `json:"updated_at"`
}

type Loadouts struct {
	MaxLoadouts int       `json:"max_loadouts"` // How many loadouts a player may keep.
	Slots       []Slot    `json:"slots"`
	Loadouts    []Loadout `json:"loadouts"`
}

type LoadoutRequest struct {
	Version int                `json:"version"` // 0 to create the loadout; else the version it was loaded at.
	Name    string             `json:"name"`
	Slots   map[string]*string `json:"slots,omitempty"` // Slot id -> item id, or null to leave the slot empty.
}

type Settings struct {
	Settings  json.RawMessage `json:"settings"` // The client's own JSON object.
	Version   int             `json:"version"`  // 0 before the first save.
	UpdatedAt *time.Time      `json:"updated_at"`
}

type SettingsRequest struct {
	Version  int             `json:"version"`
	Settings json.RawMessage `json:"settings"`
}

type Stats struct {
	Matches       int            `json:"matches"`
	Wins          int            `json:"wins"`           // Matches finished in first place.
	BestPlacement *int           `json:"best_placement"` // The best placement reached (1 is best); null before any.
	MostKills     int            `json:"most_kills"`     // The most kills in one match.
	Totals        map[string]int `json:"totals"`         // Sum of each match stat (kills, deaths, assists, damage, headshots, revives, score, seconds_played).
	KillsByClass  map[string]int `json:"kills_by_class"` // Kills by weapon class.
	LastMatchAt   *time.Time     `json:"last_match_at"`
}

type PlayerStats struct {
	Lifetime Stats        `json:"lifetime"`
	Season   *SeasonStats `json:"season"` // The season's stats; null when none was asked for and none is running.
}

// SeasonStats is a season's stats.
type SeasonStats struct {
	Stats
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}
