package api

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/reward"
)

// Challenges holds what the challenge routes need.
type Challenges struct {
	Challenges *challenge.Store
	Verifier   Verifier
}

// MountChallenges adds the player's daily and weekly challenges to app.
// Every route needs a player's access token.
func MountChallenges(app fiber.Router, ch Challenges) {
	h := &challengeHandlers{store: ch.Challenges}
	player := RequirePlayer(ch.Verifier)

	v1 := app.Group("/v1")
	v1.Get("/me/challenges", player, h.list)
	v1.Post("/me/challenges/:id/reroll", player, h.reroll)
}

type challengeHandlers struct {
	store *challenge.Store
}

type challengesView struct {
	Daily  *challengeSetView `json:"daily"`
	Weekly *challengeSetView `json:"weekly"`
}

type challengeSetView struct {
	Period      string          `json:"period"`
	EndsAt      time.Time       `json:"ends_at"`
	RerollsLeft int             `json:"rerolls_left"`
	Challenges  []challengeView `json:"challenges"`
}

type challengeView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Metric      string     `json:"metric"`
	WeaponClass string     `json:"weapon_class,omitempty"`
	Placement   int        `json:"placement,omitempty"`
	Modes       []string   `json:"modes,omitempty"`
	Target      int64      `json:"target"`
	Progress    int64      `json:"progress"`
	Completed   bool       `json:"completed"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	Reward      rewardView `json:"reward"`
}

type rewardView struct {
	Items      []inventory.Line `json:"items"`
	Currencies []reward.Amount  `json:"currencies"`
}

func challenges(v challenge.View) challengesView {
	return challengesView{Daily: challengeSet(v.Daily), Weekly: challengeSet(v.Weekly)}
}

func challengeSet(s *challenge.Set) *challengeSetView {
	if s == nil {
		return nil
	}
	out := &challengeSetView{Period: s.Period, EndsAt: s.EndsAt, RerollsLeft: s.RerollsLeft, Challenges: make([]challengeView, 0, len(s.Challenges))}
	for _, a := range s.Challenges {
		currencies := a.Reward.Currencies
		if currencies == nil {
			currencies = []reward.Amount{}
		}
		out.Challenges = append(out.Challenges, challengeView{
			ID: a.ID, Name: a.Name, Description: a.Description,
			Metric: a.Goal.Metric, WeaponClass: a.Goal.WeaponClass, Placement: a.Goal.Placement, Modes: a.Goal.Modes,
			Target: a.Goal.Target, Progress: a.Progress, Completed: a.Completed(), CompletedAt: a.CompletedAt,
			Reward: rewardView{Items: lines(a.Reward.Items), Currencies: currencies},
		})
	}
	return out
}

// list answers the player's current daily and weekly challenges, drawing
// them the first time they are asked for in a period.
func (h *challengeHandlers) list(c *fiber.Ctx) error {
	v, err := h.store.Current(c.UserContext(), claimsOf(c).AccountID, h.store.Now())
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(challenges(v))
}

type rerollView struct {
	Replaced   string         `json:"replaced"`
	With       string         `json:"with"`
	Challenges challengesView `json:"challenges"`
}

// reroll replaces one of the player's incomplete challenges with another.
// A retry with the same Idempotency-Key answers the first reroll.
func (h *challengeHandlers) reroll(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	id := strings.Clone(c.Params("id"))
	r, err := h.store.Reroll(c.UserContext(), claimsOf(c).AccountID, id, key)
	if err != nil {
		return fail(c, err)
	}
	if r.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.JSON(rerollView{Replaced: r.Replaced, With: r.With, Challenges: challenges(r.View)})
}
