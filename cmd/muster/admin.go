package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// parseVerb reads `muster <cmd> <verb> [flags]` (the verb may also follow
// the flags) and checks the verb is one of verbs.
func parseVerb(cmd string, args []string, getenv func(string) string, stderr io.Writer, verbs ...string) (string, Config, error) {
	var got []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		got, args = args[:1], args[1:]
	}
	cfg, rest, err := parseConfig(cmd, args, getenv, stderr)
	if err != nil {
		return "", cfg, err
	}
	got = append(got, rest...)
	if len(got) != 1 || !slices.Contains(verbs, got[0]) {
		want := make([]string, len(verbs))
		for i, v := range verbs {
			want[i] = "`muster " + cmd + " " + v + "`"
		}
		return "", cfg, fmt.Errorf("want %s, got %q", strings.Join(want, " or "), strings.Join(got, " "))
	}
	return got[0], cfg, nil
}

// openCurrent opens the database of an administrative command and checks
// that its schema is the binary's; the caller closes it.
func openCurrent(ctx context.Context, cfg Config) (*sqlx.DB, error) {
	if err := require(&cfg, "database-url"); err != nil {
		return nil, err
	}
	conn, err := db.Open(ctx, cfg.DatabaseURL, db.Pool{MaxOpen: 2})
	if err != nil {
		return nil, err
	}
	mig, err := db.NewMigrator(conn)
	if err == nil {
		err = mig.Check(ctx)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
