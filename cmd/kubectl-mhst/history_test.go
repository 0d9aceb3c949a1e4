package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/history"
	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/snapshot"
)

func ptr[T any](v T) *T { return &v }

// rutlandSnapshot is an Area snapshot of Rutland's five settings of the
// worked example (docs/coverage.md); oakhamAgreed says whether the board's
// agreement on team-oakham's allocation stood when it was taken.
func rutlandSnapshot(name string, at time.Time, oakhamAgreed bool) *mhstv1alpha1.CoverageSnapshot {
	decision := ""
	if oakhamAgreed {
		decision = "RGB-2025-03 item 4"
	}
	oakham := func(urn, schoolName string, pupils, fsm int64) mhstv1alpha1.SnapshotSetting {
		return mhstv1alpha1.SnapshotSetting{URN: urn, Name: schoolName, Pupils: pupils, DisadvantagedPupils: ptr(fsm),
			Covered: oakhamAgreed, Team: "team-oakham", Allocation: "oakham", DecisionRef: decision}
	}
	settings := []mhstv1alpha1.SnapshotSetting{
		oakham("120181", "Oakham CofE Primary School", 253, 46),
		oakham("136530", "Catmose College", 1069, 147),
		{URN: "136629", Name: "Uppingham Community College", Pupils: 910, DisadvantagedPupils: ptr[int64](118), Team: "team-uppingham", Allocation: "uppingham"},
		{URN: "137340", Name: "Casterton College Rutland", Pupils: 967, DisadvantagedPupils: ptr[int64](146), Allocation: "not-yet"},
		oakham("138113", "Catmose Primary", 207, 17),
	}
	c := mhstv1alpha1.AreaCoverage{Settings: 5, Pupils: 3406, DisadvantagedPupils: 474, PupilsCoveredPercent: "0.0"}
	if oakhamAgreed {
		c.SettingsCovered, c.PupilsCovered, c.DisadvantagedPupilsCovered, c.PupilsCoveredPercent = 3, 1529, 210, "44.9"
	}
	return sealed(name, mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.ScopeArea, Area: "rutland"}, at, c, settings, nil)
}

// sealed is a snapshot as the operator takes it.
func sealed(name string, spec mhstv1alpha1.CoverageSnapshotSpec, at time.Time, c mhstv1alpha1.AreaCoverage, settings []mhstv1alpha1.SnapshotSetting, areas []mhstv1alpha1.SnapshotArea) *mhstv1alpha1.CoverageSnapshot {
	taken := metav1.NewTime(at)
	snap := &mhstv1alpha1.CoverageSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spec,
		Status: mhstv1alpha1.CoverageSnapshotStatus{ObservedGeneration: 1, TakenAt: &taken, Coverage: &c, Settings: settings, Areas: areas,
			Conditions: []metav1.Condition{{Type: mhstv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: mhstv1alpha1.ReasonTaken,
				Message: "Recorded.", LastTransitionTime: taken, ObservedGeneration: 1}}},
	}
	digest, err := snapshot.Digest(spec.Scope, &snap.Status)
	if err != nil {
		panic(err)
	}
	snap.Status.Digest = digest
	return snap
}

var (
	march2025 = time.Date(2025, 3, 31, 0, 0, 1, 0, time.UTC)
	april2025 = time.Date(2025, 4, 14, 10, 30, 0, 0, time.UTC)
)

