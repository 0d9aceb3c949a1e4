package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
)

// NationalSummary is the national report: the sums of the areas'
// status.coverage, overall, by wave, by region and per area.
type NationalSummary struct {
	// Target is the national target in percent of pupils covered.
	Target int32 `json:"target"`
	// Totals are the sums over every area, measured against Target.
	Totals Figures `json:"totals"`
	// ByWave has a row per wave, in wave order, measured against Target.
	ByWave []WaveRow `json:"byWave"`
	// ByRegion has a row per region, sorted by name, measured against Target.
	ByRegion []RegionRow `json:"byRegion"`
	// Areas has a row per area, sorted by name.
	Areas []AreaRow `json:"areas"`
	// SettingsInMoreThanOneArea lists each URN that SchoolCoverages of more
	// than one area list, sorted by URN. The national sums still add up
	// the areas, so such a setting may be counted once per area: this list
	// says where.
	SettingsInMoreThanOneArea []SharedSetting `json:"settingsInMoreThanOneArea"`
	Licence                   string          `json:"licence"`
}

// SharedSetting is a setting listed by more than one area.
type SharedSetting struct {
	URN string `json:"urn"`
	// Name is the setting's name as the first of its areas lists it.
	Name string `json:"name"`
	// Areas are the names of the LocalAreas listing it, sorted.
	Areas []string `json:"areas"`
}

// Figures are the sums over a group of areas. An area whose status has no
// coverage yet counts in Areas but adds nothing else; AreasReporting counts
// the areas that have reported coverage. TargetMet applies the national
// target with the same integer rule as an area's; the percentages and the
// equity index are computed from the sums, never averaged.
// AdditionalTeamsNeeded is the sum of the areas' status.plan figures (each
// against its own current target): teams are commissioned per area, so one
// area's spare capacity cannot make up another's shortfall.
type Figures struct {
	Areas          int64 `json:"areas"`
	AreasReporting int64 `json:"areasReporting"`
	Teams          int64 `json:"teams"`
	TeamsReady     int64 `json:"teamsReady"`
	mhstv1alpha1.AreaCoverage
	AdditionalTeamsNeeded int64 `json:"additionalTeamsNeeded"`
}

// WaveRow is the figures of the areas of one wave.
type WaveRow struct {
	Wave int32 `json:"wave"`
	Figures
}

// RegionRow is the figures of the areas of one region.
type RegionRow struct {
	Region string `json:"region"`
	Figures
}

// AreaRow is one area as its status reports it. TargetMet is measured
// against the area's own coverageTarget, and is false while the area has not
// reported coverage (CoverageReported false, figures 0).
type AreaRow struct {
	Name               string `json:"name"`
	DisplayName        string `json:"displayName"`
	LocalAuthorityCode string `json:"localAuthorityCode"`
	Region             string `json:"region"`
	Wave               int32  `json:"wave"`
	CoverageTarget     int32  `json:"coverageTarget"`
	CoverageReported   bool   `json:"coverageReported"`
	Teams              int64  `json:"teams"`
	TeamsReady         int64  `json:"teamsReady"`
	mhstv1alpha1.AreaCoverage
	// Plan is the area's status.plan, absent until the area reports one.
	Plan *mhstv1alpha1.AreaPlan `json:"plan,omitempty"`
}

// NationalReport is National as indented JSON. The same areas and
// coverages always give the same bytes, whatever order they come in.
func NationalReport(areas []mhstv1alpha1.LocalArea, coverages []mhstv1alpha1.SchoolCoverage, target int32) ([]byte, error) {
	out, err := marshal(National(areas, coverages, target))
	if err != nil {
		return nil, fmt.Errorf("national report: %w", err)
	}
	return out, nil
}

// National sums the areas' status.coverage against the national target.
// coverages are SchoolCoverages of any namespace (those of a namespace no
// area holds are ignored); they give SettingsInMoreThanOneArea.
func National(areas []mhstv1alpha1.LocalArea, coverages []mhstv1alpha1.SchoolCoverage, target int32) NationalSummary {
	summary := NationalSummary{
		Target:                    target,
		ByWave:                    []WaveRow{},
		ByRegion:                  []RegionRow{},
		Areas:                     make([]AreaRow, 0, len(areas)),
		SettingsInMoreThanOneArea: SettingsInMoreThanOneArea(areas, coverages),
		Licence:                   Licence,
	}
	byWave := map[int32]*Figures{}
	byRegion := map[string]*Figures{}
	for i := range areas {
		area := &areas[i]
		summary.Totals.add(area)
		groupFigures(byWave, area.Spec.Wave).add(area)
		groupFigures(byRegion, area.Spec.Region).add(area)
		summary.Areas = append(summary.Areas, areaRow(area))
	}
	summary.Totals.finish(target)
	for wave, f := range byWave {
		f.finish(target)
		summary.ByWave = append(summary.ByWave, WaveRow{Wave: wave, Figures: *f})
	}
	for region, f := range byRegion {
		f.finish(target)
		summary.ByRegion = append(summary.ByRegion, RegionRow{Region: region, Figures: *f})
	}
	slices.SortFunc(summary.ByWave, func(a, b WaveRow) int { return cmp.Compare(a.Wave, b.Wave) })
	slices.SortFunc(summary.ByRegion, func(a, b RegionRow) int { return strings.Compare(a.Region, b.Region) })
	slices.SortStableFunc(summary.Areas, func(a, b AreaRow) int { return strings.Compare(a.Name, b.Name) })
	return summary
}

