package rollout

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/register"
)

func ptr[T any](v T) *T { return &v }

func TestPercent(t *testing.T) {
	tests := []struct {
		part, whole int64
		want        string
	}{
		{0, 0, "0.0"},
		{0, 10, "0.0"},
		{1, 3, "33.3"},
		{2, 3, "66.7"},
		{1, 2000, "0.1"}, // 0.05 rounds half up
		{1, 2001, "0.0"},
		{523, 1000, "52.3"},
		{10, 10, "100.0"},
	}
	for _, tt := range tests {
		if got := Percent(tt.part, tt.whole); got != tt.want {
			t.Errorf("Percent(%d, %d) = %s, want %s", tt.part, tt.whole, got, tt.want)
		}
	}
}

func TestExpectedCoverage(t *testing.T) {
	agreement := &mhstv1alpha1.Agreement{DecisionRef: "minutes-1"}
	team := &mhstv1alpha1.TeamReference{Name: "team-01"}
	setting := func(urn string, pupils int32, disadvantaged *int32) mhstv1alpha1.Setting {
		return mhstv1alpha1.Setting{URN: urn, Pupils: pupils, DisadvantagedPupils: disadvantaged}
	}
	list := func(ref *mhstv1alpha1.TeamReference, a *mhstv1alpha1.Agreement, settings ...mhstv1alpha1.Setting) mhstv1alpha1.SchoolCoverage {
		return mhstv1alpha1.SchoolCoverage{Spec: mhstv1alpha1.SchoolCoverageSpec{TeamRef: ref, Agreement: a, Settings: settings}}
	}
	tests := []struct {
		name      string
		coverages []mhstv1alpha1.SchoolCoverage
		target    int32
		want      mhstv1alpha1.AreaCoverage
	}{
		{
			name: "nothing listed",
			want: mhstv1alpha1.AreaCoverage{PupilsCoveredPercent: "0.0", TargetMet: true, SettingsCoveredPercent: "0.0", DisadvantagedPupilsCoveredPercent: "0.0"},
		},
		{
			name: "agreed team list covers, a list without a team does not",
			coverages: []mhstv1alpha1.SchoolCoverage{
				list(team, agreement, setting("100001", 300, ptr[int32](30))),
				list(nil, nil, setting("100002", 700, ptr[int32](70))),
			},
			target: 30,
			want: mhstv1alpha1.AreaCoverage{
				Settings: 2, SettingsCovered: 1, Pupils: 1000, PupilsCovered: 300,
				DisadvantagedPupils: 100, DisadvantagedPupilsCovered: 30,
				PupilsCoveredPercent: "30.0", TargetMet: true,
				// 30 of 100 disadvantaged, 300 of 1000 pupils: in proportion.
				SettingsCoveredPercent: "50.0", DisadvantagedPupilsCoveredPercent: "30.0", EquityIndexPermille: ptr[int32](1000),
			},
		},
		{
			name: "a team list without an agreement is only proposed",
			coverages: []mhstv1alpha1.SchoolCoverage{
				list(team, nil, setting("100001", 300, nil)),
				list(nil, nil, setting("100002", 700, ptr[int32](7))),
			},
			target: 1,
			want: mhstv1alpha1.AreaCoverage{
				Settings: 2, Pupils: 1000, DisadvantagedPupils: 7, PupilsCoveredPercent: "0.0",
				SettingsCoveredPercent: "0.0", DisadvantagedPupilsCoveredPercent: "0.0", // equity undefined: nobody covered
			},
		},
		{
			name: "unknown disadvantaged pupils count as none",
			coverages: []mhstv1alpha1.SchoolCoverage{
				list(team, agreement, setting("100001", 1, nil), setting("100002", 2, ptr[int32](1))),
			},
			target: 100,
			want: mhstv1alpha1.AreaCoverage{
				Settings: 2, SettingsCovered: 2, Pupils: 3, PupilsCovered: 3,
				DisadvantagedPupils: 1, DisadvantagedPupilsCovered: 1, PupilsCoveredPercent: "100.0", TargetMet: true,
				SettingsCoveredPercent: "100.0", DisadvantagedPupilsCoveredPercent: "100.0", EquityIndexPermille: ptr[int32](1000),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpectedCoverage(tt.coverages, tt.target); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// school makes a state-funded school of authority code.
func school(urn, code string, pupils int32) register.School {
	fsm := pupils / 5
	return register.School{
		URN: urn, Name: "School " + urn, LACode: code, LAName: "Authority " + code,
		RegionName: "North West", Phase: mhstv1alpha1.PhasePrimary, Pupils: pupils,
		DisadvantagedPupils: &fsm, PhaseTypeGrouping: "State-funded primary",
	}
}

// manySchools makes n schools of one authority with pupil counts that vary.
func manySchools(code string, first, n int) []register.School {
	var out []register.School
	for i := range n {
		out = append(out, school(fmt.Sprintf("%06d", first+i), code, int32(50+(i*137)%1400)))
	}
	return out
}

func TestFormTeams(t *testing.T) {
	opts := Options{}.withDefaults()
	tests := []struct {
		name        string
		schools     []register.School
		wantTeams   bool
		wantCovered [2]int64 // bounds of the covered percent
	}{
		{name: "no schools", wantCovered: [2]int64{0, 0}},
		{name: "one small school is covered whole", schools: manySchools("E06000001", 100000, 1), wantTeams: true, wantCovered: [2]int64{100, 100}},
		{name: "a large area is covered about half", schools: manySchools("E06000001", 100000, 600), wantTeams: true, wantCovered: [2]int64{45, 60}},
		{name: "one school above a team's capacity gets its own team", schools: []register.School{school("100001", "E06000001", 9000), school("100002", "E06000001", 9000)}, wantTeams: true, wantCovered: [2]int64{50, 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			teams, rest := formTeams(tt.schools, opts)
			if got := len(teams) > 0; got != tt.wantTeams {
				t.Fatalf("teams formed: %v, want %v", got, tt.wantTeams)
			}
			seen := map[string]bool{}
			var covered int64
			for _, team := range teams {
				if len(team) > opts.MaxTeamSettings || (len(team) > 1 && pupilsOf(team) > opts.MaxTeamPupils) {
					t.Errorf("team of %d settings and %d pupils is over capacity", len(team), pupilsOf(team))
				}
				for _, s := range team {
					seen[s.URN] = true
				}
				covered += pupilsOf(team)
			}
			for i, s := range rest {
				if seen[s.URN] {
					t.Errorf("%s is both in a team and left", s.URN)
				}
				seen[s.URN] = true
				if i > 0 && rest[i-1].URN >= s.URN {
					t.Errorf("left settings are not in URN order at %s", s.URN)
				}
			}
			if len(seen) != len(tt.schools) {
				t.Errorf("%d settings placed, want %d", len(seen), len(tt.schools))
			}
			total := pupilsOf(tt.schools)
			var percent int64
			if total > 0 {
				percent = covered * 100 / total
			}
			if percent < tt.wantCovered[0] || percent > tt.wantCovered[1] {
				t.Errorf("covered %d%%, want %d to %d", percent, tt.wantCovered[0], tt.wantCovered[1])
			}
		})
	}
}

func TestAssignWaves(t *testing.T) {
	var groups []authorityGroup
	for i := range 40 {
		groups = append(groups, authorityGroup{authority: register.Authority{Code: fmt.Sprintf("E06%06d", i)}})
	}
	tests := []struct {
		name     string
		opts     Options
		wantSize map[int32]int
	}{
		{name: "defaults", opts: Options{Trailblazers: 25, Waves: 5}, wantSize: map[int32]int{0: 25, 1: 4, 2: 4, 3: 4, 4: 3}},
		{name: "one wave", opts: Options{Trailblazers: 3, Waves: 1}, wantSize: map[int32]int{0: 40}},
		{name: "more trailblazers than areas", opts: Options{Trailblazers: 50, Waves: 3}, wantSize: map[int32]int{0: 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waves := assignWaves(groups, tt.opts)
			sizes := map[int32]int{}
			for _, w := range waves {
				sizes[w]++
			}
			if !reflect.DeepEqual(sizes, tt.wantSize) {
				t.Errorf("wave sizes %v, want %v", sizes, tt.wantSize)
			}
			if again := assignWaves(groups, tt.opts); !reflect.DeepEqual(again, waves) {
				t.Error("the same input gave other waves")
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	schools := append(manySchools("E06000001", 100000, 30), manySchools("E08000002", 200000, 700)...)
	independent := school("300001", "E06000001", 500)
	independent.PhaseTypeGrouping = "Independent school"
	schools = append(schools, independent)
	dir := register.NewDirectory(nil)

	r, err := Generate(schools, dir, Options{Trailblazers: 1, Waves: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Areas) != 2 {
		t.Fatalf("%d areas, want 2", len(r.Areas))
	}
	again, err := Generate(schools, dir, Options{Trailblazers: 1, Waves: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, again) {
		t.Error("Generate is not deterministic")
	}
	for _, a := range r.Areas {
		if missing := register.MissingSectors(a.LocalArea.Spec.Governance.Board); len(missing) > 0 {
			t.Errorf("%s's board lacks %v", a.LocalArea.Name, missing)
		}
		teams := map[string]bool{}
		for _, team := range a.Teams {
			teams[team.Name] = true
			if team.Namespace != a.Namespace() {
				t.Errorf("team %s is in %s, not the area's namespace %s", team.Name, team.Namespace, a.Namespace())
			}
		}
		for _, c := range a.Coverages {
			if c.Namespace != a.Namespace() {
				t.Errorf("list %s is in %s, not %s", c.Name, c.Namespace, a.Namespace())
			}
			if c.Spec.TeamRef != nil && !teams[c.Spec.TeamRef.Name] {
				t.Errorf("list %s names team %s, which the area does not have", c.Name, c.Spec.TeamRef.Name)
			}
			if c.Spec.TeamRef != nil && c.Spec.Agreement == nil {
				t.Errorf("team list %s has no agreement", c.Name)
			}
			for _, s := range c.Spec.Settings {
				if s.URN == independent.URN {
					t.Errorf("independent school %s is listed", s.URN)
				}
			}
		}
		if a.Expected.PupilsCovered == 0 || a.Expected.PupilsCovered == a.Expected.Pupils {
			t.Errorf("%s: covered %d of %d pupils, want a part", a.LocalArea.Name, a.Expected.PupilsCovered, a.Expected.Pupils)
		}
	}
	large := r.Areas[1]
	if got := len(large.Coverages) - len(large.Teams); got < 1 {
		t.Errorf("the large area has %d lists without a team", got)
	}
}

func TestGenerateRefuses(t *testing.T) {
	schools := manySchools("E06000001", 100000, 3)
	tests := []struct {
		name    string
		schools []register.School
		opts    Options
		want    string
	}{
		{name: "no state-funded schools", want: "no state-funded"},
		{name: "more settings a team than a list holds", schools: schools, opts: Options{MaxTeamSettings: 501}, want: "max team settings"},
		{name: "team pupils above capacity", schools: schools, opts: Options{TeamPupils: 9000, MaxTeamPupils: 8500}, want: "team pupils"},
		{name: "covered share above 100", schools: schools, opts: Options{CoveredPercent: 101}, want: "covered percent"},
		{name: "negative trailblazers", schools: schools, opts: Options{Trailblazers: -1}, want: "trailblazers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(tt.schools, register.NewDirectory(nil), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
