package db_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3/lock"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestMigrateUpIsIdempotentAndConcurrent(t *testing.T) {
	conn := testenv.DB(t) // already migrated once
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := db.NewMigrator(conn)
			if err == nil {
				var applied []db.Applied
				applied, err = m.Up(ctx)
				if err == nil && len(applied) != 0 {
					t.Errorf("second Up applied %v, want nothing", applied)
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Up: %v", err)
		}
	}
	m, _ := db.NewMigrator(conn)
	if err := m.Check(ctx); err != nil {
		t.Fatalf("Check after Up: %v", err)
	}
	st, err := m.Status(ctx)
	if err != nil || len(st) == 0 {
		t.Fatalf("Status = %v, %v", st, err)
	}
	for _, s := range st {
		if !s.Applied {
			t.Errorf("migration %d not applied", s.Version)
		}
	}
}

func TestCheckDetectsBehindAndAhead(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	m, err := db.NewMigrator(conn)
	if err != nil {
		t.Fatal(err)
	}
	current, latest, err := m.Versions(ctx)
	if err != nil || current != latest {
		t.Fatalf("Versions = %d, %d, %v", current, latest, err)
	}

	// A row for a version this binary does not know: the schema is ahead.
	if _, err := conn.Exec(`INSERT INTO muster_schema_version (version_id, is_applied) VALUES ($1, true)`, latest+1); err != nil {
		t.Fatal(err)
	}
	if err := m.Check(ctx); !errors.Is(err, db.ErrSchemaMismatch) {
		t.Fatalf("Check with schema ahead = %v, want ErrSchemaMismatch", err)
	}
	if _, err := conn.Exec(`DELETE FROM muster_schema_version WHERE version_id = $1`, latest+1); err != nil {
		t.Fatal(err)
	}

	// An empty database is behind.
	empty := testenv.EmptyDB(t)
	me, err := db.NewMigrator(empty)
	if err != nil {
		t.Fatal(err)
	}
	if err := me.Check(ctx); !errors.Is(err, db.ErrSchemaMismatch) {
		t.Fatalf("Check on empty database = %v, want ErrSchemaMismatch", err)
	}
}

func TestOpenBadURLNamesTheProblemWithoutPassword(t *testing.T) {
	ctx := context.Background()
	_, err := db.Open(ctx, "postgres://muster:hunter2@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", db.Pool{})
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	if got := err.Error(); strings.Contains(got, "hunter2") {
		t.Fatalf("error leaks the password: %s", got)
	}
}

func TestCheckNotBehindToleratesANewerSchema(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	m, err := db.NewMigrator(conn)
	if err != nil {
		t.Fatal(err)
	}
	_, latest, err := m.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(`INSERT INTO muster_schema_version (version_id, is_applied) VALUES ($1, true)`, latest+100); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(`DELETE FROM muster_schema_version WHERE version_id = $1`, latest+100)
	if err := m.CheckNotBehind(ctx); err != nil {
		t.Fatalf("CheckNotBehind with a newer schema = %v, want nil", err)
	}
	if err := m.Check(ctx); !errors.Is(err, db.ErrSchemaMismatch) {
		t.Fatalf("Check with a newer schema = %v, want ErrSchemaMismatch", err)
	}
	empty := testenv.EmptyDB(t)
	me, _ := db.NewMigrator(empty)
	if err := me.CheckNotBehind(ctx); !errors.Is(err, db.ErrSchemaMismatch) {
		t.Fatalf("CheckNotBehind on an empty database = %v", err)
	}
}

// Readiness reads the schema version while a migration holds its lock: the
// read must not wait for the migration.
func TestVersionsDoNotWaitForARunningMigration(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	m, err := db.NewMigrator(conn)
	if err != nil {
		t.Fatal(err)
	}
	_, want, err := m.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the migration lock, as a migration in another process would.
	locker, err := conn.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	if _, err := locker.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = locker.ExecContext(ctx, `SELECT pg_advisory_unlock_all()`) }()
	quick, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	current, latest, err := m.Versions(quick)
	if err != nil || current != latest || latest != want {
		t.Fatalf("versions under a running migration = %d, %d, %v", current, latest, err)
	}
}
