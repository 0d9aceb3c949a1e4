package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

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

// areaOfNamespace returns the LocalArea that holds namespace ns, or nil when
// no area does. Several areas may name the same namespace; only the one that
// claimed it (status.namespace) holds it, the others are stalled.
func areaOfNamespace(ctx context.Context, c client.Reader, ns string) (*mhstv1alpha1.LocalArea, error) {
	var areas mhstv1alpha1.LocalAreaList
	if err := c.List(ctx, &areas, client.MatchingFields{indexAreaNamespace: ns}); err != nil {
		return nil, fmt.Errorf("list areas of namespace %s: %w", ns, err)
	}
	for i := range areas.Items {
		if areas.Items[i].Status.Namespace == ns {
			return &areas.Items[i], nil
		}
	}
	return nil, nil
}

// areaHoldingNamespace returns a handler that maps a namespaced object (a
// SupportTeam, a SchoolCoverage) to the LocalArea holding its namespace,
// for the controllers whose work is per area.
func areaHoldingNamespace(c client.Reader) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		area, err := areaOfNamespace(ctx, c, obj.GetNamespace())
		if err != nil {
			logf.FromContext(ctx).Error(err, "find area of namespace", "namespace", obj.GetNamespace(), "name", obj.GetName())
			return nil
		}
		if area == nil {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: area.Name}}}
	})
}
