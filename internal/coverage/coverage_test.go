package coverage

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

var epoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// allocation builds a SchoolCoverage created ageMinutes after epoch. An
// empty team means no teamRef.
func allocation(name string, ageMinutes int, team string, agreed bool, settings ...mhstv1alpha1.Setting) mhstv1alpha1.SchoolCoverage {
	c := mhstv1alpha1.SchoolCoverage{
		ObjectMeta: metav1.ObjectMeta{
			Name:              name,
			Namespace:         "mhst-leeds",
			CreationTimestamp: metav1.NewTime(epoch.Add(time.Duration(ageMinutes) * time.Minute)),
		},
		Spec: mhstv1alpha1.SchoolCoverageSpec{Settings: settings},
	}
	if team != "" {
		c.Spec.TeamRef = &mhstv1alpha1.TeamReference{Name: team}
	}
	if agreed {
		c.Spec.Agreement = &mhstv1alpha1.Agreement{DecisionRef: "GB-2025-03 item 4"}
	}
	return c
}

func school(urn string, pupils, disadvantaged int32) mhstv1alpha1.Setting {
	return mhstv1alpha1.Setting{URN: urn, Name: "School " + urn, Phase: mhstv1alpha1.PhasePrimary, Pupils: pupils, DisadvantagedPupils: &disadvantaged}
}

func schoolUnknownFSM(urn string, pupils int32) mhstv1alpha1.Setting {
	return mhstv1alpha1.Setting{URN: urn, Name: "School " + urn, Phase: mhstv1alpha1.PhaseSecondary, Pupils: pupils}
}

func team(name string, suspended bool) mhstv1alpha1.SupportTeam {
	return mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "mhst-leeds"},
		Spec:       mhstv1alpha1.SupportTeamSpec{Suspend: suspended},
	}
}

