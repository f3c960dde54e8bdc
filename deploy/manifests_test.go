package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const k8sDir = "k8s"

// renders are the kustomizations the tests render: the base on its own and
// every overlay.
var renders = []string{"base", "overlays/dev", "overlays/production"}

// operatorSecret is the Secret the manifests reference but never define: the
// operator creates it (docs/operations.md), with the keys of
// secret.example.env.
const operatorSecret = "muster-secrets"

// kinds maps apiVersion/kind to the Go type a manifest must decode into
// without an unknown field. A kind missing here fails the test: add it.
var kinds = map[string]func() any{
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                              func() any { return &corev1.Secret{} },
	"v1/Service":                             func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                      func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                           func() any { return &batchv1.Job{} },
	"batch/v1/CronJob":                       func() any { return &batchv1.CronJob{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"networking.k8s.io/v1/NetworkPolicy":     func() any { return &networkingv1.NetworkPolicy{} },
	"networking.k8s.io/v1/Ingress":           func() any { return &networkingv1.Ingress{} },
}

// decodeStrict decodes one YAML document into its Kubernetes type, failing
// on an unknown or duplicated field.
func decodeStrict(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	gvk := tm.APIVersion + "/" + tm.Kind
	if tm.Kind == "Kustomization" {
		var k kusttypes.Kustomization
		return &k, yaml.UnmarshalStrict(doc, &k)
	}
	newObj, ok := kinds[gvk]
	if !ok {
		return nil, fmt.Errorf("kind %s is not one the test knows: add it to kinds", gvk)
	}
	obj := newObj()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", gvk, err)
	}
	return obj, nil
}

// splitYAML returns the documents of a multi-document YAML stream.
func splitYAML(t *testing.T, raw []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			docs = append(docs, doc)
		}
	}
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(append(out, line...), '\n')
		}
	}
	return out
}

// TestManifestFilesStrict decodes every YAML file under k8s/ (resources,
// patches, kustomizations) strictly, so a misspelt field fails here even
// where kustomize or a patch would carry it silently.
func TestManifestFilesStrict(t *testing.T) {
	n := 0
	err := filepath.WalkDir(k8sDir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || (filepath.Ext(path) != ".yaml" && filepath.Ext(path) != ".yml") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, doc := range splitYAML(t, raw) {
			n++
			if _, err := decodeStrict(doc); err != nil {
				t.Errorf("%s, document %d: %v", path, i+1, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("found only %d YAML documents under %s", n, k8sDir)
	}
}

// rendered is one kustomization's output, decoded.
type rendered struct {
	name         string
	deployments  []*appsv1.Deployment
	services     []*corev1.Service
	configMaps   []*corev1.ConfigMap
	secrets      []*corev1.Secret
	pdbs         []*policyv1.PodDisruptionBudget
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	netpols      []*networkingv1.NetworkPolicy
	ingresses    []*networkingv1.Ingress
	jobs         []*batchv1.Job
	cronJobs     []*batchv1.CronJob
	serviceAccts []*corev1.ServiceAccount
}

// render runs kustomize in-process on k8s/<dir> and decodes every resource
// strictly.
func render(t *testing.T, dir string) *rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(k8sDir, dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	r := &rendered{name: dir}
	for _, res := range resMap.Resources() {
		doc, err := res.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decodeStrict(doc)
		if err != nil {
			t.Errorf("%s: %s: %v", dir, res.CurId(), err)
			continue
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			r.deployments = append(r.deployments, o)
		case *corev1.Service:
			r.services = append(r.services, o)
		case *corev1.ConfigMap:
			r.configMaps = append(r.configMaps, o)
		case *corev1.Secret:
			r.secrets = append(r.secrets, o)
		case *corev1.ServiceAccount:
			r.serviceAccts = append(r.serviceAccts, o)
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas = append(r.hpas, o)
		case *networkingv1.NetworkPolicy:
			r.netpols = append(r.netpols, o)
		case *networkingv1.Ingress:
			r.ingresses = append(r.ingresses, o)
		case *batchv1.Job:
			r.jobs = append(r.jobs, o)
		case *batchv1.CronJob:
			r.cronJobs = append(r.cronJobs, o)
		default:
			t.Errorf("%s: %s renders to a kind the checks do not cover", dir, res.CurId())
		}
	}
	return r
}

// pod is a pod template of a workload.
type pod struct {
	kind, name string
	labels     map[string]string
	spec       *corev1.PodSpec
}

func (r *rendered) pods() []pod {
	var out []pod
	for _, d := range r.deployments {
		out = append(out, pod{"Deployment", d.Name, d.Spec.Template.Labels, &d.Spec.Template.Spec})
	}
	for _, j := range r.jobs {
		out = append(out, pod{"Job", j.Name, j.Spec.Template.Labels, &j.Spec.Template.Spec})
	}
	for _, c := range r.cronJobs {
		out = append(out, pod{"CronJob", c.Name, c.Spec.JobTemplate.Spec.Template.Labels, &c.Spec.JobTemplate.Spec.Template.Spec})
	}
	return out
}

// deploymentTarget returns the one target a Deployment serves, from its
// args serve --target=X.
func deploymentTarget(d *appsv1.Deployment) (string, error) {
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		return "", fmt.Errorf("has %d containers, want the one muster container", len(cs))
	}
	args := append(slices.Clone(cs[0].Command), cs[0].Args...)
	if len(args) != 2 || args[0] != "serve" || !strings.HasPrefix(args[1], "--target=") {
		return "", fmt.Errorf("runs %q, want [serve --target=<one target>]", args)
	}
	return strings.TrimPrefix(args[1], "--target="), nil
}

func selects(sel *metav1.LabelSelector, podLabels map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return false
	}
	return s.Matches(labels.Set(podLabels))
}

// containerPort resolves a probe's or a Service's port (a name or a number)
// against the container's ports; 0 when it names no port of the container.
func containerPort(c corev1.Container, p intstr.IntOrString) int32 {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort
		}
	}
	return 0
}

