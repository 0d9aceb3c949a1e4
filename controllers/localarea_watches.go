package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// What the controllers watch about LocalAreas and their namespaces: which
// area an object or a namespace belongs to, and the filters that keep one
// area's status writes from waking every controller.

// areaOfLabel maps a child to the area its mhst.io/area label names.
func areaOfLabel(_ context.Context, obj client.Object) []reconcile.Request {
	if name := obj.GetLabels()[mhstv1alpha1.LabelArea]; name != "" {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
	}
	return nil
}

// areasNamingNamespace maps a namespace to the area its label names and to
// every area whose spec names it, so that an area stalled on a conflict
// tries again when the namespace is freed.
func (r *LocalAreaReconciler) areasNamingNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	reqs := areaOfLabel(ctx, obj)
	var areas mhstv1alpha1.LocalAreaList
	if err := r.List(ctx, &areas, client.MatchingFields{indexAreaNamespace: obj.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "list areas naming namespace", "namespace", obj.GetName())
		return reqs
	}
	for _, a := range areas.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: a.Name}})
	}
	return reqs
}

// teamReadinessChanged passes the updates of a SupportTeam whose Ready
// condition changed status, which the area's status.teams.ready counts.
var teamReadinessChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		older, okOld := e.ObjectOld.(*mhstv1alpha1.SupportTeam)
		newer, okNew := e.ObjectNew.(*mhstv1alpha1.SupportTeam)
		return okOld && okNew && meta.IsStatusConditionTrue(older.Status.Conditions, mhstv1alpha1.ConditionReady) !=
			meta.IsStatusConditionTrue(newer.Status.Conditions, mhstv1alpha1.ConditionReady)
	},
}

// governanceParameter passes the events of the areas' mhst-governance
// ConfigMaps only: the LocalArea controller puts one back when it is
// changed or deleted, and must not wake for the coverage reports, which
// carry the same area label and change with every allocation.
var governanceParameter = predicate.NewPredicateFuncs(func(obj client.Object) bool {
	return obj.GetLabels()[mhstv1alpha1.LabelConfigMap] == mhstv1alpha1.ConfigMapGovernance
})

// areaOfNamespace returns the LocalArea that holds namespace ns, or nil when
// no area does. Several areas may name the same namespace; only the one that
// claimed it (status.namespace) holds it, the others are stalled.
func areaOfNamespace(ctx context.Context, c client.Reader, ns string) (*mhstv1alpha1.LocalArea, error) {
	var areas mhstv1alpha1.LocalAreaList
	if err := c.List(ctx, &areas, client.MatchingFields{indexAreaNamespace: ns}); err != nil {
		return nil, fmt.Errorf("list areas of namespace %s: %w", ns, err)
	}
	for i := range areas.Items {
		if areas.Items[i].Status.Namespace == ns {
			return &areas.Items[i], nil
		}
	}
	return nil, nil
}

// areaHoldingNamespace returns a handler that maps a namespaced object (a
// SupportTeam, a SchoolCoverage) to the LocalArea holding its namespace,
// for the controllers whose work is per area.
func areaHoldingNamespace(c client.Reader) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		area, err := areaOfNamespace(ctx, c, obj.GetNamespace())
		if err != nil {
			logf.FromContext(ctx).Error(err, "find area of namespace", "namespace", obj.GetNamespace(), "name", obj.GetName())
			return nil
		}
		if area == nil {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: area.Name}}}
	})
}

// A LocalArea's status changes with every team and allocation of the area
// (its counts and coverage). The controllers that watch LocalAreas for
// something else filter those updates out, or one allocation change would
// wake every team and allocation of the area for nothing.

// onLocalAreaUpdate passes every creation and deletion of a LocalArea, and
// the updates for which changed is true.
func onLocalAreaUpdate(changed func(older, newer *mhstv1alpha1.LocalArea) bool) predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			older, okOld := e.ObjectOld.(*mhstv1alpha1.LocalArea)
			newer, okNew := e.ObjectNew.(*mhstv1alpha1.LocalArea)
			return okOld && okNew && changed(older, newer)
		},
	}
}

// areaPlacementChanged: which namespace the area asks for or holds, or
// whether it is Active, changed.
func areaPlacementChanged(older, newer *mhstv1alpha1.LocalArea) bool {
	return older.Status.Phase != newer.Status.Phase ||
		older.Status.Namespace != newer.Status.Namespace ||
		older.EffectiveNamespace() != newer.EffectiveNamespace()
}

// areaPlacementOrGroupChanged: the placement changed, or the wave or region
// the area's allocations are labelled with in their metrics.
func areaPlacementOrGroupChanged(older, newer *mhstv1alpha1.LocalArea) bool {
	return areaPlacementChanged(older, newer) ||
		older.Spec.Wave != newer.Spec.Wave || older.Spec.Region != newer.Spec.Region
}

// areaSpecOrPlacementChanged: the spec (wave, allowIngressFrom, target, ...)
// or the placement changed.
func areaSpecOrPlacementChanged(older, newer *mhstv1alpha1.LocalArea) bool {
	return older.Generation != newer.Generation || areaPlacementChanged(older, newer)
}

// areaFiguresChanged: what the national report shows changed, the spec
// (name, region, wave, target) or the figures (teams, coverage).
func areaFiguresChanged(older, newer *mhstv1alpha1.LocalArea) bool {
	return older.Generation != newer.Generation ||
		older.Status.Teams != newer.Status.Teams ||
		!equality.Semantic.DeepEqual(older.Status.Coverage, newer.Status.Coverage) ||
		!equality.Semantic.DeepEqual(older.Status.Plan, newer.Status.Plan)
}
