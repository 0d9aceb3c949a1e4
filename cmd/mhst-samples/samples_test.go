package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mhst-io/mhst-operator/internal/register"
)

// The samples in config/samples are what `make samples` writes from the
// register in hack/data: a change to the generator, the parser or the
// register that is not followed by `make samples` fails here.
func TestSamplesAreUpToDate(t *testing.T) {
	f, err := os.Open("../../hack/data/schools-england-2022-23.csv")
	if err != nil {
		t.Fatalf("the DfE register the samples come from: %v", err)
	}
	defer func() { _ = f.Close() }()
	files, err := generate(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("generated %d files, want 3", len(files))
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("../../config/samples", name))
		if err != nil {
			t.Errorf("config/samples/%s: %v (run make samples)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("config/samples/%s is not what make samples writes: run make samples", name)
		}
	}
}

// The samples show the plan: an area with dated targets, and a team in
// training, so that make demo shows OnTrack against a dated target and the
// pupils that rest on a team in training.
func TestSamplesShowThePlan(t *testing.T) {
	var targets, inTraining []string
	for _, s := range samples() {
		if len(s.area.Spec.Targets) > 0 {
			targets = append(targets, s.area.Name)
		}
		for _, team := range s.teams {
			if team.operationalFrom != "" && team.agreement != nil {
				inTraining = append(inTraining, team.name)
			}
		}
	}
	if len(targets) == 0 {
		t.Error("no sample area has dated targets")
	}
	if len(inTraining) == 0 {
		t.Error("no sample team with an agreed allocation has an operationalFrom")
	}
}

// A team takes schools in order while they fit: at most 18 settings and
// 8,500 pupils.
func TestTakeForTeam(t *testing.T) {
	schools := func(pupils ...int32) []register.School {
		var out []register.School
		for i, p := range pupils {
			out = append(out, register.School{URN: fmt.Sprint(100000 + i), Pupils: p})
		}
		return out
	}
	many := make([]int32, 20)
	for i := range many {
		many[i] = 100
	}
	tests := []struct {
		name       string
		pupils     []int32
		took, left int
	}{
		{"all fit", []int32{4000, 4000}, 2, 0},
		{"the pupils limit", []int32{4000, 4000, 501}, 2, 1},
		{"exactly the pupils limit", []int32{4000, 4500}, 2, 0},
		{"the settings limit", many, 18, 2},
		{"a school too large for any team", []int32{9000}, 0, 1},
	}
	for _, tt := range tests {
		took, left := takeForTeam(schools(tt.pupils...))
		if len(took) != tt.took || len(left) != tt.left {
			t.Errorf("%s: took %d, left %d; want %d and %d", tt.name, len(took), len(left), tt.took, tt.left)
		}
	}
}
