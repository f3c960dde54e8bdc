package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func write(t *testing.T, conn *sqlx.DB, e audit.Entry) audit.Record {
	t.Helper()
	var r audit.Record
	err := db.InTx(context.Background(), conn, nil, func(tx *sqlx.Tx) error {
		var err error
		r, err = audit.Write(context.Background(), tx, e)
		return err
	})
	if err != nil {
		t.Fatalf("write %s: %v", e.Action, err)
	}
	return r
}

func verifyIntact(t *testing.T, conn *sqlx.DB) int {
	t.Helper()
	n, err := audit.Verify(context.Background(), conn)
	if err != nil {
		t.Fatalf("verify after %d entries: %v", n, err)
	}
	var total int
	if err := conn.Get(&total, `SELECT count(*) FROM audit_log`); err != nil {
		t.Fatal(err)
	}
	if n != total {
		t.Fatalf("verify checked %d entries, table holds %d", n, total)
	}
	return n
}

// head is the newest stored row's id and hash (zero hash when empty).
func head(t *testing.T, conn *sqlx.DB) (int64, []byte) {
	t.Helper()
	var h struct {
		ID   int64  `db:"id"`
		Hash []byte `db:"hash"`
	}
	err := conn.Get(&h, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`)
	if err != nil {
		return 0, make([]byte, sha256.Size)
	}
	return h.ID, h.Hash
}

func ptr(v int64) *int64 { return &v }

func sameRecord(a, b audit.Record) bool {
	if !a.At.Equal(b.At) {
		return false
	}
	a.At, b.At = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func TestAuditWriteStoresWhatItReturnsAndChains(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	_, prev := head(t, conn)

	entries := []audit.Entry{
		{StaffEmail: "ops@studio.test", Role: "admin", Action: "player.note", TargetType: "account", TargetID: "p_1", AccountID: ptr(1), After: map[string]any{"note": "watch <this> & that"}, IP: "10.0.0.1"},
		// Key order, spacing and number spelling are PostgreSQL's after storage.
		{StaffEmail: "ops@studio.test", Role: "admin", Action: "wallet.credit", TargetType: "wallet", TargetID: "w_9", AccountID: ptr(1),
			Before: json.RawMessage(`{"zeta": 1e2, "alpha": [1.50, "x"], "big": 123456789012345678901234567890}`),
			After:  struct{ Balance int64 }{Balance: 250}, Reason: "compensation for outage"},
		{Action: "system.cleanup"}, // no staff, no account, no JSON
	}
	for _, e := range entries {
		r := write(t, conn, e)
		if !bytes.Equal(r.PrevHash, prev) {
			t.Fatalf("%s: prev_hash %x, want the previous head %x", e.Action, r.PrevHash, prev)
		}
		if r.At.Location() != time.UTC || r.At.Nanosecond()%1000 != 0 {
			t.Fatalf("at %v is not UTC microseconds", r.At)
		}
		prev = r.Hash

		got, _, err := audit.List(ctx, conn, audit.Filter{From: r.At, To: r.At.Add(time.Microsecond), Action: e.Action})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(got, func(g audit.Record) bool { return g.ID == r.ID })
		if i < 0 {
			t.Fatalf("%s: entry %d not listed", e.Action, r.ID)
		}
		if !sameRecord(got[i], r) {
			t.Fatalf("stored row differs from the returned record:\nstored   %+v\nreturned %+v", got[i], r)
		}
	}

	var nulls struct {
		Before bool `db:"before_null"`
		After  bool `db:"after_null"`
	}
	if err := conn.Get(&nulls, `SELECT before IS NULL AS before_null, after IS NULL AS after_null FROM audit_log WHERE hash = $1`, prev); err != nil {
		t.Fatal(err)
	}
	if !nulls.Before || !nulls.After {
		t.Fatalf("nil before/after stored as %+v, want SQL NULL", nulls)
	}
	verifyIntact(t, conn)
}

func TestAuditRolledBackWriteLeavesNoRowAndChainIntact(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	first := write(t, conn, audit.Entry{Action: "config.change", TargetID: "before-rollback"})

	errAbort := errors.New("the change failed")
	var rolledBack audit.Record
	err := db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
		var err error
		if rolledBack, err = audit.Write(ctx, tx, audit.Entry{Action: "config.change", TargetID: "rolled-back"}); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx = %v, want the change's error", err)
	}
	var n int
	if err := conn.Get(&n, `SELECT count(*) FROM audit_log WHERE id = $1 OR target_id = 'rolled-back'`, rolledBack.ID); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("rolled-back entry left %d rows", n)
	}

	next := write(t, conn, audit.Entry{Action: "config.change", TargetID: "after-rollback"})
	if next.ID <= rolledBack.ID || rolledBack.ID <= first.ID {
		t.Fatalf("ids %d, %d (rolled back), %d: want increasing", first.ID, rolledBack.ID, next.ID)
	}
	if !bytes.Equal(next.PrevHash, first.Hash) {
		t.Fatalf("entry after the rollback chains to %x, want %x (the last committed entry)", next.PrevHash, first.Hash)
	}
	verifyIntact(t, conn)
}

func TestAuditConcurrentWritersKeepOneLinearChain(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	const writers = 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			errs <- db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
				_, err := audit.Write(ctx, tx, audit.Entry{Action: "wallet.credit", Reason: "load test", TargetID: fmt.Sprint(i), After: map[string]int{"n": i}})
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	var rows []struct {
		ID       int64  `db:"id"`
		PrevHash []byte `db:"prev_hash"`
		Hash     []byte `db:"hash"`
	}
	if err := conn.Select(&rows, `SELECT id, prev_hash, hash FROM audit_log ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	prev := make([]byte, sha256.Size)
	seen := map[string]bool{}
	for _, r := range rows {
		if !bytes.Equal(r.PrevHash, prev) {
			t.Fatalf("entry %d: prev_hash %x, want the previous entry's hash %x", r.ID, r.PrevHash, prev)
		}
		if seen[string(r.PrevHash)] {
			t.Fatalf("entry %d: two entries chain onto %x", r.ID, r.PrevHash)
		}
		seen[string(r.PrevHash)] = true
		prev = r.Hash
	}
	if n := verifyIntact(t, conn); n < writers {
		t.Fatalf("verified %d entries, want at least %d", n, writers)
	}
}

func TestAuditReasonRequiredForMoneyItemsAndBans(t *testing.T) {
	tests := []struct {
		action string
		want   bool
	}{
		{"player.ban", true},
		{"player.ban.temporary", true},
		{"player.unban", true},
		{"wallet.credit", true},
		{"wallet.debit", true},
		{"inventory.grant", true},
		{"purchase.refund", true},
		{"player.banner", false},
		{"player.note", false},
		{"purchase.view", false},
		{"walletish", false},
		{"config.change", false},
	}
	for _, tt := range tests {
		if got := audit.RequiresReason(tt.action); got != tt.want {
			t.Errorf("RequiresReason(%q) = %v, want %v", tt.action, got, tt.want)
		}
	}

	conn := testenv.DB(t)
	ctx := context.Background()
	lastID, _ := head(t, conn)
	for _, reason := range []string{"", "   "} {
		err := db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
			_, err := audit.Write(ctx, tx, audit.Entry{Action: "player.ban", TargetID: "p_2", Reason: reason})
			return err
		})
		if !errors.Is(err, audit.ErrReasonRequired) {
			t.Fatalf("ban with reason %q: %v, want ErrReasonRequired", reason, err)
		}
	}
	if id, _ := head(t, conn); id != lastID {
		t.Fatalf("refused entries were stored: head moved from %d to %d", lastID, id)
	}
	write(t, conn, audit.Entry{Action: "player.ban", TargetID: "p_2", Reason: "aimbot"})
}

