package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// ruleFile is the Prometheus rules file format.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// kubeStateMetrics are the kube-state-metrics series the rules may read.
var kubeStateMetrics = []string{"kube_job_status_failed"}

// TestPrometheusRules decodes deploy/prometheus/rules.yaml strictly and
// checks that every expression reads only metrics muster registers (or
// kube-state-metrics), every recorded name follows level:metric:operations,
// and every alert has a severity, a summary and a runbook section that
// exists in docs/operations.md.
func TestPrometheusRules(t *testing.T) {
	rf := readRules(t)
	registered := registeredMetrics(t)
	anchors := docAnchors(t)
	recorded := map[string]bool{}
	alerts := 0
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: needs a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			if (r.Record == "") == (r.Alert == "") {
				t.Errorf("rule %q: exactly one of record and alert", name)
			}
			if strings.TrimSpace(r.Expr) == "" || strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") ||
				strings.Count(r.Expr, "{") != strings.Count(r.Expr, "}") {
				t.Errorf("rule %q: empty or unbalanced expression %q", name, r.Expr)
			}
			for _, m := range metricRef.FindAllString(r.Expr, -1) {
				if why := unknownMetric(m, registered, recorded); why != "" {
					t.Errorf("rule %q reads %s: %s", name, m, why)
				}
			}
			if r.Record != "" {
				if !regexp.MustCompile(`^muster:[a-z0-9_]+:[a-z0-9_]+$`).MatchString(r.Record) {
					t.Errorf("recording rule %q: want muster:<metric>:<operations>", r.Record)
				}
				recorded[r.Record] = true
				continue
			}
			alerts++
			if s := r.Labels["severity"]; s != "page" && s != "warn" {
				t.Errorf("alert %q: severity %q, want page or warn", name, s)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("alert %q: no summary", name)
			}
			doc, anchor, _ := strings.Cut(r.Annotations["runbook"], "#")
			if doc != "docs/operations.md" || !anchors[anchor] {
				t.Errorf("alert %q: runbook %q is not a section of docs/operations.md", name, r.Annotations["runbook"])
			}
		}
	}
	if alerts == 0 {
		t.Fatal("no alerts")
	}
}

// metricRef matches the metric names an expression reads that the tests
// check: muster's own (muster_*), the names rules.yaml records (muster:*)
// and kube-state-metrics series (kube_*).
var metricRef = regexp.MustCompile(`\b(muster_[a-z0-9_]+|kube_[a-z0-9_]+|muster:[a-z0-9_:]+)`)

// readRules decodes deploy/prometheus/rules.yaml strictly.
func readRules(t *testing.T) ruleFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("prometheus", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("rules.yaml: %v", err)
	}
	return rf
}

// recordedMetrics lists the names rules.yaml records.
func recordedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	recorded := map[string]bool{}
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	return recorded
}

// unknownMetric says why m, a name metricRef matched, is not one an
// expression may read, or returns "" when it is: a muster_* name must be
// registered by muster's Go code (a histogram's _bucket, _count and _sum
// series count as its name), a muster:* name must be in recorded, a kube_*
// name in kubeStateMetrics.
func unknownMetric(m string, registered, recorded map[string]bool) string {
	switch {
	case strings.HasPrefix(m, "muster:"):
		if !recorded[m] {
			return "no rule in rules.yaml records it (before this point)"
		}
	case strings.HasPrefix(m, "kube_"):
		if !slices.Contains(kubeStateMetrics, m) {
			return "not a kube-state-metrics series the rules expect (kubeStateMetrics)"
		}
	default:
		if !registered[trimSeriesSuffix(m)] {
			return "muster does not register it"
		}
	}
	return ""
}

// trimSeriesSuffix returns the metric family of a histogram's or summary's
// series name.
func trimSeriesSuffix(m string) string {
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
}

// promtool returns the path of Prometheus's promtool, or skips the test
// when it is not installed.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not on PATH: install Debian's prometheus package (deploy/local/services.sh does, as root) to run this check")
	}
	return path
}

// TestPromtoolCheckRules has Prometheus's own parser check rules.yaml
// (PromQL syntax, durations, label and annotation templates).
func TestPromtoolCheckRules(t *testing.T) {
	bin := promtool(t)
	out, err := exec.Command(bin, "check", "rules", filepath.Join("prometheus", "rules.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules prometheus/rules.yaml: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool check rules did not report SUCCESS:\n%s", out)
	}
}

// registeredMetrics lists the metric names muster's Go code registers (the
// Name of every prometheus option struct outside tests).
func registeredMetrics(t *testing.T) map[string]bool {
	names := map[string]bool{}
	re := regexp.MustCompile(`Name:\s+"(muster_[a-z0-9_]+)"`)
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == ".muster") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(src, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !names["muster_http_requests_total"] {
		t.Fatalf("found no registered metrics (%v): the scan is broken", names)
	}
	return names
}

// docAnchors returns the GitHub anchors of docs/operations.md's headings.
func docAnchors(t *testing.T) map[string]bool {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 -]`)
	for _, line := range strings.Split(string(raw), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			anchors[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")] = true
		}
	}
	return anchors
}
