package blueprint

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The isolation rules: what an object of an allowed kind may still not do.
// The operator applies a render with its own rights, in a namespace it
// shares between the teams of an area, behind the area's default-deny
// NetworkPolicies. A blueprint must not use those rights to reach beyond
// the team: expose it outside the cluster, act on other teams' pods, open
// the network wider than the area does, reach the node, or act with an
// identity or priority that is not the team's.
//
// Each rule is a function that returns a *RejectedError naming the object
// and the field, or nil. docs/blueprints.md lists them with their reasons.

// Kinds the isolation rules look into.
var (
	serviceKind             = corev1.SchemeGroupVersion.WithKind("Service")
	serviceAccountKind      = corev1.SchemeGroupVersion.WithKind("ServiceAccount")
	networkPolicyKind       = networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy")
	podDisruptionBudgetKind = policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget")
	autoscalerKind          = autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler")
)

// podSpecField is where a Deployment keeps its pods' spec.
const podSpecField = "spec.template.spec"

// defaultServiceAccount is the ServiceAccount pods run as when they name
// none: the namespace's own, which every namespace has.
const defaultServiceAccount = "default"

// Cluster DNS, as the area's restrict-egress policy admits it: the kube-dns
// pods of kube-system, on port 53 (controllers/localarea_isolation.go).
const (
	clusterDNSNamespace     = "kube-system"
	clusterDNSPodLabel      = "k8s-app"
	clusterDNSPodLabelValue = "kube-dns"
	clusterDNSPort          = 53
)

// ClusterDNSPeer is the egress peer a team's NetworkPolicy may name to reach
// the cluster DNS, on port 53 only. It is the peer of the area's own
// restrict-egress policy.
func ClusterDNSPeer() networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: clusterDNSNamespace}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{clusterDNSPodLabel: clusterDNSPodLabelValue}},
	}
}

// checkIsolation applies the isolation rules to every object of a render
// that has passed the kind and namespace checks, and returns the first
// refusal.
func checkIsolation(objects []*unstructured.Unstructured, in Input, deploymentName string) error {
	serviceAccounts := namesOfKind(objects, serviceAccountKind.Kind)
	for _, obj := range objects {
		var refusal *RejectedError
		switch obj.GroupVersionKind() {
		case deploymentKind:
			refusal = deploymentIsolation(obj, in, serviceAccounts)
		case serviceKind:
			refusal = serviceIsolation(obj)
		case networkPolicyKind:
			refusal = networkPolicyIsolation(obj, in)
		case podDisruptionBudgetKind:
			refusal = budgetIsolation(obj, in)
		case autoscalerKind:
			refusal = autoscalerIsolation(obj, deploymentName)
		}
		if refusal != nil {
			return refusal
		}
	}
	return nil
}

// decode converts a rendered object to its API type. An object that does
// not decode cannot be checked, so it is refused; the API server would
// refuse it too.
func decode(obj *unstructured.Unstructured, into any) *RejectedError {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		return &RejectedError{Object: describe(obj), Reason: fmt.Sprintf(
			"it is not a valid %s %s: %v", obj.GetAPIVersion(), obj.GetKind(), err)}
	}
	return nil
}

// firstRefusal returns the first refusal of rules, run in order.
func firstRefusal(rules ...func() *RejectedError) *RejectedError {
	for _, rule := range rules {
		if refusal := rule(); refusal != nil {
			return refusal
		}
	}
	return nil
}

// --- Deployment: the team's pods ---

func deploymentIsolation(obj *unstructured.Unstructured, in Input, serviceAccounts []string) *RejectedError {
	var d appsv1.Deployment
	if refusal := decode(obj, &d); refusal != nil {
		return refusal
	}
	object, pod := describe(obj), &d.Spec.Template.Spec
	return firstRefusal(
		func() *RejectedError { return hostNamespaces(object, pod) },
		func() *RejectedError { return hostPorts(object, pod) },
		func() *RejectedError { return nodeName(object, pod) },
		func() *RejectedError { return hostPathVolumes(object, pod) },
		func() *RejectedError { return serviceAccountTokens(object, pod) },
		func() *RejectedError { return teamServiceAccount(object, pod, serviceAccounts) },
		func() *RejectedError { return allowedPriorityClass(object, pod, in.AllowedPriorityClasses) },
	)
}

