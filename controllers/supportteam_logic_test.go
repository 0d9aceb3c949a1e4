package controllers

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/blueprint"
)

// These tests cover the SupportTeam controller's pure decisions; the
// integration tests in supportteam_controller_test.go cover the rest.

func TestSupportTeamServiceReadiness(t *testing.T) {
	available := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}
	unavailable := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse,
		Message: "Deployment does not have minimum availability."}
	tests := []struct {
		name          string
		replicas      int32
		generation    int64
		observed      int64
		conditions    []appsv1.DeploymentCondition
		wantAvailable metav1.ConditionStatus
		wantAvReason  string
		wantReady     metav1.ConditionStatus
		wantReason    string
		wantRollingOn bool
	}{
		{name: "available and rolled out", replicas: 2, generation: 3, observed: 3, conditions: []appsv1.DeploymentCondition{available},
			wantAvailable: metav1.ConditionTrue, wantAvReason: mhstv1alpha1.ReasonDeploymentAvailable,
			wantReady: metav1.ConditionTrue, wantReason: mhstv1alpha1.ReasonReconciled},
		{name: "available, new spec not seen yet", replicas: 2, generation: 4, observed: 3, conditions: []appsv1.DeploymentCondition{available},
			wantAvailable: metav1.ConditionTrue, wantAvReason: mhstv1alpha1.ReasonDeploymentAvailable,
			wantReady: metav1.ConditionFalse, wantReason: mhstv1alpha1.ReasonProgressing, wantRollingOn: true},
		{name: "not available", replicas: 2, generation: 1, observed: 1, conditions: []appsv1.DeploymentCondition{unavailable},
			wantAvailable: metav1.ConditionFalse, wantAvReason: mhstv1alpha1.ReasonDeploymentPending,
			wantReady: metav1.ConditionFalse, wantReason: mhstv1alpha1.ReasonDeploymentPending, wantRollingOn: true},
		{name: "no status yet", replicas: 2, generation: 1,
			wantAvailable: metav1.ConditionFalse, wantAvReason: mhstv1alpha1.ReasonDeploymentPending,
			wantReady: metav1.ConditionFalse, wantReason: mhstv1alpha1.ReasonProgressing, wantRollingOn: true},
		{name: "scaled to zero", replicas: 0, generation: 2, observed: 1,
			wantAvailable: metav1.ConditionFalse, wantAvReason: mhstv1alpha1.ReasonScaledToZero,
			wantReady: metav1.ConditionTrue, wantReason: mhstv1alpha1.ReasonScaledToZero},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "team-service", Generation: tt.generation},
				Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(tt.replicas)},
				Status:     appsv1.DeploymentStatus{ObservedGeneration: tt.observed, Conditions: tt.conditions},
			}
			av := serviceAvailability(d)
			if av.status != tt.wantAvailable || av.reason != tt.wantAvReason {
				t.Errorf("ServiceAvailable = %s/%s, want %s/%s", av.status, av.reason, tt.wantAvailable, tt.wantAvReason)
			}
			r := serviceReadiness(d, av)
			if r.status != tt.wantReady || r.reason != tt.wantReason || r.reconciling != tt.wantRollingOn || r.stalled {
				t.Errorf("Ready = %+v, want %s/%s reconciling=%v", r, tt.wantReady, tt.wantReason, tt.wantRollingOn)
			}
		})
	}
}

func TestSupportTeamAreaBlocks(t *testing.T) {
	team := &mhstv1alpha1.SupportTeam{ObjectMeta: metav1.ObjectMeta{Namespace: "mhst-leeds", Name: "north"}}
	area := func(phase mhstv1alpha1.AreaPhase) *mhstv1alpha1.LocalArea {
		return &mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "leeds"}, Status: mhstv1alpha1.LocalAreaStatus{Phase: phase}}
	}
	tests := []struct {
		name        string
		area        *mhstv1alpha1.LocalArea
		wantBlocked bool
		wantReason  string
		wantStalled bool
	}{
		{name: "no area", wantBlocked: true, wantReason: mhstv1alpha1.ReasonNoLocalArea, wantStalled: true},
		{name: "active", area: area(mhstv1alpha1.PhaseActive)},
		{name: "scheduled", area: area(mhstv1alpha1.PhaseScheduled), wantBlocked: true, wantReason: mhstv1alpha1.ReasonAreaNotActive, wantStalled: true},
		{name: "terminating", area: area(mhstv1alpha1.PhaseTerminating), wantBlocked: true, wantReason: mhstv1alpha1.ReasonAreaNotActive, wantStalled: true},
		{name: "provisioning", area: area(mhstv1alpha1.PhaseProvisioning), wantBlocked: true, wantReason: mhstv1alpha1.ReasonAreaNotActive},
		{name: "not reconciled yet", area: area(""), wantBlocked: true, wantReason: mhstv1alpha1.ReasonAreaNotActive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := areaBlocks(team, tt.area)
			if (got != nil) != tt.wantBlocked {
				t.Fatalf("areaBlocks = %+v, want blocked=%v", got, tt.wantBlocked)
			}
			if got == nil {
				return
			}
			if got.reason != tt.wantReason || got.stalled != tt.wantStalled || got.status != metav1.ConditionFalse {
				t.Errorf("areaBlocks = %+v, want reason %s stalled=%v", *got, tt.wantReason, tt.wantStalled)
			}
		})
	}
}

