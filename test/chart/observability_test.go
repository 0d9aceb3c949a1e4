package chart

import (
	"os"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestPrometheusRuleIsTheRulesFile: the PrometheusRule holds exactly the
// rules of files/prometheus-rules.yaml, which promtool's unit tests test,
// and only when asked for.
func TestPrometheusRuleIsTheRulesFile(t *testing.T) {
	helmBinary(t)
	if ofKind(mustRender(t, releaseNS, ""), "PrometheusRule") != nil {
		t.Error("a PrometheusRule is rendered by default")
	}
	rule := find(mustRender(t, releaseNS, "metrics:\n  prometheusRule:\n    enabled: true\n    labels: {release: prometheus}\n"), "PrometheusRule", releaseName)
	if rule == nil {
		t.Fatal("no PrometheusRule with metrics.prometheusRule.enabled")
	}
	if rule.GetNamespace() != releaseNS || rule.GetLabels()["release"] != "prometheus" {
		t.Errorf("namespace %s, labels %v: want %s and the extra label", rule.GetNamespace(), rule.GetLabels(), releaseNS)
	}
	data, err := os.ReadFile(chartDir + "/files/prometheus-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := yaml.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	got, _, _ := unstructured.NestedMap(rule.Object, "spec")
	if !reflect.DeepEqual(got, want) {
		t.Error("the PrometheusRule's spec differs from files/prometheus-rules.yaml")
	}
}

// TestDashboardConfigMap: the dashboard ConfigMap is what the Grafana
// sidecar loads (label grafana_dashboard: "1"), holds files/dashboard.json
// as it is, and goes where the values say.
func TestDashboardConfigMap(t *testing.T) {
	helmBinary(t)
	name := releaseName + "-dashboard"
	if find(mustRender(t, releaseNS, ""), "ConfigMap", name) != nil {
		t.Error("the dashboard is rendered by default")
	}
	cm := typed[corev1.ConfigMap](t, find(mustRender(t, releaseNS,
		"metrics:\n  grafanaDashboard:\n    enabled: true\n    namespace: monitoring\n    annotations: {grafana_folder: MHST}\n"), "ConfigMap", name))
	if cm.Namespace != "monitoring" || cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "MHST" {
		t.Errorf("namespace %s, labels %v, annotations %v", cm.Namespace, cm.Labels, cm.Annotations)
	}
	want, err := os.ReadFile(chartDir + "/files/dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := cm.Data["mhst-operator.json"]; got != string(want) && got+"\n" != string(want) {
		t.Error("the ConfigMap's mhst-operator.json differs from files/dashboard.json")
	}
}

// TestServiceMonitorHonoursLabels: the operator's series keep their own
// namespace label, which the alerts and the dashboard use.
func TestServiceMonitorHonoursLabels(t *testing.T) {
	helmBinary(t)
	if got := endpoint(t, "metrics:\n  serviceMonitor:\n    enabled: true\n")["honorLabels"]; got != true {
		t.Errorf("honorLabels: got %v, want true", got)
	}
}
