package plan

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
)

// FuzzForArea builds random areas, targets, teams and moments, and checks
// every figure of the plan against a brute-force recomputation written
// another way: dates compared as YYYY-MM-DD strings rather than as times,
// shortfalls and teams found by counting up rather than by division, spare
// capacity summed from the team objects rather than from Compute's figures.
// Plain `go test` runs only the seeds; explore with
// `go test ./internal/plan -run x -fuzz FuzzForArea -fuzztime 30s`.
func FuzzForArea(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 2, 40, 5, 60, 9, 100, 2, 1, 0, 3, 7, 2, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte("a target passes at midnight UTC the day after its date"))
	f.Add([]byte{1, 4, 10, 20, 30, 40, 50, 60, 70, 80, 3, 3, 3, 3, 3, 3, 3, 3, 200, 200, 200, 200})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzBytes{data: data}
		area, coverages, teams, now := randomScenario(in)
		res := coverage.Compute(coverages, teams, coverage.TargetOf(area))
		got := ForArea(area, res, teams, now)
		want := bruteForce(area, res, teams, now)

		if got.Status.Target != want.target {
			t.Fatalf("target %+v at %v, want %+v (targets %+v)", got.Status.Target, now, want.target, area.Spec.Targets)
		}
		if got.Status.PupilsShort != want.short || got.Status.SpareCapacityPupils != want.spare ||
			got.Status.AdditionalTeamsNeeded != want.more {
			t.Fatalf("plan %+v, want short %d spare %d more %d", got.Status, want.short, want.spare, want.more)
		}
		if got.Coverage.PupilsCoveredByTeamsInTraining != want.training {
			t.Fatalf("pupils covered by teams in training %d, want %d", got.Coverage.PupilsCoveredByTeamsInTraining, want.training)
		}
		if got.OnTrack.Status != want.onTrack || got.OnTrack.Reason != want.reason {
			t.Fatalf("OnTrack %v %s, want %v %s", got.OnTrack.Status, got.OnTrack.Reason, want.onTrack, want.reason)
		}
		checkNextChange(t, area, teams, now, got.NextChange)
	})
}

type fuzzBytes struct {
	data []byte
	next int
}

func (b *fuzzBytes) byte() byte {
	if b.next >= len(b.data) {
		return 0
	}
	v := b.data[b.next]
	b.next++
	return v
}

// day is one of a few days around the 2025 reporting date, so that targets,
// training dates and the moment often fall on the same or adjacent days.
func day(b byte) string {
	return time.Date(2025, 3, 28+int(b%8), 0, 0, 0, 0, time.UTC).Format(DateLayout)
}

func randomScenario(in *fuzzBytes) (*mhstv1alpha1.LocalArea, []mhstv1alpha1.SchoolCoverage, []mhstv1alpha1.SupportTeam, time.Time) {
	coverageTarget := int32(in.byte() % 101)
	area := &mhstv1alpha1.LocalArea{Spec: mhstv1alpha1.LocalAreaSpec{CoverageTarget: &coverageTarget}}
	// Distinct dates in order, as the API requires.
	dates := map[string]int32{}
	for range int(in.byte() % 5) {
		dates[day(in.byte())] = int32(in.byte() % 101)
	}
	for _, by := range slices.Sorted(maps.Keys(dates)) {
		area.Spec.Targets = append(area.Spec.Targets, mhstv1alpha1.DatedTarget{By: by, Percent: dates[by]})
	}
	teams := make([]mhstv1alpha1.SupportTeam, int(in.byte()%4))
	for i := range teams {
		teams[i] = team(fmt.Sprintf("team-%d", i))
		teams[i].Spec.Suspend = in.byte()%4 == 0
		teams[i].Spec.Capacity.MaxPupils = int32(in.byte()) * 40
		if in.byte()%2 == 0 {
			teams[i].Spec.OperationalFrom = day(in.byte())
		}
	}
	coverages := make([]mhstv1alpha1.SchoolCoverage, int(in.byte()%5))
	for i := range coverages {
		teamName := ""
		if choice := in.byte() % 5; choice < 4 {
			teamName = fmt.Sprintf("team-%d", choice) // team-3 may not exist
		}
		coverages[i] = allocation(fmt.Sprintf("cov-%d", i), int(in.byte()%3), teamName, in.byte()%3 != 0)
		for range 1 + int(in.byte()%4) {
			pupils := int32(in.byte()) * int32(in.byte())
			coverages[i].Spec.Settings = append(coverages[i].Spec.Settings,
				school(fmt.Sprintf("1000%02d", in.byte()%8), "School", pupils, pupils/4))
		}
	}
	// A moment in those days, to the second, sometimes exactly at midnight.
	now := time.Date(2025, 3, 27+int(in.byte()%10), 0, 0, 0, 0, time.UTC)
	if in.byte()%3 != 0 {
		now = now.Add(time.Duration(in.byte())*337*time.Second + time.Duration(in.byte())*time.Millisecond)
	}
	return area, coverages, teams, now
}

