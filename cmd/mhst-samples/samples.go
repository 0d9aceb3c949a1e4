package main

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/register"
)

// A team takes settings in order until one more would pass these limits:
// 18 of the 20 settings of the API's default capacity, leaving room for a
// school that asks later, and its 8,500 pupils.
const (
	teamSettings = 18
	teamPupils   = 8500
	serviceImage = "nginxinc/nginx-unprivileged:1.27"
)

// sampleArea is one area of the samples: what is illustrative about it.
type sampleArea struct {
	file, summary string
	area          mhstv1alpha1.LocalArea
	teams         []sampleTeam
}

// sampleTeam is a team and its one allocation, agreed when agreement is set.
// A team with operationalFrom is in training until that date.
type sampleTeam struct {
	name, displayName string
	staffing          mhstv1alpha1.Staffing
	operationalFrom   string
	allocation        string
	agreement         *mhstv1alpha1.Agreement
}

func group(name string, sector mhstv1alpha1.Sector, role mhstv1alpha1.BoardRole) mhstv1alpha1.BoardMember {
	return mhstv1alpha1.BoardMember{Kind: mhstv1alpha1.SubjectGroup, Name: name, Sector: sector, Role: role}
}

func leads(name string) []mhstv1alpha1.Subject {
	return []mhstv1alpha1.Subject{{Kind: mhstv1alpha1.SubjectGroup, Name: name}}
}

func area(name, display, code, region, icb string, wave int32, board []mhstv1alpha1.BoardMember, lead string) mhstv1alpha1.LocalArea {
	return mhstv1alpha1.LocalArea{
		TypeMeta:   metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "LocalArea"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: mhstv1alpha1.LocalAreaSpec{
			DisplayName: display, LocalAuthorityCode: code, Region: region, IntegratedCareBoard: icb, Wave: wave,
			Governance: mhstv1alpha1.Governance{Board: board, Leads: leads(lead)},
		},
	}
}

// samples are the three areas, in the order of config/samples/README.md.
func samples() []sampleArea {
	rutland := area("rutland", "Rutland", "E06000017", "East Midlands", "NHS Leicester, Leicestershire and Rutland Integrated Care Board", 4,
		[]mhstv1alpha1.BoardMember{
			group("llr-icb-children-young-people", mhstv1alpha1.SectorHealth, mhstv1alpha1.RoleChair),
			group("rutland-headteachers", mhstv1alpha1.SectorEducation, ""),
			group("rutland-council-childrens-services", mhstv1alpha1.SectorLocalAuthority, ""),
		}, "rutland-mhst-managers")
	// The national target for 2024-25: half of all pupils.
	rutland.Spec.CoverageTarget = ptr.To(int32(50))
	york := area("york", "York", "E06000014", "Yorkshire and The Humber", "NHS Humber and North Yorkshire Integrated Care Board", 2,
		[]mhstv1alpha1.BoardMember{
			group("hny-icb-york-place", mhstv1alpha1.SectorHealth, ""),
			group("york-schools-forum", mhstv1alpha1.SectorEducation, mhstv1alpha1.RoleChair),
			group("york-council-education-skills", mhstv1alpha1.SectorLocalAuthority, ""),
			group("york-parent-carer-forum", mhstv1alpha1.SectorParentsCarers, ""),
			group("york-youth-voice", mhstv1alpha1.SectorYoungPeople, ""),
		}, "york-mhst-managers")
	// Dated steps towards the programme's ambition of every pupil (the
	// default coverageTarget, 100, once the last one has passed).
	york.Spec.Targets = []mhstv1alpha1.DatedTarget{
		{By: "2027-03-31", Percent: 50},
		{By: "2028-03-31", Percent: 75},
		{By: "2029-03-31", Percent: 100},
	}
	york2023 := &mhstv1alpha1.Agreement{DecisionRef: "York MHST governance board, minutes of 5 September 2023, item 3", AgreedAt: "2023-09-05", AgreedBy: "York MHST governance board"}
	return []sampleArea{
		{
			file:    "hartlepool.yaml",
			summary: "Hartlepool: a trailblazer area (wave 0) with one team whose allocation the board has agreed.",
			area: area("hartlepool", "Hartlepool", "E06000001", "North East", "NHS North East and North Cumbria Integrated Care Board", 0,
				[]mhstv1alpha1.BoardMember{
					group("nenc-icb-hartlepool-place", mhstv1alpha1.SectorHealth, mhstv1alpha1.RoleChair),
					group("hartlepool-camhs", mhstv1alpha1.SectorHealth, ""),
					group("hartlepool-headteachers", mhstv1alpha1.SectorEducation, ""),
					group("hartlepool-childrens-services", mhstv1alpha1.SectorLocalAuthority, ""),
					group("hartlepool-youth-council", mhstv1alpha1.SectorYoungPeople, ""),
				}, "hartlepool-mhst-managers"),
			teams: []sampleTeam{{
				name: "hartlepool-mhst", displayName: "Hartlepool Mental Health Support Team",
				staffing:   mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 6, SeniorClinicians: 2, HigherLevelTherapists: 1, Vacancies: 1},
				allocation: "hartlepool-mhst-2023",
				agreement:  &mhstv1alpha1.Agreement{DecisionRef: "Hartlepool MHST governance board, minutes of 12 July 2023, item 4", AgreedAt: "2023-07-12", AgreedBy: "Hartlepool MHST governance board"},
			}},
		},
		{
			file:    "york.yaml",
			summary: "York: an area of wave 2 with dated targets and two teams, both allocations agreed, the second team still in training.",
			area:    york,
			teams: []sampleTeam{
				{name: "york-mhst-1", displayName: "York Mental Health Support Team 1",
					staffing:   mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 8, SeniorClinicians: 2, HigherLevelTherapists: 1},
					allocation: "york-mhst-1-2023", agreement: york2023},
				// Its practitioners finish their year of training for the
				// school year that starts in September 2027.
				{name: "york-mhst-2", displayName: "York Mental Health Support Team 2",
					staffing:        mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 5, SeniorClinicians: 1, Vacancies: 2},
					operationalFrom: "2027-09-01",
					allocation:      "york-mhst-2-2023", agreement: york2023},
			},
		},
		{
			file:    "rutland.yaml",
			summary: "Rutland: an area of wave 4 whose team's allocation is still proposed (the board has not agreed it, so it covers no one yet).",
			area:    rutland,
			teams: []sampleTeam{{
				name: "rutland-mhst", displayName: "Rutland Mental Health Support Team",
				staffing:   mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 4, SeniorClinicians: 1, Vacancies: 2},
				allocation: "rutland-mhst-proposed",
			}},
		},
	}
}

