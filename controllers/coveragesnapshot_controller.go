package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/report"
	"github.com/mhst-io/mhst-operator/internal/snapshot"
)

// CoverageSnapshotReconciler takes each CoverageSnapshot once, as soon as it
// is created: it records the coverage of the area (or of the nation) at that
// moment in status, seals it with a digest, and never writes to it again.
// The API server refuses any later change to the status anyway.
//
// The figures come from where the operator's other figures come from: an
// Area snapshot from areaCoverage.ofArea, the one computation of an area's
// coverage and of what depends on the date (the pupils covered by teams in
// training, at the moment the snapshot is taken, on the operator's clock),
// and a National snapshot from report.National, the sums of the areas'
// statuses the national report publishes. So a snapshot equals the area's
// status and the national report at the moment it is taken.
//
// A snapshot that cannot be taken (its area does not exist or is not
// Active) is also written once, Ready False and Stalled with the reason, and
// is as final as a taken one: an auditor sees that the attempt was made and
// why it recorded nothing. Whoever wants the figures creates another one
// once the area is Active.
//
// Snapshots are watched as metadata only, and each one is read from the API
// server when it is taken: the records of years of snapshots stay out of
// the operator's memory, and a snapshot already taken is never taken again
// from a stale cache.
type CoverageSnapshotReconciler struct {
	client.Client
	// APIReader reads a snapshot from the API server, past the cache.
	APIReader client.Reader
	// Clock gives the moment a snapshot is taken: the operator's clock,
	// the one the areas' plans are measured at; nil is the real clock.
	Clock clock.PassiveClock
	// NationalTarget is the national target, in percent of pupils covered,
	// that National snapshots' targetMet measures against, as the national
	// report does.
	NationalTarget int32
	// Coverage computes the area's coverage, shared with the controllers
	// that show it: a snapshot records the figures the area's status has.
	Coverage *areaCoverage
}

// +kubebuilder:rbac:groups=mhst.io,resources=coveragesnapshots,verbs=get;list;watch
// +kubebuilder:rbac:groups=mhst.io,resources=coveragesnapshots/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mhst.io,resources=localareas;schoolcoverages;supportteams,verbs=get;list;watch

