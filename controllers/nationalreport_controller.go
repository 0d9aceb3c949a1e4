package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/report"
)

// Names of the national report ConfigMap and its key.
const (
	// NationalReportName is the ConfigMap holding the national coverage
	// report, in the operator's namespace.
	NationalReportName = "mhst-national-coverage"
	// NationalReportJSONKey holds the report (report.NationalSummary).
	NationalReportJSONKey = "report.json"
)

// NationalReportReconciler keeps the national coverage report: the sums of
// every LocalArea's status, overall, by wave and by region, measured against
// the national target. Every event maps to one workqueue key, so a burst of
// area changes (a wave going live) coalesces into a few rebuilds rather than
// one per area, and the report is applied only when its content changed.
type NationalReportReconciler struct {
	client.Client
	// Namespace is where the report is written: the operator's namespace.
	Namespace string
	// Target is the national target in percent of pupils covered.
	Target int32
	// Interval is the least time between two rebuilds: while a wave goes
	// live every area changes its figures many times a second, and the
	// report follows them at this pace instead (its last rebuild comes at
	// most Interval after the last change). Zero rebuilds on every change.
	Interval time.Duration

	lastRebuild time.Time
}

// nationalReportInterval paces the national report's rebuilds.
const nationalReportInterval = time.Second

// +kubebuilder:rbac:groups=mhst.io,resources=localareas,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch

// Reconcile rebuilds the national report from the cached LocalAreas.
func (r *NationalReportReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	// One key and one worker: lastRebuild needs no lock.
	if wait := r.Interval - time.Since(r.lastRebuild); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	r.lastRebuild = time.Now()
	var areas mhstv1alpha1.LocalAreaList
	if err := r.List(ctx, &areas); err != nil {
		return ctrl.Result{}, fmt.Errorf("list areas: %w", err)
	}
	coverages, err := r.listedSettings(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	reportJSON, err := report.NationalReport(areas.Items, coverages, r.Target)
	if err != nil {
		return ctrl.Result{}, err
	}
	data := map[string]string{NationalReportJSONKey: string(reportJSON)}
	// In the operator's own namespace, where nobody else writes: the cache
	// serves as the live reader too (a report the cache shows out of date
	// is applied again, a write that changes nothing when only the cache
	// was behind).
	if err := applyReport(ctx, r.Client, r.Client, r.key(), reportLabels(), data, nil, nil); err != nil {
		return ctrl.Result{}, fmt.Errorf("national report: %w", err)
	}
	// Beside the areas' own targets, so that a dashboard can draw the line
	// the national report measures against.
	nationalCoverageTarget.Set(float64(r.Target) / 100)
	return ctrl.Result{}, nil
}

// SetupWithManager registers the reconciler and what it watches.
func (r *NationalReportReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Namespace == "" {
		return fmt.Errorf("set up national report controller: the operator's namespace is not set")
	}
	toReport := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: r.key()}}
	})
	err := ctrl.NewControllerManagedBy(mgr).
		Named(controllerNationalReport).
		Watches(&mhstv1alpha1.LocalArea{}, toReport, builder.WithPredicates(onLocalAreaUpdate(areaFiguresChanged))).
		// Which areas list a setting (settingsInMoreThanOneArea).
		Watches(&mhstv1alpha1.SchoolCoverage{}, toReport, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A report edited or deleted by hand is put back.
		Watches(&corev1.ConfigMap{}, toReport, builder.WithPredicates(predicate.NewPredicateFuncs(r.isReport))).
		// Written once at start, so that the report exists before any area.
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			q.Add(reconcile.Request{NamespacedName: r.key()})
			return nil
		})).
		// One key: more workers could never run at once.
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up national report controller: %w", err)
	}
	return nil
}

func (r *NationalReportReconciler) key() types.NamespacedName {
	return types.NamespacedName{Namespace: r.Namespace, Name: NationalReportName}
}

func (r *NationalReportReconciler) isReport(obj client.Object) bool {
	return obj.GetNamespace() == r.Namespace && obj.GetName() == NationalReportName
}

// nationalTarget is cfg.NationalCoverageTarget, or 100 when unset.
func (cfg Config) nationalTarget() int32 {
	if cfg.NationalCoverageTarget == 0 {
		return coverage.DefaultCoverageTarget
	}
	return cfg.NationalCoverageTarget
}
