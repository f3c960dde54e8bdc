package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/rbac"
)

// An admin opens the fleet from the navigation, picks a process's Drain,
// is asked to confirm with what the region keeps, must give a reason, and
// drains it: the process is draining, its heartbeat says so, and the
// audit log has the drain with the admin and the reason.
func TestAdminDrainsAProcessInTheBrowser(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	sv, _, err := s.servers.Create(ctx, economytest.Name("srv"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	region := economytest.Name("r")
	in, err := s.fleet.Register(ctx, sv, fleet.Registration{Fleet: "main", Region: region, Address: region + "-a.example:7777", Capacity: 2, Version: "1.4.2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.fleet.Register(ctx, sv, fleet.Registration{Fleet: "main", Region: region, Address: region + "-b.example:7777", Capacity: 3, Version: "1.4.1"}); err != nil {
		t.Fatal(err)
	}
	id := itoa(int(in.ID))
	row := "#instance-" + id
	const reason = "host maintenance at 14:00"

	admin := browser(t)
	s.signIn(t, admin, rbac.RoleAdmin)
	var load, version, slots, matches, regionText, problem, flash, state string
	err = chromedp.Run(admin,
		follow(`nav a[href="/fleet"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#region-"+region, chromedp.ByID),
		chromedp.Text("#region-"+region, &load, chromedp.ByID),
		follow("#region-"+region+" a", chromedp.ByQuery),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.Text(row+" td:nth-child(5)", &version, chromedp.ByQuery),
		chromedp.Text(row+" td:nth-child(7)", &slots, chromedp.ByQuery),
		follow("#drain-"+id, chromedp.ByID),
		chromedp.WaitVisible("#confirm-drain", chromedp.ByID),
		chromedp.Text("#confirm-matches", &matches, chromedp.ByID),
		chromedp.Text("#confirm-region", &regionText, chromedp.ByID),
		// Without a reason nothing happens and the confirmation comes back.
		follow("#drain", chromedp.ByID),
		chromedp.WaitVisible("#action-reason-error", chromedp.ByID),
		chromedp.Text("#action-reason-error", &problem, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("admin opens the drain of %s: %v", id, err)
	}
	if !strings.Contains(load, "2") || !strings.Contains(load, "5") || version != "1.4.2" || slots != "0 / 2" || matches != "0 / 2" {
		t.Errorf("fleet: load %q, version %q, slots %q, confirm matches %q", load, version, slots, matches)
	}
	if !strings.Contains(regionText, "keeps 3 free slot(s)") {
		t.Errorf("confirmation about the region: %q", regionText)
	}
	if !strings.Contains(problem, "reason") {
		t.Errorf("drain without a reason: %q", problem)
	}
	if got, err := s.fleet.Get(ctx, in.ID); err != nil || got.State != fleet.StateReady {
		t.Fatalf("before confirming: %+v %v", got, err)
	}
	if n := s.auditCount(t, `action = 'fleet.drain' AND target_id = $1`, id); n != 0 {
		t.Fatalf("audit rows before confirming: %d", n)
	}

	err = chromedp.Run(admin,
		chromedp.SendKeys("#drain-reason", reason, chromedp.ByID),
		follow("#drain", chromedp.ByID),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text(".flash.ok", &flash, chromedp.ByQuery),
		chromedp.Navigate(s.url+"/fleet?region="+region),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.Text(row+" td:nth-child(6)", &state, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("admin drains %s: %v", id, err)
	}
	if !strings.Contains(flash, "Draining "+in.Address()) || !strings.Contains(state, "draining") || !strings.Contains(state, s.email(rbac.RoleAdmin)) {
		t.Errorf("after the drain: flash %q, state %q", flash, state)
	}
	beat, err := s.fleet.Heartbeat(ctx, sv, in.ID)
	if err != nil || !beat.Drain || beat.Instance.DrainedBy != s.email(rbac.RoleAdmin) {
		t.Fatalf("heartbeat of the drained process: %+v %v", beat, err)
	}
	if n := s.auditCount(t, `action = 'fleet.drain' AND target_id = $1 AND reason = $2 AND staff_email = $3`, id, reason, s.email(rbac.RoleAdmin)); n != 1 {
		t.Fatalf("audit rows of the drain: %d, want 1", n)
	}
	var audit string
	err = chromedp.Run(admin, chromedp.Navigate(s.url+"/audit?action=fleet."), chromedp.WaitVisible("main table", chromedp.ByQuery),
		chromedp.Text("main table", &audit, chromedp.ByQuery))
	if err != nil || !strings.Contains(audit, reason) || !strings.Contains(audit, "fleet.drain") {
		t.Errorf("audit log page: %q %v", audit, err)
	}
}
