package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/web/steam/steamtest"
)

func TestLoginDoesNotTellWhichEmailsExist(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	email, _ := n.register(t)
	wrong := n.post(t, "/v1/auth/login", `{"email":"`+email+`","password":"not the password at all"}`)
	unknown := n.post(t, "/v1/auth/login", `{"email":"nobody-`+email+`","password":"not the password at all"}`)
	expect(t, wrong, http.StatusUnauthorized, "invalid_credentials")
	expect(t, unknown, http.StatusUnauthorized, "invalid_credentials")
	if wrong.raw != unknown.raw {
		t.Fatalf("answers differ:\n%s\n%s", wrong.raw, unknown.raw)
	}
	// Password reset answers the same for both too.
	a := n.post(t, "/v1/auth/password-reset", `{"email":"`+email+`"}`)
	b := n.post(t, "/v1/auth/password-reset", `{"email":"nobody-`+email+`"}`)
	expect(t, a, http.StatusAccepted, "")
	if a.raw != b.raw || a.status != b.status {
		t.Fatalf("reset answers differ: %s / %s", a.raw, b.raw)
	}
}

func TestLoginTimingDoesNotTellWhichEmailsExist(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	email, _ := n.register(t)
	once := func(addr string) time.Duration {
		start := time.Now()
		n.post(t, "/v1/auth/login", `{"email":"`+addr+`","password":"not the password at all"}`)
		return time.Since(start)
	}
	// The best of 9 each, taken in turns, so that a burst of load on the
	// machine slows both alike.
	known, unknown := time.Hour, time.Hour
	for range 9 {
		known = min(known, once(email))
		unknown = min(unknown, once("nobody-"+email))
	}
	// Both paths do one bcrypt comparison; allow generous noise.
	if unknown < known/3 || known < unknown/3 {
		t.Fatalf("unknown email took %s, wrong password %s", unknown, known)
	}
	t.Logf("wrong password %s, unknown email %s", known, unknown)
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	cl := newCluster(t)
	cfg := defaultConfig()
	cfg.LoginPerIP = auth.Rule{N: 3, Per: time.Minute}
	n := cl.node(t, cfg, session.Config{})
	email, _ := n.register(t)
	for i := range 3 {
		r := n.do(t, call{method: http.MethodPost, path: "/v1/auth/login", ip: "198.51.100.7",
			body: `{"email":"` + email + `","password":"wrong password ` + strconv.Itoa(i) + `"}`})
		expect(t, r, http.StatusUnauthorized, "invalid_credentials")
	}
	r := n.do(t, call{method: http.MethodPost, path: "/v1/auth/login", ip: "198.51.100.7",
		body: `{"email":"` + email + `","password":"` + goodPassword + `"}`})
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	// Another address is not limited.
	expect(t, n.do(t, call{method: http.MethodPost, path: "/v1/auth/login", ip: "198.51.100.8",
		body: `{"email":"` + email + `","password":"` + goodPassword + `"}`}), http.StatusOK, "")
}

func TestMalformedBodiesAnswer400(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	tests := []struct {
		path, body, code string
	}{
		{"/v1/auth/login", `{"email":`, "invalid_json"},
		{"/v1/auth/login", `{"email":"a@b.co","password":"x","remember":true}`, "unknown_field"},
		{"/v1/auth/login", `{"email":"a@b.co"}`, "bad_request"},
		{"/v1/auth/login", `["a@b.co"]`, "invalid_json"},
		{"/v1/auth/register", `{"email":"a@b.co","password":"x","display_name":7}`, "invalid_json"},
		{"/v1/auth/register", `{"email":"not-an-email","password":"` + goodPassword + `","display_name":"valid_name"}`, "invalid_email"},
		{"/v1/auth/register", `{"email":"x@example.com","password":"password1","display_name":"valid_name"}`, "weak_password"},
		{"/v1/auth/register", `{"email":"x@example.com","password":"short","display_name":"valid_name"}`, "weak_password"},
		{"/v1/auth/register", `{"email":"x@example.com","password":"` + goodPassword + `","display_name":"no spaces allowed"}`, "invalid_display_name"},
		{"/v1/auth/steam", `{}`, "bad_request"},
		{"/v1/auth/refresh", `{"refresh_token":""}`, "bad_request"},
		{"/v1/auth/register", `{"email":"nul\u0000@example.com","password":"` + goodPassword + `","display_name":"valid_name"}`, "invalid_email"},
		{"/v1/auth/password-reset/confirm", `{"token":"x"}`, "bad_request"},
	}
	for _, tt := range tests {
		r := n.post(t, tt.path, tt.body)
		if r.status != http.StatusBadRequest || r.code() != tt.code {
			t.Errorf("POST %s %s: %d %s, want 400 %s", tt.path, tt.body, r.status, r.raw, tt.code)
		}
	}
	// A NUL in the email or a broken user agent is a bad login, not a crash.
	expect(t, n.post(t, "/v1/auth/login", `{"email":"nul\u0000@example.com","password":"whatever it is"}`), http.StatusUnauthorized, "invalid_credentials")
	r := n.do(t, call{method: http.MethodPost, path: "/v1/auth/login", body: "email=a"})
	r2 := n.do(t, call{method: http.MethodPost, path: "/v1/auth/refresh", body: `{"refresh_token":"mrt_forged"}`})
	expect(t, r2, http.StatusUnauthorized, "invalid_refresh_token")
	if r.status != http.StatusBadRequest {
		t.Errorf("form body: %d %s", r.status, r.raw)
	}
}

