package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq/pqerror"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/musterhq/muster/migrations"
)

// versionTable records which migrations have been applied.
const versionTable = "muster_schema_version"

// ErrSchemaMismatch means the database schema is not the one this binary was
// built for.
var ErrSchemaMismatch = errors.New("database schema does not match this binary")

// Migrator applies the embedded migrations. Several processes may run Up at
// once: a PostgreSQL advisory lock lets one apply while the others wait.
type Migrator struct {
	provider *goose.Provider
	conn     *sqlx.DB
}

// NewMigrator prepares the embedded migrations for conn.
func NewMigrator(conn *sqlx.DB) (*Migrator, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, conn.DB, migrations.FS,
		goose.WithSessionLocker(locker),
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{provider: p, conn: conn}, nil
}

// Applied is one migration applied by Up.
type Applied struct {
	Version int64
	Name    string
}

// Up applies every pending migration; with none pending it does nothing.
func (m *Migrator) Up(ctx context.Context) ([]Applied, error) {
	results, err := m.provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	out := make([]Applied, 0, len(results))
	for _, r := range results {
		out = append(out, Applied{Version: r.Source.Version, Name: r.Source.Path})
	}
	return out, nil
}

// Migration is the state of one embedded migration.
type Migration struct {
	Version int64
	Name    string
	Applied bool
	At      string
}

// Status lists every embedded migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]Migration, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]Migration, 0, len(st))
	for _, s := range st {
		mg := Migration{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied}
		if mg.Applied {
			mg.At = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		out = append(out, mg)
	}
	return out, nil
}

// Versions returns the database's schema version and the newest version
// embedded in this binary.
func (m *Migrator) Versions(ctx context.Context) (current, latest int64, err error) {
	// Read without the migration lock: readiness checks read the version
	// while a migration runs, and must not wait for it.
	err = m.conn.GetContext(ctx, &current, `SELECT coalesce(max(version_id), 0) FROM `+versionTable)
	if code(err) == pqerror.UndefinedTable {
		err = nil // nothing migrated yet
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	for _, s := range m.provider.ListSources() {
		latest = max(latest, s.Version)
	}
	return current, latest, nil
}

// Check returns ErrSchemaMismatch, with what to do, unless the database is at
// exactly the binary's schema version.
func (m *Migrator) Check(ctx context.Context) error {
	current, latest, err := m.Versions(ctx)
	if err != nil {
		return err
	}
	switch {
	case current < latest:
		return fmt.Errorf("%w: database is at version %d, binary needs %d; run `muster migrate up`", ErrSchemaMismatch, current, latest)
	case current > latest:
		return fmt.Errorf("%w: database is at version %d, newer than this binary's %d; deploy a newer muster", ErrSchemaMismatch, current, latest)
	}
	return nil
}

// CheckNotBehind returns ErrSchemaMismatch only when the database lacks
// migrations this binary needs. A running process stays ready when a newer
// release has migrated ahead of it: migrations only expand the schema in a
// way the previous release still works with (see docs/operations.md), so a
// rolling update keeps the old pods serving until they are replaced.
func (m *Migrator) CheckNotBehind(ctx context.Context) error {
	current, latest, err := m.Versions(ctx)
	if err != nil {
		return err
	}
	if current < latest {
		return fmt.Errorf("%w: database is at version %d, binary needs %d; run `muster migrate up`", ErrSchemaMismatch, current, latest)
	}
	return nil
}