func TestAuditUpdateAndDeleteAreRefused(t *testing.T) {
	conn := testenv.DB(t)
	r := write(t, conn, audit.Entry{Action: "config.change", Reason: "original"})
	for _, q := range []string{
		`UPDATE audit_log SET reason = 'rewritten' WHERE id = $1`,
		`DELETE FROM audit_log WHERE id = $1`,
	} {
		_, err := conn.Exec(q, r.ID)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: %v, want the append-only trigger's error", q, err)
		}
	}
	var reason string
	if err := conn.Get(&reason, `SELECT reason FROM audit_log WHERE id = $1`, r.ID); err != nil || reason != "original" {
		t.Fatalf("after refused changes: reason %q, err %v", reason, err)
	}
}

func TestAuditListFilters(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	var staffID int64
	email := fmt.Sprintf("auditor-%d@studio.test", time.Now().UnixNano())
	if err := conn.Get(&staffID, `INSERT INTO staff_accounts (email, display_name, password_hash, role)
VALUES ($1, 'Auditor', 'x', 'support') RETURNING id`, email); err != nil {
		t.Fatal(err)
	}
	account := time.Now().UnixNano() // no foreign key: a number no other test uses

	specs := []audit.Entry{
		{StaffID: &staffID, StaffEmail: email, AccountID: &account, Action: "wallet.credit", Reason: "r"},
		{StaffID: &staffID, StaffEmail: email, Action: "player.note"},
		{AccountID: &account, Action: "wallet.debit", Reason: "r"},
		{StaffID: &staffID, StaffEmail: email, AccountID: &account, Action: "inventory.grant", Reason: "r"},
		{StaffID: &staffID, StaffEmail: email, AccountID: &account, Action: "player.ban", Reason: "cheating"},
	}
	e := make([]audit.Record, len(specs))
	for i, s := range specs {
		if i > 0 {
			time.Sleep(2 * time.Millisecond) // distinct timestamps for the time filter
		}
		e[i] = write(t, conn, s)
	}

	tests := []struct {
		name  string
		f     audit.Filter
		want  []int // indexes into e, newest first
		total int
	}{
		{"staff", audit.Filter{StaffID: &staffID}, []int{4, 3, 1, 0}, 4},
		{"account", audit.Filter{AccountID: &account}, []int{4, 3, 2, 0}, 4},
		{"account and action prefix", audit.Filter{AccountID: &account, Action: "wallet."}, []int{2, 0}, 2},
		{"staff and action prefix", audit.Filter{StaffID: &staffID, Action: "player."}, []int{4, 1}, 2},
		{"exact action", audit.Filter{AccountID: &account, Action: "player.ban"}, []int{4}, 1},
		{"wildcards are literal", audit.Filter{AccountID: &account, Action: "wallet_"}, nil, 0},
		{"time window, To exclusive", audit.Filter{AccountID: &account, From: e[2].At, To: e[4].At}, []int{3, 2}, 2},
		{"from", audit.Filter{StaffID: &staffID, From: e[3].At}, []int{4, 3}, 2},
		{"page", audit.Filter{AccountID: &account, Limit: 2, Offset: 1}, []int{3, 2}, 4},
		{"page past the end", audit.Filter{AccountID: &account, Offset: 10}, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := audit.List(ctx, conn, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs, wantIDs []int64
			for _, r := range got {
				gotIDs = append(gotIDs, r.ID)
			}
			for _, i := range tt.want {
				wantIDs = append(wantIDs, e[i].ID)
			}
			if !slices.Equal(gotIDs, wantIDs) || total != tt.total {
				t.Fatalf("ids %v total %d, want %v total %d", gotIDs, total, wantIDs, tt.total)
			}
		})
	}

	all, total, err := audit.List(ctx, conn, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != min(total, audit.DefaultLimit) || total < len(e) {
		t.Fatalf("unfiltered: %d rows of %d", len(all), total)
	}
}

// freshDB is a migrated database of its own holding n entries with ids
// 1..n, for tests that break the chain.
func freshDB(t *testing.T, n int) (*sqlx.DB, []audit.Record) {
	t.Helper()
	conn := testenv.EmptyDB(t)
	m, err := db.NewMigrator(conn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := make([]audit.Record, n)
	for i := range recs {
		recs[i] = write(t, conn, audit.Entry{
			StaffEmail: "ops@studio.test", Action: "wallet.credit", Reason: fmt.Sprintf("refund %d", i),
			Before: map[string]int{"balance": i * 10}, After: map[string]int{"balance": i*10 + 5},
		})
		if recs[i].ID != int64(i+1) {
			t.Fatalf("entry %d has id %d", i+1, recs[i].ID)
		}
	}
	verifyIntact(t, conn)
	return conn, recs
}

// verifyTampered runs stmts with triggers disabled, as a superuser could,
// and then Verify, in one transaction that it rolls back: the log is intact
// again afterwards.
func verifyTampered(t *testing.T, conn *sqlx.DB, stmts ...string) (int, error) {
	t.Helper()
	tx, err := conn.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SET LOCAL session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		res, err := tx.Exec(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			t.Fatalf("%s: no row changed", s)
		}
	}
	return audit.Verify(context.Background(), tx)
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	conn, _ := freshDB(t, 5)
	const content = "hash does not match its content"
	tests := []struct {
		name   string
		stmts  []string
		wantID int64 // 0: the chain is still intact
		reason string
	}{
		{"reason changed", []string{`UPDATE audit_log SET reason = 'fat finger' WHERE id = 3`}, 3, content},
		{"after jsonb changed", []string{`UPDATE audit_log SET after = '{"balance": 1000000}' WHERE id = 3`}, 3, content},
		{"before jsonb set to NULL", []string{`UPDATE audit_log SET before = NULL WHERE id = 3`}, 3, content},
		{"time moved by a microsecond", []string{`UPDATE audit_log SET at = at + interval '1 microsecond' WHERE id = 3`}, 3, content},
		{"staff changed", []string{`UPDATE audit_log SET staff_email = 'someone@else.test' WHERE id = 4`}, 4, content},
		{"account set", []string{`UPDATE audit_log SET account_id = 7 WHERE id = 5`}, 5, content},
		{"middle row deleted", []string{`DELETE FROM audit_log WHERE id = 3`}, 4, "prev_hash is not the hash of entry 2"},
		{"first row deleted", []string{`DELETE FROM audit_log WHERE id = 1`}, 2, "first entry"},
		{"rows reordered", []string{
			`UPDATE audit_log SET id = -id WHERE id IN (2, 3)`,
			`UPDATE audit_log SET id = CASE id WHEN -2 THEN 3 ELSE 2 END WHERE id IN (-2, -3)`,
		}, 2, content},
		{"hashes swapped", []string{ // through a placeholder: hash is unique
			`CREATE TEMP TABLE swap AS SELECT id, hash FROM audit_log WHERE id IN (2, 4)`,
			`UPDATE audit_log SET hash = '\x00' WHERE id = 2`,
			`UPDATE audit_log SET hash = (SELECT hash FROM swap WHERE id = 2) WHERE id = 4`,
			`UPDATE audit_log SET hash = (SELECT hash FROM swap WHERE id = 4) WHERE id = 2`,
		}, 2, content},
		// jsonb keeps its value, not its text: equal JSON is no break.
		{"jsonb rewritten as equal JSON", []string{`UPDATE audit_log SET after = '{  "balance" :25 }' WHERE id = 3`}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := verifyTampered(t, conn, tt.stmts...)
			if tt.wantID == 0 {
				if err != nil || n != 5 {
					t.Fatalf("verify = %d, %v; want 5 intact", n, err)
				}
				return
			}
			var be *audit.BreakError
			if !errors.As(err, &be) || !errors.Is(err, audit.ErrChainBroken) {
				t.Fatalf("verify = %d, %v; want a BreakError", n, err)
			}
			if be.ID != tt.wantID || !strings.Contains(be.Reason, tt.reason) {
				t.Fatalf("break at %d (%s), want %d (%s)", be.ID, be.Reason, tt.wantID, tt.reason)
			}
			if want := fmt.Sprintf("audit log broken at entry %d: ", tt.wantID); !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error %q, want it to start %q", err, want)
			}
		})
	}
	verifyIntact(t, conn)
}

