// Package plan measures an area's coverage against its current target and
// says what it would take to reach it: allocate more settings to the teams
// it has, or commission more teams. It also knows which teams are still in
// training. Everything here depends on the date; the counting itself is
// package coverage's, and plan only reads its Result.
//
// The rules (docs: API.md, "Additions of 2026-12"):
//
//   - Dates are calendar dates in UTC, YYYY-MM-DD.
//   - The current target is the first of spec.targets whose date is today or
//     later; after the last one, or with none, spec.coverageTarget. A target
//     applies through the whole of its date: it passes at 00:00 UTC of the
//     day after, and that is the moment the next one applies.
//   - pupilsShort = max(0, ⌈percent × pupils ÷ 100⌉ − pupilsCovered).
//   - spareCapacityPupils = the sum over the teams that are not suspended of
//     max(0, maxPupils − pupils allocated); a team in training counts.
//   - additionalTeamsNeeded = ⌈max(0, pupilsShort − spareCapacityPupils) ÷
//     8500⌉.
//   - OnTrack: True TargetMet when pupilsShort is 0, True CapacityAvailable
//     when the spare capacity covers the shortfall, False TeamsShort
//     otherwise.
//   - A team is in training before spec.operationalFrom, and operational
//     from 00:00 UTC of that date.
//   - pupilsCoveredByTeamsInTraining = the covered pupils of the teams in
//     training. It is the one figure of status.coverage that depends on the
//     date, so the area's coverage as shown anywhere is Plan.Coverage:
//     coverage.Compute's counts with this figure filled in.
//
// All arithmetic is in integers. The functions are pure: the same inputs and
// the same moment give the same answer.
package plan

import (
	"fmt"
	"math"
	"math/big"
	"time"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
)

// TeamPupils is the pupils one more team is counted for when working out
// how many teams an area needs: a typical team's, the default maxPupils.
const TeamPupils = 8500

// DateLayout is the layout of the API's dates (YYYY-MM-DD).
const DateLayout = time.DateOnly

// Plan is the area's plan at one moment, and its coverage at that moment.
type Plan struct {
	// Coverage is the content of LocalArea status.coverage at that moment:
	// the counts of coverage.Compute (its Result.Area) with the one figure
	// that depends on the date, pupilsCoveredByTeamsInTraining, worked out.
	// Everything that shows an area's coverage (its status, its report, a
	// snapshot of it, and through the status the national report) shows
	// this, never Result.Area on its own.
	Coverage mhstv1alpha1.AreaCoverage
	// Status is the content of LocalArea status.plan.
	Status mhstv1alpha1.AreaPlan
	// OnTrack is the OnTrack condition.
	OnTrack Condition
	// NextChange is the next moment the calendar alone changes the plan or
	// the training figure: the current dated target passes, or a team
	// leaves training. Zero when nothing is due.
	NextChange time.Time
}

// Condition is a condition's status, reason and message.
type Condition struct {
	Status  bool
	Reason  string
	Message string
}

// ForArea works out the area's coverage and plan at now from the result of
// coverage.Compute over the area's SchoolCoverages and teams. teams are
// those Compute was given: which of them are in training is read from
// their spec.operationalFrom.
func ForArea(area *mhstv1alpha1.LocalArea, res coverage.Result, teams []mhstv1alpha1.SupportTeam, now time.Time) Plan {
	target, passes := CurrentTarget(area.Spec.Targets, coverage.TargetOf(area), now)
	// A copy: the result may be shared, and its equity index is a pointer.
	c := *res.Area.DeepCopy()
	inTraining, trainingEnds := PupilsCoveredByTeamsInTraining(res, teams, now)
	c.PupilsCoveredByTeamsInTraining = inTraining
	short := PupilsShort(target.Percent, c.Pupils, c.PupilsCovered)
	spare := SpareCapacityPupils(res.Teams)
	more := AdditionalTeamsNeeded(short, spare)
	return Plan{
		Coverage: c,
		Status: mhstv1alpha1.AreaPlan{
			Target:                target,
			PupilsShort:           short,
			SpareCapacityPupils:   spare,
			AdditionalTeamsNeeded: more,
		},
		OnTrack:    onTrack(target, c, short, spare, more),
		NextChange: earliest(passes, trainingEnds),
	}
}

// CurrentTarget is the target in force at now, and the moment it passes
// (zero when it is coverageTarget, which never passes). Targets whose date
// cannot be read are skipped; the API server refuses them.
func CurrentTarget(targets []mhstv1alpha1.DatedTarget, coverageTarget int32, now time.Time) (mhstv1alpha1.PlanTarget, time.Time) {
	var current *mhstv1alpha1.DatedTarget
	var passes time.Time
	for i := range targets {
		end, ok := dayAfter(targets[i].By)
		if !ok || !now.Before(end) {
			continue
		}
		// The earliest date still to come is the first one in the date
		// order the API requires of the list.
		if current == nil || end.Before(passes) {
			current, passes = &targets[i], end
		}
	}
	if current == nil {
		return mhstv1alpha1.PlanTarget{Percent: coverageTarget}, time.Time{}
	}
	return mhstv1alpha1.PlanTarget{By: current.By, Percent: current.Percent}, passes
}

