package register

import (
	"bytes"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

func TestAreaName(t *testing.T) {
	tests := []struct {
		displayName string
		want        string
		wantErr     bool
	}{
		{displayName: "Leeds", want: "leeds"},
		{displayName: "Kingston upon Hull, City of", want: "kingston-upon-hull-city-of"},
		{displayName: "St. Helens", want: "st-helens"},
		{displayName: "Stockton-on-Tees", want: "stockton-on-tees"},
		{displayName: "  Bournemouth, Christchurch and Poole  ", want: "bournemouth-christchurch-and-poole"},
		{displayName: strings.Repeat("Ab ", 30), want: strings.TrimSuffix(strings.Repeat("ab-", 20), "-")[:58]},
		{displayName: "---", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.displayName, func(t *testing.T) {
			got, err := AreaName(tt.displayName)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("AreaName = %q, want %q", got, tt.want)
			}
			if len(got) > 58 || strings.HasSuffix(got, "-") {
				t.Errorf("AreaName = %q is not a valid area name", got)
			}
		})
	}
}

// fixtureSchools are a few schools in three authorities, one reorganised
// since 2022/23 (E10000023 is E06000065 today) and one whose lookup row has
// no DfE number (Sheffield).
func fixtureSchools() ([]School, Directory) {
	schools := []School{
		{URN: "300002", Name: "B", LACode: "E10000023", OldLACode: "815", LAName: "North Yorkshire", PhaseTypeGrouping: groupingPrimary, Phase: mhstv1alpha1.PhasePrimary, Pupils: 10},
		{URN: "300001", Name: "A", LACode: "E10000023", OldLACode: "815", LAName: "North Yorkshire", PhaseTypeGrouping: groupingSecondary, Phase: mhstv1alpha1.PhaseSecondary, Pupils: 20},
		{URN: "300003", Name: "Prep", LACode: "E10000023", OldLACode: "815", LAName: "North Yorkshire", PhaseTypeGrouping: groupingIndependent, Phase: mhstv1alpha1.PhaseAllThrough, Pupils: 30},
		{URN: "400001", Name: "S", LACode: "E08000019", OldLACode: "373", LAName: "Sheffield", RegionName: "Yorkshire and The Humber", PhaseTypeGrouping: groupingPrimary, Phase: mhstv1alpha1.PhasePrimary, Pupils: 40},
		{URN: "500001", Name: "Only prep", LACode: "E09000001", OldLACode: "201", LAName: "City of London", PhaseTypeGrouping: groupingIndependent, Phase: mhstv1alpha1.PhaseAllThrough, Pupils: 50},
	}
	dir := NewDirectory([]Authority{
		{Code: "E06000065", OldCode: "815", Name: "North Yorkshire", RegionName: "Yorkshire and The Humber"},
		{Code: "E08000039", Name: "Sheffield", RegionName: "Yorkshire and The Humber"},
		{Code: "E09000001", OldCode: "201", Name: "City of London", RegionName: "London"},
	})
	return schools, dir
}

func TestSelectArea(t *testing.T) {
	tests := []struct {
		name        string
		code        string
		independent bool
		wantCode    string
		wantURNs    string
		wantSkipped int
		wantErr     string
	}{
		{name: "today's code joins on the DfE number", code: "E06000065", wantCode: "E06000065", wantURNs: "300001,300002", wantSkipped: 1},
		{name: "the 2022/23 code names today's authority", code: "E10000023", wantCode: "E06000065", wantURNs: "300001,300002", wantSkipped: 1},
		{name: "independent schools on request", code: "E06000065", independent: true, wantCode: "E06000065", wantURNs: "300001,300002,300003"},
		{name: "unmatched 2022/23 code keeps it", code: "E08000019", wantCode: "E08000019", wantURNs: "400001"},
		{name: "today's code with schools under the old one", code: "E08000039", wantErr: "the register lists it under its 2022/23 code E08000019"},
		{name: "unknown code", code: "E06999999", wantErr: "no local authority has the code E06999999"},
		{name: "only independent schools", code: "E09000001", wantErr: "City of London (E09000001) has no state-funded schools, only 1 independent school"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schools, dir := fixtureSchools()
			area, err := SelectArea(schools, dir, tt.code, SelectOptions{IncludeIndependent: tt.independent})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var urns []string
			for _, s := range area.Schools {
				urns = append(urns, s.URN)
			}
			if area.Authority.Code != tt.wantCode || strings.Join(urns, ",") != tt.wantURNs || area.SkippedIndependent != tt.wantSkipped {
				t.Errorf("area = %s %v skipped %d; want %s %s skipped %d",
					area.Authority.Code, urns, area.SkippedIndependent, tt.wantCode, tt.wantURNs, tt.wantSkipped)
			}
		})
	}
}

