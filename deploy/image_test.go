package deploy

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = ".."

// dockerfile is deploy/docker/Dockerfile, parsed into what the tests need.
type dockerfile struct {
	goVersion  string   // default of ARG GO_VERSION
	froms      []string // image of each FROM, in order
	goBuild    string   // the RUN instruction that builds the binary
	ldflags    string   // its -ldflags value, ${VERSION} unexpanded
	out        string   // its -o path
	pkg        string   // the package it builds
	copyBinary string   // COPY --from=build <src> <dst> of the final stage
	user       string
	expose     []int
	entrypoint string
	cmd        string
	labels     string
	healthchk  string // the HEALTHCHECK instruction's options and command
}

// instructions returns the Dockerfile's instructions with line
// continuations joined and comments dropped.
func instructions(t *testing.T, text string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		if cur.Len() > 0 {
			out = append(out, cur.String())
		}
		cur.Reset()
	}
	return out
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	for _, ins := range instructions(t, string(raw)) {
		word, rest, _ := strings.Cut(ins, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "ARG":
			if v, ok := strings.CutPrefix(rest, "GO_VERSION="); ok {
				d.goVersion = v
			}
		case "FROM":
			var image string
			for _, f := range strings.Fields(rest) {
				if !strings.HasPrefix(f, "--") {
					image = f
					break
				}
			}
			d.froms = append(d.froms, image)
		case "RUN":
			if strings.Contains(rest, "go build") {
				d.goBuild = rest
			}
		case "COPY":
			if strings.HasPrefix(rest, "--from=") {
				d.copyBinary = rest
			}
		case "USER":
			d.user = rest
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if err != nil {
					t.Fatalf("Dockerfile: EXPOSE %s is not a port", p)
				}
				d.expose = append(d.expose, n)
			}
		case "ENTRYPOINT":
			d.entrypoint = rest
		case "CMD":
			d.cmd = rest
		case "LABEL":
			d.labels += rest + " "
		case "HEALTHCHECK":
			d.healthchk = rest
		}
	}
	if d.goBuild == "" {
		t.Fatal("Dockerfile: no RUN instruction runs go build")
	}
	if m := regexp.MustCompile(`-ldflags "([^"]*)"`).FindStringSubmatch(d.goBuild); m != nil {
		d.ldflags = m[1]
	}
	if m := regexp.MustCompile(`-o (\S+) (\S+)$`).FindStringSubmatch(d.goBuild); m != nil {
		d.out, d.pkg = m[1], m[2]
	}
	return d
}

