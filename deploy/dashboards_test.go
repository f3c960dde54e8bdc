package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/musterhq/muster/web"
)

// dashboardFiles are the Grafana dashboards deploy/grafana must hold.
var dashboardFiles = []string{"overview.json", "targets.json", "economy.json", "matchmaking.json"}

// dashboard is the part of Grafana's dashboard JSON model that Muster's
// dashboards use. They are decoded with unknown fields refused, so a
// misspelt or unexpected field fails; only panel options and field
// configuration, whose schema belongs to each panel plugin, and a
// variable's current selection, which Grafana owns, are taken as they are.
type dashboard struct {
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	Tags          []string `json:"tags"`
	Timezone      string   `json:"timezone"`
	Editable      bool     `json:"editable"`
	GraphTooltip  int      `json:"graphTooltip"`
	Refresh       string   `json:"refresh"`
	SchemaVersion int      `json:"schemaVersion"`
	Version       int      `json:"version"`
	Time          struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Type       string          `json:"type"`
	Datasource *datasourceRef  `json:"datasource"`
	Query      string          `json:"query"`
	Definition string          `json:"definition"`
	Refresh    int             `json:"refresh"`
	Sort       int             `json:"sort"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"` // what "All" stands for in a query; empty: every value listed
	Current    json.RawMessage `json:"current"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceRef `json:"datasource"`
	GridPos     struct {
		H int `json:"h"`
		W int `json:"w"`
		X int `json:"x"`
		Y int `json:"y"`
	} `json:"gridPos"`
	FieldConfig *struct {
		Defaults  map[string]any `json:"defaults"`
		Overrides []any          `json:"overrides"`
	} `json:"fieldConfig"`
	Options   map[string]any `json:"options"`
	Targets   []query        `json:"targets"`
	Collapsed bool           `json:"collapsed"`
	Panels    []panel        `json:"panels"` // a row's collapsed panels
}

type query struct {
	RefID        string         `json:"refId"`
	Datasource   *datasourceRef `json:"datasource"`
	Expr         string         `json:"expr"`
	LegendFormat string         `json:"legendFormat"`
	Instant      bool           `json:"instant"`
}

// panelTypes are the Grafana panel types the dashboards may use.
var panelTypes = []string{"row", "timeseries", "stat"}

// grafanaGlobals are Grafana's built-in variables an expression may use.
var grafanaGlobals = []string{"__rate_interval", "__interval", "__range"}

// prometheus is the datasource every panel and query names: the
// dashboard's own datasource variable, so that a dashboard imports onto
// any Prometheus.
var prometheus = datasourceRef{Type: "prometheus", UID: "${datasource}"}

func readDashboard(path string) (*dashboard, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the dashboard object")
	}
	return &d, nil
}

// exportedRuntimeMetrics lists the go_* and process_* families that the
// binary's registry (web.NewRegistry) exports.
func exportedRuntimeMetrics(t *testing.T) map[string]bool {
	t.Helper()
	mfs, err := web.NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	if !names["go_goroutines"] || !names["process_cpu_seconds_total"] {
		t.Fatalf("the registry exports no Go or process metrics: %v", names)
	}
	return names
}

// dashboardExprs returns every PromQL expression of d: its panels' queries
// and its query variables'.
func dashboardExprs(d *dashboard) map[string]string {
	exprs := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			exprs["variable "+v.Name] = v.Query
		}
	}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, q := range p.Targets {
				exprs[fmt.Sprintf("panel %q query %s", p.Title, q.RefID)] = q.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return exprs
}

var (
	runtimeRef = regexp.MustCompile(`\b((?:go|process)_[a-z0-9_]+)`)
	varRef     = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
)

// TestGrafanaDashboards decodes every dashboard under deploy/grafana
// strictly and checks its structure (title, unique uid, panels on the grid
// with the dashboard's Prometheus datasource, queries with expressions and
// defined variables), that every metric a query names is one the binary
// exports or rules.yaml records, and that docs/operations.md describes it.
func TestGrafanaDashboards(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("grafana", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range dashboardFiles {
		if !slices.Contains(files, filepath.Join("grafana", want)) {
			t.Errorf("grafana/%s is missing", want)
		}
	}
	registered := registeredMetrics(t)
	recorded := recordedMetrics(t)
	runtime := exportedRuntimeMetrics(t)
	ops, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]string{}
	for _, path := range files {
		name := filepath.Base(path)
		d, err := readDashboard(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		errorf := func(format string, args ...any) {
			t.Helper()
			t.Errorf(name+": "+format, args...)
		}
		if !strings.HasPrefix(d.Title, "Muster") {
			errorf("title %q: want one starting with Muster", d.Title)
		}
		if !regexp.MustCompile(`^muster-[a-z0-9-]{1,33}$`).MatchString(d.UID) {
			errorf("uid %q: want muster-<name>, at most 40 characters", d.UID)
		}
		if other, dup := uids[d.UID]; dup {
			errorf("uid %q is also %s's", d.UID, other)
		}
		uids[d.UID] = name
		if d.SchemaVersion < 36 || d.Time.From == "" || d.Time.To == "" {
			errorf("schemaVersion %d, time %+v: want schema 36 or later and a time range", d.SchemaVersion, d.Time)
		}
		if !bytes.Contains(ops, []byte("deploy/grafana/"+name)) {
			errorf("docs/operations.md does not describe deploy/grafana/%s", name)
		}

		vars := map[string]bool{}
		for _, v := range d.Templating.List {
			vars[v.Name] = true
			switch v.Type {
			case "datasource":
				if v.Name != "datasource" || v.Query != "prometheus" {
					errorf("datasource variable %q of %q: want datasource, of prometheus", v.Name, v.Query)
				}
			case "query":
				if v.Datasource == nil || *v.Datasource != prometheus || !strings.HasPrefix(v.Query, "label_values(") {
					errorf("variable %q: want a label_values query on %s", v.Name, prometheus.UID)
				}
			default:
				errorf("variable %q: type %q, want datasource or query", v.Name, v.Type)
			}
		}
		if !vars["datasource"] {
			errorf("no datasource variable: panels must name ${datasource}")
		}

		checkPanels(errorf, d.Panels)

		exprs := dashboardExprs(d)
		if len(exprs) < 5 {
			errorf("only %d queries", len(exprs))
		}
		for where, expr := range exprs {
			if !balanced(expr) {
				errorf("%s: unbalanced expression %q", where, expr)
			}
			for _, m := range metricRef.FindAllString(expr, -1) {
				if why := unknownMetric(m, registered, recorded); why != "" {
					errorf("%s reads %s: %s", where, m, why)
				}
			}
			for _, m := range runtimeRef.FindAllString(expr, -1) {
				if !runtime[trimSeriesSuffix(m)] {
					errorf("%s reads %s, which the binary's Go and process collectors do not export", where, m)
				}
			}
			for _, m := range varRef.FindAllStringSubmatch(expr, -1) {
				if !vars[m[1]] && !slices.Contains(grafanaGlobals, m[1]) {
					errorf("%s uses $%s, which is neither a variable of the dashboard nor Grafana's", where, m[1])
				}
			}
		}
	}
}

// checkPanels checks panel types, ids, the grid and every query.
func checkPanels(errorf func(string, ...any), panels []panel) {
	ids := map[int]bool{}
	var placed []panel
	for _, p := range panels {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if p.ID <= 0 || ids[p.ID] {
			errorf("%s: id missing or used twice", where)
		}
		ids[p.ID] = true
		if p.Title == "" || !slices.Contains(panelTypes, p.Type) {
			errorf("%s: want a title and a type of %v, have %q", where, panelTypes, p.Type)
		}
		g := p.GridPos
		if g.W < 1 || g.H < 1 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			errorf("%s: gridPos %+v is off Grafana's 24-column grid", where, g)
		}
		for _, q := range placed {
			o := q.GridPos
			if g.X < o.X+o.W && o.X < g.X+g.W && g.Y < o.Y+o.H && o.Y < g.Y+g.H {
				errorf("%s overlaps panel %d %q", where, q.ID, q.Title)
			}
		}
		placed = append(placed, p)
		if p.Type == "row" {
			if len(p.Targets) > 0 || len(p.Panels) > 0 || p.Collapsed {
				errorf("%s: rows stay open and hold no queries", where)
			}
			continue
		}
		if p.Description == "" {
			errorf("%s: no description", where)
		}
		if p.Datasource == nil || *p.Datasource != prometheus {
			errorf("%s: datasource %v, want %v", where, p.Datasource, prometheus)
		}
		if p.FieldConfig == nil || p.Options == nil {
			errorf("%s: no fieldConfig or options", where)
		}
		if len(p.Targets) == 0 {
			errorf("%s: no queries", where)
		}
		refs := map[string]bool{}
		for _, q := range p.Targets {
			if q.RefID == "" || refs[q.RefID] {
				errorf("%s: refId %q missing or used twice", where, q.RefID)
			}
			refs[q.RefID] = true
			if strings.TrimSpace(q.Expr) == "" {
				errorf("%s query %s: no expr", where, q.RefID)
			}
			if q.Datasource != nil && *q.Datasource != prometheus {
				errorf("%s query %s: datasource %v, want %v", where, q.RefID, q.Datasource, prometheus)
			}
		}
	}
}

// balanced reports whether expr's brackets, braces and parentheses pair up
// outside string literals.
func balanced(expr string) bool {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	var quote rune
	for i, r := range expr {
		switch {
		case quote != 0:
			if r == quote && (i == 0 || expr[i-1] != '\\') {
				quote = 0
			}
		case r == '"' || r == '\'' || r == '`':
			quote = r
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case pairs[r] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && quote == 0
}

