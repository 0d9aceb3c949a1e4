package blueprint

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Objects of the test blueprints, as the rejections name them.
const (
	webDeployment = `Deployment "mhst-leeds/leeds-north-web"`
	webService    = `Service "mhst-leeds/leeds-north-web"`
	webPolicy     = `NetworkPolicy "mhst-leeds/leeds-north-web"`
	webBudget     = `PodDisruptionBudget "mhst-leeds/leeds-north-web"`
	webAutoscaler = `HorizontalPodAutoscaler "mhst-leeds/leeds-north-web"`
)

// withPodSpec returns customFiles with lines (indented for the pod spec)
// added to the Deployment's pod spec.
func withPodSpec(lines string) map[string]string {
	return withDeploymentEdit("      containers:\n", lines+"      containers:\n")
}

// withDeploymentEdit returns customFiles with old replaced by new in the
// Deployment.
func withDeploymentEdit(old, new string) map[string]string {
	files := customFiles()
	if !strings.Contains(files["deployment.yaml"], old) {
		panic("the test Deployment has no " + old)
	}
	files["deployment.yaml"] = strings.Replace(files["deployment.yaml"], old, new, 1)
	return files
}

// withSidecarPorts gives the Deployment's metrics sidecar these ports.
func withSidecarPorts(ports string) map[string]string {
	return withDeploymentEdit("        image: registry.example/metrics:2\n", "        image: registry.example/metrics:2\n        ports:\n"+ports)
}

// withAutoscalerTarget returns customFiles with the HPA's scaleTargetRef
// replaced.
func withAutoscalerTarget(ref string) map[string]string {
	files := customFiles()
	old := "  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web\n"
	files["hpa.yaml"] = strings.Replace(files["hpa.yaml"], old, "  scaleTargetRef: "+ref+"\n", 1)
	return files
}

// withService adds a Service "web" with the given spec lines.
func withService(spec string) map[string]string {
	return withResource("service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n"+spec)
}

// withPolicy adds a NetworkPolicy "web" for the blueprint's pods with the
// given spec lines.
func withPolicy(spec string) map[string]string {
	return withResource("policy.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\n"+
		"spec:\n  podSelector: {matchLabels: {app: web}}\n"+spec)
}

// withBudget adds a PodDisruptionBudget "web" with the given spec lines.
func withBudget(spec string) map[string]string {
	return withResource("pdb.yaml", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n"+
		"spec:\n  selector: {matchLabels: {app: web}}\n"+spec)
}

const httpPort = "  ports:\n  - {name: http, port: 80, targetPort: http}\n"

// dnsEgress is the cluster DNS peer as a blueprint writes it.
const dnsEgress = "  - to:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n" +
	"      podSelector: {matchLabels: {k8s-app: kube-dns}}\n"

