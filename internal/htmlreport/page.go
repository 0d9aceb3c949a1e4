// Package htmlreport builds the coverage report a governance board or an
// auditor reads: one self-contained HTML page (inline CSS, inline SVG, no
// script, nothing fetched) with the headline figures, coverage by region,
// wave, area or phase against the target as bar charts with a table beside
// each, disadvantaged pupils beside all pupils, an area's teams and their
// capacity, its gaps, the history of coverage snapshots when there are any,
// and the data's attribution.
//
// It is pure: the figures come from the reports internal/report builds (the
// national sums of the LocalAreas' status, an area's report ConfigMap) and
// from snapshots the caller has read, so the page always says what
// `kubectl get area`, the report ConfigMaps and the metrics say.
package htmlreport

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/report"
)

// DataSource names the data the settings' figures come from; the Open
// Government Licence asks for it beside report.Licence.
const DataSource = `Pupil and free school meal counts: Department for Education, "Schools, pupils and their characteristics".`

// LicenceURL is the text of the Open Government Licence v3.0.
const LicenceURL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"

// Page is everything one report shows. Sections without data are left out
// of the page: Teams, Allocations and Gaps only exist for an area, History
// only when snapshots were found.
type Page struct {
	// Title is the page's title and its h1.
	Title string
	// Subtitle identifies the scope: the area's code, region and wave.
	Subtitle string
	// AsOf is when the figures were read.
	AsOf     time.Time
	Headline Headline
	// Breakdowns are the coverage charts, each with its table.
	Breakdowns []Breakdown
	// Teams are the area's teams; nil on the national page.
	Teams []report.TeamRow
	// Proposed are the area's allocations of a team's time that the board
	// has not agreed yet.
	Proposed []report.AllocationRow
	// Conflicts are the area's allocations that list settings an older
	// allocation holds.
	Conflicts []report.AllocationRow
	// Gaps are the settings no team covers; nil when the report has no
	// gaps list (the national page).
	Gaps *Gaps
	// History are the snapshots of the scope, oldest first.
	History []Snapshot
	// Target is the target the history is measured against.
	Target int32
}

// Headline are the figures at the top of the page.
type Headline struct {
	// Areas, AreasReporting and TeamsReady are set on the national page
	// only: an area's report does not say which of its teams are Ready.
	Areas, AreasReporting int64
	Teams, TeamsReady     int64
	mhstv1alpha1.AreaCoverage
	DisadvantagedPupilsCoveredPercent string
	// DisadvantagedUnknownSettings counts the settings whose disadvantaged
	// pupils the register suppresses (area page only).
	DisadvantagedUnknownSettings int64
	// Target is the scope's coverage target in percent.
	Target int32
	// National is true on the national page.
	National bool
}

// Breakdown is one chart of coverage against the target, and its table.
type Breakdown struct {
	// ID is the section's HTML id.
	ID    string
	Title string
	// Label heads the table's first column ("Region", "Wave", ...).
	Label string
	// Note says how to read the chart.
	Note string
	Rows []Row
}

// Row is the coverage of one group: a region, a wave, an area, a phase.
type Row struct {
	// Key identifies the row in the page (data-row), e.g. an area's name.
	Key   string
	Label string
	Figures
	// Highlight marks the row the page is about.
	Highlight bool
}

// Figures are one group's counts and the target they are measured against.
type Figures struct {
	Settings, SettingsCovered                       int64
	Pupils, PupilsCovered                           int64
	DisadvantagedPupils, DisadvantagedPupilsCovered int64
	Target                                          int32
}

// PupilsPercent is the share of pupils covered, as status rounds it.
func (f Figures) PupilsPercent() string { return coverage.Percent(f.PupilsCovered, f.Pupils) }

// DisadvantagedPercent is the share of disadvantaged pupils covered.
func (f Figures) DisadvantagedPercent() string {
	return coverage.Percent(f.DisadvantagedPupilsCovered, f.DisadvantagedPupils)
}

// TargetMet applies the target with the API's integer rule.
func (f Figures) TargetMet() bool { return coverage.TargetMet(f.PupilsCovered, f.Pupils, f.Target) }

