package login

import "testing"

func TestSafeNextKeepsRedirectsOnTheConsole(t *testing.T) {
	for next, want := range map[string]string{
		"/players?q=ana":         "/players?q=ana",
		"/":                      "/",
		"":                       "/",
		"https://evil.example/":  "/",
		"//evil.example/":        "/",
		"/\\evil.example":        "/",
		"/\t/evil.example/phish": "/",
		"javascript:alert(1)":    "/",
		"/\r\nSet-Cookie: x=1":   "/",
		"players":                "/",
		"/ /evil.example":        "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
