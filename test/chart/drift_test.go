package chart

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mhst-io/mhst-operator/internal/manifests"
)

// The chart and config/ install the same operator. These tests fail when
// one of them changed and `make manifests` was not run (or the copy was
// edited by hand).

func TestChartCRDsAreConfigCRDs(t *testing.T) {
	want, err := filepath.Glob("../../config/crd/bases/*.yaml")
	if err != nil || len(want) == 0 {
		t.Fatalf("no CRDs in config/crd/bases (%v)", err)
	}
	got, err := filepath.Glob(chartDir + "/crds/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("the chart has %d CRD files, config/crd/bases %d: run make manifests", len(got), len(want))
	}
	for _, path := range want {
		config, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		chart, err := os.ReadFile(filepath.Join(chartDir, "crds", filepath.Base(path)))
		if err != nil {
			t.Errorf("the chart lacks %s: %v", filepath.Base(path), err)
			continue
		}
		if !bytes.Equal(config, chart) {
			t.Errorf("crds/%s differs from config/crd/bases: run make manifests", filepath.Base(path))
		}
	}
}

// TestOperatorRulesAreConfigRules: the chart grants the operator exactly
// the rules controller-gen generated from the RBAC markers.
func TestOperatorRulesAreConfigRules(t *testing.T) {
	helmBinary(t)
	var want []any
	configRoles, err := readIfExists("../../config/rbac/role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if role := find(configRoles, "ClusterRole", "mhst-operator"); role != nil {
		want, _, _ = unstructured.NestedSlice(role.Object, "rules")
	}
	role := find(mustRender(t, releaseNS, ""), "ClusterRole", releaseName)
	if role == nil {
		t.Fatal("the chart renders no ClusterRole " + releaseName)
	}
	got, _, _ := unstructured.NestedSlice(role.Object, "rules")
	if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
		t.Errorf("the chart's operator rules differ from config/rbac/role.yaml: run make manifests\nchart:  %v\nconfig: %v", got, want)
	}
}

