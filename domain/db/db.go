// Package db opens Muster's PostgreSQL pool and runs work in transactions.
// PostgreSQL is the source of truth; every domain package reaches it through
// the *sqlx.DB opened here and the transaction helper below.
package db

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// Pool holds the connection pool settings.
type Pool struct {
	MaxOpen     int
	MaxIdle     int
	MaxLifetime time.Duration
	MaxIdleTime time.Duration
}

// Open connects to PostgreSQL and checks the connection within ctx.
// The error never carries the password of rawURL.
func Open(ctx context.Context, rawURL string, pool Pool) (*sqlx.DB, error) {
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("database url %s is invalid: want postgres://user:password@host:port/database", Redact(rawURL))
	}
	conn, err := sqlx.Open("postgres", rawURL)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", Redact(rawURL), err)
	}
	if pool.MaxOpen > 0 {
		conn.SetMaxOpenConns(pool.MaxOpen)
	}
	if pool.MaxIdle > 0 {
		conn.SetMaxIdleConns(pool.MaxIdle)
	}
	conn.SetConnMaxLifetime(pool.MaxLifetime)
	conn.SetConnMaxIdleTime(pool.MaxIdleTime)
	if err := conn.PingContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("database %s is not reachable: %w", Redact(rawURL), err)
	}
	return conn, nil
}

// Redact returns rawURL with any password replaced by "xxxxx".
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}

// Errors that PostgreSQL error codes map to, once, for every domain package.
var (
	ErrConflict = errors.New("conflicts with an existing row")
	ErrNotFound = errors.New("not found")
)

// IsUniqueViolation reports whether err is PostgreSQL's unique_violation.
func IsUniqueViolation(err error) bool { return code(err) == pqerror.UniqueViolation }

// IsForeignKeyViolation reports whether err is PostgreSQL's foreign_key_violation.
func IsForeignKeyViolation(err error) bool { return code(err) == pqerror.ForeignKeyViolation }

// IsConstraint reports whether err is a violation of the named constraint.
func IsConstraint(err error, name string) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Constraint == name
}

// IsRetryable reports whether the transaction may succeed when run again:
// serialization_failure or deadlock_detected.
func IsRetryable(err error) bool { return isRetryable(err) }

func isRetryable(err error) bool {
	c := code(err)
	return c == pqerror.TRSerializationFailure || c == pqerror.TRDeadlockDetected
}

func code(err error) pqerror.Code {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code
	}
	return ""
}
