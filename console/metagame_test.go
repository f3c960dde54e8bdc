package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/rbac"
)

// publishDoc publishes body as kind/id through the content store.
func (s *site) publishDoc(t *testing.T, kind, id string, body any) content.Doc {
	t.Helper()
	ctx := context.Background()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	expected := 0
	if d, err := s.content.Get(ctx, kind, id); err == nil {
		expected = d.DraftRevision
	}
	d, err := s.content.SaveDraft(ctx, kind, id, "", b, content.Edit{Expected: expected, Editor: "test"})
	if err != nil {
		t.Fatalf("save %s/%s: %v", kind, id, err)
	}
	if d, err = s.content.Publish(ctx, kind, id, content.Edit{Expected: d.DraftRevision, Editor: "test"}); err != nil {
		t.Fatalf("publish %s/%s: %v", kind, id, err)
	}
	return d
}

// testMode is a small mode whose kills bound is easy to exceed.
func testMode(name string) match.Mode {
	return match.Mode{Name: name, Teams: 2, TeamSize: 2, MaxDurationSeconds: 600,
		Bounds: map[string]int64{match.StatKills: 50, match.StatSecondsPlayed: 600},
		XP:     match.XPRules{PerKill: 10, Win: 100, Max: 1000}}
}

var (
	revisionField = regexp.MustCompile(`id="draft-form"[\s\S]*?name="revision" value="(\d+)"`)
	pageRevision  = func(t *testing.T, body string) string {
		t.Helper()
		m := revisionField.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no draft revision on the page")
		}
		return m[1]
	}
)

