package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/plan"
)

var epoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func leeds() *mhstv1alpha1.LocalArea {
	target := int32(50)
	return &mhstv1alpha1.LocalArea{
		ObjectMeta: metav1.ObjectMeta{Name: "leeds"},
		Spec: mhstv1alpha1.LocalAreaSpec{
			DisplayName:        "Leeds",
			LocalAuthorityCode: "E08000035",
			Region:             "Yorkshire and The Humber",
			Wave:               2,
			CoverageTarget:     &target,
		},
	}
}

func setting(urn, name string, phase mhstv1alpha1.SettingPhase, pupils int32, disadvantaged *int32) mhstv1alpha1.Setting {
	return mhstv1alpha1.Setting{URN: urn, Name: name, Phase: phase, Pupils: pupils, DisadvantagedPupils: disadvantaged, SessionsPerWeek: 2}
}

func count(n int32) *int32 { return &n }

func allocation(name string, ageMinutes int, team string, agreement *mhstv1alpha1.Agreement, settings ...mhstv1alpha1.Setting) mhstv1alpha1.SchoolCoverage {
	c := mhstv1alpha1.SchoolCoverage{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(epoch.Add(time.Duration(ageMinutes) * time.Minute))},
		Spec:       mhstv1alpha1.SchoolCoverageSpec{Agreement: agreement, Settings: settings},
	}
	if team != "" {
		c.Spec.TeamRef = &mhstv1alpha1.TeamReference{Name: team}
	}
	return c
}

func supportTeam(name, displayName string, yearRound *bool) mhstv1alpha1.SupportTeam {
	return mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       mhstv1alpha1.SupportTeamSpec{DisplayName: displayName, YearRound: yearRound},
	}
}

// leedsFixture is an area with a covered team, a team that stops in the
// holidays with only a proposal, a conflict and settings no team covers.
func leedsFixture() ([]mhstv1alpha1.SchoolCoverage, []mhstv1alpha1.SupportTeam) {
	no := false
	board := &mhstv1alpha1.Agreement{DecisionRef: "GB-2025-03 item 4", AgreedAt: "2025-03-12", AgreedBy: "Leeds MHST governance board"}
	coverages := []mhstv1alpha1.SchoolCoverage{
		allocation("north", 0, "north-team", board,
			setting("107950", "St Mary's, Menston, Catholic Voluntary Academy", mhstv1alpha1.PhaseSecondary, 1200, count(180)),
			setting("107000", `Leeds "Free" Primary`, mhstv1alpha1.PhasePrimary, 400, nil),
		),
		allocation("south", 5, "south-team", nil,
			setting("107950", "St Mary's, Menston, Catholic Voluntary Academy", mhstv1alpha1.PhaseSecondary, 1200, count(180)),
			setting("108100", "Hunslet Moor Primary", mhstv1alpha1.PhasePrimary, 300, count(120)),
		),
		allocation("not-yet", 1, "", nil,
			setting("108200", "=Formula School", mhstv1alpha1.PhaseSpecial, 100, count(40)),
			setting("107000", `Leeds "Free" Primary`, mhstv1alpha1.PhasePrimary, 400, nil),
		),
	}
	teams := []mhstv1alpha1.SupportTeam{
		supportTeam("south-team", "Leeds South MHST", &no),
		supportTeam("north-team", "Leeds North MHST", nil),
	}
	return coverages, teams
}

