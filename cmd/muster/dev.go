package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/musterhq/muster/domain/db"
)

// devDBName is the database dev keeps its data in.
const devDBName = "muster"

// devPort is where dev's private PostgreSQL cluster listens.
const devPort = "54329"

func cmdDev(ctx context.Context, registry *modules, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, _, err := parseConfig("dev", args, getenv, stderr)
	if err != nil {
		return err
	}
	mods, err := registry.resolve(cfg.Target)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	cfg.Env = "development"
	// Dev's demo accounts have public passwords: listen on this machine only,
	// unless an address is given.
	for _, addr := range []*string{&cfg.HTTPAddr, &cfg.OpsAddr, &cfg.ConsoleAddr} {
		if strings.HasPrefix(*addr, ":") {
			*addr = "127.0.0.1" + *addr
		}
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = devSecretKey()
		log.Warn("using the public development secret key; production must set MUSTER_SECRET_KEY")
	}
	dbURL, stop, err := devDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	cfg.DatabaseURL = dbURL
	logConfig(log, &cfg)
	p := newPlatform(cfg, log, true)
	// Demo accounts have public passwords: seed them only into a database on
	// this machine, never into one MUSTER_DATABASE_URL points elsewhere.
	p.seedDemo = isLocalDatabase(dbURL)
	if !p.seedDemo {
		log.Warn("not seeding demo accounts: the database is not on this machine", "database", db.Redact(dbURL))
	}
	return p.serve(ctx, mods)
}

// isLocalDatabase reports whether the database URL points at this machine.
func isLocalDatabase(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1", "":
		return true
	}
	return false
}

// devDatabase finds the PostgreSQL dev uses: database-url when set, else the
// server on 127.0.0.1:5432 when it answers, else a private cluster under
// data-dir started from the machine's PostgreSQL binaries. The returned stop
// function stops a cluster that dev started.
func devDatabase(ctx context.Context, cfg Config, log *slog.Logger) (string, func(), error) {
	noop := func() {}
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, noop, nil
	}
	if cfg.DevPostgres == "auto" {
		local := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=3"
		if u, err := ensureDatabase(ctx, local); err == nil {
			log.Info("using the local PostgreSQL server", "database", db.Redact(u))
			return u, noop, nil
		} else {
			log.Info("no usable PostgreSQL on 127.0.0.1:5432; starting a private cluster", "reason", oneLine(err.Error()))
		}
	}
	return startPrivateCluster(ctx, cfg.DataDir, devPort, log)
}

// ensureDatabase connects to the server at adminURL, creates the dev
// database when it is missing, and returns the dev database's URL.
func ensureDatabase(ctx context.Context, adminURL string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	admin, err := db.Open(ctx, adminURL, db.Pool{MaxOpen: 1})
	if err != nil {
		return "", err
	}
	defer admin.Close()
	var exists bool
	if err := admin.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, devDBName); err != nil {
		return "", fmt.Errorf("look for database %s: %w", devDBName, err)
	}
	if !exists {
		if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+devDBName); err != nil && !db.IsUniqueViolation(err) {
			return "", fmt.Errorf("create database %s: %w", devDBName, err)
		}
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + devDBName
	q := u.Query()
	q.Del("connect_timeout")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// startPrivateCluster initialises (once) and starts a PostgreSQL cluster in
// dataDir/postgres, listening on 127.0.0.1 only. As root it runs the server
// as the postgres user, since PostgreSQL refuses to run as root.
func startPrivateCluster(ctx context.Context, dataDir, port string, log *slog.Logger) (string, func(), error) {
	bin, err := postgresBinDir()
	if err != nil {
		return "", nil, err
	}
	dir, err := filepath.Abs(filepath.Join(dataDir, "postgres"))
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var asUser []string
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			return "", nil, errors.New("running as root needs a postgres system user to own the private cluster (PostgreSQL will not run as root)")
		}
		if err := chownTree(dir, pg); err != nil {
			return "", nil, err
		}
		asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	pgCmd := func(name string, args ...string) *exec.Cmd {
		full := append(append(slices.Clone(asUser), filepath.Join(bin, name)), args...)
		return exec.CommandContext(ctx, full[0], full[1:]...)
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		log.Info("initialising a private PostgreSQL cluster", "dir", dir)
		if out, err := pgCmd("initdb", "-D", dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions").CombinedOutput(); err != nil {
			return "", nil, fmt.Errorf("initdb %s: %v: %s", dir, err, lastLine(out))
		}
	}
	logFile := filepath.Join(dir, "server.log")
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1", port, dir)
	if out, err := pgCmd("pg_ctl", "-D", dir, "-l", logFile, "-o", opts, "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("start private PostgreSQL (log in %s): %v: %s", logFile, err, lastLine(out))
	}
	log.Info("private PostgreSQL started", "dir", dir, "port", port)
	stop := func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		full := append(slices.Clone(asUser), filepath.Join(bin, "pg_ctl"), "-D", dir, "-m", "fast", "-w", "stop")
		if out, err := exec.CommandContext(stopCtx, full[0], full[1:]...).CombinedOutput(); err != nil {
			log.Warn("stop private PostgreSQL", "err", err, "output", lastLine(out))
		}
	}
	u, err := ensureDatabase(ctx, "postgres://postgres@127.0.0.1:"+port+"/postgres?sslmode=disable")
	if err != nil {
		stop()
		return "", nil, err
	}
	return u, stop, nil
}

// postgresBinDir finds the directory of initdb and pg_ctl: on PATH, else the
// newest of Debian's /usr/lib/postgresql/N/bin.
func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server is installed: install it (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql@16`) or set MUSTER_DATABASE_URL to a running server")
}

func versionOf(binDir string) int {
	var n int
	fmt.Sscanf(filepath.Base(filepath.Dir(binDir)), "%d", &n)
	return n
}

func chownTree(dir string, u *user.User) error {
	var uid, gid int
	fmt.Sscanf(u.Uid, "%d", &uid)
	fmt.Sscanf(u.Gid, "%d", &gid)
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}
