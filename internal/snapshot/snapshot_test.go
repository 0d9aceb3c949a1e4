package snapshot

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/plan"
	"github.com/mhst-io/mhst-operator/internal/report"
)

func ptr[T any](v T) *T { return &v }

// rutland is the worked example of docs/coverage.md: five settings, three
// allocations, two teams.
func rutland() ([]mhstv1alpha1.SchoolCoverage, []mhstv1alpha1.SupportTeam) {
	at := func(minutes int) metav1.Time {
		return metav1.NewTime(time.Date(2025, 3, 1, 9, minutes, 0, 0, time.UTC))
	}
	setting := func(urn, name string, pupils, fsm int32) mhstv1alpha1.Setting {
		return mhstv1alpha1.Setting{URN: urn, Name: name, Phase: mhstv1alpha1.PhaseSecondary, Pupils: pupils, DisadvantagedPupils: ptr(fsm)}
	}
	oakham := setting("120181", "Oakham CofE Primary School", 253, 46)
	catmose := setting("136530", "Catmose College", 1069, 147)
	catmosePrimary := setting("138113", "Catmose Primary", 207, 17)
	uppingham := setting("136629", "Uppingham Community College", 910, 118)
	casterton := mhstv1alpha1.Setting{URN: "137340", Name: "Casterton College Rutland", Phase: mhstv1alpha1.PhaseSecondary, Pupils: 967}
	covs := []mhstv1alpha1.SchoolCoverage{
		{ObjectMeta: metav1.ObjectMeta{Name: "oakham", CreationTimestamp: at(0)}, Spec: mhstv1alpha1.SchoolCoverageSpec{
			TeamRef: &mhstv1alpha1.TeamReference{Name: "team-oakham"}, Agreement: &mhstv1alpha1.Agreement{DecisionRef: "RGB-2025-03 item 4"},
			Settings: []mhstv1alpha1.Setting{oakham, catmose, catmosePrimary}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "uppingham", CreationTimestamp: at(1)}, Spec: mhstv1alpha1.SchoolCoverageSpec{
			TeamRef: &mhstv1alpha1.TeamReference{Name: "team-uppingham"}, Settings: []mhstv1alpha1.Setting{uppingham, catmose}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "not-yet", CreationTimestamp: at(2)}, Spec: mhstv1alpha1.SchoolCoverageSpec{
			Settings: []mhstv1alpha1.Setting{casterton, catmosePrimary}}},
	}
	teams := []mhstv1alpha1.SupportTeam{{ObjectMeta: metav1.ObjectMeta{Name: "team-oakham"}}, {ObjectMeta: metav1.ObjectMeta{Name: "team-uppingham"}}}
	return covs, teams
}

func TestAreaRecord(t *testing.T) {
	covs, teams := rutland()
	// team-oakham, which covers all that is covered, is still in training
	// on the day the snapshot is taken.
	teams[0].Spec.OperationalFrom = "2025-09-01"
	res := coverage.Compute(covs, teams, 100)
	p := plan.ForArea(&mhstv1alpha1.LocalArea{}, res, teams, time.Date(2025, 3, 31, 0, 0, 1, 0, time.UTC))
	got, settings := Area(res, p)
	if !reflect.DeepEqual(got, p.Coverage) {
		t.Errorf("coverage %+v; want the area's status.coverage %+v", got, p.Coverage)
	}
	if got.PupilsCoveredByTeamsInTraining != 1529 {
		t.Errorf("pupils covered by teams in training %d; want team-oakham's 1529", got.PupilsCoveredByTeamsInTraining)
	}
	if got.EquityIndexPermille == p.Coverage.EquityIndexPermille {
		t.Error("the record shares the equity index with the plan: a change to one would change the other")
	}
	want := []mhstv1alpha1.SnapshotSetting{
		{URN: "120181", Name: "Oakham CofE Primary School", Pupils: 253, DisadvantagedPupils: ptr[int64](46), Covered: true, Team: "team-oakham", Allocation: "oakham", DecisionRef: "RGB-2025-03 item 4"},
		{URN: "136530", Name: "Catmose College", Pupils: 1069, DisadvantagedPupils: ptr[int64](147), Covered: true, Team: "team-oakham", Allocation: "oakham", DecisionRef: "RGB-2025-03 item 4"},
		{URN: "136629", Name: "Uppingham Community College", Pupils: 910, DisadvantagedPupils: ptr[int64](118), Team: "team-uppingham", Allocation: "uppingham"},
		{URN: "137340", Name: "Casterton College Rutland", Pupils: 967, Allocation: "not-yet"},
		{URN: "138113", Name: "Catmose Primary", Pupils: 207, DisadvantagedPupils: ptr[int64](17), Covered: true, Team: "team-oakham", Allocation: "oakham", DecisionRef: "RGB-2025-03 item 4"},
	}
	if !reflect.DeepEqual(settings, want) {
		t.Errorf("settings:\n got %+v\nwant %+v", settings, want)
	}
	if got.PupilsCovered != 1529 || got.Pupils != 3406 || got.PupilsCoveredPercent != "44.9" {
		t.Errorf("figures %+v; want the worked example's 1529 of 3406, 44.9", got)
	}
}

