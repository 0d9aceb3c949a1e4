package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
)

// maxConflictsInMessage bounds the Conflicted message; status.conflicts
// always lists every conflict.
const maxConflictsInMessage = 10

// SchoolCoverageReconciler writes SchoolCoverage status: what the allocation
// counts for in its area (settings, pupils, disadvantaged pupils, conflicts)
// and its Agreed, Conflicted and Ready conditions. It is the only writer of
// SchoolCoverage status.
//
// Which claim holds a setting depends on every allocation of the area, so a
// change to one SchoolCoverage re-evaluates all SchoolCoverages of its
// namespace, listed from the cache: the work is proportional to the area that
// changed, never to the nation.
//
// Readiness, as an auditor reads it: Ready is True when the settings credited
// to the allocation are covered (reason Covered), or when a list without a
// team records its settings (reason Unallocated). An allocation that loses
// some of its settings to older claims still covers the others, so it stays
// Ready with Conflicted True beside it; one that loses all of them covers
// nothing and is Ready False with reason SettingsClaimedElsewhere. A missing
// or suspended team and a missing agreement make it Ready False without
// Stalled: each resolves when a person acts elsewhere (creates the team,
// resumes it, records the board's decision) and the controller notices on
// its own. Only an allocation outside any area's namespace is Stalled.
type SchoolCoverageReconciler struct {
	client.Client
	// Recorder emits the Events that record agreements given and withdrawn.
	Recorder events.EventRecorder
	// Coverage computes the area's coverage, once for all its allocations.
	Coverage *areaCoverage
	// metrics are the allocations' agreement gauges, set from the status
	// each reconcile records.
	metrics *allocationMetrics
}

// NewSchoolCoverageReconciler builds the reconciler from the manager's
// client and event recorder, with the shared coverage computation.
func NewSchoolCoverageReconciler(mgr ctrl.Manager, shared *areaCoverage) *SchoolCoverageReconciler {
	return &SchoolCoverageReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("schoolcoverage-controller"),
		Coverage: shared,
		metrics:  newAllocationMetrics(),
	}
}

// +kubebuilder:rbac:groups=mhst.io,resources=schoolcoverages,verbs=get;list;watch
// +kubebuilder:rbac:groups=mhst.io,resources=schoolcoverages/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mhst.io,resources=supportteams,verbs=get;list;watch
// +kubebuilder:rbac:groups=mhst.io,resources=localareas,verbs=get;list;watch