// readmeSettings returns every MUSTER_* setting of README.md's settings
// table with its default ("" for none).
func readmeSettings(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(raw), "<!-- settings:begin")
	table, _, ok2 := strings.Cut(table, "<!-- settings:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no settings:begin/settings:end table")
	}
	row := regexp.MustCompile("(?m)^\\| `(MUSTER_[A-Z0-9_]+)` \\| `--[a-z0-9-]+` \\| ([^|]*) \\|")
	settings := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		def := strings.TrimSpace(m[2])
		if def == "(none)" {
			def = ""
		}
		settings[m[1]] = strings.Trim(def, "`")
	}
	if len(settings) < 20 {
		t.Fatalf("README.md's settings table gave only %d settings", len(settings))
	}
	return settings
}

// readEnvFile reads KEY=value lines, skipping comments and blank lines.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=value", path, line)
		}
		out[k] = v
	}
	return out
}

func addrPort(t *testing.T, addr string) int {
	t.Helper()
	_, port, ok := strings.Cut(addr, ":")
	n, err := strconv.Atoi(port)
	if !ok || err != nil {
		t.Fatalf("listen address %q has no port", addr)
	}
	return n
}

// listeners are the listen-address settings each target opens besides the
// ops listener, with the container port name the manifests give each. A
// target missing here fails the test: add it with its Deployment.
var listeners = map[string]map[string]string{
	"auth":        {"http": "MUSTER_HTTP_ADDR"},
	"console":     {"console": "MUSTER_CONSOLE_ADDR"},
	"inventory":   {"http": "MUSTER_HTTP_ADDR"},
	"matchmaking": {"http": "MUSTER_HTTP_ADDR"},
	"player":      {"http": "MUSTER_HTTP_ADDR"},
	"progression": {"http": "MUSTER_HTTP_ADDR"},
	"realtime":    {"http": "MUSTER_HTTP_ADDR", "realtime": "MUSTER_REALTIME_ADDR"},
	"store":       {"http": "MUSTER_HTTP_ADDR"},
	"sessions":    {"http": "MUSTER_HTTP_ADDR"},
	"worker":      {},
}

// playerRoutes are request paths and the target the Ingress must send them
// to, resolved as Kubernetes does (longest matching path wins; a Prefix path
// matches whole segments). Beside api/openapi.yaml's paths (openAPITargets)
// they pin the prefixes themselves and near misses.
var playerRoutes = map[string]string{
	"/v1/auth":                         "auth",
	"/v1/auth/login":                   "auth",
	"/v1/me":                           "auth",
	"/v1/me/":                          "auth",
	"/v1/me/sessions":                  "auth",
	"/v1/me/display-name":              "auth",
	"/v1/me/identities/steam":          "auth",
	"/v1/me/inventoryx":                "auth", // a segment, not a string, prefix
	"/.well-known/jwks.json":           "auth",
	"/v1/catalog":                      "inventory",
	"/v1/me/inventory":                 "inventory",
	"/v1/me/inventory/history":         "inventory",
	"/v1/me/wallets":                   "inventory",
	"/v1/me/wallets/gold/history":      "inventory",
	"/v1/me/craft":                     "inventory",
	"/v1/me/disenchant":                "inventory",
	"/v1/me/gifts":                     "inventory",
	"/v1/me/gifts/7/accept":            "inventory",
	"/v1/me/trades":                    "inventory",
	"/v1/me/trades/7/cancel":           "inventory",
	"/v1/store":                        "store",
	"/v1/store/purchases":              "store",
	"/v1/store/checkouts":              "store",
	"/v1/storex":                       "", // no backend (the controller answers 404): a segment, not a string, prefix
	"/v1/me/store/country":             "store",
	"/v1/me/storex":                    "auth", // a segment, not a string, prefix
	"/v1/me/orders":                    "store",
	"/v1/me/orders/abc":                "store",
	"/v1/me/ordersx":                   "auth",
	"/v1/stripe/webhook":               "store",
	"/v1/me/progression":               "progression",
	"/v1/me/progression/prestige":      "progression",
	"/v1/me/unlocks":                   "progression",
	"/v1/me/battlepass":                "progression",
	"/v1/me/battlepass/premium":        "progression",
	"/v1/me/challenges":                "progression",
	"/v1/me/challenges/x/reroll":       "progression",
	"/v1/me/unlocksx":                  "auth",
	"/v1/server/matches":               "progression",
	"/v1/server/matches/m1/result":     "progression",
	"/v1/me/party":                     "realtime",
	"/v1/me/party/join":                "realtime",
	"/v1/me/partyx":                    "auth",
	"/v1/me/friends/p_1/accept":        "realtime",
	"/v1/me/blocks":                    "realtime",
	"/v1/server/instances":             "sessions",
	"/v1/server/instances/7/heartbeat": "sessions",
	"/v1/server/allocations/m1/end":    "sessions",
	"/v1/server/instancesx":            "progression", // a segment, not a string, prefix
	"/v1/me/match":                     "sessions",
	"/v1/me/matchmaking":               "matchmaking", // not the live match
	"/v1/me/matchx":                    "auth",
}