func TestNationalRecord(t *testing.T) {
	areas := []mhstv1alpha1.LocalArea{
		{ObjectMeta: metav1.ObjectMeta{Name: "wigan"}, Status: mhstv1alpha1.LocalAreaStatus{Coverage: &mhstv1alpha1.AreaCoverage{
			Settings: 3, SettingsCovered: 1, Pupils: 300, PupilsCovered: 100, DisadvantagedPupils: 30, DisadvantagedPupilsCovered: 10, PupilsCoveredPercent: "33.3"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "brent"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "camden"}, Status: mhstv1alpha1.LocalAreaStatus{Coverage: &mhstv1alpha1.AreaCoverage{
			Settings: 2, SettingsCovered: 2, Pupils: 700, PupilsCovered: 700, DisadvantagedPupils: 70, DisadvantagedPupilsCovered: 70, PupilsCoveredPercent: "100.0", TargetMet: true}}},
	}
	summary := report.National(areas, nil, 50)
	got, rows := National(summary)
	// The percentages and the equity index come from the national sums.
	equity := int32(1000) // 80 of 100 disadvantaged pupils, 800 of 1000 pupils: in proportion
	want := mhstv1alpha1.AreaCoverage{Settings: 5, SettingsCovered: 3, Pupils: 1000, PupilsCovered: 800, DisadvantagedPupils: 100,
		DisadvantagedPupilsCovered: 80, PupilsCoveredPercent: "80.0", TargetMet: true,
		SettingsCoveredPercent: "60.0", DisadvantagedPupilsCoveredPercent: "80.0", EquityIndexPermille: &equity}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("national figures %+v; want %+v", got, want)
	}
	if !reflect.DeepEqual(got, summary.Totals.AreaCoverage) {
		t.Errorf("national figures differ from the national report's totals")
	}
	wantRows := []mhstv1alpha1.SnapshotArea{
		{Name: "brent"},
		{Name: "camden", Coverage: areas[2].Status.Coverage},
		{Name: "wigan", Coverage: areas[0].Status.Coverage},
	}
	// The rows are the national report's: each area's counts, with the
	// percentages it derives from them.
	sameCounts := func(a, b *mhstv1alpha1.AreaCoverage) bool {
		if a == nil || b == nil {
			return a == b
		}
		return a.Settings == b.Settings && a.SettingsCovered == b.SettingsCovered && a.Pupils == b.Pupils &&
			a.PupilsCovered == b.PupilsCovered && a.PupilsCoveredPercent == b.PupilsCoveredPercent && a.TargetMet == b.TargetMet
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("areas:\n got %+v\nwant %+v", rows, wantRows)
	}
	for i := range rows {
		if rows[i].Name != wantRows[i].Name || !sameCounts(rows[i].Coverage, wantRows[i].Coverage) {
			t.Errorf("area %d: got %+v, want %+v", i, rows[i], wantRows[i])
		}
	}
}

