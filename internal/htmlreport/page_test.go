package htmlreport

import (
	"bytes"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/report"
)

var asOf = time.Date(2025, 3, 31, 9, 30, 0, 0, time.UTC)

// testAreas are three areas in two regions and two waves, one of which has
// not reported coverage yet.
func testAreas() []mhstv1alpha1.LocalArea {
	area := func(name, display, region string, wave int32, target *int32, c *mhstv1alpha1.AreaCoverage, teams, ready int32) mhstv1alpha1.LocalArea {
		a := mhstv1alpha1.LocalArea{}
		a.Name = name
		a.Spec = mhstv1alpha1.LocalAreaSpec{DisplayName: display, LocalAuthorityCode: "E06000014", Region: region, Wave: wave, CoverageTarget: target}
		a.Status.Coverage = c
		a.Status.Teams = mhstv1alpha1.TeamCounts{Total: teams, Ready: ready}
		return a
	}
	fifty := int32(50)
	return []mhstv1alpha1.LocalArea{
		area("york", "York", "Yorkshire and The Humber", 2, &fifty, &mhstv1alpha1.AreaCoverage{
			Settings: 40, SettingsCovered: 22, Pupils: 24000, PupilsCovered: 13000, DisadvantagedPupils: 3000, DisadvantagedPupilsCovered: 1200,
			PupilsCoveredPercent: "54.2", TargetMet: true,
		}, 2, 2),
		area("hartlepool", "Hartlepool", "North East", 1, nil, &mhstv1alpha1.AreaCoverage{
			Settings: 30, SettingsCovered: 10, Pupils: 15000, PupilsCovered: 5000, DisadvantagedPupils: 5000, DisadvantagedPupilsCovered: 2000,
			PupilsCoveredPercent: "33.3",
		}, 1, 0),
		area("wakefield", "Wakefield", "Yorkshire and The Humber", 2, nil, nil, 0, 0),
	}
}

func TestNationalPage(t *testing.T) {
	n := report.National(testAreas(), nil, 50)
	history := []Snapshot{
		{Name: "national-2025-03-01", TakenAt: asOf.AddDate(0, -1, 0), Coverage: mhstv1alpha1.AreaCoverage{Pupils: 39000, PupilsCovered: 15000, PupilsCoveredPercent: "38.5"}},
		{Name: "national-2024-09-01", TakenAt: asOf.AddDate(0, -7, 0), Coverage: mhstv1alpha1.AreaCoverage{Pupils: 39000, PupilsCovered: 9000, PupilsCoveredPercent: "23.1"}},
	}
	p := NationalPage(n, history, asOf)

	h := p.Headline
	if !h.National || h.Areas != 3 || h.AreasReporting != 2 || h.Teams != 3 || h.TeamsReady != 2 {
		t.Errorf("headline areas and teams: %+v", h)
	}
	if h.Pupils != 39000 || h.PupilsCovered != 18000 || h.PupilsCoveredPercent != "46.2" || h.TargetMet || h.Target != 50 {
		t.Errorf("headline coverage: %+v", h)
	}
	if got := ids(p.Breakdowns); !slices.Equal(got, []string{"by-region", "by-wave", "by-area"}) {
		t.Errorf("breakdowns %v", got)
	}
	region := p.Breakdowns[0].Rows
	if len(region) != 2 || region[0].Label != "North East" || region[1].Pupils != 24000 || region[1].Target != 50 {
		t.Errorf("by region: %+v", region)
	}
	areas := p.Breakdowns[2].Rows
	if areas[1].Label != "Wakefield (no coverage reported yet)" {
		t.Errorf("an area that has not reported: %q", areas[1].Label)
	}
	if areas[0].Key != "hartlepool" || areas[0].Target != 100 || areas[2].Key != "york" || areas[2].Target != 50 || !areas[2].TargetMet() {
		t.Errorf("by area, each against its own target: %+v", areas)
	}
	if p.Teams != nil || p.Gaps != nil {
		t.Error("the national page has no team or gap sections")
	}
	if len(p.History) != 2 || p.History[0].Name != "national-2024-09-01" {
		t.Errorf("history, oldest first: %+v", p.History)
	}
}

