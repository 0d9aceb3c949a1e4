package plan

import (
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
)

var epoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func allocation(name string, ageMinutes int, team string, agreed bool, settings ...mhstv1alpha1.Setting) mhstv1alpha1.SchoolCoverage {
	c := mhstv1alpha1.SchoolCoverage{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "mhst-rutland",
			CreationTimestamp: metav1.NewTime(epoch.Add(time.Duration(ageMinutes) * time.Minute))},
		Spec: mhstv1alpha1.SchoolCoverageSpec{Settings: settings},
	}
	if team != "" {
		c.Spec.TeamRef = &mhstv1alpha1.TeamReference{Name: team}
	}
	if agreed {
		c.Spec.Agreement = &mhstv1alpha1.Agreement{DecisionRef: "RGB-2025-03 item 4"}
	}
	return c
}

func school(urn, name string, pupils, disadvantaged int32) mhstv1alpha1.Setting {
	return mhstv1alpha1.Setting{URN: urn, Name: name, Phase: mhstv1alpha1.PhasePrimary, Pupils: pupils, DisadvantagedPupils: &disadvantaged}
}

func team(name string) mhstv1alpha1.SupportTeam {
	return mhstv1alpha1.SupportTeam{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "mhst-rutland"}}
}

// rutland is the worked example of docs/coverage.md: 3,406 pupils, 1,529 of
// them covered by team-oakham (1,529 pupils agreed, capacity 8,500); the
// allocation of team-uppingham is Proposed, so nothing is allocated to it.
// Targets: 40 % by 2025-03-31, 60 % by 2026-03-31, then coverageTarget 100.
func rutland() (*mhstv1alpha1.LocalArea, []mhstv1alpha1.SchoolCoverage, []mhstv1alpha1.SupportTeam) {
	area := &mhstv1alpha1.LocalArea{
		ObjectMeta: metav1.ObjectMeta{Name: "rutland"},
		Spec: mhstv1alpha1.LocalAreaSpec{Targets: []mhstv1alpha1.DatedTarget{
			{By: "2025-03-31", Percent: 40},
			{By: "2026-03-31", Percent: 60},
		}},
	}
	coverages := []mhstv1alpha1.SchoolCoverage{
		allocation("oakham", 0, "team-oakham", true,
			school("120181", "Oakham CofE Primary School", 253, 46),
			school("136530", "Catmose College", 1069, 147),
			school("138113", "Catmose Primary", 207, 17)),
		allocation("uppingham", 1, "team-uppingham", false,
			school("136629", "Uppingham Community College", 910, 118),
			school("136530", "Catmose College", 1069, 147)),
		allocation("not-yet", 2, "", false,
			school("137340", "Casterton College Rutland", 967, 146),
			school("138113", "Catmose Primary", 207, 17)),
	}
	return area, coverages, []mhstv1alpha1.SupportTeam{team("team-oakham"), team("team-uppingham")}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestForAreaRutland(t *testing.T) {
	tests := []struct {
		name     string
		change   func(*mhstv1alpha1.LocalArea, []mhstv1alpha1.SupportTeam)
		now      string
		want     mhstv1alpha1.AreaPlan
		training int64
		onTrack  Condition
		next     string // "" for none
	}{
		{
			// ⌈40 × 3406 ÷ 100⌉ = ⌈1362.4⌉ = 1363 ≤ 1529.
			name: "on the date of the first target it still applies, and is met",
			now:  "2025-03-31T12:00:00Z",
			want: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{By: "2025-03-31", Percent: 40},
				SpareCapacityPupils: (8500 - 1529) + 8500},
			onTrack: Condition{Status: true, Reason: mhstv1alpha1.ReasonTargetMet},
			next:    "2025-04-01T00:00:00Z",
		},
		{
			name: "the last instant of the date",
			now:  "2025-03-31T23:59:59.999999999Z",
			want: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{By: "2025-03-31", Percent: 40},
				SpareCapacityPupils: 15471},
			onTrack: Condition{Status: true, Reason: mhstv1alpha1.ReasonTargetMet},
			next:    "2025-04-01T00:00:00Z",
		},
		{
			// ⌈60 × 3406 ÷ 100⌉ = ⌈2043.6⌉ = 2044; 2044 − 1529 = 515 ≤ 15471.
			name: "at 00:00 UTC the day after, the next target applies",
			now:  "2025-04-01T00:00:00Z",
			want: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{By: "2026-03-31", Percent: 60},
				PupilsShort: 515, SpareCapacityPupils: 15471},
			onTrack: Condition{Status: true, Reason: mhstv1alpha1.ReasonCapacityAvailable},
			next:    "2026-04-01T00:00:00Z",
		},
		{
			name: "the date is the UTC date: 00:30 BST on 1 April is 23:30 UTC on 31 March",
			now:  "2025-04-01T00:30:00+01:00",
			want: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{By: "2025-03-31", Percent: 40},
				SpareCapacityPupils: 15471},
			onTrack: Condition{Status: true, Reason: mhstv1alpha1.ReasonTargetMet},
			next:    "2025-04-01T00:00:00Z",
		},
		{
			// 3406 − 1529 = 1877.
			name: "after the last target, coverageTarget (100) applies and never passes",
			now:  "2026-04-01T00:00:00Z",
			want: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{Percent: 100},
				PupilsShort: 1877, SpareCapacityPupils: 15471},
			onTrack: Condition{Status: true, Reason: mhstv1alpha1.ReasonCapacityAvailable},
		},
		{
			// Spare: max(0, 2000 − 1529) = 471 (the suspended team's 8500
			// does not count); ⌈(1877 − 471) ÷ 8500⌉ = ⌈0.17⌉ = 1.
			name: "a suspended team's spare capacity is not counted: teams short",
			change: func(a *mhstv1alpha1.LocalArea, teams []mhstv1alpha1.SupportTeam) {
				teams[0].Spec.Capacity.MaxPupils = 2000
				teams[1].Spec.Suspend = true
			},
			now: "2026-04-01T00:00:00Z",
			want: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{Percent: 100},
				PupilsShort: 1877, SpareCapacityPupils: 471, AdditionalTeamsNeeded: 1},
			onTrack: Condition{Status: false, Reason: mhstv1alpha1.ReasonTeamsShort},
		},
		{
			// An over-allocated team has no room, and does not take room
			// away from the others.
			name: "an over-allocated team adds no spare capacity",
			change: func(a *mhstv1alpha1.LocalArea, teams []mhstv1alpha1.SupportTeam) {
				teams[0].Spec.Capacity.MaxPupils = 1000
			},
			now: "2026-04-01T00:00:00Z",
			want: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{Percent: 100},
				PupilsShort: 1877, SpareCapacityPupils: 8500},
			onTrack: Condition{Status: true, Reason: mhstv1alpha1.ReasonCapacityAvailable},
		},
		{
			name: "a team in training covers, and its end is a change the area waits for",
			change: func(a *mhstv1alpha1.LocalArea, teams []mhstv1alpha1.SupportTeam) {
				teams[0].Spec.OperationalFrom = "2025-09-01"
			},
			now: "2025-04-01T00:00:00Z",
			want: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{By: "2026-03-31", Percent: 60},
				PupilsShort: 515, SpareCapacityPupils: 15471},
			training: 1529,
			onTrack:  Condition{Status: true, Reason: mhstv1alpha1.ReasonCapacityAvailable},
			next:     "2025-09-01T00:00:00Z",
		},
		{
			name: "from 00:00 UTC of operationalFrom the team is operational",
			change: func(a *mhstv1alpha1.LocalArea, teams []mhstv1alpha1.SupportTeam) {
				teams[0].Spec.OperationalFrom = "2025-09-01"
			},
			now: "2025-09-01T00:00:00Z",
			want: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{By: "2026-03-31", Percent: 60},
				PupilsShort: 515, SpareCapacityPupils: 15471},
			onTrack: Condition{Status: true, Reason: mhstv1alpha1.ReasonCapacityAvailable},
			next:    "2026-04-01T00:00:00Z",
		},
		{
			// 50 × 3406 ÷ 100 = 1703 exactly; no rounding up.
			name: "no dated targets: coverageTarget, exact division",
			change: func(a *mhstv1alpha1.LocalArea, _ []mhstv1alpha1.SupportTeam) {
				a.Spec.Targets = nil
				fifty := int32(50)
				a.Spec.CoverageTarget = &fifty
			},
			now: "2025-04-01T00:00:00Z",
			want: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{Percent: 50},
				PupilsShort: 1703 - 1529, SpareCapacityPupils: 15471},
			onTrack: Condition{Status: true, Reason: mhstv1alpha1.ReasonCapacityAvailable},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			area, coverages, teams := rutland()
			if tt.change != nil {
				tt.change(area, teams)
			}
			res := coverage.Compute(coverages, teams, coverage.TargetOf(area))
			got := ForArea(area, res, teams, at(tt.now))
			if got.Status != tt.want {
				t.Errorf("plan\n got %+v\nwant %+v", got.Status, tt.want)
			}
			if got.Coverage.PupilsCoveredByTeamsInTraining != tt.training {
				t.Errorf("pupils covered by teams in training = %d, want %d", got.Coverage.PupilsCoveredByTeamsInTraining, tt.training)
			}
			// Every other figure of the coverage is Compute's, as it is.
			withoutTraining := *got.Coverage.DeepCopy()
			withoutTraining.PupilsCoveredByTeamsInTraining = 0
			if !reflect.DeepEqual(withoutTraining, res.Area) {
				t.Errorf("coverage %+v; want Compute's %+v with only the training figure added", got.Coverage, res.Area)
			}
			if got.OnTrack.Status != tt.onTrack.Status || got.OnTrack.Reason != tt.onTrack.Reason {
				t.Errorf("OnTrack = %v %s (%s), want %v %s", got.OnTrack.Status, got.OnTrack.Reason, got.OnTrack.Message, tt.onTrack.Status, tt.onTrack.Reason)
			}
			var next time.Time
			if tt.next != "" {
				next = at(tt.next)
			}
			if !got.NextChange.Equal(next) {
				t.Errorf("next change at %v, want %v", got.NextChange, next)
			}
		})
	}
}

