package controllers

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/report"
	"github.com/mhst-io/mhst-operator/internal/snapshot"
)

// newSnapshot is a CoverageSnapshot to create; area "" makes it National.
func newSnapshot(name, area string) *mhstv1alpha1.CoverageSnapshot {
	snap := &mhstv1alpha1.CoverageSnapshot{ObjectMeta: metav1.ObjectMeta{Name: name}}
	snap.Spec.Scope = mhstv1alpha1.ScopeNational
	if area != "" {
		snap.Spec = mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.ScopeArea, Area: area}
	}
	return snap
}

// takeSnapshot creates a snapshot as c and waits until the operator has
// taken it.
func takeSnapshot(t *testing.T, c client.Client, name, area string) *mhstv1alpha1.CoverageSnapshot {
	t.Helper()
	if err := c.Create(context.Background(), newSnapshot(name, area)); err != nil {
		t.Fatalf("create snapshot %s: %v", name, err)
	}
	return waitTaken(t, name)
}

// waitTaken waits until the snapshot's status is written, and returns it.
func waitTaken(t *testing.T, name string) *mhstv1alpha1.CoverageSnapshot {
	t.Helper()
	snap := &mhstv1alpha1.CoverageSnapshot{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Name: name}, snap)).To(Succeed())
		g.Expect(snap.Status.TakenAt).NotTo(BeNil(), "snapshot %s not taken yet", name)
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	return snap
}

// expectSnapshotReady checks a taken snapshot's conditions.
func expectSnapshotReady(g Gomega, snap *mhstv1alpha1.CoverageSnapshot, status metav1.ConditionStatus, reason string) *metav1.Condition {
	ready := meta.FindStatusCondition(snap.Status.Conditions, mhstv1alpha1.ConditionReady)
	g.Expect(ready).NotTo(BeNil())
	g.Expect(ready.Status).To(Equal(status), "Ready of %s: %s", snap.Name, ready.Message)
	g.Expect(ready.Reason).To(Equal(reason))
	g.Expect(ready.ObservedGeneration).To(Equal(snap.Generation))
	g.Expect(ready.LastTransitionTime).To(Equal(*snap.Status.TakenAt))
	g.Expect(snap.Status.ObservedGeneration).To(Equal(snap.Generation))
	stalledCond := meta.FindStatusCondition(snap.Status.Conditions, mhstv1alpha1.ConditionStalled)
	if status == metav1.ConditionTrue {
		g.Expect(stalledCond).To(BeNil())
	} else {
		g.Expect(stalledCond).NotTo(BeNil())
		g.Expect(stalledCond.Reason).To(Equal(reason))
	}
	return ready
}

// storedDigest recomputes the digest from the snapshot as the API server
// returns it (unstructured JSON, what kubectl and jq see).
func storedDigest(t *testing.T, name string, scope mhstv1alpha1.SnapshotScope) string {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(mhstv1alpha1.GroupVersion.WithKind("CoverageSnapshot"))
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Name: name}, u); err != nil {
		t.Fatal(err)
	}
	digest, err := snapshot.Digest(scope, u.Object["status"])
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

// handWorkedHartlepool is what a snapshot of the coverage scenario's
// Hartlepool must record, with team-south in training: counted here one
// register row at a time, with no help from the code under test
// (coverage.Compute, package plan). north-first holds A[0:8] (its claim on
// A[5] and A[6] is older than south-second's), south-second A[8:14], and
// the teamless no-team-yet A[14:20] (A[0] counts as north-first's); the
// target is the default 100%.
func handWorkedHartlepool(s *coverageScenario) (mhstv1alpha1.AreaCoverage, []mhstv1alpha1.SnapshotSetting) {
	var c mhstv1alpha1.AreaCoverage
	settings := make([]mhstv1alpha1.SnapshotSetting, 0, 20)
	for i, school := range s.a[0:20] { // sorted by URN, as a snapshot lists them
		team, allocation, decision := "team-north", "north-first", "GB-2025-03 item north-first"
		switch {
		case i >= 14:
			team, allocation, decision = "", "no-team-yet", ""
		case i >= 8:
			team, allocation, decision = "team-south", "south-second", "GB-2025-03 item south-second"
		}
		covered := i < 14
		setting := mhstv1alpha1.SnapshotSetting{URN: school.URN, Name: school.Name, Pupils: school.Pupils,
			Covered: covered, Team: team, Allocation: allocation, DecisionRef: decision}
		if school.FSM != nil {
			d := int64(*school.FSM)
			setting.DisadvantagedPupils = &d
		}
		settings = append(settings, setting)

		c.Settings++
		c.Pupils += school.Pupils
		c.DisadvantagedPupils += fsmOf(school)
		if covered {
			c.SettingsCovered++
			c.PupilsCovered += school.Pupils
			c.DisadvantagedPupilsCovered += fsmOf(school)
			if team == "team-south" {
				c.PupilsCoveredByTeamsInTraining += school.Pupils
			}
		}
	}
	completeByHand(&c, 100)
	return c, settings
}

