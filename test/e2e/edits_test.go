//go:build e2e

package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/rollout"
	"github.com/mhst-io/mhst-operator/internal/rollout/converge"
)

// fakeSetting is a setting with a URN the register does not use (the
// register's are six digits; these are seven, from 9000000).
func fakeSetting(n int, pupils int32) mhstv1alpha1.Setting {
	disadvantaged := pupils / 4
	return mhstv1alpha1.Setting{
		URN: fmt.Sprintf("%07d", 9000000+n), Name: fmt.Sprintf("Test Academy %d", n),
		Phase: mhstv1alpha1.PhasePrimary, Pupils: pupils, DisadvantagedPupils: &disadvantaged,
	}
}

// userBackoff is how persistently a user retries an edit that lost a race.
// Two users and the operator's status writes all move the object's
// resourceVersion, so client-go's DefaultRetry (five quick tries) can run
// out on a busy machine; a person, or a GitOps tool, keeps trying, with
// jitter so that the two users do not collide in step.
var userBackoff = wait.Backoff{Steps: 15, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 1} // about 9 s in all

// update does get-modify-update on a SchoolCoverage, retrying on conflict
// the way kubectl edit users and controllers are expected to.
func (e *env) update(key client.ObjectKey, modify func(*mhstv1alpha1.SchoolCoverage)) error {
	return retry.RetryOnConflict(userBackoff, func() error {
		var cov mhstv1alpha1.SchoolCoverage
		if err := e.client.Get(e.ctx, key, &cov); err != nil {
			return err
		}
		modify(&cov)
		return e.client.Update(e.ctx, &cov)
	})
}

