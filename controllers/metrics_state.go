package controllers

import (
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// The state gauges say where each area and allocation stands, so that an
// alert can say which area to look at: they are set from the status the
// LocalArea and SchoolCoverage controllers have just computed, never from
// another read.
const (
	metricLabelCondition  = "condition"
	metricLabelPhase      = "phase"
	metricLabelAllocation = "allocation"
)

var (
	areaCondition = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_condition",
		Help: "1 when the area's condition (Ready, GovernanceReady, Reconciling, Stalled) is True, 0 when it is False, Unknown or not set.",
	}, slices.Concat(areaLabels, []string{metricLabelCondition}))
	areaPhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_phase",
		Help: "1 for the area's phase (Scheduled, Provisioning, Active, Suspended, Terminating), 0 for the others.",
	}, slices.Concat(areaLabels, []string{metricLabelPhase}))
	areaTeams = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_teams",
		Help: "SupportTeams in the area's namespace (status.teams.total).",
	}, areaLabels)
	areaTeamsReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_teams_ready",
		Help: "The area's SupportTeams whose Ready condition is True (status.teams.ready).",
	}, areaLabels)

	allocationLabels = slices.Concat(areaLabels, []string{metricLabelNamespace, metricLabelAllocation, metricLabelTeam})

	allocationAgreed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_allocation_agreed",
		Help: "1 when the SchoolCoverage records the governance board's agreement, 0 while it is proposed. team is empty for a list of settings no team covers yet.",
	}, allocationLabels)
	allocationAgreedSince = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_allocation_agreed_last_transition_timestamp_seconds",
		Help: "When the SchoolCoverage's Agreed condition last changed (Unix time): when it was proposed, agreed or withdrawn.",
	}, allocationLabels)
)

func init() {
	metrics.Registry.MustRegister(areaCondition, areaPhase, areaTeams, areaTeamsReady, allocationAgreed, allocationAgreedSince)
}

// areaStateConditions are the conditions mhst_area_condition reports. The
// abnormal-true ones (Reconciling, Stalled) are removed from status when
// they do not apply, so they are reported as 0 rather than left out: an
// alert on `== 1` and a dashboard on `== 0` both see every area.
var areaStateConditions = []string{
	mhstv1alpha1.ConditionReady,
	mhstv1alpha1.ConditionGovernanceReady,
	mhstv1alpha1.ConditionReconciling,
	mhstv1alpha1.ConditionStalled,
}

// areaPhases are the phases mhst_area_phase reports, one series each.
var areaPhases = []mhstv1alpha1.AreaPhase{
	mhstv1alpha1.PhaseScheduled,
	mhstv1alpha1.PhaseProvisioning,
	mhstv1alpha1.PhaseActive,
	mhstv1alpha1.PhaseSuspended,
	mhstv1alpha1.PhaseTerminating,
}

// areaStateGauges are every gauge set per area by areaStateMetrics.
var areaStateGauges = []*prometheus.GaugeVec{areaCondition, areaPhase, areaTeams, areaTeamsReady}

// areaStateMetrics keeps the state gauges of the areas in step with the
// LocalArea controller's view of them. Like coverageMetrics it remembers
// each area's labels, so that an area whose wave or region changes does not
// leave its old series behind. Safe for concurrent use by the workers.
type areaStateMetrics struct {
	mu    sync.Mutex
	areas map[string]prometheus.Labels
}

func newAreaStateMetrics() *areaStateMetrics {
	return &areaStateMetrics{areas: map[string]prometheus.Labels{}}
}

