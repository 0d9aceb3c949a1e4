package controllers

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
)

// The coverage tests build their areas from real schools: rows of the DfE
// register (Contains public sector information licensed under the Open
// Government Licence v3.0.), read here with encoding/csv so that every
// expected figure is summed in the test itself, never by the code under test.

const schoolsCSV = "../hack/data/schools-england-2022-23.csv"

// Two real local authorities: Hartlepool (38 state-funded schools) and
// Rutland (22).
const (
	hartlepoolCode = "E06000001"
	rutlandCode    = "E06000017"
)

// testSchool is one row of the register.
type testSchool struct {
	URN      string
	Name     string
	Grouping string
	Pupils   int64
	// FSM is the count of pupils eligible for free school meals, nil when
	// the register suppresses it.
	FSM *int32
}

var (
	registerOnce sync.Once
	registerRows map[string][]testSchool
	registerErr  error
)

// schoolsOf returns the state-funded schools of one local authority, sorted
// by URN. The CSV is read once for the whole package.
func schoolsOf(t *testing.T, laCode string) []testSchool {
	t.Helper()
	registerOnce.Do(func() { registerRows, registerErr = readRegister(schoolsCSV) })
	if registerErr != nil {
		t.Fatalf("read %s: %v", schoolsCSV, registerErr)
	}
	schools := registerRows[laCode]
	if len(schools) == 0 {
		t.Fatalf("no schools for %s in %s", laCode, schoolsCSV)
	}
	return schools
}

func readRegister(path string) (map[string][]testSchool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}
	byLA := map[string][]testSchool{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		grouping := rec[col["phase_type_grouping"]]
		if grouping == "Independent school" {
			continue
		}
		pupils, err := strconv.ParseInt(rec[col["headcount of pupils"]], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("urn %s pupils: %w", rec[col["urn"]], err)
		}
		s := testSchool{URN: rec[col["urn"]], Name: rec[col["school_name"]], Grouping: grouping, Pupils: pupils}
		if fsm, err := strconv.ParseInt(rec[col["number of pupils known to be eligible for free school meals"]], 10, 32); err == nil {
			n := int32(fsm)
			s.FSM = &n
		}
		la := rec[col["new_la_code"]]
		byLA[la] = append(byLA[la], s)
	}
	for la := range byLA {
		slices.SortFunc(byLA[la], func(a, b testSchool) int { return strings.Compare(a.URN, b.URN) })
	}
	return byLA, nil
}

// testPhases maps the register's phase groupings to the API's phases.
var testPhases = map[string]mhstv1alpha1.SettingPhase{
	"State-funded primary":          mhstv1alpha1.PhasePrimary,
	"State-funded secondary":        mhstv1alpha1.PhaseSecondary,
	"State-funded nursery":          mhstv1alpha1.PhaseNursery,
	"State-funded special school":   mhstv1alpha1.PhaseSpecial,
	"Non-maintained special school": mhstv1alpha1.PhaseSpecial,
	"State-funded AP school":        mhstv1alpha1.PhaseAlternativeProvision,
}

func settingsOf(schools ...testSchool) []mhstv1alpha1.Setting {
	out := make([]mhstv1alpha1.Setting, 0, len(schools))
	for _, s := range schools {
		out = append(out, mhstv1alpha1.Setting{
			URN:                 s.URN,
			Name:                s.Name,
			Phase:               testPhases[s.Grouping],
			Pupils:              int32(s.Pupils),
			DisadvantagedPupils: s.FSM,
		})
	}
	return out
}

// figures are expected counts, summed here from register rows.
type figures struct {
	settings, pupils, disadvantaged int64
}

func sumOf(schools ...[]testSchool) figures {
	var f figures
	for _, group := range schools {
		for _, s := range group {
			f.settings++
			f.pupils += s.Pupils
			if s.FSM != nil {
				f.disadvantaged += int64(*s.FSM)
			}
		}
	}
	return f
}