// TestConcurrentEditsLoseNothing has two users add settings to the same
// allocation at the same time, while the operator writes its status: every
// setting must end up in the allocation, and the area's coverage must count
// them all.
func TestConcurrentEditsLoseNothing(t *testing.T) {
	e := newEnv(t)
	area := smallAreas(t, 1)[0]
	e.startOperator("operator")
	e.apply([]rollout.Area{area})
	e.waitConverged(converge.Expect([]rollout.Area{area}, true))

	const perUser = 15
	allocation := area.Coverages[0] // an agreed team allocation
	key := client.ObjectKeyFromObject(&allocation)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for user := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perUser {
				added := fakeSetting(user*1000+i, int32(100+user*10+i))
				if err := e.update(key, func(c *mhstv1alpha1.SchoolCoverage) {
					c.Spec.Settings = append(c.Spec.Settings, added)
				}); err != nil {
					errs <- fmt.Errorf("user %d, setting %d: %w", user, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	var stored mhstv1alpha1.SchoolCoverage
	if err := e.client.Get(e.ctx, key, &stored); err != nil {
		t.Fatal(err)
	}
	urns := map[string]bool{}
	for _, s := range stored.Spec.Settings {
		urns[s.URN] = true
	}
	for user := range 2 {
		for i := range perUser {
			if urn := fakeSetting(user*1000+i, 0).URN; !urns[urn] {
				t.Errorf("user %d's setting %s was lost", user, urn)
			}
		}
	}
	if want := len(allocation.Spec.Settings) + 2*perUser; len(stored.Spec.Settings) != want {
		t.Errorf("the allocation lists %d settings, want %d", len(stored.Spec.Settings), want)
	}

	changed := area
	changed.Coverages = append([]mhstv1alpha1.SchoolCoverage{stored}, area.Coverages[1:]...)
	changed.Expected = rollout.ExpectedCoverage(changed.Coverages, *area.LocalArea.Spec.CoverageTarget)
	e.waitConverged(converge.Expect([]rollout.Area{changed}, true))
	e.waitFor("the allocation's status to count every setting", time.Minute, func() bool {
		var cov mhstv1alpha1.SchoolCoverage
		return e.client.Get(e.ctx, key, &cov) == nil && cov.Status.Settings == int64(len(stored.Spec.Settings)) &&
			cov.Status.ObservedGeneration == cov.Generation
	})
}

// TestBurstOfAllocationChanges makes 500 changes to an area's allocations
// as fast as 16 clients can, and checks the operator absorbs them: it
// converges on the final figures with a bounded number of reconciles and
// writes, not one (or more) per change and per object.
func TestBurstOfAllocationChanges(t *testing.T) {
	const changes = 500
	e := newEnv(t)
	area := areaWithTeams(t, 5)
	op := e.startOperator("operator")
	e.apply([]rollout.Area{area})
	e.waitConverged(converge.Expect([]rollout.Area{area}, true))
	before, err := op.WaitQuiet(e.ctx, 2*time.Second, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	// Each change sets the pupils of one setting; each allocation is
	// changed by one client only, so the final figures are known here.
	final := area
	final.Coverages = make([]mhstv1alpha1.SchoolCoverage, len(area.Coverages))
	for i := range area.Coverages {
		final.Coverages[i] = *area.Coverages[i].DeepCopy()
	}
	plan := planChanges(final.Coverages, changes)
	start := time.Now()
	runChanges(t, e, final.Coverages, plan, 16)
	final.Expected = rollout.ExpectedCoverage(final.Coverages, *area.LocalArea.Spec.CoverageTarget)
	e.waitConverged(converge.Expect([]rollout.Area{final}, true))
	took := time.Since(start)

	// The national report is rebuilt at most once a second, so it may
	// follow the areas' figures by up to a second: its write belongs to
	// the burst, and quiet starts after it.
	after, err := op.WaitQuiet(e.ctx, 2*time.Second, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	reconciles := after.Reconciles("") - before.Reconciles("")
	writes := after.Writes() - before.Writes()
	t.Logf("%d changes over %d allocations absorbed in %s: %d reconciles (%v), %d writes",
		changes, len(area.Coverages), took.Round(time.Millisecond), reconciles, reconcilesByController(before, after), writes)
	// Five controllers react to an allocation (its own, its area's, the
	// teams of its namespace, the area report and the national report),
	// and every change here moves every figure they write: the allocation's
	// status, a team's allocation, the area's coverage, the area report
	// and the national report. A storm is more than a few reconciles per
	// change for each, or writes beyond one per derived object.
	if limit := int64(3 * reactingControllers * changes); reconciles >= limit {
		t.Errorf("%d reconciles for %d changes (limit %d): a reconcile storm", reconciles, changes, limit)
	}
	if limit := int64(reactingControllers * changes); writes > limit {
		t.Errorf("%d writes for %d changes (limit %d): more than one per derived object and change", writes, changes, limit)
	}
	// A storm also shows as work that never stops: nothing more is
	// written in the next 10 s.
	time.Sleep(10 * time.Second)
	if late := e.metrics(op).Writes() - after.Writes(); late != 0 {
		t.Errorf("%d writes in the 10 s after the operator settled", late)
	}
}

// reactingControllers is the number of controllers an allocation change
// wakes.
const reactingControllers = 5

// areaWithTeams is the first generated area with at least n teams.
func areaWithTeams(t *testing.T, n int) rollout.Area {
	t.Helper()
	for _, a := range nationalRollout(t).Areas {
		if len(a.Teams) >= n && len(a.Teams) <= n+2 {
			return a
		}
	}
	t.Fatalf("no area has %d teams", n)
	return rollout.Area{}
}

// change sets the pupils of one setting of one allocation.
type change struct {
	allocation, setting int
	pupils              int32
}

// planChanges spreads n changes over the allocations, round robin, each
// setting a new pupil count no lower than its disadvantaged pupils.
func planChanges(coverages []mhstv1alpha1.SchoolCoverage, n int) []change {
	var plan []change
	for i := range n {
		a := i % len(coverages)
		s := (i / len(coverages)) % len(coverages[a].Spec.Settings)
		floor := int32(0)
		if d := coverages[a].Spec.Settings[s].DisadvantagedPupils; d != nil {
			floor = *d
		}
		plan = append(plan, change{allocation: a, setting: s, pupils: floor + int32(10+i)})
	}
	return plan
}

// runChanges applies plan with workers, each allocation by one worker in
// plan order, and records every change in coverages.
func runChanges(t *testing.T, e *env, coverages []mhstv1alpha1.SchoolCoverage, plan []change, workers int) {
	t.Helper()
	byAllocation := map[int][]change{}
	for _, c := range plan {
		byAllocation[c.allocation] = append(byAllocation[c.allocation], c)
	}
	queue := make(chan int, len(byAllocation))
	for a := range byAllocation {
		queue <- a
	}
	close(queue)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range queue {
				key := client.ObjectKeyFromObject(&coverages[a])
				for _, c := range byAllocation[a] {
					if err := e.update(key, func(cov *mhstv1alpha1.SchoolCoverage) {
						cov.Spec.Settings[c.setting].Pupils = c.pupils
					}); err != nil {
						errs <- fmt.Errorf("change %s: %w", key, err)
						return
					}
					coverages[a].Spec.Settings[c.setting].Pupils = c.pupils
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func reconcilesByController(before, after interface{ Reconciles(string) int64 }) map[string]int64 {
	out := map[string]int64{}
	for _, name := range []string{"localarea", "supportteam", "schoolcoverage", "coveragereport", "nationalreport"} {
		if n := after.Reconciles(name) - before.Reconciles(name); n > 0 {
			out[name] = n
		}
	}
	return out
}

// claim is one SchoolCoverage's listing of one setting, for the test's own
// reckoning of the coverage rules.
type claim struct {
	list    string
	order   int // creation order: lower is older
	team    string
	agreed  bool
	setting mhstv1alpha1.Setting
}

// expectWithClaims works out an area's coverage from the API's rules,
// independently of the operator: per URN, the oldest claim by a list that
// names a team wins, else the oldest list; the setting is covered when the
// winning list is agreed and names an existing team.
func expectWithClaims(lists []mhstv1alpha1.SchoolCoverage, order map[string]int, teams map[string]bool, target int32) mhstv1alpha1.AreaCoverage {
	byURN := map[string][]claim{}
	for _, l := range lists {
		team := ""
		if l.Spec.TeamRef != nil {
			team = l.Spec.TeamRef.Name
		}
		for _, s := range l.Spec.Settings {
			byURN[s.URN] = append(byURN[s.URN], claim{list: l.Name, order: order[l.Name], team: team, agreed: l.Spec.Agreement != nil, setting: s})
		}
	}
	var c mhstv1alpha1.AreaCoverage
	for _, claims := range byURN {
		sort.Slice(claims, func(i, j int) bool {
			if (claims[i].team != "") != (claims[j].team != "") {
				return claims[i].team != ""
			}
			if claims[i].order != claims[j].order {
				return claims[i].order < claims[j].order
			}
			return claims[i].list < claims[j].list
		})
		win := claims[0]
		pupils := int64(win.setting.Pupils)
		disadvantaged := int64(0)
		if win.setting.DisadvantagedPupils != nil {
			disadvantaged = int64(*win.setting.DisadvantagedPupils)
		}
		c.Settings++
		c.Pupils += pupils
		c.DisadvantagedPupils += disadvantaged
		if win.team != "" && win.agreed && teams[win.team] {
			c.SettingsCovered++
			c.PupilsCovered += pupils
			c.DisadvantagedPupilsCovered += disadvantaged
		}
	}
	rollout.Complete(&c, target)
	return c
}

// TestLargestAreaWithConflicts loads Lancashire (628 settings, the largest
// area) and then allocations that fight over its settings: a later agreed
// claim on every setting another team already holds, two new claims on the same
// unallocated settings, a proposal without agreement, and an allocation to
// a team that does not exist. The area must report exactly what the rules
// give, worked out here independently, and name every conflict.
func TestLargestAreaWithConflicts(t *testing.T) {
	e := newEnv(t)
	area := areaByCode(t, "E10000017")
	if area.Expected.Settings != 628 {
		t.Fatalf("Lancashire lists %d settings, want 628", area.Expected.Settings)
	}
	e.startOperator("operator")
	e.apply([]rollout.Area{area})
	e.waitConverged(converge.Expect([]rollout.Area{area}, true))

	extra := conflictingLists(area)
	order := map[string]int{}
	for _, l := range area.Coverages {
		order[l.Name] = 0 // all older than the extra lists
	}
	for i := range extra {
		// One at a time, a second apart: creationTimestamp has a
		// resolution of one second, and the test's reckoning relies on
		// the creation order.
		time.Sleep(1100 * time.Millisecond)
		if err := converge.Apply(e.ctx, e.client, []client.Object{&extra[i]}, 1); err != nil {
			t.Fatal(err)
		}
		order[extra[i].Name] = i + 1
	}
	teams := map[string]bool{}
	for _, team := range area.Teams {
		teams[team.Name] = true
	}
	all := append(append([]mhstv1alpha1.SchoolCoverage(nil), area.Coverages...), extra...)
	want := expectWithClaims(all, order, teams, *area.LocalArea.Spec.CoverageTarget)
	if reflect.DeepEqual(want, area.Expected) {
		t.Fatal("the conflicting lists change nothing: the test would prove nothing")
	}
	e.waitConverged(converge.Expectations{area.LocalArea.Name: {Coverage: want, Teams: int32(len(area.Teams)), TeamsReady: true}})
	t.Logf("Lancashire with conflicts: %+v (before: %+v)", want, area.Expected)

	e.checkConflicts(area.Namespace(), "late-claim", len(area.Coverages[0].Spec.Settings), area.Coverages[0].Name)
	e.checkConflicts(area.Namespace(), "rival-claim-2", 15, "rival-claim-1")
	e.checkConflicts(area.Namespace(), "rival-claim-1", 0, "")
}

// conflictingLists are the allocations TestLargestAreaWithConflicts adds,
// in the order they are created.
func conflictingLists(area rollout.Area) []mhstv1alpha1.SchoolCoverage {
	held := area.Coverages[0] // team-01's agreed allocation
	var unallocated []mhstv1alpha1.Setting
	for _, l := range area.Coverages {
		if l.Spec.TeamRef == nil {
			unallocated = append(unallocated, l.Spec.Settings...)
		}
	}
	ns := area.Namespace()
	agreed := &mhstv1alpha1.Agreement{DecisionRef: "board-minutes-late", AgreedAt: "2024-09-01"}
	list := func(name, team string, agreement *mhstv1alpha1.Agreement, settings []mhstv1alpha1.Setting, pupilShift int32) mhstv1alpha1.SchoolCoverage {
		l := mhstv1alpha1.SchoolCoverage{Spec: mhstv1alpha1.SchoolCoverageSpec{Agreement: agreement}}
		l.APIVersion, l.Kind = mhstv1alpha1.GroupVersion.String(), "SchoolCoverage"
		l.Name, l.Namespace = name, ns
		if team != "" {
			l.Spec.TeamRef = &mhstv1alpha1.TeamReference{Name: team}
		}
		for _, s := range settings {
			s.Pupils += pupilShift // other figures, to see whose count
			l.Spec.Settings = append(l.Spec.Settings, s)
		}
		return l
	}
	// Every setting team-01 holds, and ten unallocated ones: the held
	// ones it loses, the others it wins.
	late := append(append([]mhstv1alpha1.Setting(nil), held.Spec.Settings...), unallocated[:10]...)
	return []mhstv1alpha1.SchoolCoverage{
		list("late-claim", "team-02", agreed, late, 7),
		list("rival-claim-1", "team-03", agreed, unallocated[20:35], 3),
		list("rival-claim-2", "team-04", agreed, unallocated[20:35], 5),
		list("proposal", "team-05", nil, unallocated[40:60], 11),
		list("missing-team", "team-99", agreed, unallocated[60:70], 13),
	}
}

// checkConflicts waits until an allocation reports n conflicts, each
// claimed by winner.
func (e *env) checkConflicts(ns, name string, n int, winner string) {
	e.t.Helper()
	var cov mhstv1alpha1.SchoolCoverage
	e.waitFor(fmt.Sprintf("%s to report %d conflicts", name, n), time.Minute, func() bool {
		if err := e.client.Get(e.ctx, client.ObjectKey{Namespace: ns, Name: name}, &cov); err != nil {
			return false
		}
		return len(cov.Status.Conflicts) == n && cov.Status.ObservedGeneration == cov.Generation
	})
	for _, c := range cov.Status.Conflicts {
		if c.ClaimedBy != winner {
			e.t.Errorf("%s: setting %s claimed by %s, want %s", name, c.URN, c.ClaimedBy, winner)
		}
	}
}