func TestComputeRules(t *testing.T) {
	tests := []struct {
		name      string
		coverages []mhstv1alpha1.SchoolCoverage
		teams     []mhstv1alpha1.SupportTeam
		target    int32
		want      mhstv1alpha1.AreaCoverage
		unknown   int64
		// owners maps each URN to the allocation whose claim counts.
		owners    map[string]string
		covered   []string
		conflicts map[string][]mhstv1alpha1.Conflict
	}{
		{
			name:   "no allocations: nothing to cover, any target met",
			target: 100,
			want:   mhstv1alpha1.AreaCoverage{PupilsCoveredPercent: "0.0", TargetMet: true},
			owners: map[string]string{},
		},
		{
			name:      "agreed allocation of an existing team covers its settings",
			coverages: []mhstv1alpha1.SchoolCoverage{allocation("north", 0, "alpha", true, school("100001", 300, 30), school("100002", 200, 50))},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", false)},
			target:    100,
			want:      mhstv1alpha1.AreaCoverage{Settings: 2, SettingsCovered: 2, Pupils: 500, PupilsCovered: 500, DisadvantagedPupils: 80, DisadvantagedPupilsCovered: 80, PupilsCoveredPercent: "100.0", TargetMet: true},
			owners:    map[string]string{"100001": "north", "100002": "north"},
			covered:   []string{"100001", "100002"},
		},
		{
			name: "older team claim wins even with the larger name",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("a-newer", 5, "beta", true, school("100001", 100, 10)),
				allocation("z-older", 0, "alpha", true, school("100001", 999, 99)),
			},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", false), team("beta", false)},
			target:    100,
			want:      mhstv1alpha1.AreaCoverage{Settings: 1, SettingsCovered: 1, Pupils: 999, PupilsCovered: 999, DisadvantagedPupils: 99, DisadvantagedPupilsCovered: 99, PupilsCoveredPercent: "100.0", TargetMet: true},
			owners:    map[string]string{"100001": "z-older"},
			covered:   []string{"100001"},
			conflicts: map[string][]mhstv1alpha1.Conflict{"a-newer": {{URN: "100001", ClaimedBy: "z-older"}}},
		},
		{
			name: "same creationTimestamp: the smaller name wins",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("b-cov", 0, "beta", true, school("100001", 100, 10)),
				allocation("a-cov", 0, "alpha", false, school("100001", 120, 12)),
			},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", false), team("beta", false)},
			target:    50,
			want:      mhstv1alpha1.AreaCoverage{Settings: 1, Pupils: 120, DisadvantagedPupils: 12, PupilsCoveredPercent: "0.0"},
			owners:    map[string]string{"100001": "a-cov"},
			conflicts: map[string][]mhstv1alpha1.Conflict{"b-cov": {{URN: "100001", ClaimedBy: "a-cov"}}},
		},
		{
			name: "older unagreed claim still wins: the agreed newer one conflicts and covers nothing",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("proposed", 0, "alpha", false, school("100001", 400, 40)),
				allocation("agreed", 10, "beta", true, school("100001", 400, 40), school("100002", 100, 0)),
			},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", false), team("beta", false)},
			target:    20,
			want:      mhstv1alpha1.AreaCoverage{Settings: 2, SettingsCovered: 1, Pupils: 500, PupilsCovered: 100, DisadvantagedPupils: 40, PupilsCoveredPercent: "20.0", TargetMet: true},
			owners:    map[string]string{"100001": "proposed", "100002": "agreed"},
			covered:   []string{"100002"},
			conflicts: map[string][]mhstv1alpha1.Conflict{"agreed": {{URN: "100001", ClaimedBy: "proposed"}}},
		},
		{
			name: "two allocations of the same team still conflict",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("first", 0, "alpha", true, school("100001", 10, 1)),
				allocation("second", 1, "alpha", true, school("100001", 10, 1)),
			},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", false)},
			target:    100,
			want:      mhstv1alpha1.AreaCoverage{Settings: 1, SettingsCovered: 1, Pupils: 10, PupilsCovered: 10, DisadvantagedPupils: 1, DisadvantagedPupilsCovered: 1, PupilsCoveredPercent: "100.0", TargetMet: true},
			owners:    map[string]string{"100001": "first"},
			covered:   []string{"100001"},
			conflicts: map[string][]mhstv1alpha1.Conflict{"second": {{URN: "100001", ClaimedBy: "first"}}},
		},
		{
			name: "teamless list older than a team claim: counted once, as the team's, no conflict",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("uncovered", 0, "", false, school("100001", 100, 10), school("100002", 300, 30)),
				allocation("north", 5, "alpha", true, school("100001", 110, 11)),
			},
			teams:   []mhstv1alpha1.SupportTeam{team("alpha", false)},
			target:  100,
			want:    mhstv1alpha1.AreaCoverage{Settings: 2, SettingsCovered: 1, Pupils: 410, PupilsCovered: 110, DisadvantagedPupils: 41, DisadvantagedPupilsCovered: 11, PupilsCoveredPercent: "26.8"},
			owners:  map[string]string{"100001": "north", "100002": "uncovered"},
			covered: []string{"100001"},
		},
		{
			name: "teamless list newer than a team claim never conflicts",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("north", 0, "alpha", true, school("100001", 110, 11)),
				allocation("uncovered", 5, "", false, school("100001", 100, 10)),
			},
			teams:   []mhstv1alpha1.SupportTeam{team("alpha", false)},
			target:  100,
			want:    mhstv1alpha1.AreaCoverage{Settings: 1, SettingsCovered: 1, Pupils: 110, PupilsCovered: 110, DisadvantagedPupils: 11, DisadvantagedPupilsCovered: 11, PupilsCoveredPercent: "100.0", TargetMet: true},
			owners:  map[string]string{"100001": "north"},
			covered: []string{"100001"},
		},
		{
			name: "two teamless lists: the oldest counts, ties by name",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("b-list", 0, "", false, school("100001", 100, 10)),
				allocation("a-list", 0, "", true, school("100001", 200, 20)),
				allocation("c-list", -5, "", false, school("100002", 1, 0)),
				allocation("d-list", -6, "", false, school("100002", 2, 0)),
			},
			target:  0,
			want:    mhstv1alpha1.AreaCoverage{Settings: 2, Pupils: 202, DisadvantagedPupils: 20, PupilsCoveredPercent: "0.0", TargetMet: true},
			owners:  map[string]string{"100001": "a-list", "100002": "d-list"},
			covered: nil,
		},
		{
			name:      "suspended team covers nothing",
			coverages: []mhstv1alpha1.SchoolCoverage{allocation("north", 0, "alpha", true, school("100001", 100, 10))},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", true)},
			target:    0,
			want:      mhstv1alpha1.AreaCoverage{Settings: 1, Pupils: 100, DisadvantagedPupils: 10, PupilsCoveredPercent: "0.0", TargetMet: true},
			owners:    map[string]string{"100001": "north"},
		},
		{
			name:      "missing team covers nothing",
			coverages: []mhstv1alpha1.SchoolCoverage{allocation("north", 0, "ghost", true, school("100001", 100, 10))},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", false)},
			target:    1,
			want:      mhstv1alpha1.AreaCoverage{Settings: 1, Pupils: 100, DisadvantagedPupils: 10, PupilsCoveredPercent: "0.0"},
			owners:    map[string]string{"100001": "north"},
		},
		{
			name:      "no agreement: proposed, covers nothing",
			coverages: []mhstv1alpha1.SchoolCoverage{allocation("north", 0, "alpha", false, school("100001", 100, 10))},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", false)},
			target:    100,
			want:      mhstv1alpha1.AreaCoverage{Settings: 1, Pupils: 100, DisadvantagedPupils: 10, PupilsCoveredPercent: "0.0"},
			owners:    map[string]string{"100001": "north"},
		},
		{
			name: "unknown disadvantaged pupils add nothing and are counted",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("north", 0, "alpha", true, schoolUnknownFSM("100001", 100), school("100002", 100, 25)),
				allocation("rest", 0, "", false, schoolUnknownFSM("100003", 100)),
			},
			teams:   []mhstv1alpha1.SupportTeam{team("alpha", false)},
			target:  67,
			want:    mhstv1alpha1.AreaCoverage{Settings: 3, SettingsCovered: 2, Pupils: 300, PupilsCovered: 200, DisadvantagedPupils: 25, DisadvantagedPupilsCovered: 25, PupilsCoveredPercent: "66.7"},
			unknown: 2,
			owners:  map[string]string{"100001": "north", "100002": "north", "100003": "rest"},
			covered: []string{"100001", "100002"},
		},
		{
			name:      "a URN repeated inside one list counts once",
			coverages: []mhstv1alpha1.SchoolCoverage{allocation("north", 0, "alpha", true, school("100001", 100, 10), school("100001", 500, 50))},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", false)},
			target:    100,
			want:      mhstv1alpha1.AreaCoverage{Settings: 1, SettingsCovered: 1, Pupils: 100, PupilsCovered: 100, DisadvantagedPupils: 10, DisadvantagedPupilsCovered: 10, PupilsCoveredPercent: "100.0", TargetMet: true},
			owners:    map[string]string{"100001": "north"},
			covered:   []string{"100001"},
		},
		{
			name: "target 100 missed by one pupil",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("north", 0, "alpha", true, school("100001", 1999, 0)),
				allocation("rest", 0, "", false, school("100002", 1, 0)),
			},
			teams:   []mhstv1alpha1.SupportTeam{team("alpha", false)},
			target:  100,
			want:    mhstv1alpha1.AreaCoverage{Settings: 2, SettingsCovered: 1, Pupils: 2000, PupilsCovered: 1999, PupilsCoveredPercent: "100.0"},
			owners:  map[string]string{"100001": "north", "100002": "rest"},
			covered: []string{"100001"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Compute(tt.coverages, tt.teams, tt.target)
			// The figures derived from the counts are worked by hand in
			// TestDerivedFigures; this table is about the counting rules.
			got := res.Area
			got.SettingsCoveredPercent, got.DisadvantagedPupilsCoveredPercent, got.EquityIndexPermille = "", "", nil
			if got != tt.want {
				t.Errorf("area coverage:\n got %+v\nwant %+v", got, tt.want)
			}
			if res.DisadvantagedUnknown != tt.unknown {
				t.Errorf("DisadvantagedUnknown = %d, want %d", res.DisadvantagedUnknown, tt.unknown)
			}
			owners := map[string]string{}
			var covered []string
			for _, s := range res.Settings {
				owners[s.URN] = s.Allocation
				if s.Covered {
					covered = append(covered, s.URN)
				}
			}
			if !reflect.DeepEqual(owners, tt.owners) {
				t.Errorf("owners = %v, want %v", owners, tt.owners)
			}
			if !slices.Equal(covered, tt.covered) {
				t.Errorf("covered = %v, want %v", covered, tt.covered)
			}
			for _, c := range tt.coverages {
				got := res.Allocations[c.Name].Conflicts
				if want := tt.conflicts[c.Name]; !slices.Equal(got, want) {
					t.Errorf("conflicts of %s = %v, want %v", c.Name, got, want)
				}
			}
		})
	}
}