func TestAreaReportJSON(t *testing.T) {
	coverages, teams := leedsFixture()
	area := leeds()
	res := coverage.Compute(coverages, teams, coverage.TargetOf(area))
	files, err := AreaReport(area, res, teams, plan.ForArea(area, res, teams, epoch))
	if err != nil {
		t.Fatal(err)
	}
	reportJSON := files.JSON
	var got AreaSummary
	if err := json.Unmarshal(reportJSON, &got); err != nil {
		t.Fatalf("report.json does not parse: %v\n%s", err, reportJSON)
	}

	wantArea := AreaInfo{Name: "leeds", DisplayName: "Leeds", LocalAuthorityCode: "E08000035", Region: "Yorkshire and The Humber", Wave: 2, CoverageTarget: 50}
	if got.Area != wantArea {
		t.Errorf("area = %+v, want %+v", got.Area, wantArea)
	}
	wantTotals := AreaTotals{
		AreaCoverage: mhstv1alpha1.AreaCoverage{
			Settings: 4, SettingsCovered: 2, Pupils: 2000, PupilsCovered: 1600,
			DisadvantagedPupils: 340, DisadvantagedPupilsCovered: 180,
			PupilsCoveredPercent: "80.0", TargetMet: true,
			SettingsCoveredPercent: "50.0", DisadvantagedPupilsCoveredPercent: "52.9",
			// 1000 × 180 × 2000 ÷ (340 × 1600) = 661.8
			EquityIndexPermille: count(662),
		},
		DisadvantagedUnknownSettings: 1,
	}
	if !reflect.DeepEqual(got.Totals, wantTotals) {
		t.Errorf("totals = %+v, want %+v", got.Totals, wantTotals)
	}
	wantTeams := []TeamRow{
		{Name: "north-team", DisplayName: "Leeds North MHST", Settings: 2, Pupils: 1600, DisadvantagedPupils: 180, SettingsCovered: 2, PupilsCovered: 1600, CapacityUsedPercent: "18.8", YearRound: true},
		{Name: "south-team", DisplayName: "Leeds South MHST", ProposedSettings: 1, CapacityUsedPercent: "0.0"},
	}
	if !reflect.DeepEqual(got.PerTeam, wantTeams) {
		t.Errorf("perTeam = %+v, want %+v", got.PerTeam, wantTeams)
	}
	wantPhases := []PhaseRow{
		{Phase: mhstv1alpha1.PhasePrimary, Settings: 2, SettingsCovered: 1, Pupils: 700, PupilsCovered: 400, DisadvantagedPupils: 120},
		{Phase: mhstv1alpha1.PhaseSecondary, Settings: 1, SettingsCovered: 1, Pupils: 1200, PupilsCovered: 1200, DisadvantagedPupils: 180, DisadvantagedPupilsCovered: 180},
		{Phase: mhstv1alpha1.PhaseSpecial, Settings: 1, Pupils: 100, DisadvantagedPupils: 40},
	}
	if !reflect.DeepEqual(got.PerPhase, wantPhases) {
		t.Errorf("perPhase = %+v, want %+v", got.PerPhase, wantPhases)
	}
	wantNoTeam := []SettingRef{{URN: "108200", Name: "=Formula School", Pupils: 100}}
	if !reflect.DeepEqual(got.SettingsWithNoTeam, wantNoTeam) {
		t.Errorf("settingsWithNoTeam = %+v, want %+v", got.SettingsWithNoTeam, wantNoTeam)
	}
	// The two settings no agreed team allocation covers, most
	// disadvantaged first.
	wantGaps := []Gap{
		{URN: "108100", Name: "Hunslet Moor Primary", Phase: mhstv1alpha1.PhasePrimary, Pupils: 300, DisadvantagedPupils: count(120)},
		{URN: "108200", Name: "=Formula School", Phase: mhstv1alpha1.PhaseSpecial, Pupils: 100, DisadvantagedPupils: count(40)},
	}
	if !reflect.DeepEqual(got.Gaps, wantGaps) {
		t.Errorf("gaps = %+v, want %+v", got.Gaps, wantGaps)
	}
	// Target 50 % of 2000 = 1000 ≤ 1600 covered.
	wantPlan := PlanSummary{
		AreaPlan: mhstv1alpha1.AreaPlan{Target: mhstv1alpha1.PlanTarget{Percent: 50}, SpareCapacityPupils: (8500 - 1600) + 8500},
		OnTrack:  OnTrack{Status: true, Reason: mhstv1alpha1.ReasonTargetMet, Message: got.Plan.OnTrack.Message},
	}
	if got.Plan != wantPlan || got.Plan.OnTrack.Message == "" {
		t.Errorf("plan = %+v, want %+v", got.Plan, wantPlan)
	}
	if !slices.Equal(got.TeamsNotYearRound, []string{"south-team"}) {
		t.Errorf("teamsNotYearRound = %v, want [south-team]", got.TeamsNotYearRound)
	}
	if got.Licence != Licence || !strings.Contains(Licence, "Open Government Licence v3.0") {
		t.Errorf("licence = %q", got.Licence)
	}
	wantAllocations := []AllocationRow{
		{Name: "north", Team: "north-team", Agreed: true, DecisionRef: "GB-2025-03 item 4", AgreedAt: "2025-03-12", AgreedBy: "Leeds MHST governance board",
			Settings: 2, Pupils: 1600, SettingsCovered: 2, PupilsCovered: 1600, Conflicts: []mhstv1alpha1.Conflict{}},
		{Name: "not-yet", Settings: 1, Pupils: 100, Conflicts: []mhstv1alpha1.Conflict{}},
		{Name: "south", Team: "south-team", Settings: 1, Pupils: 300, Conflicts: []mhstv1alpha1.Conflict{{URN: "107950", ClaimedBy: "north"}}},
	}
	if !reflect.DeepEqual(got.PerAllocation, wantAllocations) {
		t.Errorf("perAllocation = %+v, want %+v", got.PerAllocation, wantAllocations)
	}
}

func TestAreaReportEmptyListsAreArrays(t *testing.T) {
	res := coverage.Compute(nil, nil, 100)
	files, err := AreaReport(leeds(), res, nil, plan.ForArea(leeds(), res, nil, epoch))
	if err != nil {
		t.Fatal(err)
	}
	reportJSON, settingsCSV := files.JSON, files.SettingsCSV
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(reportJSON, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"perTeam", "perAllocation", "perPhase", "settingsWithNoTeam", "gaps", "teamsNotYearRound"} {
		if string(raw[key]) != "[]" {
			t.Errorf("%s = %s, want []", key, raw[key])
		}
	}
	if want := strings.Join(CSVHeader, ",") + "\n"; string(settingsCSV) != want {
		t.Errorf("csv of an empty area = %q, want only the header", settingsCSV)
	}
	if want := strings.Join(GapsCSVHeader, ",") + "\n"; string(files.GapsCSV) != want {
		t.Errorf("gaps.csv of an empty area = %q, want only the header", files.GapsCSV)
	}
}