// TestRenderRefusesIsolationBreaches has one case per isolation rule. Each
// blueprint built and was applied before the rules existed.
func TestRenderRefusesIsolationBreaches(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		edit       func(*Input)
		wantObject string
		wantField  string
		wantReason string
	}{
		// Services reachable from outside the cluster.
		{name: "NodePort Service", files: withService("  type: NodePort\n" + httpPort),
			wantObject: webService, wantField: "spec.type", wantReason: "NodePort"},
		{name: "LoadBalancer Service", files: withService("  type: LoadBalancer\n" + httpPort),
			wantObject: webService, wantField: "spec.type", wantReason: "LoadBalancer"},
		{name: "ExternalName Service", files: withService("  type: ExternalName\n  externalName: db.example.org\n"),
			wantObject: webService, wantField: "spec.type", wantReason: "ExternalName"},
		{name: "externalIPs", files: withService("  externalIPs: [203.0.113.10]\n" + httpPort),
			wantObject: webService, wantField: "spec.externalIPs", wantReason: "outside the cluster network"},
		{name: "externalName on a ClusterIP Service", files: withService("  externalName: db.example.org\n" + httpPort),
			wantObject: webService, wantField: "spec.externalName", wantReason: "outside the cluster network"},
		{name: "loadBalancerIP", files: withService("  loadBalancerIP: 203.0.113.10\n" + httpPort),
			wantObject: webService, wantField: "spec.loadBalancerIP", wantReason: "outside the cluster network"},
		{name: "loadBalancerSourceRanges", files: withService("  loadBalancerSourceRanges: [0.0.0.0/0]\n" + httpPort),
			wantObject: webService, wantField: "spec.loadBalancerSourceRanges", wantReason: "outside the cluster network"},
		{name: "healthCheckNodePort", files: withService("  healthCheckNodePort: 30999\n" + httpPort),
			wantObject: webService, wantField: "spec.healthCheckNodePort", wantReason: "outside the cluster network"},
		{name: "nodePort on a ClusterIP Service", files: withService("  ports:\n  - {name: http, port: 80, targetPort: http, nodePort: 30080}\n"),
			wantObject: webService, wantField: "spec.ports[0].nodePort", wantReason: "every node"},

		// Selectors beyond the team.
		{name: "autoscaler of another team's Deployment", files: withAutoscalerTarget("{apiVersion: apps/v1, kind: Deployment, name: leeds-south-web}"),
			wantObject: webAutoscaler, wantField: "spec.scaleTargetRef.name", wantReason: `"leeds-south-web" is not the team's Deployment`},
		{name: "autoscaler of another kind", files: withAutoscalerTarget("{apiVersion: apps/v1, kind: StatefulSet, name: web}"),
			wantObject: webAutoscaler, wantField: "spec.scaleTargetRef.kind", wantReason: `"StatefulSet"`},
		{name: "autoscaler of another API group", files: withAutoscalerTarget("{apiVersion: example.com/v1, kind: Deployment, name: web}"),
			wantObject: webAutoscaler, wantField: "spec.scaleTargetRef.apiVersion", wantReason: `"example.com/v1"`},

		// Budgets that block every drain.
		{name: "maxUnavailable 0", files: withBudget("  maxUnavailable: 0\n"),
			wantObject: webBudget, wantField: "spec.maxUnavailable", wantReason: "block every node drain"},
		{name: "maxUnavailable 0%", files: withBudget("  maxUnavailable: 0%\n"),
			wantObject: webBudget, wantField: "spec.maxUnavailable", wantReason: "block every node drain"},
		{name: "minAvailable 100%", files: withBudget("  minAvailable: 100%\n"),
			wantObject: webBudget, wantField: "spec.minAvailable", wantReason: "block every node drain"},

		// Ingress the area denies.
		{name: "ingress from an ipBlock", files: withPolicy("  ingress:\n  - from:\n    - ipBlock: {cidr: 0.0.0.0/0}\n"),
			wantObject: webPolicy, wantField: "spec.ingress[0].from[0].ipBlock", wantReason: "0.0.0.0/0"},
		{name: "ingress from every namespace", files: withPolicy("  ingress:\n  - from:\n    - namespaceSelector: {}\n"),
			wantObject: webPolicy, wantField: "spec.ingress[0].from[0].namespaceSelector", wantReason: "{} (all)"},
		{name: "ingress from a namespace the area does not admit",
			files:      withPolicy("  ingress:\n  - from:\n    - podSelector: {}\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: mhst-york}}\n"),
			wantObject: webPolicy, wantField: "spec.ingress[0].from[1].namespaceSelector", wantReason: "kubernetes.io/metadata.name=mhst-york"},
		{name: "ingress rule without from", files: withPolicy("  ingress:\n  - ports: [{port: 8080}]\n"),
			wantObject: webPolicy, wantField: "spec.ingress[0].from", wantReason: "every source"},
		{name: "ingress from the area's namespaces once allowIngressFrom no longer has them",
			files:      withPolicy("  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}\n"),
			edit:       func(in *Input) { in.AllowIngressFrom = nil },
			wantObject: webPolicy, wantField: "spec.ingress[0].from[0].namespaceSelector", wantReason: "ingress-nginx"},

		// Egress the area denies.
		{name: "egress rule without to", files: withPolicy("  policyTypes: [Egress]\n  egress:\n  - ports: [{port: 443}]\n"),
			wantObject: webPolicy, wantField: "spec.egress[0].to", wantReason: "every destination"},
		{name: "egress to an ipBlock", files: withPolicy("  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock: {cidr: 0.0.0.0/0}\n"),
			wantObject: webPolicy, wantField: "spec.egress[0].to[0].ipBlock", wantReason: "0.0.0.0/0"},
		{name: "egress to another namespace",
			files:      withPolicy("  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: mhst-york}}\n"),
			wantObject: webPolicy, wantField: "spec.egress[0].to[0].namespaceSelector", wantReason: "mhst-york"},
		{name: "egress to the cluster DNS on every port", files: withPolicy("  policyTypes: [Egress]\n  egress:\n" + dnsEgress),
			wantObject: webPolicy, wantField: "spec.egress[0].ports", wantReason: "port 53"},
		{name: "egress to kube-system pods that are not the DNS",
			files:      withPolicy("  policyTypes: [Egress]\n  egress:\n" + strings.Replace(dnsEgress, "kube-dns", "metrics-server", 1)),
			wantObject: webPolicy, wantField: "spec.egress[0].to[0].namespaceSelector", wantReason: "kube-system"},
		{name: "egress to a peer the area allows, written differently",
			files: withPolicy("  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.20.0.0/16}\n"),
			edit: func(in *Input) {
				in.AllowEgressTo = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.20.0.0/24"}}}
			},
			wantObject: webPolicy, wantField: "spec.egress[0].to[0].ipBlock", wantReason: "10.20.0.0/16"},

		// The node's namespaces, ports and files.
		{name: "hostNetwork", files: withPodSpec("      hostNetwork: true\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.hostNetwork", wantReason: "node's network"},
		{name: "hostPID", files: withPodSpec("      hostPID: true\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.hostPID", wantReason: "node's processes"},
		{name: "hostIPC", files: withPodSpec("      hostIPC: true\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.hostIPC", wantReason: "node's shared memory"},
		{name: "hostPort on a sidecar", files: withSidecarPorts("        - {containerPort: 9100, hostPort: 9100}\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.containers[1].ports[0].hostPort", wantReason: `"metrics-sidecar"`},
		{name: "hostPort on an init container",
			files:      withPodSpec("      initContainers:\n      - name: init\n        image: busybox\n        ports:\n        - {containerPort: 80}\n        - {containerPort: 81, hostPort: 81}\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.initContainers[0].ports[1].hostPort", wantReason: `"init"`},
		{name: "hostPort on an ephemeral container",
			files:      withPodSpec("      ephemeralContainers:\n      - name: debug\n        image: busybox\n        ports:\n        - {containerPort: 22, hostPort: 2222}\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.ephemeralContainers[0].ports[0].hostPort", wantReason: `"debug"`},
		{name: "nodeName", files: withPodSpec("      nodeName: node-1\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.nodeName", wantReason: `"node-1"`},
		{name: "hostPath volume", files: withPodSpec("      volumes:\n      - {name: tmp, emptyDir: {}}\n      - name: root\n        hostPath: {path: /}\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.volumes[1].hostPath", wantReason: `"root"`},

		// Identity: another ServiceAccount, or a token.
		{name: "projected service account token",
			files:      withPodSpec("      volumes:\n      - name: token\n        projected:\n          sources:\n          - configMap: {name: config}\n          - serviceAccountToken: {path: token}\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.volumes[0].projected.sources[1].serviceAccountToken", wantReason: "token"},
		{name: "another team's ServiceAccount", files: withPodSpec("      serviceAccountName: leeds-south-service\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.serviceAccountName", wantReason: `"leeds-south-service" is not the team's own`},
		{name: "the namespace's default ServiceAccount beside the blueprint's own",
			files: func() map[string]string {
				f := withResource("sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n")
				f["deployment.yaml"] = strings.Replace(f["deployment.yaml"], "      containers:\n", "      serviceAccountName: default\n      containers:\n", 1)
				return f
			}(),
			wantObject: webDeployment, wantField: "spec.template.spec.serviceAccountName", wantReason: "leeds-north-web"},
		{name: "deprecated serviceAccount field", files: withPodSpec("      serviceAccount: leeds-south-service\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.serviceAccount", wantReason: "serviceAccountName"},

		// Priority.
		{name: "priority class while none is allowed", files: withPodSpec("      priorityClassName: system-cluster-critical\n"),
			wantObject: webDeployment, wantField: "spec.template.spec.priorityClassName", wantReason: "allows none"},
		{name: "priority class outside the allowlist", files: withPodSpec("      priorityClassName: system-node-critical\n"),
			edit:       func(in *Input) { in.AllowedPriorityClasses = []string{"mhst-standard", "mhst-high"} },
			wantObject: webDeployment, wantField: "spec.template.spec.priorityClassName", wantReason: "mhst-standard, mhst-high"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := teamInput()
			in.CustomFiles = tt.files
			if tt.edit != nil {
				tt.edit(&in)
			}
			out, err := Render(in)
			var rejected *RejectedError
			if !errors.As(err, &rejected) {
				t.Fatalf("Render = %v, %v; want a *RejectedError", out, err)
			}
			if out != nil {
				t.Error("a rejected render returned objects")
			}
			if rejected.Object != tt.wantObject || rejected.Field != tt.wantField {
				t.Errorf("refused %s field %q, want %s field %q (%v)", rejected.Object, rejected.Field, tt.wantObject, tt.wantField, err)
			}
			if !strings.Contains(rejected.Reason, tt.wantReason) {
				t.Errorf("Reason = %q, want it to mention %q", rejected.Reason, tt.wantReason)
			}
			if want := tt.wantObject + " is not allowed: " + tt.wantField + ": "; !strings.HasPrefix(rejected.Error(), want) {
				t.Errorf("Error() = %q, want it to start with %q", rejected.Error(), want)
			}
		})
	}
}

// TestRenderAcceptsWhatTheAreaAllows: the rules refuse what breaks the
// area's isolation, not what stays within it.
func TestRenderAcceptsWhatTheAreaAllows(t *testing.T) {
	allowedEgress := networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "nhs-spine-proxy"}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "proxy"}},
	}
	tests := []struct {
		name  string
		files map[string]string
		edit  func(*Input)
	}{
		{name: "headless ClusterIP Service", files: withService("  type: ClusterIP\n  clusterIP: None\n" + httpPort)},
		{name: "ingress from the team's namespace and the area's allowIngressFrom, written in any order",
			files: withPolicy("  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: web}}\n" +
				"    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: mhst-leeds}}\n      podSelector: {}\n" +
				"    - namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [monitoring]}]}\n" +
				"      podSelector: {matchLabels: {app: prometheus}}\n" +
				"    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}\n")},
		{name: "egress to the team's namespace, the cluster DNS on port 53 and a peer the area allows",
			files: withPolicy("  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{podSelector: {}}]\n  egress:\n" +
				"  - to: [{podSelector: {}}]\n" + dnsEgress + "    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]\n" +
				"  - to:\n    - podSelector: {matchLabels: {app: proxy}}\n      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: nhs-spine-proxy}}\n"),
			edit: func(in *Input) { in.AllowEgressTo = []networkingv1.NetworkPolicyPeer{allowedEgress} }},
		{name: "budgets that let drains through",
			files: func() map[string]string {
				f := withBudget("  maxUnavailable: 25%\n")
				f["pdb-min.yaml"] = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: min\nspec:\n  minAvailable: 50%\n"
				f["pdb-one.yaml"] = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: one\nspec:\n  minAvailable: 1\n"
				f["kustomization.yaml"] += "- pdb-min.yaml\n- pdb-one.yaml\n"
				return f
			}()},
		{name: "the blueprint's own ServiceAccount",
			files: func() map[string]string {
				f := withResource("sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\nautomountServiceAccountToken: false\n")
				f["deployment.yaml"] = strings.Replace(f["deployment.yaml"], "      containers:\n", "      serviceAccountName: web\n      containers:\n", 1)
				return f
			}()},
		{name: "the namespace's default ServiceAccount, named", files: withPodSpec("      serviceAccountName: default\n")},
		{name: "an allowed priority class", files: withPodSpec("      priorityClassName: mhst-high\n"),
			edit: func(in *Input) { in.AllowedPriorityClasses = []string{"mhst-standard", "mhst-high"} }},
		{name: "projected volume without a token",
			files: withPodSpec("      volumes:\n      - name: settings\n        projected:\n          sources:\n          - configMap: {name: config}\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := teamInput()
			in.CustomFiles = tt.files
			if tt.edit != nil {
				tt.edit(&in)
			}
			mustRender(t, in)
		})
	}
}

// TestRenderBuiltinPassesIsolation renders the built-in blueprint with and
// without its PodDisruptionBudget and with the narrowest Input: it must
// need nothing the rules refuse.
func TestRenderBuiltinPassesIsolation(t *testing.T) {
	for _, replicas := range []int32{1, 3} {
		in := teamInput()
		in.Spec.Service.Replicas = ptr(replicas)
		in.AllowIngressFrom = nil
		mustRender(t, in)
	}
}

// The overlay makes every NetworkPolicy and PodDisruptionBudget select the
// team's pods: it adds the team's labels to empty selectors instead of
// refusing them. Before, kustomize's includeSelectors left an empty
// selector selecting every pod of the namespace.
func TestRenderAddsTeamLabelsToEmptySelectors(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		selector func(t *testing.T, out *Output) *metav1.LabelSelector
	}{
		{name: "NetworkPolicy podSelector {}", resource: "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" +
			"metadata:\n  name: deny-all\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n",
			selector: policySelector},
		{name: "NetworkPolicy podSelector with matchExpressions only", resource: "apiVersion: networking.k8s.io/v1\n" +
			"kind: NetworkPolicy\nmetadata:\n  name: web\nspec:\n  podSelector:\n    matchExpressions: [{key: app, operator: Exists}]\n",
			selector: policySelector},
		{name: "NetworkPolicy without podSelector", resource: "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" +
			"metadata:\n  name: deny-all\nspec:\n  policyTypes: [Ingress]\n",
			selector: policySelector},
		{name: "PodDisruptionBudget selector {}", resource: "apiVersion: policy/v1\nkind: PodDisruptionBudget\n" +
			"metadata:\n  name: web\nspec:\n  maxUnavailable: 1\n  selector: {}\n",
			selector: budgetSelector},
		{name: "PodDisruptionBudget without selector", resource: "apiVersion: policy/v1\nkind: PodDisruptionBudget\n" +
			"metadata:\n  name: web\nspec:\n  maxUnavailable: 1\n",
			selector: budgetSelector},
	}
	want := map[string]string{
		mhstv1alpha1.LabelArea:      testArea,
		mhstv1alpha1.LabelTeam:      testTeam,
		mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := teamInput()
			in.CustomFiles = withResource("extra.yaml", tt.resource)
			sel := tt.selector(t, mustRender(t, in))
			if sel == nil {
				t.Fatal("no selector rendered")
			}
			assertLabels(t, "selector", sel.MatchLabels, want)
		})
	}
}

func policySelector(t *testing.T, out *Output) *metav1.LabelSelector {
	var np networkingv1.NetworkPolicy
	typed(t, out, "NetworkPolicy", &np)
	return &np.Spec.PodSelector
}

func budgetSelector(t *testing.T, out *Output) *metav1.LabelSelector {
	var pdb policyv1.PodDisruptionBudget
	typed(t, out, "PodDisruptionBudget", &pdb)
	return pdb.Spec.Selector
}

// NetworkPolicy peers are left as written: kustomize's includeSelectors
// used to add the team's labels to a peer's podSelector even beside a
// namespaceSelector, so that the cluster DNS peer matched no pod at all.
func TestRenderLeavesPolicyPeersAsWritten(t *testing.T) {
	in := teamInput()
	in.CustomFiles = withPolicy("  policyTypes: [Egress]\n  egress:\n" + dnsEgress + "    ports: [{port: 53, protocol: UDP}]\n" +
		"  - to: [{podSelector: {matchLabels: {app: db}}}]\n")
	var np networkingv1.NetworkPolicy
	typed(t, mustRender(t, in), "NetworkPolicy", &np)
	if got := np.Spec.Egress[0].To[0]; !reflect.DeepEqual(got, ClusterDNSPeer()) {
		t.Errorf("DNS peer rendered as %+v, want %+v", got, ClusterDNSPeer())
	}
	if got := np.Spec.Egress[1].To[0].PodSelector.MatchLabels; !reflect.DeepEqual(got, map[string]string{"app": "db"}) {
		t.Errorf("same-namespace peer rendered as %v, want app=db only", got)
	}
}

// The overlay turns the pods' service account token off whatever the
// blueprint says, rather than refusing blueprints that leave it on (most
// do not set it).
func TestRenderTurnsServiceAccountTokenOff(t *testing.T) {
	for _, files := range []map[string]string{customFiles(), withPodSpec("      automountServiceAccountToken: true\n")} {
		in := teamInput()
		in.CustomFiles = files
		var d appsv1.Deployment
		typed(t, mustRender(t, in), "Deployment", &d)
		if got := d.Spec.Template.Spec.AutomountServiceAccountToken; got == nil || *got {
			t.Errorf("automountServiceAccountToken = %v, want false", got)
		}
	}
}

// The overlay guarantees what these rules check, so no render reaches them;
// they are tested on objects as a broken overlay would leave them.
func TestIsolationRulesTheOverlayGuarantees(t *testing.T) {
	in := teamInput()
	team := selectorLabels(in)
	others := map[string]string{"app": "web"}

	tests := []struct {
		name      string
		refusal   *RejectedError
		wantField string // empty: accepted
	}{
		{name: "policy over the team's pods",
			refusal: policySelectsTeam("np", &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: team}}}, in)},
		{name: "policy over every pod",
			refusal:   policySelectsTeam("np", &networkingv1.NetworkPolicy{}, in),
			wantField: "spec.podSelector"},
		{name: "policy over pods that are not only the team's",
			refusal: policySelectsTeam("np", &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: others}}}, in),
			wantField: "spec.podSelector"},
		{name: "budget over the team's pods",
			refusal: budgetSelectsTeam("pdb", &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: team}}}, in)},
		{name: "budget without selector",
			refusal:   budgetSelectsTeam("pdb", &policyv1.PodDisruptionBudget{}, in),
			wantField: "spec.selector"},
		{name: "budget over every pod",
			refusal:   budgetSelectsTeam("pdb", &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{}}}, in),
			wantField: "spec.selector"},
		{name: "token off",
			refusal: serviceAccountTokens("d", &corev1.PodSpec{AutomountServiceAccountToken: ptr(false)})},
		{name: "token unset",
			refusal:   serviceAccountTokens("d", &corev1.PodSpec{}),
			wantField: "spec.template.spec.automountServiceAccountToken"},
		{name: "token on",
			refusal:   serviceAccountTokens("d", &corev1.PodSpec{AutomountServiceAccountToken: ptr(true)}),
			wantField: "spec.template.spec.automountServiceAccountToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch {
			case tt.wantField == "" && tt.refusal != nil:
				t.Errorf("refused: %v", tt.refusal)
			case tt.wantField != "" && tt.refusal == nil:
				t.Errorf("accepted, want %s refused", tt.wantField)
			case tt.wantField != "" && tt.refusal.Field != tt.wantField:
				t.Errorf("refused field %q, want %q", tt.refusal.Field, tt.wantField)
			}
		})
	}
}

