package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// CacheOptions keeps the operator's memory proportional to what it manages,
// not to the cluster: the kinds it creates are cached only when they carry
// its managed-by label, ConfigMaps only when they carry mhst.io/configmap,
// and managedFields are stripped from everything cached.
func CacheOptions() cache.Options {
	managed := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue})}
	configMapReq, err := labels.NewRequirement(mhstv1alpha1.LabelConfigMap, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant label key: cannot fail
	}
	byObject := map[client.Object]cache.ByObject{
		&corev1.ConfigMap{}: {Label: labels.NewSelector().Add(*configMapReq)},
	}
	for _, obj := range []client.Object{
		&appsv1.Deployment{},
		&corev1.Service{},
		&corev1.ServiceAccount{},
		&corev1.ResourceQuota{},
		&corev1.LimitRange{},
		&networkingv1.NetworkPolicy{},
		&policyv1.PodDisruptionBudget{},
		&autoscalingv2.HorizontalPodAutoscaler{},
		&rbacv1.RoleBinding{},
		&rbacv1.ClusterRole{},
		&rbacv1.ClusterRoleBinding{},
	} {
		byObject[obj] = managed
	}
	return cache.Options{
		ByObject:         byObject,
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}