// goModVersion returns go.mod's go directive, such as 1.26.8.
func goModVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t)
	settings := readmeSettings(t)

	// The builder is the Go release line go.mod asks for.
	goVer := goModVersion(t)
	if parts := strings.SplitN(goVer, ".", 3); len(parts) < 2 || d.goVersion != parts[0]+"."+parts[1] {
		t.Errorf("Dockerfile: ARG GO_VERSION=%s, want the release line of go.mod's go %s", d.goVersion, goVer)
	}
	if len(d.froms) != 2 || d.froms[0] != "golang:${GO_VERSION}" {
		t.Errorf("Dockerfile: stages %q, want golang:${GO_VERSION} then the runtime image", d.froms)
	} else if rt := d.froms[1]; rt != "gcr.io/distroless/static-debian12:nonroot" && rt != "scratch" {
		t.Errorf("Dockerfile: runtime image %s, want gcr.io/distroless/static-debian12:nonroot or scratch", rt)
	}

	// The build command the binary test repeats.
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "go build"} {
		if !strings.Contains(d.goBuild, want) {
			t.Errorf("Dockerfile: the go build step lacks %s: %s", want, d.goBuild)
		}
	}
	if d.ldflags != "-s -w -X main.version=${VERSION}" {
		t.Errorf("Dockerfile: -ldflags %q, want \"-s -w -X main.version=${VERSION}\"", d.ldflags)
	}
	if d.pkg != "./cmd/muster" || d.out == "" {
		t.Errorf("Dockerfile: go build -o %q %q, want -o <path> ./cmd/muster", d.out, d.pkg)
	}
	if f := strings.Fields(d.copyBinary); len(f) != 3 || f[1] != d.out || f[2] != "/muster" {
		t.Errorf("Dockerfile: COPY %s, want COPY --from=build %s /muster", d.copyBinary, d.out)
	}

	if d.entrypoint != `["/muster"]` || d.cmd != `["serve"]` {
		t.Errorf(`Dockerfile: ENTRYPOINT %s CMD %s, want ["/muster"] and ["serve"]`, d.entrypoint, d.cmd)
	}
	if uid := dockerUID(t, d); uid == 0 {
		t.Error("Dockerfile: USER must be a numeric non-root user")
	}
	// The image has no shell: the health check is the binary's own
	// command, in exec form (TestImageBinary runs it).
	if !strings.HasSuffix(d.healthchk, `CMD ["/muster", "health"]`) {
		t.Errorf(`Dockerfile: HEALTHCHECK %q, want one ending in CMD ["/muster", "health"] (distroless has no shell or curl)`, d.healthchk)
	}
	var want []int
	for _, env := range []string{"MUSTER_HTTP_ADDR", "MUSTER_CONSOLE_ADDR", "MUSTER_OPS_ADDR", "MUSTER_REALTIME_ADDR"} {
		want = append(want, addrPort(t, settings[env]))
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(d.expose))
	if !slices.Equal(got, want) {
		t.Errorf("Dockerfile: EXPOSE %v, want the default listen ports %v", got, want)
	}
	for _, l := range []string{"org.opencontainers.image.source", "org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.title"} {
		if !strings.Contains(d.labels, l+"=") {
			t.Errorf("Dockerfile: no LABEL %s", l)
		}
	}
}

// dockerUID returns the numeric user of the image, failing on a name.
func dockerUID(t *testing.T, d dockerfile) int64 {
	t.Helper()
	user, _, _ := strings.Cut(d.user, ":")
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		t.Errorf("Dockerfile: USER %q is not numeric (runAsNonRoot cannot check a name)", d.user)
		return 0
	}
	return uid
}

// dockerignore returns the matcher of the repository's .dockerignore.
func dockerignore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func TestDockerignore(t *testing.T) {
	pm := dockerignore(t)
	for path, excluded := range map[string]bool{
		".git/config":                         true,
		".muster/pg/PG_VERSION":               true,
		"bin/muster":                          true,
		"deploy/k8s/base/secret.env":          true,
		"secret.env":                          true,
		"domain/db/db.test":                   true,
		"go.mod":                              false,
		"go.sum":                              false,
		"cmd/muster/main.go":                  false,
		"migrations/00001_outbox.sql":         false,
		"web/static/console.css":              false,
		"domain/account/common_passwords.txt": false,
		"bench/README.md":                     true,
		"bench/rtload/main.go":                true,
		"bench/bots/run.go":                   false, // muster bots is built from it
	} {
		got, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != excluded {
			t.Errorf(".dockerignore: %s excluded = %v, want %v", path, got, excluded)
		}
	}
}

// The binary the image ships, built once per test run from a copy of the
// build context (the tree filtered by .dockerignore) with the Dockerfile's
// build command.
var image struct {
	once     sync.Once
	dir      string // the temporary directory holding context/ and muster
	context  string
	bin      string
	version  string
	buildErr error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if image.dir != "" {
		os.RemoveAll(image.dir)
	}
	os.Exit(code)
}

// musterBinary returns the path of the binary built as the Dockerfile
// builds it.
func musterBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the muster binary")
	}
	d := parseDockerfile(t)
	pm := dockerignore(t)
	image.once.Do(func() {
		image.version = "v0.0.0-deploytest"
		image.buildErr = buildImageBinary(d, pm)
	})
	if image.buildErr != nil {
		t.Fatalf("building the binary as the Dockerfile does: %v", image.buildErr)
	}
	return image.bin
}