func TestAllocationFigures(t *testing.T) {
	coverages := []mhstv1alpha1.SchoolCoverage{
		allocation("north", 0, "alpha", true, school("100001", 100, 10), school("100002", 50, 5)),
		allocation("south", 1, "alpha", true, school("100002", 70, 7), school("100003", 30, 3)),
		allocation("east", 2, "suspended", true, school("100004", 40, 4)),
		allocation("west", 3, "ghost", false, school("100005", 20, 2)),
		allocation("gaps", 4, "", false, school("100001", 100, 10), school("100006", 60, 6)),
	}
	teams := []mhstv1alpha1.SupportTeam{team("alpha", false), team("suspended", true)}
	res := Compute(coverages, teams, 100)

	agreement := &mhstv1alpha1.Agreement{DecisionRef: "GB-2025-03 item 4"}
	want := map[string]Allocation{
		"north": {Name: "north", Team: "alpha", TeamNamed: true, TeamFound: true, Agreed: true, Agreement: agreement,
			Settings: 2, Pupils: 150, DisadvantagedPupils: 15, SettingsCovered: 2, PupilsCovered: 150, DisadvantagedPupilsCovered: 15},
		"south": {Name: "south", Team: "alpha", TeamNamed: true, TeamFound: true, Agreed: true, Agreement: agreement,
			Settings: 1, Pupils: 30, DisadvantagedPupils: 3, SettingsCovered: 1, PupilsCovered: 30, DisadvantagedPupilsCovered: 3,
			Conflicts: []mhstv1alpha1.Conflict{{URN: "100002", ClaimedBy: "north"}}},
		"east": {Name: "east", Team: "suspended", TeamNamed: true, TeamFound: true, TeamSuspended: true, Agreed: true, Agreement: agreement,
			Settings: 1, Pupils: 40, DisadvantagedPupils: 4},
		"west": {Name: "west", Team: "ghost", TeamNamed: true, Settings: 1, Pupils: 20, DisadvantagedPupils: 2},
		"gaps": {Name: "gaps", Settings: 1, Pupils: 60, DisadvantagedPupils: 6},
	}
	if !reflect.DeepEqual(res.Allocations, want) {
		t.Errorf("allocations:\n got %+v\nwant %+v", res.Allocations, want)
	}
}

