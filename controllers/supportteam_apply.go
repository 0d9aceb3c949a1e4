package controllers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/apply"
	"github.com/mhst-io/mhst-operator/internal/kinds"
)

// service is the apply engine of teams' services, with the SupportTeam
// controller's field manager.
func (r *SupportTeamReconciler) service() *apply.Engine {
	return &apply.Engine{Cache: r.Client, Live: r.APIReader, Writer: r.Client, Scheme: r.Scheme(), FieldManager: SupportTeamFieldManager}
}

// applyService applies the rendered objects that changed, then deletes the
// objects of the previous inventory that the render no longer produces, and
// records the new inventory. Like Flux's kustomize-controller, it prunes only
// after every object was applied, so a failed apply never leaves the team
// with less than it had.
//
// settled says the team's objects held this very render before (the memo of
// renders says it was applied in full, and its input has not changed since):
// an object that no longer holds it was changed by someone else.
func (r *SupportTeamReconciler) applyService(ctx context.Context, team *mhstv1alpha1.SupportTeam, objects []*unstructured.Unstructured, settled bool) error {
	previous := team.Status.Inventory
	desired := inventoryOf(objects)
	if err := r.applyChanged(ctx, team, objects, previous, settled); err != nil {
		// Keep every object in the inventory, so that the next pass still
		// prunes what the render dropped.
		team.Status.Inventory = unionOf(previous, desired)
		return err
	}
	labelled, err := r.labelledObjects(ctx, team)
	if err != nil {
		team.Status.Inventory = unionOf(previous, desired)
		return err
	}
	if err := r.prune(ctx, team, staleEntries(unionOf(previous, labelled), desired)); err != nil {
		team.Status.Inventory = unionOf(previous, desired)
		return err
	}
	team.Status.Inventory = desired
	return nil
}

