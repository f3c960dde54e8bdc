package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/rbac"
)

// Staff see the fleet by region and drain a process with a reason (audited
// in the same transaction), then put it back; its heartbeat answers drain
// meanwhile. A role without the servers permission sees nothing.
func TestFleetIsShownAndDrained(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	sv, _, err := s.servers.Create(ctx, economytest.Name("srv"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	region := economytest.Name("r")
	in, err := s.fleet.Register(ctx, sv, fleet.Registration{Fleet: "main", Region: region, Address: region + ".example:7777", Capacity: 3, Version: "1.4.2"})
	if err != nil {
		t.Fatal(err)
	}
	owner := s.signInHTTP(t, s.email(rbac.RoleOwner))
	status, page := s.page(t, owner, "/fleet")
	if status != http.StatusOK || !strings.Contains(page, `id="region-`+region+`"`) || !strings.Contains(page, `id="instance-`+itoa(int(in.ID))+`"`) ||
		!strings.Contains(page, "1.4.2") {
		t.Fatalf("fleet page: %d", status)
	}

	drain := "/fleet/" + itoa(int(in.ID)) + "/drain"
	if status, page := s.send(t, owner, drain, url.Values{"reason": {""}}); status != http.StatusBadRequest || !strings.Contains(page, `id="action-reason-error"`) {
		t.Errorf("drain without a reason: %d", status)
	}
	if status, _ := s.send(t, owner, drain, url.Values{"reason": {"host maintenance at 14:00"}}); status != http.StatusSeeOther {
		t.Fatalf("drain: %d", status)
	}
	beat, err := s.fleet.Heartbeat(ctx, sv, in.ID)
	if err != nil || !beat.Drain || beat.Instance.DrainedBy != s.email(rbac.RoleOwner) {
		t.Fatalf("heartbeat of the drained process = %+v, %v", beat, err)
	}
	if n := s.auditCount(t, `action = 'fleet.drain' AND target_id = $1 AND reason = 'host maintenance at 14:00'`, itoa(int(in.ID))); n != 1 {
		t.Errorf("drain audit rows: %d", n)
	}
	// Draining again changes nothing and audits nothing.
	if status, _ := s.send(t, owner, drain, url.Values{"reason": {"again"}}); status != http.StatusSeeOther {
		t.Errorf("drain again: %d", status)
	}
	if n := s.auditCount(t, `action = 'fleet.drain' AND target_id = $1`, itoa(int(in.ID))); n != 1 {
		t.Errorf("drain audit rows after a second drain: %d, want 1", n)
	}
	if _, page := s.page(t, owner, "/fleet?region="+region); !strings.Contains(page, "/resume") {
		t.Error("a draining process offers no resume")
	}
	if status, _ := s.send(t, owner, "/fleet/"+itoa(int(in.ID))+"/resume", url.Values{"reason": {"maintenance done"}}); status != http.StatusSeeOther {
		t.Fatalf("resume: %d", status)
	}
	if got, _ := s.fleet.Get(ctx, in.ID); got.State != fleet.StateReady {
		t.Fatalf("after resume: %+v", got)
	}
	if status, _ := s.send(t, owner, "/fleet/999999999/drain", url.Values{"reason": {"no such"}}); status != http.StatusNotFound {
		t.Errorf("drain an unknown process: %d", status)
	}

	designer := s.signInHTTP(t, s.email(rbac.RoleDesigner))
	if status, _ := s.page(t, designer, "/fleet"); status != http.StatusForbidden {
		t.Errorf("designer sees the fleet: %d", status)
	}
	if status, _ := s.send(t, designer, drain, url.Values{"reason": {"sneaky"}}); status != http.StatusForbidden {
		t.Errorf("designer drains: %d", status)
	}
}
