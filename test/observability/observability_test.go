// Package observability tests what the chart ships for monitoring the
// operator: the alerts (charts/mhst-operator/files/prometheus-rules.yaml)
// and the Grafana dashboard (files/dashboard.json). Every metric and label
// their queries name must be one the operator exports, as the metrics
// registry of controllers/metrics.go and controller-runtime describes it,
// so that they cannot drift from the code; promtool checks their syntax and
// runs the alerts' unit tests (rules_test.yaml, and plan_rules_test.yaml for
// the plan's alerts, evaluated at their group's interval).
//
// promtool is the one of $PROMTOOL, else the PATH, else ./bin (where
// hack/test-tools.sh puts it); without it the tests fail.
package observability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	"github.com/mhst-io/mhst-operator/controllers"
	"github.com/mhst-io/mhst-operator/internal/promql"
)

const (
	rulesFile     = "../../charts/mhst-operator/files/prometheus-rules.yaml"
	dashboardFile = "../../charts/mhst-operator/files/dashboard.json"
	rulesTests    = "rules_test.yaml"
	// planRulesTests tests the mhst-plan group, whose rules Prometheus
	// evaluates every 15 minutes; promtool evaluates every group at the
	// test file's evaluation_interval.
	planRulesTests = "plan_rules_test.yaml"
	docsFile       = "../../docs/observability.md"
)

// catalogue maps every metric name the operator exports to its label names.
type catalogue map[string][]string

// exported describes controller-runtime's registry, which the operator
// serves: its own gauges (registered by the controllers package) and
// controller-runtime's, client-go's and the Go runtime's metrics. Describe
// lists every metric, also those with no series yet.
func exported(t *testing.T) catalogue {
	t.Helper()
	descs := make(chan *prometheus.Desc)
	go func() {
		metrics.Registry.(prometheus.Collector).Describe(descs)
		close(descs)
	}()
	// Desc has no accessors; its String is the only public form of the
	// name and labels.
	nameRE := regexp.MustCompile(`^Desc\{fqName: "([^"]+)"`)
	cat := catalogue{}
	for d := range descs {
		s := d.String()
		m := nameRE.FindStringSubmatch(s)
		i := strings.LastIndex(s, "variableLabels: {")
		if m == nil || i < 0 {
			t.Fatalf("cannot read the metric description %s", s)
		}
		var labels []string
		for _, l := range strings.Split(strings.TrimSuffix(s[i+len("variableLabels: {"):], "}}"), ",") {
			if l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"); l != "" {
				labels = append(labels, l)
			}
		}
		cat[m[1]] = labels
	}
	if _, ok := cat["mhst_area_pupils"]; !ok {
		t.Fatal("the operator's metrics are not in the registry")
	}
	return cat
}

// histogramSuffixes are the series names of a histogram or summary.
var histogramSuffixes = []string{"_bucket", "_sum", "_count"}

// labelsOf returns the label names of a series name, and whether the
// operator exports it.
func (c catalogue) labelsOf(series string) ([]string, bool) {
	if labels, ok := c[series]; ok {
		return labels, true
	}
	for _, suffix := range histogramSuffixes {
		base, found := strings.CutSuffix(series, suffix)
		if labels, ok := c[base]; found && ok {
			if suffix == "_bucket" {
				labels = append(slices.Clone(labels), "le")
			}
			return labels, true
		}
	}
	return nil, false
}

// controllersRegex is the matcher value that selects the operator's
// controllers, and no other operator's, in controller-runtime's metrics.
func controllersRegex() string { return strings.Join(controllers.ControllerNames, "|") }