// testAreaSummary is York's report: two teams, one over capacity, an
// allocation awaiting agreement, a conflict and a gap.
func testAreaSummary() report.AreaSummary {
	return report.AreaSummary{
		Area: report.AreaInfo{Name: "york", DisplayName: "York", LocalAuthorityCode: "E06000014", Region: "Yorkshire and The Humber", Wave: 2, CoverageTarget: 50},
		Totals: report.AreaTotals{
			AreaCoverage: mhstv1alpha1.AreaCoverage{Settings: 40, SettingsCovered: 22, Pupils: 24000, PupilsCovered: 13000,
				DisadvantagedPupils: 3000, DisadvantagedPupilsCovered: 1200, PupilsCoveredPercent: "54.2", TargetMet: true, DisadvantagedPupilsCoveredPercent: "40.0"},
			DisadvantagedUnknownSettings: 2,
		},
		PerTeam: []report.TeamRow{
			{Name: "york-mhst-1", DisplayName: "York MHST 1", Settings: 22, Pupils: 9000, CapacityUsedPercent: "110.0", OverCapacity: true, YearRound: true},
			{Name: "york-mhst-2", Settings: 0, CapacityUsedPercent: "0.0", ProposedSettings: 6, YearRound: false},
		},
		PerAllocation: []report.AllocationRow{
			{Name: "york-mhst-1-2023", Team: "york-mhst-1", Agreed: true, Settings: 22, Pupils: 13000},
			{Name: "york-mhst-2-2025", Team: "york-mhst-2", Agreed: false, Settings: 6, Pupils: 4000,
				Conflicts: []mhstv1alpha1.Conflict{{URN: "121277", ClaimedBy: "york-mhst-1-2023"}}},
			{Name: "york-not-yet", Settings: 12, Pupils: 7000},
		},
		PerPhase: []report.PhaseRow{
			{Phase: mhstv1alpha1.PhasePrimary, Settings: 30, SettingsCovered: 18, Pupils: 9000, PupilsCovered: 5000},
			{Phase: mhstv1alpha1.PhaseFurtherEducation, Settings: 1, Pupils: 3000},
		},
		SettingsWithNoTeam: []report.SettingRef{{URN: "137340", Name: "Huntington School", Pupils: 1500}},
		TeamsNotYearRound:  []string{"york-mhst-2"},
		Licence:            report.Licence,
	}
}

func TestAreaPage(t *testing.T) {
	n := report.National(testAreas(), nil, 50)
	p := AreaPage(testAreaSummary(), &n, nil, asOf)

	if p.Title != "Mental Health Support Team coverage: York" || !strings.Contains(p.Subtitle, "E06000014") {
		t.Errorf("title %q, subtitle %q", p.Title, p.Subtitle)
	}
	if h := p.Headline; h.National || h.Teams != 2 || h.Target != 50 || !h.TargetMet || h.DisadvantagedUnknownSettings != 2 {
		t.Errorf("headline %+v", h)
	}
	if got := ids(p.Breakdowns); !slices.Equal(got, []string{"in-context", "by-phase"}) {
		t.Fatalf("breakdowns %v", got)
	}
	context := p.Breakdowns[0].Rows
	var keys []string
	for _, r := range context {
		keys = append(keys, r.Key)
	}
	if !slices.Equal(keys, []string{"york", "region-Yorkshire and The Humber", "wave-2", "england"}) || !context[0].Highlight {
		t.Errorf("in context: %v", keys)
	}
	if context[0].Target != 50 || context[3].Target != 50 || context[3].Pupils != 39000 {
		t.Errorf("targets and sums in context: %+v", context)
	}
	if phases := p.Breakdowns[1].Rows; len(phases) != 2 || phases[1].Label != "Further education" || phases[1].Target != 50 {
		t.Errorf("by phase: %+v", phases)
	}
	if len(p.Proposed) != 1 || p.Proposed[0].Name != "york-mhst-2-2025" {
		t.Errorf("proposed: a team's allocation not agreed, not the list without a team: %+v", p.Proposed)
	}
	if len(p.Conflicts) != 1 || p.Gaps == nil || len(p.Gaps.SettingsWithNoTeam) != 1 {
		t.Errorf("conflicts %+v, gaps %+v", p.Conflicts, p.Gaps)
	}

	alone := AreaPage(testAreaSummary(), nil, nil, asOf)
	if got := ids(alone.Breakdowns); !slices.Equal(got, []string{"by-phase"}) {
		t.Errorf("without the national figures: %v", got)
	}
}