func TestTeamFigures(t *testing.T) {
	small := team("small", false)
	small.Spec.Capacity = mhstv1alpha1.Capacity{MaxSettings: 3, MaxPupils: 1000}
	busy := team("busy", false)
	busy.Spec.Capacity = mhstv1alpha1.Capacity{MaxSettings: 2, MaxPupils: 100000}
	coverages := []mhstv1alpha1.SchoolCoverage{
		allocation("small-agreed", 0, "small", true, school("100001", 500, 50)),
		allocation("small-proposed", 1, "small", false, school("100002", 900, 90)),
		allocation("busy-agreed", 2, "busy", true, school("100003", 10, 1), school("100004", 10, 1), school("100005", 10, 1)),
		allocation("paused-agreed", 3, "paused", true, school("100006", 4250, 100)),
	}
	teams := []mhstv1alpha1.SupportTeam{small, busy, team("paused", true), team("idle", false)}
	res := Compute(coverages, teams, 100)

	want := map[string]Team{
		// 1/3 settings = 33.3%, 500/1000 pupils = 50.0%: the larger is used.
		"small": {Name: "small", Settings: 1, Pupils: 500, DisadvantagedPupils: 50, SettingsCovered: 1, PupilsCovered: 500, DisadvantagedPupilsCovered: 50,
			ProposedSettings: 1, ProposedPupils: 900, MaxSettings: 3, MaxPupils: 1000, CapacityUsedPercent: "50.0"},
		// 3/2 settings: over capacity by settings alone.
		"busy": {Name: "busy", Settings: 3, Pupils: 30, DisadvantagedPupils: 3, SettingsCovered: 3, PupilsCovered: 30, DisadvantagedPupilsCovered: 3,
			MaxSettings: 2, MaxPupils: 100000, CapacityUsedPercent: "150.0", OverCapacity: true},
		// Defaults 20 and 8500 apply; a suspended team keeps its load but covers nothing.
		"paused": {Name: "paused", Suspended: true, Settings: 1, Pupils: 4250, DisadvantagedPupils: 100,
			MaxSettings: 20, MaxPupils: 8500, CapacityUsedPercent: "50.0"},
		"idle": {Name: "idle", MaxSettings: 20, MaxPupils: 8500, CapacityUsedPercent: "0.0"},
	}
	if !reflect.DeepEqual(res.Teams, want) {
		t.Errorf("teams:\n got %+v\nwant %+v", res.Teams, want)
	}
}

