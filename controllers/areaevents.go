package controllers

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

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
		!equality.Semantic.DeepEqual(older.Status.Coverage, newer.Status.Coverage)
}
