package v1alpha1_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// goodSnapshot is an Area CoverageSnapshot the API server accepts.
const goodSnapshot = `
apiVersion: mhst.io/v1alpha1
kind: CoverageSnapshot
metadata:
  name: leeds-2026-03-31
spec:
  scope: Area
  area: leeds
`

// takenStatus is a status as the operator writes it when it takes an Area
// snapshot of n settings.
func takenStatus(n int) map[string]any {
	list := make([]any, n)
	for i := range list {
		list[i] = map[string]any{
			"urn":                 fmt.Sprintf("%06d", 100000+i),
			"name":                fmt.Sprintf("St Mary's Church of England Primary School %d", i),
			"pupils":              int64(200),
			"disadvantagedPupils": int64(41),
			"covered":             i%2 == 0,
			"team":                "leeds-east-1",
			"allocation":          "leeds-east-1-2025",
			"decisionRef":         "Leeds MHST governance board, 14 March 2025, item 3",
		}
	}
	return map[string]any{
		"observedGeneration": int64(1),
		"takenAt":            "2026-03-31T00:00:01Z",
		"coverage": map[string]any{
			"settings": int64(n), "settingsCovered": int64((n + 1) / 2), "pupils": int64(200 * n), "pupilsCovered": int64(200 * ((n + 1) / 2)),
			"disadvantagedPupils": int64(41 * n), "disadvantagedPupilsCovered": int64(41 * ((n + 1) / 2)),
			"pupilsCoveredPercent": "50.0", "targetMet": false,
		},
		"settings": list,
		"digest":   strings.Repeat("ab", 32),
		"conditions": []any{map[string]any{
			"type": "Ready", "status": "True", "reason": "Taken", "message": "taken",
			"lastTransitionTime": "2026-03-31T00:00:01Z", "observedGeneration": int64(1),
		}},
	}
}

func TestSnapshotSpecValidation(t *testing.T) {
	ctx := context.Background()
	t.Run("accepted", func(t *testing.T) {
		for name, mutate := range map[string][]mutation{
			"area":     nil,
			"national": {set("spec.scope", "National"), remove("spec.area")},
		} {
			obj := object(t, goodSnapshot)
			for _, m := range mutate {
				m(t, obj.Object)
			}
			if err := createDryRun(ctx, obj); err != nil {
				t.Errorf("%s: refused: %v", name, err)
			}
		}
	})
	cases := []struct {
		name   string
		mutate []mutation
		want   []string
	}{
		{"area snapshot without an area", []mutation{remove("spec.area")},
			[]string{"spec.area", "required when scope is Area"}},
		{"national snapshot naming an area", []mutation{set("spec.scope", "National")},
			[]string{"spec.area", "must be absent when scope is National"}},
		{"unknown scope", []mutation{set("spec.scope", "Region")},
			[]string{"spec.scope", `Unsupported value: "Region"`}},
		{"no spec", []mutation{remove("spec")},
			[]string{"spec", "Required value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := object(t, goodSnapshot)
			for _, m := range tc.mutate {
				m(t, obj.Object)
			}
			assertRefused(t, createDryRun(ctx, obj), tc.want)
		})
	}
}

// TestSnapshotCannotChange takes a snapshot by hand, as the operator would,
// and then tries to change it as the cluster administrator: the API server
// itself refuses every change to the spec and, once takenAt is written, to
// the status, including removing it. Labels stay writable (they record
// nothing the snapshot vouches for).
func TestSnapshotCannotChange(t *testing.T) {
	ctx := context.Background()
	for _, settingCount := range []int{628, 3000} {
		t.Run(fmt.Sprintf("%d settings", settingCount), func(t *testing.T) {
			obj := object(t, goodSnapshot)
			obj.SetName(fmt.Sprintf("immutable-%d", settingCount))
			if err := k8sClient.Create(ctx, obj); err != nil {
				t.Fatalf("create: %v", err)
			}
			t.Cleanup(func() { deleteObject(t, obj) })

			obj.Object["status"] = takenStatus(settingCount)
			if err := k8sClient.Status().Update(ctx, obj); err != nil {
				t.Fatalf("the first status write is refused: %v", err)
			}
			key := client.ObjectKeyFromObject(obj)
			taken := fetch(t, key)

			const specRefusal = "spec cannot change"
			const statusRefusal = "status is written once"
			attempts := []struct {
				name    string
				status  bool
				patch   string
				refusal string
			}{
				{"another area", false, `{"spec":{"area":"york"}}`, specRefusal},
				{"another scope", false, `{"spec":{"scope":"National","area":null}}`, specRefusal},
				{"other figures", true, `{"status":{"coverage":{"pupilsCovered":1}}}`, statusRefusal},
				{"another time", true, `{"status":{"takenAt":"2026-04-01T00:00:00Z"}}`, statusRefusal},
				{"no takenAt", true, `{"status":{"takenAt":null}}`, statusRefusal},
				{"another digest", true, `{"status":{"digest":"` + strings.Repeat("cd", 32) + `"}}`, statusRefusal},
				{"a setting no longer covered", true, `{"status":{"settings":[{"urn":"100000","name":"x","pupils":1,"covered":false,"allocation":"a"}]}}`, statusRefusal},
				{"Ready False", true, `{"status":{"conditions":[{"type":"Ready","status":"False","reason":"Forged","message":"m","lastTransitionTime":"2026-04-01T00:00:00Z"}]}}`, statusRefusal},
				{"no status", true, `{"status":null}`, "cannot be removed"},
			}
			for _, a := range attempts {
				target := &unstructured.Unstructured{}
				target.SetGroupVersionKind(obj.GroupVersionKind())
				target.SetName(obj.GetName())
				patch := client.RawPatch(types.MergePatchType, []byte(a.patch))
				var err error
				if a.status {
					err = k8sClient.Status().Patch(ctx, target, patch)
				} else {
					err = k8sClient.Patch(ctx, target, patch)
				}
				if err == nil || !strings.Contains(err.Error(), a.refusal) {
					t.Errorf("%s: got %v; want a refusal saying %q", a.name, err, a.refusal)
				}
			}
			after := fetch(t, key)
			if !reflect.DeepEqual(after.Object["spec"], taken.Object["spec"]) || !reflect.DeepEqual(after.Object["status"], taken.Object["status"]) {
				t.Error("the snapshot changed")
			}

			label := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"retain":"true"}}}`))
			if err := k8sClient.Patch(ctx, after, label); err != nil {
				t.Errorf("labelling a snapshot is refused: %v", err)
			}
		})
	}
}

// TestSnapshotStatusBeforeTakenAt: a status without takenAt (nothing is
// recorded yet) may still be written.
func TestSnapshotStatusBeforeTakenAt(t *testing.T) {
	ctx := context.Background()
	obj := object(t, goodSnapshot)
	obj.SetName("not-yet-taken")
	if err := k8sClient.Create(ctx, obj); err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { deleteObject(t, obj) })
	obj.Object["status"] = map[string]any{"observedGeneration": int64(1)}
	if err := k8sClient.Status().Update(ctx, obj); err != nil {
		t.Fatalf("first write: %v", err)
	}
	obj.Object["status"] = takenStatus(3)
	if err := k8sClient.Status().Update(ctx, obj); err != nil {
		t.Fatalf("a status without takenAt could not be completed: %v", err)
	}
}

func fetch(t *testing.T, key client.ObjectKey) *unstructured.Unstructured {
	t.Helper()
	obj := object(t, goodSnapshot)
	if err := k8sClient.Get(context.Background(), key, obj); err != nil {
		t.Fatalf("get %s: %v", key.Name, err)
	}
	return obj
}
