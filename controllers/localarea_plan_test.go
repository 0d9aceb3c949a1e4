package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/register"
	"github.com/mhst-io/mhst-operator/internal/report"
)

// The plan tests put the operator on 31 March 2030, the day of the areas'
// first target, build two areas from the DfE register with the importer's
// own package (internal/register), and check every figure against a
// computation made here from the test's own reading of the register (see
// schoolsOf). Then they move the clock to a few seconds before the target
// passes (00:00 UTC on 1 April) and check that the plan changes at that
// moment, with no event but the operator's own requeue.
const (
	planFirstTarget  = "2030-03-31"
	planSecondTarget = "2031-03-31"
	// planTrainingEnds is team-r2's operationalFrom: it leaves training at
	// the moment the first target passes.
	planTrainingEnds = "2030-04-01"
)

var planPasses = time.Date(2030, 4, 1, 0, 0, 0, 0, time.UTC)

var (
	registerAreasOnce sync.Once
	registerAreasDir  register.Directory
	registerSchools   []register.School
	registerAreasErr  error
)

// registerArea selects an authority's schools with internal/register, as
// `kubectl mhst import` does, and builds its LocalArea under another name.
func registerArea(t *testing.T, code, name string) (*mhstv1alpha1.LocalArea, []mhstv1alpha1.Setting) {
	t.Helper()
	registerAreasOnce.Do(func() {
		f, err := os.Open(schoolsCSV)
		if err != nil {
			registerAreasErr = err
			return
		}
		defer func() { _ = f.Close() }()
		file, err := register.ReadSchools(f, register.ReadOptions{})
		if err != nil {
			registerAreasErr = err
			return
		}
		a, err := os.Open(filepath.Join(filepath.Dir(schoolsCSV), "local-authorities-england.csv"))
		if err != nil {
			registerAreasErr = err
			return
		}
		defer func() { _ = a.Close() }()
		authorities, err := register.ReadAuthorities(a)
		registerSchools, registerAreasDir, registerAreasErr = file.Schools, register.NewDirectory(authorities), err
	})
	if registerAreasErr != nil {
		t.Fatalf("read the register: %v", registerAreasErr)
	}
	selected, err := register.SelectArea(registerSchools, registerAreasDir, code, register.SelectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := register.BuildManifests(selected, register.AreaOptions{Wave: 2, Board: []mhstv1alpha1.BoardMember{
		{Kind: mhstv1alpha1.SubjectUser, Name: name + "-health", Sector: mhstv1alpha1.SectorHealth, Role: mhstv1alpha1.RoleChair},
		{Kind: mhstv1alpha1.SubjectUser, Name: name + "-education", Sector: mhstv1alpha1.SectorEducation},
	}})
	if err != nil {
		t.Fatal(err)
	}
	area := m.LocalArea.DeepCopy()
	area.Name = name
	return area, register.Settings(selected.Schools)
}

// planTeam is a team as the test creates it, with what the test expects of
// it: its capacity and the schools its agreed allocation gives it.
type planTeam struct {
	name            string
	maxPupils       int64
	suspended       bool
	operationalFrom string
	schools         []testSchool
}

func createPlanTeam(t *testing.T, ns string, pt planTeam, settings []mhstv1alpha1.Setting) {
	t.Helper()
	team := &mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pt.name},
		Spec: mhstv1alpha1.SupportTeamSpec{
			DisplayName:     pt.name,
			Staffing:        mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 4, SeniorClinicians: 1},
			Capacity:        mhstv1alpha1.Capacity{MaxPupils: int32(pt.maxPupils)},
			Service:         mhstv1alpha1.TeamService{Image: "registry.example/mhst/referrals:1.0"},
			Suspend:         pt.suspended,
			OperationalFrom: pt.operationalFrom,
		},
	}
	if err := k8sClient.Create(context.Background(), team); err != nil {
		t.Fatalf("create team %s/%s: %v", ns, pt.name, err)
	}
	createPlanAllocation(t, ns, pt.name, pt.name, settings)
}

