package promql

import (
	"reflect"
	"strings"
	"testing"
)

func TestReferences(t *testing.T) {
	tests := []struct {
		name     string
		expr     string
		want     []Selector
		grouping []string
	}{
		{
			name: "a bare metric",
			expr: "mhst_area_pupils",
			want: []Selector{{Metric: "mhst_area_pupils"}},
		},
		{
			name: "matchers with every operator",
			expr: `mhst_area_condition{condition="Ready", region!="London", wave=~"1|2", area!~"x.*"}`,
			want: []Selector{{Metric: "mhst_area_condition", Matchers: []Matcher{
				{Label: "condition", Op: "=", Value: "Ready"}, {Label: "region", Op: "!=", Value: "London"},
				{Label: "wave", Op: "=~", Value: "1|2"}, {Label: "area", Op: "!~", Value: "x.*"},
			}}},
		},
		{
			name:     "aggregation before and after its argument",
			expr:     "sum by (wave) (mhst_area_pupils_covered) / sum(mhst_area_pupils) without (area, region)",
			want:     []Selector{{Metric: "mhst_area_pupils_covered"}, {Metric: "mhst_area_pupils"}},
			grouping: []string{"area", "region", "wave"},
		},
		{
			name: "functions, ranges and Grafana variables",
			expr: `sum by (controller) (rate(controller_runtime_reconcile_errors_total{controller=~"$controller"}[$__rate_interval])) / sum by (controller) (rate(controller_runtime_reconcile_total[${__rate_interval}]))`,
			want: []Selector{
				{Metric: "controller_runtime_reconcile_errors_total", Matchers: []Matcher{{Label: "controller", Op: "=~", Value: "$controller"}}},
				{Metric: "controller_runtime_reconcile_total"},
			},
			grouping: []string{"controller"},
		},
		{
			name:     "histograms, subqueries and offsets",
			expr:     "histogram_quantile(0.95, sum by (le, controller) (rate(controller_runtime_reconcile_time_seconds_bucket[5m]))) > max_over_time(workqueue_depth[1h:5m] offset 1d) * 1e3",
			want:     []Selector{{Metric: "controller_runtime_reconcile_time_seconds_bucket"}, {Metric: "workqueue_depth"}},
			grouping: []string{"controller", "le"},
		},
		{
			name: "joins and keywords",
			expr: `(time() - mhst_allocation_agreed_last_transition_timestamp_seconds{team!=""} > 28 * 86400) and on (namespace, allocation) mhst_allocation_agreed == bool 0 unless ignoring (team) group_left (region) x:recorded:ratio`,
			want: []Selector{
				{Metric: "mhst_allocation_agreed_last_transition_timestamp_seconds", Matchers: []Matcher{{Label: "team", Op: "!=", Value: ""}}},
				{Metric: "mhst_allocation_agreed"},
				{Metric: "x:recorded:ratio"},
			},
			grouping: []string{"allocation", "namespace", "region", "team"},
		},
		{
			name: "strings that look like metrics, escapes and comments",
			expr: "count_values(\"mhst_team_vacancies\", mhst_team_vacancies{team=\"a \\\"b\\\" } c\"}) # mhst_area_pupils in a comment\n or vector(0)",
			want: []Selector{{Metric: "mhst_team_vacancies", Matchers: []Matcher{{Label: "team", Op: "=", Value: `a \"b\" } c`}}}},
		},
		{
			name:     "group_left with no list, space before matchers",
			expr:     `a * on (area) group_left b {wave="1"}`,
			want:     []Selector{{Metric: "a"}, {Metric: "b", Matchers: []Matcher{{Label: "wave", Op: "=", Value: "1"}}}},
			grouping: []string{"area"},
		},
		{
			name: "topk with a variable as its parameter",
			expr: "topk($n, mhst_team_capacity_used_ratio)",
			want: []Selector{{Metric: "mhst_team_capacity_used_ratio"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := References(tt.expr)
			if err != nil {
				t.Fatalf("References: %v", err)
			}
			if !reflect.DeepEqual(got.Selectors, tt.want) {
				t.Errorf("selectors:\n got %+v\nwant %+v", got.Selectors, tt.want)
			}
			if !reflect.DeepEqual(got.Grouping, tt.grouping) {
				t.Errorf("grouping: got %v, want %v", got.Grouping, tt.grouping)
			}
		})
	}
}

func TestReferencesErrors(t *testing.T) {
	tests := []struct {
		name, expr, want string
	}{
		{"no metric name", `{__name__=~"mhst_.*"}`, "without a metric name"},
		{"unterminated string", `x{a="b}`, "unterminated string"},
		{"unclosed matchers", `x{a="b"`, "unclosed matchers"},
		{"matcher without a value", `x{a=b}`, "no quoted value"},
		{"unclosed range", `rate(x[5m)`, "no ']'"},
		{"unclosed label list", `sum by (a, x`, "unclosed label list"},
		{"no label name", `sum by ("a") (x)`, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := References(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestMetricsAndLabels(t *testing.T) {
	refs, err := References(`a{x="1", y!="2"} / b + a`)
	if err != nil {
		t.Fatal(err)
	}
	if got := refs.Metrics(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("metrics: got %v", got)
	}
	if got := refs.Selectors[0].Labels(); !reflect.DeepEqual(got, []string{"x", "y"}) {
		t.Errorf("labels: got %v", got)
	}
}
