package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"

	"github.com/mhst-io/mhst-operator/internal/register"
)

const importHelp = `Usage: kubectl mhst import --file SCHOOLS.csv --la CODE[,CODE...] --wave N --board Kind:name:Sector [flags]

Build the manifests that onboard local areas from the DfE register of schools
("Schools, pupils and their characteristics", school-level CSV): for each local
authority (by ONS code), a LocalArea and SchoolCoverages without a team listing
every state-funded school with its pupils and free school meals counts, at most
500 per list, in URN order. Independent schools are skipped unless
--include-independent is given.

The board, leads and targets apply to every area of the run; run once per area
when they differ. Each --target DATE=PERCENT is a share of the area's pupils to
cover by that date (spec.targets); after the last one the area's
coverageTarget (100) applies. Review the output and commit it to the GitOps repository,
or pipe it to 'kubectl apply -f -'.

Example:
  kubectl mhst import --file schools-england-2022-23.csv --la E08000035 --wave 3 \
    --board Group:leeds-icb:Health:Chair --board Group:leeds-schools:Education \
    --lead User:mhst.manager@leeds.gov.uk \
    --target 2025-03-31=50 --target 2026-03-31=100 > leeds.yaml
`

// importOptions are the flags of the import command.
type importOptions struct {
	schoolsFile        string
	authoritiesFile    string
	codes              codesFlag
	wave               int
	board              boardFlag
	leads              leadFlag
	targets            targetFlag
	skipInvalid        bool
	includeIndependent bool
	output             string
	outDir             string
}

func runImport(args []string, stdout, stderr io.Writer) error {
	opts, err := parseImportFlags(args, stderr)
	if err != nil {
		return err
	}
	manifests, err := buildAreas(opts, stderr)
	if err != nil {
		return err
	}
	source := filepath.Base(opts.schoolsFile)
	if opts.outDir != "" {
		return writeAreaFiles(opts.outDir, source, manifests, stderr)
	}
	return writeAreas(stdout, source, manifests)
}

func parseImportFlags(args []string, stderr io.Writer) (importOptions, error) {
	var opts importOptions
	fs := newFlagSet("import", importHelp, stderr)
	fs.StringVar(&opts.schoolsFile, "file", "", "the DfE school-level CSV (required)")
	fs.StringVar(&opts.authoritiesFile, "authorities", "",
		"the local authority CSV (default: local-authorities-england.csv beside --file)")
	fs.Var(&opts.codes, "la", "ONS code of a local authority, comma-separated or repeated (required)")
	fs.IntVar(&opts.wave, "wave", 0, "the rollout wave the areas join in, 0 (the 2019 trailblazers) or more (required)")
	fs.Var(&opts.board, "board", "a governance board member, Kind:name:Sector[:Role], repeated (at least one)")
	fs.Var(&opts.leads, "lead", "a lead who manages the area's teams and allocations, Kind:name, repeated")
	fs.Var(&opts.targets, "target", "a dated coverage target, YYYY-MM-DD=PERCENT (for example 2025-03-31=50), repeated")
	fs.BoolVar(&opts.skipInvalid, "skip-invalid", false, "keep the valid rows of the register and report the invalid ones")
	fs.BoolVar(&opts.includeIndependent, "include-independent", false, "list independent schools too")
	fs.StringVar(&opts.output, "o", "yaml", "output format: yaml")
	fs.StringVar(&opts.outDir, "out", "", "write one file per area, <area>.yaml, into this directory instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return importOptions{}, err
	}
	waveSet := false
	fs.Visit(func(f *flag.Flag) { waveSet = waveSet || f.Name == "wave" })
	switch {
	case opts.schoolsFile == "":
		return importOptions{}, fmt.Errorf("%w: --file is required", errUsage)
	case len(opts.codes) == 0:
		return importOptions{}, fmt.Errorf("%w: --la is required", errUsage)
	case !waveSet:
		return importOptions{}, fmt.Errorf("%w: --wave is required", errUsage)
	case opts.wave < 0 || opts.wave > math.MaxInt32:
		return importOptions{}, fmt.Errorf("%w: --wave %d is not 0 or more", errUsage, opts.wave)
	case len(opts.board) == 0:
		return importOptions{}, fmt.Errorf("%w: at least one --board Kind:name:Sector is required; local governance must involve both health and education", errUsage)
	case opts.output != "yaml":
		return importOptions{}, fmt.Errorf("%w: -o %q: only yaml is supported", errUsage, opts.output)
	}
	if opts.authoritiesFile == "" {
		opts.authoritiesFile = filepath.Join(filepath.Dir(opts.schoolsFile), "local-authorities-england.csv")
	}
	return opts, nil
}

