package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

const coverageHelp = `Usage: kubectl mhst coverage [--areas] [-o table|json|csv|markdown] [--kubeconfig PATH] [--context NAME]

Print the national coverage of the Mental Health Support Team rollout from the
status.coverage of every LocalArea in the cluster: England, each wave and each
region (and each area with --areas). For each: areas, settings, settings
covered, pupils, pupils covered, the percent of pupils covered (rounded half up
to one decimal, from the sums, never averaged), disadvantaged pupils (eligible
for free school meals) and those covered, the percent of settings and of
disadvantaged pupils covered, the equity index (1000: disadvantaged pupils are
covered in the same proportion as all pupils; below 1000, less; "-" where it is
undefined) and the additional teams the areas need to meet their current
targets (status.plan). An area whose coverage the operator has not computed yet
counts as an area with no settings.

Below the table come the settings listed by more than one area (which the sums
may count more than once), read from the cluster's SchoolCoverages; they are
left out, with a warning, when you may not list SchoolCoverages in every
namespace. -o json has them as settingsInMoreThanOneArea; -o csv has only the
rows.

The cluster is the one of --kubeconfig, else $KUBECONFIG, else ~/.kube/config,
else the in-cluster configuration.
`

// listTimeout bounds the one List the command makes.
const listTimeout = 30 * time.Second

func runCoverage(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("coverage", coverageHelp, stderr)
	perArea := fs.Bool("areas", false, "add a row per area")
	format := fs.String("o", formatTable, "output format: "+strings.Join(coverageFormats, ", "))
	kubeconfig := fs.String("kubeconfig", "", "path to the kubeconfig file")
	kubeContext := fs.String("context", "", "the kubeconfig context to use")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Check the format before reaching the cluster, so a typo fails fast.
	if !slices.Contains(coverageFormats, *format) {
		return fmt.Errorf("%w: -o %q is not one of %s", errUsage, *format, strings.Join(coverageFormats, ", "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	c, err := mhstClient(*kubeconfig, *kubeContext, stderr)
	if err != nil {
		return err
	}
	var areas mhstv1alpha1.LocalAreaList
	if err := c.List(ctx, &areas); err != nil {
		return fmt.Errorf("list LocalAreas: %w", err)
	}
	var coverages mhstv1alpha1.SchoolCoverageList
	switch err := c.List(ctx, &coverages); {
	case apierrors.IsForbidden(err):
		note(stderr, "warning: you may not list SchoolCoverages in every namespace, so the settings listed by more than one area are left out: %v\n", err)
	case err != nil:
		return fmt.Errorf("list SchoolCoverages: %w", err)
	}
	return writeCoverage(stdout, areas.Items, coverages.Items, *perArea, *format)
}
