package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/history"
)

const historyHelp = `Usage: kubectl mhst history [--area NAME] [-o table|json|csv] [--kubeconfig PATH] [--context NAME]

List the cluster's CoverageSnapshots in the order they were taken, with their
figures: when each was taken (and the date a scheduled one stands for), its
scope and area, settings, pupils, the percent of pupils covered and the
disadvantaged pupils covered. With --area, only the Area snapshots of that
LocalArea.

Every snapshot's record is checked against its digest (DIGEST ok). The exit
status is 1 when one does not match: its figures are not those the operator
recorded, and must not be quoted.
`

const diffHelp = `Usage: kubectl mhst diff BEFORE AFTER [-o table|json] [--kubeconfig PATH] [--context NAME]

Compare two CoverageSnapshots of one area (or two National ones), from BEFORE
to AFTER: the settings that became covered and those that stopped being
covered (with the team and the board decision), those covered by another team
or decision, those added to or removed from the area, and the change of every
figure. For National snapshots: the change of the national figures and of
each area's. Both snapshots' digests are checked first.
`

func runHistory(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("history", historyHelp, stderr)
	area := fs.String("area", "", "only the snapshots of this LocalArea")
	format := fs.String("o", formatTable, "output format: "+strings.Join(historyFormats, ", "))
	kubeconfig, kubeContext := clusterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !slices.Contains(historyFormats, *format) {
		return fmt.Errorf("%w: -o %q is not one of %s", errUsage, *format, strings.Join(historyFormats, ", "))
	}
	c, err := mhstClient(*kubeconfig, *kubeContext, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	var list mhstv1alpha1.CoverageSnapshotList
	if err := c.List(ctx, &list); err != nil {
		return fmt.Errorf("list CoverageSnapshots: %w", err)
	}
	rows := history.Rows(list.Items, *area)
	if err := writeHistory(stdout, rows, *format); err != nil {
		return err
	}
	return mismatches(rows)
}

// mismatches is an error naming the snapshots whose record does not match
// their digest.
func mismatches(rows []history.Row) error {
	var bad []string
	for _, r := range rows {
		if r.DigestCheck == history.DigestMismatch {
			bad = append(bad, r.Name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("the record of %s does not match its digest: it is not what the operator recorded, and must not be quoted", strings.Join(bad, ", "))
}

func runDiff(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("diff", diffHelp, stderr)
	format := fs.String("o", formatTable, "output format: "+strings.Join(diffFormats, ", "))
	kubeconfig, kubeContext := clusterFlags(fs)
	names, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 2 {
		return fmt.Errorf("%w: name two snapshots, BEFORE and AFTER (got %d)", errUsage, len(names))
	}
	if !slices.Contains(diffFormats, *format) {
		return fmt.Errorf("%w: -o %q is not one of %s", errUsage, *format, strings.Join(diffFormats, ", "))
	}
	c, err := mhstClient(*kubeconfig, *kubeContext, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	var snaps [2]*mhstv1alpha1.CoverageSnapshot
	for i, name := range names {
		snaps[i] = &mhstv1alpha1.CoverageSnapshot{}
		if err := c.Get(ctx, types.NamespacedName{Name: name}, snaps[i]); err != nil {
			return fmt.Errorf("get CoverageSnapshot %s: %w", name, err)
		}
		if history.Verify(snaps[i]) == history.DigestMismatch {
			return mismatches([]history.Row{{Name: name, DigestCheck: history.DigestMismatch}})
		}
	}
	d, err := history.Compare(snaps[0], snaps[1])
	if err != nil {
		return err
	}
	return writeDiff(stdout, d, *format)
}

// parseInterspersed parses flags wherever they are among the arguments, as
// kubectl does (kubectl mhst diff a b -o json), and returns the others.
func parseInterspersed(fs interface {
	Parse([]string) error
	Args() []string
}, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
