package controllers

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Field indexes on the manager's cache. They answer "which objects point at
// this one" from memory, so that a change to one object enqueues only the
// objects of its own area, never a list of the whole nation.
const (
	// indexAreaNamespace indexes LocalAreas by the namespace they claim.
	indexAreaNamespace = "mhst.io/areaNamespace"
	// indexCoverageTeam indexes SchoolCoverages by spec.teamRef.name.
	indexCoverageTeam = "spec.teamRef.name"
	// indexTeamBlueprint indexes SupportTeams by the blueprint ConfigMap
	// they render from.
	indexTeamBlueprint = "spec.blueprint.configMapRef.name"
)

func registerIndexes(mgr ctrl.Manager) error {
	ctx := context.Background()
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &mhstv1alpha1.LocalArea{}, indexAreaNamespace, func(o client.Object) []string {
		return []string{o.(*mhstv1alpha1.LocalArea).EffectiveNamespace()}
	}); err != nil {
		return fmt.Errorf("index LocalArea by namespace: %w", err)
	}
	if err := indexer.IndexField(ctx, &mhstv1alpha1.SchoolCoverage{}, indexCoverageTeam, func(o client.Object) []string {
		if ref := o.(*mhstv1alpha1.SchoolCoverage).Spec.TeamRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("index SchoolCoverage by team: %w", err)
	}
	if err := indexer.IndexField(ctx, &mhstv1alpha1.SupportTeam{}, indexTeamBlueprint, func(o client.Object) []string {
		if bp := o.(*mhstv1alpha1.SupportTeam).Spec.Blueprint; bp != nil {
			return []string{bp.ConfigMapRef.Name}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("index SupportTeam by blueprint: %w", err)
	}
	return nil
}