func TestSettingRecords(t *testing.T) {
	fe := mhstv1alpha1.Setting{URN: "130001", Name: "Leeds City College", Phase: mhstv1alpha1.PhaseFurtherEducation, Pupils: 9000, SessionsPerWeek: 6, SeniorMentalHealthLead: true}
	coverages := []mhstv1alpha1.SchoolCoverage{
		allocation("gaps", 0, "", false, school("100009", 100, 10)),
		allocation("north", 1, "alpha", true, fe),
	}
	res := Compute(coverages, []mhstv1alpha1.SupportTeam{team("alpha", false)}, 100)
	ten := int32(10)
	want := []SettingRecord{
		{URN: "100009", Name: "School 100009", Phase: mhstv1alpha1.PhasePrimary, Pupils: 100, DisadvantagedPupils: &ten, Allocation: "gaps", SessionsPerWeek: 2},
		{URN: "130001", Name: "Leeds City College", Phase: mhstv1alpha1.PhaseFurtherEducation, Pupils: 9000, Team: "alpha", Allocation: "north", DecisionRef: "GB-2025-03 item 4", Covered: true, SessionsPerWeek: 6, SeniorMentalHealthLead: true},
	}
	if !reflect.DeepEqual(res.Settings, want) {
		t.Errorf("settings:\n got %+v\nwant %+v", res.Settings, want)
	}
	if res.Settings[0].DisadvantagedPupils == coverages[0].Spec.Settings[0].DisadvantagedPupils {
		t.Error("setting record aliases the input's disadvantagedPupils pointer")
	}
}

// outcome is what a setting record says about one setting: the claim that
// counts it and whether it is covered.
type outcome struct {
	team, allocation, decisionRef string
	covered                       bool
}

