package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
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
}

// nationalCoverage is the national table: England, then by wave and by
// region, and by area when asked for.
type nationalCoverage struct {
	England  coverageRow   `json:"england"`
	ByWave   []coverageRow `json:"byWave"`
	ByRegion []coverageRow `json:"byRegion"`
	ByArea   []coverageRow `json:"byArea,omitempty"`
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
// disagree; by area as well with perArea.
func summarise(areas []mhstv1alpha1.LocalArea, perArea bool) nationalCoverage {
	national := report.National(areas, coverage.DefaultCoverageTarget)
	out := nationalCoverage{England: rowOf(scopeEngland, scopeEngland, national.Totals)}
	for _, w := range national.ByWave {
		out.ByWave = append(out.ByWave, rowOf(scopeWave, strconv.Itoa(int(w.Wave)), w.Figures))
	}
	for _, r := range national.ByRegion {
		out.ByRegion = append(out.ByRegion, rowOf(scopeRegion, r.Region, r.Figures))
	}
	if perArea {
		for _, a := range national.Areas {
			out.ByArea = append(out.ByArea, coverageRowOf(scopeArea, a.Name, 1, a.AreaCoverage))
		}
	}
	return out
}

// rowOf is one group of the national report as a table row.
func rowOf(scope, name string, f report.Figures) coverageRow {
	return coverageRowOf(scope, name, f.Areas, f.AreaCoverage)
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
}

// coverageCSVHeader names coverageHeader's columns the way CSV readers
// (spreadsheets, pandas) handle best.
var coverageCSVHeader = []string{
	"scope", "name", "areas", "settings", "settings_covered", "pupils", "pupils_covered",
	"pupils_covered_percent", "disadvantaged_pupils", "disadvantaged_pupils_covered",
}

// cells is the row as text, in coverageHeader's order.
func (r coverageRow) cells() []string {
	return []string{
		r.Scope, r.Name, itoa(r.Areas), itoa(r.Settings), itoa(r.SettingsCovered), itoa(r.Pupils),
		itoa(r.PupilsCovered), r.PupilsCoveredPercent, itoa(r.DisadvantagedPupils), itoa(r.DisadvantagedPupilsCovered),
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// writeCoverage writes the national table of the areas in the format.
func writeCoverage(w io.Writer, areas []mhstv1alpha1.LocalArea, perArea bool, format string) error {
	n := summarise(areas, perArea)
	var err error
	switch format {
	case formatTable:
		err = writeTable(w, n.rows())
	case formatJSON:
		err = writeJSON(w, n)
	case formatCSV:
		err = writeCSV(w, n.rows())
	case formatMarkdown:
		err = writeMarkdown(w, n.rows())
	default:
		return fmt.Errorf("%w: -o %q is not one of %s", errUsage, format, strings.Join(coverageFormats, ", "))
	}
	if err != nil {
		return fmt.Errorf("write coverage as %s: %w", format, err)
	}
	return nil
}

func writeTable(w io.Writer, rows []coverageRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if _, err := fmt.Fprintln(tw, strings.Join(coverageHeader, "\t")); err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := fmt.Fprintln(tw, strings.Join(r.cells(), "\t")); err != nil {
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

// writeMarkdown writes a GitHub-flavoured table, numbers right-aligned.
func writeMarkdown(w io.Writer, rows []coverageRow) error {
	lines := []string{"| " + strings.Join(coverageHeader, " | ") + " |", "|---|---|" + strings.Repeat("---:|", len(coverageHeader)-2)}
	for _, r := range rows {
		cells := r.cells()
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		lines = append(lines, "| "+strings.Join(cells, " | ")+" |")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}
