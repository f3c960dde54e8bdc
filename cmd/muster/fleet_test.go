package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/test/testenv"
)

func TestFleetListDrainResume(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	sv, _, err := match.NewServers(conn, 0).Create(ctx, economytest.Name("srv"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	region := economytest.Name("r")
	in, err := fleet.NewRegistry(conn, fleet.Config{}).Register(ctx, sv, fleet.Registration{Fleet: "main", Region: region, Address: region + ".example:7777", Capacity: 2})
	if err != nil {
		t.Fatal(err)
	}
	db := "--database-url=" + testenv.DBURL(t)
	fleetCmd := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, registerModules(), append(append([]string{"fleet"}, args...), db), envOf(nil), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	id := strconv.FormatInt(in.ID, 10)
	if code, out, errOut := fleetCmd("list"); code != 0 || !strings.Contains(out, region) || !strings.Contains(out, "ready") {
		t.Fatalf("list: exit %d, %q, %q", code, out, errOut)
	}
	if code, out, errOut := fleetCmd("drain", id); code != 0 || !strings.Contains(out, "draining") {
		t.Fatalf("drain: exit %d, %q, %q", code, out, errOut)
	}
	if got, _ := fleet.NewRegistry(conn, fleet.Config{}).Get(ctx, in.ID); got.State != fleet.StateDraining || got.DrainedBy == "" {
		t.Fatalf("after drain: %+v", got)
	}
	if code, out, _ := fleetCmd("resume", id); code != 0 || !strings.Contains(out, "ready") {
		t.Fatalf("resume: exit %d, %q", code, out)
	}
	if code, _, errOut := fleetCmd("drain", "999999999"); code != 1 || !strings.Contains(errOut, "no such game server instance") {
		t.Fatalf("drain of an unknown instance: exit %d, %q", code, errOut)
	}
	if code, _, _ := fleetCmd("bogus"); code != 1 {
		t.Fatalf("unknown verb: exit %d", code)
	}
}