// Reconcile takes the snapshot, unless it is taken already.
func (r *CoverageSnapshotReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	snap := &mhstv1alpha1.CoverageSnapshot{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, snap); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if snap.Status.TakenAt != nil {
		return ctrl.Result{}, nil
	}
	before := snap.DeepCopy()
	if err := r.take(ctx, snap); err != nil {
		return ctrl.Result{}, err
	}
	// The optimistic lock makes a second writer (a former leader still
	// finishing) fail with a conflict rather than overwrite the record.
	patch := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	if err := r.Status().Patch(ctx, snap, patch); err != nil {
		if apierrors.IsConflict(err) {
			// Changed since it was read; the change brings it back here.
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("write snapshot %s: %w", snap.Name, err)
	}
	taken := meta.FindStatusCondition(snap.Status.Conditions, mhstv1alpha1.ConditionReady)
	logf.FromContext(ctx).Info("took coverage snapshot", "snapshot", snap.Name, "scope", snap.Spec.Scope,
		"area", snap.Spec.Area, "ready", taken.Status, "reason", taken.Reason, "digest", snap.Status.Digest)
	return ctrl.Result{}, nil
}

// take fills in the snapshot's status: the record and its digest, or why
// there is none. It fails only when the cache cannot be read, which is
// worth a retry.
func (r *CoverageSnapshotReconciler) take(ctx context.Context, snap *mhstv1alpha1.CoverageSnapshot) error {
	takenAt := metav1.NewTime(nowOf(r.Clock))
	snap.Status.ObservedGeneration = snap.Generation
	snap.Status.TakenAt = &takenAt

	// The schema allows the two scopes only.
	record := r.recordNation
	if snap.Spec.Scope == mhstv1alpha1.ScopeArea {
		record = r.recordArea
	}
	outcome, err := record(ctx, snap)
	if err != nil {
		return err
	}
	if outcome.status == metav1.ConditionTrue {
		outcome = seal(snap, outcome)
	}
	setReadiness(&snap.Status.Conditions, snap.Generation, outcome)
	// Every condition dates from the moment the snapshot was taken.
	for i := range snap.Status.Conditions {
		snap.Status.Conditions[i].LastTransitionTime = takenAt
	}
	return nil
}

// recordArea records the area's coverage and every one of its settings.
func (r *CoverageSnapshotReconciler) recordArea(ctx context.Context, snap *mhstv1alpha1.CoverageSnapshot) (readiness, error) {
	area := &mhstv1alpha1.LocalArea{}
	if err := r.Get(ctx, types.NamespacedName{Name: snap.Spec.Area}, area); err != nil {
		if apierrors.IsNotFound(err) {
			return stalled(mhstv1alpha1.ReasonAreaNotFound, fmt.Sprintf(
				"No LocalArea %s exists, so nothing was recorded. A snapshot is taken once: create another one once the area exists.", snap.Spec.Area)), nil
		}
		return readiness{}, fmt.Errorf("get area %s: %w", snap.Spec.Area, err)
	}
	if area.Status.Phase != mhstv1alpha1.PhaseActive || area.Status.Namespace == "" {
		return stalled(mhstv1alpha1.ReasonAreaNotActive, fmt.Sprintf(
			"LocalArea %s is %s, not Active, so nothing was recorded. A snapshot is taken once: create another one once the area is Active.",
			area.Name, phaseOrNone(area.Status.Phase))), nil
	}
	figures, err := r.Coverage.ofArea(ctx, area, snap.Status.TakenAt.Time)
	if err != nil {
		return readiness{}, err
	}
	c, settings := snapshot.Area(figures.result, figures.plan)
	snap.Status.Coverage = &c
	snap.Status.Settings = settings
	return ready(mhstv1alpha1.ReasonTaken, fmt.Sprintf("Recorded area %s: %d settings, %d of %d pupils covered (%s%%).",
		area.Name, c.Settings, c.PupilsCovered, c.Pupils, c.PupilsCoveredPercent)), nil
}

// recordNation records the national sums and every area's coverage.
func (r *CoverageSnapshotReconciler) recordNation(ctx context.Context, snap *mhstv1alpha1.CoverageSnapshot) (readiness, error) {
	var areas mhstv1alpha1.LocalAreaList
	if err := r.List(ctx, &areas); err != nil {
		return readiness{}, fmt.Errorf("list areas: %w", err)
	}
	// No allocations: a snapshot records the sums and the areas' figures,
	// not the settings listed by more than one area.
	c, rows := snapshot.National(report.National(areas.Items, nil, r.NationalTarget))
	snap.Status.Coverage = &c
	snap.Status.Areas = rows
	return ready(mhstv1alpha1.ReasonTaken, fmt.Sprintf("Recorded England: %d areas, %d of %d pupils covered (%s%%).",
		len(rows), c.PupilsCovered, c.Pupils, c.PupilsCoveredPercent)), nil
}

// seal adds the digest to a recorded snapshot, or, when the record is too
// large to store, drops it and says so.
func seal(snap *mhstv1alpha1.CoverageSnapshot, outcome readiness) readiness {
	tooLarge := snapshot.CheckSize(&snap.Status)
	if tooLarge == nil {
		digest, err := snapshot.Digest(snap.Spec.Scope, &snap.Status)
		if err == nil {
			snap.Status.Digest = digest
			return outcome
		}
		tooLarge = err
	}
	snap.Status.Coverage, snap.Status.Settings, snap.Status.Areas = nil, nil, nil
	return stalled(mhstv1alpha1.ReasonSnapshotTooLarge, fmt.Sprintf("Nothing was recorded: %v.", tooLarge))
}

func phaseOrNone(phase mhstv1alpha1.AreaPhase) string {
	if phase == "" {
		return "not provisioned yet"
	}
	return string(phase)
}

// SetupWithManager registers the reconciler. Snapshots are watched as
// metadata only (see the type's comment).
func (r *CoverageSnapshotReconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	err := ctrl.NewControllerManagedBy(mgr).
		Named(controllerSnapshot).
		For(&mhstv1alpha1.CoverageSnapshot{}, builder.OnlyMetadata).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up CoverageSnapshot controller: %w", err)
	}
	return nil
}
