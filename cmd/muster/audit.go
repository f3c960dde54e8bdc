package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/db"
)

// cmdAudit checks the console's audit log: `muster audit verify` walks the
// hash chain and fails, naming the first bad entry, when a row was altered,
// removed from the middle or reordered.
func cmdAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var verbs []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verbs, args = args[:1], args[1:]
	}
	cfg, rest, err := parseConfig("audit", args, getenv, stderr)
	if err != nil {
		return err
	}
	verbs = append(verbs, rest...)
	if len(verbs) != 1 || verbs[0] != "verify" {
		return fmt.Errorf("want `muster audit verify`, got %q", strings.Join(verbs, " "))
	}
	if err := require(&cfg, "database-url"); err != nil {
		return err
	}
	conn, err := db.Open(ctx, cfg.DatabaseURL, db.Pool{MaxOpen: 2})
	if err != nil {
		return err
	}
	defer conn.Close()
	mig, err := db.NewMigrator(conn)
	if err != nil {
		return err
	}
	if err := mig.Check(ctx); err != nil {
		return err
	}
	n, err := audit.Verify(ctx, conn)
	if err != nil {
		return fmt.Errorf("%w (%d intact before it)", err, n)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries\n", n)
	return nil
}