// check lists what is wrong with one query: metrics the operator does not
// export, labels they do not have, and controller-runtime metrics not
// narrowed to the operator's controllers.
func (c catalogue) check(expr string) []string {
	refs, err := promql.References(expr)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	var known []string // every label of the metrics selected
	for _, sel := range refs.Selectors {
		labels, ok := c.labelsOf(sel.Metric)
		if !ok {
			problems = append(problems, fmt.Sprintf("the operator exports no metric %s", sel.Metric))
			continue
		}
		known = append(known, labels...)
		for _, label := range sel.Labels() {
			if !slices.Contains(labels, label) {
				problems = append(problems, fmt.Sprintf("%s has no label %s (it has %v)", sel.Metric, label, labels))
			}
		}
		if by := operatorLabel(sel.Metric); by != "" && !slices.Contains(sel.Matchers, promql.Matcher{Label: by, Op: "=~", Value: controllersRegex()}) {
			problems = append(problems, fmt.Sprintf("%s must be narrowed to the operator's controllers with %s=~%q", sel.Metric, by, controllersRegex()))
		}
	}
	for _, label := range refs.Grouping {
		if !slices.Contains(known, label) {
			problems = append(problems, fmt.Sprintf("groups or joins by %s, which none of %v has", label, refs.Metrics()))
		}
	}
	return problems
}

// operatorLabel is the label that tells the operator's series of a
// controller-runtime metric from other operators': controller, or name for
// the work queues. "" for the operator's own metrics.
func operatorLabel(metric string) string {
	switch {
	case strings.HasPrefix(metric, "controller_runtime_"):
		return "controller"
	case strings.HasPrefix(metric, "workqueue_"):
		return "name"
	}
	return ""
}

// promtool finds the promtool binary, or fails the test.
func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if p, err := filepath.Abs("../../bin/promtool"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("promtool is not installed: run `make test` (hack/test-tools.sh promtool provides it), or set PROMTOOL")
	return ""
}

// runPromtool runs promtool in dir and fails the test with its output when
// it fails.
func runPromtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), promtool(t), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

// ruleFile is Prometheus' rule file format, as much as the tests read.
type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval"`
		Rules    []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Record      string            `json:"record"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func readRuleFile(t *testing.T) ruleFile {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatalf("read the rules: %v", err)
	}
	var f ruleFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		t.Fatalf("parse %s: %v", rulesFile, err)
	}
	return f
}

// groupInterval is the evaluation interval of a group of the rules.
func groupInterval(t *testing.T, name string) string {
	t.Helper()
	for _, g := range readRuleFile(t).Groups {
		if g.Name == name {
			if g.Interval == "" {
				t.Fatalf("group %s of %s has no interval", name, rulesFile)
			}
			return g.Interval
		}
	}
	t.Fatalf("%s has no group %s", rulesFile, name)
	return ""
}

func readRules(t *testing.T) []rule {
	t.Helper()
	f := readRuleFile(t)
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s has no rules", rulesFile)
	}
	return rules
}

// TestAlertRules: every alert queries only exported metrics, says what to
// do, can be routed, and is explained in docs/observability.md.
func TestAlertRules(t *testing.T) {
	cat := exported(t)
	docs, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatalf("read the docs: %v", err)
	}
	for _, r := range readRules(t) {
		t.Run(r.Alert, func(t *testing.T) {
			if r.Alert == "" {
				t.Fatalf("rule %q is not an alert: the file holds alerts only", r.Record)
			}
			for _, p := range cat.check(r.Expr) {
				t.Error(p)
			}
			for key, text := range r.Annotations {
				for _, q := range annotationQueries(text) {
					for _, p := range cat.check(q) {
						t.Errorf("%s annotation, query %s: %s", key, q, p)
					}
				}
			}
			if s := r.Labels["severity"]; !slices.Contains([]string{"critical", "warning", "info"}, s) {
				t.Errorf("severity %q: want critical, warning or info", s)
			}
			if a := r.Labels["audience"]; !slices.Contains([]string{"platform", "regional-lead"}, a) {
				t.Errorf("audience %q: want platform or regional-lead", a)
			}
			for _, key := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[key]) == "" {
					t.Errorf("no %s annotation", key)
				}
			}
			anchor := "#" + strings.ToLower(r.Alert)
			if !strings.HasSuffix(r.Annotations["runbook_url"], "/docs/observability.md"+anchor) {
				t.Errorf("runbook_url %s: want docs/observability.md%s", r.Annotations["runbook_url"], anchor)
			}
			if !bytes.Contains(docs, []byte("### "+r.Alert+"\n")) {
				t.Errorf("docs/observability.md has no heading ### %s", r.Alert)
			}
		})
	}
}

// annotationQuery finds the queries an annotation's template runs:
// {{ with printf "QUERY" ARGS | query }}.
var annotationQuery = regexp.MustCompile(`printf\s+"((?:[^"\\]|\\.)*)"[^}|]*\|\s*query\b`)

