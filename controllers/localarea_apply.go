package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// syncChild makes one object of the area's tenant match desired, a typed
// apply configuration; obj is an empty object of the same kind carrying only
// its name and namespace.
//
// An idle, converged operator must make no writes at all, so nothing is
// applied while the cache already shows every field desired sets (see
// covers). When the cache shows a difference, a live read confirms it
// before writing: the cache may simply not have seen the operator's own last
// apply yet. Only then is desired applied server-side, forcing ownership of
// its fields back from whoever changed them. The one exception is an area
// being provisioned for the first time (never activated) whose child the
// cache lacks: the child is applied at once, as it almost certainly does not
// exist yet, which saves a round trip per child on the path that makes a
// new wave's tenants (apply is idempotent, so a cache that was merely
// behind costs one write that changes nothing).
//
// A difference found on an area that had converged at its current
// generation was made by hand (a deleted NetworkPolicy, an edited label):
// restoring it is reported as a DriftCorrected Event on the LocalArea.
func (r *LocalAreaReconciler) syncChild(ctx context.Context, area *mhstv1alpha1.LocalArea, obj client.Object, desired runtime.ApplyConfiguration) error {
	want, err := applyConfigurationMap(desired)
	if err != nil {
		return err
	}
	key := client.ObjectKeyFromObject(obj)
	kind, _ := want["kind"].(string)
	live := obj.DeepCopyObject().(client.Object) // still empty: a fresh target for the live read

	inCache, err := r.readChild(ctx, r.Client, key, obj)
	if err != nil {
		return fmt.Errorf("read %s %s from cache: %w", kind, key, err)
	}
	if inCache && matches(obj, want) {
		return nil
	}
	existed := false
	if inCache || area.Status.ActivatedAt != nil {
		existed, err = r.readChild(ctx, r.APIReader, key, live)
		if err != nil {
			return fmt.Errorf("read %s %s: %w", kind, key, err)
		}
	}
	changed, err := r.write(ctx, live, existed, desired, want)
	if err != nil {
		return fmt.Errorf("%s %s: %w", kind, key, err)
	}
	if changed && converged(area) {
		r.reportDrift(ctx, area, live, kind, key, existed)
	}
	return nil
}

// write brings live to desired, and reports whether it had to: the live
// read may show that only the cache was behind. Server-side apply restores
// every field desired sets; a field someone added that desired leaves out
// (a podSelector narrowed with matchLabels, scopes added to the quota) is
// not the operator's to remove by apply, so for kinds the operator owns
// whole such an object is replaced by an update instead.
func (r *LocalAreaReconciler) write(ctx context.Context, live client.Object, existed bool, desired runtime.ApplyConfiguration, want map[string]any) (bool, error) {
	switch {
	case existed && matches(live, want):
		return false, nil
	case !existed || !covers(live, want):
		if err := r.Apply(ctx, desired, client.FieldOwner(LocalAreaFieldManager), client.ForceOwnership); err != nil {
			return false, fmt.Errorf("apply: %w", err)
		}
		return true, nil
	default:
		return true, r.replace(ctx, live, want)
	}
}

// replace overwrites every field of live but its metadata and status with
// want's, keeping the labels, annotations and owner references others set.
func (r *LocalAreaReconciler) replace(ctx context.Context, live client.Object, want map[string]any) error {
	have, err := objectMap(live)
	if err != nil {
		return err
	}
	for field := range have {
		if !isMetaField(field) {
			delete(have, field)
		}
	}
	for field, value := range want {
		if !isMetaField(field) {
			have[field] = value
		}
	}
	data, err := json.Marshal(have)
	if err != nil {
		return fmt.Errorf("encode replacement: %w", err)
	}
	replacement := live.DeepCopyObject().(client.Object)
	if err := json.Unmarshal(data, replacement); err != nil {
		return fmt.Errorf("decode replacement: %w", err)
	}
	if err := r.Update(ctx, replacement, client.FieldOwner(LocalAreaFieldManager)); err != nil {
		return fmt.Errorf("replace: %w", err)
	}
	return nil
}

// readChild reads key into obj, reporting whether it exists.
func (r *LocalAreaReconciler) readChild(ctx context.Context, reader client.Reader, key client.ObjectKey, obj client.Object) (bool, error) {
	err := reader.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// reportDrift records that a child changed or deleted by hand was restored.
func (r *LocalAreaReconciler) reportDrift(ctx context.Context, area *mhstv1alpha1.LocalArea, child client.Object, kind string, key client.ObjectKey, existed bool) {
	what := "deleted"
	if existed {
		what = "changed"
	}
	logf.FromContext(ctx).Info("restored a drifted child", "area", area.Name, "kind", kind, "child", key.String(), "drift", what)
	r.Recorder.Eventf(area, child, corev1.EventTypeWarning, mhstv1alpha1.ReasonDriftCorrected, "Restore",
		"%s %s was %s outside the operator; restored it", kind, describeKey(key), what)
}

// pruneChild deletes a child the area no longer wants (for example the
// allow-ingress policy once spec.tenancy.allowIngressFrom is emptied). Only
// an object the cache holds, and so one carrying the operator's managed-by
// label, that is labelled as this area's is deleted.
func (r *LocalAreaReconciler) pruneChild(ctx context.Context, area *mhstv1alpha1.LocalArea, obj client.Object) error {
	key := client.ObjectKeyFromObject(obj)
	found, err := r.readChild(ctx, r.Client, key, obj)
	if err != nil || !found || obj.GetLabels()[mhstv1alpha1.LabelArea] != area.Name {
		return err
	}
	if err := r.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete %T %s: %w", obj, key, err)
	}
	return nil
}

