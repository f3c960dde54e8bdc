package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// workflowFile is Muster's GitHub Actions workflow.
var workflowFile = filepath.Join(repoRoot, ".github", "workflows", "ci.yml")

// workflow is the part of GitHub Actions' workflow syntax that ci.yml uses;
// it is decoded with unknown fields refused, so a misspelt key fails.
type workflow struct {
	Name string `yaml:"name"`
	// Events: a key with no value (push:) triggers on every branch.
	On          map[string]*trigger    `yaml:"on"`
	Permissions map[string]string      `yaml:"permissions"`
	Jobs        map[string]workflowJob `yaml:"jobs"`
}

type trigger struct {
	Branches []string `yaml:"branches"`
}

type workflowJob struct {
	Needs          []string          `yaml:"needs"`
	If             string            `yaml:"if"`
	RunsOn         string            `yaml:"runs-on"`
	TimeoutMinutes int               `yaml:"timeout-minutes"`
	Permissions    map[string]string `yaml:"permissions"`
	Environment    string            `yaml:"environment"`
	Concurrency    *struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Outputs  map[string]string `yaml:"outputs"`
	Services map[string]struct {
		Image   string            `yaml:"image"`
		Env     map[string]string `yaml:"env"`
		Ports   []string          `yaml:"ports"`
		Options string            `yaml:"options"`
	} `yaml:"services"`
	Env   map[string]string `yaml:"env"`
	Steps []workflowStep    `yaml:"steps"`
}

type workflowStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

// stepIndex returns the index of the first step of j whose run script
// contains s, or -1.
func (j workflowJob) stepIndex(s string) int {
	return slices.IndexFunc(j.Steps, func(st workflowStep) bool { return strings.Contains(st.Run, s) })
}

// uses returns the first step of j that uses action (owner/repo), or nil.
func (j workflowJob) uses(action string) *workflowStep {
	for i, st := range j.Steps {
		if name, _, _ := strings.Cut(st.Uses, "@"); name == action {
			return &j.Steps[i]
		}
	}
	return nil
}