// PupilsShort is max(0, ⌈percent × pupils ÷ 100⌉ − pupilsCovered).
func PupilsShort(percent int32, pupils, pupilsCovered int64) int64 {
	if percent <= 0 || pupils <= 0 {
		return 0
	}
	needed := ceilDiv(new(big.Int).Mul(big.NewInt(int64(percent)), big.NewInt(pupils)), big.NewInt(100))
	needed.Sub(needed, big.NewInt(max(pupilsCovered, 0)))
	if needed.Sign() <= 0 {
		return 0
	}
	// needed ≤ pupils, which is an int64.
	return needed.Int64()
}

// SpareCapacityPupils is the sum, over the teams that are not suspended, of
// max(0, maxPupils − pupils allocated). A suspended team's room is not
// counted: it serves nobody until it resumes.
func SpareCapacityPupils(teams map[string]coverage.Team) int64 {
	var spare int64
	for _, t := range teams {
		if t.Suspended {
			continue
		}
		spare = saturatingAdd(spare, max(t.MaxPupils-t.Pupils, 0))
	}
	return spare
}

// AdditionalTeamsNeeded is ⌈max(0, pupilsShort − spareCapacityPupils) ÷
// TeamPupils⌉, capped at math.MaxInt32.
func AdditionalTeamsNeeded(pupilsShort, spareCapacityPupils int64) int32 {
	gap := pupilsShort - max(spareCapacityPupils, 0)
	if gap <= 0 {
		return 0
	}
	teams := gap / TeamPupils
	if gap%TeamPupils != 0 {
		teams++
	}
	return int32(min(teams, math.MaxInt32))
}

// InTraining reports whether the team is in training at now, and when its
// training ends (its operationalFrom at 00:00 UTC; zero when it is not in
// training). A date that cannot be read counts as no date.
func InTraining(team *mhstv1alpha1.SupportTeam, now time.Time) (bool, time.Time) {
	from, ok := midnight(team.Spec.OperationalFrom)
	if !ok || !now.Before(from) {
		return false, time.Time{}
	}
	return true, from
}

// PupilsCoveredByTeamsInTraining is the covered pupils whose team is in
// training at now, and the first moment one of those teams leaves training
// (zero when none is in training).
func PupilsCoveredByTeamsInTraining(res coverage.Result, teams []mhstv1alpha1.SupportTeam, now time.Time) (int64, time.Time) {
	var pupils int64
	var next time.Time
	seen := make(map[string]bool, len(teams))
	for i := range teams {
		t := &teams[i]
		if seen[t.Name] {
			continue // names are unique in a namespace; Compute keeps the first
		}
		seen[t.Name] = true
		training, ends := InTraining(t, now)
		if !training {
			continue
		}
		pupils += res.Teams[t.Name].PupilsCovered
		next = earliest(next, ends)
	}
	return pupils, next
}

// onTrack is the OnTrack condition.
func onTrack(target mhstv1alpha1.PlanTarget, c mhstv1alpha1.AreaCoverage, short, spare int64, more int32) Condition {
	goal := describeTarget(target)
	switch {
	case short == 0:
		return Condition{Status: true, Reason: mhstv1alpha1.ReasonTargetMet, Message: fmt.Sprintf(
			"%d of %d pupils (%s%%) are covered, which meets %s.", c.PupilsCovered, c.Pupils, c.PupilsCoveredPercent, goal)}
	case spare >= short:
		return Condition{Status: true, Reason: mhstv1alpha1.ReasonCapacityAvailable, Message: fmt.Sprintf(
			"%d more pupils must be covered to meet %s, and the area's teams have room for %d more: "+
				"allocate more settings to them (SchoolCoverages agreed by the governance board).", short, goal, spare)}
	default:
		return Condition{Status: false, Reason: mhstv1alpha1.ReasonTeamsShort, Message: fmt.Sprintf(
			"%d more pupils must be covered to meet %s, and the area's teams have room for %d: "+
				"%s needed %s (at %d pupils a team).", short, goal, spare, teamsWord(more), byWhen(target), TeamPupils)}
	}
}

func describeTarget(target mhstv1alpha1.PlanTarget) string {
	if target.By == "" {
		return fmt.Sprintf("the coverage target of %d%% of pupils", target.Percent)
	}
	return fmt.Sprintf("the target of %d%% of pupils by %s", target.Percent, target.By)
}

func byWhen(target mhstv1alpha1.PlanTarget) string {
	if target.By == "" {
		return "to meet spec.coverageTarget, which has no date"
	}
	return "by " + target.By
}

func teamsWord(n int32) string {
	if n == 1 {
		return "1 more team is"
	}
	return fmt.Sprintf("%d more teams are", n)
}

// midnight is 00:00 UTC of a YYYY-MM-DD date.
func midnight(date string) (time.Time, bool) {
	if date == "" {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(DateLayout, date, time.UTC)
	return t, err == nil
}

// dayAfter is 00:00 UTC of the day after a YYYY-MM-DD date: the moment a
// target of that date passes.
func dayAfter(date string) (time.Time, bool) {
	t, ok := midnight(date)
	if !ok {
		return time.Time{}, false
	}
	return t.AddDate(0, 0, 1), true
}

// earliest is the earlier of two moments, a zero moment meaning none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	default:
		return b
	}
}

// ceilDiv is ⌈a ÷ b⌉ for a ≥ 0 and b > 0.
func ceilDiv(a, b *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(a, b, new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

func saturatingAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
