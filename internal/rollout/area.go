package rollout

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/register"
)

// firstWaveYear is the year of wave 0, the 2019 trailblazers; wave n agreed
// its allocations n years later.
const firstWaveYear = 2019

// buildArea makes the objects of one authority: its LocalArea, its teams
// with one agreed allocation each, and lists without a team for the rest.
func buildArea(g authorityGroup, wave int32, opts Options) (Area, error) {
	name, err := register.AreaName(g.authority.Name)
	if err != nil {
		return Area{}, fmt.Errorf("area of %s: %w", g.authority.Code, err)
	}
	local := localArea(name, g.authority, wave, opts.CoverageTarget)
	ns := local.EffectiveNamespace()
	covered, uncovered := formTeams(g.schools, opts)

	area := Area{LocalArea: local}
	for i, schools := range covered {
		teamName := fmt.Sprintf("team-%02d", i+1)
		area.Teams = append(area.Teams, supportTeam(teamName, ns, fmt.Sprintf("%s MHST %d", g.authority.Name, i+1), opts))
		area.Coverages = append(area.Coverages, teamAllocation(teamName, ns, g.authority.Name, wave, schools))
	}
	area.Coverages = append(area.Coverages, unallocatedLists(ns, uncovered)...)
	area.Expected = ExpectedCoverage(area.Coverages, opts.CoverageTarget)
	return area, nil
}

// localArea is an area with a board that has both the health and the
// education representation the programme requires, chaired by health.
func localArea(name string, a register.Authority, wave, target int32) mhstv1alpha1.LocalArea {
	return mhstv1alpha1.LocalArea{
		TypeMeta: metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "LocalArea"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: map[string]string{mhstv1alpha1.LabelWave: fmt.Sprint(wave)},
		},
		Spec: mhstv1alpha1.LocalAreaSpec{
			DisplayName:        a.Name,
			LocalAuthorityCode: a.Code,
			Region:             a.RegionName,
			Wave:               wave,
			CoverageTarget:     &target,
			Governance: mhstv1alpha1.Governance{
				Board: []mhstv1alpha1.BoardMember{
					{Kind: mhstv1alpha1.SubjectGroup, Name: name + ":icb-mental-health", Sector: mhstv1alpha1.SectorHealth, Role: mhstv1alpha1.RoleChair},
					{Kind: mhstv1alpha1.SubjectGroup, Name: name + ":education-leads", Sector: mhstv1alpha1.SectorEducation, Role: mhstv1alpha1.RoleMember},
					{Kind: mhstv1alpha1.SubjectGroup, Name: name + ":local-authority", Sector: mhstv1alpha1.SectorLocalAuthority, Role: mhstv1alpha1.RoleMember},
				},
				Leads: []mhstv1alpha1.Subject{{Kind: mhstv1alpha1.SubjectGroup, Name: name + ":mhst-leads"}},
			},
		},
	}
}

// formTeams fills teams from the area's settings, taken in a fixed
// pseudo-random order so that each team serves a realistic mix of primary
// and secondary settings. A team takes each next setting that still fits
// (MaxTeamSettings settings, MaxTeamPupils pupils) until it reaches
// TeamPupils or MaxTeamSettings. Teams are formed until the area's covered
// pupils reach CoveredPercent; the last team is kept only when it brings the
// covered share closer to that aim. What no team takes is returned sorted by
// URN.
func formTeams(schools []register.School, opts Options) (teams [][]register.School, rest []register.School) {
	var total int64
	for _, s := range schools {
		total += int64(s.Pupils)
	}
	aim := total * opts.CoveredPercent / 100
	remaining := shuffled(schools)
	var covered int64
	for covered < aim && len(remaining) > 0 {
		team, left := fillTeam(remaining, opts)
		pupils := pupilsOf(team)
		if covered+pupils-aim > aim-covered {
			break
		}
		teams = append(teams, team)
		covered += pupils
		remaining = left
	}
	sort.Slice(remaining, func(i, j int) bool { return remaining[i].URN < remaining[j].URN })
	return teams, remaining
}