func TestSupportTeamReadinessPrecedence(t *testing.T) {
	staffed := &mhstv1alpha1.SupportTeam{Spec: mhstv1alpha1.SupportTeamSpec{
		Staffing: mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 3}}}
	unstaffed := &mhstv1alpha1.SupportTeam{}
	serving := ready(mhstv1alpha1.ReasonReconciled, "serving")
	rolling := progressing(mhstv1alpha1.ReasonDeploymentPending, "rolling")
	rejected := blocked(stalled(mhstv1alpha1.ReasonBlueprintRejected, "no"))
	tests := []struct {
		name    string
		team    *mhstv1alpha1.SupportTeam
		deploy  deployOutcome
		service readiness
		want    string
	}{
		{name: "serving", team: staffed, service: serving, want: mhstv1alpha1.ReasonReconciled},
		{name: "rolling out", team: staffed, service: rolling, want: mhstv1alpha1.ReasonDeploymentPending},
		{name: "no practitioners, serving", team: unstaffed, service: serving, want: mhstv1alpha1.ReasonNoPractitioners},
		{name: "no practitioners, rolling out", team: unstaffed, service: rolling, want: mhstv1alpha1.ReasonNoPractitioners},
		{name: "blocked comes first", team: unstaffed, deploy: deployOutcome{blocked: rejected}, service: serving, want: mhstv1alpha1.ReasonBlueprintRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := teamReadiness(tt.team, tt.deploy, tt.service); got.reason != tt.want {
				t.Errorf("teamReadiness reason = %s, want %s", got.reason, tt.want)
			}
		})
	}
}

func TestSupportTeamRenderRefusal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "rejected", err: fmt.Errorf("render team a/b: %w", &blueprint.RejectedError{Object: `ClusterRole "x"`, Reason: "no"}),
			want: mhstv1alpha1.ReasonBlueprintRejected},
		{name: "invalid", err: fmt.Errorf("render team a/b: %w", &blueprint.InvalidError{Err: errors.New("missing file")}),
			want: mhstv1alpha1.ReasonBlueprintInvalid},
		{name: "other", err: errors.New("render team a/b: team name is too long"), want: mhstv1alpha1.ReasonRenderFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderRefusal(tt.err)
			if got.reason != tt.want || !got.stalled {
				t.Errorf("renderRefusal = %+v, want stalled with reason %s", *got, tt.want)
			}
		})
	}
}

func TestSupportTeamInventoryArithmetic(t *testing.T) {
	entry := func(kind, name string) mhstv1alpha1.InventoryEntry {
		return mhstv1alpha1.InventoryEntry{APIVersion: "v1", Kind: kind, Name: name}
	}
	svc, sa, cmOld, cmNew := entry("Service", "s"), entry("ServiceAccount", "s"), entry("ConfigMap", "c-1"), entry("ConfigMap", "c-2")
	tests := []struct {
		name      string
		previous  []mhstv1alpha1.InventoryEntry
		desired   []mhstv1alpha1.InventoryEntry
		wantStale []mhstv1alpha1.InventoryEntry
		wantUnion []mhstv1alpha1.InventoryEntry
	}{
		{name: "first render", desired: []mhstv1alpha1.InventoryEntry{cmNew, svc},
			wantUnion: []mhstv1alpha1.InventoryEntry{cmNew, svc}},
		{name: "unchanged", previous: []mhstv1alpha1.InventoryEntry{svc, sa}, desired: []mhstv1alpha1.InventoryEntry{svc, sa},
			wantUnion: []mhstv1alpha1.InventoryEntry{svc, sa}},
		{name: "configuration renamed, service account dropped",
			previous:  []mhstv1alpha1.InventoryEntry{cmOld, svc, sa},
			desired:   []mhstv1alpha1.InventoryEntry{cmNew, svc},
			wantStale: []mhstv1alpha1.InventoryEntry{cmOld, sa},
			wantUnion: []mhstv1alpha1.InventoryEntry{cmOld, cmNew, svc, sa}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := staleEntries(tt.previous, tt.desired); !reflect.DeepEqual(got, tt.wantStale) {
				t.Errorf("staleEntries = %v, want %v", got, tt.wantStale)
			}
			if got := unionOf(tt.previous, tt.desired); !reflect.DeepEqual(got, tt.wantUnion) {
				t.Errorf("unionOf = %v, want %v", got, tt.wantUnion)
			}
		})
	}
}

