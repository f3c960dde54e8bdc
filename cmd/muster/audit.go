package main

import (
	"context"
	"fmt"
	"io"

	"github.com/musterhq/muster/domain/audit"
)

// cmdAudit checks the console's audit log: `muster audit verify` walks the
// hash chain and fails, naming the first bad entry, when a row was altered,
// removed from the middle or reordered.
func cmdAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	_, cfg, err := parseVerb("audit", args, getenv, stderr, "verify")
	if err != nil {
		return err
	}
	conn, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	n, err := audit.Verify(ctx, conn)
	if err != nil {
		return fmt.Errorf("%w (%d intact before it)", err, n)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries\n", n)
	return nil
}
