package controllers

import (
	"context"
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// The rules every restricted area's egress policy starts with: its own
// namespace, and kube-dns.
func sameNamespaceEgress() networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}
}

func dnsEgress() networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{
		To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{namespaceNameLabel: clusterDNSNamespace}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{clusterDNSPodLabel: clusterDNSPodLabelValue}},
		}},
		Ports: []networkingv1.NetworkPolicyPort{egressPort(clusterDNSPort, corev1.ProtocolUDP), egressPort(clusterDNSPort, corev1.ProtocolTCP)},
	}
}

func egressPort(port int32, protocol corev1.Protocol) networkingv1.NetworkPolicyPort {
	p := intstr.FromInt32(port)
	return networkingv1.NetworkPolicyPort{Protocol: &protocol, Port: &p}
}

// Destinations of a trust's systems, in the spec's words and as rules.
var (
	trustEPR = mhstv1alpha1.EgressDestination{
		IPBlock: &mhstv1alpha1.EgressIPBlock{CIDR: "192.0.2.0/24", Except: []string{"192.0.2.128/25"}},
		Ports:   []mhstv1alpha1.EgressPort{{Port: 443}},
	}
	trustEPRRule = networkingv1.NetworkPolicyEgressRule{
		To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "192.0.2.0/24", Except: []string{"192.0.2.128/25"}}}},
		Ports: []networkingv1.NetworkPolicyPort{egressPort(443, corev1.ProtocolTCP)},
	}
	gateway = mhstv1alpha1.EgressDestination{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{namespaceNameLabel: "nhs-gateway"}},
		Ports:             []mhstv1alpha1.EgressPort{{Port: 8443, Protocol: corev1.ProtocolTCP}, {Port: 514, Protocol: corev1.ProtocolUDP}},
	}
	gatewayRule = networkingv1.NetworkPolicyEgressRule{
		To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{namespaceNameLabel: "nhs-gateway"}}}},
		Ports: []networkingv1.NetworkPolicyPort{egressPort(8443, corev1.ProtocolTCP), egressPort(514, corev1.ProtocolUDP)},
	}
	relay = mhstv1alpha1.EgressDestination{
		IPBlock: &mhstv1alpha1.EgressIPBlock{CIDR: "2001:db8:25::/48"},
	}
	relayRule = networkingv1.NetworkPolicyEgressRule{
		To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "2001:db8:25::/48"}}},
	}
)

// TestRestrictEgressPolicyRendersAllowEgressTo: one rule per destination
// after the namespace and DNS rules, in the spec's order, each port with
// its protocol written out.
func TestRestrictEgressPolicyRendersAllowEgressTo(t *testing.T) {
	tests := []struct {
		name  string
		allow []mhstv1alpha1.EgressDestination
		want  []networkingv1.NetworkPolicyEgressRule
	}{
		{"nothing allowed", nil, []networkingv1.NetworkPolicyEgressRule{sameNamespaceEgress(), dnsEgress()}},
		{"a trust's range, then a namespace", []mhstv1alpha1.EgressDestination{trustEPR, gateway},
			[]networkingv1.NetworkPolicyEgressRule{sameNamespaceEgress(), dnsEgress(), trustEPRRule, gatewayRule}},
		{"the spec's order is kept", []mhstv1alpha1.EgressDestination{relay, gateway, trustEPR},
			[]networkingv1.NetworkPolicyEgressRule{sameNamespaceEgress(), dnsEgress(), relayRule, gatewayRule, trustEPRRule}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			area := newTestArea("render")
			area.Spec.Tenancy.AllowEgressTo = tt.allow
			data, err := json.Marshal(restrictEgressPolicy(area))
			g.Expect(err).NotTo(HaveOccurred())
			var policy networkingv1.NetworkPolicy
			g.Expect(json.Unmarshal(data, &policy)).To(Succeed())
			g.Expect(policy.Namespace).To(Equal("mhst-render"))
			g.Expect(policy.Spec.PodSelector).To(Equal(metav1.LabelSelector{}))
			g.Expect(policy.Spec.PolicyTypes).To(Equal([]networkingv1.PolicyType{networkingv1.PolicyTypeEgress}))
			g.Expect(policy.Spec.Egress).To(Equal(tt.want))
		})
	}
}

// TestLocalAreaAllowEgressTo: the area's egress policy, as the API server
// holds it, follows spec.tenancy.allowEgressTo as destinations are added,
// changed and removed.
func TestLocalAreaAllowEgressTo(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	g.Expect(testCfg.Tenancy.RestrictEgress).To(BeTrue(), "the suite runs the operator with its default, restricted egress")
	area := newTestArea("egress")
	area.Spec.Tenancy.AllowEgressTo = []mhstv1alpha1.EgressDestination{trustEPR, gateway}
	createArea(ctx, t, area)
	waitAreaActive(ctx, t, "egress")
	expectEgress(ctx, t, "mhst-egress", sameNamespaceEgress(), dnsEgress(), trustEPRRule, gatewayRule)

	// The trust moves its service to another range, and the gateway
	// namespace is no longer needed; an IPv6 relay is added.
	area = getArea(ctx, g, "egress")
	moved := trustEPR
	moved.IPBlock = &mhstv1alpha1.EgressIPBlock{CIDR: "198.51.100.0/24"}
	area.Spec.Tenancy.AllowEgressTo = []mhstv1alpha1.EgressDestination{moved, relay}
	updateAreaSpec(ctx, g, area)
	movedRule := networkingv1.NetworkPolicyEgressRule{
		To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "198.51.100.0/24"}}},
		Ports: []networkingv1.NetworkPolicyPort{egressPort(443, corev1.ProtocolTCP)},
	}
	expectEgress(ctx, t, "mhst-egress", sameNamespaceEgress(), dnsEgress(), movedRule, relayRule)

	// Nothing allowed any more: back to the namespace and DNS.
	area = getArea(ctx, g, "egress")
	area.Spec.Tenancy.AllowEgressTo = nil
	updateAreaSpec(ctx, g, area)
	expectEgress(ctx, t, "mhst-egress", sameNamespaceEgress(), dnsEgress())
}

// expectEgress waits until the area's egress policy in ns has exactly these
// rules.
func expectEgress(ctx context.Context, t *testing.T, ns string, want ...networkingv1.NetworkPolicyEgressRule) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var policy networkingv1.NetworkPolicy
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyRestrictEgress}, &policy)).To(Succeed())
		g.Expect(policy.Spec.PolicyTypes).To(Equal([]networkingv1.PolicyType{networkingv1.PolicyTypeEgress}))
		g.Expect(policy.Spec.PodSelector).To(Equal(metav1.LabelSelector{}))
		g.Expect(policy.Spec.Egress).To(Equal(want))
	}, eventuallyTimeout, pollInterval).Should(Succeed())
}
