package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/history"
	"github.com/mhst-io/mhst-operator/internal/plan"
	"github.com/mhst-io/mhst-operator/internal/snapshot"
)

// The examples of docs/coverage.md, "History", are the operator's own
// output for the page's worked example (Rutland, "A worked example"): the
// snapshot of 31 March 2025 and one taken after the board withdrew its
// agreement on oakham, each recorded by the code the operator takes
// snapshots with (coverage.Compute, plan.ForArea, snapshot.Area and
// snapshot.Digest), and the tables kubectl mhst history and diff print for
// them. When this test fails, it prints what the page should say.

const coverageDoc = "../../docs/coverage.md"

// workedRutland is the worked example's area, allocations and teams;
// oakhamAgreed says whether the board's agreement on oakham stands.
func workedRutland(oakhamAgreed bool) (*mhstv1alpha1.LocalArea, []mhstv1alpha1.SchoolCoverage, []mhstv1alpha1.SupportTeam) {
	area := &mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "rutland"}}
	area.Spec.Targets = []mhstv1alpha1.DatedTarget{{By: "2025-03-31", Percent: 40}, {By: "2026-03-31", Percent: 60}}
	created := func(minutes int) metav1.Time {
		return metav1.NewTime(time.Date(2025, 3, 1, 9, minutes, 0, 0, time.UTC))
	}
	setting := func(urn, name string, phase mhstv1alpha1.SettingPhase, pupils, fsm int32) mhstv1alpha1.Setting {
		return mhstv1alpha1.Setting{URN: urn, Name: name, Phase: phase, Pupils: pupils, DisadvantagedPupils: ptr(fsm)}
	}
	oakham := setting("120181", "Oakham CofE Primary School", mhstv1alpha1.PhasePrimary, 253, 46)
	catmose := setting("136530", "Catmose College", mhstv1alpha1.PhaseSecondary, 1069, 147)
	catmosePrimary := setting("138113", "Catmose Primary", mhstv1alpha1.PhasePrimary, 207, 17)
	uppingham := setting("136629", "Uppingham Community College", mhstv1alpha1.PhaseSecondary, 910, 118)
	casterton := setting("137340", "Casterton College Rutland", mhstv1alpha1.PhaseSecondary, 967, 146)
	covs := []mhstv1alpha1.SchoolCoverage{
		{ObjectMeta: metav1.ObjectMeta{Name: "oakham", CreationTimestamp: created(0)}, Spec: mhstv1alpha1.SchoolCoverageSpec{
			TeamRef:  &mhstv1alpha1.TeamReference{Name: "team-oakham"},
			Settings: []mhstv1alpha1.Setting{oakham, catmose, catmosePrimary}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "uppingham", CreationTimestamp: created(1)}, Spec: mhstv1alpha1.SchoolCoverageSpec{
			TeamRef: &mhstv1alpha1.TeamReference{Name: "team-uppingham"}, Settings: []mhstv1alpha1.Setting{uppingham, catmose}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "not-yet", CreationTimestamp: created(2)}, Spec: mhstv1alpha1.SchoolCoverageSpec{
			Settings: []mhstv1alpha1.Setting{casterton, catmosePrimary}}},
	}
	if oakhamAgreed {
		covs[0].Spec.Agreement = &mhstv1alpha1.Agreement{DecisionRef: "RGB-2025-03 item 4", AgreedAt: "2025-03-12", AgreedBy: "oidc:chair@rutland.gov.uk"}
	}
	teams := []mhstv1alpha1.SupportTeam{
		{ObjectMeta: metav1.ObjectMeta{Name: "team-oakham"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "team-uppingham"}},
	}
	return area, covs, teams
}

// takenAsTheOperatorDoes is the snapshot of the worked example at a moment,
// recorded and sealed by the code the operator uses.
func takenAsTheOperatorDoes(t *testing.T, name string, at time.Time, oakhamAgreed bool) *mhstv1alpha1.CoverageSnapshot {
	t.Helper()
	area, covs, teams := workedRutland(oakhamAgreed)
	res := coverage.Compute(covs, teams, coverage.TargetOf(area))
	c, settings := snapshot.Area(res, plan.ForArea(area, res, teams, at))
	taken := metav1.NewTime(at)
	snap := &mhstv1alpha1.CoverageSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.ScopeArea, Area: area.Name},
		Status: mhstv1alpha1.CoverageSnapshotStatus{ObservedGeneration: 1, TakenAt: &taken, Coverage: &c, Settings: settings,
			Conditions: []metav1.Condition{{Type: mhstv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: mhstv1alpha1.ReasonTaken,
				Message:            fmt.Sprintf("Recorded area %s: %d settings, %d of %d pupils covered (%s%%).", area.Name, c.Settings, c.PupilsCovered, c.Pupils, c.PupilsCoveredPercent),
				LastTransitionTime: taken, ObservedGeneration: 1}}},
	}
	digest, err := snapshot.Digest(snap.Spec.Scope, &snap.Status)
	if err != nil {
		t.Fatal(err)
	}
	snap.Status.Digest = digest
	return snap
}