func TestSupportTeamPrepare(t *testing.T) {
	r := &SupportTeamReconciler{Client: k8sClient, Coverage: newAreaCoverage(k8sClient)}
	team := &mhstv1alpha1.SupportTeam{ObjectMeta: metav1.ObjectMeta{Namespace: "mhst-leeds", Name: "north", UID: types.UID("uid-1")}}
	configMap := func() *unstructured.Unstructured {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("v1")
		obj.SetKind("ConfigMap")
		obj.SetNamespace("mhst-leeds")
		obj.SetName("north-config-abc")
		obj.Object["data"] = map[string]any{"PORT": "8080"}
		return obj
	}

	first := configMap()
	if err := r.prepare(team, first); err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue,
		mhstv1alpha1.LabelTeam:      "north",
		mhstv1alpha1.LabelConfigMap: mhstv1alpha1.ConfigMapTeamConfiguration,
	}
	if got := first.GetLabels(); !reflect.DeepEqual(got, wantLabels) {
		t.Errorf("labels = %v, want %v (what the operator's cache selects on)", got, wantLabels)
	}
	owners := first.GetOwnerReferences()
	if len(owners) != 1 || owners[0].UID != team.UID || !ptr.Deref(owners[0].Controller, false) {
		t.Errorf("owner references = %+v, want the team as controller", owners)
	}
	if annotations := first.GetAnnotations(); len(annotations) != 0 {
		t.Errorf("annotations = %v, want none: the operator keeps no record of its own on what it applies", annotations)
	}
}

func TestSupportTeamRenderMemo(t *testing.T) {
	var memo renderMemo
	key := types.NamespacedName{Namespace: "mhst-leeds", Name: "north"}
	in := blueprint.Input{TeamName: "north", Namespace: "mhst-leeds", AreaName: "leeds", Wave: 1,
		Spec: mhstv1alpha1.SupportTeamSpec{Service: mhstv1alpha1.TeamService{Image: "registry.example/a:1"}}}
	first, err := memo.render(key, in)
	if err != nil {
		t.Fatal(err)
	}
	first.Objects[0].SetName("changed by the caller")
	second, err := memo.render(key, in)
	if err != nil {
		t.Fatal(err)
	}
	if second.Objects[0].GetName() == "changed by the caller" {
		t.Error("a caller's change reached the remembered render")
	}
	if memo.settled(key) {
		t.Error("a render never applied is settled")
	}
	memo.markApplied(key)
	if _, err := memo.render(key, in); err != nil {
		t.Fatal(err)
	}
	if !memo.settled(key) {
		t.Error("a render applied in full, of an unchanged input, is not settled")
	}
	in.Spec.Service.Image = "registry.example/a:2"
	third, err := memo.render(key, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := imageOf(t, third); got != "registry.example/a:2" {
		t.Errorf("after a spec change the render has image %q", got)
	}
	if memo.settled(key) {
		t.Error("the render of a changed input is settled before it is applied")
	}
}

func imageOf(t *testing.T, out *blueprint.Output) string {
	t.Helper()
	for _, obj := range out.Objects {
		if obj.GetKind() != "Deployment" {
			continue
		}
		containers, _, err := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
		if err != nil || len(containers) == 0 {
			t.Fatalf("no containers in the Deployment: %v", err)
		}
		return containers[0].(map[string]any)["image"].(string)
	}
	t.Fatal("no Deployment rendered")
	return ""
}
