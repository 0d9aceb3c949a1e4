// Package report builds what boards, regional leads and auditors read: the
// per-area report (report.json and settings.csv) and the national report.
//
// Reports are pure functions of their inputs and carry no timestamps, so the
// same objects always give byte-identical output: the operator rewrites a
// report only when its content changes, and a diff of two reports shows only
// what really changed.
package report

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/plan"
)

// Licence is the attribution the Open Government Licence v3.0 asks for. The
// settings' names, pupils and free school meal counts come from the DfE
// register, so every report carries it.
const Licence = "Contains public sector information licensed under the Open Government Licence v3.0."

// CSVHeader is the header row of settings.csv.
var CSVHeader = []string{"urn", "name", "phase", "pupils", "disadvantaged_pupils", "team", "covered", "sessions_per_week"}

// GapsCSVHeader is the header row of gaps.csv.
var GapsCSVHeader = []string{"urn", "name", "phase", "pupils", "disadvantaged_pupils"}

// AreaSummary is the content of an area's report.json.
type AreaSummary struct {
	Area   AreaInfo   `json:"area"`
	Totals AreaTotals `json:"totals"`
	// PerTeam has a row for every team of the area, sorted by name.
	PerTeam []TeamRow `json:"perTeam"`
	// PerAllocation has a row for every SchoolCoverage, sorted by name, so
	// the board can see which of its decisions each allocation rests on.
	PerAllocation []AllocationRow `json:"perAllocation"`
	// PerPhase has a row for each phase that has settings, in the order the
	// API lists phases (Nursery first, FurtherEducation last).
	PerPhase []PhaseRow `json:"perPhase"`
	// SettingsWithNoTeam are the settings whose counting claim names no team,
	// sorted by URN.
	SettingsWithNoTeam []SettingRef `json:"settingsWithNoTeam"`
	// Plan measures the area against its current target.
	Plan PlanSummary `json:"plan"`
	// Gaps are the settings no agreed team allocation covers (no team, a
	// proposal not agreed yet, a suspended or missing team), most
	// disadvantaged pupils first: where the next allocation helps most.
	Gaps []Gap `json:"gaps"`
	// TeamsNotYearRound names the teams that stop outside term time, sorted.
	TeamsNotYearRound []string `json:"teamsNotYearRound"`
	Licence           string   `json:"licence"`
}

// AreaInfo identifies the area.
type AreaInfo struct {
	Name                string `json:"name"`
	DisplayName         string `json:"displayName"`
	LocalAuthorityCode  string `json:"localAuthorityCode"`
	Region              string `json:"region"`
	IntegratedCareBoard string `json:"integratedCareBoard,omitempty"`
	Wave                int32  `json:"wave"`
	CoverageTarget      int32  `json:"coverageTarget"`
}

// AreaTotals are the area's status.coverage figures, plus the number of
// settings whose disadvantaged pupils are unknown (counted as 0).
type AreaTotals struct {
	mhstv1alpha1.AreaCoverage
	DisadvantagedUnknownSettings int64 `json:"disadvantagedUnknownSettings"`
}

// PlanSummary is the area's status.plan and its OnTrack condition.
type PlanSummary struct {
	mhstv1alpha1.AreaPlan
	OnTrack OnTrack `json:"onTrack"`
}

