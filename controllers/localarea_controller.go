package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/kinds"
)

// Reasons of the Events the LocalArea controller emits (besides
// DriftCorrected), CamelCase so that `kubectl events --for area/<name>`
// reads as a history of the tenant.
const (
	eventActivated         = "Activated"
	eventNamespaceCreated  = "NamespaceCreated"
	eventNamespaceAdopted  = "NamespaceAdopted"
	eventNamespaceConflict = "NamespaceConflict"
	eventNamespaceReleased = "NamespaceReleased"
	eventNamespaceRetained = "NamespaceRetained"
	eventNamespaceDeleted  = "NamespaceDeleted"
)

// reasonNamespaceTerminating: the area waits for its namespace, deleted by
// someone, to be gone before creating it again.
const reasonNamespaceTerminating = "NamespaceTerminating"

// LocalAreaReconciler turns a LocalArea into a tenant: a namespace of its
// own with Pod Security labels, a ResourceQuota and a LimitRange, network
// policies that isolate it from other areas, and the access of its
// governance board and leads. It reports the area's teams and coverage in
// status, and hands the namespace back (or deletes it) when the area goes.
//
// Everything is applied server-side only when the cache shows a difference,
// so a converged area costs no writes; children changed by hand are put
// back, with a DriftCorrected Event.
type LocalAreaReconciler struct {
	client.Client
	// APIReader reads from the API server, past the cache, to confirm a
	// difference before writing.
	APIReader client.Reader
	// Recorder emits Events about the areas.
	Recorder events.EventRecorder
	// Tenancy holds the isolation defaults of every area.
	Tenancy TenancyDefaults
	// Coverage computes the area's coverage, shared with the other
	// controllers.
	Coverage *areaCoverage
	// Clock gives the date the plan is measured at; nil is the real clock.
	Clock clock.PassiveClock
	// metrics are the areas' state gauges, set from the status each
	// reconcile computes.
	metrics *areaStateMetrics
}

// NewLocalAreaReconciler builds the reconciler from the manager's clients
// and event recorder.
func NewLocalAreaReconciler(mgr ctrl.Manager, tenancy TenancyDefaults, shared *areaCoverage) *LocalAreaReconciler {
	return &LocalAreaReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("localarea-controller"),
		Tenancy:   tenancy,
		Coverage:  shared,
		metrics:   newAreaStateMetrics(),
	}
}

