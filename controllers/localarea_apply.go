package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/apply"
	"github.com/mhst-io/mhst-operator/internal/kinds"
)

// children is the apply engine of the area's children, with the LocalArea
// controller's field manager. internal/apply's package doc says when it
// writes: an idle, converged operator writes nothing.
func (r *LocalAreaReconciler) children() *apply.Engine {
	return &apply.Engine{Cache: r.Client, Live: r.APIReader, Writer: r.Client, Scheme: r.Scheme(), FieldManager: LocalAreaFieldManager}
}

// syncChild makes one object of the area's tenant match desired, a typed
// apply configuration; obj is an empty object of the same kind carrying only
// its name and namespace.
//
// An object of that name that the operator did not make for the area is
// never written to (areaControls): the area is stopped on an
// *ownershipConflict instead. The namespace itself is the exception, as
// claimNamespace has already decided that it is the area's.
//
// Children of a namespace that this very reconcile created are fresh: one
// the cache lacks is applied at once, without first being read, which saves
// a round trip per child on the path that makes a new wave's tenants. That
// is safe only there: a namespace that did not exist a moment ago holds
// nothing of anyone else's, while a namespace handed over to the area, or
// one that has been the area's for a while, may hold objects someone else
// made with the names the area wants. Cluster-scoped children are never
// fresh.
//
// A difference found on an area that had converged at its current
// generation was made by hand (a deleted NetworkPolicy, an edited label):
// restoring it is reported as a DriftCorrected Event on the LocalArea.
func (r *LocalAreaReconciler) syncChild(ctx context.Context, area *mhstv1alpha1.LocalArea, obj client.Object, desired runtime.ApplyConfiguration) error {
	want, err := apply.Normalize(desired)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: want}
	key := client.ObjectKeyFromObject(obj)
	child := apply.Object{
		Desired: u,
		Whole:   kinds.OwnedWhole(u.GroupVersionKind(), kinds.Area),
		Fresh:   key.Namespace != "" && key.Namespace == createdNamespace(ctx),
		Settled: converged(area),
	}
	if u.GetKind() != "Namespace" {
		child.Mine = func(existing client.Object) error { return areaControls(area, existing) }
	}
	out, err := r.children().Apply(ctx, child)
	if err != nil {
		return err
	}
	if out.Drift {
		restored := obj
		if out.Before != nil {
			restored = out.Before
		}
		r.reportDrift(ctx, area, restored, u.GetKind(), key, out.Existed)
	}
	return nil
}

// createdNamespaceKey marks the context of a reconcile that has just
// created the area's namespace.
type createdNamespaceKey struct{}

// withCreatedNamespace says that this reconcile created namespace name.
func withCreatedNamespace(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, createdNamespaceKey{}, name)
}

// createdNamespace names the namespace this reconcile created, or "".
func createdNamespace(ctx context.Context) string {
	name, _ := ctx.Value(createdNamespaceKey{}).(string)
	return name
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
// label, that is labelled as this area's and that no one else controls is
// deleted.
func (r *LocalAreaReconciler) pruneChild(ctx context.Context, area *mhstv1alpha1.LocalArea, obj client.Object) error {
	_, err := r.children().Prune(ctx, obj, func(existing client.Object) bool {
		return existing.GetLabels()[mhstv1alpha1.LabelArea] == area.Name && areaControls(area, existing) == nil
	})
	if err != nil {
		return fmt.Errorf("prune: %w", err)
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
