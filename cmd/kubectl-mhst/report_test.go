package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mhst-io/mhst-operator/controllers"
)

// TestReportNamesAreTheOperators: the plugin reads the ConfigMaps the
// operator writes, by the same names.
func TestReportNamesAreTheOperators(t *testing.T) {
	for _, names := range [][2]string{
		{areaReportName, controllers.AreaReportName},
		{areaReportJSONKey, controllers.AreaReportJSONKey},
		{nationalReportName, controllers.NationalReportName},
		{nationalReportJSONKey, controllers.NationalReportJSONKey},
	} {
		if names[0] != names[1] {
			t.Errorf("the plugin reads %q, the operator writes %q", names[0], names[1])
		}
	}
}

func TestReportCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"report"}, `--format ""`},
		{[]string{"report", "--format", "pdf"}, `--format "pdf"`},
		{[]string{"report", "--format", "html", "york"}, `unexpected argument "york"`},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if code := run(tt.args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
		}
	}
}

// snapshot is a CoverageSnapshot as the API server returns it.
func snapshotObject(name, scope, area, ready, takenAt string, withCoverage bool) unstructured.Unstructured {
	status := map[string]any{
		"conditions": []any{map[string]any{"type": "Ready", "status": ready, "reason": "Taken", "message": "", "lastTransitionTime": takenAt}},
		"takenAt":    takenAt,
		"digest":     strings.Repeat("0f", 32),
	}
	if withCoverage {
		status["coverage"] = map[string]any{"settings": 10, "settingsCovered": 4, "pupils": 5000, "pupilsCovered": 2000, "pupilsCoveredPercent": "40.0"}
	}
	spec := map[string]any{"scope": scope}
	if area != "" {
		spec["area"] = area
	}
	return unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "mhst.io/v1alpha1", "kind": "CoverageSnapshot",
		"metadata": map[string]any{"name": name},
		"spec":     spec, "status": status,
	}}
}

func TestSnapshotsOf(t *testing.T) {
	items := []unstructured.Unstructured{
		snapshotObject("york-2025-03", "Area", "york", "True", "2025-03-01T00:00:00Z", true),
		snapshotObject("leeds-2025-03", "Area", "leeds", "True", "2025-03-01T00:00:00Z", true),
		snapshotObject("national-2025-03", "National", "", "True", "2025-03-01T00:00:05Z", true),
		// Failed: the area was not active; no figures recorded.
		snapshotObject("york-2024-09", "Area", "york", "False", "2024-09-01T00:00:00Z", false),
		// Not taken yet.
		{Object: map[string]any{"apiVersion": "mhst.io/v1alpha1", "kind": "CoverageSnapshot",
			"metadata": map[string]any{"name": "york-new"}, "spec": map[string]any{"scope": "Area", "area": "york"}}},
	}
	york := snapshotsOf(items, "Area", "york")
	if len(york) != 1 || york[0].Name != "york-2025-03" || york[0].Coverage.PupilsCovered != 2000 ||
		!york[0].TakenAt.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) || york[0].Digest != strings.Repeat("0f", 32) {
		t.Errorf("york's snapshots: %+v", york)
	}
	if national := snapshotsOf(items, "National", ""); len(national) != 1 || national[0].Name != "national-2025-03" {
		t.Errorf("national snapshots: %+v", national)
	}
	if none := snapshotsOf(nil, "National", ""); len(none) != 0 {
		t.Errorf("no snapshots: %+v", none)
	}
}