func TestCheckSize(t *testing.T) {
	tests := []struct {
		name    string
		status  mhstv1alpha1.CoverageSnapshotStatus
		wantErr string
	}{
		{"the schema's maximum of settings", mhstv1alpha1.CoverageSnapshotStatus{Settings: make([]mhstv1alpha1.SnapshotSetting, mhstv1alpha1.MaxSnapshotSettings)}, ""},
		{"one setting more", mhstv1alpha1.CoverageSnapshotStatus{Settings: make([]mhstv1alpha1.SnapshotSetting, mhstv1alpha1.MaxSnapshotSettings+1)}, "the area has 3001 settings; a snapshot records at most 3000"},
		{"one area more", mhstv1alpha1.CoverageSnapshotStatus{Areas: make([]mhstv1alpha1.SnapshotArea, mhstv1alpha1.MaxSnapshotAreas+1)}, "there are 1001 areas"},
		{"too many bytes", mhstv1alpha1.CoverageSnapshotStatus{Settings: []mhstv1alpha1.SnapshotSetting{{Name: strings.Repeat("x", MaxBytes)}}}, "bytes; a snapshot holds at most 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSize(&tt.status)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v; want one saying %q", err, tt.wantErr)
			}
		})
	}
}

// takenArea is a small Area status whose names need escaping.
func takenArea() *mhstv1alpha1.CoverageSnapshotStatus {
	return &mhstv1alpha1.CoverageSnapshotStatus{
		ObservedGeneration: 1,
		TakenAt:            &metav1.Time{Time: time.Date(2026, 3, 31, 0, 0, 2, 0, time.UTC)},
		Coverage: &mhstv1alpha1.AreaCoverage{Settings: 2, SettingsCovered: 1, Pupils: 300, PupilsCovered: 200,
			DisadvantagedPupils: 20, DisadvantagedPupilsCovered: 20, PupilsCoveredPercent: "66.7"},
		Settings: []mhstv1alpha1.SnapshotSetting{
			{URN: "100001", Name: `St Mary's "Star" <Academy> & Sixth Form`, Pupils: 200, DisadvantagedPupils: ptr[int64](20), Covered: true, Team: "alpha", Allocation: "a", DecisionRef: "GB\titem 4"},
			{URN: "100002", Name: "École Française\\Bilingue", Pupils: 100, Allocation: "gaps"},
		},
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Taken"}},
	}
}

const takenAreaCanonical = `{"coverage":{"disadvantagedPupils":20,"disadvantagedPupilsCovered":20,"disadvantagedPupilsCoveredPercent":"","pupils":300,"pupilsCovered":200,"pupilsCoveredByTeamsInTraining":0,"pupilsCoveredPercent":"66.7","settings":2,"settingsCovered":1,"settingsCoveredPercent":"","targetMet":false},` +
	`"settings":[{"allocation":"a","covered":true,"decisionRef":"GB\titem 4","disadvantagedPupils":20,"name":"St Mary's \"Star\" <Academy> & Sixth Form","pupils":200,"team":"alpha","urn":"100001"},` +
	`{"allocation":"gaps","covered":false,"name":"École Française\\Bilingue","pupils":100,"urn":"100002"}]}`

