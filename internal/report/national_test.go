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
	got := National(nationalFixture(), 35)

	wantTotals := Figures{
		Areas: 4, AreasReporting: 3, Teams: 7, TeamsReady: 3,
		AreaCoverage: mhstv1alpha1.AreaCoverage{
			Settings: 103, SettingsCovered: 53, Pupils: 30001, PupilsCovered: 11001,
			DisadvantagedPupils: 8000, DisadvantagedPupilsCovered: 3000,
			PupilsCoveredPercent: "36.7", TargetMet: true,
		},
		DisadvantagedPupilsCoveredPercent: "37.5",
	}
	if got.Target != 35 || got.Totals != wantTotals {
		t.Errorf("totals = %+v (target %d), want %+v", got.Totals, got.Target, wantTotals)
	}

	wantWaves := []WaveRow{
		{Wave: 0, Figures: Figures{Areas: 2, AreasReporting: 2, Teams: 3, TeamsReady: 2,
			AreaCoverage: mhstv1alpha1.AreaCoverage{Settings: 43, SettingsCovered: 33, Pupils: 10001, PupilsCovered: 6001,
				DisadvantagedPupils: 3000, DisadvantagedPupilsCovered: 2000, PupilsCoveredPercent: "60.0", TargetMet: true},
			DisadvantagedPupilsCoveredPercent: "66.7"}},
		{Wave: 2, Figures: Figures{Areas: 2, AreasReporting: 1, Teams: 4, TeamsReady: 1,
			AreaCoverage: mhstv1alpha1.AreaCoverage{Settings: 60, SettingsCovered: 20, Pupils: 20000, PupilsCovered: 5000,
				DisadvantagedPupils: 5000, DisadvantagedPupilsCovered: 1000, PupilsCoveredPercent: "25.0", TargetMet: false},
			DisadvantagedPupilsCoveredPercent: "20.0"}},
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
		got := National(areas, tt.target)
		if got.Totals.TargetMet != tt.want || got.Totals.PupilsCoveredPercent != "50.0" {
			t.Errorf("target %d: met = %v (%s), want %v", tt.target, got.Totals.TargetMet, got.Totals.PupilsCoveredPercent, tt.want)
		}
	}
}

func TestNationalReportJSON(t *testing.T) {
	out, err := NationalReport(nil, 50)
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
	first, err := NationalReport(areas, 50)
	if err != nil {
		t.Fatal(err)
	}
	again, err := NationalReport(areas, 50)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(areas)
	areas[0], areas[2] = areas[2], areas[0]
	shuffled, err := NationalReport(areas, 50)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) || !bytes.Equal(first, shuffled) {
		t.Errorf("national report bytes depend on the call or on the order of areas:\n%s\n---\n%s", first, shuffled)
	}
}
