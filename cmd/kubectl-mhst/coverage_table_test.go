package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// testAreas are three areas in two waves and two regions; one has no
// coverage computed yet.
func testAreas() []mhstv1alpha1.LocalArea {
	area := func(name string, wave int32, region string, c *mhstv1alpha1.AreaCoverage) mhstv1alpha1.LocalArea {
		return mhstv1alpha1.LocalArea{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       mhstv1alpha1.LocalAreaSpec{Wave: wave, Region: region},
			Status:     mhstv1alpha1.LocalAreaStatus{Coverage: c},
		}
	}
	areas := []mhstv1alpha1.LocalArea{
		area("wigan", 1, "North West", &mhstv1alpha1.AreaCoverage{
			Settings: 3, SettingsCovered: 1, Pupils: 3, PupilsCovered: 1, DisadvantagedPupils: 2, DisadvantagedPupilsCovered: 1,
		}),
		area("camden", 1, "London", &mhstv1alpha1.AreaCoverage{
			Settings: 40, SettingsCovered: 20, Pupils: 1000, PupilsCovered: 523, DisadvantagedPupils: 300, DisadvantagedPupilsCovered: 100,
		}),
		area("brent", 2, "London", nil),
	}
	areas[0].Status.Plan = &mhstv1alpha1.AreaPlan{AdditionalTeamsNeeded: 1}
	areas[1].Status.Plan = &mhstv1alpha1.AreaPlan{AdditionalTeamsNeeded: 2}
	for i := range areas {
		areas[i].Status.Namespace = "mhst-" + areas[i].Name
	}
	return areas
}

// testCoverages list one school in both camden and brent.
func testCoverages() []mhstv1alpha1.SchoolCoverage {
	list := func(ns string, urns ...string) mhstv1alpha1.SchoolCoverage {
		c := mhstv1alpha1.SchoolCoverage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "all"}}
		for _, u := range urns {
			c.Spec.Settings = append(c.Spec.Settings, mhstv1alpha1.Setting{URN: u, Name: "Border School " + u})
		}
		return c
	}
	return []mhstv1alpha1.SchoolCoverage{list("mhst-camden", "100001", "100002"), list("mhst-brent", "100002"), list("mhst-wigan", "100003")}
}

// wantRows are testAreas' rows with --areas, in print order, as cells.
// England: 21/43 settings = 48.8 %, 101/302 disadvantaged = 33.4 %, equity
// 1000 × 101 × 1003 ÷ (302 × 524) = 640.2; London: 1000 × 100 × 1000 ÷
// (300 × 523) = 637.3; North West: 1000 × 1 × 3 ÷ (2 × 1) = 1500. Teams
// needed: camden 2, wigan 1, brent has no plan.
var wantRows = [][]string{
	{"England", "England", "3", "43", "21", "1003", "524", "52.2", "302", "101", "48.8", "33.4", "640", "3"},
	{"Wave", "1", "2", "43", "21", "1003", "524", "52.2", "302", "101", "48.8", "33.4", "640", "3"},
	{"Wave", "2", "1", "0", "0", "0", "0", "0.0", "0", "0", "0.0", "0.0", "-", "0"},
	{"Region", "London", "2", "40", "20", "1000", "523", "52.3", "300", "100", "50.0", "33.3", "637", "2"},
	{"Region", "North West", "1", "3", "1", "3", "1", "33.3", "2", "1", "33.3", "50.0", "1500", "1"},
	{"Area", "brent", "1", "0", "0", "0", "0", "0.0", "0", "0", "0.0", "0.0", "-", "0"},
	{"Area", "camden", "1", "40", "20", "1000", "523", "52.3", "300", "100", "50.0", "33.3", "637", "2"},
	{"Area", "wigan", "1", "3", "1", "3", "1", "33.3", "2", "1", "33.3", "50.0", "1500", "1"},
}

