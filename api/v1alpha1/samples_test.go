package v1alpha1_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/manifests"
)

const samplesDir = "../../config/samples"

// oglAttribution must head every sample that carries data from the DfE
// register, as the Open Government Licence requires.
const oglAttribution = "# Contains public sector information licensed under the Open Government Licence v3.0."

// sampleFiles returns the YAML files of config/samples, without the
// kustomization.
func sampleFiles(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	if err != nil {
		t.Fatalf("list samples: %v", err)
	}
	var files []string
	for _, p := range paths {
		if filepath.Base(p) != "kustomization.yaml" {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		t.Fatalf("no samples in %s", samplesDir)
	}
	return files
}

// TestSamplesAreAccepted creates every object of every sample for real,
// creating the areas' namespaces as the operator would.
func TestSamplesAreAccepted(t *testing.T) {
	ctx := context.Background()
	for _, path := range sampleFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			objs, err := manifests.ReadFiles(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, obj := range objs {
				if ns := obj.GetNamespace(); ns != "" {
					if err := ensureNamespace(ctx, ns); err != nil {
						t.Fatal(err)
					}
				}
				if err := k8sClient.Create(ctx, obj); err != nil {
					t.Errorf("%s %s refused: %v", obj.GetKind(), obj.GetName(), err)
					continue
				}
				t.Cleanup(func() { deleteObject(t, obj) })
			}
		})
	}
}

// TestSamplesCarryTheAttribution checks the licence notice of the data.
func TestSamplesCarryTheAttribution(t *testing.T) {
	for _, path := range sampleFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if !strings.Contains(text, oglAttribution) || !strings.Contains(text, `"Schools, pupils and their characteristics"`) {
			t.Errorf("%s lacks the OGL attribution and its source", path)
		}
	}
}

// TestKustomizationListsEverySample keeps `kubectl apply -k config/samples`
// in step with the files.
func TestKustomizationListsEverySample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(samplesDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &kustomization); err != nil {
		t.Fatalf("parse kustomization.yaml: %v", err)
	}
	var files []string
	for _, path := range sampleFiles(t) {
		files = append(files, filepath.Base(path))
	}
	listed := slices.Sorted(slices.Values(kustomization.Resources))
	if !slices.Equal(listed, files) {
		t.Errorf("kustomization.yaml lists %v; the samples are %v", listed, files)
	}
}

// TestSamplesShowARollout checks that the samples keep showing what
// config/samples/README.md says they show.
func TestSamplesShowARollout(t *testing.T) {
	var areas []mhstv1alpha1.LocalArea
	var teams []mhstv1alpha1.SupportTeam
	var coverages []mhstv1alpha1.SchoolCoverage
	for _, path := range sampleFiles(t) {
		objs, err := manifests.ReadFiles(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range objs {
			switch obj.GetKind() {
			case "LocalArea":
				areas = append(areas, typed[mhstv1alpha1.LocalArea](t, obj))
			case "SupportTeam":
				teams = append(teams, typed[mhstv1alpha1.SupportTeam](t, obj))
			case "SchoolCoverage":
				coverages = append(coverages, typed[mhstv1alpha1.SchoolCoverage](t, obj))
			default:
				t.Errorf("%s: unexpected kind %s", path, obj.GetKind())
			}
		}
	}

	waves := map[int32]bool{}
	for _, a := range areas {
		waves[a.Spec.Wave] = true
		if missing := missingSectors(a.Spec.Governance.Board); len(missing) > 0 {
			t.Errorf("area %s: board lacks %v; samples should be healthy", a.Name, missing)
		}
	}
	if len(areas) != 3 || len(waves) != 3 || !waves[0] {
		t.Errorf("want three areas of different waves, one of wave 0; have %d areas, waves %v", len(areas), waves)
	}
	if len(teams) < 2 {
		t.Errorf("want a few teams; have %d", len(teams))
	}

	var agreed, proposed, withoutTeam int
	for _, c := range coverages {
		switch {
		case c.Spec.TeamRef == nil:
			withoutTeam++
		case c.Spec.Agreement != nil:
			agreed++
		default:
			proposed++
		}
		if c.Spec.TeamRef != nil && (len(c.Spec.Settings) < 15 || len(c.Spec.Settings) > 20) {
			t.Errorf("allocation %s lists %d settings; a team serves about 15 to 20", c.Name, len(c.Spec.Settings))
		}
	}
	if agreed == 0 || proposed == 0 || withoutTeam == 0 {
		t.Errorf("want agreed, proposed and teamless allocations; have %d, %d, %d", agreed, proposed, withoutTeam)
	}
}

func typed[T any](t *testing.T, obj *unstructured.Unstructured) T {
	t.Helper()
	var out T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &out); err != nil {
		t.Fatalf("%s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	return out
}

func missingSectors(board []mhstv1alpha1.BoardMember) []mhstv1alpha1.Sector {
	var missing []mhstv1alpha1.Sector
	for _, want := range []mhstv1alpha1.Sector{mhstv1alpha1.SectorHealth, mhstv1alpha1.SectorEducation} {
		if !slices.ContainsFunc(board, func(m mhstv1alpha1.BoardMember) bool { return m.Sector == want }) {
			missing = append(missing, want)
		}
	}
	return missing
}