// TestSettingOutcomes: each setting's record names the allocation whose
// claim counts, its team and the board decision it rests on, and says
// whether it is covered, by the same rules as the area's totals.
func TestSettingOutcomes(t *testing.T) {
	withDecision := func(c mhstv1alpha1.SchoolCoverage, ref string) mhstv1alpha1.SchoolCoverage {
		c.Spec.Agreement.DecisionRef = ref
		return c
	}
	tests := []struct {
		name      string
		coverages []mhstv1alpha1.SchoolCoverage
		teams     []mhstv1alpha1.SupportTeam
		want      map[string]outcome
	}{
		{
			name:      "agreed, team exists: covered, with the decision",
			coverages: []mhstv1alpha1.SchoolCoverage{withDecision(allocation("north", 0, "alpha", true, school("100001", 300, 30)), "RGB-2025-03 item 4")},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", false)},
			want:      map[string]outcome{"100001": {"alpha", "north", "RGB-2025-03 item 4", true}},
		},
		{
			name:      "proposed: not covered, no decision",
			coverages: []mhstv1alpha1.SchoolCoverage{allocation("north", 0, "alpha", false, school("100001", 300, 30))},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", false)},
			want:      map[string]outcome{"100001": {"alpha", "north", "", false}},
		},
		{
			name:      "agreed but the team does not exist: not covered, the decision still named",
			coverages: []mhstv1alpha1.SchoolCoverage{allocation("north", 0, "alpha", true, school("100001", 300, 30))},
			want:      map[string]outcome{"100001": {"alpha", "north", "GB-2025-03 item 4", false}},
		},
		{
			name:      "agreed, team suspended: not covered",
			coverages: []mhstv1alpha1.SchoolCoverage{allocation("north", 0, "alpha", true, school("100001", 300, 30))},
			teams:     []mhstv1alpha1.SupportTeam{team("alpha", true)},
			want:      map[string]outcome{"100001": {"alpha", "north", "GB-2025-03 item 4", false}},
		},
		{
			name: "a lost conflict: the older claim's outcome, even when it is proposed",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("older", 0, "alpha", false, school("100001", 300, 30)),
				withDecision(allocation("newer", 5, "beta", true, school("100001", 300, 30), school("100002", 100, 0)), "GB-2025-04 item 1"),
			},
			teams: []mhstv1alpha1.SupportTeam{team("alpha", false), team("beta", false)},
			want: map[string]outcome{
				"100001": {"alpha", "older", "", false},
				"100002": {"beta", "newer", "GB-2025-04 item 1", true},
			},
		},
		{
			name: "a list without a team gives way to a team claim, and keeps the rest",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("gaps", 0, "", false, school("100001", 300, 30), school("100003", 50, 5)),
				allocation("north", 9, "alpha", true, school("100001", 300, 30)),
			},
			teams: []mhstv1alpha1.SupportTeam{team("alpha", false)},
			want: map[string]outcome{
				"100001": {"alpha", "north", "GB-2025-03 item 4", true},
				"100003": {"", "gaps", "", false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Compute(tt.coverages, tt.teams, 100)
			got := map[string]outcome{}
			var covered int64
			for _, rec := range res.Settings {
				got[rec.URN] = outcome{rec.Team, rec.Allocation, rec.DecisionRef, rec.Covered}
				if rec.Covered {
					covered++
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("outcomes:\n got %+v\nwant %+v", got, tt.want)
			}
			if covered != res.Area.SettingsCovered {
				t.Errorf("%d records covered, the area %d", covered, res.Area.SettingsCovered)
			}
		})
	}
}

func TestComputeDoesNotMutateOrDependOnOrder(t *testing.T) {
	coverages := []mhstv1alpha1.SchoolCoverage{
		allocation("c", 0, "alpha", true, school("100003", 30, 3), school("100001", 10, 1)),
		allocation("a", 0, "beta", true, school("100001", 11, 1), school("100002", 20, 2)),
		allocation("b", 0, "", false, school("100002", 21, 2), schoolUnknownFSM("100004", 40)),
	}
	teams := []mhstv1alpha1.SupportTeam{team("beta", false), team("alpha", true)}
	before := deepCopies(coverages)
	teamsBefore := slices.Clone(teams)

	res := Compute(coverages, teams, 50)
	if !reflect.DeepEqual(coverages, before) || !reflect.DeepEqual(teams, teamsBefore) {
		t.Fatal("Compute changed its inputs")
	}
	slices.Reverse(coverages)
	slices.Reverse(teams)
	if again := Compute(coverages, teams, 50); !reflect.DeepEqual(res, again) {
		t.Errorf("result depends on input order:\n%+v\n%+v", res, again)
	}
}

func deepCopies(in []mhstv1alpha1.SchoolCoverage) []mhstv1alpha1.SchoolCoverage {
	out := make([]mhstv1alpha1.SchoolCoverage, len(in))
	for i := range in {
		in[i].DeepCopyInto(&out[i])
	}
	return out
}

