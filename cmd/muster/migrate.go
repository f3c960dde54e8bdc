package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/musterhq/muster/domain/db"
)

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// The verb may come before or after the flags.
	var verbs []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verbs, args = args[:1], args[1:]
	}
	cfg, rest, err := parseConfig("migrate", args, getenv, stderr)
	if err != nil {
		return err
	}
	verbs = append(verbs, rest...)
	if len(verbs) != 1 || (verbs[0] != "up" && verbs[0] != "status") {
		return fmt.Errorf("want `muster migrate up` or `muster migrate status`, got %q", strings.Join(verbs, " "))
	}
	if err := require(&cfg, "database-url"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	conn, err := db.Open(ctx, cfg.DatabaseURL, db.Pool{MaxOpen: 2})
	if err != nil {
		return err
	}
	defer conn.Close()
	mig, err := db.NewMigrator(conn)
	if err != nil {
		return err
	}
	if verbs[0] == "up" {
		applied, err := mig.Up(ctx)
		if err != nil {
			return err
		}
		for _, a := range applied {
			fmt.Fprintf(stdout, "applied %05d %s\n", a.Version, a.Name)
		}
		current, _, err := mig.Versions(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema is at version %d (%d applied now)\n", current, len(applied))
		return nil
	}
	status, err := mig.Status(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED")
	for _, s := range status {
		at := "pending"
		if s.Applied {
			at = s.At
		}
		fmt.Fprintf(tw, "%05d\t%s\t%s\n", s.Version, s.Name, at)
	}
	tw.Flush()
	if err := mig.Check(ctx); err != nil {
		fmt.Fprintln(stdout, err)
	}
	return nil
}
