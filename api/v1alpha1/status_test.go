package v1alpha1_test

import (
	"context"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestStatusIsASubresource checks, for every kind, that a status written
// through the main resource is dropped (users and GitOps tools cannot
// overwrite what the operator observed), that the status subresource stores
// it, and that writing status does not bump the generation.
func TestStatusIsASubresource(t *testing.T) {
	cases := []struct {
		kind     string
		manifest string
		name     string
		status   map[string]any
		path     string
		want     any
	}{
		{"LocalArea", goodArea, "status-area",
			map[string]any{"phase": "Active", "namespace": "mhst-status-area"},
			"status.phase", "Active"},
		{"SupportTeam", goodTeam, "status-team",
			map[string]any{"allocation": map[string]any{"settings": int64(3), "pupils": int64(1200), "capacityUsedPercent": "15.0"}},
			"status.allocation.pupils", int64(1200)},
		{"SchoolCoverage", goodCoverage, "status-coverage",
			map[string]any{"settings": int64(2), "pupils": int64(1570), "disadvantagedPupils": int64(451)},
			"status.pupils", int64(1570)},
		{"CoverageSnapshot", goodSnapshot, "status-snapshot",
			map[string]any{"takenAt": "2026-03-31T00:00:00Z"},
			"status.takenAt", "2026-03-31T00:00:00Z"},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			obj := object(t, tc.manifest)
			obj.SetName(tc.name)
			if err := k8sClient.Create(ctx, obj); err != nil {
				t.Fatalf("create: %v", err)
			}
			t.Cleanup(func() { deleteObject(t, obj) })
			generation := obj.GetGeneration()

			obj.Object["status"] = tc.status
			if err := k8sClient.Update(ctx, obj); err != nil {
				t.Fatalf("update through the main resource: %v", err)
			}
			if got, found := stored(t, obj, tc.path); found {
				t.Errorf("after an update of the main resource, %s = %v; want it dropped", tc.path, got)
			}

			obj.Object["status"] = tc.status
			if err := k8sClient.Status().Update(ctx, obj); err != nil {
				t.Fatalf("update through the status subresource: %v", err)
			}
			got, found := stored(t, obj, tc.path)
			if !found || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("after an update of the status subresource, %s = %#v; want %#v", tc.path, got, tc.want)
			}
			if obj.GetGeneration() != generation {
				t.Errorf("generation went from %d to %d on a status update; want it unchanged", generation, obj.GetGeneration())
			}
		})
	}
}

// stored reads obj back from the API server into obj and returns the value
// at path.
func stored(t *testing.T, obj *unstructured.Unstructured, path string) (any, bool) {
	t.Helper()
	if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatalf("get %s: %v", obj.GetName(), err)
	}
	if _, ok := obj.Object["status"]; !ok {
		return nil, false
	}
	return field(t, obj, path)
}

// TestStatusIsValidated checks that the status subresource validates what
// the operator writes, like the spec.
func TestStatusIsValidated(t *testing.T) {
	cases := []struct {
		name   string
		status map[string]any
		want   []string
	}{
		{"phase not in the enum", map[string]any{"phase": "Paused"},
			[]string{"status.phase", `Unsupported value: "Paused"`, `"Scheduled"`}},
		{"condition without reason", map[string]any{"conditions": []any{map[string]any{
			"type": "Ready", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z", "message": "ok"}}},
			[]string{"status.conditions[0].reason", "Required value"}},
		{"condition status not True, False or Unknown", map[string]any{"conditions": []any{map[string]any{
			"type": "Ready", "status": "Yes", "reason": "Provisioned", "lastTransitionTime": "2025-01-01T00:00:00Z", "message": "ok"}}},
			[]string{"status.conditions[0].status", `Unsupported value: "Yes"`}},
	}
	ctx := context.Background()
	area := object(t, goodArea)
	area.SetName("status-validated")
	if err := k8sClient.Create(ctx, area); err != nil {
		t.Fatalf("create area: %v", err)
	}
	t.Cleanup(func() { deleteObject(t, area) })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := area.DeepCopy()
			obj.Object["status"] = tc.status
			assertRefused(t, k8sClient.Status().Update(ctx, obj), tc.want)
		})
	}
}