type expected struct {
	target   mhstv1alpha1.PlanTarget
	short    int64
	spare    int64
	more     int32
	training int64
	onTrack  bool
	reason   string
}

func bruteForce(area *mhstv1alpha1.LocalArea, res coverage.Result, teams []mhstv1alpha1.SupportTeam, now time.Time) expected {
	today := now.UTC().Format("2006-01-02")
	var e expected
	e.target = mhstv1alpha1.PlanTarget{Percent: *area.Spec.CoverageTarget}
	for _, tg := range area.Spec.Targets {
		if tg.By >= today { // the first in the list's date order
			e.target = mhstv1alpha1.PlanTarget(tg)
			break
		}
	}
	// The fewest more pupils n with (covered + n) × 100 ≥ percent × pupils.
	pupils, covered := res.Area.Pupils, res.Area.PupilsCovered
	for (covered+e.short)*100 < int64(e.target.Percent)*pupils {
		e.short++
	}
	// Spare capacity from the objects: the agreed pupils each team holds,
	// summed from the settings Compute credited to its allocations.
	held := map[string]int64{}
	for _, s := range res.Settings {
		if res.Allocations[s.Allocation].Agreed && s.Team != "" {
			held[s.Team] += s.Pupils
		}
	}
	for _, tm := range teams {
		if tm.Spec.Suspend {
			continue
		}
		maxPupils := int64(tm.Spec.Capacity.MaxPupils)
		if maxPupils == 0 {
			maxPupils = 8500
		}
		if room := maxPupils - held[tm.Name]; room > 0 {
			e.spare += room
		}
	}
	// The fewest more teams k with spare + 8500 × k ≥ short.
	for e.spare+8500*int64(e.more) < e.short {
		e.more++
	}
	// Teams in training: operationalFrom after today, as strings.
	inTraining := map[string]bool{}
	for _, tm := range teams {
		inTraining[tm.Name] = tm.Spec.OperationalFrom != "" && tm.Spec.OperationalFrom > today
	}
	for _, s := range res.Settings {
		if s.Covered && inTraining[s.Team] {
			e.training += s.Pupils
		}
	}
	switch {
	case e.short == 0:
		e.onTrack, e.reason = true, mhstv1alpha1.ReasonTargetMet
	case e.spare >= e.short:
		e.onTrack, e.reason = true, mhstv1alpha1.ReasonCapacityAvailable
	default:
		e.onTrack, e.reason = false, mhstv1alpha1.ReasonTeamsShort
	}
	return e
}

// checkNextChange: nothing the calendar decides (the current target, which
// teams are in training) changes between now and just before next, and
// something does at next. Zero means nothing ever changes again.
func checkNextChange(t *testing.T, area *mhstv1alpha1.LocalArea, teams []mhstv1alpha1.SupportTeam, now, next time.Time) {
	t.Helper()
	state := func(at time.Time) string {
		today := at.UTC().Format("2006-01-02")
		s := fmt.Sprint(*area.Spec.CoverageTarget)
		for _, tg := range area.Spec.Targets {
			if tg.By >= today {
				s = tg.By
				break
			}
		}
		for _, tm := range teams {
			s += fmt.Sprint(tm.Spec.OperationalFrom != "" && tm.Spec.OperationalFrom > today)
		}
		return s
	}
	if next.IsZero() {
		// Far in the future everything has passed; nothing may differ.
		if state(now) != state(now.AddDate(10, 0, 0)) {
			t.Fatalf("no next change reported at %v, but the calendar still changes the plan", now)
		}
		return
	}
	if !next.After(now) {
		t.Fatalf("next change %v is not after now %v", next, now)
	}
	if next.UTC() != next.UTC().Truncate(24*time.Hour) {
		t.Fatalf("next change %v is not at 00:00 UTC", next)
	}
	if state(now) != state(next.Add(-time.Nanosecond)) {
		t.Fatalf("the plan changes before the reported next change %v", next)
	}
	if state(now) == state(next) {
		t.Fatalf("nothing changes at the reported next change %v", next)
	}
}