// coverageTestArea creates a LocalArea whose board has health and education
// members, and waits until it is Active in its namespace.
func coverageTestArea(t *testing.T, name, laCode, region string, wave int32) *mhstv1alpha1.LocalArea {
	t.Helper()
	ctx := context.Background()
	area := &mhstv1alpha1.LocalArea{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: mhstv1alpha1.LocalAreaSpec{
			DisplayName:        name,
			LocalAuthorityCode: laCode,
			Region:             region,
			Wave:               wave,
			Governance: mhstv1alpha1.Governance{Board: []mhstv1alpha1.BoardMember{
				{Kind: mhstv1alpha1.SubjectUser, Name: boardHealthMember(name), Sector: mhstv1alpha1.SectorHealth, Role: mhstv1alpha1.RoleChair},
				{Kind: mhstv1alpha1.SubjectUser, Name: name + "-education", Sector: mhstv1alpha1.SectorEducation},
			}},
		},
	}
	if err := k8sClient.Create(ctx, area); err != nil {
		t.Fatalf("create area %s: %v", name, err)
	}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(area), area)).To(Succeed())
		g.Expect(area.Status.Phase).To(Equal(mhstv1alpha1.PhaseActive))
		g.Expect(area.Status.Namespace).To(Equal(area.EffectiveNamespace()))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	return area
}

// boardHealthMember is the user name of the area's board chair.
func boardHealthMember(area string) string { return area + "-health" }

func coverageTestTeam(t *testing.T, ns, name string) *mhstv1alpha1.SupportTeam {
	t.Helper()
	team := &mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mhstv1alpha1.SupportTeamSpec{
			DisplayName: name,
			Staffing:    mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 4, SeniorClinicians: 1},
			Service:     mhstv1alpha1.TeamService{Image: "registry.example/mhst/referrals:1.0"},
		},
	}
	if err := k8sClient.Create(context.Background(), team); err != nil {
		t.Fatalf("create team %s/%s: %v", ns, name, err)
	}
	return team
}

// coverageTestAllocation creates a SchoolCoverage; team "" leaves teamRef
// out, and agreed adds a board decision.
func coverageTestAllocation(t *testing.T, ns, name, team string, agreed bool, schools ...[]testSchool) *mhstv1alpha1.SchoolCoverage {
	t.Helper()
	cov := &mhstv1alpha1.SchoolCoverage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, group := range schools {
		cov.Spec.Settings = append(cov.Spec.Settings, settingsOf(group...)...)
	}
	if team != "" {
		cov.Spec.TeamRef = &mhstv1alpha1.TeamReference{Name: team}
	}
	if agreed {
		cov.Spec.Agreement = &mhstv1alpha1.Agreement{DecisionRef: "GB-2025-03 item " + name, AgreedAt: "2025-03-12", AgreedBy: "governance board"}
	}
	if err := k8sClient.Create(context.Background(), cov); err != nil {
		t.Fatalf("create coverage %s/%s: %v", ns, name, err)
	}
	return cov
}

// coverageScenario is two real areas, three teams and five allocations:
//
//	Hartlepool: north-first (team-north, agreed)  schools A[0:8]
//	            south-second (team-south, agreed) schools A[8:14] + A[5], A[6],
//	                                               which north-first holds
//	            no-team-yet (no team)              schools A[14:20] + A[0]
//	Rutland:    rutland-agreed (team-rutland, agreed) schools B[0:6]
//	            rutland-proposed (team-rutland)        schools B[6:9]
//
// north-first is created before south-second (and sorts first, should the
// two share a creationTimestamp second), so its claim is the older.
type coverageScenario struct {
	hartlepool, rutland *mhstv1alpha1.LocalArea
	a, b                []testSchool
}

