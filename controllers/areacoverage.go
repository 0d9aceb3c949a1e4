package controllers

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
)

// areaCoverageFromCache applies the coverage rules to the SchoolCoverages and
// SupportTeams of the area's namespace, listed from the cache. The area, its
// allocations and its report all take their figures from here, so they can
// never disagree.
func areaCoverageFromCache(ctx context.Context, c client.Reader, area *mhstv1alpha1.LocalArea) (coverage.Result, []mhstv1alpha1.SupportTeam, error) {
	ns := area.Status.Namespace
	var covs mhstv1alpha1.SchoolCoverageList
	if err := c.List(ctx, &covs, client.InNamespace(ns)); err != nil {
		return coverage.Result{}, nil, fmt.Errorf("list coverages of area %s: %w", area.Name, err)
	}
	var teams mhstv1alpha1.SupportTeamList
	if err := c.List(ctx, &teams, client.InNamespace(ns)); err != nil {
		return coverage.Result{}, nil, fmt.Errorf("list teams of area %s: %w", area.Name, err)
	}
	return coverage.Compute(covs.Items, teams.Items, coverage.TargetOf(area)), teams.Items, nil
}
