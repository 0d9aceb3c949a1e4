package register

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Test fixtures below are rows shaped like the DfE school-level file.
// Contains public sector information licensed under the Open Government Licence v3.0.

// realData is the DfE register kept in the repository, relative to this package.
const realData = "../../hack/data"

// schoolsHeader is the header of the 2022/23 file, as published.
const schoolsHeader = `"time_period","region_code","region_name","urn","old_la_code","la_name","new_la_code","laestab","school_name","phase_type_grouping","typeofestablishment_name","academy_flag","school_postcode","urban_rural","headcount of pupils","fte pupils","number of pupils known to be eligible for free school meals","% of pupils known to be eligible for free school meals"`

// row builds a data row of the file with the given URN, name, phase
// grouping, pupils and free school meals.
func row(urn, name, grouping, pupils, fsm string) string {
	return fmt.Sprintf(`"202223","E12000007","London","%s","201","City of London","E09000001","2013614","%s","%s","Voluntary aided school","LA Maintained","EC3A 5DE","(England/Wales) Urban major conurbation",%s,%s,"%s","18.1"`,
		urn, name, grouping, pupils, pupils, fsm)
}

func csvOf(lines ...string) string {
	return strings.Join(lines, "\n") + "\n"
}

func int32p(n int32) *int32 { return &n }

func TestReadSchoolsRows(t *testing.T) {
	tests := []struct {
		name string
		row  string
		want School
		// wantErr is a part of the error, with its line; empty when the
		// row is valid.
		wantErr string
	}{
		{
			name: "good primary",
			row:  row("100000", "The Aldgate School", "State-funded primary", "271", "49"),
			want: School{
				URN: "100000", Name: "The Aldgate School", LACode: "E09000001", OldLACode: "201",
				LAName: "City of London", RegionCode: "E12000007", RegionName: "London", Postcode: "EC3A 5DE",
				Phase: mhstv1alpha1.PhasePrimary, Pupils: 271, DisadvantagedPupils: int32p(49),
				PhaseTypeGrouping: "State-funded primary",
			},
		},
		{
			name: "suppressed free school meals are unknown",
			row:  row("100001", "A School", "State-funded secondary", "900", "z"),
			want: School{
				URN: "100001", Name: "A School", LACode: "E09000001", OldLACode: "201",
				LAName: "City of London", RegionCode: "E12000007", RegionName: "London", Postcode: "EC3A 5DE",
				Phase: mhstv1alpha1.PhaseSecondary, Pupils: 900, PhaseTypeGrouping: "State-funded secondary",
			},
		},
		{
			name: "empty free school meals are unknown",
			row:  row("1000012", "A School", "State-funded nursery", "90", ""),
			want: School{
				URN: "1000012", Name: "A School", LACode: "E09000001", OldLACode: "201",
				LAName: "City of London", RegionCode: "E12000007", RegionName: "London", Postcode: "EC3A 5DE",
				Phase: mhstv1alpha1.PhaseNursery, Pupils: 90, PhaseTypeGrouping: "State-funded nursery",
			},
		},
		{
			name: "quoted name with a comma and an apostrophe",
			row:  row("100002", "St Mary's, Hornsey Rise", "State-funded AP school", "12", "12"),
			want: School{
				URN: "100002", Name: "St Mary's, Hornsey Rise", LACode: "E09000001", OldLACode: "201",
				LAName: "City of London", RegionCode: "E12000007", RegionName: "London", Postcode: "EC3A 5DE",
				Phase: mhstv1alpha1.PhaseAlternativeProvision, Pupils: 12, DisadvantagedPupils: int32p(12),
				PhaseTypeGrouping: "State-funded AP school",
			},
		},
		{
			name: "non-maintained special school is Special",
			row:  row("100003", "A School", "Non-maintained special school", "50", "0"),
			want: School{
				URN: "100003", Name: "A School", LACode: "E09000001", OldLACode: "201",
				LAName: "City of London", RegionCode: "E12000007", RegionName: "London", Postcode: "EC3A 5DE",
				Phase: mhstv1alpha1.PhaseSpecial, Pupils: 50, DisadvantagedPupils: int32p(0),
				PhaseTypeGrouping: "Non-maintained special school",
			},
		},
		{
			name: "independent school is AllThrough",
			row:  row("100004", "A College", "Independent school", "365", "z"),
			want: School{
				URN: "100004", Name: "A College", LACode: "E09000001", OldLACode: "201",
				LAName: "City of London", RegionCode: "E12000007", RegionName: "London", Postcode: "EC3A 5DE",
				Phase: mhstv1alpha1.PhaseAllThrough, Pupils: 365, PhaseTypeGrouping: "Independent school",
			},
		},
		{name: "URN too short", row: row("10000", "A", "State-funded primary", "1", "0"), wantErr: `line 2: urn "10000" is not 6 or 7 digits`},
		{name: "URN not digits", row: row("10000A", "A", "State-funded primary", "1", "0"), wantErr: `line 2: urn "10000A" is not 6 or 7 digits`},
		{name: "URN too long", row: row("12345678", "A", "State-funded primary", "1", "0"), wantErr: `line 2: urn "12345678" is not 6 or 7 digits`},
		{name: "non-numeric pupils", row: row("100005", "A", "State-funded primary", `"x"`, "0"), wantErr: `line 2: urn 100005: headcount of pupils "x" is not a whole number`},
		{name: "negative pupils", row: row("100005", "A", "State-funded primary", "-3", "0"), wantErr: "line 2: urn 100005: headcount of pupils -3 is outside 0 to 100000"},
		{name: "non-numeric free school meals", row: row("100005", "A", "State-funded primary", "10", "few"), wantErr: `line 2: urn 100005: free school meals "few" is not a whole number`},
		{name: "free school meals above pupils", row: row("100006", "A", "State-funded primary", "10", "11"), wantErr: "line 2: urn 100006: free school meals 11 is more than the 10 pupils"},
		{name: "unknown phase grouping", row: row("100007", "A", "Free school", "10", "1"), wantErr: `line 2: urn 100007 has unknown phase_type_grouping "Free school"`},
		{name: "no name", row: row("100008", "", "State-funded primary", "10", "1"), wantErr: "line 2: urn 100008 has no school_name"},
		{name: "too few columns", row: `"202223","E12000007","London","100009"`, wantErr: "line 2: has 4 columns, the header has 18"},
		{name: "too many columns", row: row("100010", "A", "State-funded primary", "10", "1") + `,"extra"`, wantErr: "line 2: has 19 columns, the header has 18"},
		{name: "bare quote", row: strings.Replace(row("100011", "A", "State-funded primary", "10", "1"), `"A"`, `"A "B" C"`, 1), wantErr: "line 2: malformed CSV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, err := ReadSchools(strings.NewReader(csvOf(schoolsHeader, tt.row)), ReadOptions{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(file.Schools) != 1 {
				t.Fatalf("got %d schools, want 1", len(file.Schools))
			}
			assertSchool(t, file.Schools[0], tt.want)
		})
	}
}