func TestDiffTable(t *testing.T) {
	d, err := history.Compare(rutlandSnapshot("rutland-2025-03-31", march2025, true), rutlandSnapshot("rutland-after-withdrawal", april2025, false))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeDiff(&out, d, formatTable); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Area rutland, from rutland-2025-03-31 (taken 2025-03-31T00:00:01Z) to rutland-after-withdrawal (taken 2025-04-14T10:30:00Z)",
		"FIGURE                             BEFORE  AFTER  CHANGE",
		"settings                           5       5      0",
		"pupilsCovered                      1529    0      -1529",
		"pupilsCoveredPercent               44.9    0.0    -44.9",
		"Stopped being covered (the team and decision that covered them): 3",
		"URN     NAME                        PUPILS  TEAM         DECISION",
		"120181  Oakham CofE Primary School  253     team-oakham  RGB-2025-03 item 4",
		"136530  Catmose College             1069    team-oakham  RGB-2025-03 item 4",
		"138113  Catmose Primary             207     team-oakham  RGB-2025-03 item 4",
	}
	for _, line := range want {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("the table lacks the line\n%s\nin\n%s", line, out.String())
		}
	}
	for _, absent := range []string{"Became covered", "Added to the area", "Removed from the area", "136629", "137340"} {
		if strings.Contains(out.String(), absent) {
			t.Errorf("the table says %q, which did not change:\n%s", absent, out.String())
		}
	}

	same, err := history.Compare(rutlandSnapshot("a", march2025, true), rutlandSnapshot("b", april2025, true))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := writeDiff(&out, same, formatTable); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "No setting became or stopped being covered") {
		t.Errorf("no change, but:\n%s", out.String())
	}
}

func TestNationalDiffTable(t *testing.T) {
	c := func(pupilsCovered int64, percent string) *mhstv1alpha1.AreaCoverage {
		return &mhstv1alpha1.AreaCoverage{Settings: 5, Pupils: 3406, PupilsCovered: pupilsCovered, PupilsCoveredPercent: percent}
	}
	national := mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.ScopeNational}
	before := sealed("national-2025-03-31", national, march2025, *c(1529, "44.9"), nil, []mhstv1alpha1.SnapshotArea{{Name: "rutland", Coverage: c(1529, "44.9")}, {Name: "york"}})
	after := sealed("national-2026-03-31", national, march2025.AddDate(1, 0, 0), *c(0, "0.0"), nil, []mhstv1alpha1.SnapshotArea{{Name: "rutland", Coverage: c(0, "0.0")}, {Name: "york"}})
	d, err := history.Compare(before, after)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeDiff(&out, d, formatTable); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"England, from national-2025-03-31",
		"Areas whose figures changed: 1",
		"rutland  pupilsCovered         1529    0      -1529",
		"rutland  pupilsCoveredPercent  44.9    0.0    -44.9",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("the table lacks %q:\n%s", line, out.String())
		}
	}
	if strings.Contains(out.String(), "york") {
		t.Errorf("york did not change:\n%s", out.String())
	}
}

func TestHistoryAndDiffCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"diff", "rutland-2025-03-31"}, "name two snapshots"},
		{[]string{"diff", "a", "b", "c"}, "name two snapshots"},
		{[]string{"diff", "a", "b", "-o", "csv"}, `-o "csv" is not one of table, json`},
		{[]string{"history", "-o", "yaml"}, `-o "yaml" is not one of table, json, csv`},
		{[]string{"history", "rutland"}, `unexpected argument "rutland"`},
		{[]string{"diff", "a", "--bogus", "b"}, "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(tt.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
		}
	}
}

