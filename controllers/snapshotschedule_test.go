package controllers

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/shipped"
	"github.com/mhst-io/mhst-operator/internal/snapshot"
)

// The schedule is tested by running its reconciler here, as a new operator
// instance would: with the operator's own identity and RBAC, and a clock the
// test moves. The suite's operator, which has no schedule, takes the
// snapshots the schedule creates, as it takes any other.

// scheduleRun is one instance of the schedule, as a restart or a new leader
// makes it, and the snapshots it created.
type scheduleRun struct {
	reconciler *SnapshotScheduleReconciler
	clock      *clocktesting.FakeClock
	mu         sync.Mutex
	created    []string
}

func newScheduleRun(t *testing.T, now time.Time, dates ...snapshot.Date) *scheduleRun {
	t.Helper()
	run := &scheduleRun{clock: clocktesting.NewFakeClock(now)}
	c, err := client.NewWithWatch(shipped.OperatorConfig(cluster.Config), client.Options{Scheme: k8sClient.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	run.reconciler = &SnapshotScheduleReconciler{
		Client: interceptor.NewClient(c, interceptor.Funcs{
			Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				err := c.Create(ctx, obj, opts...)
				if err == nil {
					run.mu.Lock()
					run.created = append(run.created, obj.GetName())
					run.mu.Unlock()
				}
				return err
			},
		}),
		Clock: run.clock,
		Dates: dates,
	}
	return run
}

// reconcile runs the schedule once and returns how long it asks to sleep.
func (r *scheduleRun) reconcile(t *testing.T) time.Duration {
	t.Helper()
	res, err := r.reconciler.Reconcile(context.Background(), ctrl.Request{})
	if err != nil {
		t.Fatalf("schedule at %s: %v", r.clock.Now(), err)
	}
	return res.RequeueAfter
}

func (r *scheduleRun) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.created)
}

var june15 = snapshot.Date{Month: time.June, Day: 15}

func utc(year int, month time.Month, day, hour, minute, second int) time.Time {
	return time.Date(year, month, day, hour, minute, second, 0, time.UTC)
}

// expectScheduled checks the snapshots one run created for day: every area
// Active now whose snapshot is listed, the National one last, each labelled
// with the date, and each taken by the operator.
func expectScheduled(t *testing.T, created []string, day string, areas ...string) map[string]types.UID {
	t.Helper()
	g := NewWithT(t)
	national := "national-" + day
	g.Expect(created).NotTo(BeEmpty())
	g.Expect(created[len(created)-1]).To(Equal(national), "the National snapshot is created last")
	for _, area := range areas {
		g.Expect(created).To(ContainElement(area+"-"+day), "snapshot of area %s", area)
	}
	seen := map[string]bool{}
	uids := map[string]types.UID{}
	for _, name := range created {
		g.Expect(seen[name]).To(BeFalse(), "%s created twice", name)
		seen[name] = true
		g.Expect(strings.HasSuffix(name, "-"+day)).To(BeTrue(), "%s is not named for %s", name, day)
		snap := waitTaken(t, name)
		g.Expect(snap.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelSnapshotDate, day))
		g.Expect(snap.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelManagedBy, mhstv1alpha1.ManagedByValue))
		// takenAt is when it really was taken, not the date it stands for.
		g.Expect(snap.Status.TakenAt.Time).To(BeTemporally("~", time.Now(), time.Minute))
		expectSnapshotReady(g, snap, metav1.ConditionTrue, mhstv1alpha1.ReasonTaken)
		uids[name] = snap.UID
	}
	return uids
}

func TestSnapshotScheduleTakesEachDateOnce(t *testing.T) {
	area := coverageTestArea(t, "sched-rutland", rutlandCode, "East Midlands", 2)
	coverageTestAllocation(t, area.Status.Namespace, "rutland-unallocated", "", false, schoolsOf(t, rutlandCode)[:5])

	first := newScheduleRun(t, utc(2031, time.June, 14, 23, 59, 58), june15)
	g := NewWithT(t)
	g.Expect(first.reconcile(t)).To(Equal(2*time.Second), "asleep until midnight")
	// The area was Active on 15 June 2030, which no schedule was there
	// for: the first start takes that date, late (see the next test).
	expectScheduled(t, first.names(), "2030-06-15", area.Name)
	caughtUp := len(first.names())
	first.reconcile(t)
	g.Expect(first.names()).To(HaveLen(caughtUp), "nothing of 15 June 2031 is taken before the date")

	first.clock.Step(2 * time.Second)
	g.Expect(first.reconcile(t)).To(Equal(366*24*time.Hour), "asleep until 15 June 2032")
	uids := expectScheduled(t, first.names()[caughtUp:], "2031-06-15", area.Name)

	t.Run("the same instance woken again that night", func(t *testing.T) {
		first.clock.Step(time.Minute)
		count := len(first.names())
		first.reconcile(t)
		NewWithT(t).Expect(first.names()).To(HaveLen(count))
	})

	t.Run("a restart later that day takes nothing twice", func(t *testing.T) {
		restarted := newScheduleRun(t, utc(2031, time.June, 15, 9, 0, 0), june15)
		g := NewWithT(t)
		g.Expect(restarted.reconcile(t)).To(Equal(366*24*time.Hour - 9*time.Hour))
		g.Expect(restarted.names()).To(BeEmpty())
		for name, uid := range uids {
			g.Expect(waitTaken(t, name).UID).To(Equal(uid), "%s was replaced", name)
		}
	})
}