func assertSchool(t *testing.T, got, want School) {
	t.Helper()
	gotFSM, wantFSM := got.DisadvantagedPupils, want.DisadvantagedPupils
	got.DisadvantagedPupils, want.DisadvantagedPupils = nil, nil
	if got != want {
		t.Errorf("school = %+v, want %+v", got, want)
	}
	switch {
	case (gotFSM == nil) != (wantFSM == nil):
		t.Errorf("disadvantaged pupils = %v, want %v", gotFSM, wantFSM)
	case gotFSM != nil && *gotFSM != *wantFSM:
		t.Errorf("disadvantaged pupils = %d, want %d", *gotFSM, *wantFSM)
	}
}

func TestReadSchoolsHeader(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		wantErr string
	}{
		{name: "empty file", header: "", wantErr: "the file is empty"},
		{
			name:    "missing pupils",
			header:  strings.Replace(schoolsHeader, `"headcount of pupils",`, "", 1),
			wantErr: `missing column "headcount of pupils"`,
		},
		{
			name:    "two missing, both named",
			header:  strings.Replace(strings.Replace(schoolsHeader, `"urn",`, "", 1), `"phase_type_grouping",`, "", 1),
			wantErr: `missing column "urn", "phase_type_grouping"`,
		},
		{
			name:   "other order, other case, byte order mark",
			header: "\ufeff" + `"School_Name","URN","phase_type_grouping","typeofestablishment_name","new_la_code","old_la_code","la_name","region_code","region_name","headcount of pupils","number of pupils known to be eligible for free school meals"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadSchools(strings.NewReader(tt.header), ReadOptions{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadSchoolsFindsColumnsByName(t *testing.T) {
	input := csvOf(
		`"urn","headcount of pupils","school_name","phase_type_grouping","typeofestablishment_name","new_la_code","old_la_code","la_name","region_code","region_name","number of pupils known to be eligible for free school meals"`,
		`"100000",271,"The Aldgate School","State-funded primary","Voluntary aided school","E09000001","201","City of London","E12000007","London","49"`,
	)
	file, err := ReadSchools(strings.NewReader(input), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := file.Schools[0]
	if got.URN != "100000" || got.Name != "The Aldgate School" || got.Pupils != 271 || *got.DisadvantagedPupils != 49 {
		t.Errorf("school = %+v", got)
	}
}

func TestReadSchoolsLineNumbers(t *testing.T) {
	input := csvOf(
		schoolsHeader, // line 1
		row("100000", "Good", "State-funded primary", "10", "1"),                 // line 2
		row("100001", "Name over\ntwo lines", "State-funded primary", "10", "1"), // lines 3-4
		row("1", "Bad URN", "State-funded primary", "10", "1"),                   // line 5
		row("100002", "Good", "State-funded primary", "10", "1"),                 // line 6
		row("100003", "FSM", "State-funded primary", "10", "20"),                 // line 7
		row("100000", "Twice", "State-funded primary", "10", "1"),                // line 8
	)
	_, err := ReadSchools(strings.NewReader(input), ReadOptions{})
	var rowErrs RowErrors
	if !errors.As(err, &rowErrs) {
		t.Fatalf("error = %v, want RowErrors", err)
	}
	want := []RowError{
		{Line: 5, Reason: `urn "1" is not 6 or 7 digits`},
		{Line: 7, Reason: "urn 100003: free school meals 20 is more than the 10 pupils"},
		{Line: 8, Reason: "urn 100000 is also on line 2"},
	}
	if fmt.Sprint(rowErrs) != fmt.Sprint(RowErrors(want)) {
		t.Errorf("errors = %+v\nwant %+v", []RowError(rowErrs), want)
	}
}

func TestReadSchoolsSkipInvalid(t *testing.T) {
	input := csvOf(
		schoolsHeader,
		row("100000", "Good, one", "State-funded primary", "10", "1"),
		row("bad", "Bad", "State-funded primary", "10", "1"),
		strings.Replace(row("100001", "A", "State-funded primary", "10", "1"), `"A"`, `"A "B" C"`, 1),
		row("100002", "Good two", "State-funded secondary", "20", "z"),
	)
	file, err := ReadSchools(strings.NewReader(input), ReadOptions{SkipInvalid: true})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	var urns []string
	for _, s := range file.Schools {
		urns = append(urns, s.URN)
	}
	if strings.Join(urns, ",") != "100000,100002" {
		t.Errorf("kept %v, want 100000,100002", urns)
	}
	if len(file.Invalid) != 2 || file.Invalid[0].Line != 3 || file.Invalid[1].Line != 4 {
		t.Errorf("invalid = %+v, want lines 3 and 4", file.Invalid)
	}
}

func TestRowErrorsListsAtMostTwenty(t *testing.T) {
	lines := []string{schoolsHeader}
	for i := range 25 {
		lines = append(lines, row(fmt.Sprint(i), "Bad", "State-funded primary", "1", "0"))
	}
	_, err := ReadSchools(strings.NewReader(csvOf(lines...)), ReadOptions{})
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "25 invalid rows") || !strings.Contains(msg, "line 21:") ||
		strings.Contains(msg, "line 22:") || !strings.Contains(msg, "... and 5 more") {
		t.Errorf("error = %s", msg)
	}
}

// openReal opens a file of the real DfE data.
func openReal(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(realData, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func TestReadSchoolsRealFile(t *testing.T) {
	file, err := ReadSchools(openReal(t, "schools-england-2022-23.csv"), ReadOptions{})
	if err != nil {
		t.Fatalf("the real register should read without errors: %v", err)
	}
	// Facts the data's README states about the file.
	stateFunded, pupils := 0, int64(0)
	for _, s := range file.Schools {
		if s.StateFunded() {
			stateFunded++
			pupils += int64(s.Pupils)
		}
	}
	if len(file.Schools) != 24442 || stateFunded != 22034 || pupils != 8481875 {
		t.Errorf("read %d schools, %d state-funded with %d pupils; want 24442, 22034, 8481875",
			len(file.Schools), stateFunded, pupils)
	}
}