func newCoverageScenario(t *testing.T, prefix string) *coverageScenario {
	t.Helper()
	s := &coverageScenario{a: schoolsOf(t, hartlepoolCode)[:20], b: schoolsOf(t, rutlandCode)[:9]}
	s.hartlepool = coverageTestArea(t, prefix+"-hartlepool", hartlepoolCode, "North East", 1)
	s.rutland = coverageTestArea(t, prefix+"-rutland", rutlandCode, "East Midlands", 2)
	nsA, nsB := s.hartlepool.Status.Namespace, s.rutland.Status.Namespace

	coverageTestTeam(t, nsA, "team-north")
	coverageTestTeam(t, nsA, "team-south")
	coverageTestTeam(t, nsB, "team-rutland")
	coverageTestAllocation(t, nsA, "north-first", "team-north", true, s.a[0:8])
	coverageTestAllocation(t, nsA, "south-second", "team-south", true, s.a[8:14], s.a[5:7])
	coverageTestAllocation(t, nsA, "no-team-yet", "", false, s.a[14:20], s.a[0:1])
	coverageTestAllocation(t, nsB, "rutland-agreed", "team-rutland", true, s.b[0:6])
	coverageTestAllocation(t, nsB, "rutland-proposed", "team-rutland", false, s.b[6:9])
	return s
}

// expectCoverage waits until the SchoolCoverage's status has the figures
// and the Ready reason given, and returns it.
func expectCoverage(t *testing.T, ns, name string, want figures, readyStatus metav1.ConditionStatus, readyReason string) *mhstv1alpha1.SchoolCoverage {
	t.Helper()
	var cov mhstv1alpha1.SchoolCoverage
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &cov)).To(Succeed())
		g.Expect(cov.Status.ObservedGeneration).To(Equal(cov.Generation))
		g.Expect([]int64{cov.Status.Settings, cov.Status.Pupils, cov.Status.DisadvantagedPupils}).
			To(Equal([]int64{want.settings, want.pupils, want.disadvantaged}), "settings, pupils, disadvantaged pupils of %s", name)
		ready := meta.FindStatusCondition(cov.Status.Conditions, mhstv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(readyStatus), "Ready of %s: %s", name, ready.Message)
		g.Expect(ready.Reason).To(Equal(readyReason), "Ready of %s: %s", name, ready.Message)
		g.Expect(ready.ObservedGeneration).To(Equal(cov.Generation))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	return &cov
}

