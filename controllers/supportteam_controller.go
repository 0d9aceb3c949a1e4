package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/kinds"
)

// SupportTeamReconciler deploys each SupportTeam's service into its
// LocalArea's namespace and reports the team's state.
//
// One pass of Reconcile:
//
//  1. finds the team's LocalArea (the one holding its namespace). In a
//     suspended area the team is left exactly as it is: nothing is written,
//     not even status;
//  2. records the team's allocation and the WithinCapacity condition, from
//     the SchoolCoverages and SupportTeams of the namespace;
//  3. renders the service (built-in blueprint or the team's blueprint
//     ConfigMap), applies what changed server-side, and prunes what the
//     render no longer produces (see supportteam_apply.go). This step is
//     skipped, leaving the running service as it is, when the area is not
//     Active, the team is suspended or the blueprint cannot be used;
//  4. reports the service from its Deployment's own status and sums it all
//     up in Ready (see supportteam_status.go).
//
// Status is written only when it changed and objects are applied only when
// their render changed, so a converged team costs no write at all.
type SupportTeamReconciler struct {
	client.Client
	// APIReader reads around the cache. It is used only to explain why a
	// blueprint ConfigMap is not in the cache, and to confirm that an object
	// missing from the cache was really deleted before saying so in an Event.
	APIReader client.Reader
	// Recorder emits the team's Events.
	Recorder events.EventRecorder
	// AllowedPriorityClasses are the PriorityClasses a team's pods may
	// name; a render naming another is refused (BlueprintRejected).
	AllowedPriorityClasses []string
	// Coverage computes the figures of the team's area, shared with the
	// other controllers.
	Coverage *areaCoverage
	// Clock tells when a team in training becomes operational; nil is the
	// real clock.
	Clock clock.PassiveClock

	renders renderMemo
}

