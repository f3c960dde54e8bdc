package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/test/testenv"
)

func TestPruneDeletesOnlyWhatEnded(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	var acct int64
	name := "prune" + time.Now().Format("150405.000000")
	if err := conn.Get(&acct, `INSERT INTO accounts (public_id, display_name, display_name_key) VALUES ($1, $1, $1) RETURNING id`, "p_"+name); err != nil {
		t.Fatal(err)
	}
	insert := func(id string, expires string, revoked *string) {
		t.Helper()
		q := `INSERT INTO auth_sessions (id, account_id, method, expires_at, revoked_at) VALUES ($1, $2, 'email', now() + $3::interval, now() + $4::interval)`
		rev := "1000 years"
		if revoked != nil {
			rev = *revoked
		}
		if _, err := conn.Exec(q, id, acct, expires, rev); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(`UPDATE auth_sessions SET revoked_at = NULL WHERE id = $1 AND revoked_at > now()`, id); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(`INSERT INTO auth_refresh_tokens (token_hash, session_id, expires_at) VALUES (gen_random_uuid()::text::bytea, $1, now() + $2::interval)`, id, expires); err != nil {
			t.Fatal(err)
		}
	}
	longAgo := "-30 days"
	insert("00000000-0000-4000-8000-000000000001", "10 days", nil)      // live
	insert("00000000-0000-4000-8000-000000000002", "-30 days", nil)     // expired long ago
	insert("00000000-0000-4000-8000-000000000003", "10 days", &longAgo) // revoked long ago
	yesterday := "-1 day"
	insert("00000000-0000-4000-8000-000000000004", "10 days", &yesterday) // revoked recently
	if _, err := session.Prune(ctx, conn, 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	var left []string
	if err := conn.Select(&left, `SELECT id::text FROM auth_sessions WHERE account_id = $1 ORDER BY id`, acct); err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0] != "00000000-0000-4000-8000-000000000001" || left[1] != "00000000-0000-4000-8000-000000000004" {
		t.Fatalf("sessions left: %v", left)
	}
	var tokens int
	if err := conn.Get(&tokens, `SELECT count(*) FROM auth_refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id WHERE s.account_id = $1`, acct); err != nil || tokens != 2 {
		t.Fatalf("tokens left: %d %v", tokens, err)
	}
}