func buildImageBinary(d dockerfile, pm *patternmatcher.PatternMatcher) error {
	dir, err := os.MkdirTemp("", "muster-image-")
	if err != nil {
		return err
	}
	image.dir = dir
	image.context = filepath.Join(dir, "context")
	image.bin = filepath.Join(dir, "muster")
	if err := copyContext(repoRoot, image.context, pm); err != nil {
		return fmt.Errorf("copy the build context: %w", err)
	}
	ldflags := strings.ReplaceAll(d.ldflags, "${VERSION}", image.version)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", image.bin, d.pkg)
	cmd.Dir = image.context
	// The build step's environment (CGO_ENABLED=0), as the Dockerfile sets it.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	for _, m := range regexp.MustCompile(`\b(CGO_ENABLED|GOFLAGS)=(\S+)`).FindAllStringSubmatch(d.goBuild, -1) {
		cmd.Env = append(cmd.Env, m[1]+"="+m[2])
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

// copyContext copies the files of src that .dockerignore lets into the build
// context to dst.
func copyContext(src, dst string, pm *patternmatcher.PatternMatcher) error {
	return filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return os.MkdirAll(dst, 0o755)
		}
		skip, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		switch {
		case skip && e.IsDir() && !pm.Exclusions():
			return filepath.SkipDir
		case skip:
			return nil // with "!" patterns, as docker does: look inside for exceptions
		case e.IsDir():
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		case !e.Type().IsRegular():
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		out, err := os.Create(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

func TestImageBinary(t *testing.T) {
	bin := musterBinary(t)

	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("muster version: %v", err)
	}
	if got, want := string(out), "muster "+image.version+"\n"; got != want {
		t.Errorf("muster version printed %q, want %q (-X main.version)", got, want)
	}

	// The HEALTHCHECK's command: with no muster answering on the ops
	// address it fails, naming /readyz.
	health := exec.Command(bin, "health", "--ops-addr", "127.0.0.1:1")
	health.Env = []string{}
	if out, err := health.CombinedOutput(); err == nil || !strings.Contains(string(out), "/readyz") {
		t.Errorf("muster health with nothing listening: %v, %q; want a failure naming /readyz", err, out)
	}

	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(image.context)) {
		t.Errorf("the binary holds its build directory %s: -trimpath is not in effect", image.context)
	}
	if runtime.GOOS != "linux" {
		t.Skipf("the image is linux; the ELF checks do not apply to a %s build", runtime.GOOS)
	}
	f, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			t.Error("the binary has an ELF interpreter (PT_INTERP): it is dynamically linked, CGO_ENABLED=0 is not in effect")
		case elf.PT_DYNAMIC:
			t.Error("the binary has a dynamic section (PT_DYNAMIC): it is not statically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			t.Errorf("the binary has section %s: -ldflags -s -w is not in effect", s.Name)
		}
	}
}

// binaryTargets runs the real binary with an unknown target and reads the
// targets it names as valid.
func binaryTargets(t *testing.T) map[string]bool {
	t.Helper()
	bin := musterBinary(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "serve", "--target=bogus")
	cmd.Env = []string{} // no MUSTER_* of the machine running the test
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("muster serve --target=bogus succeeded")
	}
	var line string
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "valid targets:") {
			line = sc.Text()
		}
	}
	_, list, ok := strings.Cut(line, "valid targets: ")
	if !ok {
		t.Fatalf("muster serve --target=bogus did not list the valid targets: %q", stderr.String())
	}
	targets := map[string]bool{}
	for _, name := range strings.Split(list, ", ") {
		if name = strings.TrimSpace(name); name != "" && name != "all" {
			targets[name] = true
		}
	}
	if len(targets) == 0 {
		t.Fatalf("no targets in %q", line)
	}
	return targets
}