// createPlanAllocation creates an agreed allocation of the settings to the
// team, or a list without a team when team is "".
func createPlanAllocation(t *testing.T, ns, name, team string, settings []mhstv1alpha1.Setting) {
	t.Helper()
	cov := &mhstv1alpha1.SchoolCoverage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       mhstv1alpha1.SchoolCoverageSpec{Settings: settings},
	}
	if team != "" {
		cov.Spec.TeamRef = &mhstv1alpha1.TeamReference{Name: team}
		cov.Spec.Agreement = &mhstv1alpha1.Agreement{DecisionRef: "Board 2030-02 item " + name, AgreedAt: "2030-02-10", AgreedBy: "governance board"}
	}
	if err := k8sClient.Create(context.Background(), cov); err != nil {
		t.Fatalf("create coverage %s/%s: %v", ns, name, err)
	}
}

// planArea is one area of the scenario and everything the test expects of
// it, from the test's own reading of the register.
type planArea struct {
	name    string
	listed  []testSchool
	teams   []planTeam
	targets []mhstv1alpha1.DatedTarget
}

// expectedCoverage is status.coverage worked out from the schools, with
// inTraining the teams in training.
func (a planArea) expectedCoverage(inTraining map[string]bool) mhstv1alpha1.AreaCoverage {
	var c mhstv1alpha1.AreaCoverage
	for _, s := range a.listed {
		c.Settings++
		c.Pupils += s.Pupils
		c.DisadvantagedPupils += fsmOf(s)
	}
	for _, tm := range a.teams {
		if tm.suspended {
			continue
		}
		for _, s := range tm.schools {
			c.SettingsCovered++
			c.PupilsCovered += s.Pupils
			c.DisadvantagedPupilsCovered += fsmOf(s)
			if inTraining[tm.name] {
				c.PupilsCoveredByTeamsInTraining += s.Pupils
			}
		}
	}
	completeByHand(&c, 100)
	return c
}

// completeByHand works out the figures of c that follow from its counts,
// as the contract defines them, in the test's own integer arithmetic: the
// percentages (half up), targetMet against target, and the equity index.
func completeByHand(c *mhstv1alpha1.AreaCoverage, target int64) {
	c.PupilsCoveredPercent = percentOf(c.PupilsCovered, c.Pupils)
	c.SettingsCoveredPercent = percentOf(c.SettingsCovered, c.Settings)
	c.DisadvantagedPupilsCoveredPercent = percentOf(c.DisadvantagedPupilsCovered, c.DisadvantagedPupils)
	c.TargetMet = c.PupilsCovered*100 >= target*c.Pupils
	c.EquityIndexPermille = nil
	if c.DisadvantagedPupils > 0 && c.PupilsCovered > 0 {
		num := 1000 * c.DisadvantagedPupilsCovered * c.Pupils
		den := c.DisadvantagedPupils * c.PupilsCovered
		e := int32((2*num + den) / (2 * den)) // half up
		c.EquityIndexPermille = &e
	}
}

// expectedPlan is status.plan on the UTC date today (YYYY-MM-DD), counted
// up one pupil and one team at a time.
func (a planArea) expectedPlan(c mhstv1alpha1.AreaCoverage, today string) (mhstv1alpha1.AreaPlan, string) {
	p := mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{Percent: 100}}
	for _, tg := range a.targets {
		if tg.By >= today {
			p.Target = mhstv1alpha1.PlanTarget(tg)
			break
		}
	}
	for (c.PupilsCovered+p.PupilsShort)*100 < int64(p.Target.Percent)*c.Pupils {
		p.PupilsShort++
	}
	for _, tm := range a.teams {
		var held int64
		for _, s := range tm.schools {
			held += s.Pupils
		}
		if !tm.suspended && tm.maxPupils > held {
			p.SpareCapacityPupils += tm.maxPupils - held
		}
	}
	for p.SpareCapacityPupils+8500*int64(p.AdditionalTeamsNeeded) < p.PupilsShort {
		p.AdditionalTeamsNeeded++
	}
	switch {
	case p.PupilsShort == 0:
		return p, mhstv1alpha1.ReasonTargetMet
	case p.SpareCapacityPupils >= p.PupilsShort:
		return p, mhstv1alpha1.ReasonCapacityAvailable
	default:
		return p, mhstv1alpha1.ReasonTeamsShort
	}
}

