package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/apply"
	"github.com/mhst-io/mhst-operator/internal/report"
)

// Names of the area report ConfigMap and its keys.
const (
	// AreaReportName is the ConfigMap holding an area's coverage report, in
	// the area's namespace. The area board's role may read it by this name.
	AreaReportName = "mhst-coverage-report"
	// AreaReportJSONKey holds the summary (report.AreaSummary).
	AreaReportJSONKey = "report.json"
	// AreaReportCSVKey holds one row per setting (report.CSVHeader).
	AreaReportCSVKey = "settings.csv"
	// AreaReportGapsKey holds one row per setting no agreed team allocation
	// covers, most disadvantaged pupils first (report.GapsCSVHeader).
	AreaReportGapsKey = "gaps.csv"
)

// CoverageReportReconciler keeps each Active area's coverage report, the
// ConfigMap mhst-coverage-report in the area's namespace, and the area's
// Prometheus gauges. The report is owned by the LocalArea, so it goes with
// the area; it is applied only when its content changed, so a converged
// area costs no writes.
//
// An area that is not Active keeps its last report as it was: a suspended
// area is left exactly as it is, and one not yet provisioned has no
// namespace to write into. The area's metrics are deleted when the
// LocalArea is gone.
type CoverageReportReconciler struct {
	client.Client
	// APIReader reads past the cache: a report the cache lacks is looked
	// for there, so that a ConfigMap someone made with the report's name
	// is found, and never written to.
	APIReader client.Reader
	// Recorder emits the Event that says so, on the area.
	Recorder events.EventRecorder
	// Coverage computes the area's coverage, shared with the other
	// controllers.
	Coverage *areaCoverage
	// Clock gives the date the report's plan is measured at; nil is the
	// real clock.
	Clock   clock.PassiveClock
	metrics *coverageMetrics
}

// NewCoverageReportReconciler returns a reconciler that reads and writes
// through the manager's clients, takes the areas' figures from shared, and
// keeps the coverage gauges of controller-runtime's registry.
func NewCoverageReportReconciler(mgr ctrl.Manager, shared *areaCoverage) *CoverageReportReconciler {
	return &CoverageReportReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("coverage-report-controller"),
		Coverage:  shared,
		metrics:   newCoverageMetrics(),
	}
}

// +kubebuilder:rbac:groups=mhst.io,resources=localareas,verbs=get;list;watch
// +kubebuilder:rbac:groups=mhst.io,resources=localareas/finalizers,verbs=update
// +kubebuilder:rbac:groups=mhst.io,resources=schoolcoverages;supportteams,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch

// Reconcile rebuilds the area's report and applies it when it changed.
func (r *CoverageReportReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var area mhstv1alpha1.LocalArea
	if err := r.Get(ctx, req.NamespacedName, &area); err != nil {
		if apierrors.IsNotFound(err) {
			// The report goes with the area through its owner reference;
			// only the gauges need removing.
			r.metrics.forget(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get area %s: %w", req.Name, err)
	}
	if area.Status.Phase != mhstv1alpha1.PhaseActive || area.Status.Namespace == "" {
		return ctrl.Result{}, nil
	}
	now := nowOf(r.Clock)
	figures, err := r.Coverage.ofArea(ctx, &area, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	p := figures.plan
	r.metrics.set(&area, figures.result, p, figures.teams)
	files, err := report.AreaReport(&area, figures.result, figures.teams, p)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("build report of area %s: %w", area.Name, err)
	}
	data := map[string]string{AreaReportJSONKey: string(files.JSON), AreaReportCSVKey: string(files.SettingsCSV), AreaReportGapsKey: string(files.GapsCSV)}
	key := types.NamespacedName{Namespace: area.Status.Namespace, Name: AreaReportName}
	labels := reportLabels()
	labels[mhstv1alpha1.LabelArea] = area.Name
	// In a namespace handed over to the area, a ConfigMap of the report's
	// name may be someone else's: it is never written to (areaControls),
	// the area gets a Warning Event, and the report is retried with
	// backoff (the ConfigMap is outside the cache, so its removal raises
	// no event).
	err = applyReport(ctx, r.Client, r.APIReader, key, labels, data, areaOwnerReference(&area),
		func(existing client.Object) error { return areaControls(&area, existing) })
	var conflict *ownershipConflict
	if errors.As(err, &conflict) {
		r.Recorder.Eventf(&area, nil, corev1.EventTypeWarning, mhstv1alpha1.ReasonOwnershipConflict, "Report", "%s", eventNote(conflict.Error()))
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("area %s: %w", area.Name, err)
	}
	// The plan changes with the date: rebuild when a target passes or a
	// team leaves training.
	return ctrl.Result{RequeueAfter: until(p.NextChange, now)}, nil
}

// SetupWithManager registers the reconciler and what it watches.
func (r *CoverageReportReconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{})
	err := ctrl.NewControllerManagedBy(mgr).
		Named(controllerCoverageReport).
		// The report reads the area's spec, and needs it Active in its
		// namespace; the area's own status figures are not read.
		For(&mhstv1alpha1.LocalArea{}, builder.WithPredicates(onLocalAreaUpdate(areaSpecOrPlacementChanged))).
		// A report edited or deleted by hand is put back.
		Owns(&corev1.ConfigMap{}).
		Watches(&mhstv1alpha1.SchoolCoverage{}, areaHoldingNamespace(r), specChanged).
		Watches(&mhstv1alpha1.SupportTeam{}, areaHoldingNamespace(r), specChanged).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up coverage report controller: %w", err)
	}
	return nil
}

// reportLabels are the labels of every report ConfigMap: the configmap
// label keeps it in the operator's cache, so that comparing it costs no
// API call.
func reportLabels() map[string]string {
	return map[string]string{
		mhstv1alpha1.LabelConfigMap: mhstv1alpha1.ConfigMapCoverageReport,
		mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue,
	}
}

// applyReport applies a report ConfigMap through the apply engine with the
// reports' field manager: nothing is written while the cached copy holds the
// data, labels and owner the operator would apply (reports carry no
// timestamps, so equal content means nothing happened). Keys or labels
// another manager added are theirs. owner and mine may be nil; live is
// read when the cache does not show the report as wanted.
func applyReport(ctx context.Context, c client.Client, live client.Reader, key types.NamespacedName, labels, data map[string]string,
	owner *metav1ac.OwnerReferenceApplyConfiguration, mine func(client.Object) error) error {
	cm := corev1ac.ConfigMap(key.Name, key.Namespace).WithLabels(labels).WithData(data)
	if owner != nil {
		cm.WithOwnerReferences(owner)
	}
	desired, err := apply.Normalize(cm)
	if err != nil {
		return err
	}
	reports := &apply.Engine{Cache: c, Live: live, Writer: c, Scheme: c.Scheme(), FieldManager: CoverageReportFieldManager}
	out, err := reports.Apply(ctx, apply.Object{Desired: &unstructured.Unstructured{Object: desired}, Mine: mine})
	if err != nil {
		return fmt.Errorf("report %s: %w", key, err)
	}
	if out.Wrote {
		logf.FromContext(ctx).V(1).Info("report written", "namespace", key.Namespace, "name", key.Name)
	}
	return nil
}
