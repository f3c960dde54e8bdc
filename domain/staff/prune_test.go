package staff

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/rbac"
)

func TestPruneDeletesEndedStaffSessions(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	st := create(t, s, rbac.RoleAnalyst)
	live, ended := login(t, s, st, ""), login(t, s, st, "")
	if err := s.Logout(ctx, ended.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE staff_sessions SET revoked_at = now() - interval '30 days' WHERE token_hash = $1`, hashToken(ended.Token)); err != nil {
		t.Fatal(err)
	}
	if _, err := Prune(ctx, s.db, 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM staff_sessions WHERE staff_id = $1`, st.ID); err != nil || n != 1 {
		t.Fatalf("sessions left: %d %v", n, err)
	}
	if _, _, err := s.Authenticate(ctx, live.Token); err != nil {
		t.Fatalf("live session pruned: %v", err)
	}
	if _, _, err := s.Authenticate(ctx, ended.Token); !errors.Is(err, ErrSessionInvalid) {
		t.Fatalf("ended session: %v", err)
	}
}
