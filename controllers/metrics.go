package controllers

import (
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/plan"
)

// Label names of the coverage metrics.
const (
	metricLabelArea      = "area"
	metricLabelWave      = "wave"
	metricLabelRegion    = "region"
	metricLabelNamespace = "namespace"
	metricLabelTeam      = "team"
)

// Per-area gauges, the figures of the area's coverage report. Wave and
// region are labels so that a dashboard can sum by either without joining.
var (
	areaLabels = []string{metricLabelArea, metricLabelWave, metricLabelRegion}

	areaPupils = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_pupils",
		Help: "Pupils in the distinct settings listed by the area's SchoolCoverages.",
	}, areaLabels)
	areaPupilsCovered = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_pupils_covered",
		Help: "Pupils in the area's covered settings (agreed, team present and not suspended, claim not lost).",
	}, areaLabels)
	areaSettings = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_settings",
		Help: "Distinct settings (schools and colleges) listed by the area's SchoolCoverages.",
	}, areaLabels)
	areaSettingsCovered = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_settings_covered",
		Help: "The area's covered settings.",
	}, areaLabels)
	areaDisadvantaged = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_disadvantaged_pupils",
		Help: "Pupils eligible for free school meals in the area's settings, where known.",
	}, areaLabels)
	areaDisadvantagedCovered = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_disadvantaged_pupils_covered",
		Help: "Pupils eligible for free school meals in the area's covered settings, where known.",
	}, areaLabels)

	// The plan: how far the area is from its current target, and what it
	// would take to get there.
	areaEquityIndex = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_equity_index_permille",
		Help: "Share of disadvantaged pupils covered over share of all pupils covered, in thousandths (1000: in proportion; below: disadvantaged pupils reached less). No series while undefined (no disadvantaged pupils, or none covered).",
	}, areaLabels)
	areaPupilsShort = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_pupils_short",
		Help: "More pupils the area must cover to meet its current target (status.plan.pupilsShort).",
	}, areaLabels)
	areaSpareCapacity = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_spare_capacity_pupils",
		Help: "More pupils the area's teams that are not suspended could take on (status.plan.spareCapacityPupils).",
	}, areaLabels)
	areaAdditionalTeams = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_additional_teams_needed",
		Help: "More teams the area needs to meet its current target once its teams' spare capacity is used (status.plan.additionalTeamsNeeded).",
	}, areaLabels)
	areaOnTrack = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_on_track",
		Help: "1 when the area meets its current target or its teams have the room to (OnTrack True), 0 when it needs more teams.",
	}, areaLabels)
	areaPupilsCoveredInTraining = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_pupils_covered_by_teams_in_training",
		Help: "Covered pupils whose team is still in training (before its operationalFrom).",
	}, areaLabels)

	areaCoverageTarget = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_area_coverage_target_ratio",
		Help: "The area's coverage target (spec.coverageTarget, 100 when unset) as a ratio: 0.5 is half of its pupils.",
	}, areaLabels)

	teamLabels = slices.Concat(areaLabels, []string{metricLabelNamespace, metricLabelTeam})

	teamCapacityUsed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_team_capacity_used_ratio",
		Help: "Share of a team's capacity its agreed allocations use: the larger of settings/maxSettings and pupils/maxPupils (1 is full, above 1 over capacity).",
	}, teamLabels)
	teamPractitioners = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_team_practitioners",
		Help: "Education mental health practitioners in post in the team (spec.staffing.educationMentalHealthPractitioners).",
	}, teamLabels)
	teamVacancies = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mhst_team_vacancies",
		Help: "Posts in the team that are vacant (spec.staffing.vacancies).",
	}, teamLabels)

	nationalCoverageTarget = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "mhst_national_coverage_target_ratio",
		Help: "The national coverage target the national report measures against, as a ratio (1 is every pupil).",
	})
)

func init() {
	metrics.Registry.MustRegister(
		areaPupils, areaPupilsCovered,
		areaSettings, areaSettingsCovered,
		areaDisadvantaged, areaDisadvantagedCovered,
		areaEquityIndex, areaPupilsShort, areaSpareCapacity, areaAdditionalTeams, areaOnTrack,
		areaPupilsCoveredInTraining,
		areaCoverageTarget,
		teamCapacityUsed, teamPractitioners, teamVacancies,
		nationalCoverageTarget,
	)
}

// areaGauges are the per-area gauges, in one list so that setting and
// deleting an area's series cannot miss one.
var areaGauges = []*prometheus.GaugeVec{
	areaPupils, areaPupilsCovered,
	areaSettings, areaSettingsCovered,
	areaDisadvantaged, areaDisadvantagedCovered,
	areaEquityIndex, areaPupilsShort, areaSpareCapacity, areaAdditionalTeams, areaOnTrack,
	areaPupilsCoveredInTraining,
	areaCoverageTarget,
}

// teamGauges are the per-team gauges, likewise.
var teamGauges = []*prometheus.GaugeVec{teamCapacityUsed, teamPractitioners, teamVacancies}