// buildAreas reads the register and builds the manifests of every requested
// area, warning on stderr about what was skipped or could not be joined.
func buildAreas(opts importOptions, stderr io.Writer) ([]register.Manifests, error) {
	schools, err := readSchools(opts.schoolsFile, opts.skipInvalid)
	if err != nil {
		return nil, err
	}
	if len(schools.Invalid) > 0 {
		note(stderr, "warning: --skip-invalid left out %v\n", schools.Invalid)
	}
	authorities, err := readAuthorities(opts.authoritiesFile)
	if err != nil {
		return nil, err
	}
	dir := register.NewDirectory(authorities)
	areaOpts := register.AreaOptions{Wave: int32(opts.wave), Board: opts.board, Leads: opts.leads, Targets: opts.targets}
	if missing := register.MissingSectors(opts.board); len(missing) > 0 {
		note(stderr, "warning: the board has no %s member; local governance must involve both health and education, "+
			"and the areas will not be GovernanceReady until it does\n", joinSectors(missing))
	}
	var all []register.Manifests
	names := map[string]string{}
	for _, code := range opts.codes {
		area, err := register.SelectArea(schools.Schools, dir, code, register.SelectOptions{IncludeIndependent: opts.includeIndependent})
		if err != nil {
			return nil, err
		}
		warnUnmatched(stderr, dir, area)
		m, err := register.BuildManifests(area, areaOpts)
		if err != nil {
			return nil, err
		}
		if other, ok := names[m.LocalArea.Name]; ok {
			return nil, fmt.Errorf("--la %s and %s are the same area, %s", other, code, m.LocalArea.Name)
		}
		names[m.LocalArea.Name] = code
		all = append(all, m)
	}
	return all, nil
}

// warnUnmatched says when an area's authority is not in the authorities file,
// so its LocalArea carries the register's 2022/23 code and name.
func warnUnmatched(stderr io.Writer, dir register.Directory, area register.Area) {
	for _, u := range dir.UnmatchedAuthorities(area.Schools) {
		note(stderr, "warning: %s (%s, DfE number %s) is not in the authorities file by ONS code or DfE number; "+
			"the LocalArea uses the register's 2022/23 code and name\n", u.Name, u.Code, u.OldCode)
	}
}

func readSchools(path string, skipInvalid bool) (register.SchoolFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return register.SchoolFile{}, fmt.Errorf("open schools file: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	schools, err := register.ReadSchools(f, register.ReadOptions{SkipInvalid: skipInvalid})
	if err != nil {
		return register.SchoolFile{}, fmt.Errorf("%s: %w", path, err)
	}
	return schools, nil
}

func readAuthorities(path string) ([]register.Authority, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open authorities file (set --authorities): %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	authorities, err := register.ReadAuthorities(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return authorities, nil
}

// writeAreas writes every area's manifests to one YAML stream.
func writeAreas(w io.Writer, source string, all []register.Manifests) error {
	for i, m := range all {
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return fmt.Errorf("write manifests: %w", err)
			}
		}
		if err := m.WriteYAML(w, source); err != nil {
			return err
		}
	}
	return nil
}

// writeAreaFiles writes each area's manifests to <dir>/<area>.yaml. Every file
// is rendered before any is written, so a failure leaves no partial set.
func writeAreaFiles(dir, source string, all []register.Manifests, stderr io.Writer) error {
	rendered := make([][]byte, len(all))
	for i, m := range all {
		var buf bytes.Buffer
		if err := m.WriteYAML(&buf, source); err != nil {
			return err
		}
		rendered[i] = buf.Bytes()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	var errs []error
	for i, m := range all {
		path := filepath.Join(dir, m.LocalArea.Name+".yaml")
		if err := os.WriteFile(path, rendered[i], 0o644); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", path, err))
			continue
		}
		note(stderr, "wrote %s: %d settings in %d lists\n", path, len(m.From.Schools), len(m.Coverages))
	}
	return errors.Join(errs...)
}

// joinSectors writes sectors as "Health and Education".
func joinSectors(sectors []mhstv1alpha1.Sector) string {
	names := make([]string, 0, len(sectors))
	for _, s := range sectors {
		names = append(names, string(s))
	}
	return strings.Join(names, " and ")
}
