package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

func reportedArea(name, region string, wave int32, teams, ready int32, c *mhstv1alpha1.AreaCoverage) mhstv1alpha1.LocalArea {
	return mhstv1alpha1.LocalArea{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       mhstv1alpha1.LocalAreaSpec{DisplayName: name, LocalAuthorityCode: "E06000010", Region: region, Wave: wave},
		Status:     mhstv1alpha1.LocalAreaStatus{Teams: mhstv1alpha1.TeamCounts{Total: teams, Ready: ready}, Coverage: c},
	}
}

func nationalFixture() []mhstv1alpha1.LocalArea {
	return []mhstv1alpha1.LocalArea{
		reportedArea("hull", "Yorkshire and The Humber", 0, 2, 2, &mhstv1alpha1.AreaCoverage{
			Settings: 40, SettingsCovered: 30, Pupils: 10000, PupilsCovered: 6000, DisadvantagedPupils: 3000, DisadvantagedPupilsCovered: 2000,
			PupilsCoveredPercent: "60.0", TargetMet: false,
		}),
		reportedArea("leeds", "Yorkshire and The Humber", 2, 3, 1, &mhstv1alpha1.AreaCoverage{
			Settings: 60, SettingsCovered: 20, Pupils: 20000, PupilsCovered: 5000, DisadvantagedPupils: 5000, DisadvantagedPupilsCovered: 1000,
			PupilsCoveredPercent: "25.0",
		}),
		reportedArea("camden", "London", 0, 1, 0, &mhstv1alpha1.AreaCoverage{
			Settings: 3, SettingsCovered: 3, Pupils: 1, PupilsCovered: 1, PupilsCoveredPercent: "100.0", TargetMet: true,
		}),
		// Not reported yet: counts as an area, adds nothing else.
		reportedArea("york", "Yorkshire and The Humber", 2, 1, 0, nil),
	}
}

func TestNational(t *testing.T) {
	got := National(nationalFixture(), nil, 35)

	wantTotals := Figures{
		Areas: 4, AreasReporting: 3, Teams: 7, TeamsReady: 3,
		AreaCoverage: mhstv1alpha1.AreaCoverage{
			Settings: 103, SettingsCovered: 53, Pupils: 30001, PupilsCovered: 11001,
			DisadvantagedPupils: 8000, DisadvantagedPupilsCovered: 3000,
			PupilsCoveredPercent: "36.7", TargetMet: true,
			SettingsCoveredPercent: "51.5", DisadvantagedPupilsCoveredPercent: "37.5",
			// 1000 × 3000 × 30001 ÷ (8000 × 11001) = 1022.7
			EquityIndexPermille: ptr(1023),
		},
	}
	if got.Target != 35 || !reflect.DeepEqual(got.Totals, wantTotals) {
		t.Errorf("totals = %+v (target %d), want %+v", got.Totals, got.Target, wantTotals)
	}

	wantWaves := []WaveRow{
		{Wave: 0, Figures: Figures{Areas: 2, AreasReporting: 2, Teams: 3, TeamsReady: 2,
			AreaCoverage: mhstv1alpha1.AreaCoverage{Settings: 43, SettingsCovered: 33, Pupils: 10001, PupilsCovered: 6001,
				DisadvantagedPupils: 3000, DisadvantagedPupilsCovered: 2000, PupilsCoveredPercent: "60.0", TargetMet: true,
				// 33/43; 1000 × 2000 × 10001 ÷ (3000 × 6001) = 1111.0
				SettingsCoveredPercent: "76.7", DisadvantagedPupilsCoveredPercent: "66.7", EquityIndexPermille: ptr(1111)}}},
		{Wave: 2, Figures: Figures{Areas: 2, AreasReporting: 1, Teams: 4, TeamsReady: 1,
			AreaCoverage: mhstv1alpha1.AreaCoverage{Settings: 60, SettingsCovered: 20, Pupils: 20000, PupilsCovered: 5000,
				DisadvantagedPupils: 5000, DisadvantagedPupilsCovered: 1000, PupilsCoveredPercent: "25.0", TargetMet: false,
				// 1000 × 1000 × 20000 ÷ (5000 × 5000) = 800
				SettingsCoveredPercent: "33.3", DisadvantagedPupilsCoveredPercent: "20.0", EquityIndexPermille: ptr(800)}}},
	}
	if !reflect.DeepEqual(got.ByWave, wantWaves) {
		t.Errorf("byWave:\n got %+v\nwant %+v", got.ByWave, wantWaves)
	}

	var regions []string
	for _, r := range got.ByRegion {
		regions = append(regions, r.Region)
	}
	if !slices.Equal(regions, []string{"London", "Yorkshire and The Humber"}) {
		t.Errorf("regions = %v", regions)
	}
	if yorks := got.ByRegion[1]; yorks.Areas != 3 || yorks.PupilsCovered != 11000 || yorks.Pupils != 30000 || yorks.PupilsCoveredPercent != "36.7" {
		t.Errorf("Yorkshire and The Humber = %+v", yorks)
	}

	var names []string
	for _, a := range got.Areas {
		names = append(names, a.Name)
	}
	if !slices.Equal(names, []string{"camden", "hull", "leeds", "york"}) {
		t.Errorf("areas = %v, want sorted by name", names)
	}
	// hull's status says the target is missed, but its own target defaults
	// to 100 and 60% misses it; camden meets 100 exactly.
	if hull := got.Areas[1]; !hull.CoverageReported || hull.CoverageTarget != 100 || hull.TargetMet || hull.DisadvantagedPupilsCoveredPercent != "66.7" {
		t.Errorf("hull row = %+v", hull)
	}
	if camden := got.Areas[0]; !camden.TargetMet {
		t.Errorf("camden row = %+v, want target met", camden)
	}
	york := got.Areas[3]
	if york.CoverageReported || york.TargetMet || york.Pupils != 0 || york.PupilsCoveredPercent != "0.0" || york.Teams != 1 {
		t.Errorf("unreported york row = %+v", york)
	}
}

