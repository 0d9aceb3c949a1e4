package history

import (
	"reflect"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/snapshot"
)

func ptr[T any](v T) *T { return &v }

var march31 = time.Date(2025, 3, 31, 0, 0, 1, 0, time.UTC)

// setting is a setting of a snapshot; team "" is a setting no team has.
func setting(urn string, pupils int64, covered bool, team, decision string) mhstv1alpha1.SnapshotSetting {
	allocation := "gaps"
	if team != "" {
		allocation = team + "-2025"
	}
	return mhstv1alpha1.SnapshotSetting{URN: urn, Name: "School " + urn, Pupils: pupils, DisadvantagedPupils: ptr(pupils / 10),
		Covered: covered, Team: team, Allocation: allocation, DecisionRef: decision}
}

// taken is a Ready snapshot of area ("" for National) taken at, sealed with
// its digest.
func taken(name, area string, at time.Time, c mhstv1alpha1.AreaCoverage, settings []mhstv1alpha1.SnapshotSetting, areas []mhstv1alpha1.SnapshotArea) *mhstv1alpha1.CoverageSnapshot {
	snap := &mhstv1alpha1.CoverageSnapshot{ObjectMeta: metav1.ObjectMeta{Name: name}}
	snap.Spec.Scope = mhstv1alpha1.ScopeNational
	if area != "" {
		snap.Spec = mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.ScopeArea, Area: area}
	}
	t := metav1.NewTime(at)
	snap.Status = mhstv1alpha1.CoverageSnapshotStatus{
		ObservedGeneration: 1, TakenAt: &t, Coverage: &c, Settings: settings, Areas: areas,
		Conditions: []metav1.Condition{{Type: mhstv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: mhstv1alpha1.ReasonTaken}},
	}
	digest, err := snapshot.Digest(snap.Spec.Scope, &snap.Status)
	if err != nil {
		panic(err)
	}
	snap.Status.Digest = digest
	return snap
}

func failed(name, area string, at time.Time, reason string) *mhstv1alpha1.CoverageSnapshot {
	t := metav1.NewTime(at)
	return &mhstv1alpha1.CoverageSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.ScopeArea, Area: area},
		Status: mhstv1alpha1.CoverageSnapshotStatus{TakenAt: &t, Conditions: []metav1.Condition{
			{Type: mhstv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: "No LocalArea " + area + " exists"}}},
	}
}

func rutlandCoverage(pupilsCovered int64) mhstv1alpha1.AreaCoverage {
	return mhstv1alpha1.AreaCoverage{Settings: 5, SettingsCovered: 3, Pupils: 3406, PupilsCovered: pupilsCovered,
		DisadvantagedPupils: 474, DisadvantagedPupilsCovered: 210, PupilsCoveredPercent: "44.9"}
}

func TestVerify(t *testing.T) {
	good := taken("rutland-2025-03-31", "rutland", march31, rutlandCoverage(1529), []mhstv1alpha1.SnapshotSetting{setting("120181", 253, true, "team-oakham", "RGB-2025-03 item 4")}, nil)
	forged := good.DeepCopy()
	forged.Status.Coverage.PupilsCovered = 3406
	unsealed := good.DeepCopy()
	unsealed.Status.Digest = ""
	pending := &mhstv1alpha1.CoverageSnapshot{Spec: mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.ScopeNational}}
	tests := []struct {
		name string
		snap *mhstv1alpha1.CoverageSnapshot
		want DigestCheck
	}{
		{"as the operator sealed it", good, DigestOK},
		{"a figure changed", forged, DigestMismatch},
		{"a record without its digest", unsealed, DigestMismatch},
		{"not taken yet", pending, DigestNone},
		{"nothing recorded", failed("york-now", "york", march31, mhstv1alpha1.ReasonAreaNotFound), DigestNone},
	}
	for _, tt := range tests {
		if got := Verify(tt.snap); got != tt.want {
			t.Errorf("%s: %s; want %s", tt.name, got, tt.want)
		}
	}
}

func TestRows(t *testing.T) {
	area2025 := taken("rutland-2025-03-31", "rutland", march31, rutlandCoverage(1529), nil, nil)
	area2025.Labels = map[string]string{mhstv1alpha1.LabelSnapshotDate: "2025-03-31"}
	area2026 := taken("rutland-2026-03-31", "rutland", march31.AddDate(1, 0, 0), mhstv1alpha1.AreaCoverage{
		Settings: 6, SettingsCovered: 4, Pupils: 4000, PupilsCovered: 2100, DisadvantagedPupils: 500, DisadvantagedPupilsCovered: 333, PupilsCoveredPercent: "52.5"}, nil, nil)
	national := taken("national-2025-03-31", "", march31, rutlandCoverage(1529), nil, []mhstv1alpha1.SnapshotArea{{Name: "rutland"}})
	other := taken("york-2025-03-31", "york", march31, rutlandCoverage(1), nil, nil)
	missing := failed("rutland-typo", "rutlnad", march31.Add(time.Hour), mhstv1alpha1.ReasonAreaNotFound)
	pending := &mhstv1alpha1.CoverageSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "rutland-now"},
		Spec: mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.ScopeArea, Area: "rutland"}}
	all := []mhstv1alpha1.CoverageSnapshot{*pending, *area2026, *other, *national, *missing, *area2025}

	names := func(rows []Row) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.Name)
		}
		return out
	}
	t.Run("every snapshot, in the order taken", func(t *testing.T) {
		got := names(Rows(all, ""))
		want := []string{"national-2025-03-31", "rutland-2025-03-31", "york-2025-03-31", "rutland-typo", "rutland-2026-03-31", "rutland-now"}
		if !slices.Equal(got, want) {
			t.Errorf("rows %v; want %v", got, want)
		}
	})
	t.Run("one area's", func(t *testing.T) {
		got := names(Rows(all, "rutland"))
		want := []string{"rutland-2025-03-31", "rutland-2026-03-31", "rutland-now"}
		if !slices.Equal(got, want) {
			t.Errorf("rows %v; want %v", got, want)
		}
	})
	t.Run("figures", func(t *testing.T) {
		rows := Rows(all, "")
		byName := map[string]Row{}
		for _, r := range rows {
			byName[r.Name] = r
		}
		taken := march31.AddDate(1, 0, 0)
		want := Row{Name: "rutland-2026-03-31", Scope: mhstv1alpha1.ScopeArea, Area: "rutland", TakenAt: &taken, Ready: true,
			Settings: 6, SettingsCovered: 4, Pupils: 4000, PupilsCovered: 2100, PupilsCoveredPercent: "52.5",
			DisadvantagedPupils: 500, DisadvantagedPupilsCovered: 333, DisadvantagedPupilsCoveredPercent: "66.6",
			Digest: area2026.Status.Digest, DigestCheck: DigestOK}
		if got := byName["rutland-2026-03-31"]; !reflect.DeepEqual(got, want) {
			t.Errorf("row\n got %+v\nwant %+v", got, want)
		}
		if got := byName["rutland-2025-03-31"].ScheduledFor; got != "2025-03-31" {
			t.Errorf("scheduledFor = %q; want the label's date", got)
		}
		if got := byName["rutland-typo"]; got.Ready || got.Reason != mhstv1alpha1.ReasonAreaNotFound || got.DigestCheck != DigestNone || got.PupilsCoveredPercent != "0.0" {
			t.Errorf("failed snapshot's row %+v", got)
		}
		if got := byName["rutland-now"]; got.Ready || got.Reason != reasonNotTaken || got.TakenAt != nil {
			t.Errorf("pending snapshot's row %+v", got)
		}
	})
}