// expectedGaps are the listed schools no team covers, ranked by
// disadvantaged pupils, then pupils (both most first), then URN.
func (a planArea) expectedGaps() []string {
	covered := map[string]bool{}
	for _, tm := range a.teams {
		for _, s := range tm.schools {
			covered[s.URN] = !tm.suspended
		}
	}
	var gaps []testSchool
	for _, s := range a.listed {
		if !covered[s.URN] {
			gaps = append(gaps, s)
		}
	}
	slices.SortFunc(gaps, func(x, y testSchool) int {
		switch {
		case fsmOf(x) != fsmOf(y):
			return int(fsmOf(y) - fsmOf(x))
		case x.Pupils != y.Pupils:
			return int(y.Pupils - x.Pupils)
		case x.URN < y.URN:
			return -1
		default:
			return 1
		}
	})
	urns := make([]string, 0, len(gaps))
	for _, s := range gaps {
		urns = append(urns, s.URN)
	}
	return urns
}

func fsmOf(s testSchool) int64 {
	if s.FSM == nil {
		return 0
	}
	return int64(*s.FSM)
}

// settingsByURN picks settings built by internal/register, in the order of
// the test's schools.
func settingsByURN(t *testing.T, settings []mhstv1alpha1.Setting, schools ...[]testSchool) []mhstv1alpha1.Setting {
	t.Helper()
	var out []mhstv1alpha1.Setting
	for _, group := range schools {
		for _, s := range group {
			i := slices.IndexFunc(settings, func(x mhstv1alpha1.Setting) bool { return x.URN == s.URN })
			if i < 0 {
				t.Fatalf("the register package did not select URN %s", s.URN)
			}
			out = append(out, settings[i])
		}
	}
	return out
}

