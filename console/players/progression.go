package players

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/progression"
)

// journalRows is how much of a player's progression journal the page shows.
const journalRows = 50

// maxGrantXP is the most XP one support adjustment grants (the domain's
// bound).
const maxGrantXP = 10_000_000

// ProgressionView is the player page's Progression tab.
type ProgressionView struct {
	State     progression.State
	Journal   []progression.Event
	Trees     []progression.TreeState
	CanAdjust bool
	// BattlePass is the player's pass in the current season; nil when the
	// console has no battle pass store.
	BattlePass *BattlePassView
}

// XPForm is the grant XP form as sent, with its errors.
type XPForm struct {
	Key, Amount, Reason           string
	AmountErr, ReasonErr, Problem string
}

func (f XPForm) failed() bool { return f.AmountErr != "" || f.ReasonErr != "" || f.Problem != "" }

func (h *handler) progression(ctx context.Context, accountID int64, canAdjust bool) (*ProgressionView, error) {
	v := &ProgressionView{CanAdjust: canAdjust}
	var err error
	if v.State, err = h.eco.Progression.State(ctx, accountID); err != nil {
		return nil, err
	}
	if v.Journal, err = h.eco.Progression.History(ctx, accountID, journalRows); err != nil {
		return nil, err
	}
	if v.Trees, err = h.eco.Progression.Trees(ctx, accountID); err != nil {
		return nil, err
	}
	if h.eco.BattlePass != nil {
		if v.BattlePass, err = h.battlePass(ctx, accountID); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// grantXP gives a player XP for support reasons, with the rewards of the
// levels it reaches and its audit row in the same transaction. The form's
// key makes it act once however often it is sent.
func (h *handler) grantXP(c *fiber.Ctx) error {
	ctx := c.UserContext()
	a, _, err := h.svc.Player(ctx, c.Params("id"))
	if err != nil {
		return notFound(c, err)
	}
	form := XPForm{Key: c.FormValue("key"), Amount: c.FormValue("amount"), Reason: reasonOf(c)}
	show := func(status int) error { return h.render(c, status, func(f *Forms) { f.XP = form }) }
	xp, ok := count(form.Amount)
	if !ok || xp > maxGrantXP {
		form.AmountErr = "Enter a whole amount of XP from 1 to " + strconv.Itoa(maxGrantXP) + "."
	}
	if form.Reason == "" {
		form.ReasonErr = reasonRequired
	}
	if !frame.ValidFormKey(form.Key) {
		form.Problem = lostKey
	}
	if form.failed() {
		return show(http.StatusBadRequest)
	}
	st, err := h.eco.Progression.Adjust(ctx, progression.Adjustment{AccountID: a.ID, XP: xp, Key: form.Key, Reason: memo(form.Reason),
		Also: func(tx *sqlx.Tx, before, after progression.State) error {
			return frame.Audit(c, tx, audit.Entry{Action: "progression.adjust", TargetType: "player", TargetID: a.PublicID, AccountID: &a.ID,
				Reason: form.Reason, Before: levelOf(before), After: map[string]any{"granted_xp": xp, "key": form.Key, "level": after.Level,
					"xp": after.XP, "prestige": after.Prestige, "total_xp": after.TotalXP}})
		}})
	switch {
	case err == nil:
	case errors.Is(err, progression.ErrKeyReused):
		form.Problem, form.Key = keyReused, frame.NewFormKey()
		return show(http.StatusConflict)
	case errors.Is(err, progression.ErrInvalid):
		form.Problem = sentence(err.Error())
		return show(http.StatusBadRequest)
	default:
		return err
	}
	to := "/players/" + a.PublicID + "#progression"
	if st.Replayed {
		return h.f.SetFlash(c, "ok", "This form was already sent: the XP was granted once, and nothing more changed now.", to)
	}
	return h.f.SetFlash(c, "ok", "Granted "+strconv.FormatInt(xp, 10)+" XP to "+a.DisplayName+": now level "+itoa(st.Level)+
		", prestige "+itoa(st.Prestige)+".", to)
}

// levelOf is the part of a player's progression an adjustment changes, for
// the audit row.
func levelOf(s progression.State) map[string]any {
	return map[string]any{"level": s.Level, "xp": s.XP, "prestige": s.Prestige, "total_xp": s.TotalXP}
}

// percent is how far into the current level a player is, 0 to 100.
func percent(s progression.State) int {
	if s.NextLevelXP <= 0 {
		return 100
	}
	return int(s.LevelXP * 100 / s.NextLevelXP)
}

// unlockedCount counts a tree's unlocked nodes.
func unlockedCount(t progression.TreeState) int {
	n := 0
	for _, node := range t.Nodes {
		if node.Unlocked {
			n++
		}
	}
	return n
}