// labelledObjects lists, from the cache, the objects of every kind a
// blueprint may render that carry the team's label. Pruning what the render
// no longer produces from these as well as from the inventory means nothing
// is left behind when the inventory in status is not the latest: a reconcile
// that read the team before its previous status write reached the cache
// would otherwise record a new inventory without an object it never saw.
func (r *SupportTeamReconciler) labelledObjects(ctx context.Context, team *mhstv1alpha1.SupportTeam) ([]mhstv1alpha1.InventoryEntry, error) {
	var entries []mhstv1alpha1.InventoryEntry
	for _, k := range kinds.MadeFor(kinds.Team) {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(k.GVK.GroupVersion().WithKind(k.GVK.Kind + "List"))
		// PartialObjectMetadata would need informers of its own: list the
		// typed objects the cache already holds.
		typed, err := r.Scheme().New(list.GroupVersionKind())
		if err != nil {
			return nil, fmt.Errorf("list %s of team %s: %w", k.GVK.Kind, team.Name, err)
		}
		objList, ok := typed.(client.ObjectList)
		if !ok {
			return nil, fmt.Errorf("%s is not a list", list.GroupVersionKind())
		}
		if err := r.List(ctx, objList, client.InNamespace(team.Namespace),
			client.MatchingLabels{mhstv1alpha1.LabelTeam: team.Name}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("list %s of team %s: %w", k.GVK.Kind, team.Name, err)
		}
		if err := meta.EachListItem(objList, func(o runtime.Object) error {
			if obj, ok := o.(client.Object); ok && appliedFor(team, obj) {
				entries = append(entries, mhstv1alpha1.InventoryEntry{APIVersion: k.GVK.GroupVersion().String(), Kind: k.GVK.Kind, Name: obj.GetName()})
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// applyChanged applies, server-side, each object whose render differs from
// what the cache holds.
func (r *SupportTeamReconciler) applyChanged(ctx context.Context, team *mhstv1alpha1.SupportTeam, objects []*unstructured.Unstructured, previous []mhstv1alpha1.InventoryEntry, settled bool) error {
	for _, obj := range objects {
		if err := r.prepare(team, obj); err != nil {
			return err
		}
		if err := r.applyIfChanged(ctx, team, obj, slices.Contains(previous, entryOf(obj)), settled); err != nil {
			return err
		}
	}
	return nil
}

// prepare adds to a rendered object what the operator needs on everything
// it applies: the team as controller owner (so the garbage collector removes
// the service with the team) and the labels the operator's cache selects on.
func (r *SupportTeamReconciler) prepare(team *mhstv1alpha1.SupportTeam, obj *unstructured.Unstructured) error {
	if err := controllerutil.SetControllerReference(team, obj, r.Scheme()); err != nil {
		return fmt.Errorf("set owner of %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	// The cache holds only objects carrying these labels (see cache.go); an
	// object without them would look missing and be applied on every pass.
	labels[mhstv1alpha1.LabelManagedBy] = mhstv1alpha1.ManagedByValue
	labels[mhstv1alpha1.LabelTeam] = team.Name
	if obj.GroupVersionKind() == corev1.SchemeGroupVersion.WithKind("ConfigMap") {
		labels[mhstv1alpha1.LabelConfigMap] = mhstv1alpha1.ConfigMapTeamConfiguration
	}
	obj.SetLabels(labels)
	return nil
}

// applyIfChanged applies obj unless it holds the render already. An object
// of that name the team does not control is never written to.
//
// What internal/apply reports tells why it wrote: restoring an object of a
// settled render (see applyService) is drift corrected, reported in an
// Event; so is restoring one the team's inventory lists but that is gone
// (wasApplied), which the inventory in status tells even when the operator
// has just started and does not know whether the render is settled. Any
// other write follows a change of the render, and is not drift.
func (r *SupportTeamReconciler) applyIfChanged(ctx context.Context, team *mhstv1alpha1.SupportTeam, obj *unstructured.Unstructured, wasApplied, settled bool) error {
	out, err := r.service().Apply(ctx, apply.Object{
		Desired: obj,
		Settled: settled,
		Mine:    func(existing client.Object) error { return checkController(team, existing) },
	})
	if err != nil || !out.Wrote {
		return err
	}
	log.FromContext(ctx).V(1).Info("applied", "kind", obj.GetKind(), "name", obj.GetName(), "drift", out.Drift)
	switch {
	case !out.Existed && (out.Drift || wasApplied):
		r.Recorder.Eventf(team, nil, corev1.EventTypeNormal, mhstv1alpha1.ReasonDriftCorrected, "Restore",
			"%s %s was deleted outside the operator and has been restored", obj.GetKind(), obj.GetName())
	case out.Existed && out.Drift:
		r.Recorder.Eventf(team, nil, corev1.EventTypeNormal, mhstv1alpha1.ReasonDriftCorrected, "Restore",
			"%s %s was changed outside the operator and has been restored", obj.GetKind(), obj.GetName())
	}
	return nil
}

// prune deletes the objects of stale entries that the operator applied for
// this team. An entry that names a kind a blueprint cannot produce, or an
// object the team does not control, is left alone: the inventory is in the
// team's status, and it must not become a way to delete anything else.
func (r *SupportTeamReconciler) prune(ctx context.Context, team *mhstv1alpha1.SupportTeam, stale []mhstv1alpha1.InventoryEntry) error {
	var errs []error
	for _, entry := range stale {
		k, ok := kinds.Lookup(schema.FromAPIVersionAndKind(entry.APIVersion, entry.Kind))
		if !ok || !k.Blueprint {
			continue
		}
		obj := k.New()
		obj.SetNamespace(team.Namespace)
		obj.SetName(entry.Name)
		deleted, err := r.service().Prune(ctx, obj, func(existing client.Object) bool { return appliedFor(team, existing) })
		if err != nil {
			errs = append(errs, fmt.Errorf("prune %s %s: %w", entry.Kind, entry.Name, err))
			continue
		}
		if deleted {
			log.FromContext(ctx).V(1).Info("pruned", "kind", entry.Kind, "name", entry.Name)
		}
	}
	return errors.Join(errs...)
}

// appliedFor reports whether the operator applied obj for this team: the
// team controls it and it carries the team's label.
func appliedFor(team *mhstv1alpha1.SupportTeam, obj client.Object) bool {
	owner := metav1.GetControllerOf(obj)
	return owner != nil && owner.UID == team.UID && obj.GetLabels()[mhstv1alpha1.LabelTeam] == team.Name
}

// inventoryOf lists the objects sorted by kind, name and apiVersion.
func inventoryOf(objects []*unstructured.Unstructured) []mhstv1alpha1.InventoryEntry {
	entries := make([]mhstv1alpha1.InventoryEntry, 0, len(objects))
	for _, obj := range objects {
		entries = append(entries, entryOf(obj))
	}
	sortEntries(entries)
	return entries
}

func entryOf(obj *unstructured.Unstructured) mhstv1alpha1.InventoryEntry {
	return mhstv1alpha1.InventoryEntry{APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(), Name: obj.GetName()}
}

func sortEntries(entries []mhstv1alpha1.InventoryEntry) {
	slices.SortFunc(entries, func(a, b mhstv1alpha1.InventoryEntry) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name), cmp.Compare(a.APIVersion, b.APIVersion))
	})
}

// staleEntries returns the entries of previous that desired no longer has.
func staleEntries(previous, desired []mhstv1alpha1.InventoryEntry) []mhstv1alpha1.InventoryEntry {
	var stale []mhstv1alpha1.InventoryEntry
	for _, e := range previous {
		if !slices.Contains(desired, e) {
			stale = append(stale, e)
		}
	}
	return stale
}

// unionOf returns the entries of a and b, each once, sorted.
func unionOf(a, b []mhstv1alpha1.InventoryEntry) []mhstv1alpha1.InventoryEntry {
	union := slices.Clone(b)
	union = append(union, staleEntries(a, b)...)
	sortEntries(union)
	return union
}
