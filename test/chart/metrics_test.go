package chart

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// typed converts a rendered object into its Go type.
func typed[T any](t *testing.T, obj *unstructured.Unstructured) T {
	t.Helper()
	var out T
	if obj == nil {
		t.Fatal("object not rendered")
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &out); err != nil {
		t.Fatalf("decode %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	return out
}

// endpoint is the one scrape endpoint of the rendered ServiceMonitor.
func endpoint(t *testing.T, values string) map[string]any {
	t.Helper()
	sm := find(mustRender(t, releaseNS, values), "ServiceMonitor", releaseName)
	if sm == nil {
		t.Fatal("no ServiceMonitor rendered")
	}
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("want one endpoint, got %v", endpoints)
	}
	return endpoints[0].(map[string]any)
}

// TestServiceMonitorScrapesOverHTTPSWithAToken: the ServiceMonitor sends
// Prometheus's token over HTTPS, and checks the operator's certificate as
// the values say.
func TestServiceMonitorScrapesOverHTTPSWithAToken(t *testing.T) {
	helmBinary(t)
	tests := []struct {
		name   string
		values string
		want   map[string]any // fields of the endpoint
		absent []string
	}{
		{
			name:   "defaults: Prometheus's own token, the self-signed certificate unchecked",
			values: "metrics:\n  serviceMonitor:\n    enabled: true\n",
			want: map[string]any{
				"port": "https-metrics", "scheme": "https", "path": "/metrics",
				"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
				"tlsConfig":       map[string]any{"insecureSkipVerify": true},
			},
			absent: []string{"authorization"},
		},
		{
			name: "a token from a Secret, a certificate checked against its CA",
			values: "metrics:\n  certSecret: metrics-cert\n  serviceMonitor:\n    enabled: true\n    tokenSecret: {name: prometheus-token}\n" +
				"    tlsConfig:\n      insecureSkipVerify: false\n      ca: {secret: {name: metrics-cert, key: ca.crt}}\n      serverName: mhst-operator-metrics.mhst-system.svc\n",
			want: map[string]any{
				"scheme":        "https",
				"authorization": map[string]any{"type": "Bearer", "credentials": map[string]any{"name": "prometheus-token", "key": "token"}},
				"tlsConfig": map[string]any{
					"insecureSkipVerify": false,
					"ca":                 map[string]any{"secret": map[string]any{"name": "metrics-cert", "key": "ca.crt"}},
					"serverName":         "mhst-operator-metrics.mhst-system.svc",
				},
			},
			absent: []string{"bearerTokenFile"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := endpoint(t, tt.values)
			for field, want := range tt.want {
				if !reflect.DeepEqual(ep[field], want) {
					t.Errorf("endpoint %s: got %v, want %v", field, ep[field], want)
				}
			}
			for _, field := range tt.absent {
				if _, ok := ep[field]; ok {
					t.Errorf("endpoint has %s: %v", field, ep[field])
				}
			}
		})
	}
}

// TestMetricsCertificateSecret: with metrics.certSecret the Secret is
// mounted read-only and the operator is told where.
func TestMetricsCertificateSecret(t *testing.T) {
	helmBinary(t)
	const dir = "/tmp/k8s-metrics-server/metrics-certs"
	withCert := typed[appsv1.Deployment](t, find(mustRender(t, releaseNS, "metrics:\n  certSecret: metrics-cert\n"), "Deployment", releaseName))
	pod := withCert.Spec.Template.Spec
	c := pod.Containers[0]
	if !slices.Contains(c.Args, "--metrics-cert-dir="+dir) {
		t.Errorf("args %v lack --metrics-cert-dir=%s", c.Args, dir)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != dir || !c.VolumeMounts[0].ReadOnly {
		t.Errorf("volume mounts %v: want the certificate read-only at %s", c.VolumeMounts, dir)
	}
	if len(pod.Volumes) != 1 || pod.Volumes[0].Secret == nil || pod.Volumes[0].Secret.SecretName != "metrics-cert" {
		t.Errorf("volumes %v: want the Secret metrics-cert", pod.Volumes)
	}

	without := typed[appsv1.Deployment](t, find(mustRender(t, releaseNS, ""), "Deployment", releaseName))
	c = without.Spec.Template.Spec.Containers[0]
	for _, arg := range c.Args {
		if strings.HasPrefix(arg, "--metrics-cert-dir") {
			t.Errorf("without certSecret the operator is given %s", arg)
		}
	}
	if len(without.Spec.Template.Spec.Volumes) != 0 || len(c.VolumeMounts) != 0 {
		t.Error("without certSecret nothing is mounted")
	}
	if !slices.Contains(c.Args, "--metrics-bind-address=:8443") {
		t.Errorf("args %v: want the metrics endpoint on :8443", c.Args)
	}
}

// TestPrometheusIsBoundToTheMetricsReaderRole: the chart binds the
// metrics-reader role to the ServiceAccount the values name, and only then.
func TestPrometheusIsBoundToTheMetricsReaderRole(t *testing.T) {
	helmBinary(t)
	name := releaseName + "-metrics-reader"
	if b := find(mustRender(t, releaseNS, ""), "ClusterRoleBinding", name); b != nil {
		t.Errorf("ClusterRoleBinding %s rendered with no ServiceAccount named", name)
	}
	binding := typed[rbacv1.ClusterRoleBinding](t, find(mustRender(t, releaseNS,
		"metrics:\n  prometheusServiceAccount: {name: prometheus-k8s, namespace: monitoring}\n"), "ClusterRoleBinding", name))
	if binding.RoleRef.Kind != "ClusterRole" || binding.RoleRef.Name != name {
		t.Errorf("binds %s %s, want ClusterRole %s", binding.RoleRef.Kind, binding.RoleRef.Name, name)
	}
	want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus-k8s", Namespace: "monitoring"}}
	if !reflect.DeepEqual(binding.Subjects, want) {
		t.Errorf("subjects %v, want %v", binding.Subjects, want)
	}
}

// TestOperatorNetworkPolicy: by default only the namespaces labelled
// metrics=enabled reach the metrics port, the health port is open for
// probes, egress is not restricted; the policy can be turned off, and the
// namespaces chosen.
func TestOperatorNetworkPolicy(t *testing.T) {
	helmBinary(t)
	rendered := mustRender(t, releaseNS, "")
	policy := typed[networkingv1.NetworkPolicy](t, find(rendered, "NetworkPolicy", releaseName))
	if !reflect.DeepEqual(policy.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
		t.Errorf("policy types %v: want Ingress only, egress left open", policy.Spec.PolicyTypes)
	}
	deploy := typed[appsv1.Deployment](t, find(rendered, "Deployment", releaseName))
	for k, v := range policy.Spec.PodSelector.MatchLabels {
		if deploy.Spec.Template.Labels[k] != v {
			t.Errorf("the policy selects %s=%s, the operator's pods have %q", k, v, deploy.Spec.Template.Labels[k])
		}
	}
	var ports []string
	for _, p := range deploy.Spec.Template.Spec.Containers[0].Ports {
		ports = append(ports, p.Name)
	}
	if len(policy.Spec.Ingress) != 2 {
		t.Fatalf("want two ingress rules (metrics, health), got %v", policy.Spec.Ingress)
	}
	metrics, health := policy.Spec.Ingress[0], policy.Spec.Ingress[1]
	if len(metrics.Ports) != 1 || metrics.Ports[0].Port.String() != "https-metrics" || !slices.Contains(ports, "https-metrics") {
		t.Errorf("metrics rule ports %v: want the container port https-metrics (the container has %v)", metrics.Ports, ports)
	}
	if len(metrics.From) != 1 || metrics.From[0].NamespaceSelector == nil ||
		!reflect.DeepEqual(metrics.From[0].NamespaceSelector.MatchLabels, map[string]string{"metrics": "enabled"}) {
		t.Errorf("metrics rule peers %v: want the namespaces labelled metrics=enabled", metrics.From)
	}
	if len(health.Ports) != 1 || health.Ports[0].Port.String() != "health" || len(health.From) != 0 {
		t.Errorf("health rule %v: want the health port, from anywhere", health)
	}

	chosen := typed[networkingv1.NetworkPolicy](t, find(mustRender(t, releaseNS,
		"networkPolicy:\n  metricsNamespaceSelector:\n    matchLabels: {kubernetes.io/metadata.name: monitoring}\n"), "NetworkPolicy", releaseName))
	if got := chosen.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels; !reflect.DeepEqual(got, map[string]string{"kubernetes.io/metadata.name": "monitoring"}) {
		t.Errorf("chosen namespaces: got %v", got)
	}
	if find(mustRender(t, releaseNS, "networkPolicy:\n  enabled: false\n"), "NetworkPolicy", releaseName) != nil {
		t.Error("networkPolicy.enabled=false still renders the NetworkPolicy")
	}
}