func TestPasswordResetFlow(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	email, reg := n.register(t)
	expect(t, n.post(t, "/v1/auth/password-reset", `{"email":"`+email+`"}`), http.StatusAccepted, "")
	token := cl.mail.token(t, email)

	expect(t, n.post(t, "/v1/auth/password-reset/confirm", `{"token":"`+token+`","new_password":"password"}`), http.StatusBadRequest, "weak_password")
	expect(t, n.post(t, "/v1/auth/password-reset/confirm", `{"token":"`+token+`","new_password":"reset to something new"}`), http.StatusNoContent, "")
	expect(t, n.post(t, "/v1/auth/password-reset/confirm", `{"token":"`+token+`","new_password":"and once more again"}`), http.StatusBadRequest, "invalid_reset_token")
	eventually(t, 2*time.Second, func() bool { return n.get(t, "/v1/me", reg.str("tokens", "access_token")).code() == "session_revoked" })
	expect(t, n.post(t, "/v1/auth/login", `{"email":"`+email+`","password":"reset to something new"}`), http.StatusOK, "")
}

func TestIdentitiesAndDisplayName(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	cl.steam.AddTicket("cc01", steamtest.Player{SteamID: "76561197960200001"})
	cl.steam.AddTicket("cc02", steamtest.Player{SteamID: "76561197960200002"})
	email, reg := n.register(t)
	access := reg.str("tokens", "access_token")

	expect(t, n.do(t, call{method: http.MethodDelete, path: "/v1/me/identities/email", token: access}), http.StatusConflict, "last_identity")
	linked := n.do(t, call{method: http.MethodPost, path: "/v1/me/identities/steam", token: access, body: `{"ticket":"cc01"}`})
	expect(t, linked, http.StatusOK, "")
	if !strings.Contains(linked.raw, `"provider":"steam"`) {
		t.Fatalf("link: %s", linked.raw)
	}
	// The linked Steam account logs into the same player.
	steamLogin := n.post(t, "/v1/auth/steam", `{"ticket":"cc01"}`)
	expect(t, steamLogin, http.StatusOK, "")
	if steamLogin.str("player", "id") != reg.str("player", "id") {
		t.Fatal("steam login reached another account")
	}
	expect(t, n.do(t, call{method: http.MethodPost, path: "/v1/me/identities/steam", token: access, body: `{"ticket":"cc02"}`}), http.StatusConflict, "already_linked")
	other := n.post(t, "/v1/auth/steam", `{"ticket":"cc02"}`)
	expect(t, other, http.StatusCreated, "")
	expect(t, n.do(t, call{method: http.MethodPost, path: "/v1/me/identities/steam", token: other.str("tokens", "access_token"), body: `{"ticket":"cc01"}`}), http.StatusConflict, "steam_taken")
	expect(t, n.do(t, call{method: http.MethodPost, path: "/v1/me/identities/email", token: other.str("tokens", "access_token"),
		body: `{"email":"` + email + `","password":"` + goodPassword + `"}`}), http.StatusConflict, "email_taken")

	expect(t, n.do(t, call{method: http.MethodDelete, path: "/v1/me/identities/email", token: access}), http.StatusOK, "")
	expect(t, n.do(t, call{method: http.MethodDelete, path: "/v1/me/identities/steam", token: access}), http.StatusConflict, "last_identity")
	expect(t, n.do(t, call{method: http.MethodDelete, path: "/v1/me/identities/discord", token: access}), http.StatusNotFound, "not_found")

	name := unique("Renamed")
	renamed := n.do(t, call{method: http.MethodPut, path: "/v1/me/display-name", token: access, body: `{"display_name":"` + name + `"}`})
	expect(t, renamed, http.StatusOK, "")
	expect(t, n.do(t, call{method: http.MethodPut, path: "/v1/me/display-name", token: access, body: `{"display_name":"` + name + `x"}`}), http.StatusConflict, "display_name_cooldown")
	expect(t, n.do(t, call{method: http.MethodPut, path: "/v1/me/display-name", token: other.str("tokens", "access_token"), body: `{"display_name":"` + strings.ToUpper(name) + `"}`}), http.StatusConflict, "display_name_taken")
}

