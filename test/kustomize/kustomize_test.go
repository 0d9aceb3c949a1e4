// Package kustomize_test builds the installation in config/default the way
// `kubectl apply -k config/default` does, with kustomize's own library, and
// checks that what it would install is complete and safe to run.
package kustomize_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/mhst-io/mhst-operator/internal/manifests"
)

const operatorNamespace = "mhst-system"

// build runs kustomize on a directory of config/.
func build(t *testing.T, dir string) resmap.ResMap {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "config", dir))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), path)
	if err != nil {
		t.Fatalf("kustomize build config/%s: %v", dir, err)
	}
	return objs
}

// decode finds the one object of kind and name in objs and converts it to a
// typed object.
func decode(t *testing.T, objs resmap.ResMap, kind, name string, into any) {
	t.Helper()
	for _, r := range objs.Resources() {
		if r.GetKind() != kind || r.GetName() != name {
			continue
		}
		m, err := r.Map()
		if err != nil {
			t.Fatalf("%s %s: %v", kind, name, err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, into); err != nil {
			t.Fatalf("decode %s %s: %v", kind, name, err)
		}
		return
	}
	t.Fatalf("config/default has no %s %s", kind, name)
}

// clusterRoleFromMarkers is the ClusterRole controller-gen generates from
// the operator's +kubebuilder:rbac markers into config/rbac/role.yaml.
func clusterRoleFromMarkers(t *testing.T) rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatalf("read the generated role (run make manifests): %v", err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		t.Fatalf("decode config/rbac/role.yaml: %v", err)
	}
	if role.Kind != "ClusterRole" || role.Name == "" {
		t.Fatalf("config/rbac/role.yaml holds %s %q, want a ClusterRole", role.Kind, role.Name)
	}
	return role
}

func TestDefaultInstallsEverything(t *testing.T) {
	objs := build(t, "default")
	want := []string{
		"Namespace/mhst-system",
		"CustomResourceDefinition/localareas.mhst.io",
		"CustomResourceDefinition/supportteams.mhst.io",
		"CustomResourceDefinition/schoolcoverages.mhst.io",
		"ServiceAccount/mhst-operator",
		"ClusterRole/mhst-operator",
		"ClusterRoleBinding/mhst-operator",
		"Role/mhst-operator-leader-election",
		"RoleBinding/mhst-operator-leader-election",
		"Deployment/mhst-operator",
		"Service/mhst-operator-metrics",
		"NetworkPolicy/mhst-operator",
		"ClusterRole/mhst-operator-metrics-reader",
		"ValidatingAdmissionPolicy/mhst-area-namespace-required",
		"ValidatingAdmissionPolicyBinding/mhst-area-namespace-required",
		"ValidatingAdmissionPolicy/mhst-area-label-owner",
		"ValidatingAdmissionPolicyBinding/mhst-area-label-owner",
	}
	var got []string
	for _, r := range objs.Resources() {
		got = append(got, r.GetKind()+"/"+r.GetName())
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("config/default does not install %s; it installs %v", w, got)
		}
	}
}

// TestDefaultInstallsEveryAdmissionPolicy: every policy file of
// config/admission is listed in its kustomization, so that config/default,
// and the shipped installation the tests run under, enforce it. (test/chart
// compares the chart's policies with the same files.)
func TestDefaultInstallsEveryAdmissionPolicy(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "admission", "*_policy.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no policies in config/admission (%v)", err)
	}
	installed := map[string]bool{}
	for _, r := range build(t, "default").Resources() {
		installed[r.GetKind()+"/"+r.GetName()] = true
	}
	for _, file := range files {
		objs, err := manifests.ReadFiles(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range objs {
			if id := obj.GetKind() + "/" + obj.GetName(); !installed[id] {
				t.Errorf("config/default does not install %s of %s: list the file in config/admission/kustomization.yaml", id, filepath.Base(file))
			}
		}
	}
}

