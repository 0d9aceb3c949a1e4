package controllers

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// annotationReleasedBy marks a namespace a LocalArea of that name let go of
// when it was deleted with deletionPolicy Retain. A LocalArea of the same
// name adopts it again; no other area may.
const annotationReleasedBy = "mhst.io/released-by"

// Pod Security Admission labels: every area namespace enforces the
// restricted profile, and audits and warns against it, at the newest
// version the cluster knows.
const (
	podSecurityLevel   = "restricted"
	podSecurityVersion = "latest"
)

// errNamespaceTerminating says the area's namespace is being deleted (for
// example by hand); the area is provisioned again once it is gone, when the
// Namespace watch enqueues the area.
var errNamespaceTerminating = errors.New("namespace is being deleted")

// namespaceConflict says why an area cannot have the namespace it names.
// Nothing in that namespace is touched while it lasts.
type namespaceConflict struct {
	message string
}

func (c *namespaceConflict) Error() string { return c.message }

// syncNamespace claims the area's namespace, creating it when it does not
// exist (created says so), and keeps its labels as they should be. It
// returns a *namespaceConflict when the namespace belongs to someone else,
// and errNamespaceTerminating while it is being deleted.
func (r *LocalAreaReconciler) syncNamespace(ctx context.Context, area *mhstv1alpha1.LocalArea) (ns *corev1.Namespace, created bool, err error) {
	name := area.EffectiveNamespace()
	ns, err = r.currentNamespace(ctx, name)
	if err != nil {
		return nil, false, err
	}
	if ns == nil {
		ns, err = r.createNamespace(ctx, area, name)
		return ns, err == nil, err
	}
	if err := claimNamespace(area, ns); err != nil {
		return nil, false, err
	}
	if ns.DeletionTimestamp != nil {
		return nil, false, errNamespaceTerminating
	}
	if ns.Annotations[annotationReleasedBy] != "" {
		if err := r.adoptNamespace(ctx, area, ns); err != nil {
			return nil, false, err
		}
	}
	desired := desiredNamespace(area, ns.Annotations[mhstv1alpha1.AnnotationCreatedBy] == area.Name)
	if err := r.syncChild(ctx, area, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, desired); err != nil {
		return nil, false, err
	}
	return ns, false, nil
}

// currentNamespace reads a namespace from the cache (which holds every
// namespace) and, when the cache has none, from the API server: a namespace
// the operator has just created may not have reached the cache yet.
func (r *LocalAreaReconciler) currentNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns := &corev1.Namespace{}
	for _, reader := range []client.Reader{r.Client, r.APIReader} {
		err := reader.Get(ctx, client.ObjectKey{Name: name}, ns)
		if err == nil {
			return ns, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("read namespace %s: %w", name, err)
		}
	}
	return nil, nil
}

// claimNamespace decides whether area may have an existing namespace. An
// area keeps a namespace that carries its mhst.io/area label, adopts one it
// released (mhst.io/released-by), and keeps one its status says it holds
// even if someone removed the label (that is drift, and the label is put
// back). Anything else is someone else's: another area's, a namespace
// released by another area, or one the operator never managed, such as
// kube-system.
func claimNamespace(area *mhstv1alpha1.LocalArea, ns *corev1.Namespace) error {
	owner := ns.Labels[mhstv1alpha1.LabelArea]
	releasedBy := ns.Annotations[annotationReleasedBy]
	switch {
	case owner == area.Name:
		return nil
	case owner != "":
		return &namespaceConflict{fmt.Sprintf(
			"namespace %s belongs to LocalArea %s; give this area another spec.namespace", ns.Name, owner)}
	case releasedBy == area.Name, area.Status.Namespace == ns.Name:
		return nil
	case releasedBy != "":
		return &namespaceConflict{fmt.Sprintf(
			"namespace %s was released by LocalArea %s and only a LocalArea of that name adopts it; give this area another spec.namespace, or %s",
			ns.Name, releasedBy, handOverAdvice(ns.Name, area.Name))}
	default:
		return &namespaceConflict{fmt.Sprintf(
			"namespace %s already exists and is not managed by mhst-operator (it has no %s=%s label); give this area another spec.namespace, or %s",
			ns.Name, mhstv1alpha1.LabelArea, area.Name, handOverAdvice(ns.Name, area.Name))}
	}
}

