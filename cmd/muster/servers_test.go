package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/test/testenv"
)

func TestServersCreatePrintsAWorkingCredentialOnce(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	var out, errOut bytes.Buffer
	args := []string{"servers", "create", "--name", "eu-west-fleet", "--database-url=" + testenv.DBURL(t)}
	if code := run(ctx, registerModules(), args, envOf(nil), &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	cred := regexp.MustCompile(`credential: (msv_\S+)`).FindStringSubmatch(out.String())
	if cred == nil {
		t.Fatalf("no credential in %q", out.String())
	}
	sv, err := match.NewServers(conn, 0).Authenticate(ctx, cred[1])
	if err != nil || sv.Name != "eu-west-fleet" {
		t.Fatalf("the printed credential: %+v, %v", sv, err)
	}
	out.Reset()
	errOut.Reset()
	if code := run(ctx, registerModules(), args, envOf(nil), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "exists") {
		t.Fatalf("same name again: exit %d, stderr %q", code, errOut.String())
	}
	if code := run(ctx, registerModules(), []string{"servers", "create", "--database-url=" + testenv.DBURL(t)}, envOf(nil), &out, &errOut); code != 1 {
		t.Fatalf("no name: exit %d", code)
	}
}