func TestNamespacedObjectsAreInTheOperatorNamespace(t *testing.T) {
	clusterScoped := map[string]bool{
		"Namespace": true, "CustomResourceDefinition": true,
		"ClusterRole": true, "ClusterRoleBinding": true,
		"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	}
	for _, r := range build(t, "default").Resources() {
		ns := r.GetNamespace()
		switch {
		case clusterScoped[r.GetKind()] && ns != "":
			t.Errorf("cluster-scoped %s %s has namespace %q", r.GetKind(), r.GetName(), ns)
		case !clusterScoped[r.GetKind()] && ns != operatorNamespace:
			t.Errorf("%s %s is in namespace %q, not %s", r.GetKind(), r.GetName(), ns, operatorNamespace)
		}
	}
}

func TestOperatorRoleIsBoundToItsServiceAccount(t *testing.T) {
	objs := build(t, "default")
	role := clusterRoleFromMarkers(t)
	var deploy appsv1.Deployment
	decode(t, objs, "Deployment", "mhst-operator", &deploy)
	sa := deploy.Spec.Template.Spec.ServiceAccountName
	decode(t, objs, "ServiceAccount", sa, &corev1.ServiceAccount{})

	bindings := []struct {
		kind, name, roleKind, roleName string
	}{
		{"ClusterRoleBinding", "mhst-operator", "ClusterRole", role.Name},
		{"RoleBinding", "mhst-operator-leader-election", "Role", "mhst-operator-leader-election"},
	}
	for _, b := range bindings {
		t.Run(b.kind, func(t *testing.T) {
			var binding rbacv1.RoleBinding // same fields as a ClusterRoleBinding
			decode(t, objs, b.kind, b.name, &binding)
			if binding.RoleRef.Kind != b.roleKind || binding.RoleRef.Name != b.roleName {
				t.Errorf("%s %s grants %s %s, want %s %s", b.kind, b.name, binding.RoleRef.Kind, binding.RoleRef.Name, b.roleKind, b.roleName)
			}
			want := rbacv1.Subject{Kind: "ServiceAccount", Name: sa, Namespace: operatorNamespace}
			if !slices.Contains(binding.Subjects, want) {
				t.Errorf("%s %s binds %v, not the operator's ServiceAccount %s/%s", b.kind, b.name, binding.Subjects, operatorNamespace, sa)
			}
		})
	}
}

func TestOperatorRunsRestricted(t *testing.T) {
	var deploy appsv1.Deployment
	decode(t, build(t, "default"), "Deployment", "mhst-operator", &deploy)
	pod := deploy.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("the operator's pod has %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	checks := []struct {
		what string
		ok   bool
	}{
		{"pod runs as non-root", pod.SecurityContext != nil && ptrTrue(pod.SecurityContext.RunAsNonRoot)},
		{"pod uses the RuntimeDefault seccomp profile", pod.SecurityContext != nil && pod.SecurityContext.SeccompProfile != nil &&
			pod.SecurityContext.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
		{"container forbids privilege escalation", c.SecurityContext != nil && c.SecurityContext.AllowPrivilegeEscalation != nil &&
			!*c.SecurityContext.AllowPrivilegeEscalation},
		{"container drops all capabilities", c.SecurityContext != nil && c.SecurityContext.Capabilities != nil &&
			slices.Contains(c.SecurityContext.Capabilities.Drop, "ALL")},
		{"container root filesystem is read-only", c.SecurityContext != nil && ptrTrue(c.SecurityContext.ReadOnlyRootFilesystem)},
		{"container sets resource requests and a memory limit", !c.Resources.Requests.Cpu().IsZero() && !c.Resources.Requests.Memory().IsZero() &&
			!c.Resources.Limits.Memory().IsZero()},
		{"image is not the kustomize placeholder", c.Image != "" && c.Image != "controller:latest"},
	}
	for _, check := range checks {
		if !check.ok {
			t.Errorf("want: %s", check.what)
		}
	}
}

func TestOperatorIsWiredAsTheCodeExpects(t *testing.T) {
	var deploy appsv1.Deployment
	decode(t, build(t, "default"), "Deployment", "mhst-operator", &deploy)
	c := deploy.Spec.Template.Spec.Containers[0]

	if !slices.Contains(c.Args, "--leader-elect") {
		t.Errorf("args %v: want --leader-elect, since the Deployment may run several replicas", c.Args)
	}
	for _, probe := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"liveness", c.LivenessProbe, "/healthz"},
		{"readiness", c.ReadinessProbe, "/readyz"},
	} {
		if err := checkProbe(c, probe.probe, probe.path); err != nil {
			t.Errorf("%s probe: %v", probe.name, err)
		}
	}
	var podNamespace *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "POD_NAMESPACE" {
			podNamespace = &c.Env[i]
		}
	}
	if podNamespace == nil || podNamespace.ValueFrom == nil || podNamespace.ValueFrom.FieldRef == nil ||
		podNamespace.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("POD_NAMESPACE must come from the downward API (metadata.namespace); env is %v", c.Env)
	}
}