// fillTeam takes settings for one team from candidates, in order, and
// returns them and the candidates it left. Twenty average settings fall
// short of a team's pupils, so a first pass passes over settings smaller
// than half of what each free place still needs; a second pass then fills
// what is left with any setting that fits. A setting larger than a whole
// team's capacity is still taken by an empty team, so that every setting
// can be covered.
func fillTeam(candidates []register.School, opts Options) (team, left []register.School) {
	for _, pickySizes := range []bool{true, false} {
		var passed []register.School
		for i, s := range candidates {
			pupils := pupilsOf(team)
			if len(team) == opts.MaxTeamSettings || pupils >= opts.TeamPupils {
				passed = append(passed, candidates[i:]...)
				break
			}
			perPlace := (opts.TeamPupils - pupils) / int64(opts.MaxTeamSettings-len(team))
			tooSmall := pickySizes && int64(s.Pupils)*2 < perPlace
			tooBig := len(team) > 0 && pupils+int64(s.Pupils) > opts.MaxTeamPupils
			if tooSmall || tooBig {
				passed = append(passed, s)
				continue
			}
			team = append(team, s)
		}
		candidates = passed
	}
	return team, candidates
}

// shuffled returns the schools in the order of a hash of their URN.
func shuffled(schools []register.School) []register.School {
	out := append([]register.School(nil), schools...)
	sort.Slice(out, func(i, j int) bool {
		hi, hj := hashOf(out[i].URN), hashOf(out[j].URN)
		if hi != hj {
			return hi < hj
		}
		return out[i].URN < out[j].URN
	})
	return out
}

func pupilsOf(schools []register.School) int64 {
	var n int64
	for _, s := range schools {
		n += int64(s.Pupils)
	}
	return n
}

// supportTeam is a fully staffed team (four education mental health
// practitioners, a senior clinician and a higher level therapist, the
// programme's typical make-up) with the built-in service.
func supportTeam(name, ns, displayName string, opts Options) mhstv1alpha1.SupportTeam {
	replicas := opts.Replicas
	return mhstv1alpha1.SupportTeam{
		TypeMeta:   metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "SupportTeam"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: mhstv1alpha1.SupportTeamSpec{
			DisplayName: displayName,
			Staffing: mhstv1alpha1.Staffing{
				EducationMentalHealthPractitioners: 4,
				SeniorClinicians:                   1,
				HigherLevelTherapists:              1,
			},
			Capacity: mhstv1alpha1.Capacity{
				MaxSettings: int32(opts.MaxTeamSettings),
				MaxPupils:   int32(opts.MaxTeamPupils),
			},
			Interventions: []mhstv1alpha1.Intervention{
				mhstv1alpha1.InterventionGuidedSelfHelp,
				mhstv1alpha1.InterventionGroupWork,
				mhstv1alpha1.InterventionWholeSchoolApproach,
			},
			Service: mhstv1alpha1.TeamService{
				Image:    opts.Image,
				Replicas: &replicas,
				Port:     8080,
				Resources: &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
			},
		},
	}
}

// teamAllocation is the agreed allocation of a team's settings.
func teamAllocation(team, ns, authority string, wave int32, schools []register.School) mhstv1alpha1.SchoolCoverage {
	sorted := append([]register.School(nil), schools...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].URN < sorted[j].URN })
	return mhstv1alpha1.SchoolCoverage{
		TypeMeta:   metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "SchoolCoverage"},
		ObjectMeta: metav1.ObjectMeta{Name: team + "-allocation", Namespace: ns},
		Spec: mhstv1alpha1.SchoolCoverageSpec{
			TeamRef: &mhstv1alpha1.TeamReference{Name: team},
			Agreement: &mhstv1alpha1.Agreement{
				DecisionRef: fmt.Sprintf("board-minutes-%d-%s", firstWaveYear+int(wave), team),
				AgreedAt:    fmt.Sprintf("%d-09-01", firstWaveYear+int(wave)),
				AgreedBy:    authority + " MHST governance board",
			},
			Settings: register.Settings(sorted),
		},
	}
}

// unallocatedLists lists the settings no team covers, in URN order,
// register.MaxSettingsPerList at most each.
func unallocatedLists(ns string, schools []register.School) []mhstv1alpha1.SchoolCoverage {
	var lists []mhstv1alpha1.SchoolCoverage
	for start := 0; start < len(schools); start += register.MaxSettingsPerList {
		end := min(start+register.MaxSettingsPerList, len(schools))
		lists = append(lists, mhstv1alpha1.SchoolCoverage{
			TypeMeta:   metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "SchoolCoverage"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unallocated-%d", len(lists)+1), Namespace: ns},
			Spec:       mhstv1alpha1.SchoolCoverageSpec{Settings: register.Settings(schools[start:end])},
		})
	}
	return lists
}