func TestCanonical(t *testing.T) {
	got, err := Canonical(mhstv1alpha1.ScopeArea, takenArea())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != takenAreaCanonical {
		t.Errorf("canonical form:\n got %s\nwant %s", got, takenAreaCanonical)
	}

	national := &mhstv1alpha1.CoverageSnapshotStatus{
		Coverage: &mhstv1alpha1.AreaCoverage{PupilsCoveredPercent: "0.0"},
		Areas:    []mhstv1alpha1.SnapshotArea{{Name: "brent"}},
		Settings: []mhstv1alpha1.SnapshotSetting{{URN: "999999"}}, // not part of a National record
	}
	got, err = Canonical(mhstv1alpha1.ScopeNational, national)
	if err != nil {
		t.Fatal(err)
	}
	const wantNational = `{"areas":[{"name":"brent"}],"coverage":{"disadvantagedPupils":0,"disadvantagedPupilsCovered":0,"disadvantagedPupilsCoveredPercent":"","pupils":0,"pupilsCovered":0,"pupilsCoveredByTeamsInTraining":0,"pupilsCoveredPercent":"0.0","settings":0,"settingsCovered":0,"settingsCoveredPercent":"","targetMet":false}}`
	if string(got) != wantNational {
		t.Errorf("national canonical form:\n got %s\nwant %s", got, wantNational)
	}

	// An area with no settings: the member is null, as jq prints a field
	// the stored status does not have.
	got, err = Canonical(mhstv1alpha1.ScopeArea, &mhstv1alpha1.CoverageSnapshotStatus{Coverage: &mhstv1alpha1.AreaCoverage{PupilsCoveredPercent: "0.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(got), `,"settings":null}`) {
		t.Errorf("empty area: %s; want settings null", got)
	}

	if _, err := Canonical("Region", national); err == nil {
		t.Error("a scope that is neither Area nor National was sealed")
	}
}

// TestDigestOfStoredObject: the digest of the typed status equals that of
// the same status read back as JSON (what kubectl returns), and changes
// with any figure, setting or area.
func TestDigestOfStoredObject(t *testing.T) {
	typed := takenArea()
	want, err := Digest(mhstv1alpha1.ScopeArea, typed)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 64 || strings.Trim(want, "0123456789abcdef") != "" {
		t.Fatalf("digest %q is not 64 lower-case hex digits", want)
	}
	data, err := json.Marshal(typed)
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	if got, err := Digest(mhstv1alpha1.ScopeArea, stored); err != nil || got != want {
		t.Errorf("digest of the stored JSON %s (%v); of the typed status %s", got, err, want)
	}

	changes := map[string]func(s *mhstv1alpha1.CoverageSnapshotStatus){
		"a figure":            func(s *mhstv1alpha1.CoverageSnapshotStatus) { s.Coverage.PupilsCovered++ },
		"a setting uncovered": func(s *mhstv1alpha1.CoverageSnapshotStatus) { s.Settings[0].Covered = false },
		"a decision":          func(s *mhstv1alpha1.CoverageSnapshotStatus) { s.Settings[0].DecisionRef = "GB item 5" },
		"a setting removed":   func(s *mhstv1alpha1.CoverageSnapshotStatus) { s.Settings = s.Settings[:1] },
	}
	for name, change := range changes {
		s := takenArea()
		change(s)
		if got, _ := Digest(mhstv1alpha1.ScopeArea, s); got == want {
			t.Errorf("%s: the digest did not change", name)
		}
	}
	// What is not sealed does not change it: when it was taken and its
	// conditions are the object's own, not the record's.
	s := takenArea()
	s.TakenAt = nil
	s.Conditions = nil
	if got, _ := Digest(mhstv1alpha1.ScopeArea, s); got != want {
		t.Error("the digest depends on takenAt or conditions, which docs/coverage.md says it does not")
	}
}

// TestDigestIsWhatJQComputes runs the command docs/coverage.md gives
// auditors. It needs jq, which `make test` installs (hack/test-tools.sh);
// without it the test fails rather than passing unchecked.
func TestDigestIsWhatJQComputes(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Fatal("jq is not installed: run `make test`, or hack/test-tools.sh jq, which installs it from Debian's packages")
	}
	status := takenArea()
	object, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(jq, "-cS", "{coverage: .status.coverage, settings: .status.settings}")
	cmd.Stdin = strings.NewReader(string(object))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq: %v", err)
	}
	want, err := Canonical(mhstv1alpha1.ScopeArea, status)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSuffix(string(out), "\n"); got != string(want) {
		t.Errorf("jq prints\n%s\nthe digest hashes\n%s", got, want)
	}
}
