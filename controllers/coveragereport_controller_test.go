package controllers

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/report"
)

// percentOf is part/whole in percent, rounded half up to one decimal, as the
// API defines pupilsCoveredPercent; worked out here from the integers.
func percentOf(part, whole int64) string {
	if whole == 0 {
		return "0.0"
	}
	tenths := (2000*part + whole) / (2 * whole)
	return fmt.Sprintf("%d.%d", tenths/10, tenths%10)
}

// unknownFSM counts the schools whose free school meal count is suppressed.
func unknownFSM(schools []testSchool) int64 {
	var n int64
	for _, s := range schools {
		if s.FSM == nil {
			n++
		}
	}
	return n
}

// areaReport waits for the area's report and returns it with its decoded
// report.json.
func areaReport(t *testing.T, ns string, check func(g Gomega, summary report.AreaSummary)) *corev1.ConfigMap {
	t.Helper()
	var cm corev1.ConfigMap
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: AreaReportName}, &cm)).To(Succeed())
		var summary report.AreaSummary
		g.Expect(json.Unmarshal([]byte(cm.Data[AreaReportJSONKey]), &summary)).To(Succeed())
		check(g, summary)
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	return &cm
}

// expectTotals checks an area report's totals against register rows: every
// listed school, and the covered ones.
func expectTotals(g Gomega, got report.AreaTotals, listed, covered []testSchool) {
	all, cov := sumOf(listed), sumOf(covered)
	g.Expect(got.Settings).To(Equal(all.settings), "settings")
	g.Expect(got.SettingsCovered).To(Equal(cov.settings), "settings covered")
	g.Expect(got.Pupils).To(Equal(all.pupils), "pupils")
	g.Expect(got.PupilsCovered).To(Equal(cov.pupils), "pupils covered")
	g.Expect(got.DisadvantagedPupils).To(Equal(all.disadvantaged), "disadvantaged pupils")
	g.Expect(got.DisadvantagedPupilsCovered).To(Equal(cov.disadvantaged), "disadvantaged pupils covered")
	g.Expect(got.PupilsCoveredPercent).To(Equal(percentOf(cov.pupils, all.pupils)), "percent")
	g.Expect(got.TargetMet).To(Equal(cov.pupils == all.pupils), "target of 100%% met")
	g.Expect(got.DisadvantagedUnknownSettings).To(Equal(unknownFSM(listed)), "settings with unknown disadvantage")
}

