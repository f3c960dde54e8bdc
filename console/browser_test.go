package console_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/musterhq/muster/domain/rbac"
)

// browser starts headless Chromium (Debian's chromium, which `make test`
// installs) with a fresh profile and returns a context to drive it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("MUSTER_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("chromium not found at %s (make test installs it; or set MUSTER_CHROMIUM): %v", path, err)
	}
	dir, err := os.MkdirTemp("", "muster-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(dir),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc() // waits for Chromium to exit
		_ = os.RemoveAll(dir)
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// signIn signs the browser in as the staff member of role.
func (s *site) signIn(t *testing.T, ctx context.Context, role string) {
	t.Helper()
	var who string
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/login"),
		chromedp.WaitVisible("#email", chromedp.ByID),
		chromedp.SendKeys("#email", s.email(role), chromedp.ByID),
		chromedp.SendKeys("#password", staffPassword, chromedp.ByID),
		follow("#sign-in", chromedp.ByID),
		chromedp.WaitVisible("#role", chromedp.ByID),
		chromedp.Text("#role", &who, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", role, err)
	}
	if who != role {
		t.Fatalf("signed in as %q, want %q", who, role)
	}
}

// follow clicks sel, a link or a form's submit button, and waits until the
// page it leads to has loaded, so that the next action queries the new
// document: a query that starts while the old one is torn down fails with
// "Could not find node with given id".
func follow(sel string, opts ...chromedp.QueryOption) chromedp.ActionFunc {
	return func(ctx context.Context) error {
		_, err := chromedp.RunResponse(ctx, chromedp.Click(sel, opts...))
		return err
	}
}

// post submits a form from the page with fetch, as a forged or hand-made
// request would, and returns the status. withToken adds the page's CSRF
// token.
func post(t *testing.T, ctx context.Context, path, body string, withToken bool) int {
	t.Helper()
	script := `(async () => {
		const params = new URLSearchParams(` + jsString(body) + `);
		if (` + map[bool]string{true: "true", false: "false"}[withToken] + `) {
			params.set("_csrf", document.querySelector("input[name=_csrf]").value);
		}
		const r = await fetch(` + jsString(path) + `, {method: "POST", body: params, redirect: "manual"});
		return r.type === "opaqueredirect" ? 303 : r.status;
	})()`
	var status int
	await := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
	if err := chromedp.Run(ctx, chromedp.Evaluate(script, &status, await)); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return status
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

func TestEachRoleSignsIn(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	for _, role := range rbac.Roles {
		s.signIn(t, ctx, role)
		var nav string
		if err := chromedp.Run(ctx, chromedp.Text("nav", &nav, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(nav, "Dashboard") {
			t.Errorf("%s sees nav %q", role, nav)
		}
		if canStaff := strings.Contains(nav, "Staff"); canStaff != (role == rbac.RoleOwner || role == rbac.RoleAdmin) {
			t.Errorf("%s: Staff in nav = %v", role, canStaff)
		}
		// (Another test edits the analyst's permissions in the shared database.)
		if canCatalog := strings.Contains(nav, "Catalog"); (role == rbac.RoleDesigner || role == rbac.RoleSupport) && canCatalog != (role == rbac.RoleDesigner) {
			t.Errorf("%s: Catalog in nav = %v", role, canCatalog)
		}
		if err := chromedp.Run(ctx, follow("nav button[type=submit]", chromedp.ByQuery), chromedp.WaitVisible("#sign-in", chromedp.ByID)); err != nil {
			t.Fatalf("%s signs out: %v", role, err)
		}
	}
}

func TestSupportBansWhileDesignerAndAnalystCannot(t *testing.T) {
	s := newSite(t)
	target := s.player(t, "Cheater"+s.suffix)

	// Support finds the player by display name and bans them.
	support := browser(t)
	s.signIn(t, support, rbac.RoleSupport)
	var status, flash string
	err := chromedp.Run(support,
		chromedp.Navigate(s.url+"/players"),
		chromedp.SendKeys("#q", "cheater"+s.suffix, chromedp.ByID),
		follow("#search", chromedp.ByID),
		chromedp.WaitVisible(`a[href="/players/`+target.PublicID+`"]`, chromedp.ByQuery),
		follow(`a[href="/players/`+target.PublicID+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#ban-form", chromedp.ByID),
		// Without a reason the form comes back with the error beside the field.
		follow("#ban", chromedp.ByID),
		chromedp.WaitVisible("#reason-error", chromedp.ByID),
		chromedp.SetValue("#duration", "168h", chromedp.ByID),
		chromedp.SendKeys("#reason", "aimbot confirmed by replay review", chromedp.ByID),
		follow("#ban", chromedp.ByID),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text(".flash.ok", &flash, chromedp.ByQuery),
		chromedp.Text("#player-status", &status, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("support bans: %v", err)
	}
	if status != "banned" || !strings.Contains(flash, "is banned") {
		t.Fatalf("after ban: status %q, flash %q", status, flash)
	}

	// A form post without the CSRF token is refused, even for support.
	other := s.player(t, "Other"+s.suffix)
	if got := post(t, support, "/players/"+other.PublicID+"/ban", "duration=24h&reason=test", false); got != 403 {
		t.Fatalf("ban without CSRF token: %d, want 403", got)
	}

	// Designer and analyst can look but not ban, even with a valid token.
	for _, role := range []string{rbac.RoleDesigner, rbac.RoleAnalyst} {
		ctx := browser(t)
		s.signIn(t, ctx, role)
		var html string
		if err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/players/"+other.PublicID), chromedp.WaitVisible("#player-id", chromedp.ByID),
			chromedp.OuterHTML("main", &html, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(html, "ban-form") {
			t.Errorf("%s is shown the ban form", role)
		}
		if got := post(t, ctx, "/players/"+other.PublicID+"/ban", "duration=24h&reason=test", true); got != 403 {
			t.Errorf("%s bans: %d, want 403", role, got)
		}
	}
	a, err := s.accounts.ByID(context.Background(), other.ID)
	if err != nil || a.Status != "active" {
		t.Fatalf("the other player changed: %+v %v", a, err)
	}

	// Support lifts the ban and ends the player's sessions.
	err = chromedp.Run(support,
		chromedp.Navigate(s.url+"/players/"+target.PublicID),
		chromedp.WaitVisible("#unban", chromedp.ByID),
		chromedp.SendKeys("#unban-reason", "appeal accepted", chromedp.ByID),
		follow("#unban", chromedp.ByID),
		chromedp.WaitVisible("#ban-form", chromedp.ByID), // shown again once the player is not banned
		chromedp.Text("#player-status", &status, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("support unbans: %v", err)
	}
	if status != "active" {
		t.Fatalf("after unban: status %q", status)
	}
	if got := post(t, support, "/players/"+target.PublicID+"/sessions/revoke", "", true); got != 303 {
		t.Fatalf("support ends sessions: %d", got)
	}

	// Each action is in the audit log, with who, why and what changed.
	var row string
	err = chromedp.Run(support,
		chromedp.Navigate(s.url+"/audit?player="+target.PublicID),
		chromedp.WaitVisible("#audit", chromedp.ByID),
		chromedp.Text("#audit tbody", &row, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"player.ban", "player.unban", "player.sessions.revoke", s.email(rbac.RoleSupport),
		"aimbot confirmed by replay review", "appeal accepted", `"banned"`} {
		if !strings.Contains(row, want) {
			t.Errorf("audit row lacks %q: %s", want, row)
		}
	}
}

func TestOwnerManagesStaffAndEveryChangeIsAudited(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	s.signIn(t, ctx, rbac.RoleOwner)
	newEmail := "newhire-" + s.suffix + "@studio.test"
	var created string
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/staff"),
		chromedp.WaitVisible("#create-staff", chromedp.ByID),
		chromedp.SendKeys("#create-staff #email", newEmail, chromedp.ByQuery),
		chromedp.SendKeys("#create-staff #display_name", "New Hire", chromedp.ByQuery),
		chromedp.SetValue("#create-staff #role", rbac.RoleAnalyst, chromedp.ByQuery),
		chromedp.Submit("#create-staff", chromedp.ByID),
		chromedp.WaitVisible("#new-password", chromedp.ByID),
		chromedp.Text("#new-password", &created, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("create staff: %v", err)
	}
	if !strings.Contains(created, newEmail) {
		t.Fatalf("create confirmation: %q", created)
	}
	// Analyst loses audit:view; the owner cannot be stripped of everything.
	if got := post(t, ctx, "/roles/analyst", "perm=dashboard:view&perm=players:view&reason=least privilege", true); got != 303 {
		t.Fatalf("set analyst permissions: %d", got)
	}
	if got := post(t, ctx, "/roles/owner", "perm=dashboard:view&reason=oops", true); got != 303 {
		t.Fatalf("set owner permissions: %d", got)
	}
	var flash string
	if err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/roles"), chromedp.Navigate(s.url+"/audit?action=role."),
		chromedp.WaitVisible("#audit", chromedp.ByID), chromedp.Text("#audit tbody", &flash, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(flash, "role.permissions") || !strings.Contains(flash, "least privilege") {
		t.Fatalf("audit lacks the role change: %s", flash)
	}
	var staffAudit string
	if err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/audit?action=staff.create"),
		chromedp.WaitVisible("#audit", chromedp.ByID), chromedp.Text("#audit tbody", &staffAudit, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(staffAudit, newEmail) {
		t.Fatalf("audit lacks the new staff member: %s", staffAudit)
	}
}

func TestDesignerDefinesAnItemThatSupportGrants(t *testing.T) {
	s := newSite(t)
	target := s.player(t, "Collector"+s.suffix)
	id := "charm.browser" + s.suffix

	// The designer creates the item from the catalog's list.
	designer := browser(t)
	s.signIn(t, designer, rbac.RoleDesigner)
	var flash string
	err := chromedp.Run(designer,
		chromedp.Navigate(s.url+"/catalog"),
		chromedp.WaitVisible("#new-item", chromedp.ByID),
		follow("#new-item", chromedp.ByID),
		chromedp.WaitVisible("#item-form", chromedp.ByID),
		chromedp.SendKeys("#id", id, chromedp.ByID),
		chromedp.SendKeys("#name", "Browser Charm", chromedp.ByID),
		chromedp.SetValue("#kind", "charm", chromedp.ByID),
		chromedp.SetValue("#rarity", "rare", chromedp.ByID),
		chromedp.SetValue("#max_stack", "5", chromedp.ByID),
		follow("#save", chromedp.ByID),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text(".flash.ok", &flash, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("designer creates an item: %v", err)
	}
	if !strings.Contains(flash, "Saved Browser Charm") {
		t.Fatalf("after saving: %q", flash)
	}

	// Support grants two from the player page; without a reason the form
	// comes back with the error beside the field.
	support := browser(t)
	s.signIn(t, support, rbac.RoleSupport)
	var listed, quantity string
	err = chromedp.Run(support,
		chromedp.Navigate(s.url+"/players/"+target.PublicID),
		chromedp.WaitVisible("#grant-form", chromedp.ByID),
		chromedp.SendKeys("#grant-item", id, chromedp.ByID),
		chromedp.SetValue("#grant-quantity", "2", chromedp.ByID),
		follow("#grant", chromedp.ByID),
		chromedp.WaitVisible("#grant-reason-error", chromedp.ByID),
		chromedp.SendKeys("#grant-reason", "event reward missing", chromedp.ByID),
		follow("#grant", chromedp.ByID),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text("#inventory-items tbody", &listed, chromedp.ByQuery),
		chromedp.Text("#inventory-items tbody td.num", &quantity, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("support grants the item: %v", err)
	}
	if !strings.Contains(listed, id) || !strings.Contains(listed, "Browser Charm") || quantity != "2" {
		t.Fatalf("inventory after the grant: %q (quantity %q)", listed, quantity)
	}
}