func ids(bs []Breakdown) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.ID)
	}
	return out
}

func render(t *testing.T, p Page) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, p); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.String()
}

// figure returns the text of the first element with data-figure=name
// after the given marker (a section's id or a row's key).
func figure(t *testing.T, page, after, name string) string {
	t.Helper()
	i := strings.Index(page, after)
	if i < 0 {
		t.Fatalf("no %q in the page", after)
	}
	m := regexp.MustCompile(`data-figure="` + name + `"[^>]*>([^<]*)<`).FindStringSubmatch(page[i:])
	if m == nil {
		t.Fatalf("no figure %s after %q", name, after)
	}
	return m[1]
}

func TestRenderNational(t *testing.T) {
	n := report.National(testAreas(), nil, 50)
	page := render(t, NationalPage(n, nil, asOf))
	for name, want := range map[string]string{
		"pupils-covered-percent": "46.2%", "pupils-covered": "18,000", "pupils": "39,000",
		"target": "50%", "target-met": "not met", "areas": "3", "areas-reporting": "2", "teams": "3", "teams-ready": "2",
		"disadvantaged-pupils-covered": "3,200", "disadvantaged-pupils": "8,000", "disadvantaged-pupils-covered-percent": "40.0%",
	} {
		if got := figure(t, page, `id="headline"`, name); got != want {
			t.Errorf("headline %s: got %q, want %q", name, got, want)
		}
	}
	if got := figure(t, page, `data-row="york"`, "target-met"); got != "yes" {
		t.Errorf("york meets its own target of 50%%: got %q", got)
	}
	for _, absent := range []string{`id="teams"`, `id="gaps"`, `id="history"`} {
		if strings.Contains(page, absent) {
			t.Errorf("the national page has %s", absent)
		}
	}
}