// openAPITargets maps each tag of api/openapi.yaml to the target that serves
// its operations: every documented path must reach that target through the
// Ingress. A tag missing here fails the test: add it.
var openAPITargets = map[string]string{
	"keys":          "auth",
	"auth":          "auth",
	"me":            "auth",
	"catalog":       "inventory",
	"inventory":     "inventory",
	"wallets":       "inventory",
	"gifts":         "inventory",
	"trades":        "inventory",
	"store":         "store",
	"orders":        "store",
	"webhooks":      "store",
	"progression":   "progression",
	"servers":       "progression",
	"battlepass":    "progression",
	"profile":       "player",
	"notifications": "realtime",
	"friends":       "realtime",
	"parties":       "realtime",
	"matchmaking":   "matchmaking",
	"loadouts":      "player",
	"settings":      "player",
	"stats":         "player",
	"challenges":    "progression",
	"fleet":         "sessions",
	"sessions":      "sessions",
}

// openAPIRoutes returns every path of api/openapi.yaml, with its path
// parameters filled in, and the target its operations' tags name.
func openAPIRoutes(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			Tags []string `json:"tags"`
		} `json:"paths"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	param := regexp.MustCompile(`\{[^}/]+\}`)
	routes := map[string]string{}
	for path, ops := range spec.Paths {
		for method, op := range ops {
			if method == "parameters" || strings.HasPrefix(method, "x-") {
				continue
			}
			if len(op.Tags) == 0 {
				t.Errorf("api/openapi.yaml: %s %s has no tag", method, path)
			}
			for _, tag := range op.Tags {
				target, ok := openAPITargets[tag]
				if !ok {
					t.Errorf("api/openapi.yaml: tag %s (%s %s) has no entry in the test's openAPITargets: add the target that serves it", tag, method, path)
					continue
				}
				req := param.ReplaceAllString(path, "x")
				if other, seen := routes[req]; seen && other != target {
					t.Errorf("api/openapi.yaml: %s is tagged for targets %s and %s: one path reaches one target", path, other, target)
				}
				routes[req] = target
			}
		}
	}
	if len(routes) < 20 {
		t.Fatalf("api/openapi.yaml gave only %d paths", len(routes))
	}
	return routes
}

// ingressPath is one path of an Ingress and the target behind it.
type ingressPath struct {
	path     string
	pathType networkingv1.PathType
	target   string
}

// matches reports whether a request path matches an Ingress path, as the
// Ingress API defines it: Exact compares the whole path, Prefix compares
// whole /-separated segments (a trailing / ignored).
func (p ingressPath) matches(req string) bool {
	if p.pathType == networkingv1.PathTypeExact {
		return req == p.path
	}
	prefix, path := strings.Split(strings.Trim(p.path, "/"), "/"), strings.Split(strings.Trim(req, "/"), "/")
	if p.path == "/" {
		return true
	}
	return len(path) >= len(prefix) && slices.Equal(path[:len(prefix)], prefix)
}

// resolve returns the target an Ingress sends a request path to: the
// longest matching path, Exact before Prefix at the same length, else the
// default backend's ("" when nothing matches).
func resolve(paths []ingressPath, defaultTarget, req string) string {
	var best *ingressPath
	for i := range paths {
		p := &paths[i]
		if !p.matches(req) {
			continue
		}
		if best == nil || len(p.path) > len(best.path) ||
			(len(p.path) == len(best.path) && p.pathType == networkingv1.PathTypeExact && best.pathType != networkingv1.PathTypeExact) {
			best = p
		}
	}
	if best == nil {
		return defaultTarget
	}
	return best.target
}

func TestRenderedManifests(t *testing.T) {
	targets := binaryTargets(t)
	settings := readmeSettings(t)
	apiRoutes := openAPIRoutes(t)
	secretKeys := readEnvFile(t, filepath.Join(k8sDir, "base", "secret.example.env"))
	runAsUser := dockerUID(t, parseDockerfile(t))
	for _, dir := range renders {
		t.Run(strings.ReplaceAll(dir, "/", "-"), func(t *testing.T) {
			r := render(t, dir)
			c := checker{t: t, r: r, targets: targets, settings: settings, secretKeys: secretKeys, runAsUser: runAsUser, apiRoutes: apiRoutes, production: dir == "overlays/production"}
			c.configMaps()
			c.podTemplates()
			c.deployments()
			c.services()
			c.ingresses()
			c.networkPolicies()
			c.jobs()
		})
	}
}

type checker struct {
	t          *testing.T
	r          *rendered
	targets    map[string]bool
	settings   map[string]string // README: MUSTER_* -> default
	secretKeys map[string]string // secret.example.env
	apiRoutes  map[string]string // api/openapi.yaml: request path -> target
	runAsUser  int64
	production bool
	config     map[string]string // muster-config's data
}

func (c *checker) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf(c.r.name+": "+format, args...)
}

// setting returns a setting's effective value: muster-config's, else the
// README default.
func (c *checker) setting(env string) string {
	if v, ok := c.config[env]; ok {
		return v
	}
	return c.settings[env]
}

func (c *checker) duration(env string) time.Duration {
	d, err := time.ParseDuration(c.setting(env))
	if err != nil {
		c.errorf("%s=%q: %v", env, c.setting(env), err)
	}
	return d
}

// configMaps: muster-config holds only real, non-secret settings, and the
// binary accepts its values.
func (c *checker) configMaps() {
	var found []*corev1.ConfigMap
	for _, cm := range c.r.configMaps {
		if cm.Name == "muster-config" || strings.HasPrefix(cm.Name, "muster-config-") {
			found = append(found, cm)
		}
	}
	if len(found) != 1 {
		c.t.Fatalf("%s: %d muster-config ConfigMaps, want 1", c.r.name, len(found))
	}
	c.config = found[0].Data
	for k := range c.config {
		switch _, real := c.settings[k]; {
		case !real:
			c.errorf("ConfigMap %s: %s is not a muster setting (README.md's settings table)", found[0].Name, k)
		case k == "MUSTER_TARGET":
			c.errorf("ConfigMap %s: MUSTER_TARGET belongs in each Deployment's args, not shared configuration", found[0].Name)
		}
		if _, secret := c.secretKeys[k]; secret {
			c.errorf("ConfigMap %s: %s is a secret: it belongs in the Secret %s", found[0].Name, k, operatorSecret)
		}
	}
	for k := range c.secretKeys {
		if _, real := c.settings[k]; !real {
			c.errorf("secret.example.env: %s is not a muster setting (README.md's settings table)", k)
		}
	}
}

// podTemplates: every workload runs the one image as the image's non-root
// user with a read-only root, all capabilities dropped, sized, and with its
// configuration from objects that exist.
func (c *checker) podTemplates() {
	images := map[string][]string{}
	for _, p := range c.r.pods() {
		where := p.kind + " " + p.name
		s := p.spec
		if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
			c.errorf("%s: automountServiceAccountToken must be false (muster never calls the API)", where)
		}
		psc := s.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			c.errorf("%s: pod securityContext.runAsNonRoot must be true", where)
		}
		if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != c.runAsUser {
			c.errorf("%s: pod securityContext.runAsUser must be the image's user %d", where, c.runAsUser)
		}
		if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			c.errorf("%s: pod securityContext.seccompProfile must be RuntimeDefault", where)
		}
		if len(s.InitContainers) > 0 {
			c.errorf("%s: init containers are not checked by this test; extend it", where)
		}
		for _, ct := range s.Containers {
			where := where + " container " + ct.Name
			images[ct.Image] = append(images[ct.Image], where)
			sc := ct.SecurityContext
			switch {
			case sc == nil:
				c.errorf("%s: no securityContext", where)
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				c.errorf("%s: allowPrivilegeEscalation must be false", where)
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				c.errorf("%s: readOnlyRootFilesystem must be true", where)
			case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
				c.errorf("%s: capabilities must drop ALL and add none", where)
			case sc.Privileged != nil && *sc.Privileged:
				c.errorf("%s: privileged", where)
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, hasReq := ct.Resources.Requests[res]
				lim, hasLim := ct.Resources.Limits[res]
				switch {
				case !hasReq || !hasLim:
					c.errorf("%s: %s needs both a request and a limit", where, res)
				case req.Cmp(lim) > 0:
					c.errorf("%s: %s request %s is above its limit %s", where, res, req.String(), lim.String())
				}
			}
			c.envRefs(where, ct)
		}
	}
	if len(images) != 1 {
		c.errorf("the workloads run %d different images, want one: %v", len(images), images)
	}
	for img := range images {
		if c.production {
			_, tag, hasTag := strings.Cut(img[strings.LastIndex(img, "/")+1:], ":")
			if (!hasTag || tag == "" || tag == "latest") && !strings.Contains(img, "@sha256:") {
				c.errorf("image %s is not pinned to a release tag or digest", img)
			}
		}
	}
}

// envRefs: every ConfigMap and Secret a container reads exists in the
// rendered set, or is the operator's Secret with keys it documents.
func (c *checker) envRefs(where string, ct corev1.Container) {
	hasConfigMap := func(name string) *corev1.ConfigMap {
		for _, cm := range c.r.configMaps {
			if cm.Name == name {
				return cm
			}
		}
		return nil
	}
	hasSecret := func(name string) bool {
		for _, s := range c.r.secrets {
			if s.Name == name {
				return true
			}
		}
		return name == operatorSecret
	}
	var fromConfig, fromSecret bool
	for _, ef := range ct.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			fromConfig = true
			if hasConfigMap(ef.ConfigMapRef.Name) == nil {
				c.errorf("%s: envFrom ConfigMap %s is not defined", where, ef.ConfigMapRef.Name)
			}
		case ef.SecretRef != nil:
			fromSecret = true
			if !hasSecret(ef.SecretRef.Name) {
				c.errorf("%s: envFrom Secret %s is neither defined nor the operator's %s", where, ef.SecretRef.Name, operatorSecret)
			}
		}
	}
	if !fromConfig || !fromSecret {
		c.errorf("%s: must take its settings from muster-config and %s (envFrom)", where, operatorSecret)
	}
	for _, e := range ct.Env {
		if e.ValueFrom == nil {
			continue
		}
		if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
			if cm := hasConfigMap(ref.Name); cm == nil {
				c.errorf("%s: env %s: ConfigMap %s is not defined", where, e.Name, ref.Name)
			} else if _, ok := cm.Data[ref.Key]; !ok {
				c.errorf("%s: env %s: ConfigMap %s has no key %s", where, e.Name, ref.Name, ref.Key)
			}
		}
		if ref := e.ValueFrom.SecretKeyRef; ref != nil {
			if !hasSecret(ref.Name) {
				c.errorf("%s: env %s: Secret %s is not defined", where, e.Name, ref.Name)
			} else if _, ok := c.secretKeys[ref.Key]; ref.Name == operatorSecret && !ok {
				c.errorf("%s: env %s: key %s is not in secret.example.env", where, e.Name, ref.Key)
			}
		}
		if ref := e.ValueFrom.ResourceFieldRef; ref != nil && ref.ContainerName != "" && ref.ContainerName != ct.Name {
			c.errorf("%s: env %s: resourceFieldRef names container %s", where, e.Name, ref.ContainerName)
		}
	}
}

func (c *checker) deployments() {
	if len(c.r.deployments) == 0 {
		c.t.Fatalf("%s: no Deployments", c.r.name)
	}
	opsPort := int32(addrPort(c.t, c.setting("MUSTER_OPS_ADDR")))
	drain, shutdown := c.duration("MUSTER_DRAIN_DELAY"), c.duration("MUSTER_SHUTDOWN_TIMEOUT")
	seen := map[string]string{}
	for _, d := range c.r.deployments {
		where := "Deployment " + d.Name
		target, err := deploymentTarget(d)
		if err != nil {
			c.errorf("%s: %v", where, err)
			continue
		}
		if !c.targets[target] {
			c.errorf("%s: --target=%s is not a target of the binary (it has %v)", where, target, sortedKeys(c.targets))
		}
		if other, dup := seen[target]; dup {
			c.errorf("%s and %s both run target %s", where, other, target)
		}
		seen[target] = d.Name
		podLabels := d.Spec.Template.Labels
		if podLabels["app.kubernetes.io/component"] != target {
			c.errorf("%s: label app.kubernetes.io/component=%q, want its target %q", where, podLabels["app.kubernetes.io/component"], target)
		}
		if !selects(d.Spec.Selector, podLabels) {
			c.errorf("%s: its selector does not match its pod template", where)
		}
		for _, other := range c.r.deployments {
			if other != d && selects(d.Spec.Selector, other.Spec.Template.Labels) {
				c.errorf("%s: its selector also matches the pods of %s", where, other.Name)
			}
		}
		ct := d.Spec.Template.Spec.Containers[0]

		// Ports: exactly ops plus the target's own listeners, at the
		// configured addresses.
		want, known := listeners[target]
		if !known {
			c.errorf("%s: target %s has no entry in the test's listeners map: add its listen settings", where, target)
		}
		wantPorts := map[string]int32{"ops": opsPort}
		for name, env := range want {
			wantPorts[name] = int32(addrPort(c.t, c.setting(env)))
		}
		gotPorts := map[string]int32{}
		for _, p := range ct.Ports {
			gotPorts[p.Name] = p.ContainerPort
		}
		if fmt.Sprint(gotPorts) != fmt.Sprint(wantPorts) {
			c.errorf("%s: container ports %v, want %v (the target's listen addresses)", where, gotPorts, wantPorts)
		}

		// Probes: on the ops listener, readiness on /readyz, liveness and
		// start-up on /healthz (alive, not dependent on the database).
		for _, pr := range []struct {
			kind  string
			probe *corev1.Probe
			path  string
		}{{"readinessProbe", ct.ReadinessProbe, "/readyz"}, {"livenessProbe", ct.LivenessProbe, "/healthz"}, {"startupProbe", ct.StartupProbe, "/healthz"}} {
			switch {
			case pr.probe == nil || pr.probe.HTTPGet == nil:
				c.errorf("%s: no HTTP %s", where, pr.kind)
			case pr.probe.HTTPGet.Path != pr.path:
				c.errorf("%s: %s path %s, want %s", where, pr.kind, pr.probe.HTTPGet.Path, pr.path)
			case containerPort(ct, pr.probe.HTTPGet.Port) != opsPort:
				c.errorf("%s: %s port %s is not the ops port %d", where, pr.kind, pr.probe.HTTPGet.Port.String(), opsPort)
			}
		}

		// Rollout without losing capacity, and time to drain.
		st := d.Spec.Strategy
		if st.Type != appsv1.RollingUpdateDeploymentStrategyType || st.RollingUpdate == nil || st.RollingUpdate.MaxUnavailable == nil ||
			intOrPercent(st.RollingUpdate.MaxUnavailable, 100) != 0 || st.RollingUpdate.MaxSurge == nil || intOrPercent(st.RollingUpdate.MaxSurge, 100) < 1 {
			c.errorf("%s: strategy must be RollingUpdate with maxUnavailable 0 and a surge", where)
		}
		grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
		if grace == nil || time.Duration(*grace)*time.Second <= drain+shutdown {
			c.errorf("%s: terminationGracePeriodSeconds must exceed MUSTER_DRAIN_DELAY + MUSTER_SHUTDOWN_TIMEOUT (%s)", where, drain+shutdown)
		}
		if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
			c.errorf("%s: no topologySpreadConstraints", where)
		}
		ann := d.Spec.Template.Annotations
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(int(opsPort)) || ann["prometheus.io/path"] != "/metrics" {
			c.errorf("%s: scrape annotations must point Prometheus at :%d/metrics, got %v", where, opsPort, ann)
		}

		// Replicas: an HPA owns them, or the Deployment does.
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		for _, h := range c.r.hpas {
			if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
				continue
			}
			if d.Spec.Replicas != nil {
				c.errorf("%s: sets replicas although HorizontalPodAutoscaler %s owns them (every apply would reset it)", where, h.Name)
			}
			if h.Spec.MinReplicas == nil {
				c.errorf("HorizontalPodAutoscaler %s: no minReplicas", h.Name)
			} else {
				replicas = *h.Spec.MinReplicas
			}
		}
		if c.production && replicas < 2 {
			c.errorf("%s: %d replica(s) in production: a node drain or rollout would take the target away", where, replicas)
		}

		// Disruptions: exactly one PodDisruptionBudget covers it, and it lets
		// a node drain proceed.
		var pdbs []*policyv1.PodDisruptionBudget
		for _, p := range c.r.pdbs {
			if selects(p.Spec.Selector, podLabels) {
				pdbs = append(pdbs, p)
			}
		}
		if len(pdbs) != 1 {
			c.errorf("%s: %d PodDisruptionBudgets select its pods, want 1", where, len(pdbs))
		}
		for _, p := range pdbs {
			switch {
			case p.Spec.MaxUnavailable != nil:
				if intOrPercent(p.Spec.MaxUnavailable, int(replicas)) < 1 {
					c.errorf("PodDisruptionBudget %s: maxUnavailable %s blocks every eviction", p.Name, p.Spec.MaxUnavailable.String())
				}
			case p.Spec.MinAvailable != nil:
				if intOrPercent(p.Spec.MinAvailable, int(replicas)) >= int(replicas) {
					c.errorf("PodDisruptionBudget %s: minAvailable %s of %d replicas blocks every eviction", p.Name, p.Spec.MinAvailable.String(), replicas)
				}
			default:
				c.errorf("PodDisruptionBudget %s: neither minAvailable nor maxUnavailable", p.Name)
			}
		}

		// Network: some ingress policy selects it (so what is not allowed is
		// refused).
		covered := false
		for _, np := range c.r.netpols {
			if slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && selects(&np.Spec.PodSelector, podLabels) {
				covered = true
			}
		}
		if !covered {
			c.errorf("%s: no NetworkPolicy restricts traffic to its pods", where)
		}
	}

	for _, h := range c.r.hpas {
		found := false
		for _, d := range c.r.deployments {
			found = found || (h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == d.Name)
		}
		if !found {
			c.errorf("HorizontalPodAutoscaler %s: scales %s %s, which is not defined", h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		}
		if h.Spec.MinReplicas != nil && (*h.Spec.MinReplicas < 1 || *h.Spec.MinReplicas > h.Spec.MaxReplicas) {
			c.errorf("HorizontalPodAutoscaler %s: minReplicas %d, maxReplicas %d", h.Name, *h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		cpu := false
		for _, m := range h.Spec.Metrics {
			cpu = cpu || (m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU)
		}
		if !cpu {
			c.errorf("HorizontalPodAutoscaler %s: no CPU metric", h.Name)
		}
	}
	for _, target := range sortedKeys(c.targets) {
		if _, ok := seen[target]; !ok {
			c.errorf("target %s of the binary has no Deployment (serve --target=%s): add targets/%s.yaml", target, target, target)
		}
	}
	if len(c.r.deployments) > 0 {
		c.configAccepted(seen)
	}
}

// configAccepted runs the binary with muster-config's settings, as each
// Deployment does, and a database that refuses connections: it must get as
// far as connecting, past parsing and validating every setting.
func (c *checker) configAccepted(targets map[string]string) {
	bin := musterBinary(c.t)
	env := []string{
		"MUSTER_DATABASE_URL=postgres://muster:x@127.0.0.1:1/muster?sslmode=disable",
		"MUSTER_REDIS_URL=redis://127.0.0.1:1/0",
		"MUSTER_SECRET_KEY=" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
	}
	for k, v := range c.config {
		env = append(env, k+"="+v)
	}
	for _, target := range sortedKeys(targets) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, "serve", "--target="+target)
		cmd.Env, cmd.Stderr = env, &stderr
		err := cmd.Run()
		cancel()
		if err == nil || !strings.Contains(stderr.String(), "muster serve: start database:") {
			c.errorf("muster serve --target=%s with muster-config's settings did not get to the database: %v\n%s", target, err, stderr.String())
		}
	}
}

func intOrPercent(v *intstr.IntOrString, total int) int {
	n, err := intstr.GetScaledValueFromIntOrPercent(v, total, true)
	if err != nil {
		return -1
	}
	return n
}

// podsOf returns the Deployments a selector picks.
func (c *checker) podsOf(sel map[string]string) []*appsv1.Deployment {
	var out []*appsv1.Deployment
	if len(sel) == 0 {
		return nil
	}
	for _, d := range c.r.deployments {
		if labels.SelectorFromSet(sel).Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

// services: internal only (players come through the Ingress), each selects
// one Deployment and targets ports it has; the console's never leaves the
// cluster.
func (c *checker) services() {
	for _, s := range c.r.services {
		where := "Service " + s.Name
		ds := c.podsOf(s.Spec.Selector)
		if len(ds) != 1 {
			c.errorf("%s: selects the pods of %d Deployments, want 1", where, len(ds))
			continue
		}
		target, _ := deploymentTarget(ds[0])
		gateway := target == "realtime" && len(s.Spec.Ports) == 1 && s.Spec.Ports[0].TargetPort.StrVal == "realtime"
		switch {
		case gateway && s.Spec.Type != corev1.ServiceTypeLoadBalancer:
			c.errorf("%s: the realtime gateway's TCP port needs a LoadBalancer Service (game clients connect to it directly)", where)
		case gateway:
			// Game clients connect straight to the gateway, the one port a
			// LoadBalancer exposes.
		case s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP:
			if target == "console" {
				c.errorf("%s: the console's Service is %s: it must stay ClusterIP, inside the studio's network", where, s.Spec.Type)
			} else {
				c.errorf("%s: type %s: players come in through the Ingress, Services stay ClusterIP", where, s.Spec.Type)
			}
		}
		if len(s.Spec.ExternalIPs) > 0 {
			c.errorf("%s: externalIPs", where)
		}
		for _, p := range s.Spec.Ports {
			tp := p.TargetPort
			if tp.Type == intstr.Int && tp.IntVal == 0 {
				tp = intstr.FromInt32(p.Port)
			}
			if containerPort(ds[0].Spec.Template.Spec.Containers[0], tp) == 0 {
				c.errorf("%s: port %s targets %s, which %s's container does not have", where, p.Name, tp.String(), ds[0].Name)
			}
		}
	}
}

// ingresses: the player routes reach their targets' Services, and nothing
// reaches the console or an ops port.
func (c *checker) ingresses() {
	if len(c.r.ingresses) == 0 {
		c.errorf("no Ingress")
	}
	var routed []ingressPath
	defaultTarget := ""
	opsPort := int32(addrPort(c.t, c.setting("MUSTER_OPS_ADDR")))
	for _, ing := range c.r.ingresses {
		var backends []*networkingv1.IngressServiceBackend
		var paths []string
		var pathTypes []networkingv1.PathType
		if b := ing.Spec.DefaultBackend; b != nil {
			backends, paths, pathTypes = append(backends, b.Service), append(paths, "(default backend)"), append(pathTypes, "")
		}
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				pt := networkingv1.PathType("")
				if p.PathType != nil {
					pt = *p.PathType
				}
				if pt != networkingv1.PathTypeExact && pt != networkingv1.PathTypePrefix {
					c.errorf("Ingress %s path %s: pathType %q, want Prefix or Exact (ImplementationSpecific matches differently per controller)", ing.Name, p.Path, pt)
				}
				backends, paths, pathTypes = append(backends, p.Backend.Service), append(paths, p.Path), append(pathTypes, pt)
			}
		}
		for i, b := range backends {
			where := fmt.Sprintf("Ingress %s path %s", ing.Name, paths[i])
			if b == nil {
				c.errorf("%s: no Service backend", where)
				continue
			}
			var svc *corev1.Service
			for _, s := range c.r.services {
				if s.Name == b.Name {
					svc = s
				}
			}
			if svc == nil {
				c.errorf("%s: Service %s is not defined", where, b.Name)
				continue
			}
			var sp *corev1.ServicePort
			for j := range svc.Spec.Ports {
				if p := &svc.Spec.Ports[j]; (b.Port.Name != "" && p.Name == b.Port.Name) || (b.Port.Name == "" && p.Port == b.Port.Number) {
					sp = p
				}
			}
			if sp == nil {
				c.errorf("%s: Service %s has no port %s%d", where, svc.Name, b.Port.Name, b.Port.Number)
				continue
			}
			for _, d := range c.podsOf(svc.Spec.Selector) {
				target, _ := deploymentTarget(d)
				if target == "console" {
					c.errorf("%s: routes to the console (Service %s): the console stays inside the studio's network", where, svc.Name)
				}
				tp := sp.TargetPort
				if tp.Type == intstr.Int && tp.IntVal == 0 {
					tp = intstr.FromInt32(sp.Port)
				}
				if containerPort(d.Spec.Template.Spec.Containers[0], tp) == opsPort {
					c.errorf("%s: routes to the ops port of %s", where, d.Name)
				}
				if pathTypes[i] == "" {
					defaultTarget = target
				} else {
					routed = append(routed, ingressPath{paths[i], pathTypes[i], target})
				}
			}
		}
	}
	for _, p := range routed {
		for _, q := range routed {
			if p.path == q.path && p.pathType == q.pathType && p.target != q.target {
				c.errorf("Ingress: path %s routes to both %s and %s", p.path, p.target, q.target)
			}
		}
	}
	for _, routes := range []map[string]string{playerRoutes, c.apiRoutes} {
		for _, path := range sortedKeys(routes) {
			if got := resolve(routed, defaultTarget, path); got != routes[path] {
				c.errorf("Ingress: %s routes to %q, want target %s", path, got, routes[path])
			}
		}
	}
}

// networkPolicies: no rule admits everyone, named ports exist on the pods a
// policy selects, and the console admits nothing from the ingress
// controller's namespaces.
func (c *checker) networkPolicies() {
	for _, np := range c.r.netpols {
		where := "NetworkPolicy " + np.Name
		var selected []*appsv1.Deployment
		for _, d := range c.r.deployments {
			if selects(&np.Spec.PodSelector, d.Spec.Template.Labels) {
				selected = append(selected, d)
			}
		}
		if len(selected) == 0 {
			c.errorf("%s: selects no Deployment's pods", where)
		}
		console := false
		for _, d := range selected {
			target, _ := deploymentTarget(d)
			console = console || target == "console"
		}
		gateway := len(selected) == 1
		if gateway {
			target, _ := deploymentTarget(selected[0])
			gateway = target == "realtime"
		}
		for i, rule := range np.Spec.Ingress {
			// Only the realtime gateway's TCP port is open to every source
			// (game clients through the LoadBalancer).
			gatewayPort := gateway && len(rule.Ports) == 1 && rule.Ports[0].Port != nil && rule.Ports[0].Port.StrVal == "realtime"
			if len(rule.From) == 0 && !gatewayPort {
				c.errorf("%s: ingress rule %d admits every source", where, i)
			}
			for _, peer := range rule.From {
				if peer.IPBlock != nil && (peer.IPBlock.CIDR == "0.0.0.0/0" || peer.IPBlock.CIDR == "::/0") {
					c.errorf("%s: ingress rule %d admits %s", where, i, peer.IPBlock.CIDR)
				}
				if peer.NamespaceSelector != nil && len(peer.NamespaceSelector.MatchLabels) == 0 && len(peer.NamespaceSelector.MatchExpressions) == 0 {
					c.errorf("%s: ingress rule %d admits every namespace", where, i)
				}
				if console && peer.NamespaceSelector != nil && peer.NamespaceSelector.MatchLabels["muster.dev/ingress"] != "" {
					c.errorf("%s: admits the public ingress controller to the console", where)
				}
			}
			for _, p := range rule.Ports {
				if p.Port == nil {
					c.errorf("%s: ingress rule %d opens every port", where, i)
					continue
				}
				found := false
				for _, d := range selected {
					found = found || containerPort(d.Spec.Template.Spec.Containers[0], *p.Port) != 0
				}
				if !found {
					c.errorf("%s: port %s is not a port of the pods it selects", where, p.Port.String())
				}
			}
		}
	}
}

// cronChecks are the commands the CronJobs run, each in exactly one CronJob.
var cronChecks = []string{"audit verify", "ledger verify"}

// jobs: the migration Job runs `migrate up` and cleans up after itself; the
// audit and ledger CronJobs run `audit verify` and `ledger verify` daily, one
// at a time. No other jobs.
func (c *checker) jobs() {
	var migrate int
	crons := map[string]int{}
	for _, j := range c.r.jobs {
		where := "Job " + j.Name
		ct := j.Spec.Template.Spec.Containers
		if len(ct) != 1 || !slices.Equal(append(slices.Clone(ct[0].Command), ct[0].Args...), []string{"migrate", "up"}) {
			c.errorf("%s: not the migration Job (muster migrate up); the test knows no other Job", where)
			continue
		}
		migrate++
		if j.Spec.BackoffLimit == nil || j.Spec.TTLSecondsAfterFinished == nil {
			c.errorf("%s: needs backoffLimit and ttlSecondsAfterFinished", where)
		}
		if rp := j.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
			c.errorf("%s: restartPolicy %q", where, rp)
		}
	}
	for _, cj := range c.r.cronJobs {
		where := "CronJob " + cj.Name
		ct := cj.Spec.JobTemplate.Spec.Template.Spec.Containers
		var args string
		if len(ct) == 1 {
			args = strings.Join(append(slices.Clone(ct[0].Command), ct[0].Args...), " ")
		}
		if !slices.Contains(cronChecks, args) {
			c.errorf("%s: runs %q, not one of the checks %q; the test knows no other CronJob", where, args, cronChecks)
			continue
		}
		crons[args]++
		if f := strings.Fields(cj.Spec.Schedule); len(f) != 5 || f[2] != "*" || f[3] != "*" || f[4] != "*" {
			c.errorf("%s: schedule %q, want daily", where, cj.Spec.Schedule)
		}
		if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			c.errorf("%s: concurrencyPolicy must be Forbid", where)
		}
		if cj.Spec.FailedJobsHistoryLimit == nil || *cj.Spec.FailedJobsHistoryLimit < 1 {
			c.errorf("%s: keep failed jobs (failedJobsHistoryLimit) so the failure can alert and be read", where)
		}
	}
	if migrate != 1 {
		c.errorf("%d migration Jobs, want 1", migrate)
	}
	for _, check := range cronChecks {
		if crons[check] != 1 {
			c.errorf("%d CronJobs run muster %s, want 1", crons[check], check)
		}
	}
}

// TestSecretDocumented: the operator's Secret, its keys and the procedures
// the manifests rely on are in docs/operations.md, and the example holds no
// real value.
func TestSecretDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	keys := readEnvFile(t, filepath.Join(k8sDir, "base", "secret.example.env"))
	for _, want := range []string{"MUSTER_DATABASE_URL", "MUSTER_REDIS_URL", "MUSTER_SECRET_KEY"} {
		if _, ok := keys[want]; !ok {
			t.Errorf("secret.example.env lacks %s, which muster serve requires", want)
		}
	}
	for k, v := range keys {
		if v != "" && !strings.Contains(v, "CHANGE_ME") {
			t.Errorf("secret.example.env: %s has a value that is not a CHANGE_ME placeholder", k)
		}
		if !strings.Contains(doc, k) {
			t.Errorf("docs/operations.md does not document the Secret key %s", k)
		}
	}
	for _, want := range []string{operatorSecret, "muster-migrate", "muster-audit-verify", "muster-ledger-verify", "muster ledger verify", "docs/economy.md", "muster-inventory", "MUSTER_TRADES", "muster-store", "/v1/stripe/webhook", "MUSTER_REFUND_POLICY", "muster keys rotate", "muster staff create", "port-forward", "MUSTER_DRAIN_DELAY"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/operations.md does not mention %s", want)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