func TestOnTrackMessages(t *testing.T) {
	c := mhstv1alpha1.AreaCoverage{Pupils: 20000, PupilsCovered: 5000, PupilsCoveredPercent: "25.0"}
	dated := mhstv1alpha1.PlanTarget{By: "2026-03-31", Percent: 100}
	tests := []struct {
		name   string
		target mhstv1alpha1.PlanTarget
		short  int64
		spare  int64
		more   int32
		want   []string
	}{
		{"met", dated, 0, 100, 0, []string{"5000 of 20000 pupils (25.0%)", "meets the target of 100% of pupils by 2026-03-31"}},
		{"capacity", dated, 15000, 16000, 0, []string{"15000 more pupils", "room for 16000 more", "allocate more settings"}},
		{"one team", dated, 15000, 7000, 1, []string{"room for 7000:", "1 more team is needed by 2026-03-31", "8500 pupils a team"}},
		{"teams, no date", mhstv1alpha1.PlanTarget{Percent: 100}, 15000, 0, 2, []string{
			"the coverage target of 100% of pupils", "2 more teams are needed to meet spec.coverageTarget, which has no date"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := onTrack(tt.target, c, tt.short, tt.spare, tt.more).Message
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
		})
	}
}

func TestPupilsShort(t *testing.T) {
	tests := []struct {
		percent               int32
		pupils, covered, want int64
	}{
		{40, 3406, 1529, 0},
		{60, 3406, 1529, 515},
		{100, 3406, 1529, 1877},
		{50, 3406, 0, 1703},
		{1, 1, 0, 1}, // ⌈0.01⌉ = 1: any share of a pupil is a pupil
		{0, 3406, 0, 0},
		{100, 0, 0, 0},
		{100, 1 << 62, 0, 1 << 62}, // no overflow in percent × pupils
	}
	for _, tt := range tests {
		if got := PupilsShort(tt.percent, tt.pupils, tt.covered); got != tt.want {
			t.Errorf("PupilsShort(%d, %d, %d) = %d, want %d", tt.percent, tt.pupils, tt.covered, got, tt.want)
		}
	}
}