// TestLeaderElectionRulesAreConfigRules: both installs limit the operator
// to its own Lease, and the same events.
func TestLeaderElectionRulesAreConfigRules(t *testing.T) {
	helmBinary(t)
	configRoles, err := readIfExists("../../config/rbac/leader_election_role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := find(configRoles, "Role", "mhst-operator-leader-election")
	if want == nil {
		t.Fatal("config/rbac/leader_election_role.yaml holds no Role mhst-operator-leader-election")
	}
	got := find(mustRender(t, releaseNS, ""), "Role", releaseName+"-leader-election")
	if got == nil {
		t.Fatal("the chart renders no Role " + releaseName + "-leader-election")
	}
	wantRules, _, _ := unstructured.NestedSlice(want.Object, "rules")
	gotRules, _, _ := unstructured.NestedSlice(got.Object, "rules")
	if !reflect.DeepEqual(gotRules, wantRules) {
		t.Errorf("the leader election rules differ between the chart and config/rbac:\nchart:  %v\nconfig: %v", gotRules, wantRules)
	}
}

// TestAreaRolesAreConfigAreaRoles: the ClusterRoles for areas' boards and
// leads are the ones config/rbac ships.
func TestAreaRolesAreConfigAreaRoles(t *testing.T) {
	helmBinary(t)
	want, err := readIfExists("../../config/rbac/area_roles.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rendered := mustRender(t, releaseNS, "")
	var got []*unstructured.Unstructured
	for _, role := range ofKind(rendered, "ClusterRole") {
		if role.GetName() != releaseName && role.GetName() != releaseName+"-metrics-reader" && role.GetName() != auditorRole {
			got = append(got, role)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("the chart has %d area ClusterRoles, config/rbac/area_roles.yaml %d: run make manifests", len(got), len(want))
	}
	for _, w := range want {
		g := find(got, w.GetKind(), w.GetName())
		if g == nil || !reflect.DeepEqual(g.Object, w.Object) {
			t.Errorf("%s %s differs between the chart and config/rbac/area_roles.yaml: run make manifests", w.GetKind(), w.GetName())
		}
	}
}

// auditorRole is the ClusterRole for auditors, by the name both installs
// give it.
const auditorRole = "mhst-auditor"

// TestAuditorRoleIsConfigRole: both installs give auditors the same
// access, under the same name.
func TestAuditorRoleIsConfigRole(t *testing.T) {
	helmBinary(t)
	configRoles, err := manifests.ReadFiles("../../config/rbac/auditor_role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := find(configRoles, "ClusterRole", auditorRole)
	if want == nil {
		t.Fatal("config/rbac/auditor_role.yaml holds no ClusterRole " + auditorRole)
	}
	got := find(mustRender(t, releaseNS, ""), "ClusterRole", auditorRole)
	if got == nil {
		t.Fatal("the chart renders no ClusterRole " + auditorRole)
	}
	if !reflect.DeepEqual(got.Object, want.Object) {
		t.Errorf("ClusterRole %s differs between the chart and config/rbac/auditor_role.yaml: run make manifests\nchart:  %v\nconfig: %v", auditorRole, got.Object, want.Object)
	}
}

// TestMetricsReaderRoleIsConfigRole: both installs let the same scrapers
// in.
func TestMetricsReaderRoleIsConfigRole(t *testing.T) {
	helmBinary(t)
	configRoles, err := manifests.ReadFiles("../../config/rbac/metrics_reader_role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := find(configRoles, "ClusterRole", "mhst-operator-metrics-reader")
	if want == nil {
		t.Fatal("config/rbac/metrics_reader_role.yaml holds no ClusterRole mhst-operator-metrics-reader")
	}
	got := find(mustRender(t, releaseNS, ""), "ClusterRole", releaseName+"-metrics-reader")
	if got == nil {
		t.Fatal("the chart renders no ClusterRole " + releaseName + "-metrics-reader")
	}
	if !reflect.DeepEqual(got.Object["rules"], want.Object["rules"]) {
		t.Errorf("the metrics-reader rules differ between the chart and config/rbac:\nchart:  %v\nconfig: %v", got.Object["rules"], want.Object["rules"])
	}
}

// TestNetworkPolicyIsConfigNetworkPolicy: both installs open the same
// ports of the operator's pods to the same namespaces. (Their pod
// selectors differ, as the two installs label the pods differently.)
func TestNetworkPolicyIsConfigNetworkPolicy(t *testing.T) {
	helmBinary(t)
	configPolicies, err := manifests.ReadFiles("../../config/manager/network_policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := find(configPolicies, "NetworkPolicy", "mhst-operator")
	if want == nil {
		t.Fatal("config/manager/network_policy.yaml holds no NetworkPolicy mhst-operator")
	}
	got := find(mustRender(t, releaseNS, ""), "NetworkPolicy", releaseName)
	if got == nil {
		t.Fatal("the chart renders no NetworkPolicy " + releaseName)
	}
	for _, field := range []string{"policyTypes", "ingress", "egress"} {
		g, _, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", field)
		w, _, _ := unstructured.NestedFieldNoCopy(want.Object, "spec", field)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("spec.%s of the operator's NetworkPolicy differs between the chart and config/manager:\nchart:  %v\nconfig: %v", field, g, w)
		}
	}
}

// TestPoliciesAreConfigPolicies: for a release mhst-operator in
// mhst-system, the chart's admission policies are those of config/admission.
func TestPoliciesAreConfigPolicies(t *testing.T) {
	helmBinary(t)
	want, err := manifests.ReadFiles(configPolicyFiles(t)...)
	if err != nil {
		t.Fatal(err)
	}
	rendered := mustRender(t, releaseNS, "")
	got := append(ofKind(rendered, "ValidatingAdmissionPolicy"), ofKind(rendered, "ValidatingAdmissionPolicyBinding")...)
	if len(got) != len(want) {
		t.Fatalf("the chart renders %d policies and bindings, config/admission has %d", len(got), len(want))
	}
	for _, w := range want {
		g := find(got, w.GetKind(), w.GetName())
		if g == nil {
			t.Errorf("the chart lacks %s %s", w.GetKind(), w.GetName())
			continue
		}
		if !reflect.DeepEqual(g.Object["spec"], w.Object["spec"]) {
			t.Errorf("%s %s: the chart's spec differs from config/admission\nchart:  %v\nconfig: %v", w.GetKind(), w.GetName(), g.Object["spec"], w.Object["spec"])
		}
	}
}

// readIfExists reads the objects of a file that may not exist yet (no
// object then).
func readIfExists(path string) ([]*unstructured.Unstructured, error) {
	objs, err := manifests.ReadFiles(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return objs, err
}

// configPolicyFiles lists the policy files of config/admission.
func configPolicyFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../config/admission/*_policy.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no policies in config/admission (%v)", err)
	}
	return files
}