// hostNamespaces refuses pods that share the node's network, process or IPC
// namespace: they would see, and be reachable as, the node itself, past the
// area's NetworkPolicies.
func hostNamespaces(object string, pod *corev1.PodSpec) *RejectedError {
	for _, host := range []struct {
		field string
		set   bool
		what  string
	}{
		{"hostNetwork", pod.HostNetwork, "the node's network, where the area's NetworkPolicies do not apply"},
		{"hostPID", pod.HostPID, "the node's processes, every tenant's included"},
		{"hostIPC", pod.HostIPC, "the node's shared memory, every tenant's included"},
	} {
		if host.set {
			return &RejectedError{Object: object, Field: podSpecField + "." + host.field, Reason: fmt.Sprintf(
				"the pods would share %s; remove %s", host.what, host.field)}
		}
	}
	return nil
}

// hostPorts refuses a hostPort on any container: it opens the port on the
// node's own address, outside the cluster network and its policies.
func hostPorts(object string, pod *corev1.PodSpec) *RejectedError {
	for _, c := range podContainers(pod) {
		for i, port := range c.ports {
			if port.HostPort != 0 {
				return &RejectedError{Object: object, Field: fmt.Sprintf("%s.ports[%d].hostPort", c.field, i), Reason: fmt.Sprintf(
					"container %q would listen on port %d of the node's own address, outside the area's NetworkPolicies; "+
						"remove hostPort and reach the pods through a ClusterIP Service", c.name, port.HostPort)}
			}
		}
	}
	return nil
}

// nodeName refuses pods bound to a node by name: that bypasses the
// scheduler, and with it the taints and quotas that keep tenants apart.
func nodeName(object string, pod *corev1.PodSpec) *RejectedError {
	if pod.NodeName == "" {
		return nil
	}
	return &RejectedError{Object: object, Field: podSpecField + ".nodeName", Reason: fmt.Sprintf(
		"the pods would be bound to node %q past the scheduler and its taints; remove nodeName", pod.NodeName)}
}

// hostPathVolumes refuses hostPath volumes: they give the pods the node's
// files, other tenants' and the kubelet's among them.
func hostPathVolumes(object string, pod *corev1.PodSpec) *RejectedError {
	for i, v := range pod.Volumes {
		if v.HostPath != nil {
			return &RejectedError{Object: object, Field: fmt.Sprintf("%s.volumes[%d].hostPath", podSpecField, i), Reason: fmt.Sprintf(
				"volume %q would mount %q from the node; use an emptyDir or a ConfigMap", v.Name, v.HostPath.Path)}
		}
	}
	return nil
}

// serviceAccountTokens refuses pods that get a Kubernetes API token: the
// team's service talks to no Kubernetes API, and a token would let it act
// with whatever the ServiceAccount is granted. The overlay sets
// automountServiceAccountToken to false on every render, so only a broken
// overlay fails the first check; a projected token is the blueprint's own.
func serviceAccountTokens(object string, pod *corev1.PodSpec) *RejectedError {
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		return &RejectedError{Object: object, Field: podSpecField + ".automountServiceAccountToken", Reason: "the pods would get " +
			"a Kubernetes API token; it must be false"}
	}
	for i, v := range pod.Volumes {
		if v.Projected == nil {
			continue
		}
		for j, source := range v.Projected.Sources {
			if source.ServiceAccountToken != nil {
				return &RejectedError{Object: object,
					Field: fmt.Sprintf("%s.volumes[%d].projected.sources[%d].serviceAccountToken", podSpecField, i, j),
					Reason: fmt.Sprintf("volume %q would give the pods a Kubernetes API token; "+
						"remove the serviceAccountToken source", v.Name)}
			}
		}
	}
	return nil
}

