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
	registered := registeredMetrics(t)
	anchors := docAnchors(t)
	recorded := map[string]bool{}
	metric := regexp.MustCompile(`\b(muster_[a-z0-9_]+|kube_[a-z0-9_]+|muster:[a-z0-9_:]+)`)
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
			for _, m := range metric.FindAllString(r.Expr, -1) {
				switch {
				case strings.HasPrefix(m, "muster:"):
					if !recorded[m] {
						t.Errorf("rule %q reads %s before any rule records it", name, m)
					}
				case strings.HasPrefix(m, "kube_"):
					if !slices.Contains(kubeStateMetrics, m) {
						t.Errorf("rule %q reads %s, not a kube-state-metrics series the rules expect", name, m)
					}
				default:
					base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
					if !registered[base] {
						t.Errorf("rule %q reads %s, which muster does not register", name, m)
					}
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