// coverageMetrics keeps the coverage gauges in step with the areas: it
// remembers the label values it last set for each area, so that a series
// disappears when its area or team does, or when an area's wave or region
// changes (a stale series would otherwise be summed twice by a dashboard).
// Safe for concurrent use by the report reconciler's workers.
type coverageMetrics struct {
	mu sync.Mutex
	// areas holds the labels of each area's series, by area name.
	areas map[string]prometheus.Labels
	// teams holds the team label sets of each area, by area name.
	teams map[string][]prometheus.Labels
}

func newCoverageMetrics() *coverageMetrics {
	return &coverageMetrics{areas: map[string]prometheus.Labels{}, teams: map[string][]prometheus.Labels{}}
}

// set records the area's figures, target and plan, and its teams'
// capacity used and staffing.
func (m *coverageMetrics) set(area *mhstv1alpha1.LocalArea, res coverage.Result, p plan.Plan, teams []mhstv1alpha1.SupportTeam) {
	m.mu.Lock()
	defer m.mu.Unlock()
	labels := areaMetricLabels(area)
	if old, ok := m.areas[area.Name]; ok && !maps.Equal(old, labels) {
		deleteSeries(areaGauges, old)
	}
	m.areas[area.Name] = labels
	c := p.Coverage
	areaPupils.With(labels).Set(float64(c.Pupils))
	areaPupilsCovered.With(labels).Set(float64(c.PupilsCovered))
	areaSettings.With(labels).Set(float64(c.Settings))
	areaSettingsCovered.With(labels).Set(float64(c.SettingsCovered))
	areaDisadvantaged.With(labels).Set(float64(c.DisadvantagedPupils))
	areaDisadvantagedCovered.With(labels).Set(float64(c.DisadvantagedPupilsCovered))
	if c.EquityIndexPermille != nil {
		areaEquityIndex.With(labels).Set(float64(*c.EquityIndexPermille))
	} else {
		// Undefined is not 0: 0 would read as "no disadvantaged pupil reached".
		areaEquityIndex.Delete(labels)
	}
	areaPupilsShort.With(labels).Set(float64(p.Status.PupilsShort))
	areaSpareCapacity.With(labels).Set(float64(p.Status.SpareCapacityPupils))
	areaAdditionalTeams.With(labels).Set(float64(p.Status.AdditionalTeamsNeeded))
	areaOnTrack.With(labels).Set(boolGauge(p.OnTrack.Status))
	areaPupilsCoveredInTraining.With(labels).Set(float64(c.PupilsCoveredByTeamsInTraining))
	areaCoverageTarget.With(labels).Set(float64(coverage.TargetOf(area)) / 100)
	m.setTeams(area, res.Teams, teams)
}

// setTeams sets the capacity used and the staffing of the area's current
// teams and deletes the series of teams that are gone. figures holds what
// coverage.Compute worked out for each of teams.
func (m *coverageMetrics) setTeams(area *mhstv1alpha1.LocalArea, figures map[string]coverage.Team, teams []mhstv1alpha1.SupportTeam) {
	current := make([]prometheus.Labels, 0, len(teams))
	for _, t := range teams {
		labels := areaMetricLabels(area)
		labels[metricLabelNamespace] = area.Status.Namespace
		labels[metricLabelTeam] = t.Name
		teamCapacityUsed.With(labels).Set(capacityUsedRatio(figures[t.Name]))
		teamPractitioners.With(labels).Set(float64(t.Spec.Staffing.EducationMentalHealthPractitioners))
		teamVacancies.With(labels).Set(float64(t.Spec.Staffing.Vacancies))
		current = append(current, labels)
	}
	for _, old := range m.teams[area.Name] {
		if !slices.ContainsFunc(current, func(l prometheus.Labels) bool { return maps.Equal(l, old) }) {
			deleteSeries(teamGauges, old)
		}
	}
	m.teams[area.Name] = current
}

// forget deletes every series of an area that no longer exists.
func (m *coverageMetrics) forget(areaName string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.areas[areaName]; ok {
		deleteSeries(areaGauges, old)
	}
	for _, old := range m.teams[areaName] {
		deleteSeries(teamGauges, old)
	}
	delete(m.areas, areaName)
	delete(m.teams, areaName)
}

// capacityUsedRatio is the exact ratio behind the team's rounded
// capacityUsedPercent: Prometheus takes ratios, not rounded strings.
func capacityUsedRatio(t coverage.Team) float64 {
	var bySettings, byPupils float64
	if t.MaxSettings > 0 {
		bySettings = float64(t.Settings) / float64(t.MaxSettings)
	}
	if t.MaxPupils > 0 {
		byPupils = float64(t.Pupils) / float64(t.MaxPupils)
	}
	return max(bySettings, byPupils)
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func deleteSeries(gauges []*prometheus.GaugeVec, labels prometheus.Labels) {
	for _, g := range gauges {
		g.Delete(labels)
	}
}
