package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// NewSupportTeamReconciler returns a SupportTeamReconciler that reads from
// mgr's cache and writes through its client, and lets teams' pods use the
// allowed priority classes only.
func NewSupportTeamReconciler(mgr ctrl.Manager, allowedPriorityClasses []string) *SupportTeamReconciler {
	return &SupportTeamReconciler{
		Client:                 mgr.GetClient(),
		APIReader:              mgr.GetAPIReader(),
		Recorder:               mgr.GetEventRecorder("supportteam-controller"),
		AllowedPriorityClasses: allowedPriorityClasses,
	}
}

// SetupWithManager registers the controller and what it watches. Nothing is
// polled: every input of a team's reconcile is watched.
//
//   - the team itself, on spec changes only (its own status writes would
//     otherwise wake it once more for nothing);
//   - the objects of its service (owner references): a change or deletion
//     made by someone else is seen at once;
//   - blueprint ConfigMaps, mapped to the teams that name them through a
//     field index, so that an edited blueprint reaches the Deployment
//     promptly;
//   - SchoolCoverages, mapped to every team of their namespace (a new
//     allocation can change which team holds a setting);
//   - LocalAreas, mapped to the teams of their namespace, when their spec,
//     phase or namespace changes (activation, suspension, wave,
//     allowIngressFrom), not when only their coverage figures do.
func (r *SupportTeamReconciler) SetupWithManager(mgr ctrl.Manager, maxConcurrentReconciles int) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named(controllerSupportTeam).
		For(&mhstv1alpha1.SupportTeam{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ServiceAccount{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&networkingv1.NetworkPolicy{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.teamsUsingBlueprint)).
		Watches(&mhstv1alpha1.SchoolCoverage{}, handler.EnqueueRequestsFromMapFunc(r.teamsOfNamespace),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&mhstv1alpha1.LocalArea{}, handler.EnqueueRequestsFromMapFunc(r.teamsOfArea),
			builder.WithPredicates(onLocalAreaUpdate(areaSpecOrPlacementChanged))).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrentReconciles}).
		Complete(r)
}

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