// A designer creates a document, saves drafts, meets a colleague's newer
// draft and a domain check with the JSON path of the problem, publishes, and
// finds the version listed; support may look but not edit.
func TestContentDraftsArePublishedAsVersions(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	designer := s.signInHTTP(t, s.email(rbac.RoleDesigner))
	id := economytest.Name("mode")
	path := "/liveops/mode/" + id
	mode := testMode("Liveops mode")
	body, _ := json.MarshalIndent(mode, "", "  ")

	// Creation needs a reason, then makes the draft at revision 1.
	create := url.Values{"kind": {"mode"}, "id": {id}, "name": {"Test mode"}, "body": {string(body)}}
	if status, page := s.send(t, designer, "/liveops/new", create); status != http.StatusBadRequest || !strings.Contains(page, `id="draft-reason-error"`) {
		t.Fatalf("create without a reason: %d", status)
	}
	create.Set("reason", "new mode for the test")
	if status, page := s.send(t, designer, "/liveops/new", create); status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", status, page)
	}
	if status, page := s.send(t, designer, "/liveops/new", create); status != http.StatusBadRequest || !strings.Contains(page, "exists already") {
		t.Errorf("create the same id again: %d", status)
	}
	d, err := s.content.Get(ctx, "mode", id)
	if err != nil || d.DraftRevision != 1 || !d.HasDraft() || d.Version != 0 || d.Name != "Test mode" {
		t.Fatalf("created = %+v, %v", d, err)
	}
	status, page := s.page(t, designer, path)
	if status != http.StatusOK || pageRevision(t, page) != "1" || !strings.Contains(page, "never published · draft pending") {
		t.Fatalf("document page: %d", status)
	}

	// Two designers load revision 1; the first save wins.
	mode.TeamSize = 3
	b2, _ := json.MarshalIndent(mode, "", "  ")
	save := url.Values{"revision": {"1"}, "name": {"Test mode"}, "body": {string(b2)}, "reason": {"bigger teams"}}
	if status, page := s.send(t, designer, path+"/draft", save); status != http.StatusSeeOther {
		t.Fatalf("save draft: %d %s", status, page)
	}
	mode.Name = "Stalewords"
	b3, _ := json.MarshalIndent(mode, "", "  ")
	stale := url.Values{"revision": {"1"}, "name": {"Test mode"}, "body": {string(b3)}, "reason": {"rename"}}
	status, page = s.send(t, designer, path+"/draft", stale)
	if status != http.StatusConflict || !strings.Contains(page, "changed after you loaded it (revision 1)") {
		t.Fatalf("stale save: %d, want 409 with the reason", status)
	}
	if !strings.Contains(page, "Stalewords") || !strings.Contains(page, `id="theirs"`) || pageRevision(t, page) != "2" {
		t.Errorf("the stale save's page does not keep the text, show theirs and offer revision 2")
	}
	if d, _ = s.content.Get(ctx, "mode", id); d.DraftRevision != 2 || strings.Contains(string(d.Draft), "Stalewords") {
		t.Fatalf("after the stale save: %+v", d)
	}

	// The domain's checks come back beside the editor, naming the JSON path
	// and its line; so do syntax errors.
	mode.Name, mode.Bounds[match.StatKills] = "Liveops mode", 0
	b4, _ := json.MarshalIndent(mode, "", "  ")
	bad := url.Values{"revision": {"2"}, "name": {"Test mode"}, "body": {string(b4)}, "reason": {"zero kills"}}
	status, page = s.send(t, designer, path+"/draft", bad)
	if status != http.StatusBadRequest || !strings.Contains(page, `id="body-error"`) || !strings.Contains(page, "bounds.kills: Must be 1 to 1000000000.") {
		t.Fatalf("invalid draft: %d, want 400 with the field's error", status)
	}
	wantLine := 1 + strings.Count(string(b4[:strings.Index(string(b4), `"kills"`)]), "\n")
	if !strings.Contains(page, `<strong id="body-error-line">Line `+itoa(wantLine)+`:</strong>`) {
		t.Errorf("the error does not point at line %d", wantLine)
	}
	bad.Set("body", "{\n  \"name\": \"x\",\n}")
	if status, page = s.send(t, designer, path+"/draft", bad); status != http.StatusBadRequest || !strings.Contains(page, "Not valid JSON at line 3, column 1") {
		t.Errorf("JSON syntax error: %d", status)
	}

	// Publishing names the reviewed revision; a stale one is refused.
	if status, _ := s.send(t, designer, path+"/publish", url.Values{"revision": {"1"}, "reason": {"ship it"}}); status != http.StatusConflict {
		t.Errorf("publish a revision not reviewed: %d, want 409", status)
	}
	if status, page := s.send(t, designer, path+"/publish", url.Values{"revision": {"2"}}); status != http.StatusBadRequest || !strings.Contains(page, `id="publish-reason-error"`) {
		t.Errorf("publish without a reason: %d", status)
	}
	if status, page := s.send(t, designer, path+"/publish", url.Values{"revision": {"2"}, "reason": {"ship it"}}); status != http.StatusSeeOther {
		t.Fatalf("publish: %d %s", status, page)
	}
	got, err := match.LoadMode(ctx, s.db, id)
	if err != nil || got.TeamSize != 3 {
		t.Fatalf("published mode = %+v, %v", got, err)
	}
	status, page = s.page(t, designer, path)
	if status != http.StatusOK || !strings.Contains(page, "Published: version 1") || !strings.Contains(page, `href="`+path+`/versions/1"`) ||
		!strings.Contains(page, `id="published-preview"`) || strings.Contains(page, `id="publish-form"`) {
		t.Fatalf("published page: %d", status)
	}
	if status, page := s.page(t, designer, path+"/versions/1"); status != http.StatusOK || !strings.Contains(page, "3 players (6 at most)") {
		t.Errorf("version 1: %d", status)
	}
	if status, page := s.page(t, designer, path+"?restore=1"); status != http.StatusOK || !strings.Contains(page, `id="restored"`) {
		t.Errorf("restore version 1 into the editor: %d", status)
	}
	if status, _ := s.page(t, designer, path+"/versions/9"); status != http.StatusNotFound {
		t.Errorf("version 9: %d", status)
	}
	if status, _ := s.send(t, designer, path+"/publish", url.Values{"revision": {"3"}, "reason": {"again"}}); status != http.StatusConflict {
		t.Errorf("publish without a draft: %d, want 409", status)
	}

	// A new draft can be discarded, leaving version 1 in place.
	save.Set("revision", "3")
	if status, _ := s.send(t, designer, path+"/draft", save); status != http.StatusSeeOther {
		t.Fatalf("new draft: %d", status)
	}
	if status, _ := s.send(t, designer, path+"/discard", url.Values{"revision": {"4"}, "reason": {"not needed"}}); status != http.StatusSeeOther {
		t.Fatalf("discard: %d", status)
	}
	if d, _ = s.content.Get(ctx, "mode", id); d.HasDraft() || d.Version != 1 {
		t.Fatalf("after discard: %+v", d)
	}

	// Every change is audited with its staff member and reason.
	who := s.email(rbac.RoleDesigner)
	for action, want := range map[string]int{"content.draft.save": 3, "content.publish": 1, "content.draft.discard": 1} {
		if n := s.auditCount(t, `action = $1 AND target_type = 'mode' AND target_id = $2 AND staff_email = $3 AND reason <> ''`, action, id, who); n != want {
			t.Errorf("%s audit rows: %d, want %d", action, n, want)
		}
	}
	if n := s.auditCount(t, `action = 'content.publish' AND target_id = $1 AND reason = 'ship it' AND after->>'published_version' = '1'`, id); n != 1 {
		t.Errorf("the publish's audit row: %d", n)
	}

	// The lists show where each document stands.
	if status, page := s.page(t, designer, "/liveops/mode"); status != http.StatusOK || !strings.Contains(page, "published v1") {
		t.Errorf("mode list: %d", status)
	}
	if status, page := s.page(t, designer, "/liveops"); status != http.StatusOK || !strings.Contains(page, `id="kind-xp_curve"`) {
		t.Errorf("kinds: %d", status)
	}
	if status, _ := s.page(t, designer, "/liveops/poem"); status != http.StatusNotFound {
		t.Errorf("unknown kind: %d", status)
	}

	// Support may look but not edit. (Tests use roles no other test
	// re-permissions in the shared database.)
	support := s.signInHTTP(t, s.email(rbac.RoleSupport))
	if status, page := s.page(t, support, path); status != http.StatusOK || strings.Contains(page, `id="draft-form"`) {
		t.Errorf("support sees the document: %d (editor shown: %v)", status, strings.Contains(page, `id="draft-form"`))
	}
	if status, _ := s.send(t, support, path+"/draft", save); status != http.StatusForbidden {
		t.Errorf("support saves: %d, want 403", status)
	}
}