// TestHistoryAndDiff runs the commands against a real API server holding
// snapshots as the operator writes them, and one whose record was altered
// behind the API server's back (here: written with a digest that is not its
// own).
func TestHistoryAndDiff(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run with `make test`, which provides a real control plane")
	}
	ctx := t.Context()
	cluster, err := localcluster.Start(ctx, localcluster.Options{CRDDirs: []string{"../../config/crd/bases"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(mhstv1alpha1.AddToScheme(scheme))
	admin, err := client.New(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	store := func(snap *mhstv1alpha1.CoverageSnapshot) {
		t.Helper()
		status := snap.Status
		if err := admin.Create(ctx, snap); err != nil {
			t.Fatalf("create %s: %v", snap.Name, err)
		}
		snap.Status = status
		if err := admin.Status().Update(ctx, snap); err != nil {
			t.Fatalf("write status of %s: %v", snap.Name, err)
		}
	}
	before := rutlandSnapshot("rutland-2025-03-31", march2025, true)
	before.Labels = map[string]string{mhstv1alpha1.LabelSnapshotDate: "2025-03-31"}
	store(before)
	store(rutlandSnapshot("rutland-after-withdrawal", april2025, false))
	c := before.Status.Coverage
	store(sealed("national-2025-03-31", mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.ScopeNational}, march2025, *c, nil,
		[]mhstv1alpha1.SnapshotArea{{Name: "rutland", Coverage: c}}))
	kubeconfig := cluster.KubeconfigPath

	t.Run("history", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"history", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") {
			t.Fatalf("want a header and three snapshots:\n%s", stdout.String())
		}
		for i, want := range [][]string{
			{"national-2025-03-31", "2025-03-31T00:00:01Z", "National", "-", "5", "3406", "44.9", "210", "True", "ok"},
			{"rutland-2025-03-31", "2025-03-31T00:00:01Z", "Area", "rutland", "5", "3406", "44.9", "210", "True", "ok"},
			{"rutland-after-withdrawal", "2025-04-14T10:30:00Z", "Area", "rutland", "5", "3406", "0.0", "0", "True", "ok"},
		} {
			if got := strings.Fields(lines[i+1]); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("row %d: %v; want %v", i+1, got, want)
			}
		}
	})

	t.Run("history of one area, as JSON and CSV", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"history", "--area", "rutland", "-o", "json", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
		var rows []history.Row
		if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Name != "rutland-2025-03-31" || rows[0].ScheduledFor != "2025-03-31" || rows[1].PupilsCovered != 0 || rows[0].DigestCheck != history.DigestOK {
			t.Errorf("rows %+v", rows)
		}
		stdout.Reset()
		if code := run([]string{"history", "--area", "rutland", "-o", "csv", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
		records, err := csv.NewReader(&stdout).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(records) != 3 || records[0][0] != "name" || records[1][11] != "44.9" || records[1][16] != "ok" {
			t.Errorf("csv %v", records)
		}
	})

	t.Run("diff", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"diff", "rutland-2025-03-31", "rutland-after-withdrawal", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "Stopped being covered (the team and decision that covered them): 3") {
			t.Errorf("table:\n%s", stdout.String())
		}
		stdout.Reset()
		if code := run([]string{"diff", "-o", "json", "rutland-2025-03-31", "rutland-after-withdrawal", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
		var d history.Diff
		if err := json.Unmarshal(stdout.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		var urns []string
		for _, s := range d.StoppedBeingCovered {
			urns = append(urns, s.URN)
		}
		if strings.Join(urns, ",") != "120181,136530,138113" || len(d.BecameCovered) != 0 || d.StoppedBeingCovered[0].Before.DecisionRef != "RGB-2025-03 item 4" {
			t.Errorf("diff %+v", d)
		}
	})

	t.Run("diff of snapshots of two scopes", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"diff", "national-2025-03-31", "rutland-2025-03-31", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != 1 ||
			!strings.Contains(stderr.String(), "compare two of one scope") {
			t.Errorf("exit %d, stderr %q; want 1 and the reason", code, stderr.String())
		}
		if code := run([]string{"diff", "rutland-2025-03-31", "no-such-snapshot", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != 1 ||
			!strings.Contains(stderr.String(), "no-such-snapshot") {
			t.Errorf("exit %d, stderr %q; want 1 and the missing snapshot", code, stderr.String())
		}
	})

	t.Run("a record that does not match its digest", func(t *testing.T) {
		forged := rutlandSnapshot("rutland-forged", april2025, true)
		forged.Status.Coverage.PupilsCovered = 3406 // after sealing
		store(forged)
		var stdout, stderr bytes.Buffer
		if code := run([]string{"history", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != 1 ||
			!strings.Contains(stderr.String(), "the record of rutland-forged does not match its digest") {
			t.Errorf("history: exit %d, stderr %q; want 1 and the forged snapshot", code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "mismatch") {
			t.Errorf("history does not show the mismatch:\n%s", stdout.String())
		}
		if code := run([]string{"diff", "rutland-2025-03-31", "rutland-forged", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != 1 ||
			!strings.Contains(stderr.String(), "rutland-forged does not match its digest") {
			t.Errorf("diff: exit %d, stderr %q; want 1 and the forged snapshot", code, stderr.String())
		}
	})
}