func TestSnapshotScheduleCatchesUpAMissedDate(t *testing.T) {
	area := coverageTestArea(t, "sched-hartlepool", hartlepoolCode, "North East", 1)

	// An operator that went down before midnight of 15 June 2033 (its
	// start took 15 June 2032, which it had missed) ...
	before := newScheduleRun(t, utc(2033, time.June, 14, 12, 0, 0), june15)
	g := NewWithT(t)
	g.Expect(before.reconcile(t)).To(Equal(12 * time.Hour))
	expectScheduled(t, before.names(), "2032-06-15", area.Name)

	// ... and a leader that starts two days later takes the date once.
	late := newScheduleRun(t, utc(2033, time.June, 17, 8, 0, 0), june15)
	g.Expect(late.reconcile(t)).To(Equal(utc(2034, time.June, 15, 0, 0, 0).Sub(utc(2033, time.June, 17, 8, 0, 0))))
	expectScheduled(t, late.names(), "2033-06-15", area.Name)

	again := newScheduleRun(t, utc(2033, time.June, 18, 0, 0, 0), june15)
	again.reconcile(t)
	g.Expect(again.names()).To(BeEmpty(), "a second late start takes nothing")

	t.Run("months late, only the most recent date", func(t *testing.T) {
		// Down from before 15 June 2034 until a day before 15 June 2036:
		// 2035-06-15 is taken, late; 2034-06-15, older, is not.
		late := newScheduleRun(t, utc(2036, time.June, 14, 0, 0, 0), june15)
		g := NewWithT(t)
		g.Expect(late.reconcile(t)).To(Equal(24*time.Hour), "asleep until 15 June 2036")
		expectScheduled(t, late.names(), "2035-06-15", area.Name)
		for _, name := range late.names() {
			g.Expect(name).To(HaveSuffix("-2035-06-15"))
		}
		var snaps mhstv1alpha1.CoverageSnapshotList
		g.Expect(k8sClient.List(context.Background(), &snaps, client.MatchingLabels{mhstv1alpha1.LabelSnapshotDate: "2034-06-15"})).To(Succeed())
		g.Expect(snaps.Items).To(BeEmpty(), "an older missed date is not made up")

		again := newScheduleRun(t, utc(2036, time.June, 14, 12, 0, 0), june15)
		again.reconcile(t)
		g.Expect(again.names()).To(BeEmpty(), "a later start takes nothing twice")
	})

	t.Run("no snapshot of a date no area was active on", func(t *testing.T) {
		// Every area of this cluster was activated after 15 June 2020, as
		// an operator installed after a date finds its areas: there is
		// nothing to record of that date, not even a National snapshot.
		past := newScheduleRun(t, utc(2020, time.June, 16, 0, 0, 0), june15)
		g := NewWithT(t)
		g.Expect(past.reconcile(t)).To(Equal(utc(2021, time.June, 15, 0, 0, 0).Sub(past.clock.Now())))
		g.Expect(past.names()).To(BeEmpty())
		var snaps mhstv1alpha1.CoverageSnapshotList
		g.Expect(k8sClient.List(context.Background(), &snaps, client.MatchingLabels{mhstv1alpha1.LabelSnapshotDate: "2020-06-15"})).To(Succeed())
		g.Expect(snaps.Items).To(BeEmpty())
	})
}

func TestActiveOn(t *testing.T) {
	day := utc(2026, time.March, 31, 0, 0, 0)
	activated := func(at time.Time) *metav1.Time { return &metav1.Time{Time: at} }
	tests := []struct {
		name string
		area mhstv1alpha1.LocalAreaStatus
		want bool
	}{
		{"active since before the date", mhstv1alpha1.LocalAreaStatus{Phase: mhstv1alpha1.PhaseActive, ActivatedAt: activated(day.Add(-time.Hour))}, true},
		{"activated at midnight itself", mhstv1alpha1.LocalAreaStatus{Phase: mhstv1alpha1.PhaseActive, ActivatedAt: activated(day)}, true},
		{"activated after the date", mhstv1alpha1.LocalAreaStatus{Phase: mhstv1alpha1.PhaseActive, ActivatedAt: activated(day.Add(time.Second))}, false},
		{"suspended", mhstv1alpha1.LocalAreaStatus{Phase: mhstv1alpha1.PhaseSuspended, ActivatedAt: activated(day.Add(-time.Hour))}, false},
		{"still provisioning", mhstv1alpha1.LocalAreaStatus{Phase: mhstv1alpha1.PhaseProvisioning}, false},
	}
	for _, tt := range tests {
		if got := activeOn(&mhstv1alpha1.LocalArea{Status: tt.area}, day); got != tt.want {
			t.Errorf("%s: activeOn = %v; want %v", tt.name, got, tt.want)
		}
	}
}
