package players

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/reward"
)

// BattlePassView is the player's battle pass in the current season, on the
// Progression tab.
type BattlePassView struct {
	State battlepass.State
	// None says why there is no pass to show; State is empty then.
	None string
}

// TiersForm is the grant tiers form as sent, with its errors. Season is the
// season the form was rendered for, so that sending it again after the
// season turned over still names the pass it granted on.
type TiersForm struct {
	Key, Season, Tiers, Reason   string
	TiersErr, ReasonErr, Problem string
}

func (f TiersForm) failed() bool { return f.TiersErr != "" || f.ReasonErr != "" || f.Problem != "" }

const noPass = "There is no running battle pass: no season with a published pass has started."

// battlePass reads the player's pass in the current season (between
// seasons, the one that ended last).
func (h *handler) battlePass(ctx context.Context, accountID int64) (*BattlePassView, error) {
	st, err := h.eco.BattlePass.State(ctx, accountID, "")
	switch {
	case errors.Is(err, battlepass.ErrNoSeason):
		return &BattlePassView{None: noPass}, nil
	case errors.Is(err, battlepass.ErrNoPass):
		return &BattlePassView{None: "There is no running battle pass: the current season has none published."}, nil
	case err != nil:
		return nil, err
	}
	return &BattlePassView{State: st}, nil
}

// grantTiers gives a player battle pass tiers for support reasons (the
// rewards of the tiers reached are paid), with its audit row in the same
// transaction. The form's key makes it act once however often it is sent.
func (h *handler) grantTiers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	a, _, err := h.svc.Player(ctx, c.Params("id"))
	if err != nil {
		return notFound(c, err)
	}
	me, _ := frame.StaffOf(c)
	form := TiersForm{Key: c.FormValue("key"), Season: strings.TrimSpace(c.FormValue("season")),
		Tiers: strings.TrimSpace(c.FormValue("tiers")), Reason: reasonOf(c)}
	show := func(status int) error { return h.render(c, status, func(f *Forms) { f.Tiers = form }) }
	n, ok := count(form.Tiers)
	if !ok || n > battlepass.MaxTiers {
		form.TiersErr = "Enter a whole number of tiers from 1 to " + strconv.Itoa(battlepass.MaxTiers) + "."
	}
	if form.Reason == "" {
		form.ReasonErr = reasonRequired
	}
	if !frame.ValidFormKey(form.Key) || form.Season == "" {
		form.Problem = lostKey
	}
	if form.failed() {
		return show(http.StatusBadRequest)
	}

	var rc battlepass.Receipt
	err = db.InTx(ctx, h.eco.DB, nil, func(tx *sqlx.Tx) (err error) {
		rc, err = h.eco.BattlePass.AdjustTx(ctx, tx, battlepass.Adjustment{AccountID: a.ID, SeasonID: form.Season, Tiers: int(n),
			Reason: memo(form.Reason), Staff: me.Email, Key: form.Key})
		if err != nil || rc.Replayed {
			return err
		}
		after := rc.State
		return frame.Audit(c, tx, audit.Entry{Action: "battlepass.adjust", TargetType: "player", TargetID: a.PublicID, AccountID: &a.ID,
			Reason: form.Reason,
			Before: map[string]any{"season": after.Season.ID, "tier": after.Tier - rc.Tiers, "xp": after.XP - rc.XP},
			After: map[string]any{"season": after.Season.ID, "tier": after.Tier, "xp": after.XP, "requested_tiers": n,
				"granted_tiers": rc.Tiers, "premium": after.Premium, "operation_id": rc.ID, "key": form.Key}})
	})
	status := http.StatusBadRequest
	switch {
	case err == nil:
	case errors.Is(err, battlepass.ErrKeyReused):
		form.Problem, form.Key, status = keyReused, frame.NewFormKey(), http.StatusConflict
	case errors.Is(err, battlepass.ErrMaxTier):
		form.Problem = "The player has already reached the last tier of this pass: there is no tier left to grant."
	case errors.Is(err, battlepass.ErrSeasonOver):
		form.Problem = "The season is over and its grace period has passed: its pass takes no more grants."
	case errors.Is(err, battlepass.ErrSeasonNotStarted):
		form.Problem = "The season has not started yet: its pass takes grants from its start."
	case errors.Is(err, battlepass.ErrNoSeason), errors.Is(err, battlepass.ErrNoPass):
		form.Problem = noPass
	case errors.Is(err, battlepass.ErrInvalid):
		form.Problem = sentence(err.Error())
	default:
		return err
	}
	if form.failed() {
		return show(status)
	}
	to := "/players/" + a.PublicID + "#battlepass"
	if rc.Replayed {
		return h.f.SetFlash(c, "ok", "This form was already sent: the tiers were granted once, and nothing more changed now.", to)
	}
	msg := "Granted " + plural(rc.Tiers, "battle pass tier") + " to " + a.DisplayName
	if int64(rc.Tiers) < n {
		msg += " (" + strconv.FormatInt(n, 10) + " asked; the pass ends there)"
	}
	return h.f.SetFlash(c, "ok", msg+": now tier "+itoa(rc.State.Tier)+" of "+itoa(rc.State.LastTier)+" in "+seasonName(rc.State.Season)+".", to)
}

// seasonName names a season for staff: its name and id.
func seasonName(s battlepass.SeasonInfo) string {
	if s.Name == "" || s.Name == s.ID {
		return s.ID
	}
	return s.Name + " (" + s.ID + ")"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return itoa(n) + " " + noun + "s"
}

// rewardText writes a reward on one line: "2 × charm.dice, 500 credits";
// "" for none.
func rewardText(r reward.Reward) string {
	parts := make([]string, 0, len(r.Items)+len(r.Currencies))
	for _, it := range r.Items {
		parts = append(parts, itoa(it.Quantity)+" × "+it.ItemID)
	}
	for _, a := range r.Currencies {
		parts = append(parts, i64(a.Amount)+" "+a.Currency)
	}
	return strings.Join(parts, ", ")
}

// tierPercent is how far toward the next tier a player is, 0 to 100.
func tierPercent(s battlepass.State) int {
	if s.NextTierXP <= 0 {
		return 100
	}
	return int(min(s.TierXP*100/s.NextTierXP, 100))
}