// queryArguments stand in for the arguments of an annotation's query, so
// that it can be checked like an alert's expression.
var queryArguments = strings.NewReplacer(`%q`, `"x"`, `%s`, `x`)

// annotationQueries are the queries an annotation runs, their arguments
// filled in.
func annotationQueries(text string) []string {
	var queries []string
	for _, m := range annotationQuery.FindAllStringSubmatch(text, -1) {
		q, err := strconv.Unquote(`"` + m[1] + `"`)
		if err != nil {
			q = m[1]
		}
		queries = append(queries, queryArguments.Replace(q))
	}
	return queries
}

// TestAlertRulesWithPromtool checks the rules' syntax and runs their unit
// tests; every alert must have a test in which it fires, and one in which
// it stays quiet.
func TestAlertRulesWithPromtool(t *testing.T) {
	testFiles := []string{rulesTests, planRulesTests}
	runPromtool(t, ".", "check", "rules", rulesFile)
	runPromtool(t, ".", append([]string{"test", "rules"}, testFiles...)...)

	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, file := range testFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var tests struct {
			EvaluationInterval string `json:"evaluation_interval"`
			Tests              []struct {
				AlertRuleTest []struct {
					Alertname string `json:"alertname"`
					ExpAlerts []any  `json:"exp_alerts"`
				} `json:"alert_rule_test"`
			} `json:"tests"`
		}
		if err := yaml.Unmarshal(data, &tests); err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		if file == planRulesTests {
			// promtool evaluates every group at the file's interval: it
			// must be the one Prometheus evaluates the plan's rules at.
			if want := groupInterval(t, "mhst-plan"); tests.EvaluationInterval != want {
				t.Errorf("%s evaluates every %s; the mhst-plan group's interval is %s", file, tests.EvaluationInterval, want)
			}
		}
		for _, tc := range tests.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
	}
	for _, r := range readRules(t) {
		if !fires[r.Alert] {
			t.Errorf("%s: no test in %v where it fires", r.Alert, testFiles)
		}
		if !quiet[r.Alert] {
			t.Errorf("%s: no test in %v where it stays quiet (exp_alerts: [])", r.Alert, testFiles)
		}
	}
}

// docMetric is one row of a metrics table of docs/observability.md.
type docMetric struct {
	labels []string
	line   int
}

// metricRow is a row of a metrics table: | `name` | labels | meaning |.
var metricRow = regexp.MustCompile("^\\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \\|([^|]*)\\|")

var backquoted = regexp.MustCompile("`([^`]+)`")