func render(t *testing.T, perArea bool, format string) string {
	t.Helper()
	var out bytes.Buffer
	if err := writeCoverage(&out, testAreas(), nil, perArea, format); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestCoverageCSV(t *testing.T) {
	records, err := csv.NewReader(strings.NewReader(render(t, true, formatCSV))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(records[0], ",") != strings.Join(coverageCSVHeader, ",") {
		t.Errorf("header = %v", records[0])
	}
	assertRows(t, records[1:], wantRows)
}

func TestCoverageTable(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(render(t, false, formatTable), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "SCOPE") || !strings.Contains(lines[0], "PUPILS COVERED %") {
		t.Errorf("header = %q", lines[0])
	}
	// Columns are separated by two spaces or more; names have single spaces.
	var rows [][]string
	for _, line := range lines[1:] {
		var cells []string
		for _, c := range strings.Split(line, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cells = append(cells, c)
			}
		}
		rows = append(rows, cells)
	}
	assertRows(t, rows, wantRows[:5]) // no area rows without --areas
}

func TestCoverageMarkdown(t *testing.T) {
	areas := testAreas()
	areas[0].Spec.Region = "North|West" // a pipe must not break the table
	var out bytes.Buffer
	if err := writeCoverage(&out, areas, nil, false, formatMarkdown); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2+5 {
		t.Fatalf("got %d lines, want a header, the alignment row and 5 rows:\n%s", len(lines), out.String())
	}
	if lines[1] != "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" {
		t.Errorf("alignment row = %q", lines[1])
	}
	if want := `| Region | North\|West | 1 | 3 | 1 | 3 | 1 | 33.3 | 2 | 1 | 33.3 | 50.0 | 1500 | 1 |`; lines[6] != want {
		t.Errorf("last row = %q, want %q", lines[6], want)
	}
	if want := "| England | England | 3 | 43 | 21 | 1003 | 524 | 52.2 | 302 | 101 | 48.8 | 33.4 | 640 | 3 |"; lines[2] != want {
		t.Errorf("England row = %q, want %q", lines[2], want)
	}
}

func TestCoverageJSON(t *testing.T) {
	var got nationalCoverage
	if err := json.Unmarshal([]byte(render(t, true, formatJSON)), &got); err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, r := range got.rows() {
		rows = append(rows, r.cells())
	}
	assertRows(t, rows, wantRows)

	var withoutAreas map[string]any
	if err := json.Unmarshal([]byte(render(t, false, formatJSON)), &withoutAreas); err != nil {
		t.Fatal(err)
	}
	if _, ok := withoutAreas["byArea"]; ok {
		t.Error("byArea is present without --areas")
	}
	if _, ok := withoutAreas["england"].(map[string]any)["pupilsCoveredPercent"]; !ok {
		t.Errorf("england has no pupilsCoveredPercent: %v", withoutAreas["england"])
	}
}

func TestCoverageNoAreas(t *testing.T) {
	var out bytes.Buffer
	if err := writeCoverage(&out, nil, nil, true, formatCSV); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(coverageCSVHeader, ",") + "\nEngland,England,0,0,0,0,0,0.0,0,0,0.0,0.0,-,0\n"
	if out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

func TestCoverageSettingsInMoreThanOneArea(t *testing.T) {
	var table bytes.Buffer
	if err := writeCoverage(&table, testAreas(), testCoverages(), false, formatTable); err != nil {
		t.Fatal(err)
	}
	out := table.String()
	if !strings.Contains(out, "\nURN     NAME                  LISTED BY AREAS\n100002  Border School 100002  brent, camden\n") {
		t.Errorf("table does not list the shared setting below the figures:\n%s", out)
	}
	var got nationalCoverage
	var js bytes.Buffer
	if err := writeCoverage(&js, testAreas(), testCoverages(), false, formatJSON); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.SettingsInMoreThanOneArea) != 1 || got.SettingsInMoreThanOneArea[0].URN != "100002" ||
		strings.Join(got.SettingsInMoreThanOneArea[0].Areas, ",") != "brent,camden" {
		t.Errorf("settingsInMoreThanOneArea = %+v", got.SettingsInMoreThanOneArea)
	}
	// Without shared settings the table is the figures alone.
	var alone bytes.Buffer
	if err := writeCoverage(&alone, testAreas(), testCoverages()[:1], false, formatTable); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(alone.String(), "LISTED BY") {
		t.Errorf("a section for no shared settings:\n%s", alone.String())
	}
}

func assertRows(t *testing.T, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		if strings.Join(got[i], ",") != strings.Join(want[i], ",") {
			t.Errorf("row %d = %v, want %v", i, got[i], want[i])
		}
	}
}
