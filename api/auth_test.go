package api_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/web/steam/steamtest"
)

func TestRegisterLoginRefreshLogout(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	email, reg := n.register(t)
	if reg.str("player", "id") == "" || reg.str("tokens", "access_token") == "" || reg.str("tokens", "refresh_token") == "" {
		t.Fatalf("register reply: %s", reg.raw)
	}

	login := n.post(t, "/v1/auth/login", `{"email":"`+strings.ToUpper(email)+`","password":"`+goodPassword+`"}`)
	expect(t, login, http.StatusOK, "")
	access, refresh := login.str("tokens", "access_token"), login.str("tokens", "refresh_token")

	me := n.get(t, "/v1/me", access)
	expect(t, me, http.StatusOK, "")
	if me.str("id") != reg.str("player", "id") || !strings.Contains(me.raw, `"provider":"email"`) || me.body["last_login_at"] == nil {
		t.Fatalf("me: %s", me.raw)
	}

	refreshed := n.post(t, "/v1/auth/refresh", `{"refresh_token":"`+refresh+`"}`)
	expect(t, refreshed, http.StatusOK, "")
	if refreshed.str("refresh_token") == refresh || refreshed.str("session_id") != login.str("tokens", "session_id") {
		t.Fatalf("refresh did not rotate within the session: %s", refreshed.raw)
	}
	expect(t, n.get(t, "/v1/me", refreshed.str("access_token")), http.StatusOK, "")

	sessions := n.get(t, "/v1/me/sessions", refreshed.str("access_token"))
	expect(t, sessions, http.StatusOK, "")
	if strings.Count(sessions.raw, `"id"`) != 2 || !strings.Contains(sessions.raw, `"current":true`) {
		t.Fatalf("sessions: %s", sessions.raw)
	}

	expect(t, n.post(t, "/v1/auth/logout", `{"refresh_token":"`+refreshed.str("refresh_token")+`"}`), http.StatusNoContent, "")
	expect(t, n.post(t, "/v1/auth/refresh", `{"refresh_token":"`+refreshed.str("refresh_token")+`"}`), http.StatusUnauthorized, "invalid_refresh_token")
	// The logged-out session's access token stops working too.
	eventually(t, 2*time.Second, func() bool {
		return n.get(t, "/v1/me", refreshed.str("access_token")).status == http.StatusUnauthorized
	})
	// The registration's session is untouched.
	expect(t, n.get(t, "/v1/me", reg.str("tokens", "access_token")), http.StatusOK, "")
}

func TestRefreshReuseRevokesTheFamily(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	_, reg := n.register(t)
	first := reg.str("tokens", "refresh_token")
	second := n.post(t, "/v1/auth/refresh", `{"refresh_token":"`+first+`"}`)
	expect(t, second, http.StatusOK, "")

	// Someone replays the rotated token: the whole session ends.
	expect(t, n.post(t, "/v1/auth/refresh", `{"refresh_token":"`+first+`"}`), http.StatusUnauthorized, "refresh_token_reused")
	expect(t, n.post(t, "/v1/auth/refresh", `{"refresh_token":"`+second.str("refresh_token")+`"}`), http.StatusUnauthorized, "invalid_refresh_token")
	eventually(t, 2*time.Second, func() bool {
		return n.get(t, "/v1/me", second.str("access_token")).code() == "session_revoked"
	})
}

func TestPasswordChangeRevokesSessionsOnAnotherNode(t *testing.T) {
	cl := newCluster(t)
	a := cl.node(t, defaultConfig(), session.Config{})
	b := cl.node(t, defaultConfig(), session.Config{})
	email, reg := a.register(t)
	other := a.post(t, "/v1/auth/login", `{"email":"`+email+`","password":"`+goodPassword+`"}`)
	expect(t, other, http.StatusOK, "")
	oldAccess := other.str("tokens", "access_token")
	expect(t, b.get(t, "/v1/me", oldAccess), http.StatusOK, "") // node B has it cached as valid

	changed := a.do(t, call{method: http.MethodPut, path: "/v1/me/password", token: reg.str("tokens", "access_token"),
		body: `{"current_password":"` + goodPassword + `","new_password":"a much better passphrase"}`})
	expect(t, changed, http.StatusOK, "")

	start := time.Now()
	eventually(t, 2*time.Second, func() bool { return b.get(t, "/v1/me", oldAccess).code() == "session_revoked" })
	t.Logf("node B refused the old access token %s after the change", time.Since(start).Round(time.Millisecond))
	expect(t, b.post(t, "/v1/auth/refresh", `{"refresh_token":"`+other.str("tokens", "refresh_token")+`"}`), http.StatusUnauthorized, "invalid_refresh_token")
	expect(t, b.get(t, "/v1/me", changed.str("access_token")), http.StatusOK, "")
	expect(t, a.post(t, "/v1/auth/login", `{"email":"`+email+`","password":"`+goodPassword+`"}`), http.StatusUnauthorized, "invalid_credentials")
	expect(t, a.post(t, "/v1/auth/login", `{"email":"`+email+`","password":"a much better passphrase"}`), http.StatusOK, "")
}