// teamServiceAccount refuses pods that run as a ServiceAccount other than
// the team's own. The team's own is one the render contains, whose name the
// overlay has prefixed with the team's; when the render contains none, it
// is the namespace's default (serviceAccountName unset), as for the custom
// blueprints that bring no ServiceAccount. Any other name is another team's
// identity, or one an area admin granted rights to.
func teamServiceAccount(object string, pod *corev1.PodSpec, serviceAccounts []string) *RejectedError {
	// serviceAccount is deprecated, but the API server still honours it.
	if deprecated := pod.DeprecatedServiceAccount; deprecated != "" && deprecated != pod.ServiceAccountName {
		return &RejectedError{Object: object, Field: podSpecField + ".serviceAccount", Reason: fmt.Sprintf(
			"the deprecated serviceAccount %q differs from serviceAccountName %q; remove it and use serviceAccountName",
			deprecated, pod.ServiceAccountName)}
	}
	name := cmp.Or(pod.ServiceAccountName, defaultServiceAccount)
	if len(serviceAccounts) == 0 && name == defaultServiceAccount || slices.Contains(serviceAccounts, name) {
		return nil
	}
	own := "the blueprint contains no ServiceAccount, so the pods must run as the namespace's default (leave serviceAccountName unset)"
	if len(serviceAccounts) > 0 {
		own = fmt.Sprintf("the pods must run as a ServiceAccount of the blueprint (%s after the team prefix)", strings.Join(serviceAccounts, ", "))
	}
	return &RejectedError{Object: object, Field: podSpecField + ".serviceAccountName", Reason: fmt.Sprintf(
		"ServiceAccount %q is not the team's own: %s", name, own)}
}

// allowedPriorityClass refuses a priority class the operator does not
// allow: a higher priority lets the team's pods preempt other tenants'.
func allowedPriorityClass(object string, pod *corev1.PodSpec, allowed []string) *RejectedError {
	if pod.PriorityClassName == "" || slices.Contains(allowed, pod.PriorityClassName) {
		return nil
	}
	allowedNow := "the operator allows none"
	if len(allowed) > 0 {
		allowedNow = "the operator allows only " + strings.Join(allowed, ", ")
	}
	return &RejectedError{Object: object, Field: podSpecField + ".priorityClassName", Reason: fmt.Sprintf(
		"priority class %q could let the pods preempt other tenants' and %s (--allowed-priority-classes); "+
			"remove priorityClassName or ask the cluster's operators to allow it", pod.PriorityClassName, allowedNow)}
}

// container is one container of a pod, of any of its three lists.
type container struct {
	field string // JSON path, such as spec.template.spec.initContainers[0]
	name  string
	ports []corev1.ContainerPort
}

// podContainers lists a pod's containers, init containers and ephemeral
// containers.
func podContainers(pod *corev1.PodSpec) []container {
	var out []container
	for i, c := range pod.Containers {
		out = append(out, container{fmt.Sprintf("%s.containers[%d]", podSpecField, i), c.Name, c.Ports})
	}
	for i, c := range pod.InitContainers {
		out = append(out, container{fmt.Sprintf("%s.initContainers[%d]", podSpecField, i), c.Name, c.Ports})
	}
	for i, c := range pod.EphemeralContainers {
		out = append(out, container{fmt.Sprintf("%s.ephemeralContainers[%d]", podSpecField, i), c.Name, c.Ports})
	}
	return out
}

// --- Service: reachable from inside the cluster only ---

func serviceIsolation(obj *unstructured.Unstructured) *RejectedError {
	var s corev1.Service
	if refusal := decode(obj, &s); refusal != nil {
		return refusal
	}
	object := describe(obj)
	return firstRefusal(
		func() *RejectedError { return clusterIPOnly(object, &s) },
		func() *RejectedError { return noExternalAddresses(object, &s) },
	)
}

