package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Names of the isolation objects in every area's namespace.
const (
	areaQuotaName            = "mhst-area-quota"
	areaLimitRangeName       = "mhst-area-limits"
	policyDenyIngress        = "mhst-default-deny-ingress"
	policyAllowSameNamespace = "mhst-allow-same-namespace"
	policyAllowIngressFrom   = "mhst-allow-ingress-from"
	policyRestrictEgress     = "mhst-restrict-egress"
	clusterDNSNamespace      = "kube-system"
	clusterDNSPodLabel       = "k8s-app"
	clusterDNSPodLabelValue  = "kube-dns"
	clusterDNSPort           = 53
	namespaceNameLabel       = "kubernetes.io/metadata.name"
)

// The isolation objects carry no owner reference to the LocalArea, on
// purpose: with deletionPolicy Retain the namespace keeps its quota and its
// network policies when the area goes, whatever cascade the deletion asks
// for, so that retained workloads are not suddenly open to the whole
// cluster. They are found by their labels instead.

// syncQuota applies the namespace's ResourceQuota: spec.tenancy.resourceQuota
// when the area sets one (it replaces the default as a whole), the
// operator's default otherwise.
func (r *LocalAreaReconciler) syncQuota(ctx context.Context, area *mhstv1alpha1.LocalArea) error {
	// A copy: the client decodes the API server's answer into the apply
	// configuration, and so into any map it holds, and the defaults are
	// shared by every worker.
	hard := area.Spec.Tenancy.ResourceQuota.DeepCopy()
	if len(hard) == 0 {
		hard = r.Tenancy.ResourceQuota.DeepCopy()
	}
	desired := corev1ac.ResourceQuota(areaQuotaName, area.EffectiveNamespace()).
		WithLabels(childLabels(area)).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(hard))
	return r.syncChild(ctx, area, &corev1.ResourceQuota{ObjectMeta: childMeta(area, areaQuotaName)}, desired)
}

// syncLimitRange applies the LimitRange that gives containers which set no
// resources the operator's defaults, so that they still fit the quota.
func (r *LocalAreaReconciler) syncLimitRange(ctx context.Context, area *mhstv1alpha1.LocalArea) error {
	item := r.Tenancy.LimitRange.DeepCopy() // not shared with other workers: see syncQuota
	limit := corev1ac.LimitRangeItem().WithType(item.Type)
	if len(item.Max) > 0 {
		limit.WithMax(item.Max)
	}
	if len(item.Min) > 0 {
		limit.WithMin(item.Min)
	}
	if len(item.Default) > 0 {
		limit.WithDefault(item.Default)
	}
	if len(item.DefaultRequest) > 0 {
		limit.WithDefaultRequest(item.DefaultRequest)
	}
	if len(item.MaxLimitRequestRatio) > 0 {
		limit.WithMaxLimitRequestRatio(item.MaxLimitRequestRatio)
	}
	desired := corev1ac.LimitRange(areaLimitRangeName, area.EffectiveNamespace()).
		WithLabels(childLabels(area)).
		WithSpec(corev1ac.LimitRangeSpec().WithLimits(limit))
	return r.syncChild(ctx, area, &corev1.LimitRange{ObjectMeta: childMeta(area, areaLimitRangeName)}, desired)
}

// syncNetworkPolicies isolates the namespace: ingress is denied to every pod
// except from pods of the same namespace and from the namespaces that
// spec.tenancy.allowIngressFrom selects. Egress is limited to the same
// namespace, the cluster DNS and spec.tenancy.allowEgressTo while the
// operator runs with RestrictEgress (its default), and open otherwise (see
// docs/localarea.md). Policies the area no longer wants are deleted.
func (r *LocalAreaReconciler) syncNetworkPolicies(ctx context.Context, area *mhstv1alpha1.LocalArea) error {
	if err := r.syncChild(ctx, area, policyObject(area, policyDenyIngress), denyIngressPolicy(area)); err != nil {
		return err
	}
	if err := r.syncChild(ctx, area, policyObject(area, policyAllowSameNamespace), allowSameNamespacePolicy(area)); err != nil {
		return err
	}
	if len(area.Spec.Tenancy.AllowIngressFrom) > 0 {
		if err := r.syncChild(ctx, area, policyObject(area, policyAllowIngressFrom), allowIngressFromPolicy(area)); err != nil {
			return err
		}
	} else if err := r.pruneChild(ctx, area, policyObject(area, policyAllowIngressFrom)); err != nil {
		return err
	}
	if r.Tenancy.RestrictEgress {
		return r.syncChild(ctx, area, policyObject(area, policyRestrictEgress), restrictEgressPolicy(area))
	}
	return r.pruneChild(ctx, area, policyObject(area, policyRestrictEgress))
}

// denyIngressPolicy selects every pod for ingress and allows nothing: the
// baseline the other policies open holes in.
func denyIngressPolicy(area *mhstv1alpha1.LocalArea) *networkingv1ac.NetworkPolicyApplyConfiguration {
	return networkPolicy(area, policyDenyIngress).WithSpec(networkingv1ac.NetworkPolicySpec().
		WithPodSelector(metav1ac.LabelSelector()).
		WithPolicyTypes(networkingv1.PolicyTypeIngress))
}

// allowSameNamespacePolicy lets the area's pods reach each other.
func allowSameNamespacePolicy(area *mhstv1alpha1.LocalArea) *networkingv1ac.NetworkPolicyApplyConfiguration {
	return networkPolicy(area, policyAllowSameNamespace).WithSpec(networkingv1ac.NetworkPolicySpec().
		WithPodSelector(metav1ac.LabelSelector()).
		WithPolicyTypes(networkingv1.PolicyTypeIngress).
		WithIngress(networkingv1ac.NetworkPolicyIngressRule().
			WithFrom(networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector()))))
}

