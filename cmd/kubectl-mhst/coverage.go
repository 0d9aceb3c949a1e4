package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

const coverageHelp = `Usage: kubectl mhst coverage [--areas] [-o table|json|csv|markdown] [--kubeconfig PATH] [--context NAME]

Print the national coverage of the Mental Health Support Team rollout from the
status.coverage of every LocalArea in the cluster: England, each wave and each
region (and each area with --areas). For each: areas, settings, settings
covered, pupils, pupils covered, the percent of pupils covered (rounded half up
to one decimal, from the sums, never averaged), disadvantaged pupils (eligible
for free school meals) and those covered. An area whose coverage the operator
has not computed yet counts as an area with no settings.

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
	areas, err := listAreas(ctx, *kubeconfig, *kubeContext, stderr)
	if err != nil {
		return err
	}
	return writeCoverage(stdout, areas, *perArea, *format)
}

// listAreas lists the cluster's LocalAreas.
func listAreas(ctx context.Context, kubeconfig, kubeContext string, stderr io.Writer) ([]mhstv1alpha1.LocalArea, error) {
	c, err := mhstClient(kubeconfig, kubeContext, stderr)
	if err != nil {
		return nil, err
	}
	var list mhstv1alpha1.LocalAreaList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list LocalAreas: %w", err)
	}
	return list.Items, nil
}
