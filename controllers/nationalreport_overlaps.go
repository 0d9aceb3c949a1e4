package controllers

import (
	"context"
	"fmt"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// +kubebuilder:rbac:groups=mhst.io,resources=schoolcoverages,verbs=get;list;watch

// listedSettings lists every SchoolCoverage of the cluster from the cache,
// for the national report's settingsInMoreThanOneArea: a school on the
// border of two areas may be listed by both, and each area counts it.
func (r *NationalReportReconciler) listedSettings(ctx context.Context) ([]mhstv1alpha1.SchoolCoverage, error) {
	var coverages mhstv1alpha1.SchoolCoverageList
	// The cache's own objects: the report only reads which URNs each area
	// lists, and copying every setting of the nation on every rebuild
	// would be most of the operator's memory churn.
	if err := r.List(ctx, &coverages, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list SchoolCoverages for the national report: %w", err)
	}
	return coverages.Items, nil
}