// gauge returns the value of the series of metric name with exactly these
// labels in controller-runtime's registry, and whether it exists.
func gauge(t *testing.T, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
		for _, m := range family.GetMetric() {
			got := map[string]string{}
			for _, pair := range m.GetLabel() {
				got[pair.GetName()] = pair.GetValue()
			}
			if maps.Equal(got, labels) {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func TestCoverageReportScenario(t *testing.T) {
	ctx := context.Background()
	s := newCoverageScenario(t, "rep")
	nsA, nsB := s.hartlepool.Status.Namespace, s.rutland.Status.Namespace

	t.Run("figures from real schools", func(t *testing.T) {
		cm := areaReport(t, nsA, func(g Gomega, summary report.AreaSummary) {
			expectTotals(g, summary.Totals, s.a[0:20], s.a[0:14])
			g.Expect(summary.Area.LocalAuthorityCode).To(Equal(hartlepoolCode))
			g.Expect(summary.Licence).To(ContainSubstring("Open Government Licence v3.0"))
		})
		g := NewWithT(t)
		g.Expect(cm.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelConfigMap, mhstv1alpha1.ConfigMapCoverageReport))
		g.Expect(cm.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelManagedBy, mhstv1alpha1.ManagedByValue))
		g.Expect(cm.OwnerReferences).To(HaveLen(1))
		g.Expect(cm.OwnerReferences[0].UID).To(Equal(s.hartlepool.UID))
		g.Expect(*cm.OwnerReferences[0].Controller).To(BeTrue())

		rows, err := csv.NewReader(bytes.NewBufferString(cm.Data[AreaReportCSVKey])).ReadAll()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(rows[0]).To(Equal(report.CSVHeader))
		byURN := map[string][]string{}
		for _, row := range rows[1:] {
			byURN[row[0]] = row
		}
		g.Expect(byURN).To(HaveLen(20), "one row per distinct setting")
		for i, school := range s.a[0:20] {
			team, covered := "team-north", "true"
			switch {
			case i >= 14:
				team, covered = "", "false"
			case i >= 8:
				team = "team-south"
			}
			row := byURN[school.URN]
			g.Expect(row).To(HaveLen(len(report.CSVHeader)), "row of %s", school.URN)
			g.Expect(row[3]).To(Equal(strconv.FormatInt(school.Pupils, 10)), "pupils of %s", school.URN)
			g.Expect(row[5]).To(Equal(team), "team of %s", school.URN)
			g.Expect(row[6]).To(Equal(covered), "covered of %s", school.URN)
		}

		areaReport(t, nsB, func(g Gomega, summary report.AreaSummary) {
			expectTotals(g, summary.Totals, s.b[0:9], s.b[0:6])
			g.Expect(summary.PerTeam).To(HaveLen(1))
			g.Expect(summary.PerTeam[0].ProposedSettings).To(Equal(int64(3)))
		})
	})

	t.Run("metrics", func(t *testing.T) {
		labels := map[string]string{"area": s.hartlepool.Name, "wave": "1", "region": "North East"}
		all, covered := sumOf(s.a[0:20]), sumOf(s.a[0:14])
		want := map[string]int64{
			"mhst_area_pupils":                       all.pupils,
			"mhst_area_pupils_covered":               covered.pupils,
			"mhst_area_settings":                     all.settings,
			"mhst_area_settings_covered":             covered.settings,
			"mhst_area_disadvantaged_pupils":         all.disadvantaged,
			"mhst_area_disadvantaged_pupils_covered": covered.disadvantaged,
		}
		north := sumOf(s.a[0:8])
		wantRatio := max(float64(north.settings)/20, float64(north.pupils)/8500)
		teamLabels := map[string]string{"area": s.hartlepool.Name, "wave": "1", "region": "North East", "namespace": nsA, "team": "team-north"}
		NewWithT(t).Eventually(func(g Gomega) {
			for name, value := range want {
				got, ok := gauge(t, name, labels)
				g.Expect(ok).To(BeTrue(), "series %s%v", name, labels)
				g.Expect(got).To(Equal(float64(value)), name)
			}
			ratio, ok := gauge(t, "mhst_team_capacity_used_ratio", teamLabels)
			g.Expect(ok).To(BeTrue(), "team series")
			g.Expect(ratio).To(BeNumerically("~", wantRatio, 1e-9))
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	})

	t.Run("board reads its own report and no other", func(t *testing.T) {
		board := impersonate(t, boardHealthMember(s.hartlepool.Name))
		g := NewWithT(t)
		g.Eventually(func() error {
			return board.Get(ctx, types.NamespacedName{Namespace: nsA, Name: AreaReportName}, &corev1.ConfigMap{})
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
		err := board.Get(ctx, types.NamespacedName{Namespace: nsB, Name: AreaReportName}, &corev1.ConfigMap{})
		g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "another area's report: %v", err)
	})

	t.Run("not rewritten when nothing changed", func(t *testing.T) {
		key := types.NamespacedName{Namespace: nsA, Name: AreaReportName}
		var before corev1.ConfigMap
		g := NewWithT(t)
		g.Expect(k8sClient.Get(ctx, key, &before)).To(Succeed())
		// A change the report does not show (whether a setting has a senior
		// mental health lead): the report is rebuilt, compared and left
		// alone. The operator's only write is the allocation's
		// observedGeneration; an Apply of the unchanged report would be a
		// second one, even though the API server would not bump the
		// report's resourceVersion for it.
		base := settledWrites(t, nsA, nsB)
		cov := patchCoverage(t, nsA, "north-first", func(cov *mhstv1alpha1.SchoolCoverage) {
			cov.Spec.Settings[0].SeniorMentalHealthLead = !cov.Spec.Settings[0].SeniorMentalHealthLead
		})
		g.Eventually(func(g Gomega) {
			var now mhstv1alpha1.SchoolCoverage
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cov), &now)).To(Succeed())
			g.Expect(now.Status.ObservedGeneration).To(Equal(cov.Generation))
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
		g.Consistently(func(g Gomega) {
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, key, &cm)).To(Succeed())
			g.Expect(cm.ResourceVersion).To(Equal(before.ResourceVersion))
			g.Expect(writes.count()-base).To(Equal(int64(1)), "writes after a change the report does not show")
		}).WithTimeout(3 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

		// A change it shows is written.
		patchTeam(t, nsA, "team-north", func(team *mhstv1alpha1.SupportTeam) { team.Spec.DisplayName = "North Hartlepool MHST" })
		after := areaReport(t, nsA, func(g Gomega, summary report.AreaSummary) {
			g.Expect(summary.PerTeam).To(ContainElement(HaveField("DisplayName", "North Hartlepool MHST")))
		})
		g.Expect(after.ResourceVersion).NotTo(Equal(before.ResourceVersion))
	})

	t.Run("put back when deleted", func(t *testing.T) {
		cm := &corev1.ConfigMap{}
		key := types.NamespacedName{Namespace: nsB, Name: AreaReportName}
		g := NewWithT(t)
		g.Expect(k8sClient.Get(ctx, key, cm)).To(Succeed())
		g.Expect(k8sClient.Delete(ctx, cm)).To(Succeed())
		g.Eventually(func(g Gomega) {
			var again corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, key, &again)).To(Succeed())
			g.Expect(again.UID).NotTo(Equal(cm.UID))
			g.Expect(again.Data).To(Equal(cm.Data))
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	})

	t.Run("metrics go with the area", func(t *testing.T) {
		labels := map[string]string{"area": s.rutland.Name, "wave": "2", "region": "East Midlands"}
		g := NewWithT(t)
		g.Eventually(func() bool { _, ok := gauge(t, "mhst_area_pupils", labels); return ok }).
			WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(BeTrue())
		g.Expect(k8sClient.Delete(ctx, s.rutland)).To(Succeed())
		g.Eventually(func() bool {
			_, area := gauge(t, "mhst_area_pupils", labels)
			_, team := gauge(t, "mhst_team_capacity_used_ratio", map[string]string{"area": s.rutland.Name, "wave": "2", "region": "East Midlands", "namespace": nsB, "team": "team-rutland"})
			return area || team
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(BeFalse(), "series of a deleted area")
	})
}

// impersonate returns a client acting as the named user.
func impersonate(t *testing.T, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: k8sClient.Scheme()})
	if err != nil {
		t.Fatalf("client as %s: %v", user, err)
	}
	return c
}

func patchTeam(t *testing.T, ns, name string, change func(*mhstv1alpha1.SupportTeam)) {
	t.Helper()
	team := &mhstv1alpha1.SupportTeam{}
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, team); err != nil {
		t.Fatal(err)
	}
	before := team.DeepCopy()
	change(team)
	if err := k8sClient.Patch(context.Background(), team, client.MergeFrom(before)); err != nil {
		t.Fatalf("patch team %s/%s: %v", ns, name, err)
	}
}

func patchCoverage(t *testing.T, ns, name string, change func(*mhstv1alpha1.SchoolCoverage)) *mhstv1alpha1.SchoolCoverage {
	t.Helper()
	cov := &mhstv1alpha1.SchoolCoverage{}
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, cov); err != nil {
		t.Fatal(err)
	}
	before := cov.DeepCopy()
	change(cov)
	if err := k8sClient.Patch(context.Background(), cov, client.MergeFrom(before)); err != nil {
		t.Fatalf("patch coverage %s/%s: %v", ns, name, err)
	}
	return cov
}
