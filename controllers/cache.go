package controllers

import (
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/kinds"
)

// CacheOptions keeps the operator's memory proportional to what it manages,
// not to the cluster: each kind of the table in internal/kinds is cached as
// the table says (what carries the operator's managed-by label; ConfigMaps
// carrying mhst.io/configmap; every namespace), and managedFields are
// stripped from everything cached.
func CacheOptions() cache.Options {
	managed := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue})}
	configMapReq, err := labels.NewRequirement(mhstv1alpha1.LabelConfigMap, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant label key: cannot fail
	}
	configMaps := cache.ByObject{Label: labels.NewSelector().Add(*configMapReq)}
	byObject := map[client.Object]cache.ByObject{}
	for _, k := range kinds.All {
		switch k.Cache {
		case kinds.CacheManaged:
			byObject[k.New()] = managed
		case kinds.CacheConfigMaps:
			byObject[k.New()] = configMaps
		case kinds.CacheAll:
		}
	}
	return cache.Options{
		ByObject:         byObject,
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}