// handOverAdvice says how an existing namespace is given to an area: only a
// cluster administrator (a hand-over group of the admission policy
// mhst-area-label-owner) may label it, and the area then holds it but never
// deletes it, since the operator did not create it.
func handOverAdvice(namespace, area string) string {
	return fmt.Sprintf("have a cluster administrator hand it over: kubectl label namespace %s %s=%s (docs/localarea.md, \"Handing over a namespace\")",
		namespace, mhstv1alpha1.LabelArea, area)
}

// createNamespace creates the area's namespace, marked as created by the
// area so that deletionPolicy Delete may delete it later. Create, not apply:
// when two areas name the same new namespace, only the first create
// succeeds, and the other area then finds it labelled for the first.
func (r *LocalAreaReconciler) createNamespace(ctx context.Context, area *mhstv1alpha1.LocalArea, name string) (*corev1.Namespace, error) {
	holder, err := areaOfNamespace(ctx, r.Client, name)
	if err != nil {
		return nil, err
	}
	if holder != nil && holder.Name != area.Name {
		return nil, &namespaceConflict{fmt.Sprintf(
			"namespace %s is held by LocalArea %s; give this area another spec.namespace", name, holder.Name)}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Labels:      namespaceLabels(area),
		Annotations: map[string]string{mhstv1alpha1.AnnotationCreatedBy: area.Name},
	}}
	// Its own field manager: the namespace's labels are then applied by
	// LocalAreaFieldManager, and create (an update) and apply entries are
	// never mixed under one manager.
	if err := r.Create(ctx, ns, client.FieldOwner(LocalAreaFieldManager+"-create")); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", name, err)
	}
	if converged(area) {
		r.reportDrift(ctx, area, ns, "Namespace", client.ObjectKeyFromObject(ns), false)
	} else {
		r.Recorder.Eventf(area, ns, corev1.EventTypeNormal, eventNamespaceCreated, "Provision", "Created namespace %s", name)
	}
	return ns, nil
}

// adoptNamespace takes back a namespace this area released, or one handed
// over to it that another area had released: it removes the released-by
// mark (set by a merge patch, so only a merge patch removes it) and labels
// the namespace as the area's.
func (r *LocalAreaReconciler) adoptNamespace(ctx context.Context, area *mhstv1alpha1.LocalArea, ns *corev1.Namespace) error {
	patch := client.MergeFrom(ns.DeepCopy())
	releasedBy := ns.Annotations[annotationReleasedBy]
	delete(ns.Annotations, annotationReleasedBy)
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[mhstv1alpha1.LabelArea] = area.Name
	if err := r.Patch(ctx, ns, patch); err != nil {
		return fmt.Errorf("adopt namespace %s: %w", ns.Name, err)
	}
	r.Recorder.Eventf(area, ns, corev1.EventTypeNormal, eventNamespaceAdopted, "Provision", "Adopted namespace %s, which LocalArea %s had released", ns.Name, releasedBy)
	return nil
}

// desiredNamespace is the namespace as the area wants it: its labels, and
// the created-by mark when the operator created it for this area.
func desiredNamespace(area *mhstv1alpha1.LocalArea, createdByArea bool) *corev1ac.NamespaceApplyConfiguration {
	ns := corev1ac.Namespace(area.EffectiveNamespace()).WithLabels(namespaceLabels(area))
	if createdByArea {
		ns.WithAnnotations(map[string]string{mhstv1alpha1.AnnotationCreatedBy: area.Name})
	}
	return ns
}

// namespaceLabels names the area and its wave (so that `kubectl get ns -l
// mhst.io/wave=3` lists a wave), marks the namespace as managed, and enforces
// the restricted Pod Security Standard.
func namespaceLabels(area *mhstv1alpha1.LocalArea) map[string]string {
	return map[string]string{
		mhstv1alpha1.LabelArea:                       area.Name,
		mhstv1alpha1.LabelWave:                       strconv.Itoa(int(area.Spec.Wave)),
		mhstv1alpha1.LabelManagedBy:                  mhstv1alpha1.ManagedByValue,
		"pod-security.kubernetes.io/enforce":         podSecurityLevel,
		"pod-security.kubernetes.io/enforce-version": podSecurityVersion,
		"pod-security.kubernetes.io/audit":           podSecurityLevel,
		"pod-security.kubernetes.io/audit-version":   podSecurityVersion,
		"pod-security.kubernetes.io/warn":            podSecurityLevel,
		"pod-security.kubernetes.io/warn-version":    podSecurityVersion,
	}
}