// pinnedAction is owner/repo[/path]@vMAJOR[.MINOR[.PATCH]]: a release tag,
// not a branch.
var pinnedAction = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@v[0-9]+(\.[0-9]+){0,2}$`)

// TestWorkflow decodes .github/workflows/ci.yml strictly and checks its
// jobs: test runs `make test` on every push and pull request against
// PostgreSQL 15 and Redis 7 with go.mod's Go release; drill runs `make
// drill` on every push and pull request, nginx installed first; image,
// after both, builds the
// Dockerfile and pushes it tagged with the commit; deploy, in the
// production environment, migrates, applies the production overlay with
// that image and waits for every rollout. Every action is pinned to a
// version tag.
func TestWorkflow(t *testing.T) {
	raw, err := os.ReadFile(workflowFile)
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&wf); err != nil {
		t.Fatalf("ci.yml: %v", err)
	}
	if events := sortedKeys(wf.On); !slices.Equal(events, []string{"pull_request", "push"}) || wf.On["push"] != nil || wf.On["pull_request"] != nil {
		t.Errorf("on: %v: want push and pull_request, on every branch", events)
	}
	for _, name := range []string{"test", "drill", "image", "deploy"} {
		if _, ok := wf.Jobs[name]; !ok {
			t.Fatalf("no job %q (jobs: %v)", name, sortedKeys(wf.Jobs))
		}
	}
	for name, j := range wf.Jobs {
		if !strings.HasPrefix(j.RunsOn, "ubuntu-") || len(j.Steps) == 0 {
			t.Errorf("job %s: runs-on %q, %d steps: want an ubuntu runner and steps", name, j.RunsOn, len(j.Steps))
		}
		for _, n := range j.Needs {
			if _, ok := wf.Jobs[n]; !ok {
				t.Errorf("job %s needs %q, which is no job", name, n)
			}
		}
		for i, st := range j.Steps {
			if (st.Uses == "") == (st.Run == "") {
				t.Errorf("job %s step %d: exactly one of uses and run", name, i+1)
			}
			if st.Uses != "" && !pinnedAction.MatchString(st.Uses) {
				t.Errorf("job %s step %d: action %q is not pinned to a version tag (owner/repo@vN)", name, i+1, st.Uses)
			}
		}
	}

	test := wf.Jobs["test"]
	if test.If != "" {
		t.Errorf("job test: if %q, want it to run on every push and pull request", test.If)
	}
	if test.stepIndex("make test") < 0 {
		t.Error("job test: no step runs make test")
	}
	goMod := goModVersion(t)
	if setup := test.uses("actions/setup-go"); setup == nil || !strings.HasPrefix(goMod, setup.With["go-version"]+".") {
		t.Errorf("job test: want actions/setup-go with go-version the release of go.mod's go %s", goMod)
	}
	services := map[string]string{}
	for name, s := range test.Services {
		services[name] = s.Image
	}
	if services["postgres"] != "postgres:15" || services["redis"] != "redis:7" {
		t.Errorf("job test: services %v, want postgres:15 and redis:7", services)
	}
	for env, port := range map[string]string{"MUSTER_TEST_DATABASE_URL": "5432", "MUSTER_TEST_REDIS_URL": "6379"} {
		u := test.Env[env]
		if !regexp.MustCompile(`^[a-z]+://[^@/]*@?(127\.0\.0\.1|localhost):` + port + `/`).MatchString(u) {
			t.Errorf("job test: %s = %q, want the service container on 127.0.0.1:%s", env, u, port)
		}
	}
	for name, port := range map[string]string{"postgres": "5432", "redis": "6379"} {
		if ports := test.Services[name].Ports; !slices.Contains(ports, port+":"+port) {
			t.Errorf("job test: service %s publishes %v, want %s:%s", name, ports, port, port)
		}
	}

	drill := wf.Jobs["drill"]
	if drill.If != "" || drill.stepIndex("make drill") < 0 {
		t.Errorf("job drill: if %q: want make drill on every push and pull request", drill.If)
	}
	if install := drill.stepIndex("apt-get install"); install < 0 || install > drill.stepIndex("make drill") ||
		!strings.Contains(drill.Steps[install].Run, "libnginx-mod-stream") {
		t.Error("job drill: want nginx and its stream module installed before make drill (the drill installs them only as root)")
	}
	if drill.Services["postgres"].Image != "postgres:15" || drill.Services["redis"].Image != "redis:7" {
		t.Errorf("job drill: want postgres:15 and redis:7 services, as test has")
	}

	onMain := "github.event_name == 'push' && github.ref == 'refs/heads/main'"
	image := wf.Jobs["image"]
	if image.If != onMain || !slices.Contains(image.Needs, "test") || !slices.Contains(image.Needs, "drill") {
		t.Errorf("job image: if %q, needs %v: want pushes to main after test and drill", image.If, image.Needs)
	}
	if image.Permissions["packages"] != "write" {
		t.Error("job image: needs packages: write to push to ghcr.io")
	}
	build := image.uses("docker/build-push-action")
	if build == nil {
		t.Fatal("job image: no docker/build-push-action step")
	}
	if build.With["file"] != "deploy/docker/Dockerfile" || build.With["context"] != "." || build.With["push"] != "true" {
		t.Errorf("job image: build-push-action with %v: want file deploy/docker/Dockerfile, context ., push true", build.With)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, build.With["file"])); err != nil {
		t.Error(err)
	}
	ref := slices.IndexFunc(image.Steps, func(s workflowStep) bool { return s.ID == "ref" })
	if ref < 0 || build.With["tags"] != "${{ steps.ref.outputs.image }}" ||
		!strings.Contains(image.Steps[ref].Run, `image=ghcr.io/${GITHUB_REPOSITORY,,}:${GITHUB_SHA}`) {
		t.Errorf("job image: tags %q: want ghcr.io/<repository>:<commit SHA>", build.With["tags"])
	}

	deploy := wf.Jobs["deploy"]
	if deploy.If != onMain || !slices.Contains(deploy.Needs, "image") || deploy.Environment != "production" {
		t.Errorf("job deploy: if %q, needs %v, environment %q: want pushes to main after image, in production", deploy.If, deploy.Needs, deploy.Environment)
	}
	if deploy.Env["IMAGE"] != "${{ needs.image.outputs.image }}" || image.Outputs["image"] == "" {
		t.Error("job deploy: IMAGE must be the image job's output")
	}
	overlay := deploy.Env["OVERLAY"]
	if overlay != "deploy/k8s/overlays/production" {
		t.Errorf("job deploy: OVERLAY %q", overlay)
	}
	// The overlay names the image the edit replaces.
	kust, err := os.ReadFile(filepath.Join(repoRoot, overlay, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(kust, []byte("- name: ghcr.io/musterhq/muster\n")) {
		t.Error("the production overlay no longer sets the image ghcr.io/musterhq/muster that deploy replaces")
	}
	order := []string{
		`kustomize" edit set image "ghcr.io/musterhq/muster=$IMAGE"`,
		`kubectl kustomize "$OVERLAY"`,
		`-l app.kubernetes.io/component=migrate`,
		`wait --for=condition=complete job/muster-migrate`,
		`kubectl apply -f "$RUNNER_TEMP/muster.yaml" -o name`,
		`rollout status "$d"`,
	}
	last := -1
	for _, s := range order {
		i := deploy.stepIndex(s)
		if i < 0 || i < last {
			t.Errorf("job deploy: want a step running %s after the previous ones (%v), found at %d", s, order, i)
		}
		last = i
	}
}