// generate writes every sample area's file from the register.
func generate(schoolsCSV io.Reader) (map[string][]byte, error) {
	file, err := register.ReadSchools(schoolsCSV, register.ReadOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, s := range samples() {
		data, err := s.write(file.Schools)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.file, err)
		}
		out[s.file] = data
	}
	return out, nil
}

// write builds the area's file: its LocalArea, its teams, their allocations
// (each the next schools that fit a team) and a list without a team of every
// school left, so that the area's coverage counts all its pupils.
func (s sampleArea) write(all []register.School) ([]byte, error) {
	schools := areaSchools(all, s.area.Spec.LocalAuthorityCode)
	if len(schools) == 0 {
		return nil, fmt.Errorf("no state-funded schools for %s", s.area.Spec.LocalAuthorityCode)
	}
	ns := s.area.EffectiveNamespace()
	objects := []any{&s.area}
	var allocations []any
	for _, t := range s.teams {
		team := teamObject(ns, t)
		objects = append(objects, &team)
		var taken []register.School
		taken, schools = takeForTeam(schools)
		cov := coverage(ns, t.allocation, taken, true)
		cov.Spec.TeamRef = &mhstv1alpha1.TeamReference{Name: t.name}
		cov.Spec.Agreement = t.agreement
		allocations = append(allocations, &cov)
	}
	objects = append(objects, allocations...)
	if len(schools) > 0 {
		rest := coverage(ns, s.area.Name+"-not-yet-covered", schools, false)
		objects = append(objects, &rest)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `# %s
#
# Schools: Department for Education, "Schools, pupils and their characteristics",
# academic year 2022/23 (January 2023 census), school-level data.
# %s
#
# Generated by make samples (cmd/mhst-samples). The schools and their figures
# are real; the area's wave, board, teams, staffing and agreements are
# illustrative.
`, s.summary, register.Attribution)
	for i, obj := range objects {
		doc, err := register.ManifestYAML(obj)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
	}
	return buf.Bytes(), nil
}

// areaSchools are the state-funded schools of the local authority, in
// postcode order, then URN.
func areaSchools(all []register.School, code string) []register.School {
	var schools []register.School
	for _, s := range all {
		if s.LACode == code && s.StateFunded() {
			schools = append(schools, s)
		}
	}
	slices.SortFunc(schools, func(a, b register.School) int {
		return cmp.Or(cmp.Compare(a.Postcode, b.Postcode), cmp.Compare(urnNumber(a.URN), urnNumber(b.URN)))
	})
	return schools
}

func urnNumber(urn string) int {
	n, _ := strconv.Atoi(urn)
	return n
}

// takeForTeam splits off the first schools that fit in a team's capacity.
func takeForTeam(schools []register.School) (taken, rest []register.School) {
	pupils := int32(0)
	for i, s := range schools {
		if i+1 > teamSettings || pupils+s.Pupils > teamPupils {
			return schools[:i], schools[i:]
		}
		pupils += s.Pupils
	}
	return schools, nil
}

func teamObject(ns string, t sampleTeam) mhstv1alpha1.SupportTeam {
	return mhstv1alpha1.SupportTeam{
		TypeMeta:   metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "SupportTeam"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: t.name},
		Spec: mhstv1alpha1.SupportTeamSpec{
			DisplayName:     t.displayName,
			Staffing:        t.staffing,
			OperationalFrom: t.operationalFrom,
			Interventions: []mhstv1alpha1.Intervention{
				mhstv1alpha1.InterventionGuidedSelfHelp, mhstv1alpha1.InterventionGroupWork, mhstv1alpha1.InterventionParentLed,
				mhstv1alpha1.InterventionWholeSchoolApproach, mhstv1alpha1.InterventionConsultation, mhstv1alpha1.InterventionSignposting,
			},
			Service: mhstv1alpha1.TeamService{
				Image: serviceImage, Replicas: ptr.To(int32(2)), Port: 8080,
				Resources: &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
				},
			},
		},
	}
}

// coverage lists schools; a team's secondary schools get two days a week
// (4 half-day sessions), every other setting the API's default, one day.
func coverage(ns, name string, schools []register.School, forTeam bool) mhstv1alpha1.SchoolCoverage {
	settings := register.Settings(schools)
	if forTeam {
		for i := range settings {
			if settings[i].Phase == mhstv1alpha1.PhaseSecondary {
				settings[i].SessionsPerWeek = 4
			}
		}
	}
	return mhstv1alpha1.SchoolCoverage{
		TypeMeta:   metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "SchoolCoverage"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       mhstv1alpha1.SchoolCoverageSpec{Settings: settings},
	}
}