func TestPercent(t *testing.T) {
	tests := []struct {
		part, whole int64
		want        string
	}{
		{0, 0, "0.0"},
		{5, 0, "0.0"},
		{0, 7, "0.0"},
		{-1, 10, "0.0"},
		{1, 1, "100.0"},
		{1, 3, "33.3"},
		{2, 3, "66.7"},
		{1, 2, "50.0"},
		{1, 2000, "0.1"}, // exactly 0.05: half rounds up
		{1, 2001, "0.0"}, // just under 0.05
		{1, 8, "12.5"},
		{1, 16, "6.3"}, // 6.25 rounds up
		{523, 1000, "52.3"},
		{5235, 10000, "52.4"}, // 52.35 rounds up
		{5234, 10000, "52.3"},
		{1999, 2000, "100.0"}, // 99.95 rounds up to 100.0
		{3, 2, "150.0"},
		{9223372036854775807, 9223372036854775807, "100.0"},
		{9223372036854775807, 1, "922337203685477580700.0"},
	}
	for _, tt := range tests {
		if got := Percent(tt.part, tt.whole); got != tt.want {
			t.Errorf("Percent(%d, %d) = %q, want %q", tt.part, tt.whole, got, tt.want)
		}
	}
}

func TestTargetMet(t *testing.T) {
	tests := []struct {
		covered, pupils int64
		target          int32
		want            bool
	}{
		{0, 0, 100, true},
		{0, 100, 0, true},
		{0, 100, 1, false},
		{50, 100, 50, true},
		{49, 100, 50, false},
		{99, 100, 100, false},
		{100, 100, 100, true},
		{1, 3, 33, true},
		{1, 3, 34, false},
	}
	for _, tt := range tests {
		if got := TargetMet(tt.covered, tt.pupils, tt.target); got != tt.want {
			t.Errorf("TargetMet(%d, %d, %d) = %v, want %v", tt.covered, tt.pupils, tt.target, got, tt.want)
		}
	}
}

func TestTargetOf(t *testing.T) {
	var area mhstv1alpha1.LocalArea
	if got := TargetOf(&area); got != DefaultCoverageTarget {
		t.Errorf("unset target = %d, want %d", got, DefaultCoverageTarget)
	}
	zero := int32(0)
	area.Spec.CoverageTarget = &zero
	if got := TargetOf(&area); got != 0 {
		t.Errorf("target 0 = %d, want 0", got)
	}
}