func TestPlanFromTheRegister(t *testing.T) {
	ctx := context.Background()
	testClock.set(time.Date(2030, 3, 31, 12, 0, 0, 0, time.UTC))
	t.Cleanup(testClock.reset)

	h, r := schoolsOf(t, hartlepoolCode), schoolsOf(t, rutlandCode)
	shared := h[len(h)-1] // listed by both areas
	hartlepool := planArea{
		name:   "plan-hartlepool",
		listed: h,
		teams: []planTeam{
			{name: "team-h1", maxPupils: 8500, schools: h[0:8]},
			{name: "team-h2", maxPupils: 8500, suspended: true, schools: h[8:12]},
		},
		targets: []mhstv1alpha1.DatedTarget{{By: planFirstTarget, Percent: 15}, {By: planSecondTarget, Percent: 60}},
	}
	rutland := planArea{
		name:   "plan-rutland",
		listed: append(slices.Clone(r), shared),
		teams: []planTeam{
			{name: "team-r1", maxPupils: 8500, schools: r[0:6]},
			{name: "team-r2", maxPupils: 8500, operationalFrom: planTrainingEnds, schools: r[6:10]},
		},
		targets: []mhstv1alpha1.DatedTarget{{By: planFirstTarget, Percent: 40}, {By: planSecondTarget, Percent: 100}},
	}

	for _, a := range []struct {
		plan planArea
		code string
		rest [][]testSchool
	}{
		{hartlepool, hartlepoolCode, [][]testSchool{h[12:]}},
		{rutland, rutlandCode, [][]testSchool{r[10:]}},
	} {
		area, settings := registerArea(t, a.code, a.plan.name)
		if got, want := len(settings), len(schoolsOf(t, a.code)); got != want {
			t.Fatalf("the register package selects %d schools of %s, the test's reading %d", got, a.code, want)
		}
		area.Spec.Targets = a.plan.targets
		createArea(ctx, t, area)
		ns := waitAreaActive(ctx, t, area.Name).Status.Namespace
		for _, tm := range a.plan.teams {
			createPlanTeam(t, ns, tm, settingsByURN(t, settings, tm.schools))
		}
		rest := settingsByURN(t, settings, a.rest...)
		if a.plan.name == rutland.name {
			// The Hartlepool school on Rutland's list, as an area near a
			// boundary might list it: built the same way.
			_, hartlepoolSettings := registerArea(t, hartlepoolCode, "unused")
			rest = append(rest, settingsByURN(t, hartlepoolSettings, []testSchool{shared})...)
		}
		createPlanAllocation(t, ns, "not-yet-allocated", "", rest)
	}

	before := map[string]bool{"team-r2": true}
	t.Run("on the day of the first target", func(t *testing.T) {
		for _, a := range []planArea{hartlepool, rutland} {
			expectAreaPlan(t, a, before, planFirstTarget)
		}
		expectOperational(t, rutland.name, "team-r2", metav1.ConditionFalse, mhstv1alpha1.ReasonInTraining)
		expectOperational(t, rutland.name, "team-r1", metav1.ConditionTrue, mhstv1alpha1.ReasonOperational)
		expectNationalShared(t, shared.URN, hartlepool.name, rutland.name)
	})

	t.Run("the target passes at 00:00 UTC the day after, and the plan changes then", func(t *testing.T) {
		// Seconds before the moment. The areas' and the team's waits were
		// worked out twelve hours earlier, so make each reconcile once on
		// the new time (a spec change), then leave the operator alone.
		realPassing := time.Now().Add(5 * time.Second)
		testClock.set(planPasses.Add(-5 * time.Second))
		for _, name := range []string{hartlepool.name, rutland.name} {
			patchArea(t, name, func(a *mhstv1alpha1.LocalArea) { a.Spec.DisplayName += " (2030)" })
		}
		patchTeam(t, "mhst-"+rutland.name, "team-r2", func(tm *mhstv1alpha1.SupportTeam) { tm.Spec.DisplayName += " (2030)" })

		// Still the first target just before the moment.
		for _, a := range []planArea{hartlepool, rutland} {
			g := NewWithT(t)
			area := getArea(ctx, g, a.name)
			g.Expect(area.Status.Plan.Target.By).To(Equal(planFirstTarget), "%s before the target passes", a.name)
		}
		var changedAt time.Time
		NewWithT(t).Eventually(func(g Gomega) {
			area := getArea(ctx, g, rutland.name)
			g.Expect(area.Status.Plan.Target.By).To(Equal(planSecondTarget))
			changedAt = time.Now()
		}).WithTimeout(time.Until(realPassing) + 10*time.Second).WithPolling(pollInterval).Should(Succeed())
		if changedAt.Before(realPassing) || changedAt.After(realPassing.Add(5*time.Second)) {
			t.Errorf("the plan changed at %v, want within seconds after the target passed at %v", changedAt, realPassing)
		}
		after := map[string]bool{}
		for _, a := range []planArea{hartlepool, rutland} {
			expectAreaPlan(t, a, after, planTrainingEnds)
		}
		expectOperational(t, rutland.name, "team-r2", metav1.ConditionTrue, mhstv1alpha1.ReasonOperational)
	})
}

