package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/musterhq/muster/domain/fleet"
)

// cmdFleet shows the dedicated-server fleet and drains a process:
// `muster fleet list`, `muster fleet drain ID`, `muster fleet resume ID`.
func cmdFleet(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const want = "want `muster fleet list`, `muster fleet drain ID` or `muster fleet resume ID`"
	if len(args) == 0 {
		return errors.New(want)
	}
	verb, rest := args[0], args[1:]
	var id int64
	if verb == "drain" || verb == "resume" {
		if len(rest) == 0 {
			return errors.New(want)
		}
		n, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("instance id %q: want the id `muster fleet list` shows", rest[0])
		}
		id, rest = n, rest[1:]
	} else if verb != "list" {
		return errors.New(want)
	}
	cfg, _, err := parseConfig("fleet "+verb, rest, getenv, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	reg := fleet.NewRegistry(conn, fleet.Config{HeartbeatEvery: cfg.SessionsHeartbeat, HeartbeatTimeout: cfg.SessionsHeartbeatTimeout})
	switch verb {
	case "drain":
		in, err := reg.Drain(ctx, id, "muster fleet drain", nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "instance %d (%s, %s) is draining: %d match(es) still running\n", in.ID, in.Address(), in.Region, in.Allocated)
		return nil
	case "resume":
		in, err := reg.Resume(ctx, id, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "instance %d (%s, %s) is %s\n", in.ID, in.Address(), in.Region, in.State)
		return nil
	}
	loads, err := reg.Loads(ctx)
	if err != nil {
		return err
	}
	ins, err := reg.List(ctx, fleet.Filter{})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "REGION\tINSTANCES\tREADY\tDRAINING\tMATCHES\tSLOTS")
	for _, l := range loads {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\n", l.Region, l.Instances, l.Ready, l.Draining, l.Allocated, l.Capacity)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "ID\tFLEET\tREGION\tADDRESS\tSTATE\tMATCHES\tVERSION\tLAST HEARTBEAT")
	for _, in := range ins {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s ago\n", in.ID, in.Fleet, in.Region, in.Address(), in.State,
			in.Allocated, in.Capacity, strings.TrimSpace(in.Version), time.Since(in.HeartbeatAt).Round(time.Second))
	}
	return w.Flush()
}