// docSection is the text of the page under the heading, up to the next
// heading of the same or a higher level (outside code blocks, where # is a
// shell comment).
func docSection(t *testing.T, doc, heading string) string {
	t.Helper()
	level := strings.IndexByte(heading, ' ')
	start := strings.Index(doc, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("%s has no heading %q", coverageDoc, heading)
	}
	rest := doc[start+len(heading)+2:]
	inCode, offset := false, 0
	for line := range strings.Lines(rest) {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		} else if hashes := len(line) - len(strings.TrimLeft(line, "#")); !inCode && hashes > 0 && hashes <= level &&
			strings.HasPrefix(line[hashes:], " ") {
			return rest[:offset]
		}
		offset += len(line)
	}
	return rest
}

// codeBlock is the content of the first fenced block of that language in
// text.
func codeBlock(t *testing.T, text, language string) string {
	t.Helper()
	fence := "```" + language + "\n"
	start := strings.Index(text, fence)
	if start < 0 {
		t.Fatalf("no ```%s block", language)
	}
	body := text[start+len(fence):]
	end := strings.Index(body, "```")
	if end < 0 {
		t.Fatalf("the ```%s block does not end", language)
	}
	return body[:end]
}

// trimLines drops the spaces that end lines: the tables pad their last
// empty cells, which the page need not keep.
func trimLines(text string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		body, newline := strings.CutSuffix(line, "\n")
		b.WriteString(strings.TrimRight(body, " "))
		if newline {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// asJSONTree is v as encoding/json's generic values.
func asJSONTree(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		t.Fatal(err)
	}
	return tree
}

func TestDocsHistoryExamples(t *testing.T) {
	data, err := os.ReadFile(coverageDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	march := takenAsTheOperatorDoes(t, "rutland-2025-03-31", march2025, true)
	march.Labels = map[string]string{mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue, mhstv1alpha1.LabelSnapshotDate: "2025-03-31"}
	april := takenAsTheOperatorDoes(t, "rutland-after-withdrawal", april2025, false)

	t.Run("Reading one: the object", func(t *testing.T) {
		block := codeBlock(t, docSection(t, doc, "### Reading one"), "yaml")
		var shown mhstv1alpha1.CoverageSnapshot
		if err := yaml.UnmarshalStrict([]byte(block), &shown); err != nil {
			t.Fatalf("the example does not read as a CoverageSnapshot: %v", err)
		}
		want := march.DeepCopy()
		want.TypeMeta = metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "CoverageSnapshot"}
		// Every member as stored, none missing: compared as JSON trees, so
		// a figure left out of the page (which reads back as 0) is found.
		if got, wantTree := asJSONTree(t, shown), asJSONTree(t, want); !reflect.DeepEqual(got, wantTree) {
			printed, _ := yaml.Marshal(want)
			t.Errorf("the example is not the snapshot the operator takes; it records:\n%s", printed)
		}
		if history.Verify(&shown) != history.DigestOK {
			t.Errorf("the example's digest %s does not match its record", shown.Status.Digest)
		}
	})

	t.Run("Checking a published figure: the digest jq computes", func(t *testing.T) {
		section := docSection(t, doc, "### Checking a published figure")
		if want := "# " + march.Status.Digest + "  -\n"; !strings.Contains(section, want) {
			t.Errorf("the section does not print the digest of rutland-2025-03-31, %s", march.Status.Digest)
		}
	})

	t.Run("kubectl mhst history", func(t *testing.T) {
		var out bytes.Buffer
		if err := writeHistory(&out, history.Rows([]mhstv1alpha1.CoverageSnapshot{*april, *march}, "rutland"), formatTable); err != nil {
			t.Fatal(err)
		}
		want := "$ kubectl mhst history --area rutland\n" + trimLines(out.String())
		if !strings.Contains(trimLines(docSection(t, doc, "### Reading one")), want) {
			t.Errorf("the page does not show what kubectl mhst history prints:\n%s", want)
		}
	})

	t.Run("kubectl mhst diff", func(t *testing.T) {
		d, err := history.Compare(march, april)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := writeDiff(&out, d, formatTable); err != nil {
			t.Fatal(err)
		}
		want := "$ kubectl mhst diff rutland-2025-03-31 rutland-after-withdrawal\n" + trimLines(out.String())
		if !strings.Contains(trimLines(docSection(t, doc, "### Diffing two")), want) {
			t.Errorf("the page does not show what kubectl mhst diff prints:\n%s", want)
		}
	})
}
