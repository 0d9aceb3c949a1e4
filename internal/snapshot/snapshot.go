// Package snapshot knows what a CoverageSnapshot records: it turns the
// figures the operator already computes (an area's coverage.Result, the
// national report's sums) into a snapshot's status, seals the record with a
// digest that anyone can recompute from the stored object, and knows the
// dates the operator takes snapshots on.
//
// Nothing here counts coverage: an Area record is the area's coverage at
// the moment it is taken as package plan completes it (plan.Plan.Coverage,
// coverage.Compute's counts and the pupils covered by teams in training),
// with the settings as coverage.Compute counted them, and a National record
// is report.National's sums. So a snapshot can never disagree with the
// area's status, its report or the national report it was taken from.
package snapshot

import (
	"encoding/json"
	"fmt"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/plan"
	"github.com/mhst-io/mhst-operator/internal/report"
)

// MaxBytes bounds a snapshot's status as JSON. The API server stores at
// most 1.5 MiB per object; a status that would come near it is refused
// here, with a reason, rather than by etcd with a retry that never
// succeeds. The largest real area (Lancashire, 628 settings) takes about a
// sixth of it (166 KiB).
const MaxBytes = 1 << 20

// Area is the record of one area at the moment p was worked out for: its
// status.coverage figures (p.Coverage, which the area's status holds at
// that moment) and every one of its settings, in URN order, as
// coverage.Compute counted them in res, the result p was worked out from.
func Area(res coverage.Result, p plan.Plan) (mhstv1alpha1.AreaCoverage, []mhstv1alpha1.SnapshotSetting) {
	settings := make([]mhstv1alpha1.SnapshotSetting, 0, len(res.Settings))
	for _, rec := range res.Settings {
		s := mhstv1alpha1.SnapshotSetting{
			URN:         rec.URN,
			Name:        rec.Name,
			Pupils:      rec.Pupils,
			Covered:     rec.Covered,
			Team:        rec.Team,
			Allocation:  rec.Allocation,
			DecisionRef: rec.DecisionRef,
		}
		if rec.DisadvantagedPupils != nil {
			d := int64(*rec.DisadvantagedPupils)
			s.DisadvantagedPupils = &d
		}
		settings = append(settings, s)
	}
	return *p.Coverage.DeepCopy(), settings
}

// National is the record of the nation: the national report's totals (the
// sums of the areas' status.coverage, percentages worked out from the sums
// and targetMet against the national target) and each area's coverage, in
// name order; an area that has not reported coverage yet has none.
func National(summary report.NationalSummary) (mhstv1alpha1.AreaCoverage, []mhstv1alpha1.SnapshotArea) {
	areas := make([]mhstv1alpha1.SnapshotArea, 0, len(summary.Areas))
	for _, row := range summary.Areas {
		a := mhstv1alpha1.SnapshotArea{Name: row.Name}
		if row.CoverageReported {
			c := row.AreaCoverage
			a.Coverage = &c
		}
		areas = append(areas, a)
	}
	return summary.Totals.AreaCoverage, areas
}

// CheckSize reports a status too large to store: more settings or areas
// than the schema allows, or more than MaxBytes of JSON.
func CheckSize(status *mhstv1alpha1.CoverageSnapshotStatus) error {
	if n := len(status.Settings); n > mhstv1alpha1.MaxSnapshotSettings {
		return fmt.Errorf("the area has %d settings; a snapshot records at most %d", n, mhstv1alpha1.MaxSnapshotSettings)
	}
	if n := len(status.Areas); n > mhstv1alpha1.MaxSnapshotAreas {
		return fmt.Errorf("there are %d areas; a snapshot records at most %d", n, mhstv1alpha1.MaxSnapshotAreas)
	}
	data, err := json.Marshal(status)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	if len(data) > MaxBytes {
		return fmt.Errorf("the record takes %d bytes; a snapshot holds at most %d", len(data), MaxBytes)
	}
	return nil
}