// +kubebuilder:rbac:groups=mhst.io,resources=localareas,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mhst.io,resources=localareas/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mhst.io,resources=localareas/finalizers,verbs=update
// +kubebuilder:rbac:groups=mhst.io,resources=supportteams;schoolcoverages,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile moves one LocalArea through its lifecycle: Scheduled until
// activateAt, then Provisioning and Active, Suspended while spec.suspend is
// set, Terminating once deleted.
func (r *LocalAreaReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	area := &mhstv1alpha1.LocalArea{}
	if err := r.Get(ctx, req.NamespacedName, area); err != nil {
		if apierrors.IsNotFound(err) {
			r.metrics.forget(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Whichever way the reconcile returns, the gauges show the status it
	// computed (the one written, or the one a failed write will retry).
	defer r.metrics.observe(area)
	if !area.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, area)
	}
	now := time.Now()
	wait := activationDelay(area, now)
	if !area.Spec.Suspend && wait <= 0 {
		if err := r.ensureFinalizer(ctx, area); err != nil {
			return ctrl.Result{}, err
		}
	}

	before := area.DeepCopy()
	area.Status.ObservedGeneration = area.Generation
	status, reason, message := governanceCondition(area.Spec.Governance.Board)
	setCondition(&area.Status.Conditions, area.Generation, mhstv1alpha1.ConditionGovernanceReady, status, reason, message)

	var result ctrl.Result
	var err error
	switch {
	case area.Spec.Suspend:
		markSuspended(area)
	case wait > 0:
		markScheduled(area, now)
		result = ctrl.Result{RequeueAfter: wait}
	default:
		err = r.provision(ctx, area, now)
		result.RequeueAfter = planRequeue(area, nowOf(r.Clock))
	}
	if statusErr := patchStatus(ctx, r.Client, area, before); statusErr != nil {
		err = errors.Join(err, statusErr)
	}
	return result, err
}

// activationDelay is how long until the area may be provisioned: the time
// to spec.activateAt, or zero once it has passed. activateAt only delays the
// first provisioning; an area already activated is never unprovisioned by
// moving it later.
func activationDelay(area *mhstv1alpha1.LocalArea, now time.Time) time.Duration {
	if area.Spec.ActivateAt == nil || area.Status.ActivatedAt != nil {
		return 0
	}
	return max(area.Spec.ActivateAt.Sub(now), 0)
}

// markScheduled records an area waiting for activateAt; nothing is created.
func markScheduled(area *mhstv1alpha1.LocalArea, now time.Time) {
	area.Status.Phase = mhstv1alpha1.PhaseScheduled
	setReadiness(&area.Status.Conditions, area.Generation, notReady(mhstv1alpha1.ReasonScheduled,
		fmt.Sprintf("Nothing is provisioned before spec.activateAt (%s).", area.Spec.ActivateAt.UTC().Format(time.RFC3339))))
}

// markSuspended records a suspended area; its tenant is left as it is.
func markSuspended(area *mhstv1alpha1.LocalArea) {
	area.Status.Phase = mhstv1alpha1.PhaseSuspended
	setReadiness(&area.Status.Conditions, area.Generation, notReady(mhstv1alpha1.ReasonSuspended,
		"spec.suspend is true: the operator leaves the tenant exactly as it is until it is false again."))
}

// provision claims the namespace and then brings every child in line, one
// step per kind of child. The steps after the namespace run whatever
// happens to the others, and their errors are collected, so that one
// failing child (a quota rejected by an admission webhook, say) does not
// hold back the isolation and access of the rest.
func (r *LocalAreaReconciler) provision(ctx context.Context, area *mhstv1alpha1.LocalArea, now time.Time) error {
	area.Status.Phase = mhstv1alpha1.PhaseProvisioning
	ns, created, err := r.syncNamespace(ctx, area)
	if stop := r.recordNamespaceProblem(area, err); stop {
		return ignoreConflict(err)
	}
	area.Status.Namespace = ns.Name
	if created {
		ctx = withCreatedNamespace(ctx, ns.Name)
	}

	// One step per kind of child; a new step is one more line here.
	err = errors.Join(
		syncAtOnce(ctx, area,
			r.syncQuota,
			r.syncLimitRange,
			r.syncNetworkPolicies,
			r.syncGovernance,
		),
		r.observeTeamsAndCoverage(ctx, area),
	)
	if conflicts := ownershipConflicts(err); len(conflicts) > 0 {
		// Stalled until a person acts, and retried with backoff: the
		// object in the way is outside the operator's cache, so its
		// removal raises no event.
		message := conflictsMessage(conflicts)
		if !isStalledBy(area, message) {
			r.Recorder.Eventf(area, nil, corev1.EventTypeWarning, mhstv1alpha1.ReasonOwnershipConflict, "Provision", "%s", eventNote(message))
		}
		setReadiness(&area.Status.Conditions, area.Generation, stalled(mhstv1alpha1.ReasonOwnershipConflict, message))
		return err
	}
	if err != nil {
		setReadiness(&area.Status.Conditions, area.Generation, progressing(mhstv1alpha1.ReasonApplyFailed,
			fmt.Sprintf("Provisioning namespace %s failed, and is retried: %v", ns.Name, err)))
		return err
	}
	r.markActive(area, now)
	return nil
}

// syncAtOnce runs independent child steps concurrently and collects their
// errors. Each step applies its own objects and only reads the area, so a
// new area is provisioned in the time of its slowest step rather than the
// sum of them: a rollout wave is bounded by the API server, not by one
// round trip after another.
func syncAtOnce(ctx context.Context, area *mhstv1alpha1.LocalArea, steps ...func(context.Context, *mhstv1alpha1.LocalArea) error) error {
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps {
		wg.Go(func() { errs[i] = step(ctx, area) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// recordNamespaceProblem records why the namespace cannot be used, and says
// whether provisioning must stop there.
func (r *LocalAreaReconciler) recordNamespaceProblem(area *mhstv1alpha1.LocalArea, err error) (stop bool) {
	var conflict *namespaceConflict
	switch {
	case err == nil:
		return false
	case errors.As(err, &conflict):
		// The area holds nothing while in conflict: what it reported
		// before is no longer its own.
		area.Status.Namespace = ""
		area.Status.Teams = mhstv1alpha1.TeamCounts{}
		area.Status.Coverage = nil
		if !isStalledBy(area, conflict.message) {
			r.Recorder.Eventf(area, nil, corev1.EventTypeWarning, eventNamespaceConflict, "Provision", "%s", conflict.message)
		}
		setReadiness(&area.Status.Conditions, area.Generation, stalled(mhstv1alpha1.ReasonNamespaceConflict, conflict.message))
	case errors.Is(err, errNamespaceTerminating):
		setReadiness(&area.Status.Conditions, area.Generation, progressing(reasonNamespaceTerminating,
			fmt.Sprintf("Namespace %s is being deleted; it is created again once it is gone.", area.EffectiveNamespace())))
	default:
		setReadiness(&area.Status.Conditions, area.Generation, progressing(mhstv1alpha1.ReasonApplyFailed,
			fmt.Sprintf("Claiming namespace %s failed, and is retried: %v", area.EffectiveNamespace(), err)))
	}
	return true
}

// ignoreConflict drops the errors that a retry cannot fix: a conflict waits
// for a person (or for the namespace to change, which the Namespace watch
// notices), and a terminating namespace for its deletion to finish.
func ignoreConflict(err error) error {
	var conflict *namespaceConflict
	if errors.As(err, &conflict) || errors.Is(err, errNamespaceTerminating) {
		return nil
	}
	return err
}

// isStalledBy reports whether the area already records this conflict, so
// that its Event is emitted once, not on every visit.
func isStalledBy(area *mhstv1alpha1.LocalArea, message string) bool {
	for _, c := range area.Status.Conditions {
		if c.Type == mhstv1alpha1.ConditionStalled {
			return c.Message == message
		}
	}
	return false
}

// markActive records a fully provisioned area, and when it was first
// provisioned.
func (r *LocalAreaReconciler) markActive(area *mhstv1alpha1.LocalArea, now time.Time) {
	area.Status.Phase = mhstv1alpha1.PhaseActive
	if area.Status.ActivatedAt == nil {
		area.Status.ActivatedAt = &metav1.Time{Time: now}
		r.Recorder.Eventf(area, nil, corev1.EventTypeNormal, eventActivated, "Provision",
			"Namespace %s is provisioned and isolated; the area is Active", area.Status.Namespace)
	}
	setReadiness(&area.Status.Conditions, area.Generation, ready(mhstv1alpha1.ReasonReconciled,
		fmt.Sprintf("Namespace %s is provisioned, isolated and open to the governance board and leads.", area.Status.Namespace)))
}

// observeTeamsAndCoverage counts the area's SupportTeams and computes its
// coverage from its SchoolCoverages, both read from the cache.
func (r *LocalAreaReconciler) observeTeamsAndCoverage(ctx context.Context, area *mhstv1alpha1.LocalArea) error {
	figures, err := r.Coverage.ofArea(ctx, area, nowOf(r.Clock))
	if err != nil {
		return err
	}
	// The teams' Ready conditions, which the shared computation does not
	// key on: listed as they are now.
	var teams mhstv1alpha1.SupportTeamList
	if err := r.List(ctx, &teams, &client.ListOptions{Namespace: area.Status.Namespace, UnsafeDisableDeepCopy: ptrTo(true)}); err != nil {
		return fmt.Errorf("list teams of area %s: %w", area.Name, err)
	}
	area.Status.Teams = countTeams(teams.Items)
	recordPlan(area, figures.plan)
	return nil
}

// countTeams counts the teams, and those whose Ready condition is True.
func countTeams(teams []mhstv1alpha1.SupportTeam) mhstv1alpha1.TeamCounts {
	counts := mhstv1alpha1.TeamCounts{Total: int32(len(teams))}
	for i := range teams {
		if meta.IsStatusConditionTrue(teams[i].Status.Conditions, mhstv1alpha1.ConditionReady) {
			counts.Ready++
		}
	}
	return counts
}

// SetupWithManager registers the reconciler. Besides LocalAreas it watches
// what an area is made of, so that a change by hand is put back at once:
// the namespaces (all of them, as the cache holds every namespace: a
// namespace freed or relabelled may end a conflict), the children (found by
// their mhst.io/area label, also after someone removed their managed-by
// label and so dropped them out of the cache), and the SupportTeams and
// SchoolCoverages whose counts and coverage the status reports.
// areaRetryCap bounds the wait between retries of an area that failed. An
// area stopped by an object in its way (OwnershipConflict) learns that the
// object is gone only by retrying, since the operator's cache does not hold
// what it did not make: once a person has removed it, the area goes on
// within a minute, not after controller-runtime's default of up to about
// seventeen minutes.
const areaRetryCap = time.Minute

func (r *LocalAreaReconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	byAreaLabel := handler.EnqueueRequestsFromMapFunc(areaOfLabel)
	byNamespace := areaHoldingNamespace(r.Client)
	b := ctrl.NewControllerManagedBy(mgr).
		Named(controllerLocalArea).
		For(&mhstv1alpha1.LocalArea{}, builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	for _, k := range kinds.MadeFor(kinds.Area) {
		switch k.GVK.Kind {
		case "Namespace":
			b = b.Watches(k.New(), handler.EnqueueRequestsFromMapFunc(r.areasNamingNamespace))
		case "ConfigMap":
			b = b.Watches(k.New(), byAreaLabel, builder.WithPredicates(governanceParameter))
		default:
			b = b.Watches(k.New(), byAreaLabel)
		}
	}
	err := b.
		// The area counts its teams and their readiness, and its coverage
		// depends on specs only: a team's or an allocation's other status
		// writes (figures the area computes itself) do not wake it.
		Watches(&mhstv1alpha1.SupportTeam{}, byNamespace,
			builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, teamReadinessChanged))).
		Watches(&mhstv1alpha1.SchoolCoverage{}, byNamespace, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: workers,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[ctrl.Request](5*time.Millisecond, areaRetryCap),
		}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up LocalArea controller: %w", err)
	}
	return nil
}
