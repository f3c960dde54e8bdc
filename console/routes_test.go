package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/rbac"
)

// Every console route carries a rule; a route without one would be denied,
// so this test fails rather than let one ship.
func TestEveryRouteHasARule(t *testing.T) {
	s := newSite(t)
	n := 0
	for _, r := range s.app.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == "USE" || strings.HasPrefix(r.Path, "/static") {
			continue
		}
		n++
		if s.frame.Rule(r.Method, r.Path) == "" {
			t.Errorf("route %s %s has no permission rule", r.Method, r.Path)
		}
	}
	if n < 10 {
		t.Fatalf("only %d routes found", n)
	}
	for _, rule := range s.frame.Rules() {
		t.Log(rule)
	}
}

// The metagame screens each need their own permission, and a role without
// it is refused even with a valid form token.
func TestMetagameRoutesNeedTheirPermission(t *testing.T) {
	s := newSite(t)
	routes := []struct {
		method, path, rule string
		deniedTo           string // a role without the permission (one no other test re-permissions)
	}{
		{"GET", "/liveops", rbac.PermProgressView, ""},
		{"GET", "/liveops/new", rbac.PermProgressEdit, rbac.RoleSupport},
		{"POST", "/liveops/new", rbac.PermProgressEdit, rbac.RoleSupport},
		{"GET", "/liveops/:kind", rbac.PermProgressView, ""},
		{"GET", "/liveops/:kind/:id", rbac.PermProgressView, ""},
		{"POST", "/liveops/:kind/:id/draft", rbac.PermProgressEdit, rbac.RoleSupport},
		{"POST", "/liveops/:kind/:id/publish", rbac.PermProgressEdit, rbac.RoleSupport},
		{"POST", "/liveops/:kind/:id/discard", rbac.PermProgressEdit, rbac.RoleSupport},
		{"GET", "/liveops/:kind/:id/versions/:version", rbac.PermProgressView, ""},
		{"GET", "/matches", rbac.PermMatchesView, rbac.RoleDesigner},
		{"GET", "/matches/:id", rbac.PermMatchesView, rbac.RoleDesigner},
		{"POST", "/matches/:id/release", rbac.PermMatchesReview, rbac.RoleSupport},
		{"POST", "/matches/:id/discard", rbac.PermMatchesReview, rbac.RoleSupport},
		{"GET", "/matchmaking", rbac.PermMatchmakingView, rbac.RoleSupport},
		{"GET", "/servers", rbac.PermServersManage, rbac.RoleSupport},
		{"POST", "/servers", rbac.PermServersManage, rbac.RoleDesigner},
		{"POST", "/servers/:id/revoke", rbac.PermServersManage, rbac.RoleSupport},
		{"GET", "/fleet", rbac.PermServersManage, rbac.RoleSupport},
		{"GET", "/fleet/:id/drain", rbac.PermServersManage, rbac.RoleSupport},
		{"POST", "/fleet/:id/drain", rbac.PermServersManage, rbac.RoleSupport},
		{"POST", "/fleet/:id/resume", rbac.PermServersManage, rbac.RoleSupport},
		{"POST", "/players/:id/progression/xp", rbac.PermProgressAdjust, rbac.RoleDesigner},
		{"POST", "/players/:id/progression/tiers", rbac.PermProgressAdjust, rbac.RoleDesigner},
	}
	clients := map[string]*http.Client{}
	for _, r := range routes {
		if got := s.frame.Rule(r.method, r.path); got != r.rule {
			t.Errorf("%s %s: rule %q, want %q", r.method, r.path, got, r.rule)
		}
		if r.deniedTo == "" {
			continue
		}
		c, ok := clients[r.deniedTo]
		if !ok {
			c = s.signInHTTP(t, s.email(r.deniedTo))
			clients[r.deniedTo] = c
		}
		path := strings.NewReplacer(":kind", "mode", ":id", "x1", ":version", "1").Replace(r.path)
		var status int
		if r.method == "GET" {
			status, _ = s.page(t, c, path)
		} else {
			status, _ = s.send(t, c, path, url.Values{"reason": {"not allowed"}})
		}
		if status != http.StatusForbidden {
			t.Errorf("%s %s as %s: %d, want 403", r.method, path, r.deniedTo, status)
		}
	}
}