// clusterIPOnly refuses every Service type but ClusterIP: a NodePort or
// LoadBalancer Service exposes the team outside the cluster, past the
// area's NetworkPolicies' intent, and an ExternalName one makes a name in
// the namespace resolve to any host.
func clusterIPOnly(object string, s *corev1.Service) *RejectedError {
	if s.Spec.Type == "" || s.Spec.Type == corev1.ServiceTypeClusterIP {
		return nil
	}
	return &RejectedError{Object: object, Field: "spec.type", Reason: fmt.Sprintf(
		"a %s Service would expose the team beyond the cluster's own network; use type ClusterIP "+
			"(clients outside the cluster come in through the area's ingress)", s.Spec.Type)}
}

// noExternalAddresses refuses the fields that give a Service an address or a
// port outside the cluster network, whatever its type says.
func noExternalAddresses(object string, s *corev1.Service) *RejectedError {
	for _, f := range []struct {
		field string
		set   bool
	}{
		{"spec.externalIPs", len(s.Spec.ExternalIPs) > 0},
		{"spec.externalName", s.Spec.ExternalName != ""},
		// loadBalancerIP is deprecated, but the API server still honours it.
		{"spec.loadBalancerIP", s.Spec.LoadBalancerIP != ""},
		{"spec.loadBalancerSourceRanges", len(s.Spec.LoadBalancerSourceRanges) > 0},
		{"spec.healthCheckNodePort", s.Spec.HealthCheckNodePort != 0},
	} {
		if f.set {
			return &RejectedError{Object: object, Field: f.field, Reason: "it would give the Service an address or port " +
				"outside the cluster network; remove it"}
		}
	}
	for i, p := range s.Spec.Ports {
		if p.NodePort != 0 {
			return &RejectedError{Object: object, Field: fmt.Sprintf("spec.ports[%d].nodePort", i), Reason: fmt.Sprintf(
				"port %d would be opened on every node of the cluster; remove nodePort", p.NodePort)}
		}
	}
	return nil
}

// --- NetworkPolicy: the team's pods, and no peer the area denies ---

func networkPolicyIsolation(obj *unstructured.Unstructured, in Input) *RejectedError {
	var np networkingv1.NetworkPolicy
	if refusal := decode(obj, &np); refusal != nil {
		return refusal
	}
	object := describe(obj)
	return firstRefusal(
		func() *RejectedError { return policySelectsTeam(object, &np, in) },
		func() *RejectedError { return ingressWithinArea(object, &np, in) },
		func() *RejectedError { return egressWithinArea(object, &np, in) },
	)
}

// policySelectsTeam refuses a NetworkPolicy that applies to pods other than
// the team's. NetworkPolicies are additive: one that selects another team's
// pods could open them to anything its rules admit. The overlay adds the
// team's labels to every podSelector, empty ones included, so only a
// broken overlay fails this.
func policySelectsTeam(object string, np *networkingv1.NetworkPolicy, in Input) *RejectedError {
	if selectsTeamPods(&np.Spec.PodSelector, in) {
		return nil
	}
	return &RejectedError{Object: object, Field: "spec.podSelector", Reason: "it would apply to pods of other teams; " +
		"it must select the team's pods (" + labelList(selectorLabels(in)) + ")"}
}

// ingressWithinArea refuses an ingress rule that admits a source the area's
// default-deny policies keep out. The area admits its own namespace and
// the namespaces of spec.tenancy.allowIngressFrom; a team policy admitting
// more would add to what the area allows, since policies are additive.
func ingressWithinArea(object string, np *networkingv1.NetworkPolicy, in Input) *RejectedError {
	for i, rule := range np.Spec.Ingress {
		field := fmt.Sprintf("spec.ingress[%d].from", i)
		if len(rule.From) == 0 {
			return &RejectedError{Object: object, Field: field, Reason: "an ingress rule without peers admits every source, " +
				"in the cluster and outside it; " + allowedIngress}
		}
		for j, peer := range rule.From {
			if refusal := ingressPeerWithinArea(object, fmt.Sprintf("%s[%d]", field, j), peer, in); refusal != nil {
				return refusal
			}
		}
	}
	return nil
}

