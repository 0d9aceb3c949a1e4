package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
)

func gapsSetting(urn, name string, pupils, disadvantaged int32) mhstv1alpha1.Setting {
	return mhstv1alpha1.Setting{URN: urn, Name: name, Phase: mhstv1alpha1.PhasePrimary, Pupils: pupils, DisadvantagedPupils: &disadvantaged}
}

// testGapRows are two areas' gaps, worked out by the coverage rules: in
// north, the agreed allocation covers 100001; 100002 is Proposed and
// 100003 has no team; south's team is suspended.
func testGapRows() []gapRow {
	created := metav1.NewTime(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	team := func(name string, suspended bool) mhstv1alpha1.SupportTeam {
		return mhstv1alpha1.SupportTeam{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: mhstv1alpha1.SupportTeamSpec{Suspend: suspended}}
	}
	alloc := func(name, team string, agreed bool, settings ...mhstv1alpha1.Setting) mhstv1alpha1.SchoolCoverage {
		c := mhstv1alpha1.SchoolCoverage{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: created},
			Spec: mhstv1alpha1.SchoolCoverageSpec{Settings: settings}}
		if team != "" {
			c.Spec.TeamRef = &mhstv1alpha1.TeamReference{Name: team}
		}
		if agreed {
			c.Spec.Agreement = &mhstv1alpha1.Agreement{DecisionRef: "board"}
		}
		return c
	}
	north := coverage.Compute([]mhstv1alpha1.SchoolCoverage{
		alloc("a", "t1", true, gapsSetting("100001", "Covered Primary", 400, 200)),
		alloc("b", "t1", false, gapsSetting("100002", "Proposed Primary", 300, 90)),
		alloc("c", "", false, gapsSetting("100003", "=Unlisted Academy", 900, 90)),
	}, []mhstv1alpha1.SupportTeam{team("t1", false)}, 100)
	south := coverage.Compute([]mhstv1alpha1.SchoolCoverage{
		alloc("d", "t2", true, gapsSetting("200001", "Suspended Team's School", 100, 95)),
	}, []mhstv1alpha1.SupportTeam{team("t2", true)}, 100)
	return append(gapRowsOf("north", north), gapRowsOf("south", south)...)
}

func TestRankGaps(t *testing.T) {
	var got []string
	for _, r := range rankGaps(testGapRows(), 0) {
		got = append(got, r.Area+"/"+r.URN)
	}
	// 95 disadvantaged first; 90 and 90 by pupils (900 before 300).
	want := "south/200001 north/100003 north/100002"
	if strings.Join(got, " ") != want {
		t.Errorf("ranked %v, want %s", got, want)
	}
	if top := rankGaps(testGapRows(), 2); len(top) != 2 || top[1].URN != "100003" {
		t.Errorf("--top 2 kept %+v", top)
	}
}

func TestWriteGaps(t *testing.T) {
	rows := rankGaps(testGapRows(), 0)
	var out bytes.Buffer
	if err := writeGaps(&out, rows, formatCSV); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(records[0], ",") != "area,urn,name,phase,pupils,disadvantaged_pupils" ||
		strings.Join(records[2], ",") != "north,100003,'=Unlisted Academy,Primary,900,90" || len(records) != 4 {
		t.Errorf("csv = %q", records)
	}

	out.Reset()
	if err := writeGaps(&out, rows, formatTable); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "AREA") || !strings.Contains(lines[1], "Suspended Team's School") {
		t.Errorf("table:\n%s", out.String())
	}

	out.Reset()
	if err := writeGaps(&out, rows[:1], formatJSON); err != nil {
		t.Fatal(err)
	}
	var decoded []map[string]any
	if err := json.Unmarshal(out.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if len(decoded) != 1 || decoded[0]["area"] != "south" || decoded[0]["urn"] != "200001" || decoded[0]["disadvantagedPupils"] != float64(95) {
		t.Errorf("json = %s", out.String())
	}
	out.Reset()
	if err := writeGaps(&out, nil, formatJSON); err != nil || strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("no gaps as json = %q (%v), want []", out.String(), err)
	}
}

func TestGapsFlags(t *testing.T) {
	var stderr bytes.Buffer
	for _, args := range [][]string{{"-o", "yaml"}, {"--top", "-1"}, {"extra"}} {
		if err := runGaps(args, &bytes.Buffer{}, &stderr); err == nil || !strings.Contains(err.Error(), "usage error") {
			t.Errorf("gaps %v: err = %v, want a usage error", args, err)
		}
	}
}
