package console_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/rbac"
)

// A designer opens the live-ops content, edits the XP curve's draft in the
// JSON editor, publishes it, and the published preview shows the new level
// table.
func TestDesignerPublishesTheXPCurveInTheBrowser(t *testing.T) {
	s := newSite(t)
	if _, err := s.content.Get(context.Background(), progression.KindCurve, progression.CurveID); errors.Is(err, content.ErrNotFound) {
		s.publishDoc(t, progression.KindCurve, progression.CurveID, progression.Curve{XPPerLevel: []int64{1000, 1000}})
	} else if err != nil {
		t.Fatal(err)
	}
	const curve = `{
  "xp_per_level": [500, 700, 1234],
  "prestige": {"max_rank": 3}
}`
	designer := browser(t)
	s.signIn(t, designer, rbac.RoleDesigner)
	var saved, published, levels, status, versions, editorFont string
	err := chromedp.Run(designer,
		chromedp.Navigate(s.url+"/"),
		follow(`nav a[href="/liveops"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#kinds", chromedp.ByID),
		follow("#kind-xp_curve", chromedp.ByID),
		chromedp.WaitVisible("#docs", chromedp.ByID),
		follow(`#docs a[href="/liveops/xp_curve/default"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#draft-form", chromedp.ByID),
		chromedp.Evaluate(`getComputedStyle(document.getElementById("body")).fontFamily`, &editorFont),
		chromedp.SetValue("#body", curve, chromedp.ByID),
		chromedp.SendKeys("#draft-reason", "longer levels for season 2", chromedp.ByID),
		follow("#save-draft", chromedp.ByID),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text(".flash.ok", &saved, chromedp.ByQuery),
		// The draft's preview is there to review before publishing.
		chromedp.WaitVisible(`#draft-preview .curve-levels tr[data-level="4"]`, chromedp.ByQuery),
		chromedp.SendKeys("#publish-reason", "reviewed with live-ops", chromedp.ByID),
		follow("#publish", chromedp.ByID),
		chromedp.WaitNotPresent("#publish-form", chromedp.ByID), // no draft is left to publish
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text(".flash.ok", &published, chromedp.ByQuery),
		chromedp.WaitVisible("#published-preview .curve-levels", chromedp.ByQuery),
		chromedp.Text("#published-preview .curve-levels tbody", &levels, chromedp.ByQuery),
		chromedp.Text("#doc-status", &status, chromedp.ByID),
		chromedp.Text("#versions tbody", &versions, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("designer edits and publishes the curve: %v", err)
	}
	if !strings.Contains(editorFont, "monospace") {
		t.Errorf("the JSON editor's font is %q, not monospace", editorFont)
	}
	if !strings.Contains(saved, "Saved the draft of xp_curve default") || !strings.Contains(published, "Published xp_curve default version") {
		t.Fatalf("flashes: %q, then %q", saved, published)
	}
	// Level 4 takes 1234 XP from level 3 and 2434 in all; there is no level 5.
	rows := strings.Split(strings.TrimSpace(levels), "\n")
	if len(rows) != 4 || !strings.Contains(rows[3], "4\t1234\t2434") || !strings.Contains(rows[1], "2\t500\t500") {
		t.Fatalf("published level table:\n%s", levels)
	}
	if strings.Contains(status, "draft pending") || !strings.Contains(versions, s.email(rbac.RoleDesigner)) {
		t.Errorf("after publishing: status %q, versions %q", status, versions)
	}
	c, err := progression.LoadCurve(context.Background(), s.db)
	if err != nil || c.MaxLevel() != 4 || c.Cap() != 2434 || c.Prestige.MaxRank != 3 {
		t.Fatalf("the game's curve: max level %d, cap %d, %v", c.MaxLevel(), c.Cap(), err)
	}
}