const allowedIngress = "admit only pods of the team's namespace (a podSelector alone, or the namespaceSelector " +
	corev1.LabelMetadataName + ": <namespace>) and the namespaces of the area's spec.tenancy.allowIngressFrom " +
	"(their namespaceSelector exactly)"

func ingressPeerWithinArea(object, field string, peer networkingv1.NetworkPolicyPeer, in Input) *RejectedError {
	switch {
	case peer.IPBlock != nil:
		return &RejectedError{Object: object, Field: field + ".ipBlock", Reason: fmt.Sprintf(
			"ipBlock %s would admit addresses the area's policies deny; %s", peer.IPBlock.CIDR, allowedIngress)}
	case peer.NamespaceSelector == nil, isOwnNamespace(peer.NamespaceSelector, in.Namespace):
		return nil
	case slices.ContainsFunc(in.AllowIngressFrom, func(allowed metav1.LabelSelector) bool {
		return sameSelector(peer.NamespaceSelector, &allowed)
	}):
		return nil
	}
	return &RejectedError{Object: object, Field: field + ".namespaceSelector", Reason: fmt.Sprintf(
		"namespaces %s are not ones the area admits ingress from; %s", selectorString(peer.NamespaceSelector), allowedIngress)}
}

// egressWithinArea refuses an egress rule that lets the team's pods reach a
// destination beyond their own namespace, the cluster DNS and the peers the
// area allows.
func egressWithinArea(object string, np *networkingv1.NetworkPolicy, in Input) *RejectedError {
	for i, rule := range np.Spec.Egress {
		field := fmt.Sprintf("spec.egress[%d]", i)
		if len(rule.To) == 0 {
			return &RejectedError{Object: object, Field: field + ".to", Reason: "an egress rule without peers lets the pods reach " +
				"every destination, in the cluster and outside it; " + allowedEgress}
		}
		for j, peer := range rule.To {
			peerField := fmt.Sprintf("%s.to[%d]", field, j)
			if refusal := egressPeerWithinArea(object, peerField, peer, in); refusal != nil {
				return refusal
			}
			if samePeer(peer, ClusterDNSPeer()) && !areaAllowsEgressTo(peer, in) && !dnsPortsOnly(rule.Ports) {
				return &RejectedError{Object: object, Field: field + ".ports", Reason: fmt.Sprintf(
					"the cluster DNS peer (%s) is allowed on port %d (UDP or TCP) only; list those ports in the rule",
					peerField, clusterDNSPort)}
			}
		}
	}
	return nil
}

const allowedEgress = "allow only pods of the team's namespace (a podSelector alone, or the namespaceSelector " +
	corev1.LabelMetadataName + ": <namespace>), the cluster DNS (namespaceSelector " + corev1.LabelMetadataName + ": " +
	clusterDNSNamespace + " with podSelector " + clusterDNSPodLabel + ": " + clusterDNSPodLabelValue + ", port 53) " +
	"and the peers the area allows, written exactly as the area has them"

func egressPeerWithinArea(object, field string, peer networkingv1.NetworkPolicyPeer, in Input) *RejectedError {
	switch {
	case areaAllowsEgressTo(peer, in):
		return nil
	case peer.IPBlock != nil:
		return &RejectedError{Object: object, Field: field + ".ipBlock", Reason: fmt.Sprintf(
			"ipBlock %s is not a destination the area allows; %s", peer.IPBlock.CIDR, allowedEgress)}
	case peer.NamespaceSelector == nil, isOwnNamespace(peer.NamespaceSelector, in.Namespace), samePeer(peer, ClusterDNSPeer()):
		return nil
	}
	return &RejectedError{Object: object, Field: field + ".namespaceSelector", Reason: fmt.Sprintf(
		"namespaces %s are not a destination the area allows; %s", selectorString(peer.NamespaceSelector), allowedEgress)}
}