func TestSteamLogin(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	cl.steam.AddTicket("aa01", steamtest.Player{SteamID: "76561197960287930"})
	cl.steam.AddTicket("aa02", steamtest.Player{SteamID: "76561197960287931", OwnerSteamID: "76561197960287999"})
	cl.steam.AddTicket("aa03", steamtest.Player{SteamID: "76561197960287932", PublisherBanned: true})
	cl.steam.AddTicket("aa04", steamtest.Player{SteamID: "76561197960287933", VACBanned: true})

	first := n.post(t, "/v1/auth/steam", `{"ticket":"AA01"}`)
	expect(t, first, http.StatusCreated, "")
	again := n.post(t, "/v1/auth/steam", `{"ticket":"aa01"}`)
	expect(t, again, http.StatusOK, "")
	if first.str("player", "id") != again.str("player", "id") || !strings.HasPrefix(first.str("player", "display_name"), "Player") {
		t.Fatalf("second login made another account: %s / %s", first.raw, again.raw)
	}

	shared := n.post(t, "/v1/auth/steam", `{"ticket":"aa02"}`)
	expect(t, shared, http.StatusCreated, "")
	me := n.get(t, "/v1/me", shared.str("tokens", "access_token"))
	if !strings.Contains(me.raw, `"family_sharing_owner":"76561197960287999"`) {
		t.Fatalf("family sharing owner not recorded: %s", me.raw)
	}

	expect(t, n.post(t, "/v1/auth/steam", `{"ticket":"aa03"}`), http.StatusForbidden, "steam_banned")
	expect(t, n.post(t, "/v1/auth/steam", `{"ticket":"aa04"}`), http.StatusCreated, "") // VAC bans allowed by this policy

	tests := []struct {
		name   string
		mode   steamtest.Mode
		ticket string
		status int
		code   string
	}{
		{"unknown ticket", 0, "beef", http.StatusUnauthorized, "steam_ticket_invalid"},
		{"not hex", 0, "zz", http.StatusUnauthorized, "steam_ticket_invalid"},
		{"steam error body", steamtest.SteamError, "aa01", http.StatusUnauthorized, "steam_ticket_invalid"},
		{"steam 500", steamtest.ServerError, "aa01", http.StatusServiceUnavailable, "steam_unavailable"},
		{"steam 503", steamtest.Unavailable, "aa01", http.StatusServiceUnavailable, "steam_unavailable"},
		{"steam timeout", steamtest.Slow, "aa01", http.StatusServiceUnavailable, "steam_unavailable"},
		{"publisher key refused", steamtest.WrongKey, "aa01", http.StatusServiceUnavailable, "steam_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mode != 0 {
				cl.steam.FailNext(tt.mode)
			}
			r := n.post(t, "/v1/auth/steam", `{"ticket":"`+tt.ticket+`"}`)
			expect(t, r, tt.status, tt.code)
			if strings.Contains(r.raw, "steam-key") {
				t.Fatalf("reply leaks the publisher key: %s", r.raw)
			}
		})
	}
}

func TestForgedAndStaleTokensAreRejected(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	_, reg := n.register(t)
	good := reg.str("tokens", "access_token")
	expect(t, n.get(t, "/v1/me", good), http.StatusOK, "")

	parts := strings.Split(good, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	_ = json.Unmarshal(header, &h)
	kid, _ := h["kid"].(string)
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims jwt.MapClaims
	_ = json.Unmarshal(payload, &claims)

	sign := func(method jwt.SigningMethod, key any, mutate func(jwt.MapClaims)) string {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		if mutate != nil {
			mutate(c)
		}
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	algNone := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"`+kid+`"}`)) + "." + parts[1] + "."

	tests := []struct {
		name, token, code string
	}{
		{"alg none", algNone, "invalid_token"},
		{"wrong key", sign(jwt.SigningMethodEdDSA, otherKey, nil), "invalid_token"},
		{"hmac with public jwks", sign(jwt.SigningMethodHS256, []byte(n.keys.JWKS()), nil), "invalid_token"},
		{"expired", sign(jwt.SigningMethodEdDSA, otherKey, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), "invalid_token"},
		{"garbage", "not.a.token", "invalid_token"},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"p_someoneelse"}`)) + "." + parts[2], "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.get(t, "/v1/me", tt.token)
			expect(t, r, http.StatusUnauthorized, tt.code)
			if !strings.Contains(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("no WWW-Authenticate challenge")
			}
		})
	}
	expect(t, n.get(t, "/v1/me", ""), http.StatusUnauthorized, "unauthorized")

	// Tokens signed with the node's real key but expired or for another
	// audience: a node with a short access lifetime and another audience.
	short := cl.node(t, defaultConfig(), session.Config{AccessTTL: time.Second})
	_, r := short.register(t)
	expired := r.str("tokens", "access_token")
	time.Sleep(time.Second + session.Leeway + 100*time.Millisecond)
	expect(t, short.get(t, "/v1/me", expired), http.StatusUnauthorized, "token_expired")

	otherAud := cl.node(t, defaultConfig(), session.Config{Audience: "another-game"})
	_, r = otherAud.register(t)
	expect(t, n.get(t, "/v1/me", r.str("tokens", "access_token")), http.StatusUnauthorized, "invalid_token")
}

func eventually(t *testing.T, within time.Duration, ok func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for time.Now().Before(end) {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s", within)
}
