package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/musterhq/muster/test/testenv"
)

// TestOpsProfilesOnlyWhenAsked: the ops listener serves Go's profiles only
// with --ops-pprof, and always the PostgreSQL pool's metrics.
func TestOpsProfilesOnlyWhenAsked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two muster processes")
	}
	dbURL := testenv.DBURL(t)
	prefix := unique("ops") + ":"
	plain := startNode(t, "player", dbURL, prefix)
	profiled := startNode(t, "player", dbURL, prefix, "MUSTER_OPS_PPROF=true")
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("http://" + plain.ops + "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without --ops-pprof: %d, want 404", code)
	}
	if code, body := get("http://" + profiled.ops + "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ with --ops-pprof: %d %.100q", code, body)
	}
	if code, _ := get("http://" + profiled.http + "/debug/pprof/"); code == http.StatusOK {
		t.Error("the player API serves the profiles too")
	}
	if _, body := get("http://" + plain.ops + "/metrics"); !strings.Contains(body, `go_sql_max_open_connections{db_name="muster"} 20`) {
		t.Error("/metrics has no PostgreSQL pool metrics")
	}
}
