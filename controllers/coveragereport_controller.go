package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
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
	metrics *coverageMetrics
}

// NewCoverageReportReconciler returns a reconciler that reads and writes
// through c and keeps the coverage gauges of controller-runtime's registry.
func NewCoverageReportReconciler(c client.Client) *CoverageReportReconciler {
	return &CoverageReportReconciler{Client: c, metrics: newCoverageMetrics()}
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
	res, teams, err := areaCoverageFromCache(ctx, r, &area)
	if err != nil {
		return ctrl.Result{}, err
	}
	r.metrics.set(&area, res, teams)
	reportJSON, settingsCSV, err := report.AreaReport(&area, res, teams)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("build report of area %s: %w", area.Name, err)
	}
	data := map[string]string{AreaReportJSONKey: string(reportJSON), AreaReportCSVKey: string(settingsCSV)}
	key := types.NamespacedName{Namespace: area.Status.Namespace, Name: AreaReportName}
	labels := reportLabels()
	labels[mhstv1alpha1.LabelArea] = area.Name
	if err := applyReport(ctx, r.Client, key, labels, data, areaOwnerReference(&area)); err != nil {
		return ctrl.Result{}, fmt.Errorf("area %s: %w", area.Name, err)
	}
	return ctrl.Result{}, nil
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

// applyReport applies a report ConfigMap server-side when its data, labels
// or owner differ from the cached copy, and does nothing otherwise: reports
// carry no timestamps, so equal content means nothing happened. owner may
// be nil.
func applyReport(ctx context.Context, c client.Client, key types.NamespacedName, labels, data map[string]string, owner *metav1ac.OwnerReferenceApplyConfiguration) error {
	var current corev1.ConfigMap
	err := c.Get(ctx, key, &current)
	switch {
	case err == nil && reportUpToDate(&current, labels, data, owner):
		return nil
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("get report %s: %w", key, err)
	}
	cm := corev1ac.ConfigMap(key.Name, key.Namespace).WithLabels(labels).WithData(data)
	if owner != nil {
		cm.WithOwnerReferences(owner)
	}
	if err := c.Apply(ctx, cm, client.FieldOwner(CoverageReportFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply report %s: %w", key, err)
	}
	logf.FromContext(ctx).V(1).Info("report written", "namespace", key.Namespace, "name", key.Name)
	return nil
}

// reportUpToDate reports whether cm already has the data, the labels and the
// owner the operator would apply.
func reportUpToDate(cm *corev1.ConfigMap, labels, data map[string]string, owner *metav1ac.OwnerReferenceApplyConfiguration) bool {
	// Only what the operator applies is compared: keys or labels another
	// manager added are theirs, and applying again would not remove them.
	if !hasAllEntries(cm.Data, data) || !hasAllEntries(cm.Labels, labels) {
		return false
	}
	if owner == nil {
		return true
	}
	for _, ref := range cm.OwnerReferences {
		if ref.UID == *owner.UID && ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	return false
}

// hasAllEntries reports whether have holds every key of want with its value.
func hasAllEntries(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
