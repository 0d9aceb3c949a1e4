package controllers

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// The SchoolCoverage controller's mapping functions: which allocations a
// change to an allocation, a team or an area re-evaluates.

// coveragesBesides maps a SchoolCoverage to every SchoolCoverage of its
// namespace, itself included: winners and conflicts depend on the whole
// area. On delete, the deleted one is gone from the cache and only its
// siblings are listed; it is added, so that its reconcile finds it gone and
// removes its gauges.
func (r *SchoolCoverageReconciler) coveragesBesides(ctx context.Context, obj client.Object) []reconcile.Request {
	reqs := r.coveragesIn(ctx, obj.GetNamespace())
	self := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}}
	if !slices.Contains(reqs, self) {
		reqs = append(reqs, self)
	}
	return reqs
}

// coveragesOfTeam maps a SupportTeam to the SchoolCoverages naming it.
func (r *SchoolCoverageReconciler) coveragesOfTeam(ctx context.Context, obj client.Object) []reconcile.Request {
	var covs mhstv1alpha1.SchoolCoverageList
	if err := r.List(ctx, &covs, client.InNamespace(obj.GetNamespace()), client.MatchingFields{indexCoverageTeam: obj.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "list coverages of team", "namespace", obj.GetNamespace(), "name", obj.GetName())
		return nil
	}
	return coverageRequests(covs.Items)
}

// coveragesOfArea maps a LocalArea to the SchoolCoverages of the namespace it
// holds, and of the one it asks for when that differs (an area that could not
// claim its namespace, or one going away).
func (r *SchoolCoverageReconciler) coveragesOfArea(ctx context.Context, obj client.Object) []reconcile.Request {
	area := obj.(*mhstv1alpha1.LocalArea)
	reqs := r.coveragesIn(ctx, area.EffectiveNamespace())
	if held := area.Status.Namespace; held != "" && held != area.EffectiveNamespace() {
		reqs = append(reqs, r.coveragesIn(ctx, held)...)
	}
	return reqs
}

func (r *SchoolCoverageReconciler) coveragesIn(ctx context.Context, ns string) []reconcile.Request {
	var covs mhstv1alpha1.SchoolCoverageList
	if err := r.List(ctx, &covs, client.InNamespace(ns)); err != nil {
		logf.FromContext(ctx).Error(err, "list coverages", "namespace", ns)
		return nil
	}
	return coverageRequests(covs.Items)
}

func coverageRequests(covs []mhstv1alpha1.SchoolCoverage) []reconcile.Request {
	reqs := make([]reconcile.Request, 0, len(covs))
	for _, c := range covs {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
	}
	return reqs
}