// quarantined opens a match of mode and reports a result above its kills
// bound.
func (s *site) quarantined(t *testing.T, sv match.Server, modeID string, players ...account.Account) match.Match {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, len(players))
	for i, p := range players {
		ids[i] = p.PublicID
	}
	m, err := s.matches.Open(ctx, sv, economytest.Name("m-"), modeID, ids)
	if err != nil {
		t.Fatal(err)
	}
	var res match.Result
	for i, id := range ids {
		res.Players = append(res.Players, match.PlayerResult{PlayerID: id, Team: i%2 + 1, Placement: i%2 + 1,
			Stats: map[string]int64{match.StatKills: 999, match.StatSecondsPlayed: 60}})
	}
	rc, err := s.matches.Report(ctx, sv, m.ID, res)
	if err != nil || rc.Status != match.StatusQuarantined {
		t.Fatalf("report = %+v, %v", rc, err)
	}
	return m
}

// A reviewer releases one quarantined result and discards another, each
// with a reason and an audit row; support may look but not review.
func TestQuarantinedMatchesAreReleasedOrDiscarded(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	modeID := economytest.Name("mode")
	s.publishDoc(t, match.KindMode, modeID, testMode("Review mode"))
	sv, _, err := s.servers.Create(ctx, economytest.Name("srv"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.player(t, "Ace"+s.suffix), s.player(t, "Bo"+s.suffix)
	keep, drop := s.quarantined(t, sv, modeID, a, b), s.quarantined(t, sv, modeID, a, b)

	reviewer := s.signInHTTP(t, s.email(rbac.RoleOwner))
	status, page := s.page(t, reviewer, "/matches")
	if status != http.StatusOK || !strings.Contains(page, `id="quarantined"`) || !strings.Contains(page, keep.ID) {
		t.Fatalf("match list: %d", status)
	}
	if strings.Index(page, `id="quarantined"`) > strings.Index(page, `id="recent"`) {
		t.Error("the quarantined matches are not listed first")
	}
	status, page = s.page(t, reviewer, "/matches/"+keep.ID)
	if status != http.StatusOK || !strings.Contains(page, "stats.kills = 999 is above the bound 50") || !strings.Contains(page, "2 players") ||
		!strings.Contains(page, `href="/players/`+a.PublicID+`"`) || !strings.Contains(page, `id="release-form"`) {
		t.Fatalf("match page: %d", status)
	}

	// Support sees the match but may not review it.
	support := s.signInHTTP(t, s.email(rbac.RoleSupport))
	if status, page := s.page(t, support, "/matches/"+keep.ID); status != http.StatusOK || strings.Contains(page, `id="release-form"`) {
		t.Errorf("support's match page: %d", status)
	}
	if status, _ := s.send(t, support, "/matches/"+keep.ID+"/release", url.Values{"reason": {"looks fine"}}); status != http.StatusForbidden {
		t.Errorf("support releases: %d, want 403", status)
	}

	if status, page := s.send(t, reviewer, "/matches/"+keep.ID+"/release", url.Values{"reason": {""}}); status != http.StatusBadRequest ||
		!strings.Contains(page, `id="release-reason-error"`) {
		t.Errorf("release without a reason: %d", status)
	}
	if status, page := s.send(t, reviewer, "/matches/"+keep.ID+"/release", url.Values{"reason": {"tournament finals, verified"}}); status != http.StatusSeeOther {
		t.Fatalf("release: %d %s", status, page)
	}
	if status, page := s.send(t, reviewer, "/matches/"+keep.ID+"/discard", url.Values{"reason": {"changed my mind"}}); status != http.StatusConflict ||
		!strings.Contains(page, "not waiting for review any more") {
		t.Errorf("discard a released match: %d", status)
	}
	if status, _ := s.send(t, reviewer, "/matches/"+drop.ID+"/discard", url.Values{"reason": {"speed hack"}}); status != http.StatusSeeOther {
		t.Fatalf("discard: %d", status)
	}
	for id, want := range map[string]string{keep.ID: match.StatusAccepted, drop.ID: match.StatusDiscarded} {
		m, err := s.matches.Get(ctx, id)
		if err != nil || m.Status != want || m.ReviewedBy != s.email(rbac.RoleOwner) {
			t.Errorf("match %s = %+v, %v; want %s", id, m, err, want)
		}
	}
	var events int
	if err := s.db.Get(&events, `SELECT count(*) FROM outbox_events WHERE topic = $1 AND payload->>'match_id' = ANY($2)`,
		match.TopicAccepted, "{"+keep.ID+","+drop.ID+"}"); err != nil || events != 1 {
		t.Errorf("accepted events: %d %v, want 1", events, err)
	}
	if n := s.auditCount(t, `action = 'match.release' AND target_id = $1 AND reason = 'tournament finals, verified' AND staff_email = $2
		AND before->>'status' = 'quarantined' AND after->>'status' = 'accepted'`, keep.ID, s.email(rbac.RoleOwner)); n != 1 {
		t.Errorf("release audit rows: %d", n)
	}
	if n := s.auditCount(t, `action = 'match.discard' AND target_id = $1 AND reason = 'speed hack'`, drop.ID); n != 1 {
		t.Errorf("discard audit rows: %d", n)
	}
	if n := s.auditCount(t, `action LIKE 'match.%' AND target_id = ANY($1)`, "{"+keep.ID+","+drop.ID+"}"); n != 2 {
		t.Errorf("match audit rows: %d, want 2", n)
	}
	if status, page := s.page(t, reviewer, "/matches/"+keep.ID); status != http.StatusOK || strings.Contains(page, `id="release-form"`) || !strings.Contains(page, `id="reviewed-by"`) {
		t.Errorf("reviewed match page: %d", status)
	}
}

var credentialOnPage = regexp.MustCompile(`id="credential">(msv_[A-Za-z0-9_-]+)<`)

// An owner creates a game server credential, shown once, and revokes it;
// a designer may do neither.
func TestServerCredentialsAreShownOnceAndRevoked(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	owner := s.signInHTTP(t, s.email(rbac.RoleOwner))
	name := economytest.Name("fleet-")
	if status, page := s.send(t, owner, "/servers", url.Values{"name": {name}}); status != http.StatusBadRequest || !strings.Contains(page, `id="create-reason-error"`) {
		t.Errorf("create without a reason: %d", status)
	}
	status, page := s.send(t, owner, "/servers", url.Values{"name": {name}, "reason": {"EU fleet goes live"}})
	m := credentialOnPage.FindStringSubmatch(page)
	if status != http.StatusCreated || m == nil || !strings.Contains(page, "shown this once") {
		t.Fatalf("create: %d, credential found: %v", status, m != nil)
	}
	sv, err := s.servers.Authenticate(ctx, m[1])
	if err != nil || sv.Name != name || sv.CreatedBy != s.email(rbac.RoleOwner) {
		t.Fatalf("the shown credential: %+v, %v", sv, err)
	}
	if _, list := s.page(t, owner, "/servers"); strings.Contains(list, m[1]) || strings.Contains(list, "msv_") || !strings.Contains(list, name) {
		t.Error("the server list shows a credential, or not the server")
	}
	if n := s.auditCount(t, `action = 'server.create' AND target_id = $1 AND reason = 'EU fleet goes live'`, itoa(int(sv.ID))); n != 1 {
		t.Errorf("create audit rows: %d", n)
	}
	if n := s.auditCount(t, `action LIKE 'server.%' AND (coalesce(after::text, '') LIKE '%msv_%' OR coalesce(before::text, '') LIKE '%msv_%')`); n != 0 {
		t.Errorf("%d audit rows hold a credential", n)
	}
	if status, page := s.send(t, owner, "/servers", url.Values{"name": {name}, "reason": {"again"}}); status != http.StatusBadRequest ||
		!strings.Contains(page, `id="name-error"`) || credentialOnPage.MatchString(page) {
		t.Errorf("create the same name again: %d", status)
	}

	revoke := "/servers/" + itoa(int(sv.ID)) + "/revoke"
	if status, _ := s.send(t, owner, revoke, url.Values{"reason": {""}}); status != http.StatusBadRequest {
		t.Errorf("revoke without a reason: %d", status)
	}
	if status, _ := s.send(t, owner, revoke, url.Values{"reason": {"credential leaked in a log"}}); status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", status)
	}
	if _, err := s.servers.Authenticate(ctx, m[1]); err == nil {
		t.Error("the revoked credential still works")
	}
	if status, _ := s.send(t, owner, revoke, url.Values{"reason": {"again"}}); status != http.StatusSeeOther {
		t.Errorf("revoke again: %d", status)
	}
	if n := s.auditCount(t, `action = 'server.revoke' AND target_id = $1`, itoa(int(sv.ID))); n != 1 {
		t.Errorf("revoke audit rows: %d, want 1", n)
	}
	if status, _ := s.send(t, owner, "/servers/999999999/revoke", url.Values{"reason": {"no such"}}); status != http.StatusNotFound {
		t.Errorf("revoke an unknown server: %d", status)
	}

	designer := s.signInHTTP(t, s.email(rbac.RoleDesigner))
	if status, _ := s.page(t, designer, "/servers"); status != http.StatusForbidden {
		t.Errorf("designer lists servers: %d", status)
	}
	if status, _ := s.send(t, designer, "/servers", url.Values{"name": {"x" + name}, "reason": {"sneaky"}}); status != http.StatusForbidden {
		t.Errorf("designer creates a server: %d", status)
	}
}

// Support grants a player XP once however often the form is sent, with an
// audit row; a designer sees the tab but not the form.
func TestSupportGrantsXPOnce(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	player := s.player(t, "Grinder"+s.suffix)
	path := "/players/" + player.PublicID
	support := s.signInHTTP(t, s.email(rbac.RoleSupport))
	keys := s.formKeys(t, support, player.PublicID)
	if !strings.HasPrefix(keys["xp"], "console:") {
		t.Fatalf("the grant XP form has no key: %v", keys)
	}
	if status, page := s.send(t, support, path+"/progression/xp", url.Values{"key": {keys["xp"]}, "amount": {"2500"}}); status != http.StatusBadRequest ||
		!strings.Contains(page, `id="xp-reason-error"`) {
		t.Errorf("grant without a reason: %d", status)
	}
	if status, page := s.send(t, support, path+"/progression/xp", url.Values{"key": {keys["xp"]}, "amount": {"0"}, "reason": {"x"}}); status != http.StatusBadRequest ||
		!strings.Contains(page, `id="xp-amount-error"`) {
		t.Errorf("grant of 0 XP: %d", status)
	}
	grant := url.Values{"key": {keys["xp"]}, "amount": {"2500"}, "reason": {"ticket 7: match XP lost in an outage"}}
	for i := range 2 {
		if status, _ := s.send(t, support, path+"/progression/xp", grant); status != http.StatusSeeOther {
			t.Fatalf("grant %d: %d", i+1, status)
		}
	}
	st, err := s.progression.State(ctx, player.ID)
	if err != nil || st.TotalXP != 2500 {
		t.Fatalf("after two sends of one form: %+v, %v", st, err)
	}
	grant.Set("amount", "10")
	if status, page := s.send(t, support, path+"/progression/xp", grant); status != http.StatusConflict || !strings.Contains(page, `id="xp-problem"`) {
		t.Errorf("the key with another amount: %d, want 409", status)
	}
	if n := s.auditCount(t, `action = 'progression.adjust' AND account_id = $1 AND reason = 'ticket 7: match XP lost in an outage'
		AND after->>'granted_xp' = '2500' AND staff_email = $2`, player.ID, s.email(rbac.RoleSupport)); n != 1 {
		t.Errorf("adjust audit rows: %d, want 1", n)
	}
	status, page := s.page(t, support, path)
	if status != http.StatusOK || !strings.Contains(page, `id="progression-journal"`) || !strings.Contains(page, "ticket 7") ||
		!strings.Contains(page, `id="progression-total-xp">2500<`) {
		t.Errorf("progression tab: %d", status)
	}

	designer := s.signInHTTP(t, s.email(rbac.RoleDesigner))
	if status, page := s.page(t, designer, path); status != http.StatusOK || !strings.Contains(page, `id="progression"`) || strings.Contains(page, `id="xp-form"`) {
		t.Errorf("designer's player page: %d", status)
	}
	if status, _ := s.send(t, designer, path+"/progression/xp", url.Values{"key": {"console:aaaaaaaaaaaaaaaaaaaaaaaa"}, "amount": {"1"}, "reason": {"x"}}); status != http.StatusForbidden {
		t.Errorf("designer grants XP: %d, want 403", status)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
