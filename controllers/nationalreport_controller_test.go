package controllers

import (
	"context"
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/report"
)

// nationalSums adds up the areas' status the way an auditor would check the
// national report: plain sums of every LocalArea's status.coverage.
type nationalSums struct {
	areas, settings, settingsCovered, pupils, pupilsCovered, disadvantaged, disadvantagedCovered int64
}

func (n *nationalSums) add(c *mhstv1alpha1.AreaCoverage) {
	n.areas++
	if c == nil {
		return
	}
	n.settings += c.Settings
	n.settingsCovered += c.SettingsCovered
	n.pupils += c.Pupils
	n.pupilsCovered += c.PupilsCovered
	n.disadvantaged += c.DisadvantagedPupils
	n.disadvantagedCovered += c.DisadvantagedPupilsCovered
}

func sumsOf(f report.Figures) nationalSums {
	return nationalSums{f.Areas, f.Settings, f.SettingsCovered, f.Pupils, f.PupilsCovered, f.DisadvantagedPupils, f.DisadvantagedPupilsCovered}
}

func TestNationalReportSumsTheAreas(t *testing.T) {
	ctx := context.Background()
	s := newCoverageScenario(t, "nat")
	// The areas' own status.coverage, as the LocalArea controller reports it.
	wantA, wantB := sumOf(s.a[0:20]), sumOf(s.b[0:9])
	coveredA, coveredB := sumOf(s.a[0:14]), sumOf(s.b[0:6])

	NewWithT(t).Eventually(func(g Gomega) {
		var areas mhstv1alpha1.LocalAreaList
		g.Expect(k8sClient.List(ctx, &areas)).To(Succeed())
		var total nationalSums
		byWave := map[int32]*nationalSums{}
		for i := range areas.Items {
			area := &areas.Items[i]
			total.add(area.Status.Coverage)
			if byWave[area.Spec.Wave] == nil {
				byWave[area.Spec.Wave] = &nationalSums{}
			}
			byWave[area.Spec.Wave].add(area.Status.Coverage)
		}

		var cm corev1.ConfigMap
		g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: operatorNamespace, Name: NationalReportName}, &cm)).To(Succeed())
		g.Expect(cm.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelConfigMap, mhstv1alpha1.ConfigMapCoverageReport))
		var national report.NationalSummary
		g.Expect(json.Unmarshal([]byte(cm.Data[NationalReportJSONKey]), &national)).To(Succeed())

		g.Expect(national.Target).To(Equal(int32(100)), "the national ambition by default")
		g.Expect(sumsOf(national.Totals)).To(Equal(total), "national totals are the sums of the areas")
		g.Expect(national.Totals.PupilsCoveredPercent).To(Equal(percentOf(total.pupilsCovered, total.pupils)))
		g.Expect(national.ByWave).To(HaveLen(len(byWave)))
		for _, row := range national.ByWave {
			g.Expect(byWave).To(HaveKey(row.Wave))
			g.Expect(sumsOf(row.Figures)).To(Equal(*byWave[row.Wave]), "wave %d", row.Wave)
		}

		rows := map[string]report.AreaRow{}
		for _, row := range national.Areas {
			rows[row.Name] = row
		}
		g.Expect(rows).To(HaveKey(s.hartlepool.Name))
		g.Expect(rows).To(HaveKey(s.rutland.Name))
		a, b := rows[s.hartlepool.Name], rows[s.rutland.Name]
		g.Expect([]int64{a.Settings, a.Pupils, a.PupilsCovered}).To(Equal([]int64{wantA.settings, wantA.pupils, coveredA.pupils}), "Hartlepool, from the register")
		g.Expect([]int64{b.Settings, b.Pupils, b.PupilsCovered}).To(Equal([]int64{wantB.settings, wantB.pupils, coveredB.pupils}), "Rutland, from the register")
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}
