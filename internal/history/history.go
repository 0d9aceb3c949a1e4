// Package history reads CoverageSnapshots side by side: the list of
// snapshots `kubectl mhst history` prints, with their figures and whether
// each record still matches its digest, and the changes between two
// snapshots that `kubectl mhst diff` prints. It only reads the snapshots
// it is given; nothing here counts coverage again.
package history

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/snapshot"
)

// DigestCheck says whether a snapshot's record matches its digest.
type DigestCheck string

const (
	// DigestOK: the record hashes to status.digest.
	DigestOK DigestCheck = "ok"
	// DigestMismatch: it does not. The record is not what the operator
	// sealed, and must not be quoted.
	DigestMismatch DigestCheck = "mismatch"
	// DigestNone: nothing was recorded (the snapshot is not taken yet, or
	// could not be), so there is nothing to check.
	DigestNone DigestCheck = "none"
)

// Verify recomputes the snapshot's digest and compares it with the one in
// its status.
func Verify(snap *mhstv1alpha1.CoverageSnapshot) DigestCheck {
	if snap.Status.Digest == "" {
		if snap.Status.Coverage == nil && len(snap.Status.Settings) == 0 && len(snap.Status.Areas) == 0 {
			return DigestNone
		}
		return DigestMismatch
	}
	digest, err := snapshot.Digest(snap.Spec.Scope, &snap.Status)
	if err != nil || digest != snap.Status.Digest {
		return DigestMismatch
	}
	return DigestOK
}

// Row is one snapshot as the history lists it.
type Row struct {
	Name  string                     `json:"name"`
	Scope mhstv1alpha1.SnapshotScope `json:"scope"`
	Area  string                     `json:"area,omitempty"`
	// TakenAt is when the operator took it; nil while it is not taken.
	TakenAt *time.Time `json:"takenAt"`
	// ScheduledFor is the date a scheduled snapshot stands for (its
	// mhst.io/snapshot-date label); empty for one taken on demand.
	ScheduledFor string `json:"scheduledFor,omitempty"`
	// Ready is true when the snapshot recorded coverage; Reason says why
	// not otherwise.
	Ready                             bool        `json:"ready"`
	Reason                            string      `json:"reason,omitempty"`
	Settings                          int64       `json:"settings"`
	SettingsCovered                   int64       `json:"settingsCovered"`
	Pupils                            int64       `json:"pupils"`
	PupilsCovered                     int64       `json:"pupilsCovered"`
	PupilsCoveredPercent              string      `json:"pupilsCoveredPercent"`
	DisadvantagedPupils               int64       `json:"disadvantagedPupils"`
	DisadvantagedPupilsCovered        int64       `json:"disadvantagedPupilsCovered"`
	DisadvantagedPupilsCoveredPercent string      `json:"disadvantagedPupilsCoveredPercent"`
	Digest                            string      `json:"digest,omitempty"`
	DigestCheck                       DigestCheck `json:"digestCheck"`
}

// reasonNotTaken is the Reason of a snapshot the operator has not taken
// yet.
const reasonNotTaken = "NotTakenYet"

// Rows lists the snapshots, those of one area only when area is not empty
// (National snapshots are left out then), in the order they were taken,
// then by name; snapshots not taken yet come last.
func Rows(snaps []mhstv1alpha1.CoverageSnapshot, area string) []Row {
	rows := make([]Row, 0, len(snaps))
	for i := range snaps {
		snap := &snaps[i]
		if area != "" && (snap.Spec.Scope != mhstv1alpha1.ScopeArea || snap.Spec.Area != area) {
			continue
		}
		rows = append(rows, rowOf(snap))
	}
	slices.SortFunc(rows, func(a, b Row) int {
		switch {
		case a.TakenAt == nil && b.TakenAt != nil:
			return 1
		case a.TakenAt != nil && b.TakenAt == nil:
			return -1
		case a.TakenAt != nil && b.TakenAt != nil:
			if c := a.TakenAt.Compare(*b.TakenAt); c != 0 {
				return c
			}
		}
		return strings.Compare(a.Name, b.Name)
	})
	return rows
}

func rowOf(snap *mhstv1alpha1.CoverageSnapshot) Row {
	row := Row{
		Name:         snap.Name,
		Scope:        snap.Spec.Scope,
		Area:         snap.Spec.Area,
		ScheduledFor: snap.Labels[mhstv1alpha1.LabelSnapshotDate],
		Digest:       snap.Status.Digest,
		DigestCheck:  Verify(snap),
		Reason:       reasonNotTaken,
	}
	if snap.Status.TakenAt != nil {
		taken := snap.Status.TakenAt.UTC()
		row.TakenAt = &taken
		row.Reason = ""
		if ready := meta.FindStatusCondition(snap.Status.Conditions, mhstv1alpha1.ConditionReady); ready != nil {
			row.Ready = ready.Status == metav1.ConditionTrue
			if !row.Ready {
				row.Reason = ready.Reason
			}
		}
	}
	c := snap.Status.Coverage
	if c == nil {
		c = &mhstv1alpha1.AreaCoverage{PupilsCoveredPercent: coverage.Percent(0, 0)}
	}
	row.Settings, row.SettingsCovered = c.Settings, c.SettingsCovered
	row.Pupils, row.PupilsCovered, row.PupilsCoveredPercent = c.Pupils, c.PupilsCovered, c.PupilsCoveredPercent
	row.DisadvantagedPupils, row.DisadvantagedPupilsCovered = c.DisadvantagedPupils, c.DisadvantagedPupilsCovered
	row.DisadvantagedPupilsCoveredPercent = coverage.Percent(c.DisadvantagedPupilsCovered, c.DisadvantagedPupils)
	return row
}

// byName sorts by name, for the lists of a diff.
func byName[T any](name func(T) string) func(a, b T) int {
	return func(a, b T) int { return cmp.Compare(name(a), name(b)) }
}