// areaAllowsEgressTo reports whether peer is one of the area's own egress
// peers, written exactly as the area has it.
func areaAllowsEgressTo(peer networkingv1.NetworkPolicyPeer, in Input) bool {
	return slices.ContainsFunc(in.AllowEgressTo, func(allowed networkingv1.NetworkPolicyPeer) bool {
		return samePeer(peer, allowed)
	})
}

// dnsPortsOnly reports whether ports are all port 53 over UDP or TCP. An
// empty list means every port.
func dnsPortsOnly(ports []networkingv1.NetworkPolicyPort) bool {
	if len(ports) == 0 {
		return false
	}
	for _, p := range ports {
		protocol := corev1.ProtocolTCP // the API's default
		if p.Protocol != nil {
			protocol = *p.Protocol
		}
		if p.Port == nil || *p.Port != intstr.FromInt32(clusterDNSPort) || p.EndPort != nil ||
			(protocol != corev1.ProtocolUDP && protocol != corev1.ProtocolTCP) {
			return false
		}
	}
	return true
}

// isOwnNamespace reports whether a namespace selector selects the team's
// namespace by the label the API server sets, and nothing else.
func isOwnNamespace(sel *metav1.LabelSelector, namespace string) bool {
	own := ownNamespaceSelector(namespace)
	return sameSelector(sel, &own)
}

// samePeer reports whether two peers select the same: equal selectors (nil
// and empty differ: a nil namespaceSelector means the policy's own
// namespace, an empty one every namespace) and equal ipBlocks.
func samePeer(a, b networkingv1.NetworkPolicyPeer) bool {
	return sameSelector(a.PodSelector, b.PodSelector) &&
		sameSelector(a.NamespaceSelector, b.NamespaceSelector) &&
		sameIPBlock(a.IPBlock, b.IPBlock)
}

// sameSelector compares two selectors by what they match: the same labels
// and expressions, in any order.
func sameSelector(a, b *metav1.LabelSelector) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	sa, errA := metav1.LabelSelectorAsSelector(a)
	sb, errB := metav1.LabelSelectorAsSelector(b)
	return errA == nil && errB == nil && sa.String() == sb.String()
}

func sameIPBlock(a, b *networkingv1.IPBlock) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.CIDR == b.CIDR && slices.Equal(a.Except, b.Except)
}

// selectorString shows a selector as kubectl's -l takes it; "{}" for one
// that matches everything.
func selectorString(sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return fmt.Sprintf("%v", *sel)
	}
	if s.Empty() {
		return "{} (all)"
	}
	return "{" + s.String() + "}"
}

// --- PodDisruptionBudget: the team's pods, and drains still possible ---

func budgetIsolation(obj *unstructured.Unstructured, in Input) *RejectedError {
	var pdb policyv1.PodDisruptionBudget
	if refusal := decode(obj, &pdb); refusal != nil {
		return refusal
	}
	object := describe(obj)
	return firstRefusal(
		func() *RejectedError { return budgetSelectsTeam(object, &pdb, in) },
		func() *RejectedError { return budgetAllowsDrain(object, &pdb) },
	)
}

// budgetSelectsTeam refuses a PodDisruptionBudget over pods other than the
// team's: it would hold up the eviction of other teams' pods. As for
// NetworkPolicies, the overlay adds the team's labels to an empty
// selector, so only a broken overlay fails this.
func budgetSelectsTeam(object string, pdb *policyv1.PodDisruptionBudget, in Input) *RejectedError {
	if selectsTeamPods(pdb.Spec.Selector, in) {
		return nil
	}
	return &RejectedError{Object: object, Field: "spec.selector", Reason: "it would apply to pods of other teams; " +
		"it must select the team's pods (" + labelList(selectorLabels(in)) + ")"}
}