// OnTrack is the OnTrack condition as the report shows it.
type OnTrack struct {
	Status  bool   `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Gap is a setting no agreed team allocation covers. DisadvantagedPupils is
// null when the register does not know it.
type Gap struct {
	URN                 string                    `json:"urn"`
	Name                string                    `json:"name"`
	Phase               mhstv1alpha1.SettingPhase `json:"phase"`
	Pupils              int64                     `json:"pupils"`
	DisadvantagedPupils *int32                    `json:"disadvantagedPupils"`
}

// Files are the keys of an area's report ConfigMap.
type Files struct {
	// JSON is report.json.
	JSON []byte
	// SettingsCSV is settings.csv: every setting.
	SettingsCSV []byte
	// GapsCSV is gaps.csv: the gaps, ranked as in report.json.
	GapsCSV []byte
}

// TeamRow is one team's load. Settings, pupils and disadvantaged pupils are
// those the team holds through agreed allocations; proposedSettings are held
// through allocations not agreed yet.
type TeamRow struct {
	Name                string `json:"name"`
	DisplayName         string `json:"displayName"`
	Settings            int64  `json:"settings"`
	Pupils              int64  `json:"pupils"`
	DisadvantagedPupils int64  `json:"disadvantagedPupils"`
	SettingsCovered     int64  `json:"settingsCovered"`
	PupilsCovered       int64  `json:"pupilsCovered"`
	ProposedSettings    int64  `json:"proposedSettings"`
	CapacityUsedPercent string `json:"capacityUsedPercent"`
	OverCapacity        bool   `json:"overCapacity"`
	YearRound           bool   `json:"yearRound"`
	Suspended           bool   `json:"suspended"`
}

// AllocationRow is one SchoolCoverage: whose time it allocates, on whose
// decision, and what it counts for.
type AllocationRow struct {
	Name            string                  `json:"name"`
	Team            string                  `json:"team,omitempty"`
	Agreed          bool                    `json:"agreed"`
	DecisionRef     string                  `json:"decisionRef,omitempty"`
	AgreedAt        string                  `json:"agreedAt,omitempty"`
	AgreedBy        string                  `json:"agreedBy,omitempty"`
	Settings        int64                   `json:"settings"`
	Pupils          int64                   `json:"pupils"`
	SettingsCovered int64                   `json:"settingsCovered"`
	PupilsCovered   int64                   `json:"pupilsCovered"`
	Conflicts       []mhstv1alpha1.Conflict `json:"conflicts"`
}

// PhaseRow is the coverage of one phase of education.
type PhaseRow struct {
	Phase                      mhstv1alpha1.SettingPhase `json:"phase"`
	Settings                   int64                     `json:"settings"`
	SettingsCovered            int64                     `json:"settingsCovered"`
	Pupils                     int64                     `json:"pupils"`
	PupilsCovered              int64                     `json:"pupilsCovered"`
	DisadvantagedPupils        int64                     `json:"disadvantagedPupils"`
	DisadvantagedPupilsCovered int64                     `json:"disadvantagedPupilsCovered"`
}

// SettingRef names one setting.
type SettingRef struct {
	URN    string `json:"urn"`
	Name   string `json:"name"`
	Pupils int64  `json:"pupils"`
}

// phaseOrder is the order phases are listed in, as the API declares them.
var phaseOrder = []mhstv1alpha1.SettingPhase{
	mhstv1alpha1.PhaseNursery,
	mhstv1alpha1.PhasePrimary,
	mhstv1alpha1.PhaseMiddle,
	mhstv1alpha1.PhaseSecondary,
	mhstv1alpha1.PhaseAllThrough,
	mhstv1alpha1.PhaseSpecial,
	mhstv1alpha1.PhaseAlternativeProvision,
	mhstv1alpha1.PhaseFurtherEducation,
}

// AreaReport builds an area's report.json, settings.csv and gaps.csv from
// the result of coverage.Compute, the area's teams and its plan (the figures
// that depend on the date). The same inputs always give the same bytes,
// whatever order the teams come in.
func AreaReport(area *mhstv1alpha1.LocalArea, res coverage.Result, teams []mhstv1alpha1.SupportTeam, p plan.Plan) (Files, error) {
	summary := Area(area, res, teams, p)
	reportJSON, err := marshal(summary)
	if err != nil {
		return Files{}, fmt.Errorf("report for area %s: %w", area.Name, err)
	}
	settingsCSV, err := SettingsCSV(res.Settings)
	if err != nil {
		return Files{}, fmt.Errorf("settings of area %s: %w", area.Name, err)
	}
	gapsCSV, err := GapsCSV(summary.Gaps)
	if err != nil {
		return Files{}, fmt.Errorf("gaps of area %s: %w", area.Name, err)
	}
	return Files{JSON: reportJSON, SettingsCSV: settingsCSV, GapsCSV: gapsCSV}, nil
}

// Area is the content of report.json, for callers that want it typed. Its
// totals are p.Coverage, the area's status.coverage at the plan's moment.
func Area(area *mhstv1alpha1.LocalArea, res coverage.Result, teams []mhstv1alpha1.SupportTeam, p plan.Plan) AreaSummary {
	return AreaSummary{
		Area: AreaInfo{
			Name:                area.Name,
			DisplayName:         area.Spec.DisplayName,
			LocalAuthorityCode:  area.Spec.LocalAuthorityCode,
			Region:              area.Spec.Region,
			IntegratedCareBoard: area.Spec.IntegratedCareBoard,
			Wave:                area.Spec.Wave,
			CoverageTarget:      coverage.TargetOf(area),
		},
		Totals: AreaTotals{
			AreaCoverage:                 p.Coverage,
			DisadvantagedUnknownSettings: res.DisadvantagedUnknown,
		},
		PerTeam:            teamRows(res, teams),
		PerAllocation:      allocationRows(res),
		PerPhase:           phaseRows(res.Settings),
		SettingsWithNoTeam: settingsWithNoTeam(res.Settings),
		Plan: PlanSummary{
			AreaPlan: p.Status,
			OnTrack:  OnTrack{Status: p.OnTrack.Status, Reason: p.OnTrack.Reason, Message: p.OnTrack.Message},
		},
		Gaps:              Gaps(res.Settings),
		TeamsNotYearRound: teamsNotYearRound(teams),
		Licence:           Licence,
	}
}

// Gaps are the settings that are not covered, ranked by disadvantaged pupils
// (most first; an unknown count ranks as 0), then pupils (most first), then
// URN.
func Gaps(settings []coverage.SettingRecord) []Gap {
	gaps := []Gap{}
	for _, s := range settings {
		if s.Covered {
			continue
		}
		g := Gap{URN: s.URN, Name: s.Name, Phase: s.Phase, Pupils: s.Pupils}
		if s.DisadvantagedPupils != nil {
			d := *s.DisadvantagedPupils
			g.DisadvantagedPupils = &d
		}
		gaps = append(gaps, g)
	}
	slices.SortFunc(gaps, CompareGaps)
	return gaps
}

// CompareGaps orders gaps as Gaps ranks them.
func CompareGaps(a, b Gap) int {
	if c := cmp.Compare(knownCount(b.DisadvantagedPupils), knownCount(a.DisadvantagedPupils)); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Pupils, a.Pupils); c != 0 {
		return c
	}
	return strings.Compare(a.URN, b.URN)
}

// GapsCSV writes one row per gap, in the order given, under GapsCSVHeader;
// an unknown disadvantaged count is an empty cell.
func GapsCSV(gaps []Gap) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(GapsCSVHeader); err != nil {
		return nil, fmt.Errorf("write csv header: %w", err)
	}
	for _, g := range gaps {
		if err := w.Write(GapRow(g)); err != nil {
			return nil, fmt.Errorf("write csv row for %s: %w", g.URN, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("write csv: %w", err)
	}
	return buf.Bytes(), nil
}

// GapRow is a gap as CSV cells, in GapsCSVHeader's order, its name made
// safe for spreadsheets.
func GapRow(g Gap) []string {
	disadvantaged := ""
	if g.DisadvantagedPupils != nil {
		disadvantaged = strconv.FormatInt(int64(*g.DisadvantagedPupils), 10)
	}
	return []string{g.URN, spreadsheetSafe(g.Name), string(g.Phase), strconv.FormatInt(g.Pupils, 10), disadvantaged}
}

func teamRows(res coverage.Result, teams []mhstv1alpha1.SupportTeam) []TeamRow {
	rows := make([]TeamRow, 0, len(teams))
	for _, t := range sortedTeams(teams) {
		figures, ok := res.Teams[t.Name]
		if !ok {
			// A team Compute did not see: nothing allocated, default capacity.
			figures.CapacityUsedPercent = coverage.Percent(0, 1)
		}
		rows = append(rows, TeamRow{
			Name:                t.Name,
			DisplayName:         t.Spec.DisplayName,
			Settings:            figures.Settings,
			Pupils:              figures.Pupils,
			DisadvantagedPupils: figures.DisadvantagedPupils,
			SettingsCovered:     figures.SettingsCovered,
			PupilsCovered:       figures.PupilsCovered,
			ProposedSettings:    figures.ProposedSettings,
			CapacityUsedPercent: figures.CapacityUsedPercent,
			OverCapacity:        figures.OverCapacity,
			YearRound:           isYearRound(t),
			Suspended:           t.Spec.Suspend,
		})
	}
	return rows
}

func allocationRows(res coverage.Result) []AllocationRow {
	rows := make([]AllocationRow, 0, len(res.Allocations))
	for _, a := range res.Allocations {
		row := AllocationRow{
			Name:            a.Name,
			Team:            a.Team,
			Agreed:          a.Agreed,
			Settings:        a.Settings,
			Pupils:          a.Pupils,
			SettingsCovered: a.SettingsCovered,
			PupilsCovered:   a.PupilsCovered,
			Conflicts:       append([]mhstv1alpha1.Conflict{}, a.Conflicts...),
		}
		if a.Agreement != nil {
			row.DecisionRef = a.Agreement.DecisionRef
			row.AgreedAt = a.Agreement.AgreedAt
			row.AgreedBy = a.Agreement.AgreedBy
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b AllocationRow) int { return strings.Compare(a.Name, b.Name) })
	return rows
}

func phaseRows(settings []coverage.SettingRecord) []PhaseRow {
	byPhase := map[mhstv1alpha1.SettingPhase]*PhaseRow{}
	for _, s := range settings {
		row, ok := byPhase[s.Phase]
		if !ok {
			row = &PhaseRow{Phase: s.Phase}
			byPhase[s.Phase] = row
		}
		disadvantaged := knownCount(s.DisadvantagedPupils)
		row.Settings++
		row.Pupils += s.Pupils
		row.DisadvantagedPupils += disadvantaged
		if s.Covered {
			row.SettingsCovered++
			row.PupilsCovered += s.Pupils
			row.DisadvantagedPupilsCovered += disadvantaged
		}
	}
	rows := make([]PhaseRow, 0, len(byPhase))
	for _, row := range byPhase {
		rows = append(rows, *row)
	}
	slices.SortFunc(rows, func(a, b PhaseRow) int { return comparePhases(a.Phase, b.Phase) })
	return rows
}

// comparePhases orders phases as the API lists them; a phase the API does
// not know sorts after them, alphabetically.
func comparePhases(a, b mhstv1alpha1.SettingPhase) int {
	rank := func(p mhstv1alpha1.SettingPhase) int {
		if i := slices.Index(phaseOrder, p); i >= 0 {
			return i
		}
		return len(phaseOrder)
	}
	if c := rank(a) - rank(b); c != 0 {
		return c
	}
	return strings.Compare(string(a), string(b))
}

func settingsWithNoTeam(settings []coverage.SettingRecord) []SettingRef {
	refs := []SettingRef{}
	for _, s := range settings {
		if s.Team == "" {
			refs = append(refs, SettingRef{URN: s.URN, Name: s.Name, Pupils: s.Pupils})
		}
	}
	slices.SortFunc(refs, func(a, b SettingRef) int { return strings.Compare(a.URN, b.URN) })
	return refs
}

func teamsNotYearRound(teams []mhstv1alpha1.SupportTeam) []string {
	names := []string{}
	for _, t := range sortedTeams(teams) {
		if !isYearRound(t) {
			names = append(names, t.Name)
		}
	}
	return names
}

// isYearRound is spec.yearRound, which defaults to true.
func isYearRound(t mhstv1alpha1.SupportTeam) bool {
	return t.Spec.YearRound == nil || *t.Spec.YearRound
}

func sortedTeams(teams []mhstv1alpha1.SupportTeam) []mhstv1alpha1.SupportTeam {
	sorted := slices.Clone(teams)
	slices.SortStableFunc(sorted, func(a, b mhstv1alpha1.SupportTeam) int { return strings.Compare(a.Name, b.Name) })
	return sorted
}

// SettingsCSV writes one row per setting, in the order given (Compute sorts
// them by URN), under CSVHeader. An unknown disadvantaged count is an empty
// cell, not 0, so it cannot be mistaken for "none".
func SettingsCSV(settings []coverage.SettingRecord) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(CSVHeader); err != nil {
		return nil, fmt.Errorf("write csv header: %w", err)
	}
	for _, s := range settings {
		if err := w.Write(csvRow(s)); err != nil {
			return nil, fmt.Errorf("write csv row for %s: %w", s.URN, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("write csv: %w", err)
	}
	return buf.Bytes(), nil
}

func csvRow(s coverage.SettingRecord) []string {
	disadvantaged := ""
	if s.DisadvantagedPupils != nil {
		disadvantaged = strconv.FormatInt(int64(*s.DisadvantagedPupils), 10)
	}
	return []string{
		s.URN,
		spreadsheetSafe(s.Name),
		string(s.Phase),
		strconv.FormatInt(s.Pupils, 10),
		disadvantaged,
		s.Team,
		strconv.FormatBool(s.Covered),
		strconv.FormatInt(int64(s.SessionsPerWeek), 10),
	}
}

// spreadsheetSafe stops a spreadsheet from running a cell as a formula: the
// CSV is opened by auditors in spreadsheet programs, and a name is free text
// typed into a manifest. A leading quote makes the cell plain text.
func spreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func knownCount(n *int32) int64 {
	if n == nil {
		return 0
	}
	return int64(*n)
}

// marshal is indented JSON with a final newline. encoding/json writes struct
// fields in declaration order and map keys sorted, so the bytes depend only on
// the content.
func marshal(v any) ([]byte, error) {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
