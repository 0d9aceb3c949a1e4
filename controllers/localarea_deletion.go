package controllers

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// localAreaFinalizer holds a deleted LocalArea until its namespace has been
// released or deleted according to its deletionPolicy.
const localAreaFinalizer = "mhst.io/finalizer"

// ensureFinalizer adds the finalizer before anything is provisioned, so that
// no tenant can outlive its area unreleased. The optimistic lock keeps a
// finalizer someone else adds at the same moment.
func (r *LocalAreaReconciler) ensureFinalizer(ctx context.Context, area *mhstv1alpha1.LocalArea) error {
	if controllerutil.ContainsFinalizer(area, localAreaFinalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(area.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(area, localAreaFinalizer)
	if err := r.Patch(ctx, area, patch); err != nil {
		return fmt.Errorf("add finalizer to LocalArea %s: %w", area.Name, err)
	}
	return nil
}

// finalize retires a deleted area: its governance access goes, then its
// namespace is released (Retain) or deleted (Delete), and the finalizer is
// removed once that is done.
func (r *LocalAreaReconciler) finalize(ctx context.Context, area *mhstv1alpha1.LocalArea) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(area, localAreaFinalizer) {
		return ctrl.Result{}, nil
	}
	before := area.DeepCopy()
	area.Status.ObservedGeneration = area.Generation
	area.Status.Phase = mhstv1alpha1.PhaseTerminating
	setReadiness(&area.Status.Conditions, area.Generation, progressing(mhstv1alpha1.ReasonTerminating,
		fmt.Sprintf("The area is being deleted: its governance access is removed and namespace %s is handled by deletionPolicy %s.",
			area.EffectiveNamespace(), deletionPolicy(area))))
	if err := patchStatus(ctx, r.Client, area, before); err != nil {
		return ctrl.Result{}, err
	}
	done, err := r.retire(ctx, area)
	if err != nil || !done {
		return ctrl.Result{}, err
	}
	patch := client.MergeFromWithOptions(area.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(area, localAreaFinalizer)
	if err := r.Patch(ctx, area, patch); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("remove finalizer of LocalArea %s: %w", area.Name, err)
	}
	return ctrl.Result{}, nil
}

// retire removes the area's access and hands its namespace back. It reports
// done=false while a namespace it deletes still exists: the Namespace watch
// enqueues the area again when the namespace is gone. A namespace the area
// never held (it was in conflict) is not touched.
func (r *LocalAreaReconciler) retire(ctx context.Context, area *mhstv1alpha1.LocalArea) (done bool, err error) {
	if err := r.removeGovernanceAccess(ctx, area); err != nil {
		return false, err
	}
	ns, err := r.currentNamespace(ctx, area.EffectiveNamespace())
	if err != nil || ns == nil || claimNamespace(area, ns) != nil {
		return err == nil, err
	}
	if ns.DeletionTimestamp != nil {
		return false, nil
	}
	if deletionPolicy(area) == mhstv1alpha1.DeletionDelete {
		if ns.Annotations[mhstv1alpha1.AnnotationCreatedBy] == area.Name {
			return false, r.deleteNamespace(ctx, area, ns)
		}
		r.Recorder.Eventf(area, ns, corev1.EventTypeWarning, eventNamespaceRetained, "Retire",
			"deletionPolicy is Delete, but namespace %s was not created by the operator for this area: it is released, not deleted", ns.Name)
	}
	return true, r.releaseNamespace(ctx, area, ns)
}

// deleteNamespace deletes a namespace the operator created for the area,
// and everything in it.
func (r *LocalAreaReconciler) deleteNamespace(ctx context.Context, area *mhstv1alpha1.LocalArea, ns *corev1.Namespace) error {
	if err := r.Delete(ctx, ns, client.Preconditions{UID: &ns.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete namespace %s: %w", ns.Name, err)
	}
	r.Recorder.Eventf(area, ns, corev1.EventTypeNormal, eventNamespaceDeleted, "Retire",
		"Deleting namespace %s and everything in it (deletionPolicy Delete)", ns.Name)
	return nil
}

// releaseNamespace drops the operator's claim on the namespace and leaves
// everything in it: the area, wave and managed-by labels and the
// created-by mark are removed, and released-by records which area may adopt
// it again. Its Pod Security labels, quota and network policies stay, so
// that what runs there is no less isolated than before. A merge patch, so
// that the labels go whoever set them.
func (r *LocalAreaReconciler) releaseNamespace(ctx context.Context, area *mhstv1alpha1.LocalArea, ns *corev1.Namespace) error {
	released := ns.DeepCopy()
	for _, label := range []string{mhstv1alpha1.LabelArea, mhstv1alpha1.LabelWave, mhstv1alpha1.LabelManagedBy} {
		delete(released.Labels, label)
	}
	if released.Annotations == nil {
		released.Annotations = map[string]string{}
	}
	delete(released.Annotations, mhstv1alpha1.AnnotationCreatedBy)
	released.Annotations[annotationReleasedBy] = area.Name
	if maps.Equal(released.Labels, ns.Labels) && maps.Equal(released.Annotations, ns.Annotations) {
		return nil
	}
	if err := r.Patch(ctx, released, client.MergeFrom(ns)); err != nil {
		return fmt.Errorf("release namespace %s: %w", ns.Name, err)
	}
	r.Recorder.Eventf(area, ns, corev1.EventTypeNormal, eventNamespaceReleased, "Retire",
		"Released namespace %s and kept everything in it (deletionPolicy %s); a LocalArea named %s adopts it again", ns.Name, deletionPolicy(area), area.Name)
	return nil
}

// deletionPolicy is the area's policy, Retain when unset.
func deletionPolicy(area *mhstv1alpha1.LocalArea) mhstv1alpha1.DeletionPolicy {
	if area.Spec.DeletionPolicy == "" {
		return mhstv1alpha1.DeletionRetain
	}
	return area.Spec.DeletionPolicy
}