// expectAreaPlan waits until the area's status, report and metrics show the
// figures worked out for the date today.
func expectAreaPlan(t *testing.T, a planArea, inTraining map[string]bool, today string) {
	t.Helper()
	ctx := context.Background()
	want := a.expectedCoverage(inTraining)
	wantPlan, wantReason := a.expectedPlan(want, today)
	var area *mhstv1alpha1.LocalArea
	NewWithT(t).Eventually(func(g Gomega) {
		area = getArea(ctx, g, a.name)
		g.Expect(area.Status.Coverage).NotTo(BeNil())
		g.Expect(*area.Status.Coverage).To(Equal(want), "status.coverage of %s", a.name)
		g.Expect(area.Status.Plan).To(Equal(&wantPlan), "status.plan of %s", a.name)
		onTrack := meta.FindStatusCondition(area.Status.Conditions, mhstv1alpha1.ConditionOnTrack)
		g.Expect(onTrack).NotTo(BeNil())
		g.Expect(onTrack.Reason).To(Equal(wantReason), "OnTrack of %s: %s", a.name, onTrack.Message)
		g.Expect(onTrack.Status).To(Equal(boolStatus(wantReason != mhstv1alpha1.ReasonTeamsShort)))
		g.Expect(onTrack.ObservedGeneration).To(Equal(area.Generation))
		if wantReason == mhstv1alpha1.ReasonTeamsShort {
			g.Expect(onTrack.Message).To(ContainSubstring(fmt.Sprintf("%d more team", wantPlan.AdditionalTeamsNeeded)))
			g.Expect(onTrack.Message).To(ContainSubstring("by " + wantPlan.Target.By))
		}
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())

	gaps := a.expectedGaps()
	cm := areaReport(t, area.Status.Namespace, func(g Gomega, summary report.AreaSummary) {
		g.Expect(summary.Plan.AreaPlan).To(Equal(wantPlan), "report plan of %s", a.name)
		g.Expect(summary.Plan.OnTrack.Reason).To(Equal(wantReason))
		g.Expect(summary.Totals.PupilsCoveredByTeamsInTraining).To(Equal(want.PupilsCoveredByTeamsInTraining))
		g.Expect(summary.Totals.EquityIndexPermille).To(Equal(want.EquityIndexPermille))
		var urns []string
		for _, gap := range summary.Gaps {
			urns = append(urns, gap.URN)
		}
		g.Expect(urns).To(Equal(gaps), "gaps of %s", a.name)
	})
	if rows := len(splitLines(cm.Data[AreaReportGapsKey])); rows != len(gaps)+1 {
		t.Errorf("gaps.csv of %s has %d lines, want a header and %d gaps", a.name, rows, len(gaps))
	}
	labels := map[string]string{"area": a.name, "wave": "2", "region": area.Spec.Region}
	NewWithT(t).Eventually(func(g Gomega) {
		for name, value := range map[string]int64{
			"mhst_area_pupils_short":            wantPlan.PupilsShort,
			"mhst_area_spare_capacity_pupils":   wantPlan.SpareCapacityPupils,
			"mhst_area_additional_teams_needed": int64(wantPlan.AdditionalTeamsNeeded),
			"mhst_area_equity_index_permille":   int64(*want.EquityIndexPermille),
			"mhst_area_on_track":                int64(boolGauge(wantReason != mhstv1alpha1.ReasonTeamsShort)),
		} {
			got, ok := gauge(t, name, labels)
			g.Expect(ok).To(BeTrue(), "%s%v is not exported", name, labels)
			g.Expect(got).To(BeNumerically("==", value), "%s%v", name, labels)
		}
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}

func expectOperational(t *testing.T, area, team string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var tm mhstv1alpha1.SupportTeam
		g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: "mhst-" + area, Name: team}, &tm)).To(Succeed())
		c := meta.FindStatusCondition(tm.Status.Conditions, mhstv1alpha1.ConditionOperational)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(status), "Operational of %s: %s", team, c.Message)
		g.Expect(c.Reason).To(Equal(reason))
		g.Expect(c.ObservedGeneration).To(Equal(tm.Generation))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}

// expectNationalShared waits until the national report lists the URN as
// listed by the areas.
func expectNationalShared(t *testing.T, urn string, areas ...string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var cm corev1.ConfigMap
		g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: operatorNamespace, Name: NationalReportName}, &cm)).To(Succeed())
		var summary report.NationalSummary
		g.Expect(json.Unmarshal([]byte(cm.Data[NationalReportJSONKey]), &summary)).To(Succeed())
		i := slices.IndexFunc(summary.SettingsInMoreThanOneArea, func(s report.SharedSetting) bool { return s.URN == urn })
		g.Expect(i).To(BeNumerically(">=", 0), "URN %s is not in settingsInMoreThanOneArea", urn)
		g.Expect(summary.SettingsInMoreThanOneArea[i].Areas).To(Equal(areas))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}

func patchArea(t *testing.T, name string, change func(*mhstv1alpha1.LocalArea)) {
	t.Helper()
	area := &mhstv1alpha1.LocalArea{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: name}, area); err != nil {
		t.Fatal(err)
	}
	before := area.DeepCopy()
	change(area)
	if err := k8sClient.Patch(context.Background(), area, client.MergeFrom(before)); err != nil {
		t.Fatalf("patch area %s: %v", name, err)
	}
}

func splitLines(s string) []string {
	var lines []string
	for line := range strings.Lines(s) {
		lines = append(lines, line)
	}
	return lines
}
