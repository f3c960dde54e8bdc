package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/db"
)

// TestPrivateClusterStartsAndStops starts dev's private PostgreSQL from the
// machine's server binaries, as dev does when no server answers.
func TestPrivateClusterStartsAndStops(t *testing.T) {
	if _, err := postgresBinDir(); err != nil {
		t.Skipf("no PostgreSQL server binaries: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	// As root the cluster runs as postgres, which must reach the directory.
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		_ = os.MkdirAll(d, 0o755)
		_ = os.Chmod(d, 0o755)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	u, stop, err := startPrivateCluster(ctx, dir, strconv.Itoa(port), log)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Open(ctx, u, db.Pool{MaxOpen: 1})
	if err != nil {
		stop()
		t.Fatal(err)
	}
	var name string
	err = conn.GetContext(ctx, &name, `SELECT current_database()`)
	conn.Close()
	if err != nil || name != devDBName {
		stop()
		t.Fatalf("current_database = %q, %v", name, err)
	}
	if !strings.Contains(u, "127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("url %s does not point at the private port", u)
	}
	stop()
	if _, err := os.Stat(filepath.Join(dir, "postgres", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("cluster still running after stop: %v", err)
	}

	// A second start reuses the initialised cluster.
	_, stop, err = startPrivateCluster(ctx, dir, strconv.Itoa(port), log)
	if err != nil {
		t.Fatal(err)
	}
	stop()
}
