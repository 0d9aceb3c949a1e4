package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/snapshot"
)

// SnapshotScheduleReconciler takes the scheduled snapshots: at 00:00 UTC of
// every date of --snapshot-dates, a National snapshot, national-YYYY-MM-DD,
// and one of every area Active on that date, <area>-YYYY-MM-DD. It only
// creates them; the CoverageSnapshot controller takes each one at once, so
// a scheduled snapshot and one taken on demand are the same record.
//
// It runs on the leader only, with one work item that wakes itself for the
// next date (RequeueAfter; nothing polls). The name is the idempotency key:
// a snapshot that exists is taken, whoever made it, so a date is taken once
// however many leaders come and go. The area snapshots are created before
// the National one, so an existing National snapshot means the date is
// done.
//
// A date no leader was there for (the operator was down at midnight) is
// taken when one starts, however late, if it is the most recent date
// (snapshot.Due says why only that one); the snapshots then say when they
// really were taken (status.takenAt) and which date they stand for (the
// label mhst.io/snapshot-date, and their name). A date on which no area was
// Active yet is not taken at all: there was no rollout to record, and an
// operator installed after a date must not make up a record of it from
// later figures.
type SnapshotScheduleReconciler struct {
	// Client reads areas and snapshots (metadata only) from the cache and
	// creates snapshots.
	client.Client
	// Clock says when it is; nil is the real clock.
	Clock clock.PassiveClock
	// Dates are the days of the year snapshots are taken on.
	Dates []snapshot.Date
}

// scheduleKey is the schedule's one work item.
var scheduleKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: "snapshot-schedule"}}

// +kubebuilder:rbac:groups=mhst.io,resources=coveragesnapshots,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=mhst.io,resources=localareas,verbs=get;list;watch

// Reconcile takes the snapshots of the date that is due, if any, and wakes
// again at the next date.
func (r *SnapshotScheduleReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	now := nowOf(r.Clock)
	if day, due := snapshot.Due(r.Dates, now); due {
		if err := r.takeDate(ctx, day); err != nil {
			return ctrl.Result{}, err
		}
	}
	next, ok := snapshot.Next(r.Dates, now)
	if !ok {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: next.Sub(now)}, nil
}

// takeDate creates the snapshots of day that do not exist yet: the areas'
// first, the National one last. A day on which no area was Active gets
// none.
func (r *SnapshotScheduleReconciler) takeDate(ctx context.Context, day time.Time) error {
	national := snapshot.NationalName(day)
	taken, err := r.exists(ctx, national)
	if err != nil || taken {
		return err
	}
	var areas mhstv1alpha1.LocalAreaList
	if err := r.List(ctx, &areas); err != nil {
		return fmt.Errorf("list areas: %w", err)
	}
	var active []*mhstv1alpha1.LocalArea
	for i := range areas.Items {
		if activeOn(&areas.Items[i], day) {
			active = append(active, &areas.Items[i])
		}
	}
	if len(active) == 0 {
		logf.FromContext(ctx).V(1).Info("no area was Active on the snapshot date: nothing to record", "date", snapshot.DateLabel(day))
		return nil
	}
	var errs []error
	for _, area := range active {
		errs = append(errs, r.create(ctx, snapshot.AreaName(area.Name, day), day, mhstv1alpha1.CoverageSnapshotSpec{
			Scope: mhstv1alpha1.ScopeArea, Area: area.Name,
		}))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("snapshots of %s: %w", snapshot.DateLabel(day), err)
	}
	if err := r.create(ctx, national, day, mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.ScopeNational}); err != nil {
		return fmt.Errorf("snapshots of %s: %w", snapshot.DateLabel(day), err)
	}
	logf.FromContext(ctx).Info("took the scheduled coverage snapshots", "date", snapshot.DateLabel(day), "late", nowOf(r.Clock).Sub(day).Round(time.Second).String())
	return nil
}

// activeOn reports whether the area was Active on day: it is Active now and
// was first provisioned before day. An area that came after the date is
// not given a snapshot of a day it did not exist on.
func activeOn(area *mhstv1alpha1.LocalArea, day time.Time) bool {
	return area.Status.Phase == mhstv1alpha1.PhaseActive && area.Status.ActivatedAt != nil && !area.Status.ActivatedAt.After(day)
}

// exists reports whether a snapshot of that name exists, from the cache's
// metadata.
func (r *SnapshotScheduleReconciler) exists(ctx context.Context, name string) (bool, error) {
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(mhstv1alpha1.GroupVersion.WithKind("CoverageSnapshot"))
	err := r.Get(ctx, types.NamespacedName{Name: name}, obj)
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("get snapshot %s: %w", name, err)
}

// create creates one scheduled snapshot; one that exists already is taken.
// A name that cannot be an object's (an area whose name is too long, or the
// area called national, whose name is the National snapshot's) is logged
// and left out, as no retry could create it.
func (r *SnapshotScheduleReconciler) create(ctx context.Context, name string, day time.Time, spec mhstv1alpha1.CoverageSnapshotSpec) error {
	log := logf.FromContext(ctx)
	if problems := validation.IsDNS1123Subdomain(name); len(problems) > 0 {
		log.Error(errors.New(strings.Join(problems, "; ")), "no scheduled snapshot for this area: its snapshot's name is not valid", "area", spec.Area, "snapshot", name)
		return nil
	}
	if spec.Scope == mhstv1alpha1.ScopeArea && name == snapshot.NationalName(day) {
		log.Error(errors.New("the name is the National snapshot's"), "no scheduled snapshot for this area", "area", spec.Area, "snapshot", name)
		return nil
	}
	snap := &mhstv1alpha1.CoverageSnapshot{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				mhstv1alpha1.LabelSnapshotDate: snapshot.DateLabel(day),
				mhstv1alpha1.LabelManagedBy:    mhstv1alpha1.ManagedByValue,
			},
		},
		Spec: spec,
	}
	if err := r.Create(ctx, snap); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create snapshot %s: %w", name, err)
	}
	return nil
}

// SetupWithManager registers the schedule: its one work item is added when
// the leader starts, and requeues itself for each next date.
func (r *SnapshotScheduleReconciler) SetupWithManager(mgr ctrl.Manager) error {
	err := ctrl.NewControllerManagedBy(mgr).
		Named(controllerSnapshotDates).
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			q.Add(scheduleKey)
			return nil
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up snapshot schedule: %w", err)
	}
	return nil
}