// docMetrics reads the tables of the Metrics section of docs/observability.md,
// and returns that section.
func docMetrics(t *testing.T, docs string) (map[string]docMetric, string) {
	t.Helper()
	start := strings.Index(docs, "\n## Metrics\n")
	if start < 0 {
		t.Fatalf("%s has no section ## Metrics", docsFile)
	}
	section := docs[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	first := strings.Count(docs[:start+1], "\n") + 1
	rows := map[string]docMetric{}
	for i, line := range strings.Split(section, "\n") {
		m := metricRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if prev, ok := rows[m[1]]; ok {
			t.Errorf("%s:%d: %s is listed again (first on line %d)", docsFile, first+i, m[1], prev.line)
		}
		var labels []string
		for _, l := range backquoted.FindAllStringSubmatch(m[2], -1) {
			labels = append(labels, l[1])
		}
		rows[m[1]] = docMetric{labels: labels, line: first + i}
	}
	return rows, section
}

// mhstName is an mhst_ metric name in prose, code or a table.
var mhstName = regexp.MustCompile(`\bmhst_[a-z0-9_]*[a-z0-9]\b`)

// TestMetricsDocumented: docs/observability.md lists every metric the
// operator registers with its labels, names only metrics that exist, and
// names the operator's controllers as controllers.ControllerNames does.
func TestMetricsDocumented(t *testing.T) {
	cat := exported(t)
	data, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatalf("read the docs: %v", err)
	}
	docs := string(data)
	rows, section := docMetrics(t, docs)

	for name, labels := range cat {
		if !strings.HasPrefix(name, "mhst_") {
			continue
		}
		if _, ok := rows[name]; !ok {
			t.Errorf("%s (labels %v) is registered by the operator and not in a table of %s's Metrics", name, labels, docsFile)
		}
	}
	for name, row := range rows {
		labels, ok := cat[name]
		if !ok {
			t.Errorf("%s:%d: the operator exports no metric %s", docsFile, row.line, name)
			continue
		}
		if !sameSet(row.labels, labels) {
			t.Errorf("%s:%d: %s has labels %v, the table says %v", docsFile, row.line, name, labels, row.labels)
		}
	}

	// Every mhst_ metric any page names, in prose or a query, exists.
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	for _, page := range append(pages, "../../README.md") {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(text), "\n") {
			for _, name := range mhstName.FindAllString(line, -1) {
				if _, ok := cat.labelsOf(name); !ok {
					t.Errorf("%s:%d: the operator exports no metric %s", page, i+1, name)
				}
			}
		}
	}

	// The controllers' names, which the alerts and the dashboard select
	// controller-runtime's series by.
	listed := regexp.MustCompile("(?s)names\\s*\\(([^()]*?);\\s*`controllers\\.ControllerNames`\\)").FindStringSubmatch(section)
	if listed == nil {
		t.Fatalf("%s's Metrics does not list the controllers' names as (`a`, `b`, ...; `controllers.ControllerNames`)", docsFile)
	}
	var names []string
	for _, n := range backquoted.FindAllStringSubmatch(listed[1], -1) {
		names = append(names, n[1])
	}
	if !sameSet(names, controllers.ControllerNames) {
		t.Errorf("%s names the controllers %v; controllers.ControllerNames are %v", docsFile, names, controllers.ControllerNames)
	}
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// dashboard is a Grafana dashboard, as much as the tests read. Panels nest
// in collapsed rows.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int                       `json:"id"`
	Type       string                    `json:"type"`
	Title      string                    `json:"title"`
	GridPos    *struct{ X, Y, W, H int } `json:"gridPos"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatalf("read the dashboard: %v", err)
	}
	if !json.Valid(data) {
		t.Fatalf("%s is not valid JSON", dashboardFile)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("parse %s: %v", dashboardFile, err)
	}
	return d
}

// queryPanels are the panels that query, rows opened.
func queryPanels(panels []panel) []panel {
	var out []panel
	for _, p := range panels {
		if p.Type == "row" {
			out = append(out, queryPanels(p.Panels)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// TestDashboard: the dashboard is valid JSON Grafana can import, and every
// panel queries only exported metrics and labels, through the dashboard's
// data source variable.
func TestDashboard(t *testing.T) {
	cat := exported(t)
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Fatalf("uid %q, title %q, schemaVersion %d: Grafana needs all three", d.UID, d.Title, d.SchemaVersion)
	}
	panels := queryPanels(d.Panels)
	if len(panels) == 0 {
		t.Fatal("no panels")
	}
	ids := map[int]bool{}
	for _, p := range panels {
		t.Run(p.Title, func(t *testing.T) {
			if ids[p.ID] {
				t.Errorf("panel id %d repeats", p.ID)
			}
			ids[p.ID] = true
			if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
				t.Error("no size (gridPos)")
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Error("the data source is not the dashboard's ${datasource} variable")
			}
			if len(p.Targets) == 0 {
				t.Fatal("no query")
			}
			for _, target := range p.Targets {
				for _, problem := range cat.check(target.Expr) {
					t.Errorf("query %s: %s", target.RefID, problem)
				}
			}
		})
	}
	labelValues := regexp.MustCompile(`^label_values\((\w+), (\w+)\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(metric, label)", v.Name, v.Definition)
			continue
		}
		if labels, ok := cat.labelsOf(m[1]); !ok || !slices.Contains(labels, m[2]) {
			t.Errorf("variable %s: the operator exports no %s with label %s", v.Name, m[1], m[2])
		}
	}
}

