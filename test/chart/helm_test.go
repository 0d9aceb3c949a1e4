// Package chart tests the Helm chart charts/mhst-operator: it lints,
// refuses values it does not know, stays identical to what config/ ships,
// and what it renders is accepted by a real API server and grants the
// operator no more than it needs.
//
// The tests run the helm binary named by the HELM environment variable
// (`make test-chart` sets it) and are skipped without it.
package chart

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mhst-io/mhst-operator/internal/manifests"
)

const (
	chartDir    = "../../charts/mhst-operator"
	releaseName = "mhst-operator"
	releaseNS   = "mhst-system"
)

// helmBinary is the helm to run, or skips the test when there is none.
func helmBinary(t *testing.T) string {
	t.Helper()
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Skip("HELM is not set: run `make test-chart`, which installs the pinned helm")
	}
	return helm
}

// runHelm runs helm with args and stdin, and returns its standard output;
// the error carries its standard error.
func runHelm(t *testing.T, stdin string, args ...string) ([]byte, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), helmBinary(t), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// render runs `helm template` for a release in namespace ns with values
// (YAML; empty for the chart's defaults), CRDs included.
func render(t *testing.T, ns, values string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	args := []string{"template", releaseName, chartDir, "--namespace", ns, "--include-crds"}
	if values != "" {
		args = append(args, "--values", "-") // from stdin
	}
	out, err := runHelm(t, values, args...)
	if err != nil {
		return nil, err
	}
	objs, err := manifests.Read(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("read the rendered chart: %w", err)
	}
	return objs, nil
}

// mustRender is render for values that must be accepted.
func mustRender(t *testing.T, ns, values string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := render(t, ns, values)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// find returns the rendered object of that kind and name, or nil.
func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// ofKind returns the rendered objects of one kind.
func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func TestLint(t *testing.T) {
	if _, err := runHelm(t, "", "lint", "--strict", chartDir); err != nil {
		t.Fatal(err)
	}
}

// TestValuesSchema: values.schema.json turns a typo or a wrong type into an
// error at install, instead of a setting silently ignored.
func TestValuesSchema(t *testing.T) {
	tests := []struct {
		name    string
		values  string
		wantErr string // empty: accepted
	}{
		{"defaults", "", ""},
		{"every documented setting", "replicas: 3\nlogLevel: debug\ntenancy:\n  restrictEgress: false\nmetrics:\n  port: 9443\n  certSecret: mhst-operator-metrics-cert\n  prometheusServiceAccount: {name: prometheus-k8s, namespace: monitoring}\n  serviceMonitor:\n    enabled: true\n    interval: 1m\n    labels: {release: prometheus}\n    tokenSecret: {name: prometheus-token, key: token}\n    tlsConfig:\n      insecureSkipVerify: false\n      ca: {secret: {name: mhst-operator-metrics-cert, key: ca.crt}}\n      serverName: mhst-operator-metrics.mhst-system.svc\n  prometheusRule: {enabled: true, labels: {release: prometheus}}\n  grafanaDashboard: {enabled: true, namespace: monitoring, labels: {team: platform}, annotations: {grafana_folder: MHST}}\nnetworkPolicy:\n  enabled: true\n  metricsNamespaceSelector:\n    matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [monitoring]}]\nadmissionPolicies:\n  enabled: false\nresources:\n  requests: {cpu: 200m, memory: 256Mi}\nblueprints:\n  allowedPriorityClasses: [mhst-standard, mhst.high]\nsnapshots:\n  dates: [03-31, 09-30]\nextraArgs: [--zap-encoder=console]\n", ""},
		{"no scheduled snapshots", "snapshots:\n  dates: []\n", ""},
		{"snapshot date with the year", "snapshots:\n  dates: [2026-03-31]\n", "dates"},
		{"snapshot date as one string", "snapshots:\n  dates: 03-31,09-30\n", "dates"},
		{"snapshot month 13", "snapshots:\n  dates: [13-01]\n", "dates"},
		{"misspelt snapshots setting", "snapshots:\n  date: [03-31]\n", "date"},
		{"misspelt top-level key", "replica: 3\n", "replica"},
		{"misspelt nested key", "metrics:\n  serviceMonitor:\n    enable: true\n", "enable"},
		{"misspelt tenancy default", "tenancy:\n  restrictEgres: true\n", "restrictEgres"},
		{"replicas as a string", "replicas: \"2\"\n", "replicas"},
		{"no replicas", "replicas: 0\n", "replicas"},
		{"unknown log level", "logLevel: verbose\n", "logLevel"},
		{"metrics on the health port", "metrics:\n  port: 8081\n", "port"},
		{"extra argument that is not a flag", "extraArgs: [restrict-egress]\n", "extraArgs"},
		{"unknown resource", "resources:\n  requests: {gpu: 1}\n", "gpu"},
		{"misspelt blueprints setting", "blueprints:\n  allowedPriorityClass: [mhst-high]\n", "allowedPriorityClass"},
		{"priority classes as one string", "blueprints:\n  allowedPriorityClasses: mhst-standard,mhst-high\n", "allowedPriorityClasses"},
		{"priority class that is no name", "blueprints:\n  allowedPriorityClasses: [Mhst_High]\n", "allowedPriorityClasses"},
		{"priority class twice", "blueprints:\n  allowedPriorityClasses: [mhst-high, mhst-high]\n", "allowedPriorityClasses"},
		{"misspelt TLS setting", "metrics:\n  serviceMonitor:\n    tlsConfig: {insecureSkipVerfy: true}\n", "insecureSkipVerfy"},
		{"CA from a Secret and a ConfigMap", "metrics:\n  serviceMonitor:\n    tlsConfig:\n      ca: {secret: {name: a, key: ca.crt}, configMap: {name: b, key: ca.crt}}\n", "ca"},
		{"CA without its key", "metrics:\n  serviceMonitor:\n    tlsConfig:\n      ca: {secret: {name: a}}\n", "key"},
		{"Prometheus ServiceAccount without its namespace", "metrics:\n  prometheusServiceAccount: {name: prometheus-k8s}\n", "metrics.prometheusServiceAccount.namespace"},
		{"CA that would not be used", "metrics:\n  serviceMonitor:\n    enabled: true\n    tlsConfig:\n      ca: {secret: {name: a, key: ca.crt}}\n", "set insecureSkipVerify: false"},
		{"misspelt alert setting", "metrics:\n  prometheusRule:\n    enable: true\n", "enable"},
		{"dashboard labels as a list", "metrics:\n  grafanaDashboard:\n    labels: [grafana_dashboard]\n", "labels"},
		{"misspelt network policy setting", "networkPolicy:\n  metricsNamespaceSelectors: {}\n", "metricsNamespaceSelectors"},
		{"selector operator that does not exist", "networkPolicy:\n  metricsNamespaceSelector:\n    matchExpressions: [{key: team, operator: Equals}]\n", "operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, releaseNS, tt.values)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("want accepted, got %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("want refused (%s), got accepted", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("want an error naming %q, got %v", tt.wantErr, err)
			}
		})
	}
}