// Reconcile computes the allocation's place in its area and records it.
func (r *SchoolCoverageReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cov mhstv1alpha1.SchoolCoverage
	if err := r.Get(ctx, req.NamespacedName, &cov); err != nil {
		// Gone: its siblings were enqueued by the same delete event, and
		// only its gauges are left to remove.
		if apierrors.IsNotFound(err) {
			r.metrics.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	area, err := areaOfNamespace(ctx, r, cov.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	before := cov.DeepCopy()
	if area == nil {
		recordCoverageOutsideArea(&cov)
	} else {
		// An allocation's figures do not depend on the date: the
		// computation alone, shared with the area's.
		computed, err := r.Coverage.ofNamespace(ctx, area.Status.Namespace, coverage.TargetOf(area))
		if err != nil {
			return ctrl.Result{}, err
		}
		alloc, ok := computed.result.Allocations[cov.Name]
		if !ok {
			// Deleted between the two reads of the cache; its delete
			// event re-evaluates the area.
			return ctrl.Result{}, nil
		}
		recordCoverageAllocation(&cov, area, alloc)
	}
	if err := patchStatus(ctx, r.Client, &cov, before); err != nil {
		return ctrl.Result{}, fmt.Errorf("record coverage %s: %w", req.NamespacedName, err)
	}
	if area == nil {
		r.metrics.forget(req.NamespacedName)
	} else {
		r.metrics.observe(&cov, area)
	}
	// After the status is stored, so that a failed write records the
	// change again on the retry rather than twice.
	recordAgreementChange(r.Recorder, before, &cov)
	return ctrl.Result{}, nil
}

// recordCoverageOutsideArea records an allocation in a namespace that no
// LocalArea holds: it counts for nothing until it is in its area's namespace.
func recordCoverageOutsideArea(cov *mhstv1alpha1.SchoolCoverage) {
	cov.Status.ObservedGeneration = cov.Generation
	cov.Status.Settings, cov.Status.Pupils, cov.Status.DisadvantagedPupils = 0, 0, 0
	cov.Status.Conflicts = nil
	setAgreedCondition(cov)
	// Conflicts are decided within an area; there is none here.
	meta.RemoveStatusCondition(&cov.Status.Conditions, mhstv1alpha1.ConditionConflicted)
	setReadiness(&cov.Status.Conditions, cov.Generation, stalled(mhstv1alpha1.ReasonNoLocalArea,
		fmt.Sprintf("No LocalArea holds namespace %s: a SchoolCoverage counts only in its LocalArea's namespace (the area's status.namespace); move it there, or create the LocalArea.", cov.Namespace)))
}

// recordCoverageAllocation records what the allocation counts for in its area.
func recordCoverageAllocation(cov *mhstv1alpha1.SchoolCoverage, area *mhstv1alpha1.LocalArea, alloc coverage.Allocation) {
	cov.Status.ObservedGeneration = cov.Generation
	cov.Status.Settings = alloc.Settings
	cov.Status.Pupils = alloc.Pupils
	cov.Status.DisadvantagedPupils = alloc.DisadvantagedPupils
	cov.Status.Conflicts = nil
	if len(alloc.Conflicts) > 0 {
		cov.Status.Conflicts = slices.Clone(alloc.Conflicts) // the result is shared
	}
	setAgreedCondition(cov)
	setConflictedCondition(cov, alloc)
	setReadiness(&cov.Status.Conditions, cov.Generation, coverageReadiness(cov, area, alloc))
}

// setAgreedCondition records whether the governance board's agreement is in the spec.
func setAgreedCondition(cov *mhstv1alpha1.SchoolCoverage) {
	conds, gen := &cov.Status.Conditions, cov.Generation
	agreement := cov.Spec.Agreement
	switch {
	case agreement != nil:
		setCondition(conds, gen, mhstv1alpha1.ConditionAgreed, metav1.ConditionTrue, mhstv1alpha1.ReasonAgreementRecorded, agreementMessage(agreement))
	case cov.Spec.TeamRef == nil:
		setCondition(conds, gen, mhstv1alpha1.ConditionAgreed, metav1.ConditionFalse, mhstv1alpha1.ReasonAwaitingAgreement,
			"Proposed: no agreement recorded. A list without spec.teamRef allocates no team time; once the governance board has agreed an allocation, a board member records it (kubectl mhst agree).")
	default:
		setCondition(conds, gen, mhstv1alpha1.ConditionAgreed, metav1.ConditionFalse, mhstv1alpha1.ReasonAwaitingAgreement,
			fmt.Sprintf("Proposed: the allocation of team %s's time to these settings is not agreed, so they do not count as covered; once the governance board has agreed, a board member records it in spec.agreement (kubectl mhst agree), or the reviewed GitOps repository does.", cov.Spec.TeamRef.Name))
	}
}

// agreementMessage says which board decision the allocation rests on.
func agreementMessage(a *mhstv1alpha1.Agreement) string {
	msg := fmt.Sprintf("Agreed by the governance board: decision %s", a.DecisionRef)
	if a.AgreedBy != "" {
		msg += ", by " + a.AgreedBy
	}
	if a.AgreedAt != "" {
		msg += ", on " + a.AgreedAt
	}
	return msg + "."
}

// setConflictedCondition records the settings this allocation lists that an older
// claim holds.
func setConflictedCondition(cov *mhstv1alpha1.SchoolCoverage, alloc coverage.Allocation) {
	conds, gen := &cov.Status.Conditions, cov.Generation
	switch {
	case len(alloc.Conflicts) > 0:
		setCondition(conds, gen, mhstv1alpha1.ConditionConflicted, metav1.ConditionTrue, mhstv1alpha1.ReasonSettingsClaimed, conflictMessage(cov, alloc.Conflicts))
	case cov.Spec.TeamRef == nil:
		setCondition(conds, gen, mhstv1alpha1.ConditionConflicted, metav1.ConditionFalse, mhstv1alpha1.ReasonNoConflicts,
			"A list without spec.teamRef never conflicts: a setting a team also claims counts once, as that team's.")
	default:
		setCondition(conds, gen, mhstv1alpha1.ConditionConflicted, metav1.ConditionFalse, mhstv1alpha1.ReasonNoConflicts,
			"No setting listed is claimed by an older allocation in this area.")
	}
}

// conflictMessage lists the lost settings and who holds them, the first
// maxConflictsInMessage of them; status.conflicts has them all.
func conflictMessage(cov *mhstv1alpha1.SchoolCoverage, conflicts []mhstv1alpha1.Conflict) string {
	shown := make([]string, 0, maxConflictsInMessage)
	for _, c := range conflicts[:min(len(conflicts), maxConflictsInMessage)] {
		shown = append(shown, fmt.Sprintf("%s (held by %s)", c.URN, c.ClaimedBy))
	}
	list := strings.Join(shown, ", ")
	if more := len(conflicts) - len(shown); more > 0 {
		list += fmt.Sprintf(" and %d more (see status.conflicts)", more)
	}
	return fmt.Sprintf("Held by older allocations and not counted here (%d of the %d listed): %s. The oldest claim wins; remove them from spec.settings, or withdraw the older allocation.",
		len(conflicts), len(cov.Spec.Settings), list)
}

// coverageReadiness is the Ready condition of an allocation in an area,
// checked in the order a person would fix things.
func coverageReadiness(cov *mhstv1alpha1.SchoolCoverage, area *mhstv1alpha1.LocalArea, alloc coverage.Allocation) readiness {
	if r, ok := coverageAreaReadiness(area); !ok {
		return r
	}
	if !alloc.TeamNamed {
		return ready(mhstv1alpha1.ReasonUnallocated, unallocatedMessage(cov, alloc))
	}
	switch {
	case !alloc.TeamFound:
		return notReady(mhstv1alpha1.ReasonTeamNotFound,
			fmt.Sprintf("No SupportTeam %s in namespace %s: create it, or correct spec.teamRef.name. The settings listed do not count as covered until then.", alloc.Team, cov.Namespace))
	case alloc.TeamSuspended:
		return notReady(mhstv1alpha1.ReasonTeamSuspended,
			fmt.Sprintf("SupportTeam %s is suspended: %s do not count as covered until the team resumes or they are allocated to another team.", alloc.Team, settingsAndPupils(alloc.Settings, alloc.Pupils)))
	case !alloc.Agreed:
		return notReady(mhstv1alpha1.ReasonAwaitingAgreement,
			fmt.Sprintf("Proposed: %s await the governance board's agreement, which a board member records (kubectl mhst agree).", settingsAndPupils(alloc.Settings, alloc.Pupils)))
	case alloc.Settings == 0:
		return notReady(mhstv1alpha1.ReasonSettingsClaimed,
			"Every setting listed is held by an older allocation (see status.conflicts), so this allocation covers nothing: remove the duplicates, or withdraw the older allocations.")
	}
	msg := fmt.Sprintf("Covers %s with team %s.", settingsAndPupils(alloc.SettingsCovered, alloc.PupilsCovered), alloc.Team)
	if n := len(alloc.Conflicts); n > 0 {
		msg += fmt.Sprintf(" It also lists %s held by older allocations (see Conflicted).", counted(int64(n), "setting"))
	}
	return ready(mhstv1alpha1.ReasonCovered, msg)
}

// coverageAreaReadiness is false, with the readiness to record, while the area is not
// Active: its figures still count, but nothing is served yet (or any more).
func coverageAreaReadiness(area *mhstv1alpha1.LocalArea) (readiness, bool) {
	switch area.Status.Phase {
	case mhstv1alpha1.PhaseActive:
		return readiness{}, true
	case mhstv1alpha1.PhaseScheduled, mhstv1alpha1.PhaseProvisioning, "":
		return progressing(mhstv1alpha1.ReasonAreaNotActive,
			fmt.Sprintf("LocalArea %s is not Active yet (phase %q): the allocation counts once the area is provisioned.", area.Name, area.Status.Phase)), false
	default:
		return notReady(mhstv1alpha1.ReasonAreaNotActive,
			fmt.Sprintf("LocalArea %s is %s: its allocations are not served until it is Active again.", area.Name, area.Status.Phase)), false
	}
}

// unallocatedMessage describes a list without a team.
func unallocatedMessage(cov *mhstv1alpha1.SchoolCoverage, alloc coverage.Allocation) string {
	msg := fmt.Sprintf("Lists %s that no team covers yet.", settingsAndPupils(alloc.Settings, alloc.Pupils))
	if held := int64(len(cov.Spec.Settings)) - alloc.Settings; held > 0 {
		msg += fmt.Sprintf(" It also lists %s that another allocation holds.", counted(held, "setting"))
	}
	return msg
}

// settingsAndPupils is, for example, "3 settings and 1529 pupils".
func settingsAndPupils(settings, pupils int64) string {
	return counted(settings, "setting") + " and " + counted(pupils, "pupil")
}

// counted is n and the noun, plural unless n is 1.
func counted(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// SetupWithManager registers the reconciler and what it watches.
func (r *SchoolCoverageReconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{})
	err := ctrl.NewControllerManagedBy(mgr).
		Named(controllerSchoolCoverage).
		// One handler for the changed object and its siblings (rather than
		// For plus a mapping), so that a change enqueues each of them once.
		// Status updates are filtered out: they change no one's claims.
		Watches(&mhstv1alpha1.SchoolCoverage{}, handler.EnqueueRequestsFromMapFunc(r.coveragesBesides), specChanged).
		Watches(&mhstv1alpha1.SupportTeam{}, handler.EnqueueRequestsFromMapFunc(r.coveragesOfTeam), specChanged).
		Watches(&mhstv1alpha1.LocalArea{}, handler.EnqueueRequestsFromMapFunc(r.coveragesOfArea), builder.WithPredicates(onLocalAreaUpdate(areaPlacementOrGroupChanged))).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up SchoolCoverage controller: %w", err)
	}
	return nil
}
