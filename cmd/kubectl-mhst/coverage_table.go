package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/report"
)

// Scopes of a coverage row.
const (
	scopeEngland = "England"
	scopeWave    = "Wave"
	scopeRegion  = "Region"
	scopeArea    = "Area"
)

// coverageRow is the coverage of a group of areas: England, a wave, a region
// or one area. Figures are the sums of the areas' status.coverage; an area
// whose coverage is not computed yet counts as an area with no settings.
type coverageRow struct {
	Scope                      string `json:"scope"`
	Name                       string `json:"name"`
	Areas                      int64  `json:"areas"`
	Settings                   int64  `json:"settings"`
	SettingsCovered            int64  `json:"settingsCovered"`
	Pupils                     int64  `json:"pupils"`
	PupilsCovered              int64  `json:"pupilsCovered"`
	PupilsCoveredPercent       string `json:"pupilsCoveredPercent"`
	DisadvantagedPupils        int64  `json:"disadvantagedPupils"`
	DisadvantagedPupilsCovered int64  `json:"disadvantagedPupilsCovered"`
	// SettingsCoveredPercent, DisadvantagedPupilsCoveredPercent and
	// EquityIndexPermille are computed from the sums (nil equity: undefined).
	SettingsCoveredPercent            string `json:"settingsCoveredPercent"`
	DisadvantagedPupilsCoveredPercent string `json:"disadvantagedPupilsCoveredPercent"`
	EquityIndexPermille               *int32 `json:"equityIndexPermille,omitempty"`
	// AdditionalTeamsNeeded is the sum of the areas' status.plan figures.
	AdditionalTeamsNeeded int64 `json:"additionalTeamsNeeded"`
}

// nationalCoverage is the national table: England, then by wave and by
// region, and by area when asked for.
type nationalCoverage struct {
	England  coverageRow   `json:"england"`
	ByWave   []coverageRow `json:"byWave"`
	ByRegion []coverageRow `json:"byRegion"`
	ByArea   []coverageRow `json:"byArea,omitempty"`
	// SettingsInMoreThanOneArea are the URNs listed by more than one area,
	// which the sums may count more than once.
	SettingsInMoreThanOneArea []report.SharedSetting `json:"settingsInMoreThanOneArea"`
}

// rows lists the table's rows in the order they are printed.
func (n nationalCoverage) rows() []coverageRow {
	rows := []coverageRow{n.England}
	rows = append(rows, n.ByWave...)
	rows = append(rows, n.ByRegion...)
	return append(rows, n.ByArea...)
}

// summarise is the national table: the same sums as the operator's national
// report (report.National), so that the plugin and the report never
// disagree; by area as well with perArea. coverages are the cluster's
// SchoolCoverages, for the settings listed by more than one area.
func summarise(areas []mhstv1alpha1.LocalArea, coverages []mhstv1alpha1.SchoolCoverage, perArea bool) nationalCoverage {
	national := report.National(areas, coverages, coverage.DefaultCoverageTarget)
	out := nationalCoverage{
		England:                   rowOf(scopeEngland, scopeEngland, national.Totals),
		SettingsInMoreThanOneArea: national.SettingsInMoreThanOneArea,
	}
	for _, w := range national.ByWave {
		out.ByWave = append(out.ByWave, rowOf(scopeWave, strconv.Itoa(int(w.Wave)), w.Figures))
	}
	for _, r := range national.ByRegion {
		out.ByRegion = append(out.ByRegion, rowOf(scopeRegion, r.Region, r.Figures))
	}
	if perArea {
		for _, a := range national.Areas {
			row := coverageRowOf(scopeArea, a.Name, 1, a.AreaCoverage)
			if a.Plan != nil {
				row.AdditionalTeamsNeeded = int64(a.Plan.AdditionalTeamsNeeded)
			}
			out.ByArea = append(out.ByArea, row)
		}
	}
	return out
}

// rowOf is one group of the national report as a table row.
func rowOf(scope, name string, f report.Figures) coverageRow {
	row := coverageRowOf(scope, name, f.Areas, f.AreaCoverage)
	row.AdditionalTeamsNeeded = f.AdditionalTeamsNeeded
	return row
}

func coverageRowOf(scope, name string, areas int64, c mhstv1alpha1.AreaCoverage) coverageRow {
	return coverageRow{
		Scope:                      scope,
		Name:                       name,
		Areas:                      areas,
		Settings:                   c.Settings,
		SettingsCovered:            c.SettingsCovered,
		Pupils:                     c.Pupils,
		PupilsCovered:              c.PupilsCovered,
		PupilsCoveredPercent:       c.PupilsCoveredPercent,
		DisadvantagedPupils:        c.DisadvantagedPupils,
		DisadvantagedPupilsCovered: c.DisadvantagedPupilsCovered,

		SettingsCoveredPercent:            c.SettingsCoveredPercent,
		DisadvantagedPupilsCoveredPercent: c.DisadvantagedPupilsCoveredPercent,
		EquityIndexPermille:               c.EquityIndexPermille,
	}
}

