package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
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

// summarise sums the areas' coverage for England, each wave (in wave order),
// each region (by name) and, with perArea, each area (by name).
func summarise(areas []mhstv1alpha1.LocalArea, perArea bool) nationalCoverage {
	england := coverageRow{Scope: scopeEngland, Name: scopeEngland}
	waves := map[int32]*coverageRow{}
	regions := map[string]*coverageRow{}
	var byArea []coverageRow
	for _, a := range areas {
		england.add(a)
		rowFor(waves, a.Spec.Wave, scopeWave, strconv.Itoa(int(a.Spec.Wave))).add(a)
		rowFor(regions, a.Spec.Region, scopeRegion, a.Spec.Region).add(a)
		if perArea {
			row := coverageRow{Scope: scopeArea, Name: a.Name}
			row.add(a)
			byArea = append(byArea, row.withPercent())
		}
	}
	sort.Slice(byArea, func(i, j int) bool { return byArea[i].Name < byArea[j].Name })
	return nationalCoverage{
		England:  england.withPercent(),
		ByWave:   sortedRows(waves, func(a, b int32) bool { return a < b }),
		ByRegion: sortedRows(regions, func(a, b string) bool { return a < b }),
		ByArea:   byArea,
	}
}

// rowFor returns the row of key, creating it.
func rowFor[K comparable](rows map[K]*coverageRow, key K, scope, name string) *coverageRow {
	row, ok := rows[key]
	if !ok {
		row = &coverageRow{Scope: scope, Name: name}
		rows[key] = row
	}
	return row
}

// sortedRows returns the rows ordered by key, with their percent.
func sortedRows[K comparable](rows map[K]*coverageRow, less func(a, b K) bool) []coverageRow {
	keys := make([]K, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return less(keys[i], keys[j]) })
	out := make([]coverageRow, 0, len(keys))
	for _, k := range keys {
		out = append(out, rows[k].withPercent())
	}
	return out
}

// add counts the area and adds its coverage.
func (r *coverageRow) add(a mhstv1alpha1.LocalArea) {
	r.Areas++
	c := a.Status.Coverage
	if c == nil {
		return
	}
	r.Settings += c.Settings
	r.SettingsCovered += c.SettingsCovered
	r.Pupils += c.Pupils
	r.PupilsCovered += c.PupilsCovered
	r.DisadvantagedPupils += c.DisadvantagedPupils
	r.DisadvantagedPupilsCovered += c.DisadvantagedPupilsCovered
}

// withPercent returns the row with its percent computed from its sums (never
// averaged from the areas' own percents).
func (r coverageRow) withPercent() coverageRow {
	r.PupilsCoveredPercent = percent(r.PupilsCovered, r.Pupils)
	return r
}

// percent is part/whole in percent rounded half up to one decimal, in
// integer arithmetic as the API's pupilsCoveredPercent is; "0.0" when whole
// is 0.
func percent(part, whole int64) string {
	if whole <= 0 {
		return "0.0"
	}
	tenths := (part*2000 + whole) / (2 * whole)
	return fmt.Sprintf("%d.%d", tenths/10, tenths%10)
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