func TestMetricsServiceSelectsTheOperator(t *testing.T) {
	objs := build(t, "default")
	var deploy appsv1.Deployment
	decode(t, objs, "Deployment", "mhst-operator", &deploy)
	var svc corev1.Service
	decode(t, objs, "Service", "mhst-operator-metrics", &svc)
	if len(svc.Spec.Selector) == 0 {
		t.Fatal("the metrics Service has no selector")
	}
	for k, v := range svc.Spec.Selector {
		if deploy.Spec.Template.Labels[k] != v {
			t.Errorf("metrics Service selects %s=%s, the operator's pods have %s=%q", k, v, k, deploy.Spec.Template.Labels[k])
		}
	}
}

// TestMetricsAreServedOverHTTPS: the operator serves its metrics on 8443
// (HTTPS, the flag's default), behind the Service's https-metrics port.
func TestMetricsAreServedOverHTTPS(t *testing.T) {
	objs := build(t, "default")
	var deploy appsv1.Deployment
	decode(t, objs, "Deployment", "mhst-operator", &deploy)
	c := deploy.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--metrics-bind-address=:8443") {
		t.Errorf("args %v: want --metrics-bind-address=:8443", c.Args)
	}
	for _, arg := range c.Args {
		if arg == "--metrics-secure=false" {
			t.Errorf("args %v: the installed operator must serve metrics over HTTPS", c.Args)
		}
	}
	if port := containerPort(c, "https-metrics"); port != 8443 {
		t.Errorf("container port https-metrics is %d, want 8443", port)
	}
	var svc corev1.Service
	decode(t, objs, "Service", "mhst-operator-metrics", &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "https-metrics" || svc.Spec.Ports[0].TargetPort.String() != "https-metrics" {
		t.Errorf("metrics Service ports %v: want https-metrics to the container's https-metrics", svc.Spec.Ports)
	}
}

// TestNetworkPolicyAdmitsScrapesAndProbes: the operator's NetworkPolicy
// selects its pods and opens exactly their metrics port (to the namespaces
// labelled metrics=enabled) and their health port, leaving egress open.
func TestNetworkPolicyAdmitsScrapesAndProbes(t *testing.T) {
	objs := build(t, "default")
	var deploy appsv1.Deployment
	decode(t, objs, "Deployment", "mhst-operator", &deploy)
	var policy networkingv1.NetworkPolicy
	decode(t, objs, "NetworkPolicy", "mhst-operator", &policy)
	for k, v := range policy.Spec.PodSelector.MatchLabels {
		if deploy.Spec.Template.Labels[k] != v {
			t.Errorf("the policy selects %s=%s, the operator's pods have %s=%q", k, v, k, deploy.Spec.Template.Labels[k])
		}
	}
	if len(policy.Spec.PodSelector.MatchLabels) == 0 {
		t.Error("the policy selects every pod of the namespace")
	}
	if !slices.Equal(policy.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
		t.Errorf("policy types %v: want Ingress only (egress to the API server stays open)", policy.Spec.PolicyTypes)
	}
	c := deploy.Spec.Template.Spec.Containers[0]
	var opened []string
	for _, rule := range policy.Spec.Ingress {
		for _, p := range rule.Ports {
			if containerPort(c, p.Port.String()) == 0 {
				t.Errorf("the policy opens port %s, which the operator's container does not have", p.Port.String())
			}
			opened = append(opened, p.Port.String())
			if p.Port.String() == "https-metrics" && (len(rule.From) != 1 || rule.From[0].NamespaceSelector == nil ||
				rule.From[0].NamespaceSelector.MatchLabels["metrics"] != "enabled") {
				t.Errorf("the metrics port is open to %v, want the namespaces labelled metrics=enabled", rule.From)
			}
		}
	}
	if !slices.Equal(opened, []string{"https-metrics", "health"}) {
		t.Errorf("the policy opens %v, want https-metrics and health", opened)
	}
}

// containerPort is the number of the container's port of that name, or 0.
func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// checkProbe says what is wrong with an HTTP probe that should ask the
// operator's health endpoint (:8081) for path.
func checkProbe(c corev1.Container, p *corev1.Probe, path string) error {
	if p == nil || p.HTTPGet == nil {
		return fmt.Errorf("want an HTTP probe of %s", path)
	}
	if p.HTTPGet.Path != path {
		return fmt.Errorf("path %s, want %s", p.HTTPGet.Path, path)
	}
	port := p.HTTPGet.Port.IntValue()
	if port == 0 {
		for _, cp := range c.Ports {
			if cp.Name == p.HTTPGet.Port.String() {
				port = int(cp.ContainerPort)
			}
		}
	}
	if port != 8081 {
		return fmt.Errorf("port %s, want 8081 (--health-probe-bind-address)", p.HTTPGet.Port.String())
	}
	return nil
}

func ptrTrue(b *bool) bool { return b != nil && *b }