func TestSettingsCSV(t *testing.T) {
	coverages, teams := leedsFixture()
	res := coverage.Compute(coverages, teams, 100)
	files, err := AreaReport(leeds(), res, teams, plan.ForArea(leeds(), res, teams, epoch))
	if err != nil {
		t.Fatal(err)
	}
	settingsCSV := files.SettingsCSV
	rows, err := csv.NewReader(bytes.NewReader(settingsCSV)).ReadAll()
	if err != nil {
		t.Fatalf("settings.csv does not parse: %v\n%s", err, settingsCSV)
	}
	want := [][]string{
		{"urn", "name", "phase", "pupils", "disadvantaged_pupils", "team", "covered", "sessions_per_week"},
		{"107000", `Leeds "Free" Primary`, "Primary", "400", "", "north-team", "true", "2"},
		{"107950", "St Mary's, Menston, Catholic Voluntary Academy", "Secondary", "1200", "180", "north-team", "true", "2"},
		{"108100", "Hunslet Moor Primary", "Primary", "300", "120", "south-team", "false", "2"},
		{"108200", "'=Formula School", "Special", "100", "40", "", "false", "2"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("csv rows:\n got %q\nwant %q", rows, want)
	}
}

func TestSpreadsheetSafe(t *testing.T) {
	tests := map[string]string{
		"":                  "",
		"Abbey Grange":      "Abbey Grange",
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")",
		"+44":               "'+44",
		"-1":                "'-1",
		"@SUM(A1)":          "'@SUM(A1)",
		"St Mary's":         "St Mary's",
		"A=B":               "A=B",
	}
	for in, want := range tests {
		if got := spreadsheetSafe(in); got != want {
			t.Errorf("spreadsheetSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAreaReportIsDeterministic(t *testing.T) {
	coverages, teams := leedsFixture()
	area := leeds()
	report := func() ([]byte, []byte) {
		res := coverage.Compute(coverages, teams, 50)
		files, err := AreaReport(area, res, teams, plan.ForArea(area, res, teams, epoch))
		if err != nil {
			t.Fatal(err)
		}
		return files.JSON, append(files.SettingsCSV, files.GapsCSV...)
	}
	firstJSON, firstCSV := report()
	for range 5 {
		againJSON, againCSV := report()
		if !bytes.Equal(firstJSON, againJSON) || !bytes.Equal(firstCSV, againCSV) {
			t.Fatal("same input gave different bytes")
		}
	}
	slices.Reverse(coverages)
	slices.Reverse(teams)
	shuffledJSON, shuffledCSV := report()
	if !bytes.Equal(firstJSON, shuffledJSON) {
		t.Errorf("input order changed report.json:\n%s\n---\n%s", firstJSON, shuffledJSON)
	}
	if !bytes.Equal(firstCSV, shuffledCSV) {
		t.Errorf("input order changed settings.csv:\n%s\n---\n%s", firstCSV, shuffledCSV)
	}
	if bytes.Contains(firstJSON, []byte("T09:00:00")) {
		t.Error("report.json carries a timestamp")
	}
}

func TestGaps(t *testing.T) {
	settings := []coverage.SettingRecord{
		{URN: "100001", Name: "Covered", Pupils: 900, DisadvantagedPupils: count(400), Covered: true},
		{URN: "100002", Name: "Few disadvantaged, many pupils", Pupils: 1500, DisadvantagedPupils: count(10)},
		{URN: "100003", Name: "Unknown", Pupils: 2000},
		{URN: "100004", Name: "Most disadvantaged", Pupils: 200, DisadvantagedPupils: count(150)},
		{URN: "100006", Name: "Tie, larger", Pupils: 600, DisadvantagedPupils: count(60)},
		{URN: "100005", Name: "Tie on both, later URN", Pupils: 500, DisadvantagedPupils: count(60)},
		{URN: "100007", Name: "Tie on both, earlier URN", Pupils: 500, DisadvantagedPupils: count(60)},
		{URN: "100008", Name: "No disadvantaged", Pupils: 3000, DisadvantagedPupils: count(0)},
	}
	var urns []string
	for _, g := range Gaps(settings) {
		urns = append(urns, g.URN)
	}
	// An unknown count ranks as 0, by pupils beside a known 0.
	want := []string{"100004", "100006", "100005", "100007", "100002", "100008", "100003"}
	if !slices.Equal(urns, want) {
		t.Errorf("gaps ranked %v, want %v", urns, want)
	}
	out, err := GapsCSV(Gaps(settings)[:2])
	if err != nil {
		t.Fatal(err)
	}
	if want := "urn,name,phase,pupils,disadvantaged_pupils\n100004,Most disadvantaged,,200,150\n100006,\"Tie, larger\",,600,60\n"; string(out) != want {
		t.Errorf("gaps.csv = %q, want %q", out, want)
	}
}
