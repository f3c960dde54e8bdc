package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
)

// seasonsWithPass publishes two back-to-back seasons of 30 days far in the
// future, at a time of their own (seasons may not overlap in the package's
// database): the first without a battle pass, the second with a pass of
// three 100 XP tiers paying 10 coins each on the free track and an item on
// the premium one. It returns both and the coins' currency.
func (s *site) seasonsWithPass(t *testing.T) (bare, withPass season.Season, coins string) {
	t.Helper()
	start := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 60*int(time.Now().UnixNano()%5000))
	bare = season.Season{ID: economytest.Name("s"), Name: "Bare season", StartsAt: start, EndsAt: start.AddDate(0, 0, 30)}
	withPass = season.Season{ID: economytest.Name("s"), Name: "Pass season", StartsAt: bare.EndsAt, EndsAt: bare.EndsAt.AddDate(0, 0, 30)}
	for _, sea := range []season.Season{bare, withPass} {
		s.publishDoc(t, season.Kind, sea.ID, sea)
	}
	coins = economytest.Currency(t, s.db, "soft")
	skin := economytest.Item(t, s.db, nil)
	doc := battlepass.Doc{XPPerTier: 100, PremiumPrice: &battlepass.Price{Currency: coins, Amount: 500}}
	for range 3 {
		doc.Tiers = append(doc.Tiers, battlepass.DocTier{
			Free:    reward.Reward{Currencies: []reward.Amount{{Currency: coins, Amount: 10}}},
			Premium: reward.Reward{Items: []inventory.Line{{ItemID: skin.ID, Quantity: 1}}}})
	}
	s.publishDoc(t, battlepass.Kind, withPass.ID, doc)
	return bare, withPass, coins
}

var seasonField = regexp.MustCompile(`id="tiers-form"[\s\S]*?name="season" value="([^"]*)"`)

