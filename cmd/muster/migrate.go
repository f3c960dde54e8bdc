package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/musterhq/muster/domain/db"
)

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	verb, cfg, err := parseVerb("migrate", args, getenv, stderr, "up", "status")
	if err != nil {
		return err
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
	if verb == "up" {
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