func groupFigures[K comparable](groups map[K]*Figures, key K) *Figures {
	f, ok := groups[key]
	if !ok {
		f = &Figures{}
		groups[key] = f
	}
	return f
}

func (f *Figures) add(area *mhstv1alpha1.LocalArea) {
	f.Areas++
	f.Teams += int64(area.Status.Teams.Total)
	f.TeamsReady += int64(area.Status.Teams.Ready)
	if p := area.Status.Plan; p != nil {
		f.AdditionalTeamsNeeded += int64(p.AdditionalTeamsNeeded)
	}
	c := area.Status.Coverage
	if c == nil {
		return
	}
	f.AreasReporting++
	f.Settings += c.Settings
	f.SettingsCovered += c.SettingsCovered
	f.Pupils += c.Pupils
	f.PupilsCovered += c.PupilsCovered
	f.DisadvantagedPupils += c.DisadvantagedPupils
	f.DisadvantagedPupilsCovered += c.DisadvantagedPupilsCovered
	f.PupilsCoveredByTeamsInTraining += c.PupilsCoveredByTeamsInTraining
}

// finish derives the percentages and TargetMet from the sums, rather than
// trusting any area's own strings.
func (f *Figures) finish(target int32) {
	f.TargetMet = coverage.TargetMet(f.PupilsCovered, f.Pupils, target)
	derive(&f.AreaCoverage)
}

// derive computes the percentages and the equity index from the counts, with
// the same functions as an area's.
func derive(c *mhstv1alpha1.AreaCoverage) {
	c.PupilsCoveredPercent = coverage.Percent(c.PupilsCovered, c.Pupils)
	c.SettingsCoveredPercent = coverage.Percent(c.SettingsCovered, c.Settings)
	c.DisadvantagedPupilsCoveredPercent = coverage.Percent(c.DisadvantagedPupilsCovered, c.DisadvantagedPupils)
	c.EquityIndexPermille = coverage.EquityIndexPermille(c.DisadvantagedPupilsCovered, c.Pupils, c.DisadvantagedPupils, c.PupilsCovered)
}

func areaRow(area *mhstv1alpha1.LocalArea) AreaRow {
	row := AreaRow{
		Name:               area.Name,
		DisplayName:        area.Spec.DisplayName,
		LocalAuthorityCode: area.Spec.LocalAuthorityCode,
		Region:             area.Spec.Region,
		Wave:               area.Spec.Wave,
		CoverageTarget:     coverage.TargetOf(area),
		Teams:              int64(area.Status.Teams.Total),
		TeamsReady:         int64(area.Status.Teams.Ready),
	}
	if c := area.Status.Coverage; c != nil {
		row.CoverageReported = true
		row.AreaCoverage = *c
		row.TargetMet = coverage.TargetMet(c.PupilsCovered, c.Pupils, row.CoverageTarget)
	}
	row.Plan = area.Status.Plan.DeepCopy()
	derive(&row.AreaCoverage)
	return row
}

// SettingsInMoreThanOneArea lists each URN that the SchoolCoverages of more
// than one area list, with those areas. A SchoolCoverage belongs to the area
// whose status.namespace holds it.
func SettingsInMoreThanOneArea(areas []mhstv1alpha1.LocalArea, coverages []mhstv1alpha1.SchoolCoverage) []SharedSetting {
	areaOf := make(map[string]string, len(areas))
	for _, a := range areas {
		if a.Status.Namespace != "" {
			areaOf[a.Status.Namespace] = a.Name
		}
	}
	type listing struct{ area, name string }
	byURN := map[string][]listing{}
	for _, c := range coverages {
		area, ok := areaOf[c.Namespace]
		if !ok {
			continue
		}
		for _, s := range c.Spec.Settings {
			byURN[s.URN] = append(byURN[s.URN], listing{area: area, name: s.Name})
		}
	}
	shared := []SharedSetting{}
	for urn, listings := range byURN {
		slices.SortFunc(listings, func(a, b listing) int {
			return cmp.Or(strings.Compare(a.area, b.area), strings.Compare(a.name, b.name))
		})
		var names []string
		for _, l := range listings {
			if len(names) == 0 || names[len(names)-1] != l.area {
				names = append(names, l.area)
			}
		}
		if len(names) > 1 {
			shared = append(shared, SharedSetting{URN: urn, Name: listings[0].name, Areas: names})
		}
	}
	slices.SortFunc(shared, func(a, b SharedSetting) int { return strings.Compare(a.URN, b.URN) })
	return shared
}
