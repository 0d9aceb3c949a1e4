// Command mhst-samples writes the samples in config/samples (`make samples`):
// a small but real rollout of three local areas, their Mental Health Support
// Teams and the allocation of the teams' time to real schools.
//
// The schools, their URNs, names, phases, pupils and free school meals counts
// come from the DfE register, read by internal/register, the same parser as
// `kubectl mhst import`, so the samples and the importer agree on which
// schools an area has and on their phases. The areas' waves, boards, teams,
// staffing and agreements are illustrative (samples.go). The output depends
// only on the register: a team takes the area's schools in postcode order
// (so that its schools are near each other), then URN order.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	schools := flag.String("file", "hack/data/schools-england-2022-23.csv", "the DfE register of schools (school-level CSV)")
	out := flag.String("out", "config/samples", "where to write the samples")
	flag.Parse()
	if err := run(*schools, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mhst-samples:", err)
		os.Exit(1)
	}
}

func run(schoolsFile, outDir string) error {
	f, err := os.Open(schoolsFile)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	files, err := generate(f)
	if err != nil {
		return fmt.Errorf("%s: %w", schoolsFile, err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(outDir, name), data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "mhst-samples: wrote %d files to %s\n", len(files), outDir)
	return nil
}
