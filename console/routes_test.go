package console_test

import (
	"net/http"
	"strings"
	"testing"
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

func TestSignedOutVisitorsAreSentToLogin(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/", "/players", "/audit", "/staff", "/roles", "/account"} {
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