func TestNationalTargetBoundary(t *testing.T) {
	areas := []mhstv1alpha1.LocalArea{reportedArea("a", "London", 1, 1, 1, &mhstv1alpha1.AreaCoverage{Pupils: 2000, PupilsCovered: 999})}
	tests := []struct {
		target int32
		want   bool
	}{
		{0, true},
		{49, true},
		{50, false}, // 999 × 100 < 50 × 2000, although "50.0" is what the percent rounds to
		{100, false},
	}
	for _, tt := range tests {
		got := National(areas, nil, tt.target)
		if got.Totals.TargetMet != tt.want || got.Totals.PupilsCoveredPercent != "50.0" {
			t.Errorf("target %d: met = %v (%s), want %v", tt.target, got.Totals.TargetMet, got.Totals.PupilsCoveredPercent, tt.want)
		}
	}
}

func TestNationalReportJSON(t *testing.T) {
	out, err := NationalReport(nil, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("national report does not parse: %v\n%s", err, out)
	}
	for _, key := range []string{"byWave", "byRegion", "areas"} {
		if string(raw[key]) != "[]" {
			t.Errorf("%s = %s, want []", key, raw[key])
		}
	}
	var totals map[string]any
	if err := json.Unmarshal(raw["totals"], &totals); err != nil {
		t.Fatal(err)
	}
	// The AreaCoverage fields are inlined under the contract's names.
	if totals["pupilsCoveredPercent"] != "0.0" || totals["targetMet"] != true || totals["areas"] != float64(0) {
		t.Errorf("totals of no areas = %v", totals)
	}
}

func TestNationalReportIsDeterministic(t *testing.T) {
	areas := nationalFixture()
	first, err := NationalReport(areas, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	again, err := NationalReport(areas, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(areas)
	areas[0], areas[2] = areas[2], areas[0]
	shuffled, err := NationalReport(areas, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) || !bytes.Equal(first, shuffled) {
		t.Errorf("national report bytes depend on the call or on the order of areas:\n%s\n---\n%s", first, shuffled)
	}
}

func ptr(v int32) *int32 { return &v }

func TestNationalPlanAndTraining(t *testing.T) {
	areas := nationalFixture()
	areas[0].Status.Coverage.PupilsCoveredByTeamsInTraining = 1200
	areas[1].Status.Coverage.PupilsCoveredByTeamsInTraining = 300
	areas[0].Status.Plan = &mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{Percent: 100}, PupilsShort: 4000, AdditionalTeamsNeeded: 1}
	areas[1].Status.Plan = &mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{By: "2026-03-31", Percent: 100}, PupilsShort: 15000, SpareCapacityPupils: 20000}
	areas[3].Status.Plan = &mhstv1alpha1.AreaPlan{AdditionalTeamsNeeded: 2}
	got := National(areas, nil, 100)
	// Teams are commissioned per area: leeds' spare capacity does not make
	// up hull's shortfall, so the teams needed add up: 1 + 0 + 2.
	if got.Totals.AdditionalTeamsNeeded != 3 || got.Totals.PupilsCoveredByTeamsInTraining != 1500 {
		t.Errorf("totals = %+v, want 3 more teams and 1500 pupils covered by teams in training", got.Totals)
	}
	if w := got.ByWave[0]; w.AdditionalTeamsNeeded != 1 || w.PupilsCoveredByTeamsInTraining != 1200 {
		t.Errorf("wave 0 = %+v", w)
	}
	if hull := got.Areas[1]; hull.Plan == nil || hull.Plan.PupilsShort != 4000 {
		t.Errorf("hull row plan = %+v", hull.Plan)
	}
	if camden := got.Areas[0]; camden.Plan != nil {
		t.Errorf("camden has no plan, row says %+v", camden.Plan)
	}
}

func TestSettingsInMoreThanOneArea(t *testing.T) {
	areas := nationalFixture()
	areas[0].Status.Namespace = "mhst-hull"
	areas[1].Status.Namespace = "mhst-leeds"
	areas[2].Status.Namespace = "mhst-camden"
	list := func(ns, name string, urns ...string) mhstv1alpha1.SchoolCoverage {
		c := mhstv1alpha1.SchoolCoverage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		for _, u := range urns {
			c.Spec.Settings = append(c.Spec.Settings, mhstv1alpha1.Setting{URN: u, Name: "School " + u})
		}
		return c
	}
	coverages := []mhstv1alpha1.SchoolCoverage{
		list("mhst-leeds", "a", "100001", "100002", "100003"),
		list("mhst-leeds", "b", "100002"), // twice in one area: not listed
		list("mhst-hull", "c", "100003", "100001"),
		list("mhst-camden", "d", "100001"),
		list("elsewhere", "e", "100002"), // no area holds the namespace
	}
	got := National(areas, coverages, 100).SettingsInMoreThanOneArea
	want := []SharedSetting{
		{URN: "100001", Name: "School 100001", Areas: []string{"camden", "hull", "leeds"}},
		{URN: "100003", Name: "School 100003", Areas: []string{"hull", "leeds"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settingsInMoreThanOneArea = %+v, want %+v", got, want)
	}
	if none := National(areas, nil, 100).SettingsInMoreThanOneArea; none == nil || len(none) != 0 {
		t.Errorf("with no coverages: %#v, want an empty list", none)
	}
}
