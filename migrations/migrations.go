// Package migrations holds Muster's versioned PostgreSQL schema as SQL files
// embedded in the binary. Files are named NNNNN_what.sql and use goose's
// "-- +goose Up" / "-- +goose Down" annotations. Never edit a file that has
// been released; add a new one.
package migrations

import "embed"

// FS is the set of migration files, in version order by name.
//
//go:embed *.sql
var FS embed.FS
