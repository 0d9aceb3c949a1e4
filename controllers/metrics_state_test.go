package controllers

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// expectGauge waits until the series of name with exactly these labels has
// the value want.
func expectGauge(t *testing.T, name string, labels map[string]string, want float64) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		got, ok := gauge(t, name, labels)
		g.Expect(ok).To(BeTrue(), "no series %s%v", name, labels)
		g.Expect(got).To(Equal(want), "%s%v", name, labels)
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}

// seriesWith counts the series of name whose labels include these.
func seriesWith(t *testing.T, name string, labels map[string]string) int {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	n := 0
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
		for _, m := range family.GetMetric() {
			got := map[string]string{}
			for _, pair := range m.GetLabel() {
				got[pair.GetName()] = pair.GetValue()
			}
			if containsLabels(got, labels) {
				n++
			}
		}
	}
	return n
}

func containsLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// expectNoSeries waits until no series of the gauges carries these labels.
func expectNoSeries(t *testing.T, labels map[string]string, names ...string) {
	t.Helper()
	NewWithT(t).Eventually(func() []string {
		var left []string
		for _, name := range names {
			if seriesWith(t, name, labels) > 0 {
				left = append(left, name)
			}
		}
		return left
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(BeEmpty(), "series left with %v", labels)
}

// withLabels is a copy of base with more labels.
func withLabels(base map[string]string, kv ...string) map[string]string {
	out := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestAreaStateMetrics(t *testing.T) {
	ctx := context.Background()
	area := newTestArea("metrics-state")
	createArea(ctx, t, area)
	waitAreaActive(ctx, t, area.Name)
	labels := map[string]string{"area": area.Name, "wave": "3", "region": "Yorkshire and The Humber"}

	t.Run("an Active area with a complete board", func(t *testing.T) {
		for condition, want := range map[string]float64{"Ready": 1, "GovernanceReady": 1, "Reconciling": 0, "Stalled": 0} {
			expectGauge(t, "mhst_area_condition", withLabels(labels, "condition", condition), want)
		}
		for _, phase := range areaPhases {
			want := 0.0
			if phase == mhstv1alpha1.PhaseActive {
				want = 1
			}
			expectGauge(t, "mhst_area_phase", withLabels(labels, "phase", string(phase)), want)
		}
		expectGauge(t, "mhst_area_teams", labels, 0)
		expectGauge(t, "mhst_area_teams_ready", labels, 0)
	})

	t.Run("teams are counted", func(t *testing.T) {
		team := newTestTeam(area.EffectiveNamespace(), "counted")
		if err := k8sClient.Create(ctx, team); err != nil {
			t.Fatalf("create team: %v", err)
		}
		expectGauge(t, "mhst_area_teams", labels, 1)
	})

	t.Run("a board without education", func(t *testing.T) {
		updateArea(ctx, t, area.Name, func(a *mhstv1alpha1.LocalArea) {
			a.Spec.Governance.Board = a.Spec.Governance.Board[:1]
		})
		expectGauge(t, "mhst_area_condition", withLabels(labels, "condition", "GovernanceReady"), 0)
	})

	t.Run("a new wave replaces the old series", func(t *testing.T) {
		updateArea(ctx, t, area.Name, func(a *mhstv1alpha1.LocalArea) { a.Spec.Wave = 4 })
		moved := withLabels(labels, "wave", "4")
		expectGauge(t, "mhst_area_condition", withLabels(moved, "condition", "Ready"), 1)
		expectNoSeries(t, labels, "mhst_area_condition", "mhst_area_phase", "mhst_area_teams", "mhst_area_teams_ready")
	})

	t.Run("the series go with the area", func(t *testing.T) {
		deleteArea(ctx, t, area.Name)
		expectNoSeries(t, map[string]string{"area": area.Name}, "mhst_area_condition", "mhst_area_phase", "mhst_area_teams", "mhst_area_teams_ready")
	})
}

// A scheduled area is not Ready, and says why by its phase: the alert on
// areas not Ready leaves scheduled and suspended ones out by it.
func TestAreaStateMetricsScheduled(t *testing.T) {
	ctx := context.Background()
	area := newTestArea("metrics-scheduled")
	area.Spec.ActivateAt = &metav1.Time{Time: time.Now().Add(time.Hour)}
	createArea(ctx, t, area)
	labels := map[string]string{"area": area.Name, "wave": "3", "region": "Yorkshire and The Humber"}
	expectGauge(t, "mhst_area_phase", withLabels(labels, "phase", "Scheduled"), 1)
	expectGauge(t, "mhst_area_phase", withLabels(labels, "phase", "Active"), 0)
	expectGauge(t, "mhst_area_condition", withLabels(labels, "condition", "Ready"), 0)
}

func TestAllocationMetrics(t *testing.T) {
	ctx := context.Background()
	area := coverageTestArea(t, "metrics-alloc", hartlepoolCode, "North East", 1)
	t.Cleanup(func() { deleteArea(context.Background(), t, area.Name) })
	ns := area.Status.Namespace
	schools := schoolsOf(t, hartlepoolCode)
	coverageTestTeam(t, ns, "team-east")
	coverageTestAllocation(t, ns, "proposed", "team-east", false, schools[0:3])
	coverageTestAllocation(t, ns, "no-team", "", false, schools[3:5])
	proposed := map[string]string{"area": area.Name, "wave": "1", "region": "North East", "namespace": ns, "allocation": "proposed", "team": "team-east"}

	t.Run("proposed, since the allocation was made", func(t *testing.T) {
		cov := expectCoverage(t, ns, "proposed", sumOf(schools[0:3]), metav1.ConditionFalse, mhstv1alpha1.ReasonAwaitingAgreement)
		expectGauge(t, "mhst_allocation_agreed", proposed, 0)
		expectGauge(t, "mhst_allocation_agreed_last_transition_timestamp_seconds", proposed,
			float64(condition(cov, mhstv1alpha1.ConditionAgreed).LastTransitionTime.Unix()))
		expectGauge(t, "mhst_allocation_agreed", map[string]string{"area": area.Name, "wave": "1", "region": "North East", "namespace": ns, "allocation": "no-team", "team": ""}, 0)
	})

	t.Run("agreed, since the agreement was recorded", func(t *testing.T) {
		// Let a second pass, so that the agreement's transition time
		// differs from the proposal's.
		time.Sleep(time.Second)
		patchCoverage(t, ns, "proposed", func(cov *mhstv1alpha1.SchoolCoverage) {
			cov.Spec.Agreement = &mhstv1alpha1.Agreement{DecisionRef: "GB-2025-04 item 2"}
		})
		cov := expectCoverage(t, ns, "proposed", sumOf(schools[0:3]), metav1.ConditionTrue, mhstv1alpha1.ReasonCovered)
		agreedAt := condition(cov, mhstv1alpha1.ConditionAgreed).LastTransitionTime
		expectGauge(t, "mhst_allocation_agreed", proposed, 1)
		expectGauge(t, "mhst_allocation_agreed_last_transition_timestamp_seconds", proposed, float64(agreedAt.Unix()))
		g := NewWithT(t)
		g.Expect(agreedAt.Unix()).To(BeNumerically(">", cov.CreationTimestamp.Unix()), "the timestamp is the agreement's, not the creation's")
	})

	t.Run("a new region relabels the allocations", func(t *testing.T) {
		updateArea(ctx, t, area.Name, func(a *mhstv1alpha1.LocalArea) { a.Spec.Region = "Yorkshire and The Humber" })
		expectGauge(t, "mhst_allocation_agreed", withLabels(proposed, "region", "Yorkshire and The Humber"), 1)
		expectNoSeries(t, map[string]string{"area": area.Name, "region": "North East"},
			"mhst_allocation_agreed", "mhst_allocation_agreed_last_transition_timestamp_seconds")
	})

	t.Run("the series go with the allocation", func(t *testing.T) {
		cov := &mhstv1alpha1.SchoolCoverage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "proposed"}}
		if err := k8sClient.Delete(ctx, cov); err != nil {
			t.Fatalf("delete allocation: %v", err)
		}
		expectNoSeries(t, map[string]string{"namespace": ns, "allocation": "proposed"},
			"mhst_allocation_agreed", "mhst_allocation_agreed_last_transition_timestamp_seconds")
	})
}

func TestTeamAndTargetMetrics(t *testing.T) {
	ctx := context.Background()
	area := coverageTestArea(t, "metrics-team", rutlandCode, "East Midlands", 2)
	t.Cleanup(func() { deleteArea(context.Background(), t, area.Name) })
	ns := area.Status.Namespace
	team := coverageTestTeam(t, ns, "team-staffed")
	labels := map[string]string{"area": area.Name, "wave": "2", "region": "East Midlands", "namespace": ns, "team": team.Name}
	expectGauge(t, "mhst_team_practitioners", labels, 4)
	expectGauge(t, "mhst_team_vacancies", labels, 0)
	expectGauge(t, "mhst_area_coverage_target_ratio", map[string]string{"area": area.Name, "wave": "2", "region": "East Midlands"}, 1)

	patchTeam(t, ns, team.Name, func(st *mhstv1alpha1.SupportTeam) {
		st.Spec.Staffing.EducationMentalHealthPractitioners = 0
		st.Spec.Staffing.Vacancies = 3
	})
	expectGauge(t, "mhst_team_practitioners", labels, 0)
	expectGauge(t, "mhst_team_vacancies", labels, 3)

	updateArea(ctx, t, area.Name, func(a *mhstv1alpha1.LocalArea) { a.Spec.CoverageTarget = ptr.To[int32](50) })
	expectGauge(t, "mhst_area_coverage_target_ratio", map[string]string{"area": area.Name, "wave": "2", "region": "East Midlands"}, 0.5)

	if err := k8sClient.Delete(ctx, team); err != nil {
		t.Fatalf("delete team: %v", err)
	}
	expectNoSeries(t, labels, "mhst_team_practitioners", "mhst_team_vacancies", "mhst_team_capacity_used_ratio")
}

func TestNationalTargetMetric(t *testing.T) {
	expectGauge(t, "mhst_national_coverage_target_ratio", map[string]string{}, float64(testCfg.nationalTarget())/100)
}

// TestControllerNames: ControllerNames, which the shipped alerts and
// dashboard select controller-runtime's series by, are the controllers that
// run.
func TestControllerNames(t *testing.T) {
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var running []string
	for _, f := range families {
		if f.GetName() != "controller_runtime_max_concurrent_reconciles" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" {
					running = append(running, l.GetValue())
				}
			}
		}
	}
	slices.Sort(running)
	want := slices.Sorted(slices.Values(ControllerNames))
	if len(testCfg.SnapshotDates) == 0 {
		// The schedule runs only when there are dates to take snapshots on.
		want = slices.DeleteFunc(want, func(name string) bool { return name == controllerSnapshotDates })
	}
	if !slices.Equal(running, want) {
		t.Errorf("controllers running: %v; ControllerNames: %v", running, want)
	}
}

// updateArea changes the latest LocalArea and updates it, retrying on
// conflicts with the operator's status writes.
func updateArea(ctx context.Context, t *testing.T, name string, change func(*mhstv1alpha1.LocalArea)) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		area := &mhstv1alpha1.LocalArea{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, area); err != nil {
			return err
		}
		change(area)
		return k8sClient.Update(ctx, area)
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}