var testBoard = []mhstv1alpha1.BoardMember{
	{Kind: mhstv1alpha1.SubjectGroup, Name: "icb", Sector: mhstv1alpha1.SectorHealth, Role: mhstv1alpha1.RoleChair},
	{Kind: mhstv1alpha1.SubjectGroup, Name: "schools", Sector: mhstv1alpha1.SectorEducation},
}

func TestBuildManifestsRefuses(t *testing.T) {
	area := Area{Authority: Authority{Code: "E06000001", Name: "Hartlepool"}, Schools: []School{{URN: "111111"}}}
	group := mhstv1alpha1.SubjectGroup
	tests := []struct {
		name      string
		noSchools bool
		opts      AreaOptions
		wantErr   string
	}{
		{name: "no board", opts: AreaOptions{Wave: 1}, wantErr: "the governance board has no members"},
		{name: "member twice", opts: AreaOptions{Board: append(testBoard, testBoard[0])}, wantErr: "board member Group:icb is listed twice"},
		{name: "lead twice", opts: AreaOptions{Board: testBoard, Leads: []mhstv1alpha1.Subject{{Kind: group, Name: "a"}, {Kind: group, Name: "a"}}}, wantErr: "lead Group:a is listed twice"},
		{name: "no settings", noSchools: true, opts: AreaOptions{Board: testBoard}, wantErr: "has no settings to list"},
		{name: "negative wave", opts: AreaOptions{Board: testBoard, Wave: -1}, wantErr: "wave -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := area
			if tt.noSchools {
				a.Schools = nil
			}
			_, err := BuildManifests(a, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestMissingSectors(t *testing.T) {
	health := testBoard[:1]
	if got := MissingSectors(health); len(got) != 1 || got[0] != mhstv1alpha1.SectorEducation {
		t.Errorf("MissingSectors(health only) = %v, want [Education]", got)
	}
	if got := MissingSectors(testBoard); len(got) != 0 {
		t.Errorf("MissingSectors(health and education) = %v, want none", got)
	}
}

// TestWriteYAMLRoundTrip checks that the YAML reads back into the same
// settings, names with commas, apostrophes and quotes intact, without status
// or creation timestamps, after the attribution comment.
func TestWriteYAMLRoundTrip(t *testing.T) {
	area := Area{
		Authority: Authority{Code: "E09000001", Name: "City of London", RegionName: "London"},
		Schools: []School{
			{URN: "100000", Name: "St Paul's Cathedral School, London", Phase: mhstv1alpha1.PhasePrimary, Pupils: 271, DisadvantagedPupils: int32p(49)},
			{URN: "100001", Name: `The "Quoted": School #1`, Phase: mhstv1alpha1.PhaseSpecial, Pupils: 8},
		},
	}
	m, err := BuildManifests(area, AreaOptions{Wave: 3, Board: testBoard})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := m.WriteYAML(&out, "schools.csv"); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.HasPrefix(text, "# LocalArea city-of-london: City of London (E09000001), London.\n") ||
		!strings.Contains(text, "# "+Attribution+"\n") {
		t.Errorf("output does not start with the comment and attribution:\n%s", text)
	}
	for _, unwanted := range []string{"status", "creationTimestamp", "tenancy"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("output contains %q:\n%s", unwanted, text)
		}
	}
	docs := strings.Split(text, "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2:\n%s", len(docs), text)
	}
	var la mhstv1alpha1.LocalArea
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &la); err != nil {
		t.Fatal(err)
	}
	if la.Name != "city-of-london" || la.Spec.Wave != 3 || la.Spec.LocalAuthorityCode != "E09000001" ||
		la.Spec.Region != "London" || len(la.Spec.Governance.Board) != 2 {
		t.Errorf("LocalArea = %+v", la)
	}
	var cov mhstv1alpha1.SchoolCoverage
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &cov); err != nil {
		t.Fatal(err)
	}
	if cov.Name != "city-of-london-unallocated-1" || cov.Namespace != "mhst-city-of-london" || cov.Spec.TeamRef != nil {
		t.Errorf("SchoolCoverage metadata = %+v, teamRef %v", cov.ObjectMeta, cov.Spec.TeamRef)
	}
	if len(cov.Spec.Settings) != 2 {
		t.Fatalf("settings = %+v", cov.Spec.Settings)
	}
	for i, s := range cov.Spec.Settings {
		want := area.Schools[i]
		if s.URN != want.URN || s.Name != want.Name || s.Phase != want.Phase || s.Pupils != want.Pupils {
			t.Errorf("setting %d = %+v, want %+v", i, s, want)
		}
	}
	if d := cov.Spec.Settings[0].DisadvantagedPupils; d == nil || *d != 49 {
		t.Errorf("disadvantaged pupils = %v, want 49", d)
	}
	if d := cov.Spec.Settings[1].DisadvantagedPupils; d != nil {
		t.Errorf("unknown disadvantaged pupils = %d, want absent", *d)
	}
}