// converged reports whether the area reached Ready at its current
// generation: from then on, any difference in its children is drift.
func converged(area *mhstv1alpha1.LocalArea) bool {
	c := meta.FindStatusCondition(area.Status.Conditions, mhstv1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == area.Generation
}

// describeKey names an object as kubectl would: namespace/name, or name.
func describeKey(key client.ObjectKey) string {
	if key.Namespace == "" {
		return key.Name
	}
	return key.String()
}

// applyConfigurationMap turns an apply configuration into the JSON map the
// API server would receive.
func applyConfigurationMap(desired runtime.ApplyConfiguration) (map[string]any, error) {
	data, err := json.Marshal(desired)
	if err != nil {
		return nil, fmt.Errorf("encode apply configuration: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode apply configuration: %w", err)
	}
	return m, nil
}

// matches reports whether obj is exactly as wanted: it covers want and,
// for the kinds the operator owns whole, holds no field want leaves out.
func matches(obj client.Object, want map[string]any) bool {
	if !covers(obj, want) {
		return false
	}
	kind, _ := want["kind"].(string)
	if !ownedWhole[kind] {
		return true
	}
	have, err := objectMap(obj)
	if err != nil {
		return false
	}
	for field, value := range have {
		if !isMetaField(field) && !subsumes(want[field], value) {
			return false
		}
	}
	return true
}

// ownedWhole lists the kinds whose every field, besides metadata and
// status, the operator sets, and to which the API server adds no defaults
// of its own. A field someone adds to them is drift. Namespaces (whose
// spec.finalizers the server sets) and LimitRanges (whose limits the server
// completes from one another) are compared on the fields the operator sets.
var ownedWhole = map[string]bool{
	"NetworkPolicy":      true,
	"ResourceQuota":      true,
	"RoleBinding":        true,
	"ConfigMap":          true,
	"ClusterRole":        true,
	"ClusterRoleBinding": true,
}

// isMetaField tells the top-level fields that are not the object's content.
func isMetaField(field string) bool {
	switch field {
	case "apiVersion", "kind", "metadata", "status":
		return true
	}
	return false
}

// covers reports whether obj already holds every field of want, the JSON of
// an apply configuration, so that applying want would change nothing.
//
// The comparison follows server-side apply's merge rules for the kinds the
// tenant is made of: maps (labels, annotations, resource lists, selectors)
// are granular, so fields others add are left alone and ignored here;
// lists (NetworkPolicy rules, RoleBinding subjects, ClusterRole rules) are
// atomic, so they must match element for element, though an element may
// carry fields the server defaulted. Owner references are keyed by uid:
// the wanted ones must be present, others may be too.
func covers(obj client.Object, want map[string]any) bool {
	have, err := objectMap(obj)
	if err != nil {
		return false
	}
	haveMeta, _ := have["metadata"].(map[string]any)
	wantMeta, _ := want["metadata"].(map[string]any)
	for _, field := range []string{"labels", "annotations"} {
		if !subsumes(haveMeta[field], wantMeta[field]) {
			return false
		}
	}
	if !hasOwnerReferences(haveMeta["ownerReferences"], wantMeta["ownerReferences"]) {
		return false
	}
	for field, value := range want {
		if !isMetaField(field) && !subsumes(have[field], value) {
			return false
		}
	}
	return true
}

// objectMap is obj as the JSON map the API server would send.
func objectMap(obj client.Object) (map[string]any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", obj, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode %T: %w", obj, err)
	}
	return m, nil
}

// subsumes reports whether have contains want: every key of a wanted map
// with a value it subsumes, every element of a wanted list in the same place
// (and no more elements), every scalar equal. Nothing wanted (an empty map
// or list) is subsumed by an absent field.
func subsumes(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return have == nil && len(w) == 0
		}
		for k, v := range w {
			if !subsumes(h[k], v) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return have == nil && len(w) == 0
		}
		if len(h) != len(w) {
			return false
		}
		for i := range w {
			if !subsumes(h[i], w[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(have, want)
	}
}

// hasOwnerReferences reports whether every wanted owner reference is among
// the ones the object has, matched by uid.
func hasOwnerReferences(have, want any) bool {
	wanted, _ := want.([]any)
	present, _ := have.([]any)
	for _, w := range wanted {
		wm, _ := w.(map[string]any)
		uid := wm["uid"]
		found := false
		for _, h := range present {
			if hm, ok := h.(map[string]any); ok && hm["uid"] == uid {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
