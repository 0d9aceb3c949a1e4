// Package kinds is the one table of the kinds of object the operator makes:
// for each, who makes it (an area, a team, a report), how the operator's
// cache selects it, whether a team's blueprint may render it, and who owns
// its objects whole. The cache options, the controllers' watches, the
// blueprint allowlist, the prune allowlist, the apply engine's choice of
// drift rule and the benchmark's count of what the operator made are all
// read from here, and a test checks the table against the operator's RBAC
// (config/rbac/role.yaml and the chart), so that a kind added in one place
// and forgotten in another fails a test instead of a rollout.
package kinds

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Maker is what the operator makes an object for.
type Maker string

const (
	// Area: a LocalArea's tenant (its namespace, quota, isolation, access).
	Area Maker = "LocalArea"
	// Team: a SupportTeam's service, rendered from its blueprint.
	Team Maker = "SupportTeam"
	// Report: the area and national coverage reports.
	Report Maker = "Report"
)

// CacheSelection says which objects of a kind the operator's cache holds.
type CacheSelection int

const (
	// CacheManaged: only those carrying the operator's managed-by label.
	CacheManaged CacheSelection = iota
	// CacheConfigMaps: only ConfigMaps carrying mhst.io/configmap (the
	// operator's own, and the blueprints it reads).
	CacheConfigMaps
	// CacheAll: every object of the kind (namespaces: a namespace freed or
	// relabelled may end an area's conflict).
	CacheAll
)

// Kind is one kind of object the operator makes.
type Kind struct {
	GVK schema.GroupVersionKind
	// Resource is the kind's resource name in RBAC rules.
	Resource string
	// Namespaced is false for cluster-scoped kinds.
	Namespaced bool
	// MadeFor lists what the operator makes objects of this kind for.
	MadeFor []Maker
	// Cache says which objects of the kind the cache holds.
	Cache CacheSelection
	// Blueprint says a team's blueprint may render the kind: it is
	// namespaced and can neither grant permissions nor reach beyond the
	// team's namespace.
	Blueprint bool
	// Whole lists the makers that own their objects of this kind whole:
	// the operator sets every field outside metadata and status, and the
	// API server defaults none of them, so a field someone adds (a rule, a
	// quota, a data key) is drift, and the object is replaced whole, with
	// an update (see internal/apply), which the RBAC must grant. A team is
	// never among them: a blueprint's author does not write out what the
	// server defaults. Namespaces (whose spec.finalizers the server sets)
	// and LimitRanges (whose limits the server completes from one another)
	// are compared on the fields the operator sets.
	Whole []Maker
	// New returns an empty typed object of the kind.
	New func() client.Object
}

// All is the table, in a fixed order.
var All = []Kind{
	{GVK: corev1.SchemeGroupVersion.WithKind("Namespace"), Resource: "namespaces", MadeFor: []Maker{Area}, Cache: CacheAll,
		New: func() client.Object { return &corev1.Namespace{} }},
	{GVK: corev1.SchemeGroupVersion.WithKind("ResourceQuota"), Resource: "resourcequotas", Namespaced: true, MadeFor: []Maker{Area}, Whole: []Maker{Area},
		New: func() client.Object { return &corev1.ResourceQuota{} }},
	{GVK: corev1.SchemeGroupVersion.WithKind("LimitRange"), Resource: "limitranges", Namespaced: true, MadeFor: []Maker{Area},
		New: func() client.Object { return &corev1.LimitRange{} }},
	{GVK: rbacv1.SchemeGroupVersion.WithKind("RoleBinding"), Resource: "rolebindings", Namespaced: true, MadeFor: []Maker{Area}, Whole: []Maker{Area},
		New: func() client.Object { return &rbacv1.RoleBinding{} }},
	{GVK: rbacv1.SchemeGroupVersion.WithKind("ClusterRole"), Resource: "clusterroles", MadeFor: []Maker{Area}, Whole: []Maker{Area},
		New: func() client.Object { return &rbacv1.ClusterRole{} }},
	{GVK: rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"), Resource: "clusterrolebindings", MadeFor: []Maker{Area}, Whole: []Maker{Area},
		New: func() client.Object { return &rbacv1.ClusterRoleBinding{} }},
	{GVK: appsv1.SchemeGroupVersion.WithKind("Deployment"), Resource: "deployments", Namespaced: true, MadeFor: []Maker{Team}, Blueprint: true,
		New: func() client.Object { return &appsv1.Deployment{} }},
	{GVK: corev1.SchemeGroupVersion.WithKind("Service"), Resource: "services", Namespaced: true, MadeFor: []Maker{Team}, Blueprint: true,
		New: func() client.Object { return &corev1.Service{} }},
	{GVK: corev1.SchemeGroupVersion.WithKind("ServiceAccount"), Resource: "serviceaccounts", Namespaced: true, MadeFor: []Maker{Team}, Blueprint: true,
		New: func() client.Object { return &corev1.ServiceAccount{} }},
	{GVK: corev1.SchemeGroupVersion.WithKind("ConfigMap"), Resource: "configmaps", Namespaced: true, MadeFor: []Maker{Area, Team, Report}, Cache: CacheConfigMaps, Blueprint: true,
		Whole: []Maker{Area},
		New:   func() client.Object { return &corev1.ConfigMap{} }},
	{GVK: networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), Resource: "networkpolicies", Namespaced: true, MadeFor: []Maker{Area, Team}, Blueprint: true,
		Whole: []Maker{Area},
		New:   func() client.Object { return &networkingv1.NetworkPolicy{} }},
	{GVK: policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"), Resource: "poddisruptionbudgets", Namespaced: true, MadeFor: []Maker{Team}, Blueprint: true,
		New: func() client.Object { return &policyv1.PodDisruptionBudget{} }},
	{GVK: autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"), Resource: "horizontalpodautoscalers", Namespaced: true, MadeFor: []Maker{Team}, Blueprint: true,
		New: func() client.Object { return &autoscalingv2.HorizontalPodAutoscaler{} }},
}

// MadeFor returns the kinds the operator makes for m, in the table's order.
func MadeFor(m Maker) []Kind {
	var out []Kind
	for _, k := range All {
		if slices.Contains(k.MadeFor, m) {
			out = append(out, k)
		}
	}
	return out
}

// Blueprint returns the kinds a blueprint may render, in the table's order.
func Blueprint() []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for _, k := range All {
		if k.Blueprint {
			out = append(out, k.GVK)
		}
	}
	return out
}

// GVKs returns every kind of the table.
func GVKs() []schema.GroupVersionKind {
	out := make([]schema.GroupVersionKind, len(All))
	for i, k := range All {
		out[i] = k.GVK
	}
	return out
}

// OwnedWhole reports whether m owns its objects of kind gvk whole (see
// Kind.Whole).
func OwnedWhole(gvk schema.GroupVersionKind, m Maker) bool {
	k, ok := Lookup(gvk)
	return ok && slices.Contains(k.Whole, m)
}

// Lookup returns the kind of gvk, if the operator makes it.
func Lookup(gvk schema.GroupVersionKind) (Kind, bool) {
	for _, k := range All {
		if k.GVK == gvk {
			return k, true
		}
	}
	return Kind{}, false
}
