// Package testenv gives integration tests real infrastructure: a fresh,
// migrated PostgreSQL database per test package and a private Redis keyspace
// per test.
package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// DatabaseURL is the PostgreSQL server tests use: MUSTER_TEST_DATABASE_URL,
// else the local server.
func DatabaseURL() string {
	if u := os.Getenv("MUSTER_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var pkgDB struct {
	once sync.Once
	name string
	url  string
	conn *sqlx.DB
	err  error
}

// Main runs a test package and drops its database afterwards. Call it from
// TestMain in every package that uses DB:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	stopStripeMock()
	if pkgDB.conn != nil {
		pkgDB.conn.Close()
		if err := dropDatabase(pkgDB.name); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		}
	}
	os.Exit(code)
}

// DB returns this test package's database: created fresh for the package on
// first use and migrated to the binary's schema.
func DB(t testing.TB) *sqlx.DB {
	t.Helper()
	conn, _ := database(t)
	return conn
}

// DBURL returns the URL of this test package's database, for tests that run
// muster itself against it.
func DBURL(t testing.TB) string {
	t.Helper()
	_, u := database(t)
	return u
}

func database(t testing.TB) (*sqlx.DB, string) {
	pkgDB.once.Do(func() {
		pkgDB.name, pkgDB.url, pkgDB.err = createDatabase()
		if pkgDB.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		pkgDB.conn, pkgDB.err = db.Open(ctx, pkgDB.url, db.Pool{MaxOpen: 20})
		if pkgDB.err != nil {
			return
		}
		m, err := db.NewMigrator(pkgDB.conn)
		if err == nil {
			_, err = m.Up(ctx)
		}
		pkgDB.err = err
	})
	if pkgDB.err != nil {
		t.Fatalf("testenv: database: %v", pkgDB.err)
	}
	return pkgDB.conn, pkgDB.url
}

// createDatabase makes an empty database named for this run, after dropping
// what runs that crashed more than an hour ago left behind.
func createDatabase() (name, dbURL string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := db.Open(ctx, DatabaseURL(), db.Pool{MaxOpen: 2})
	if err != nil {
		return "", "", fmt.Errorf("%w (start PostgreSQL with `make services`)", err)
	}
	defer admin.Close()

	var stale []string
	cutoff := time.Now().Add(-time.Hour).Unix()
	if err := admin.SelectContext(ctx, &stale, `SELECT datname FROM pg_database WHERE datname LIKE 'muster_test_%'`); err != nil {
		return "", "", fmt.Errorf("list test databases: %w", err)
	}
	for _, s := range stale {
		var ts int64
		if _, err := fmt.Sscanf(strings.TrimPrefix(s, "muster_test_"), "%d_", &ts); err == nil && ts < cutoff {
			_, _ = admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+quoteIdent(s)+` WITH (FORCE)`)
		}
	}

	name = fmt.Sprintf("muster_test_%d_%s", time.Now().Unix(), randomHex(4))
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+quoteIdent(name)); err != nil {
		return "", "", fmt.Errorf("create %s: %w", name, err)
	}
	u, err := url.Parse(DatabaseURL())
	if err != nil {
		return "", "", fmt.Errorf("parse test database url: %w", err)
	}
	u.Path = "/" + name
	return name, u.String(), nil
}

func dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := db.Open(ctx, DatabaseURL(), db.Pool{MaxOpen: 1})
	if err != nil {
		return err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+quoteIdent(name)+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// EmptyDB returns a database with no schema at all, dropped when the test ends.
func EmptyDB(t testing.TB) *sqlx.DB {
	t.Helper()
	name, u, err := createDatabase()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := db.Open(ctx, u, db.Pool{MaxOpen: 4})
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		conn.Close()
		if err := dropDatabase(name); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return conn
}

// EmptyDBURL returns the URL of a database with no schema at all, dropped
// when the test ends.
func EmptyDBURL(t testing.TB) string {
	t.Helper()
	name, u, err := createDatabase()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(name); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return u
}