func TestRenderArea(t *testing.T) {
	n := report.National(testAreas(), nil, 50)
	history := []Snapshot{{Name: "york-2025-03-01", TakenAt: asOf.AddDate(0, -1, 0), Digest: strings.Repeat("ab", 32),
		Coverage: mhstv1alpha1.AreaCoverage{Pupils: 24000, PupilsCovered: 12000, PupilsCoveredPercent: "50.0"}}}
	page := render(t, AreaPage(testAreaSummary(), &n, history, asOf))
	checks := []struct{ after, name, want string }{
		{`id="headline"`, "pupils-covered-percent", "54.2%"},
		{`id="headline"`, "target-met", "met"},
		{`id="headline"`, "disadvantaged-unknown-settings", "2"},
		{`data-row="england"`, "pupils", "39,000"},
		{`data-row="team-york-mhst-1"`, "capacity-used-percent", "110.0"},
		{`data-row="team-york-mhst-1"`, "over-capacity", "yes"},
		{`id="gaps"`, "settings-with-no-team", "1"},
		{`data-row="snapshot-york-2025-03-01"`, "pupils-covered-percent", "50.0"},
	}
	for _, c := range checks {
		if got := figure(t, page, c.after, c.name); got != c.want {
			t.Errorf("%s %s: got %q, want %q", c.after, c.name, got, c.want)
		}
	}
	for _, want := range []string{
		`data-row="allocation-york-mhst-2-2025"`, "121277 (york-mhst-1-2023)", "Huntington School",
		"stop outside term time", strings.Repeat("ab", 32),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestRenderIsSelfContained: nothing is fetched and nothing runs, the page
// says what language it is in, every chart has a text alternative and a
// table, and the attribution is at the foot.
func TestRenderIsSelfContained(t *testing.T) {
	n := report.National(testAreas(), nil, 50)
	for name, p := range map[string]Page{"national": NationalPage(n, nil, asOf), "area": AreaPage(testAreaSummary(), &n, nil, asOf)} {
		t.Run(name, func(t *testing.T) {
			page := render(t, p)
			for _, banned := range []string{"<script", "<link", "<img", "<iframe", "@import", "url(", " src=", "@font-face"} {
				if strings.Contains(page, banned) {
					t.Errorf("the page contains %q", banned)
				}
			}
			external := regexp.MustCompile(`href="(https?:[^"]*)"`).FindAllStringSubmatch(page, -1)
			if len(external) != 1 || external[0][1] != LicenceURL {
				t.Errorf("links out of the page: %v (only the licence's is expected, and a link fetches nothing)", external)
			}
			if !strings.HasPrefix(page, "<!DOCTYPE html>\n<html lang=\"en-GB\">") || !strings.Contains(page, "@media print") {
				t.Error("no doctype, lang or print styles")
			}
			svgs := strings.Count(page, "<svg ")
			if svgs == 0 || svgs != strings.Count(page, `role="img" aria-labelledby=`) || svgs > strings.Count(page, "<table>") {
				t.Errorf("%d charts: each needs role=img, a title and description, and a table", svgs)
			}
			footer := page[strings.Index(page, "<footer>"):]
			for _, want := range []string{report.Licence, `"Schools, pupils and their characteristics"`} {
				if !strings.Contains(footer, strings.ReplaceAll(want, `"`, "&#34;")) {
					t.Errorf("the footer lacks %s", want)
				}
			}
		})
	}
}

// TestRenderEscapes: names come from manifests anyone with write access
// typed; they are text, never markup.
func TestRenderEscapes(t *testing.T) {
	s := testAreaSummary()
	s.Area.DisplayName = `<script>alert("x")</script>`
	s.PerTeam[0].DisplayName = `"><img src=x onerror=alert(1)>`
	page := render(t, AreaPage(s, nil, nil, asOf))
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
		t.Error("a name was written as markup")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Error("the escaped name is missing")
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	n := report.National(testAreas(), nil, 50)
	if a, b := render(t, NationalPage(n, nil, asOf)), render(t, NationalPage(n, nil, asOf)); a != b {
		t.Error("the same figures gave two pages")
	}
}

func TestNumber(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 8123: "8,123", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := number(n); got != want {
			t.Errorf("number(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCharts(t *testing.T) {
	c := coverageChart(Breakdown{ID: "x", Title: "By region", Label: "Region", Rows: []Row{
		{Label: "North East", Figures: Figures{Pupils: 200, PupilsCovered: 100, DisadvantagedPupils: 10, DisadvantagedPupilsCovered: 10, Target: 50}},
		{Label: "A region whose name is far too long for the chart", Figures: Figures{Target: 100}},
	}})
	r := c.Rows[0]
	if r.Main.Width != chartTrackWidth/2 || r.Second.Width != chartTrackWidth || r.TargetX != chartLabelWidth+chartTrackWidth/2 {
		t.Errorf("half covered, all disadvantaged covered, target at half: %+v", r)
	}
	if r.Main.Text != "50.0%" || r.Second.Text != "100.0% disadvantaged" {
		t.Errorf("texts %q, %q", r.Main.Text, r.Second.Text)
	}
	if got := c.Rows[1]; got.Main.Width != 0 || len([]rune(got.Label)) != chartLabelChars || c.Rows[1].Y != chartTop+chartRowPair {
		t.Errorf("an empty, long-named row: %+v", got)
	}

	teams := capacityChart(Page{Teams: []report.TeamRow{{Name: "a", CapacityUsedPercent: "50.0"}, {Name: "b", CapacityUsedPercent: "130.0"}}})
	if last := teams.Ticks[len(teams.Ticks)-1].Label; last != "150%" {
		t.Errorf("the scale grows past the fullest team: last tick %s", last)
	}
	if full := teams.Rows[0].TargetX; math.Abs(full-(chartLabelWidth+chartTrackWidth*100/150.0)) > 1e-9 {
		t.Errorf("full capacity at %v", full)
	}
	if teams.Rows[1].Second != nil || teams.Height != chartTop+2*chartRowSingle+6 {
		t.Errorf("one bar per team: %+v", teams)
	}
}