// Output formats of the coverage command.
const (
	formatTable    = "table"
	formatJSON     = "json"
	formatCSV      = "csv"
	formatMarkdown = "markdown"
)

var coverageFormats = []string{formatTable, formatJSON, formatCSV, formatMarkdown}

var coverageHeader = []string{
	"SCOPE", "NAME", "AREAS", "SETTINGS", "SETTINGS COVERED", "PUPILS", "PUPILS COVERED",
	"PUPILS COVERED %", "DISADVANTAGED PUPILS", "DISADVANTAGED COVERED",
	"SETTINGS COVERED %", "DISADVANTAGED COVERED %", "EQUITY", "ADDITIONAL TEAMS NEEDED",
}

// coverageCSVHeader names coverageHeader's columns the way CSV readers
// (spreadsheets, pandas) handle best.
var coverageCSVHeader = []string{
	"scope", "name", "areas", "settings", "settings_covered", "pupils", "pupils_covered",
	"pupils_covered_percent", "disadvantaged_pupils", "disadvantaged_pupils_covered",
	"settings_covered_percent", "disadvantaged_pupils_covered_percent", "equity_index_permille", "additional_teams_needed",
}

// cells is the row as text, in coverageHeader's order.
func (r coverageRow) cells() []string {
	return []string{
		r.Scope, r.Name, itoa(r.Areas), itoa(r.Settings), itoa(r.SettingsCovered), itoa(r.Pupils),
		itoa(r.PupilsCovered), r.PupilsCoveredPercent, itoa(r.DisadvantagedPupils), itoa(r.DisadvantagedPupilsCovered),
		r.SettingsCoveredPercent, r.DisadvantagedPupilsCoveredPercent, equityCell(r.EquityIndexPermille), itoa(r.AdditionalTeamsNeeded),
	}
}

// equityCell is the equity index, or "-" where it is undefined (no
// disadvantaged pupils, or none covered): never 0, which would mean none
// of the disadvantaged pupils are reached.
func equityCell(e *int32) string {
	if e == nil {
		return "-"
	}
	return strconv.Itoa(int(*e))
}

// sharedHeader heads the list of settings listed by more than one area.
var sharedHeader = []string{"URN", "NAME", "LISTED BY AREAS"}

func (s sharedRow) cells() []string {
	return []string{s.URN, s.Name, strings.Join(s.Areas, ", ")}
}

type sharedRow report.SharedSetting

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// writeCoverage writes the national table of the areas in the format. The
// table and markdown formats add the settings listed by more than one area
// below it, when there are any; JSON has them as settingsInMoreThanOneArea;
// CSV, one table only, has the rows.
func writeCoverage(w io.Writer, areas []mhstv1alpha1.LocalArea, coverages []mhstv1alpha1.SchoolCoverage, perArea bool, format string) error {
	n := summarise(areas, coverages, perArea)
	var err error
	switch format {
	case formatTable:
		err = writeTable(w, coverageHeader, cellsOf(n.rows()))
		if err == nil && len(n.SettingsInMoreThanOneArea) > 0 {
			err = writeSection(w, func() error { return writeTable(w, sharedHeader, sharedCells(n.SettingsInMoreThanOneArea)) })
		}
	case formatJSON:
		err = writeJSON(w, n)
	case formatCSV:
		err = writeCSV(w, n.rows())
	case formatMarkdown:
		err = writeMarkdown(w, coverageHeader, cellsOf(n.rows()))
		if err == nil && len(n.SettingsInMoreThanOneArea) > 0 {
			err = writeSection(w, func() error { return writeMarkdown(w, sharedHeader, sharedCells(n.SettingsInMoreThanOneArea)) })
		}
	default:
		return fmt.Errorf("%w: -o %q is not one of %s", errUsage, format, strings.Join(coverageFormats, ", "))
	}
	if err != nil {
		return fmt.Errorf("write coverage as %s: %w", format, err)
	}
	return nil
}

func cellsOf(rows []coverageRow) [][]string {
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		cells = append(cells, r.cells())
	}
	return cells
}

func sharedCells(shared []report.SharedSetting) [][]string {
	cells := make([][]string, 0, len(shared))
	for _, s := range shared {
		cells = append(cells, sharedRow(s).cells())
	}
	return cells
}

// writeSection writes a blank line, then the section.
func writeSection(w io.Writer, section func() error) error {
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	return section()
}

func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if _, err := fmt.Fprintln(tw, strings.Join(header, "\t")); err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := fmt.Fprintln(tw, strings.Join(r, "\t")); err != nil {
			return err
		}
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, n nationalCoverage) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(n)
}

func writeCSV(w io.Writer, rows []coverageRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(coverageCSVHeader); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(r.cells()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeMarkdown writes a GitHub-flavoured table, numbers right-aligned
// (every column after the first two).
func writeMarkdown(w io.Writer, header []string, rows [][]string) error {
	lines := []string{"| " + strings.Join(header, " | ") + " |", "|---|---|" + strings.Repeat("---:|", len(header)-2)}
	for _, r := range rows {
		cells := slices.Clone(r)
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		lines = append(lines, "| "+strings.Join(cells, " | ")+" |")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}