// TestDerivedFigures works the figures derived from an area's counts by
// hand: the settings and disadvantaged percentages and the equity index.
func TestDerivedFigures(t *testing.T) {
	tests := []struct {
		name                 string
		coverages            []mhstv1alpha1.SchoolCoverage
		teams                []mhstv1alpha1.SupportTeam
		settingsPercent      string
		disadvantagedPercent string
		equity               *int32
	}{
		{
			name:                 "nothing listed: percentages 0.0, equity undefined",
			settingsPercent:      "0.0",
			disadvantagedPercent: "0.0",
		},
		{
			// The Rutland example of docs/coverage.md: 3 of 5 settings,
			// 210 of 474 disadvantaged, 1529 of 3406 pupils.
			// 1000 × 210 × 3406 ÷ (474 × 1529) = 715260000 ÷ 724746 = 986.91… → 987.
			name: "Rutland: 60.0 % of settings, 44.3 % of disadvantaged, equity 987",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("oakham", 0, "team-oakham", true, school("120181", 253, 46), school("136530", 1069, 147), school("138113", 207, 17)),
				allocation("uppingham", 1, "team-uppingham", false, school("136629", 910, 118), school("136530", 1069, 147)),
				allocation("not-yet", 2, "", false, school("137340", 967, 146), school("138113", 207, 17)),
			},
			teams:                []mhstv1alpha1.SupportTeam{team("team-oakham", false), team("team-uppingham", false)},
			settingsPercent:      "60.0",
			disadvantagedPercent: "44.3",
			equity:               ptr(987),
		},
		{
			// 1 of 8 settings is 12.5 % exactly; 1 of 16 disadvantaged
			// is 6.25 %, which rounds half up to 6.3.
			name: "half up at .x5: 1 of 16 disadvantaged is 6.3",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("a", 0, "alpha", true, school("100001", 100, 1)),
				allocation("b", 1, "", false, school("100002", 100, 15), school("100003", 100, 0), school("100004", 100, 0),
					school("100005", 100, 0), school("100006", 100, 0), school("100007", 100, 0), school("100008", 100, 0)),
			},
			teams:                []mhstv1alpha1.SupportTeam{team("alpha", false)},
			settingsPercent:      "12.5",
			disadvantagedPercent: "6.3",
			// 1000 × 1 × 800 ÷ (16 × 100) = 500 exactly.
			equity: ptr(500),
		},
		{
			// 1000 × 3 × 400 ÷ (8 × 200) = 750 exactly: a quarter less.
			name: "disadvantaged pupils reached less than their share",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("a", 0, "alpha", true, school("100001", 200, 3)),
				allocation("b", 1, "", false, school("100002", 200, 5)),
			},
			teams:                []mhstv1alpha1.SupportTeam{team("alpha", false)},
			settingsPercent:      "50.0",
			disadvantagedPercent: "37.5",
			equity:               ptr(750),
		},
		{
			name: "no disadvantaged pupils: equity undefined",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("a", 0, "alpha", true, school("100001", 200, 0)),
			},
			teams:                []mhstv1alpha1.SupportTeam{team("alpha", false)},
			settingsPercent:      "100.0",
			disadvantagedPercent: "0.0",
		},
		{
			name: "nothing covered: equity undefined, not 0",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("a", 0, "alpha", false, school("100001", 200, 50)),
			},
			teams:                []mhstv1alpha1.SupportTeam{team("alpha", false)},
			settingsPercent:      "0.0",
			disadvantagedPercent: "0.0",
		},
		{
			name: "the covered team is suspended: nothing covered, equity undefined",
			coverages: []mhstv1alpha1.SchoolCoverage{
				allocation("a", 0, "alpha", true, school("100001", 200, 50)),
			},
			teams:                []mhstv1alpha1.SupportTeam{team("alpha", true)},
			settingsPercent:      "0.0",
			disadvantagedPercent: "0.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Compute(tt.coverages, tt.teams, 100).Area
			if a.SettingsCoveredPercent != tt.settingsPercent {
				t.Errorf("settingsCoveredPercent = %q, want %q", a.SettingsCoveredPercent, tt.settingsPercent)
			}
			if a.DisadvantagedPupilsCoveredPercent != tt.disadvantagedPercent {
				t.Errorf("disadvantagedPupilsCoveredPercent = %q, want %q", a.DisadvantagedPupilsCoveredPercent, tt.disadvantagedPercent)
			}
			if !equalPtr(a.EquityIndexPermille, tt.equity) {
				t.Errorf("equityIndexPermille = %s, want %s", show(a.EquityIndexPermille), show(tt.equity))
			}
		})
	}
}

func TestEquityIndexPermille(t *testing.T) {
	tests := []struct {
		name                                                       string
		disadvantagedCovered, pupils, disadvantaged, pupilsCovered int64
		want                                                       *int32
	}{
		{"in proportion", 50, 1000, 100, 500, ptr(1000)},
		{"exactly .5 rounds up: 1000 × 1 × 7 ÷ (16 × 1) = 437.5 → 438", 1, 7, 16, 1, ptr(438)},
		{"below .5 rounds down: 1000 × 1 × 1 ÷ (3 × 1) = 333.3 → 333", 1, 1, 3, 1, ptr(333)},
		{"none of the disadvantaged covered", 0, 1000, 100, 500, ptr(0)},
		{"twice their share", 100, 1000, 100, 500, ptr(2000)},
		{"no disadvantaged pupils", 0, 1000, 0, 500, nil},
		{"no pupils covered", 0, 1000, 100, 0, nil},
		{"beyond int32 is capped", 1, 1 << 40, 1, 1, ptr(math.MaxInt32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EquityIndexPermille(tt.disadvantagedCovered, tt.pupils, tt.disadvantaged, tt.pupilsCovered)
			if !equalPtr(got, tt.want) {
				t.Errorf("EquityIndexPermille(%d, %d, %d, %d) = %s, want %s", tt.disadvantagedCovered, tt.pupils,
					tt.disadvantaged, tt.pupilsCovered, show(got), show(tt.want))
			}
		})
	}
}

func ptr(v int32) *int32 { return &v }

func equalPtr(a, b *int32) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func show(p *int32) string {
	if p == nil {
		return "absent"
	}
	return strconv.Itoa(int(*p))
}