func TestSignedOutVisitorsAreSentToLogin(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/", "/players", "/catalog", "/catalog/currencies", "/audit", "/staff", "/roles", "/account",
		"/liveops", "/liveops/xp_curve/default", "/matches", "/matchmaking", "/servers", "/fleet", "/fleet/1/drain"} {
		resp, err := httpClient.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s signed out: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, err := httpClient.Post(s.url+"/players/p_x/ban", "application/x-www-form-urlencoded", strings.NewReader("reason=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST ban signed out: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP missing: %q", csp)
	}
}

// signInHTTP signs a cookie-jar client in as email, the way a browser does.
func (s *site) signInHTTP(t testing.TB, email string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: httpClient.CheckRedirect}
	token := s.csrfFrom(t, c, "/login")
	resp, err := c.PostForm(s.url+"/login", url.Values{"email": {email}, "password": {staffPassword}, "_csrf": {token}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", email, resp.StatusCode)
	}
	return c
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrfFrom loads a page and returns the CSRF token of its forms.
func (s *site) csrfFrom(t testing.TB, c *http.Client, path string) string {
	t.Helper()
	resp, err := c.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := csrfInput.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on %s (%d)", path, resp.StatusCode)
	}
	return string(m[1])
}

func (s *site) postForm(t *testing.T, c *http.Client, path string, form url.Values) int {
	t.Helper()
	form.Set("_csrf", s.csrfFrom(t, c, "/account"))
	resp, err := c.PostForm(s.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// staff:manage alone must not be a way to become owner.
func TestOnlyOwnersMakeOrUnmakeOwners(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	owner := s.signInHTTP(t, s.email(rbac.RoleOwner))
	if got := s.postForm(t, owner, "/roles/admin", url.Values{"perm": {rbac.PermStaffView, rbac.PermStaffManage, rbac.PermDashboardView}, "reason": {"delegate hiring"}}); got != http.StatusSeeOther {
		t.Fatalf("grant staff:manage: %d", got)
	}
	admin := s.signInHTTP(t, s.email(rbac.RoleAdmin))
	if got := s.postForm(t, admin, "/staff", url.Values{"email": {"climber-" + s.suffix + "@studio.test"}, "display_name": {"Climber"}, "role": {rbac.RoleOwner}}); got != http.StatusForbidden {
		t.Errorf("admin creates an owner: %d, want 403", got)
	}
	ownerAcct, err := s.staff.ByEmail(ctx, s.email(rbac.RoleOwner))
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(ownerAcct.ID, 10)
	if got := s.postForm(t, admin, "/staff/"+id+"/role", url.Values{"role": {rbac.RoleAnalyst}}); got != http.StatusForbidden {
		t.Errorf("admin demotes the owner: %d, want 403", got)
	}
	if got := s.postForm(t, admin, "/staff/"+id+"/status", url.Values{"status": {"disabled"}}); got != http.StatusForbidden {
		t.Errorf("admin disables the owner: %d, want 403", got)
	}
	if got := s.postForm(t, admin, "/staff", url.Values{"email": {"hire-" + s.suffix + "@studio.test"}, "display_name": {"Hire"}, "role": {rbac.RoleSupport}}); got != http.StatusCreated {
		t.Errorf("admin adds support staff: %d, want 201", got)
	}
	after, err := s.staff.ByEmail(ctx, s.email(rbac.RoleOwner))
	if err != nil || after.Role != rbac.RoleOwner || after.Status != "active" {
		t.Fatalf("owner changed: %+v %v", after, err)
	}
}

func TestStaffChangesTheirPassword(t *testing.T) {
	s := newSite(t)
	c := s.signInHTTP(t, s.email(rbac.RoleAnalyst))
	if got := s.postForm(t, c, "/account/password", url.Values{"current_password": {"wrong"}, "new_password": {"a brand new passphrase"}}); got != http.StatusBadRequest {
		t.Fatalf("wrong current password: %d", got)
	}
	if got := s.postForm(t, c, "/account/password", url.Values{"current_password": {staffPassword}, "new_password": {"a brand new passphrase"}}); got != http.StatusSeeOther {
		t.Fatalf("change password: %d", got)
	}
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM audit_log WHERE action = 'staff.password' AND staff_email = $1`, s.email(rbac.RoleAnalyst)); err != nil || n != 1 {
		t.Fatalf("audit rows for the change: %d %v", n, err)
	}
}