func condition(cov *mhstv1alpha1.SchoolCoverage, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(cov.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{Type: typ, Status: metav1.ConditionUnknown}
}

func TestSchoolCoverageScenario(t *testing.T) {
	ctx := context.Background()
	s := newCoverageScenario(t, "cov")
	nsA, nsB := s.hartlepool.Status.Namespace, s.rutland.Status.Namespace

	t.Run("statuses from real schools", func(t *testing.T) {
		g := NewWithT(t)
		north := expectCoverage(t, nsA, "north-first", sumOf(s.a[0:8]), metav1.ConditionTrue, mhstv1alpha1.ReasonCovered)
		g.Expect(condition(north, mhstv1alpha1.ConditionAgreed).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(condition(north, mhstv1alpha1.ConditionAgreed).Message).To(ContainSubstring("GB-2025-03 item north-first"))
		g.Expect(condition(north, mhstv1alpha1.ConditionConflicted).Reason).To(Equal(mhstv1alpha1.ReasonNoConflicts))
		g.Expect(north.Status.Conflicts).To(BeEmpty())

		// A partly conflicted allocation still covers its other settings.
		south := expectCoverage(t, nsA, "south-second", sumOf(s.a[8:14]), metav1.ConditionTrue, mhstv1alpha1.ReasonCovered)
		g.Expect(south.Status.Conflicts).To(Equal([]mhstv1alpha1.Conflict{
			{URN: s.a[5].URN, ClaimedBy: "north-first"},
			{URN: s.a[6].URN, ClaimedBy: "north-first"},
		}))
		conflicted := condition(south, mhstv1alpha1.ConditionConflicted)
		g.Expect(conflicted.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(conflicted.Reason).To(Equal(mhstv1alpha1.ReasonSettingsClaimed))
		g.Expect(conflicted.Message).To(ContainSubstring(s.a[5].URN + " (held by north-first)"))
		g.Expect(conflicted.Message).To(ContainSubstring(s.a[6].URN + " (held by north-first)"))

		// A list without a team never conflicts; the URN a team claims
		// counts as the team's.
		unallocated := expectCoverage(t, nsA, "no-team-yet", sumOf(s.a[14:20]), metav1.ConditionTrue, mhstv1alpha1.ReasonUnallocated)
		g.Expect(condition(unallocated, mhstv1alpha1.ConditionConflicted).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(condition(unallocated, mhstv1alpha1.ConditionReady).Message).To(ContainSubstring("Lists 6 settings"))

		expectCoverage(t, nsB, "rutland-agreed", sumOf(s.b[0:6]), metav1.ConditionTrue, mhstv1alpha1.ReasonCovered)
		proposed := expectCoverage(t, nsB, "rutland-proposed", sumOf(s.b[6:9]), metav1.ConditionFalse, mhstv1alpha1.ReasonAwaitingAgreement)
		agreed := condition(proposed, mhstv1alpha1.ConditionAgreed)
		g.Expect(agreed.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(agreed.Reason).To(Equal(mhstv1alpha1.ReasonAwaitingAgreement))
		g.Expect(agreed.Message).To(ContainSubstring("once the governance board has agreed, a board member records it in spec.agreement"))
		g.Expect(condition(proposed, mhstv1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionUnknown), "waiting for the board is not stalled")
	})

	t.Run("conflict resolved when the older claim is deleted", func(t *testing.T) {
		north := &mhstv1alpha1.SchoolCoverage{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "north-first"}}
		if err := k8sClient.Delete(ctx, north); err != nil {
			t.Fatalf("delete north-first: %v", err)
		}
		south := expectCoverage(t, nsA, "south-second", sumOf(s.a[8:14], s.a[5:7]), metav1.ConditionTrue, mhstv1alpha1.ReasonCovered)
		g := NewWithT(t)
		g.Expect(south.Status.Conflicts).To(BeEmpty())
		g.Expect(condition(south, mhstv1alpha1.ConditionConflicted).Status).To(Equal(metav1.ConditionFalse))
		// A[0] was north-first's; with it gone the teamless list counts it.
		expectCoverage(t, nsA, "no-team-yet", sumOf(s.a[14:20], s.a[0:1]), metav1.ConditionTrue, mhstv1alpha1.ReasonUnallocated)
	})

	t.Run("agreement turns proposed into covered", func(t *testing.T) {
		proposed := &mhstv1alpha1.SchoolCoverage{}
		key := types.NamespacedName{Namespace: nsB, Name: "rutland-proposed"}
		if err := k8sClient.Get(ctx, key, proposed); err != nil {
			t.Fatal(err)
		}
		before := proposed.DeepCopy()
		proposed.Spec.Agreement = &mhstv1alpha1.Agreement{DecisionRef: "GB-2025-07 item 2"}
		if err := k8sClient.Patch(ctx, proposed, client.MergeFrom(before)); err != nil {
			t.Fatalf("agree rutland-proposed: %v", err)
		}
		cov := expectCoverage(t, nsB, "rutland-proposed", sumOf(s.b[6:9]), metav1.ConditionTrue, mhstv1alpha1.ReasonCovered)
		agreed := condition(cov, mhstv1alpha1.ConditionAgreed)
		NewWithT(t).Expect(agreed.Reason).To(Equal(mhstv1alpha1.ReasonAgreementRecorded))
		NewWithT(t).Expect(agreed.Message).To(ContainSubstring("GB-2025-07 item 2"))
	})

	t.Run("suspended team uncovers its settings", func(t *testing.T) {
		patchTeam(t, nsB, "team-rutland", func(team *mhstv1alpha1.SupportTeam) { team.Spec.Suspend = true })
		for name, schools := range map[string][]testSchool{"rutland-agreed": s.b[0:6], "rutland-proposed": s.b[6:9]} {
			cov := expectCoverage(t, nsB, name, sumOf(schools), metav1.ConditionFalse, mhstv1alpha1.ReasonTeamSuspended)
			NewWithT(t).Expect(condition(cov, mhstv1alpha1.ConditionReady).Message).To(ContainSubstring("team-rutland is suspended"))
		}
		patchTeam(t, nsB, "team-rutland", func(team *mhstv1alpha1.SupportTeam) { team.Spec.Suspend = false })
		expectCoverage(t, nsB, "rutland-agreed", sumOf(s.b[0:6]), metav1.ConditionTrue, mhstv1alpha1.ReasonCovered)
	})

	t.Run("team not found until it is created", func(t *testing.T) {
		extra := schoolsOf(t, hartlepoolCode)[20:23]
		coverageTestAllocation(t, nsA, "west-later", "team-west", true, extra)
		cov := expectCoverage(t, nsA, "west-later", sumOf(extra), metav1.ConditionFalse, mhstv1alpha1.ReasonTeamNotFound)
		msg := condition(cov, mhstv1alpha1.ConditionReady).Message
		g := NewWithT(t)
		g.Expect(msg).To(ContainSubstring("No SupportTeam team-west in namespace " + nsA))
		g.Expect(msg).To(ContainSubstring("create it, or correct spec.teamRef.name"))

		coverageTestTeam(t, nsA, "team-west")
		expectCoverage(t, nsA, "west-later", sumOf(extra), metav1.ConditionTrue, mhstv1alpha1.ReasonCovered)
	})

	t.Run("quiet once converged", func(t *testing.T) {
		expectOperatorIdle(t, nsA, nsB)
	})
}

// expectOperatorIdle waits for the operator's writes to settle, then checks
// that it makes none for 15 seconds: a converged operator is silent.
func expectOperatorIdle(t *testing.T, namespaces ...string) {
	t.Helper()
	settled := settledWrites(t, namespaces...)
	NewWithT(t).Consistently(writes.count).WithTimeout(15*time.Second).WithPolling(500*time.Millisecond).
		Should(Equal(settled), "the operator kept writing after convergence")
}

// settledWrites waits until the teams of the namespaces have been
// reconciled and the operator's write count stops moving (waitForQuiet), and
// returns it. Waiting for the teams first matters: their services are
// applied a little after the allocations settle, and those writes must not
// be taken for the operator failing to go quiet.
func settledWrites(t *testing.T, namespaces ...string) int64 {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		for _, ns := range namespaces {
			var teams mhstv1alpha1.SupportTeamList
			g.Expect(k8sClient.List(context.Background(), &teams, client.InNamespace(ns))).To(Succeed())
			for _, team := range teams.Items {
				g.Expect(team.Status.ObservedGeneration).To(Equal(team.Generation), "team %s/%s reconciled", ns, team.Name)
				g.Expect(team.Status.Inventory).NotTo(BeEmpty(), "team %s/%s service applied", ns, team.Name)
			}
		}
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	return waitForQuiet(NewWithT(t))
}

func TestSchoolCoverageOutsideArea(t *testing.T) {
	ctx := context.Background()
	releasedNamespace(ctx, t, "coverage-no-area", func(ns string) {
		coverageTestAllocation(t, ns, "stray", "team-north", true, schoolsOf(t, rutlandCode)[:2])
	})
	var cov mhstv1alpha1.SchoolCoverage
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "coverage-no-area", Name: "stray"}, &cov)).To(Succeed())
		stalled := condition(&cov, mhstv1alpha1.ConditionStalled)
		g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(stalled.Reason).To(Equal(mhstv1alpha1.ReasonNoLocalArea))
		g.Expect(condition(&cov, mhstv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cov.Status.Settings).To(BeZero(), "an allocation outside any area counts for nothing")
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}

// TestSchoolCoverageReadiness checks the order in which Ready reports what
// stands between an allocation and covered settings.
func TestSchoolCoverageReadiness(t *testing.T) {
	active := &mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "rutland"}, Status: mhstv1alpha1.LocalAreaStatus{Phase: mhstv1alpha1.PhaseActive}}
	suspended := active.DeepCopy()
	suspended.Status.Phase = mhstv1alpha1.PhaseSuspended
	provisioning := active.DeepCopy()
	provisioning.Status.Phase = mhstv1alpha1.PhaseProvisioning
	lost := []mhstv1alpha1.Conflict{{URN: "136530", ClaimedBy: "oakham"}}

	tests := []struct {
		name        string
		area        *mhstv1alpha1.LocalArea
		alloc       func(*coverage.Allocation)
		status      metav1.ConditionStatus
		reason      string
		reconciling bool
	}{
		{"covered", active, func(*coverage.Allocation) {}, metav1.ConditionTrue, mhstv1alpha1.ReasonCovered, false},
		{"partly conflicted still covers", active, func(a *coverage.Allocation) { a.Conflicts = lost }, metav1.ConditionTrue, mhstv1alpha1.ReasonCovered, false},
		{"all settings held elsewhere", active, func(a *coverage.Allocation) { a.Settings, a.SettingsCovered, a.Conflicts = 0, 0, lost }, metav1.ConditionFalse, mhstv1alpha1.ReasonSettingsClaimed, false},
		{"proposed", active, func(a *coverage.Allocation) { a.Agreed = false }, metav1.ConditionFalse, mhstv1alpha1.ReasonAwaitingAgreement, false},
		{"suspended team before agreement", active, func(a *coverage.Allocation) { a.Agreed, a.TeamSuspended = false, true }, metav1.ConditionFalse, mhstv1alpha1.ReasonTeamSuspended, false},
		{"missing team first", active, func(a *coverage.Allocation) { a.Agreed, a.TeamFound = false, false }, metav1.ConditionFalse, mhstv1alpha1.ReasonTeamNotFound, false},
		{"no team named", active, func(a *coverage.Allocation) { a.TeamNamed, a.TeamFound, a.Team = false, false, "" }, metav1.ConditionTrue, mhstv1alpha1.ReasonUnallocated, false},
		{"area being provisioned", provisioning, func(*coverage.Allocation) {}, metav1.ConditionFalse, mhstv1alpha1.ReasonAreaNotActive, true},
		{"area suspended", suspended, func(*coverage.Allocation) {}, metav1.ConditionFalse, mhstv1alpha1.ReasonAreaNotActive, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cov := &mhstv1alpha1.SchoolCoverage{ObjectMeta: metav1.ObjectMeta{Namespace: "mhst-rutland", Name: "oakham"}}
			cov.Spec.Settings = make([]mhstv1alpha1.Setting, 3)
			got := coverageReadiness(cov, tt.area, coverageAllocation(tt.alloc))
			if got.status != tt.status || got.reason != tt.reason || got.reconciling != tt.reconciling || got.stalled {
				t.Errorf("readiness = %s %s (reconciling %v, stalled %v): %s; want %s %s (reconciling %v)",
					got.status, got.reason, got.reconciling, got.stalled, got.message, tt.status, tt.reason, tt.reconciling)
			}
		})
	}
}

// coverageAllocation is an agreed allocation of three settings to a team
// that exists, changed by change.
func coverageAllocation(change func(*coverage.Allocation)) coverage.Allocation {
	a := coverage.Allocation{
		Name: "oakham", Team: "team-oakham", TeamNamed: true, TeamFound: true, Agreed: true,
		Settings: 3, Pupils: 1529, SettingsCovered: 3, PupilsCovered: 1529,
	}
	change(&a)
	return a
}

func TestSchoolCoverageConflictMessage(t *testing.T) {
	cov := &mhstv1alpha1.SchoolCoverage{}
	cov.Spec.Settings = make([]mhstv1alpha1.Setting, 15)
	var conflicts []mhstv1alpha1.Conflict
	for i := range 12 {
		conflicts = append(conflicts, mhstv1alpha1.Conflict{URN: strconv.Itoa(100000 + i), ClaimedBy: "older"})
	}
	msg := conflictMessage(cov, conflicts)
	for _, want := range []string{"(12 of the 15 listed)", "100000 (held by older)", "100009 (held by older)", "and 2 more (see status.conflicts)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "100010") {
		t.Errorf("message %q lists more than %d conflicts", msg, maxConflictsInMessage)
	}
}