// grafanaVariables are the dashboard's variables outside strings, and what
// stands in for them in a query promtool reads.
var grafanaVariables = strings.NewReplacer("${__rate_interval}", "5m", "$__rate_interval", "5m")

// TestDashboardQueriesWithPromtool checks every query's syntax with
// promtool, as recording rules.
func TestDashboardQueriesWithPromtool(t *testing.T) {
	var f struct {
		Groups []map[string]any `json:"groups"`
	}
	var rules []map[string]string
	for _, p := range queryPanels(readDashboard(t).Panels) {
		for _, target := range p.Targets {
			rules = append(rules, map[string]string{
				"record": fmt.Sprintf("dashboard:panel_%d_%s", p.ID, target.RefID),
				"expr":   grafanaVariables.Replace(target.Expr),
			})
		}
	}
	f.Groups = []map[string]any{{"name": "dashboard", "rules": rules}}
	data, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, ".", "check", "rules", path)
}

// TestCheckFindsDrift: the check catches what drift looks like.
func TestCheckFindsDrift(t *testing.T) {
	cat := exported(t)
	ours := `controller=~"` + controllersRegex() + `"`
	tests := []struct {
		expr, want string // want "" means no problem
	}{
		{`sum by (region) (mhst_area_pupils_covered) / sum by (region) (mhst_area_pupils)`, ""},
		{`histogram_quantile(0.9, sum by (le) (rate(controller_runtime_reconcile_time_seconds_bucket{` + ours + `}[5m])))`, ""},
		{`mhst_area_pupil_covered`, "no metric mhst_area_pupil_covered"},
		{`mhst_area_pupils{team="x"}`, "has no label team"},
		{`sum by (team) (mhst_area_pupils)`, "groups or joins by team"},
		{`rate(controller_runtime_reconcile_errors_total[5m])`, "must be narrowed"},
		{`workqueue_depth{name=~"localarea"}`, "must be narrowed"},
		{`{__name__="mhst_area_pupils"}`, "without a metric name"},
	}
	for _, tt := range tests {
		problems := strings.Join(cat.check(tt.expr), "; ")
		switch {
		case tt.want == "" && problems != "":
			t.Errorf("%s: want no problem, got %s", tt.expr, problems)
		case tt.want != "" && !strings.Contains(problems, tt.want):
			t.Errorf("%s: want a problem with %q, got %q", tt.expr, tt.want, problems)
		}
	}

	// The queries a description runs are found and checked the same way.
	description := `it is {{ with printf "max(mhst_area_pupil_short{area=%q, team=\"x\"})" $labels.area | query }}{{ . | first | value }}{{ end }} short`
	queries := annotationQueries(description)
	if want := `max(mhst_area_pupil_short{area="x", team="x"})`; len(queries) != 1 || queries[0] != want {
		t.Fatalf("annotationQueries(%q) = %q, want [%q]", description, queries, want)
	}
	if problems := strings.Join(cat.check(queries[0]), "; "); !strings.Contains(problems, "no metric mhst_area_pupil_short") {
		t.Errorf("%s: want a problem with the metric, got %q", queries[0], problems)
	}
}
