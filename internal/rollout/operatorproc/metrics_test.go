package operatorproc

import "testing"

const scrape = `# HELP rest_client_requests_total Number of HTTP requests, partitioned by status code, method, and host.
# TYPE rest_client_requests_total counter
rest_client_requests_total{code="200",host="127.0.0.1:6443",method="GET"} 120
rest_client_requests_total{code="200",host="127.0.0.1:6443",method="PATCH"} 7
rest_client_requests_total{code="201",host="127.0.0.1:6443",method="POST"} 3
rest_client_requests_total{code="409",host="127.0.0.1:6443",method="PUT"} 2
rest_client_requests_total{code="200",host="127.0.0.1:6443",method="DELETE"} 1
controller_runtime_reconcile_total{controller="localarea",result="success"} 10
controller_runtime_reconcile_total{controller="localarea",result="error"} 2
controller_runtime_reconcile_total{controller="supportteam",result="requeue"} 5
go_memstats_heap_inuse_bytes 1.2345e+07
label_escapes{path="a\"b\\c",other="x,y"} 4 1700000000000
`

func TestParseMetrics(t *testing.T) {
	m, err := ParseMetrics(scrape)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"writes", float64(m.Writes()), 13},
		{"reconciles of every controller", float64(m.Reconciles("")), 17},
		{"reconciles of one controller", float64(m.Reconciles("localarea")), 12},
		{"reconciles of an unknown controller", float64(m.Reconciles("nothing")), 0},
		{"a sample without labels", m.Sum("go_memstats_heap_inuse_bytes", nil), 12345000},
		{"escaped label values and a timestamp", m.Sum("label_escapes", map[string][]string{"path": {`a"b\c`}, "other": {"x,y"}}), 4},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestParseMetricsRefuses(t *testing.T) {
	for _, text := range []string{
		"no_value",
		`unterminated{a="b} 1`,
		`bad_value{a="b"} one`,
		`missing_quote{a=b} 1`,
	} {
		if _, err := ParseMetrics(text); err == nil {
			t.Errorf("ParseMetrics(%q) succeeded", text)
		}
	}
}