// observe records the area's conditions, phase and team counts as its
// status now holds them.
func (m *areaStateMetrics) observe(area *mhstv1alpha1.LocalArea) {
	m.mu.Lock()
	defer m.mu.Unlock()
	labels := areaMetricLabels(area)
	if old, ok := m.areas[area.Name]; ok && !maps.Equal(old, labels) {
		deletePartial(areaStateGauges, old)
	}
	m.areas[area.Name] = labels
	for _, c := range areaStateConditions {
		value := 0.0
		if meta.IsStatusConditionTrue(area.Status.Conditions, c) {
			value = 1
		}
		areaCondition.With(withLabel(labels, metricLabelCondition, c)).Set(value)
	}
	for _, p := range areaPhases {
		value := 0.0
		if area.Status.Phase == p {
			value = 1
		}
		areaPhase.With(withLabel(labels, metricLabelPhase, string(p))).Set(value)
	}
	areaTeams.With(labels).Set(float64(area.Status.Teams.Total))
	areaTeamsReady.With(labels).Set(float64(area.Status.Teams.Ready))
}

// forget deletes the series of an area that no longer exists.
func (m *areaStateMetrics) forget(areaName string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.areas[areaName]; ok {
		deletePartial(areaStateGauges, old)
	}
	delete(m.areas, areaName)
}

// allocationMetrics keeps the agreement gauges of every allocation in an
// area's namespace, by namespace and name; an allocation outside any area
// counts for nothing and has none. Safe for concurrent use by the workers.
type allocationMetrics struct {
	mu          sync.Mutex
	allocations map[types.NamespacedName]prometheus.Labels
}

func newAllocationMetrics() *allocationMetrics {
	return &allocationMetrics{allocations: map[types.NamespacedName]prometheus.Labels{}}
}

// observe records whether the allocation is agreed, and since when, from
// the Agreed condition the SchoolCoverage controller has just recorded.
func (m *allocationMetrics) observe(cov *mhstv1alpha1.SchoolCoverage, area *mhstv1alpha1.LocalArea) {
	key := types.NamespacedName{Namespace: cov.Namespace, Name: cov.Name}
	team := ""
	if cov.Spec.TeamRef != nil {
		team = cov.Spec.TeamRef.Name
	}
	labels := areaMetricLabels(area)
	labels[metricLabelNamespace] = cov.Namespace
	labels[metricLabelAllocation] = cov.Name
	labels[metricLabelTeam] = team
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.allocations[key]; ok && !maps.Equal(old, labels) {
		allocationAgreed.Delete(old)
		allocationAgreedSince.Delete(old)
	}
	m.allocations[key] = labels
	agreed := meta.FindStatusCondition(cov.Status.Conditions, mhstv1alpha1.ConditionAgreed)
	value, since := 0.0, cov.CreationTimestamp.Time
	if agreed != nil {
		if agreed.Status == metav1.ConditionTrue {
			value = 1
		}
		since = agreed.LastTransitionTime.Time
	}
	allocationAgreed.With(labels).Set(value)
	allocationAgreedSince.With(labels).Set(float64(since.Unix()))
}

// forget deletes the series of an allocation that is gone, or no longer in
// an area's namespace.
func (m *allocationMetrics) forget(key types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.allocations[key]; ok {
		allocationAgreed.Delete(old)
		allocationAgreedSince.Delete(old)
	}
	delete(m.allocations, key)
}

// areaMetricLabels are the area, wave and region labels every series of an
// area, its teams and its allocations carries, so that a dashboard or an
// alert route (a regional lead's) can group or match by wave or region
// without a join.
func areaMetricLabels(area *mhstv1alpha1.LocalArea) prometheus.Labels {
	return prometheus.Labels{
		metricLabelArea:   area.Name,
		metricLabelWave:   strconv.FormatInt(int64(area.Spec.Wave), 10),
		metricLabelRegion: area.Spec.Region,
	}
}

// withLabel is a copy of labels with one more.
func withLabel(labels prometheus.Labels, name, value string) prometheus.Labels {
	out := maps.Clone(labels)
	out[name] = value
	return out
}

// deletePartial deletes every series of the gauges whose labels include
// these, whatever their other labels (a condition, a phase).
func deletePartial(gauges []*prometheus.GaugeVec, labels prometheus.Labels) {
	for _, g := range gauges {
		g.DeletePartialMatch(labels)
	}
}