func TestDNSPortsOnly(t *testing.T) {
	udp, tcp, sctp := corev1.ProtocolUDP, corev1.ProtocolTCP, corev1.ProtocolSCTP
	port := func(p intstr.IntOrString, protocol *corev1.Protocol) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Port: &p, Protocol: protocol}
	}
	tests := []struct {
		name  string
		ports []networkingv1.NetworkPolicyPort
		want  bool
	}{
		{"no ports: every port", nil, false},
		{"53 UDP and TCP", []networkingv1.NetworkPolicyPort{port(intstr.FromInt32(53), &udp), port(intstr.FromInt32(53), &tcp)}, true},
		{"53, protocol defaulted to TCP", []networkingv1.NetworkPolicyPort{port(intstr.FromInt32(53), nil)}, true},
		{"53 SCTP", []networkingv1.NetworkPolicyPort{port(intstr.FromInt32(53), &sctp)}, false},
		{"53 and 9153", []networkingv1.NetworkPolicyPort{port(intstr.FromInt32(53), &udp), port(intstr.FromInt32(9153), &tcp)}, false},
		{"named port", []networkingv1.NetworkPolicyPort{port(intstr.FromString("dns"), &udp)}, false},
		{"range from 53", []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromInt32(53)), EndPort: ptr(int32(1000))}}, false},
		{"protocol only: every port", []networkingv1.NetworkPolicyPort{{Protocol: &udp}}, false},
	}
	for _, tt := range tests {
		if got := dnsPortsOnly(tt.ports); got != tt.want {
			t.Errorf("%s: dnsPortsOnly = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRejectedErrorNamesObjectAndField(t *testing.T) {
	tests := []struct {
		err  RejectedError
		want string
	}{
		{RejectedError{Object: webService, Field: "spec.type", Reason: "use ClusterIP"},
			`Service "mhst-leeds/leeds-north-web" is not allowed: spec.type: use ClusterIP`},
		{RejectedError{Object: webService, Reason: "no such kind"}, `Service "mhst-leeds/leeds-north-web" is not allowed: no such kind`},
		{RejectedError{Reason: "no Deployment"}, "blueprint rejected: no Deployment"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