// +kubebuilder:rbac:groups=mhst.io,resources=supportteams,verbs=get;list;watch
// +kubebuilder:rbac:groups=mhst.io,resources=supportteams/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mhst.io,resources=supportteams/finalizers,verbs=update
// +kubebuilder:rbac:groups=mhst.io,resources=localareas,verbs=get;list;watch
// +kubebuilder:rbac:groups=mhst.io,resources=schoolcoverages,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts;configmaps,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one SupportTeam's service and status up to date.
func (r *SupportTeamReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// controller-runtime's logger already names the team and its namespace.
	logger := log.FromContext(ctx)

	var team mhstv1alpha1.SupportTeam
	if err := r.Get(ctx, req.NamespacedName, &team); err != nil {
		if apierrors.IsNotFound(err) {
			// A deleted team's service goes with it: every object carries
			// an owner reference to the team, and the garbage collector
			// removes it.
			r.renders.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get SupportTeam %s: %w", req.NamespacedName, err)
	}
	if !team.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	area, err := areaOfNamespace(ctx, r.Client, team.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	if areaSuspended(area) {
		logger.V(1).Info("area suspended: leaving the team as it is", "localarea", area.Name)
		return ctrl.Result{}, nil
	}

	before := team.DeepCopy()
	operationalIn := recordOperational(&team, nowOf(r.Clock))
	syncErr := r.sync(ctx, &team, area)
	if err := patchStatus(ctx, r.Client, &team, before); err != nil {
		return ctrl.Result{}, errors.Join(syncErr, err)
	}
	return ctrl.Result{RequeueAfter: operationalIn}, syncErr
}

// sync works the team's status out, deploying its service on the way. It
// returns an error only for failures worth retrying; problems that need a
// person (a bad blueprint, no area) are in the status instead.
func (r *SupportTeamReconciler) sync(ctx context.Context, team *mhstv1alpha1.SupportTeam, area *mhstv1alpha1.LocalArea) error {
	if err := r.recordAllocation(ctx, team, area); err != nil {
		return err
	}
	deployed := r.deployService(ctx, team, area)
	service, err := r.observeService(ctx, team, deployed.name)
	if err != nil {
		return errors.Join(deployed.err, err)
	}
	setReadiness(&team.Status.Conditions, team.Generation, teamReadiness(team, deployed, service))
	team.Status.ObservedGeneration = team.Generation
	return deployed.err
}

// deployOutcome is the outcome of deploying a team's service.
type deployOutcome struct {
	// name of the team's Deployment: the one just rendered, or the one
	// last reported when nothing was rendered (its service keeps running).
	name string
	// blocked says why the service was not rendered or applied; nil when
	// it was.
	blocked *readiness
	// err is a failure worth retrying (the API server refused an apply).
	err error
}

// blocked returns a pointer to r, for outcomes that may have no readiness.
func blocked(r readiness) *readiness {
	return &r
}

// deployService renders and applies the team's service when its area is
// Active and the team is not suspended.
func (r *SupportTeamReconciler) deployService(ctx context.Context, team *mhstv1alpha1.SupportTeam, area *mhstv1alpha1.LocalArea) deployOutcome {
	previous := ""
	if team.Status.Service != nil {
		previous = team.Status.Service.Name
	}
	if reason := areaBlocks(team, area); reason != nil {
		return deployOutcome{name: previous, blocked: reason}
	}
	if team.Spec.Suspend {
		return deployOutcome{name: previous, blocked: blocked(notReady(mhstv1alpha1.ReasonSuspended,
			"spec.suspend is true: the team's service is left as it is and its allocations do not count as covered"))}
	}
	out, refused, err := r.render(ctx, team, area)
	if err != nil {
		return deployOutcome{name: previous, blocked: blocked(progressing(mhstv1alpha1.ReasonApplyFailed, err.Error())), err: err}
	}
	if refused != nil {
		r.announceRefusal(team, *refused)
		return deployOutcome{name: previous, blocked: refused}
	}
	key := client.ObjectKeyFromObject(team)
	if err := r.applyService(ctx, team, out.Objects, r.renders.settled(key)); err != nil {
		var conflict *ownershipConflict
		if errors.As(err, &conflict) {
			// Stalled until a person acts, and retried with backoff: the
			// object in the way is outside the cache, so its removal
			// raises no event.
			stop := stalled(mhstv1alpha1.ReasonOwnershipConflict, conflict.Error())
			r.announceRefusal(team, stop)
			return deployOutcome{name: previous, blocked: blocked(stop), err: err}
		}
		err = fmt.Errorf("deploy service of team %s/%s: %w", team.Namespace, team.Name, err)
		return deployOutcome{name: out.DeploymentName, blocked: blocked(progressing(mhstv1alpha1.ReasonApplyFailed, err.Error())), err: err}
	}
	r.renders.markApplied(key)
	return deployOutcome{name: out.DeploymentName}
}

// areaSuspended reports whether the team's area is suspended, in which case
// the operator leaves everything in it as it is.
func areaSuspended(area *mhstv1alpha1.LocalArea) bool {
	return area != nil && (area.Spec.Suspend || area.Status.Phase == mhstv1alpha1.PhaseSuspended)
}

// areaBlocks says why a team cannot get a service in its namespace, or nil
// when it can. A team outside an area never gets a service: the area is the
// tenant, with the isolation and quota the service must run under.
//
// A team whose area is Scheduled or Terminating is Stalled (nothing will
// happen until the area is activated, or the team is moved). While the area
// is Provisioning it is Reconciling: the area's activation enqueues the team.
// A service that was already deployed is left as it is in every case: the
// operator never deletes a running service because of its area's state.
func areaBlocks(team *mhstv1alpha1.SupportTeam, area *mhstv1alpha1.LocalArea) *readiness {
	if area == nil {
		return blocked(stalled(mhstv1alpha1.ReasonNoLocalArea, fmt.Sprintf(
			"namespace %s is not the namespace of any LocalArea: create the SupportTeam in its area's namespace "+
				"(kubectl get localareas shows each area's namespace)", team.Namespace)))
	}
	switch area.Status.Phase {
	case mhstv1alpha1.PhaseActive:
		return nil
	case mhstv1alpha1.PhaseProvisioning, "":
		return blocked(progressing(mhstv1alpha1.ReasonAreaNotActive, fmt.Sprintf(
			"LocalArea %s is being provisioned: the team's service is deployed once it is Active", area.Name)))
	default:
		return blocked(stalled(mhstv1alpha1.ReasonAreaNotActive, areaNotActiveMessage(area)))
	}
}

func areaNotActiveMessage(area *mhstv1alpha1.LocalArea) string {
	if area.Status.Phase == mhstv1alpha1.PhaseScheduled && area.Spec.ActivateAt != nil {
		return fmt.Sprintf("LocalArea %s is Scheduled to activate at %s: the team's service is deployed once it is Active",
			area.Name, area.Spec.ActivateAt.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("LocalArea %s is %s: the team's service is deployed only in an Active area",
		area.Name, area.Status.Phase)
}

// NewSupportTeamReconciler returns a SupportTeamReconciler that reads from
// mgr's cache and writes through its client, and lets teams' pods use the
// allowed priority classes only.
func NewSupportTeamReconciler(mgr ctrl.Manager, allowedPriorityClasses []string, shared *areaCoverage) *SupportTeamReconciler {
	return &SupportTeamReconciler{
		Client:                 mgr.GetClient(),
		APIReader:              mgr.GetAPIReader(),
		Recorder:               mgr.GetEventRecorder("supportteam-controller"),
		AllowedPriorityClasses: allowedPriorityClasses,
		Coverage:               shared,
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
	b := ctrl.NewControllerManagedBy(mgr).
		Named(controllerSupportTeam).
		For(&mhstv1alpha1.SupportTeam{}, builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	for _, k := range kinds.MadeFor(kinds.Team) {
		b = b.Owns(k.New())
	}
	return b.
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.teamsUsingBlueprint)).
		Watches(&mhstv1alpha1.SchoolCoverage{}, handler.EnqueueRequestsFromMapFunc(r.teamsOfNamespace),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&mhstv1alpha1.LocalArea{}, handler.EnqueueRequestsFromMapFunc(r.teamsOfArea),
			builder.WithPredicates(onLocalAreaUpdate(areaSpecOrPlacementChanged))).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrentReconciles}).
		Complete(r)
}
