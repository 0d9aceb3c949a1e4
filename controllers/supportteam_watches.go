package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// teamsUsingBlueprint maps a blueprint ConfigMap to the teams rendering
// from it. On an update the map runs for both the old and the new object, so
// a ConfigMap that loses its blueprint label still wakes its teams (which
// then report it).
func (r *SupportTeamReconciler) teamsUsingBlueprint(ctx context.Context, obj client.Object) []reconcile.Request {
	if obj.GetLabels()[mhstv1alpha1.LabelConfigMap] != mhstv1alpha1.ConfigMapBlueprint {
		return nil
	}
	return r.listTeams(ctx, client.InNamespace(obj.GetNamespace()), client.MatchingFields{indexTeamBlueprint: obj.GetName()})
}

// teamsOfNamespace maps an object to every team of its namespace.
func (r *SupportTeamReconciler) teamsOfNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.listTeams(ctx, client.InNamespace(obj.GetNamespace()))
}

// teamsOfArea maps a LocalArea to the teams of the namespace it holds (or
// will hold, before it has claimed it).
func (r *SupportTeamReconciler) teamsOfArea(ctx context.Context, obj client.Object) []reconcile.Request {
	area, ok := obj.(*mhstv1alpha1.LocalArea)
	if !ok {
		return nil
	}
	ns := area.Status.Namespace
	if ns == "" {
		ns = area.EffectiveNamespace()
	}
	return r.listTeams(ctx, client.InNamespace(ns))
}

func (r *SupportTeamReconciler) listTeams(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var teams mhstv1alpha1.SupportTeamList
	if err := r.List(ctx, &teams, opts...); err != nil {
		// A map function cannot return an error; the cache only fails
		// while it is being stopped.
		log.FromContext(ctx).Error(err, "list SupportTeams to enqueue")
		return nil
	}
	requests := make([]reconcile.Request, len(teams.Items))
	for i := range teams.Items {
		requests[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&teams.Items[i])}
	}
	return requests
}
