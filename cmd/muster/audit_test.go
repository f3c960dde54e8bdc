package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/test/testenv"
)

// setReasonBypassingTrigger rewrites an audit row as a superuser could, with
// the append-only trigger disabled for the transaction.
func setReasonBypassingTrigger(t *testing.T, conn *sqlx.DB, id int64, reason string) {
	t.Helper()
	err := db.InTx(context.Background(), conn, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.Exec(`SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE audit_log SET reason = $1 WHERE id = $2`, reason, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuditVerifyReportsIntactAndBrokenChains(t *testing.T) {
	conn := testenv.DB(t)
	dbURL := testenv.DBURL(t)
	ctx := context.Background()

	// Other tests of this package may have written entries: start from them.
	var recs []audit.Record
	for _, e := range []audit.Entry{
		{StaffEmail: "ops@studio.test", Role: "admin", Action: "wallet.credit", Reason: "outage compensation", After: map[string]int{"gold": 100}},
		{StaffEmail: "ops@studio.test", Role: "admin", Action: "player.ban", Reason: "aimbot"},
		{StaffEmail: "ops@studio.test", Role: "admin", Action: "player.note"},
	} {
		err := db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
			r, err := audit.Write(ctx, tx, e)
			recs = append(recs, r)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var total int
	if err := conn.Get(&total, `SELECT count(*) FROM audit_log`); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{
		{"audit", "verify", "--database-url=" + dbURL},
		{"audit", "--database-url=" + dbURL, "verify"},
	} {
		var out, errOut bytes.Buffer
		if code := run(ctx, registerModules(), args, envOf(nil), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut.String())
		}
		if want := fmt.Sprintf("audit log intact: %d entries\n", total); out.String() != want {
			t.Fatalf("%v: stdout %q, want %q", args, out.String(), want)
		}
	}

	bad := recs[1]
	setReasonBypassingTrigger(t, conn, bad.ID, "no reason")
	t.Cleanup(func() { setReasonBypassingTrigger(t, conn, bad.ID, bad.Reason) })

	var out, errOut bytes.Buffer
	code := run(ctx, registerModules(), []string{"audit", "verify"}, envOf(map[string]string{"MUSTER_DATABASE_URL": dbURL}), &out, &errOut)
	if code == 0 {
		t.Fatalf("tampered log: exit 0, stdout %q", out.String())
	}
	want := fmt.Sprintf("audit log broken at entry %d: hash does not match its content", bad.ID)
	if !strings.Contains(errOut.String(), want) || strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
		t.Fatalf("stderr %q, want one line containing %q", errOut.String(), want)
	}
	if out.Len() != 0 {
		t.Fatalf("tampered log: stdout %q", out.String())
	}
}

func TestAuditUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"audit"}, "want `muster audit verify`"},
		{[]string{"audit", "repair", "--database-url=postgres://x@127.0.0.1:1/x"}, "want `muster audit verify`, got \"repair\""},
		{[]string{"audit", "verify"}, "database-url is required"},
	}
	for _, tt := range tests {
		var errOut bytes.Buffer
		if code := run(context.Background(), registerModules(), tt.args, envOf(nil), &bytes.Buffer{}, &errOut); code == 0 || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want non-zero and %q", tt.args, code, errOut.String(), tt.want)
		}
	}
}