// A forger who rewrites a row and recomputes its hash still breaks the link
// from the next row.
func TestAuditVerifyFindsRehashedRowAtTheNextLink(t *testing.T) {
	conn, recs := freshDB(t, 4)
	forged := recs[1]
	forged.Reason = "nothing to see"
	forged.Hash = audit.HashRecord(forged)
	tx, err := conn.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SET LOCAL session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE audit_log SET reason = $1, hash = $2 WHERE id = $3`, forged.Reason, forged.Hash, forged.ID); err != nil {
		t.Fatal(err)
	}
	n, err := audit.Verify(context.Background(), tx)
	var be *audit.BreakError
	if !errors.As(err, &be) || be.ID != recs[2].ID || n != 2 {
		t.Fatalf("verify = %d, %v; want a break at entry %d after 2 intact entries", n, err, recs[2].ID)
	}
}

func TestAuditVerifyReadsInBatches(t *testing.T) {
	conn, _ := freshDB(t, 9)
	audit.SetVerifyBatch(t, 3) // the last batch is full: one more, empty read
	if n := verifyIntact(t, conn); n != 9 {
		t.Fatalf("verified %d, want 9", n)
	}
	for _, id := range []int{3, 4, 8} { // at a batch's end, start, and inside
		n, err := verifyTampered(t, conn, fmt.Sprintf(`UPDATE audit_log SET target_id = 'x' WHERE id = %d`, id))
		var be *audit.BreakError
		if !errors.As(err, &be) || be.ID != int64(id) || n != id-1 {
			t.Fatalf("verify = %d, %v; want a break at %d after %d", n, err, id, id-1)
		}
		n, err = verifyTampered(t, conn, fmt.Sprintf(`DELETE FROM audit_log WHERE id = %d`, id))
		if !errors.As(err, &be) || be.ID != int64(id+1) || n != id-1 {
			t.Fatalf("after deleting %d: verify = %d, %v; want a break at %d after %d", id, n, err, id+1, id-1)
		}
	}
}
