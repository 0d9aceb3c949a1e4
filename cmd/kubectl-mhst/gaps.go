package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/report"
)

const gapsHelp = `Usage: kubectl mhst gaps [--area NAME] [--top N] [-o table|csv|json] [--kubeconfig PATH] [--context NAME]

List the settings that no agreed team allocation covers (listed without a team,
in an allocation the governance board has not agreed yet, or allocated to a team
that is suspended or missing), most disadvantaged pupils first (pupils eligible
for free school meals; an unknown count ranks as 0), then most pupils, then by
URN: where the next allocation would reach the most disadvantaged children
(operating principle 7). The figures are the operator's own (the coverage rules
applied to the area's SchoolCoverages and SupportTeams), the same as the gaps of
the area's report.

Every area is listed unless --area names one; --top keeps the first N rows.
`

var gapsFormats = []string{formatTable, formatCSV, formatJSON}

// gapRow is one setting no agreed team allocation covers, and its area.
type gapRow struct {
	Area string `json:"area"`
	report.Gap
}

func runGaps(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gaps", gapsHelp, stderr)
	areaName := fs.String("area", "", "only this LocalArea")
	top := fs.Int("top", 0, "keep the first N settings (0: all)")
	format := fs.String("o", formatTable, "output format: "+strings.Join(gapsFormats, ", "))
	kubeconfig := fs.String("kubeconfig", "", "path to the kubeconfig file")
	kubeContext := fs.String("context", "", "the kubeconfig context to use")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case !slices.Contains(gapsFormats, *format):
		return fmt.Errorf("%w: -o %q is not one of %s", errUsage, *format, strings.Join(gapsFormats, ", "))
	case *top < 0:
		return fmt.Errorf("%w: --top %d is negative", errUsage, *top)
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	c, err := mhstClient(*kubeconfig, *kubeContext, stderr)
	if err != nil {
		return err
	}
	areas, err := areasToList(ctx, c, *areaName)
	if err != nil {
		return err
	}
	var rows []gapRow
	for i := range areas {
		gaps, err := areaGaps(ctx, c, &areas[i])
		if err != nil {
			return err
		}
		rows = append(rows, gaps...)
	}
	return writeGaps(stdout, rankGaps(rows, *top), *format)
}

// areasToList is the named area, or every area.
func areasToList(ctx context.Context, c client.Client, name string) ([]mhstv1alpha1.LocalArea, error) {
	if name != "" {
		var area mhstv1alpha1.LocalArea
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &area); err != nil {
			return nil, fmt.Errorf("get LocalArea %s: %w", name, err)
		}
		return []mhstv1alpha1.LocalArea{area}, nil
	}
	var list mhstv1alpha1.LocalAreaList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list LocalAreas: %w", err)
	}
	return list.Items, nil
}

// areaGaps applies the coverage rules to the area's allocations and teams.
// An area without a namespace yet has nothing listed.
func areaGaps(ctx context.Context, c client.Client, area *mhstv1alpha1.LocalArea) ([]gapRow, error) {
	ns := area.Status.Namespace
	if ns == "" {
		return nil, nil
	}
	var covs mhstv1alpha1.SchoolCoverageList
	if err := c.List(ctx, &covs, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list SchoolCoverages of area %s: %w", area.Name, err)
	}
	var teams mhstv1alpha1.SupportTeamList
	if err := c.List(ctx, &teams, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list SupportTeams of area %s: %w", area.Name, err)
	}
	return gapRowsOf(area.Name, coverage.Compute(covs.Items, teams.Items, coverage.TargetOf(area))), nil
}

func gapRowsOf(area string, res coverage.Result) []gapRow {
	gaps := report.Gaps(res.Settings)
	rows := make([]gapRow, 0, len(gaps))
	for _, g := range gaps {
		rows = append(rows, gapRow{Area: area, Gap: g})
	}
	return rows
}

// rankGaps orders the rows of every area as report.Gaps ranks one area's
// (then by area, for a setting two areas list), and keeps the first top (all
// when top is 0).
func rankGaps(rows []gapRow, top int) []gapRow {
	slices.SortFunc(rows, func(a, b gapRow) int {
		if c := report.CompareGaps(a.Gap, b.Gap); c != 0 {
			return c
		}
		return strings.Compare(a.Area, b.Area)
	})
	if top > 0 && len(rows) > top {
		rows = rows[:top]
	}
	return rows
}

var gapsHeader = []string{"AREA", "URN", "NAME", "PHASE", "PUPILS", "DISADVANTAGED PUPILS"}

var gapsCSVHeader = append([]string{"area"}, report.GapsCSVHeader...)

func writeGaps(w io.Writer, rows []gapRow, format string) error {
	var err error
	switch format {
	case formatTable:
		cells := make([][]string, 0, len(rows))
		for _, r := range rows {
			row := append([]string{r.Area}, report.GapRow(r.Gap)...)
			if row[len(row)-1] == "" {
				row[len(row)-1] = "unknown"
			}
			cells = append(cells, row)
		}
		err = writeTable(w, gapsHeader, cells)
	case formatCSV:
		cw := csv.NewWriter(w)
		err = cw.Write(gapsCSVHeader)
		for _, r := range rows {
			if err != nil {
				break
			}
			err = cw.Write(append([]string{r.Area}, report.GapRow(r.Gap)...))
		}
		cw.Flush()
		err = firstErr(err, cw.Error())
	case formatJSON:
		if rows == nil {
			rows = []gapRow{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(rows)
	default:
		return fmt.Errorf("%w: -o %q is not one of %s", errUsage, format, strings.Join(gapsFormats, ", "))
	}
	if err != nil {
		return fmt.Errorf("write gaps as %s: %w", format, err)
	}
	return nil
}

// firstErr is the first error that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