func TestAdditionalTeamsNeeded(t *testing.T) {
	tests := []struct {
		short, spare int64
		want         int32
	}{
		{0, 0, 0},
		{100, 200, 0},
		{8500, 0, 1},
		{8501, 0, 2},
		{8501, 1, 1},
		{17000, 0, 2},
		{1 << 62, 0, 1<<31 - 1},
	}
	for _, tt := range tests {
		if got := AdditionalTeamsNeeded(tt.short, tt.spare); got != tt.want {
			t.Errorf("AdditionalTeamsNeeded(%d, %d) = %d, want %d", tt.short, tt.spare, got, tt.want)
		}
	}
}

func TestCurrentTarget(t *testing.T) {
	targets := []mhstv1alpha1.DatedTarget{{By: "2025-03-31", Percent: 50}, {By: "2026-03-31", Percent: 100}}
	tests := []struct {
		name    string
		targets []mhstv1alpha1.DatedTarget
		now     string
		want    mhstv1alpha1.PlanTarget
		passes  string
	}{
		{"before the first", targets, "2024-01-01T00:00:00Z", mhstv1alpha1.PlanTarget{By: "2025-03-31", Percent: 50}, "2025-04-01T00:00:00Z"},
		{"on the first", targets, "2025-03-31T00:00:00Z", mhstv1alpha1.PlanTarget{By: "2025-03-31", Percent: 50}, "2025-04-01T00:00:00Z"},
		{"between", targets, "2025-04-01T00:00:00Z", mhstv1alpha1.PlanTarget{By: "2026-03-31", Percent: 100}, "2026-04-01T00:00:00Z"},
		{"after the last", targets, "2026-04-01T00:00:00Z", mhstv1alpha1.PlanTarget{Percent: 80}, ""},
		{"none", nil, "2025-01-01T00:00:00Z", mhstv1alpha1.PlanTarget{Percent: 80}, ""},
		{"built out of order in code: still the earliest to come",
			[]mhstv1alpha1.DatedTarget{targets[1], targets[0]}, "2024-01-01T00:00:00Z",
			mhstv1alpha1.PlanTarget{By: "2025-03-31", Percent: 50}, "2025-04-01T00:00:00Z"},
		{"a date that cannot be read is skipped",
			[]mhstv1alpha1.DatedTarget{{By: "31/03/2025", Percent: 10}, targets[1]}, "2024-01-01T00:00:00Z",
			mhstv1alpha1.PlanTarget{By: "2026-03-31", Percent: 100}, "2026-04-01T00:00:00Z"},
		{"a leap day", []mhstv1alpha1.DatedTarget{{By: "2028-02-29", Percent: 70}}, "2028-02-29T23:00:00Z",
			mhstv1alpha1.PlanTarget{By: "2028-02-29", Percent: 70}, "2028-03-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, passes := CurrentTarget(tt.targets, 80, at(tt.now))
			if got != tt.want {
				t.Errorf("target %+v, want %+v", got, tt.want)
			}
			var want time.Time
			if tt.passes != "" {
				want = at(tt.passes)
			}
			if !passes.Equal(want) {
				t.Errorf("passes at %v, want %v", passes, want)
			}
		})
	}
}

func TestInTraining(t *testing.T) {
	tests := []struct {
		from     string
		now      string
		training bool
	}{
		{"", "2025-01-01T00:00:00Z", false},
		{"2025-09-01", "2025-08-31T23:59:59Z", true},
		{"2025-09-01", "2025-09-01T00:00:00Z", false},
		{"not a date", "2025-01-01T00:00:00Z", false},
	}
	for _, tt := range tests {
		tm := team("t")
		tm.Spec.OperationalFrom = tt.from
		got, ends := InTraining(&tm, at(tt.now))
		if got != tt.training {
			t.Errorf("InTraining(%q at %s) = %v, want %v", tt.from, tt.now, got, tt.training)
		}
		if got && !ends.Equal(at(tt.from+"T00:00:00Z")) {
			t.Errorf("training of %q ends at %v", tt.from, ends)
		}
	}
}