// allowIngressFromPolicy lets pods of the namespaces selected by
// spec.tenancy.allowIngressFrom (for example the ingress controller's)
// reach the area's pods. Peers of one rule are alternatives.
func allowIngressFromPolicy(area *mhstv1alpha1.LocalArea) *networkingv1ac.NetworkPolicyApplyConfiguration {
	rule := networkingv1ac.NetworkPolicyIngressRule()
	for i := range area.Spec.Tenancy.AllowIngressFrom {
		rule.WithFrom(networkingv1ac.NetworkPolicyPeer().
			WithNamespaceSelector(labelSelector(&area.Spec.Tenancy.AllowIngressFrom[i])))
	}
	return networkPolicy(area, policyAllowIngressFrom).WithSpec(networkingv1ac.NetworkPolicySpec().
		WithPodSelector(metav1ac.LabelSelector()).
		WithPolicyTypes(networkingv1.PolicyTypeIngress).
		WithIngress(rule))
}

// restrictEgressPolicy limits the area's pods to their own namespace, the
// cluster DNS (kube-dns in kube-system, port 53 over UDP and TCP) and the
// destinations of spec.tenancy.allowEgressTo, one rule each, in the order
// the spec lists them (so that the policy, and the comparison with what is
// live, is the same on every reconcile).
func restrictEgressPolicy(area *mhstv1alpha1.LocalArea) *networkingv1ac.NetworkPolicyApplyConfiguration {
	sameNamespace := networkingv1ac.NetworkPolicyEgressRule().
		WithTo(networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector()))
	dns := networkingv1ac.NetworkPolicyEgressRule().
		WithTo(networkingv1ac.NetworkPolicyPeer().
			WithNamespaceSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{namespaceNameLabel: clusterDNSNamespace})).
			WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{clusterDNSPodLabel: clusterDNSPodLabelValue}))).
		WithPorts(dnsPort(corev1.ProtocolUDP), dnsPort(corev1.ProtocolTCP))
	rules := []*networkingv1ac.NetworkPolicyEgressRuleApplyConfiguration{sameNamespace, dns}
	for i := range area.Spec.Tenancy.AllowEgressTo {
		rules = append(rules, egressRule(&area.Spec.Tenancy.AllowEgressTo[i]))
	}
	return networkPolicy(area, policyRestrictEgress).WithSpec(networkingv1ac.NetworkPolicySpec().
		WithPodSelector(metav1ac.LabelSelector()).
		WithPolicyTypes(networkingv1.PolicyTypeEgress).
		WithEgress(rules...))
}

// egressRule allows one destination of spec.tenancy.allowEgressTo. The API
// server has checked that exactly one of namespaceSelector and ipBlock is
// set.
func egressRule(dest *mhstv1alpha1.EgressDestination) *networkingv1ac.NetworkPolicyEgressRuleApplyConfiguration {
	peer := networkingv1ac.NetworkPolicyPeer()
	switch {
	case dest.NamespaceSelector != nil:
		peer.WithNamespaceSelector(labelSelector(dest.NamespaceSelector))
	case dest.IPBlock != nil:
		block := networkingv1ac.IPBlock().WithCIDR(dest.IPBlock.CIDR)
		if len(dest.IPBlock.Except) > 0 {
			block.WithExcept(dest.IPBlock.Except...)
		}
		peer.WithIPBlock(block)
	}
	rule := networkingv1ac.NetworkPolicyEgressRule().WithTo(peer)
	for _, p := range dest.Ports {
		// The protocol is always written out, as the API server would
		// default it, so that the live policy matches what is wanted.
		protocol := p.Protocol
		if protocol == "" {
			protocol = corev1.ProtocolTCP
		}
		rule.WithPorts(networkingv1ac.NetworkPolicyPort().WithProtocol(protocol).WithPort(intstr.FromInt32(p.Port)))
	}
	return rule
}

func dnsPort(protocol corev1.Protocol) *networkingv1ac.NetworkPolicyPortApplyConfiguration {
	return networkingv1ac.NetworkPolicyPort().WithProtocol(protocol).WithPort(intstr.FromInt32(clusterDNSPort))
}

// networkPolicy starts the apply configuration of one of the area's policies.
func networkPolicy(area *mhstv1alpha1.LocalArea, name string) *networkingv1ac.NetworkPolicyApplyConfiguration {
	return networkingv1ac.NetworkPolicy(name, area.EffectiveNamespace()).WithLabels(childLabels(area))
}

func policyObject(area *mhstv1alpha1.LocalArea, name string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: childMeta(area, name)}
}

// labelSelector converts a selector of the API into its apply configuration.
func labelSelector(s *metav1.LabelSelector) *metav1ac.LabelSelectorApplyConfiguration {
	sel := metav1ac.LabelSelector()
	if len(s.MatchLabels) > 0 {
		sel.WithMatchLabels(s.MatchLabels)
	}
	for _, req := range s.MatchExpressions {
		sel.WithMatchExpressions(metav1ac.LabelSelectorRequirement().
			WithKey(req.Key).WithOperator(req.Operator).WithValues(req.Values...))
	}
	return sel
}

// childLabels are the labels of everything the area creates: the
// managed-by label keeps it in the operator's cache, the area label maps
// its events back to the area.
func childLabels(area *mhstv1alpha1.LocalArea) map[string]string {
	return map[string]string{
		mhstv1alpha1.LabelArea:      area.Name,
		mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue,
	}
}

// childMeta names an object in the area's namespace.
func childMeta(area *mhstv1alpha1.LocalArea, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: area.EffectiveNamespace()}
}