// TestPromtoolDashboardQueries has promtool parse every dashboard query, as
// a recording rule of a generated rules file, with Grafana's variables
// replaced by values Prometheus accepts.
func TestPromtoolDashboardQueries(t *testing.T) {
	bin := promtool(t)
	replacer := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$job", ".*", "$instance", ".*",
		"$queue", ".*", "$region", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n")
	n := 0
	for _, name := range dashboardFiles {
		d, err := readDashboard(filepath.Join("grafana", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fmt.Fprintf(&rules, "  - name: %s\n    rules:\n", strings.TrimSuffix(name, ".json"))
		for where, expr := range dashboardExprs(d) {
			if strings.HasPrefix(expr, "label_values(") {
				// label_values(metric, label) is Grafana's: check its selector.
				expr = strings.TrimSuffix(strings.TrimPrefix(expr, "label_values("), ")")
				expr = expr[:strings.LastIndex(expr, ",")]
			}
			n++
			q, _ := json.Marshal(replacer.Replace(expr)) // a JSON string is a YAML string
			fmt.Fprintf(&rules, "      - record: dashboard_query_%d # %s %s\n        expr: %s\n", n, name, where, q)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboards.rules.yaml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "check", "rules", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("SUCCESS: %d rules found", n)) {
		t.Fatalf("promtool check rules on the dashboards' %d queries: %v\n%s\n%s", n, err, out, rules.String())
	}
}