// Gaps are an area's known gaps.
type Gaps struct {
	// SettingsWithNoTeam are the settings no team's allocation holds.
	SettingsWithNoTeam []report.SettingRef
	// TeamsNotYearRound are the teams that stop outside term time.
	TeamsNotYearRound []string
}

// Snapshot is one recorded moment of coverage: a CoverageSnapshot, read by
// the caller in whatever form its API takes.
type Snapshot struct {
	Name     string
	TakenAt  time.Time
	Coverage mhstv1alpha1.AreaCoverage
	// Digest is the snapshot's SHA-256, with which a published figure can
	// be checked against the record.
	Digest string
}

// NationalPage is the page of England: the national sums, by region, by
// wave and by area, and the national snapshots.
func NationalPage(n report.NationalSummary, history []Snapshot, asOf time.Time) Page {
	areas := make([]Row, 0, len(n.Areas))
	for _, a := range n.Areas {
		label := nameOf(a.DisplayName, a.Name)
		if !a.CoverageReported {
			label += " (no coverage reported yet)"
		}
		areas = append(areas, Row{Key: a.Name, Label: label, Figures: figuresOf(a.AreaCoverage, a.CoverageTarget)})
	}
	return Page{
		Title:    "Mental Health Support Team coverage: England",
		Subtitle: fmt.Sprintf("%s in %s, %s, %s", counted(n.Totals.Areas, "local area"), counted(int64(len(n.ByRegion)), "region"), counted(int64(len(n.ByWave)), "wave"), counted(n.Totals.Teams, "team")),
		AsOf:     asOf,
		Headline: Headline{
			Areas: n.Totals.Areas, AreasReporting: n.Totals.AreasReporting,
			Teams: n.Totals.Teams, TeamsReady: n.Totals.TeamsReady,
			AreaCoverage:                      n.Totals.AreaCoverage,
			DisadvantagedPupilsCoveredPercent: n.Totals.DisadvantagedPupilsCoveredPercent,
			Target:                            n.Target,
			National:                          true,
		},
		Breakdowns: []Breakdown{
			{ID: "by-region", Title: "Coverage by region", Label: "Region", Rows: regionRows(n, ""),
				Note: fmt.Sprintf("Each region's share of pupils covered, and of disadvantaged pupils, against the national target of %d%%.", n.Target)},
			{ID: "by-wave", Title: "Coverage by wave", Label: "Wave", Rows: waveRows(n, -1),
				Note: fmt.Sprintf("The areas of each rollout wave (0 is the 2019 trailblazers), against the national target of %d%%.", n.Target)},
			{ID: "by-area", Title: "Coverage by area", Label: "Area", Rows: areas,
				Note: "Each area against its own coverage target."},
		},
		History: sortedHistory(history),
		Target:  n.Target,
	}
}

// AreaPage is the page of one area, from its report. national, when the
// caller could read every area, adds the area beside its region, its wave
// and England.
func AreaPage(a report.AreaSummary, national *report.NationalSummary, history []Snapshot, asOf time.Time) Page {
	info := a.Area
	teams := slices.Clone(a.PerTeam)
	page := Page{
		Title:    "Mental Health Support Team coverage: " + nameOf(info.DisplayName, info.Name),
		Subtitle: areaSubtitle(info),
		AsOf:     asOf,
		Headline: Headline{
			Teams:                             int64(len(teams)),
			AreaCoverage:                      a.Totals.AreaCoverage,
			DisadvantagedPupilsCoveredPercent: a.Totals.DisadvantagedPupilsCoveredPercent,
			DisadvantagedUnknownSettings:      a.Totals.DisadvantagedUnknownSettings,
			Target:                            info.CoverageTarget,
		},
		Teams:   teams,
		Gaps:    &Gaps{SettingsWithNoTeam: a.SettingsWithNoTeam, TeamsNotYearRound: a.TeamsNotYearRound},
		History: sortedHistory(history),
		Target:  info.CoverageTarget,
	}
	for _, alloc := range a.PerAllocation {
		if !alloc.Agreed && alloc.Team != "" {
			page.Proposed = append(page.Proposed, alloc)
		}
		if len(alloc.Conflicts) > 0 {
			page.Conflicts = append(page.Conflicts, alloc)
		}
	}
	if national != nil {
		page.Breakdowns = append(page.Breakdowns, Breakdown{
			ID: "in-context", Title: "The area beside its region, its wave and England", Label: "Scope",
			Note: fmt.Sprintf("The area against its own target of %d%%; its region, its wave and England against the national target of %d%%.", info.CoverageTarget, national.Target),
			Rows: slices.Concat(
				[]Row{{Key: info.Name, Label: nameOf(info.DisplayName, info.Name), Figures: figuresOf(a.Totals.AreaCoverage, info.CoverageTarget), Highlight: true}},
				regionRows(*national, info.Region),
				waveRows(*national, info.Wave),
				[]Row{{Key: "england", Label: "England", Figures: figuresOf(national.Totals.AreaCoverage, national.Target)}},
			),
		})
	}
	page.Breakdowns = append(page.Breakdowns, Breakdown{
		ID: "by-phase", Title: "Coverage by phase of education", Label: "Phase", Rows: phaseRows(a),
		Note: fmt.Sprintf("The area's settings by phase, against its target of %d%%.", info.CoverageTarget),
	})
	return page
}