// Support grants battle pass tiers on the player page once however often
// the form is sent, with its audit row; the pass's last tier and the
// season's end come back as the form's problems; a designer sees the pass
// but may not grant.
func TestSupportGrantsBattlePassTiersOnce(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	bare, sea, coins := s.seasonsWithPass(t)
	player := s.player(t, "Climber"+s.suffix)
	path := "/players/" + player.PublicID
	grantPath := path + "/progression/tiers"
	support := s.signInHTTP(t, s.email(rbac.RoleSupport))

	// A season without a pass: the tab says so and offers no form.
	s.clock.Set(bare.StartsAt.Add(time.Hour))
	status, page := s.page(t, support, path)
	if status != http.StatusOK || !strings.Contains(page, `id="battlepass-none"`) || !strings.Contains(page, "no running battle pass") ||
		strings.Contains(page, `id="tiers-form"`) {
		t.Fatalf("player page in a season without a pass: %d", status)
	}

	s.clock.Set(sea.StartsAt.Add(time.Hour))
	status, page = s.page(t, support, path)
	if status != http.StatusOK || !strings.Contains(page, "Pass season ("+sea.ID+")") || !strings.Contains(page, `id="battlepass-tier">0<`) ||
		!strings.Contains(page, `id="battlepass-premium">free<`) {
		t.Fatalf("the battle pass on the player page: %d", status)
	}
	if m := seasonField.FindStringSubmatch(page); m == nil || m[1] != sea.ID {
		t.Fatalf("the grant tiers form does not name the season %s: %v", sea.ID, m)
	}
	keys := s.formKeys(t, support, player.PublicID)
	if !strings.HasPrefix(keys["tiers"], "console:") || keys["tiers"] == keys["xp"] {
		t.Fatalf("the grant tiers form has no key of its own: %v", keys)
	}

	form := func(key, tiers, reason string) url.Values {
		return url.Values{"key": {key}, "season": {sea.ID}, "tiers": {tiers}, "reason": {reason}}
	}
	if status, page := s.send(t, support, grantPath, form(keys["tiers"], "2", " ")); status != http.StatusBadRequest ||
		!strings.Contains(page, `id="tiers-reason-error"`) {
		t.Errorf("grant without a reason: %d", status)
	}
	for _, n := range []string{"0", "-1", "201", "two"} {
		if status, page := s.send(t, support, grantPath, form(keys["tiers"], n, "x")); status != http.StatusBadRequest ||
			!strings.Contains(page, `id="tiers-count-error"`) {
			t.Errorf("grant of %q tiers: %d", n, status)
		}
	}
	if st, err := s.battlepass.State(ctx, player.ID, sea.ID); err != nil || st.Tier != 0 || st.Version != 0 {
		t.Fatalf("refused forms changed the pass: %+v, %v", st, err)
	}

	// The form sent twice grants once, and says so the second time.
	grant := form(keys["tiers"], "2", "ticket 9: pass XP lost in an outage")
	status, page = s.sendAndFollow(t, support, grantPath, grant)
	if status != http.StatusSeeOther || !strings.Contains(page, "Granted 2 battle pass tiers to Climber"+s.suffix+": now tier 2 of 3") {
		t.Fatalf("grant: %d", status)
	}
	status, page = s.sendAndFollow(t, support, grantPath, grant)
	if status != http.StatusSeeOther || !strings.Contains(page, "already sent: the tiers were granted once") {
		t.Fatalf("the same form again: %d", status)
	}
	st, err := s.battlepass.State(ctx, player.ID, sea.ID)
	if err != nil || st.Tier != 2 || st.XP != 200 || s.balanceOf(t, player.ID, coins) != 20 {
		t.Fatalf("after two sends of one form: %+v, %v, %d coins", st, err, s.balanceOf(t, player.ID, coins))
	}
	if !strings.Contains(page, `id="battlepass-tier">2<`) || strings.Count(page, `<span class="badge active">granted</span>`) != 2 {
		t.Errorf("the tab does not show tier 2 with the two free rewards granted")
	}
	if n := s.auditCount(t, `action = 'battlepass.adjust' AND account_id = $1 AND target_id = $2 AND staff_email = $3
		AND reason = 'ticket 9: pass XP lost in an outage' AND before->>'tier' = '0' AND after->>'tier' = '2'
		AND after->>'granted_tiers' = '2' AND after->>'season' = $4`, player.ID, player.PublicID, s.email(rbac.RoleSupport), sea.ID); n != 1 {
		t.Errorf("adjust audit rows: %d, want 1", n)
	}
	var staffOf string
	if err := s.db.Get(&staffOf, `SELECT staff FROM battlepass_operations WHERE account_id = $1 AND kind = 'adjust'`, player.ID); err != nil ||
		staffOf != s.email(rbac.RoleSupport) {
		t.Errorf("the operation's staff: %q, %v", staffOf, err)
	}

	// The key with another number of tiers is a different change.
	if status, page := s.send(t, support, grantPath, form(keys["tiers"], "1", "x")); status != http.StatusConflict ||
		!strings.Contains(page, `id="tiers-problem"`) {
		t.Errorf("the key with another number of tiers: %d, want 409", status)
	}

	// Asking past the last tier grants up to it; at the last tier there is
	// nothing left to grant.
	keys = s.formKeys(t, support, player.PublicID)
	status, page = s.sendAndFollow(t, support, grantPath, form(keys["tiers"], "5", "event compensation"))
	if status != http.StatusSeeOther || !strings.Contains(page, "Granted 1 battle pass tier to") || !strings.Contains(page, "5 asked") {
		t.Fatalf("grant past the last tier: %d", status)
	}
	keys = s.formKeys(t, support, player.PublicID)
	if status, page := s.send(t, support, grantPath, form(keys["tiers"], "1", "more")); status != http.StatusBadRequest ||
		!strings.Contains(page, `id="tiers-problem"`) || !strings.Contains(page, "already reached the last tier") {
		t.Errorf("grant at the last tier: %d", status)
	}

	// Once the season and its grace period are over, grants are refused.
	s.clock.Set(sea.EndsAt.Add(battlepass.DefaultGrace + time.Hour))
	keys = s.formKeys(t, support, player.PublicID)
	if status, page := s.send(t, support, grantPath, form(keys["tiers"], "1", "late")); status != http.StatusBadRequest ||
		!strings.Contains(page, `id="tiers-problem"`) || !strings.Contains(page, "The season is over") {
		t.Errorf("grant after the season: %d", status)
	}
	if n := s.auditCount(t, `action = 'battlepass.adjust' AND account_id = $1`, player.ID); n != 2 {
		t.Errorf("adjust audit rows: %d, want 2 (one per grant that changed the pass)", n)
	}
	if st, err := s.battlepass.State(ctx, player.ID, sea.ID); err != nil || st.Tier != 3 || s.balanceOf(t, player.ID, coins) != 30 {
		t.Errorf("at the end: %+v, %v", st, err)
	}

	// A designer sees the pass but not the form, and may not grant.
	designer := s.signInHTTP(t, s.email(rbac.RoleDesigner))
	if status, page := s.page(t, designer, path); status != http.StatusOK || !strings.Contains(page, `id="battlepass"`) ||
		strings.Contains(page, `id="tiers-form"`) {
		t.Errorf("designer's player page: %d", status)
	}
	if status, _ := s.send(t, designer, grantPath, form("console:aaaaaaaaaaaaaaaaaaaaaaaa", "1", "x")); status != http.StatusForbidden {
		t.Errorf("designer grants tiers: %d, want 403", status)
	}
}