// expectSameCoverage compares two sets of status.coverage figures one
// field at a time, naming each field that differs.
func expectSameCoverage(g Gomega, got, want mhstv1alpha1.AreaCoverage, what string) {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		field := gv.Type().Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		g.Expect(gv.Field(i).Interface()).To(Equal(wv.Field(i).Interface()), "%s: status.coverage.%s", what, name)
	}
	g.Expect(got).To(Equal(want), what)
}

// waitAreaFigures waits until the area's status.coverage has the settings
// and covered pupils given, and returns the area.
func waitAreaFigures(t *testing.T, name string, settings, pupilsCovered int64) *mhstv1alpha1.LocalArea {
	t.Helper()
	var area *mhstv1alpha1.LocalArea
	NewWithT(t).Eventually(func(g Gomega) {
		area = getArea(context.Background(), g, name)
		g.Expect(area.Status.Coverage).NotTo(BeNil())
		g.Expect([]int64{area.Status.Coverage.Settings, area.Status.Coverage.PupilsCovered}).To(Equal([]int64{settings, pupilsCovered}))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	return area
}

func TestCoverageSnapshotOfAnArea(t *testing.T) {
	ctx := context.Background()
	s := newCoverageScenario(t, "snap")
	nsA := s.hartlepool.Status.Namespace
	covered := sumOf(s.a[0:14])
	// team-south is still in training: it starts work a year after the
	// operator's today.
	inTraining := sumOf(s.a[8:14])
	startsWork := testClock.Now().UTC().AddDate(1, 0, 0).Format(time.DateOnly)
	patchTeam(t, nsA, "team-south", func(team *mhstv1alpha1.SupportTeam) { team.Spec.OperationalFrom = startsWork })
	NewWithT(t).Eventually(func(g Gomega) {
		area := getArea(ctx, g, s.hartlepool.Name)
		g.Expect(area.Status.Coverage).NotTo(BeNil())
		g.Expect([]int64{area.Status.Coverage.Settings, area.Status.Coverage.PupilsCovered, area.Status.Coverage.PupilsCoveredByTeamsInTraining}).
			To(Equal([]int64{20, covered.pupils, inTraining.pupils}))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())

	before := testClock.Now().Add(-time.Second)
	snap := takeSnapshot(t, k8sClient, "snap-hartlepool-now", s.hartlepool.Name)
	g := NewWithT(t)
	ready := expectSnapshotReady(g, snap, metav1.ConditionTrue, mhstv1alpha1.ReasonTaken)
	g.Expect(ready.Message).To(ContainSubstring("20 settings"))
	g.Expect(snap.Status.TakenAt.Time).To(BeTemporally(">=", before.Truncate(time.Second)))
	g.Expect(snap.Status.TakenAt.Time).To(BeTemporally("<=", testClock.Now()))

	t.Run("equals the area's status at that moment", func(t *testing.T) {
		area := getArea(ctx, NewWithT(t), s.hartlepool.Name)
		expectSameCoverage(NewWithT(t), *snap.Status.Coverage, *area.Status.Coverage, "the snapshot against the area's status")
	})

	t.Run("equals the coverage counted by hand from the register", func(t *testing.T) {
		g := NewWithT(t)
		wantCoverage, wantSettings := handWorkedHartlepool(s)
		expectSameCoverage(g, *snap.Status.Coverage, wantCoverage, "the snapshot against the hand count")
		g.Expect(snap.Status.Coverage.PupilsCoveredByTeamsInTraining).To(Equal(inTraining.pupils), "team-south's pupils rest on a team in training")
		g.Expect(snap.Status.Settings).To(Equal(wantSettings))
	})

	t.Run("equals the area report and the national report", func(t *testing.T) {
		areaReport(t, nsA, func(g Gomega, summary report.AreaSummary) {
			expectSameCoverage(g, summary.Totals.AreaCoverage, *snap.Status.Coverage, "the area report against the snapshot")
		})
		NewWithT(t).Eventually(func(g Gomega) {
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: operatorNamespace, Name: NationalReportName}, &cm)).To(Succeed())
			var summary report.NationalSummary
			g.Expect(json.Unmarshal([]byte(cm.Data[NationalReportJSONKey]), &summary)).To(Succeed())
			i := slices.IndexFunc(summary.Areas, func(r report.AreaRow) bool { return r.Name == s.hartlepool.Name })
			g.Expect(i).To(BeNumerically(">=", 0), "the national report lists no %s", s.hartlepool.Name)
			expectSameCoverage(g, summary.Areas[i].AreaCoverage, *snap.Status.Coverage, "the national report's row against the snapshot")
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	})

	t.Run("sealed with a digest anyone can recompute", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(snap.Status.Digest).To(MatchRegexp(`^[0-9a-f]{64}$`))
		g.Expect(storedDigest(t, snap.Name, mhstv1alpha1.ScopeArea)).To(Equal(snap.Status.Digest))
	})

	t.Run("cannot be changed, even by the administrator", func(t *testing.T) {
		g := NewWithT(t)
		target := &mhstv1alpha1.CoverageSnapshot{ObjectMeta: metav1.ObjectMeta{Name: snap.Name}}
		err := k8sClient.Patch(ctx, target, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"area":"`+s.rutland.Name+`"}}`)))
		g.Expect(err).To(MatchError(ContainSubstring("spec cannot change")))
		err = k8sClient.Status().Patch(ctx, target, client.RawPatch(types.MergePatchType, []byte(`{"status":{"coverage":{"pupilsCovered":0}}}`)))
		g.Expect(err).To(MatchError(ContainSubstring("status is written once")))
		after := waitTaken(t, snap.Name)
		g.Expect(after.Spec).To(Equal(snap.Spec))
		g.Expect(after.Status).To(Equal(snap.Status))
	})
}

func TestCoverageSnapshotNational(t *testing.T) {
	ctx := context.Background()
	s := newCoverageScenario(t, "snapnat")
	waitAreaFigures(t, s.hartlepool.Name, 20, sumOf(s.a[0:14]).pupils)
	waitAreaFigures(t, s.rutland.Name, 9, sumOf(s.b[0:6]).pupils)
	// Every area of the cluster counts: let the operator settle, so that
	// no area's figures move between the snapshot and the check.
	waitForQuiet(NewWithT(t))

	snap := takeSnapshot(t, k8sClient, "snap-england-now", "")
	g := NewWithT(t)
	expectSnapshotReady(g, snap, metav1.ConditionTrue, mhstv1alpha1.ReasonTaken)

	var areas mhstv1alpha1.LocalAreaList
	g.Expect(k8sClient.List(ctx, &areas)).To(Succeed())
	var total nationalSums
	want := map[string]*mhstv1alpha1.AreaCoverage{}
	for i := range areas.Items {
		total.add(areas.Items[i].Status.Coverage)
		want[areas.Items[i].Name] = areas.Items[i].Status.Coverage
	}
	c := snap.Status.Coverage
	got := nationalSums{int64(len(snap.Status.Areas)), c.Settings, c.SettingsCovered, c.Pupils, c.PupilsCovered, c.DisadvantagedPupils, c.DisadvantagedPupilsCovered}
	g.Expect(got).To(Equal(total), "the national figures are the sums of the areas")
	g.Expect(c.PupilsCoveredPercent).To(Equal(percentOf(total.pupilsCovered, total.pupils)))
	g.Expect(c.TargetMet).To(Equal(total.pupilsCovered == total.pupils), "measured against the national ambition of 100%%")
	for _, a := range snap.Status.Areas {
		g.Expect(want).To(HaveKey(a.Name))
		g.Expect(a.Coverage).To(Equal(want[a.Name]), "area %s", a.Name)
	}
	g.Expect(snap.Status.Settings).To(BeEmpty())
	g.Expect(storedDigest(t, snap.Name, mhstv1alpha1.ScopeNational)).To(Equal(snap.Status.Digest))
}

func TestCoverageSnapshotThatCannotBeTaken(t *testing.T) {
	ctx := context.Background()
	suspended := newTestArea("snap-suspended")
	suspended.Spec.Suspend = true
	createArea(ctx, t, suspended)
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(getArea(ctx, g, suspended.Name).Status.Phase).To(Equal(mhstv1alpha1.PhaseSuspended))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())

	cases := []struct {
		name, area, reason, says string
	}{
		{"snap-no-such-area", "no-such-area", mhstv1alpha1.ReasonAreaNotFound, "No LocalArea no-such-area exists"},
		{"snap-suspended-area", suspended.Name, mhstv1alpha1.ReasonAreaNotActive, "is Suspended, not Active"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			snap := takeSnapshot(t, k8sClient, tc.name, tc.area)
			g := NewWithT(t)
			ready := expectSnapshotReady(g, snap, metav1.ConditionFalse, tc.reason)
			g.Expect(ready.Message).To(ContainSubstring(tc.says))
			g.Expect(ready.Message).To(ContainSubstring("create another one"))
			g.Expect(snap.Status.Coverage).To(BeNil())
			g.Expect(snap.Status.Settings).To(BeEmpty())
			g.Expect(snap.Status.Digest).To(BeEmpty())
			// Final: the record of the attempt cannot be replaced by one
			// that looks taken.
			err := k8sClient.Status().Patch(ctx, snap.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"status":{"coverage":{"settings":1}}}`)))
			g.Expect(err).To(MatchError(ContainSubstring("status is written once")))
		})
	}
}