// stateFundedTotals sums the state-funded schools of an authority straight
// from the CSV, independently of ReadSchools.
type stateFundedTotals struct {
	urns               map[string]bool
	pupils, fsm        int64
	independentSkipped int
}

func sumStateFunded(t *testing.T, r io.Reader, code string) stateFundedTotals {
	t.Helper()
	records, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range records[0] {
		col[name] = i
	}
	totals := stateFundedTotals{urns: map[string]bool{}}
	for _, rec := range records[1:] {
		if rec[col["new_la_code"]] != code {
			continue
		}
		if rec[col["phase_type_grouping"]] == "Independent school" {
			totals.independentSkipped++
			continue
		}
		totals.urns[rec[col["urn"]]] = true
		pupils, err := strconv.ParseInt(rec[col["headcount of pupils"]], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		totals.pupils += pupils
		fsm, err := strconv.ParseInt(rec[col["number of pupils known to be eligible for free school meals"]], 10, 64)
		if err != nil {
			continue // "z": suppressed, counts nothing
		}
		totals.fsm += fsm
	}
	return totals
}

// TestSplitLancashire onboards the largest authority, whose 628 state-funded
// schools need two lists.
func TestSplitLancashire(t *testing.T) {
	const lancashire = "E10000017"
	want := sumStateFunded(t, openReal(t, "schools-england-2022-23.csv"), lancashire)
	file, err := ReadSchools(openReal(t, "schools-england-2022-23.csv"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	authorities, err := ReadAuthorities(openReal(t, "local-authorities-england.csv"))
	if err != nil {
		t.Fatal(err)
	}
	area, err := SelectArea(file.Schools, NewDirectory(authorities), lancashire, SelectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := BuildManifests(area, AreaOptions{Wave: 2, Board: testBoard})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.urns) <= MaxSettingsPerList {
		t.Fatalf("Lancashire has %d state-funded schools; the test needs more than %d", len(want.urns), MaxSettingsPerList)
	}
	if m.From.SkippedIndependent != want.independentSkipped {
		t.Errorf("skipped %d independent schools, want %d", m.From.SkippedIndependent, want.independentSkipped)
	}
	seen := map[string]int{}
	var pupils, fsm int64
	lastURN := ""
	for i, cov := range m.Coverages {
		if wantName := "lancashire-unallocated-" + strconv.Itoa(i+1); cov.Name != wantName {
			t.Errorf("list %d is %s, want %s", i, cov.Name, wantName)
		}
		if n := len(cov.Spec.Settings); n == 0 || n > MaxSettingsPerList {
			t.Errorf("list %s has %d settings, want 1 to %d", cov.Name, n, MaxSettingsPerList)
		}
		for _, s := range cov.Spec.Settings {
			seen[s.URN]++
			if s.URN <= lastURN {
				t.Errorf("setting %s follows %s: not in URN order", s.URN, lastURN)
			}
			lastURN = s.URN
			pupils += int64(s.Pupils)
			if s.DisadvantagedPupils != nil {
				fsm += int64(*s.DisadvantagedPupils)
			}
		}
	}
	for urn := range want.urns {
		if seen[urn] != 1 {
			t.Errorf("URN %s is listed %d times, want once", urn, seen[urn])
		}
	}
	if len(seen) != len(want.urns) || pupils != want.pupils || fsm != want.fsm {
		t.Errorf("lists hold %d settings, %d pupils, %d FSM; the CSV has %d, %d, %d",
			len(seen), pupils, fsm, len(want.urns), want.pupils, want.fsm)
	}
}