// regionRows are the regions' rows; only the named one when only is set.
func regionRows(n report.NationalSummary, only string) []Row {
	var rows []Row
	for _, r := range n.ByRegion {
		if only == "" || r.Region == only {
			rows = append(rows, Row{Key: "region-" + r.Region, Label: r.Region, Figures: figuresOf(r.AreaCoverage, n.Target)})
		}
	}
	return rows
}

// waveRows are the waves' rows; only the given one when only ≥ 0.
func waveRows(n report.NationalSummary, only int32) []Row {
	var rows []Row
	for _, w := range n.ByWave {
		if only < 0 || w.Wave == only {
			wave := strconv.Itoa(int(w.Wave))
			rows = append(rows, Row{Key: "wave-" + wave, Label: "Wave " + wave, Figures: figuresOf(w.AreaCoverage, n.Target)})
		}
	}
	return rows
}

func phaseRows(a report.AreaSummary) []Row {
	rows := make([]Row, 0, len(a.PerPhase))
	for _, p := range a.PerPhase {
		rows = append(rows, Row{Key: "phase-" + string(p.Phase), Label: phaseName(p.Phase), Figures: Figures{
			Settings: p.Settings, SettingsCovered: p.SettingsCovered,
			Pupils: p.Pupils, PupilsCovered: p.PupilsCovered,
			DisadvantagedPupils: p.DisadvantagedPupils, DisadvantagedPupilsCovered: p.DisadvantagedPupilsCovered,
			Target: a.Area.CoverageTarget,
		}})
	}
	return rows
}

// phaseName is a phase as people write it.
func phaseName(p mhstv1alpha1.SettingPhase) string {
	switch p {
	case mhstv1alpha1.PhaseAllThrough:
		return "All-through"
	case mhstv1alpha1.PhaseAlternativeProvision:
		return "Alternative provision"
	case mhstv1alpha1.PhaseFurtherEducation:
		return "Further education"
	}
	return string(p)
}

func figuresOf(c mhstv1alpha1.AreaCoverage, target int32) Figures {
	return Figures{
		Settings: c.Settings, SettingsCovered: c.SettingsCovered,
		Pupils: c.Pupils, PupilsCovered: c.PupilsCovered,
		DisadvantagedPupils: c.DisadvantagedPupils, DisadvantagedPupilsCovered: c.DisadvantagedPupilsCovered,
		Target: target,
	}
}

func areaSubtitle(info report.AreaInfo) string {
	s := fmt.Sprintf("LocalArea %s, local authority %s, %s, wave %d", info.Name, info.LocalAuthorityCode, info.Region, info.Wave)
	if info.IntegratedCareBoard != "" {
		s += ", " + info.IntegratedCareBoard
	}
	return s
}

func nameOf(displayName, name string) string {
	if displayName != "" {
		return displayName
	}
	return name
}

func sortedHistory(history []Snapshot) []Snapshot {
	sorted := slices.Clone(history)
	slices.SortStableFunc(sorted, func(a, b Snapshot) int {
		return cmp.Or(a.TakenAt.Compare(b.TakenAt), cmp.Compare(a.Name, b.Name))
	})
	return sorted
}

// counted is n and the noun, plural unless n is 1.
func counted(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%s %ss", number(n), noun)
}