// budgetAllowsDrain refuses a budget that never allows an eviction: it
// would block every node drain, and with it the cluster's upgrades.
func budgetAllowsDrain(object string, pdb *policyv1.PodDisruptionBudget) *RejectedError {
	if v := pdb.Spec.MaxUnavailable; v != nil {
		n, err := intstr.GetScaledValueFromIntOrPercent(v, 100, true)
		switch {
		case err != nil:
			return &RejectedError{Object: object, Field: "spec.maxUnavailable", Reason: fmt.Sprintf(
				"%q is neither a number nor a percentage: %v", v.String(), err)}
		case n == 0:
			return &RejectedError{Object: object, Field: "spec.maxUnavailable", Reason: fmt.Sprintf(
				"maxUnavailable %s allows no eviction, so it would block every node drain; allow at least one pod to go", v.String())}
		}
	}
	if v := pdb.Spec.MinAvailable; v != nil && v.Type == intstr.String {
		n, err := intstr.GetScaledValueFromIntOrPercent(v, 100, true)
		switch {
		case err != nil:
			return &RejectedError{Object: object, Field: "spec.minAvailable", Reason: fmt.Sprintf(
				"%q is neither a number nor a percentage: %v", v.String(), err)}
		case n >= 100:
			return &RejectedError{Object: object, Field: "spec.minAvailable", Reason: fmt.Sprintf(
				"minAvailable %s allows no eviction, so it would block every node drain; use a lower share or a number of pods", v.String())}
		}
	}
	return nil
}

// selectsTeamPods reports whether a selector requires the team's selector
// labels, so that it matches the team's pods and no one else's.
// matchExpressions can only narrow it further.
func selectsTeamPods(sel *metav1.LabelSelector, in Input) bool {
	if sel == nil {
		return false
	}
	for k, v := range selectorLabels(in) {
		if sel.MatchLabels[k] != v {
			return false
		}
	}
	return true
}

func labelList(labels map[string]string) string {
	pairs := make([]string, 0, len(labels))
	for _, k := range sortedKeys(labels) {
		pairs = append(pairs, k+"="+labels[k])
	}
	return strings.Join(pairs, ", ")
}

// --- HorizontalPodAutoscaler: the team's Deployment ---

func autoscalerIsolation(obj *unstructured.Unstructured, deploymentName string) *RejectedError {
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if refusal := decode(obj, &hpa); refusal != nil {
		return refusal
	}
	return autoscalerTargetsTeam(describe(obj), &hpa, deploymentName)
}

// autoscalerTargetsTeam refuses an autoscaler of anything but the team's
// own Deployment: it would scale another team's workload, or anything with
// a scale subresource, with the operator's rights.
func autoscalerTargetsTeam(object string, hpa *autoscalingv2.HorizontalPodAutoscaler, deploymentName string) *RejectedError {
	ref := hpa.Spec.ScaleTargetRef
	want := fmt.Sprintf("it must scale the team's Deployment: apiVersion %s, kind %s, name %q "+
		"(a reference to the blueprint's own Deployment gets the team prefix too)",
		deploymentKind.GroupVersion(), deploymentKind.Kind, deploymentName)
	switch {
	case ref.APIVersion != deploymentKind.GroupVersion().String():
		return &RejectedError{Object: object, Field: "spec.scaleTargetRef.apiVersion", Reason: fmt.Sprintf(
			"apiVersion %q is not the team's Deployment's; %s", ref.APIVersion, want)}
	case ref.Kind != deploymentKind.Kind:
		return &RejectedError{Object: object, Field: "spec.scaleTargetRef.kind", Reason: fmt.Sprintf(
			"kind %q is not the team's Deployment; %s", ref.Kind, want)}
	case ref.Name != deploymentName:
		return &RejectedError{Object: object, Field: "spec.scaleTargetRef.name", Reason: fmt.Sprintf(
			"%q is not the team's Deployment; %s", ref.Name, want)}
	}
	return nil
}

// --- helpers ---

// namesOfKind returns the names of the render's objects of a kind.
func namesOfKind(objects []*unstructured.Unstructured, kind string) []string {
	var names []string
	for _, obj := range objects {
		if obj.GetKind() == kind {
			names = append(names, obj.GetName())
		}
	}
	return names
}