func TestBanAndDeleteEndEverySession(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	email, reg := n.register(t)
	me := n.get(t, "/v1/me", reg.str("tokens", "access_token"))
	a, err := account.NewStore(cl.db).ByPublicID(context.Background(), me.str("id"))
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	if err := n.svc.Ban(context.Background(), a.ID, &until, "cheating", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, func() bool { return n.get(t, "/v1/me", reg.str("tokens", "access_token")).code() == "session_revoked" })
	banned := n.post(t, "/v1/auth/login", `{"email":"`+email+`","password":"`+goodPassword+`"}`)
	expect(t, banned, http.StatusForbidden, "account_banned")
	if !strings.Contains(banned.raw, "cheating") {
		t.Fatalf("ban reason not shown: %s", banned.raw)
	}

	_, reg2 := n.register(t)
	expect(t, n.do(t, call{method: http.MethodDelete, path: "/v1/me", token: reg2.str("tokens", "access_token")}), http.StatusNoContent, "")
	eventually(t, 2*time.Second, func() bool { return n.get(t, "/v1/me", reg2.str("tokens", "access_token")).code() == "session_revoked" })
	expect(t, n.post(t, "/v1/auth/refresh", `{"refresh_token":"`+reg2.str("tokens", "refresh_token")+`"}`), http.StatusUnauthorized, "invalid_refresh_token")
}

func TestCredentialStuffingSlowsStrangersNotThePlayer(t *testing.T) {
	cl := newCluster(t)
	cfg := defaultConfig() // 5 failures from 3 IPs trip the stuffing rule
	cfg.LoginPerAccount = auth.Rule{N: 3, Per: time.Minute}
	n := cl.node(t, cfg, session.Config{})
	email, _ := n.register(t)
	home := "203.0.113.10"
	expect(t, n.do(t, call{method: http.MethodPost, path: "/v1/auth/login", ip: home,
		body: `{"email":"` + email + `","password":"` + goodPassword + `"}`}), http.StatusOK, "")
	for i := range 6 {
		ip := "192.0.2." + strconv.Itoa(10+i)
		n.do(t, call{method: http.MethodPost, path: "/v1/auth/login", ip: ip, body: `{"email":"` + email + `","password":"guess number ` + strconv.Itoa(i) + `"}`})
	}
	// A stranger gets one try per slowdown period, then waits.
	n.do(t, call{method: http.MethodPost, path: "/v1/auth/login", ip: "192.0.2.99", body: `{"email":"` + email + `","password":"another guess"}`})
	expect(t, n.do(t, call{method: http.MethodPost, path: "/v1/auth/login", ip: "192.0.2.98",
		body: `{"email":"` + email + `","password":"` + goodPassword + `"}`}), http.StatusTooManyRequests, "rate_limited")
	// The player, from an address they used before, logs in at once.
	expect(t, n.do(t, call{method: http.MethodPost, path: "/v1/auth/login", ip: home,
		body: `{"email":"` + email + `","password":"` + goodPassword + `"}`}), http.StatusOK, "")
}

func TestLoginHistoryFlagsNewAndBusyAddresses(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{}) // 3 accounts from one IP raise ip_many_accounts
	busy := "198.51.100.200"
	var last reply
	for range 3 {
		email, _ := n.register(t)
		last = n.do(t, call{method: http.MethodPost, path: "/v1/auth/login", ip: busy, body: `{"email":"` + email + `","password":"` + goodPassword + `"}`})
		expect(t, last, http.StatusOK, "")
	}
	logins := n.get(t, "/v1/me/logins", last.str("tokens", "access_token"))
	expect(t, logins, http.StatusOK, "")
	if !strings.Contains(logins.raw, `"ip_many_accounts"`) || !strings.Contains(logins.raw, `"new_ip"`) {
		t.Fatalf("login history lacks the flags: %s", logins.raw)
	}
	var events int
	if err := cl.db.Get(&events, `SELECT count(*) FROM outbox_events WHERE topic = $1 AND payload->>'ip' = $2`, account.TopicLoginFlagged, busy); err != nil {
		t.Fatal(err)
	}
	if events == 0 {
		t.Fatal("no auth.login_flagged outbox event for the busy address")
	}
}

// A ban whose session revocation never ran (a crash between the two) still
// stops the player's sessions: refresh checks the account's standing.
func TestBannedAccountCannotRefreshEvenIfRevocationWasMissed(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	_, reg := n.register(t)
	me := n.get(t, "/v1/me", reg.str("tokens", "access_token"))
	store := account.NewStore(cl.db)
	a, err := store.ByPublicID(context.Background(), me.str("id"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Ban(context.Background(), a.ID, nil, "fraud", nil); err != nil { // no revocation
		t.Fatal(err)
	}
	expect(t, n.post(t, "/v1/auth/refresh", `{"refresh_token":"`+reg.str("tokens", "refresh_token")+`"}`), http.StatusUnauthorized, "invalid_refresh_token")
}

func TestPasswordResetWithoutMailerIsNotOffered(t *testing.T) {
	cl := newCluster(t)
	cl.mail = nil
	n := cl.node(t, defaultConfig(), session.Config{})
	expect(t, n.post(t, "/v1/auth/password-reset", `{"email":"someone@example.com"}`), http.StatusNotImplemented, "reset_not_configured")
}
