package blueprint

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Names the overlay relies on in a blueprint. The built-in blueprint uses
// them; docs/blueprints.md asks custom blueprints to.
const (
	// serviceContainer is the Deployment's container that runs the team's
	// image; the overlay sets its image, its "http" port and its resources.
	serviceContainer = "service"
	// servicePortName names the container port the probes, the Service's
	// targetPort and anything else refer to, so that they follow
	// spec.service.port without being patched one by one.
	servicePortName = "http"
	// ingressPolicy is the NetworkPolicy whose ingress peers the overlay
	// sets. Other NetworkPolicies of a custom blueprint are left as written.
	ingressPolicy = "service"
	// namespaceTransformerFile configures the overlay's namespace transformer.
	namespaceTransformerFile = "namespace.yaml"
)

// overlayFiles returns the files of the team's overlay, keyed by name.
func overlayFiles(in Input, builtin bool) (map[string][]byte, error) {
	k, err := overlayKustomization(in, builtin)
	if err != nil {
		return nil, err
	}
	kust, err := yaml.Marshal(k)
	if err != nil {
		return nil, fmt.Errorf("marshal overlay kustomization: %w", err)
	}
	ns, err := yaml.Marshal(namespaceTransformer(in.Namespace))
	if err != nil {
		return nil, fmt.Errorf("marshal namespace transformer: %w", err)
	}
	return map[string][]byte{"kustomization.yaml": kust, namespaceTransformerFile: ns}, nil
}

// overlayKustomization is the per-team kustomization applied on top of the
// blueprint.
func overlayKustomization(in Input, builtin bool) (*types.Kustomization, error) {
	deployment, err := deploymentPatch(in.Spec)
	if err != nil {
		return nil, err
	}
	policy, err := networkPolicyPatch(in)
	if err != nil {
		return nil, err
	}
	k := &types.Kustomization{
		TypeMeta:   types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
		Resources:  []string{"../" + blueprintDir},
		NamePrefix: in.TeamName + "-",
		Labels:     teamLabels(in),
		ConfigMapGenerator: []types.ConfigMapArgs{{GeneratorArgs: types.GeneratorArgs{
			Name:          configMapName,
			KvPairSources: types.KvPairSources{LiteralSources: literals(teamConfig(in))},
		}}},
		Patches: []types.Patch{
			{Patch: deployment, Target: &types.Selector{ResId: resid.ResId{Gvk: resid.Gvk{Kind: "Deployment"}}}},
			{Patch: policy, Target: &types.Selector{ResId: resid.ResId{
				Gvk: resid.Gvk{Kind: "NetworkPolicy"}, Name: ingressPolicy}}},
		},
		Transformers: []string{namespaceTransformerFile},
	}
	// With one replica, a PodDisruptionBudget of minAvailable 1 would block
	// every node drain; with none it protects nothing.
	if builtin && replicas(in.Spec) > 1 {
		k.Components = []string{"../" + pdbDir}
	}
	return k, nil
}

// teamLabels are the labels of every object. Area, team and managed-by
// (selectorLabels) are also put on pods and on the selectors listed in
// teamSelectorFields, so that the team's selectors are unique in the
// namespace; they never change for a team, which matters because a
// Deployment's selector is immutable. The wave can change, so it is on the
// objects only, where changing it neither breaks the selector nor rolls the
// pods.
func teamLabels(in Input) []types.Label {
	return []types.Label{
		{
			Pairs:            selectorLabels(in),
			IncludeTemplates: true,
			FieldSpecs:       teamSelectorFields,
		},
		{Pairs: map[string]string{mhstv1alpha1.LabelWave: strconv.Itoa(int(in.Wave))}},
	}
}

// selectorLabels are the labels that tell the team's pods from every other
// pod of the namespace. The overlay puts them on the team's pods and
// selectors; validation requires them on the selectors that must select
// the team's pods only.
func selectorLabels(in Input) map[string]string {
	return map[string]string{
		mhstv1alpha1.LabelArea:      in.AreaName,
		mhstv1alpha1.LabelTeam:      in.TeamName,
		mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue,
	}
}

// teamSelectorFields are the selectors the team's labels are added to.
//
// They are listed here instead of taken from kustomize's includeSelectors,
// which differs on two points that matter for isolation:
//
//   - includeSelectors adds the labels to a NetworkPolicy's podSelector and
//     a PodDisruptionBudget's selector only when they already have
//     matchLabels, so an empty selector ({}, or matchExpressions only)
//     would go on selecting every pod of the namespace, other teams'
//     included. Here they are created ("create: true"): the overlay ADDS
//     the team's labels to empty selectors, and a blueprint's "podSelector:
//     {}" means "all of this team's pods". Validation then refuses any such
//     selector without them (see policySelectsTeam), which only a broken
//     overlay could render.
//   - includeSelectors also adds them to the podSelectors of NetworkPolicy
//     peers (spec.ingress[].from[], spec.egress[].to[]). A peer that pairs
//     a podSelector with a namespaceSelector selects pods of other
//     namespaces, which never carry the team's labels: the cluster DNS
//     peer, or a peer the area allows, would select nothing. Peers are
//     therefore left as written. A peer without a namespaceSelector selects
//     pods of the team's namespace, which the area admits anyway.
//
// The Deployment's own selector, the Service's selector and the pod
// (anti-)affinity and topology spread selectors are as kustomize's
// includeSelectors has them.
var teamSelectorFields = []types.FieldSpec{
	{Gvk: resid.Gvk{Group: "apps", Kind: "Deployment"}, Path: "spec/selector/matchLabels", CreateIfNotPresent: true},
	{Gvk: resid.Gvk{Group: "apps", Kind: "Deployment"}, Path: "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels"},
	{Gvk: resid.Gvk{Group: "apps", Kind: "Deployment"}, Path: "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels"},
	{Gvk: resid.Gvk{Group: "apps", Kind: "Deployment"}, Path: "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels"},
	{Gvk: resid.Gvk{Group: "apps", Kind: "Deployment"}, Path: "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels"},
	{Gvk: resid.Gvk{Group: "apps", Kind: "Deployment"}, Path: "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels"},
	{Gvk: resid.Gvk{Version: "v1", Kind: "Service"}, Path: "spec/selector", CreateIfNotPresent: true},
	{Gvk: resid.Gvk{Group: "policy", Kind: "PodDisruptionBudget"}, Path: "spec/selector/matchLabels", CreateIfNotPresent: true},
	{Gvk: resid.Gvk{Group: "networking.k8s.io", Kind: "NetworkPolicy"}, Path: "spec/podSelector/matchLabels", CreateIfNotPresent: true},
}

// namespaceTransformer puts objects without a namespace in the team's.
// It is configured with unsetOnly instead of the kustomization's namespace
// field, which would silently move an object that names another namespace:
// such an object must reach validation and be rejected.
func namespaceTransformer(namespace string) map[string]any {
	return map[string]any{
		"apiVersion": "builtin",
		"kind":       "NamespaceTransformer",
		"metadata":   map[string]any{"name": "team-namespace", "namespace": namespace},
		"unsetOnly":  true,
	}
}

// literals turns the team's configuration into configMapGenerator literals.
// Each value is wrapped in double quotes because kustomize strips one pair
// of surrounding quotes from a literal: quoting every value keeps one that
// itself starts and ends with a quote intact.
func literals(config map[string]string) []string {
	out := make([]string, 0, len(config))
	for _, k := range sortedKeys(config) {
		out = append(out, k+`="`+config[k]+`"`)
	}
	return out
}

// deploymentPatch sets what spec.service says on every Deployment of the
// blueprint (validation later insists there is exactly one), and turns the
// pods' service account token off.
func deploymentPatch(s mhstv1alpha1.SupportTeamSpec) (string, error) {
	container := map[string]any{
		"name":  serviceContainer,
		"image": s.Service.Image,
		// "$patch: replace" makes this the whole list: merged by
		// containerPort, the blueprint's own port would remain beside it.
		"ports": []any{
			map[string]any{"$patch": "replace"},
			corev1.ContainerPort{Name: servicePortName, ContainerPort: servicePort(s), Protocol: corev1.ProtocolTCP},
		},
	}
	if s.Service.Resources != nil {
		// The team's resources replace the blueprint's rather than merge
		// with them: a merged limit lower than the team's request would make
		// the pods invalid.
		resources, err := toMap(s.Service.Resources)
		if err != nil {
			return "", fmt.Errorf("resources: %w", err)
		}
		resources["$patch"] = "replace"
		container["resources"] = resources
	}
	patch := map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": "ignored"},
		"spec": map[string]any{
			"replicas": replicas(s),
			"template": map[string]any{"spec": map[string]any{
				// The team's service talks to no Kubernetes API, so its pods
				// get no token, whatever the blueprint says: the pod's
				// setting wins over its ServiceAccount's. Validation checks
				// it (see serviceAccountTokens).
				"automountServiceAccountToken": false,
				"containers":                   []any{container},
			}},
		},
	}
	return marshalPatch(patch)
}

// networkPolicyPatch admits ingress to the team's pods, on the service port,
// from the pods of the team's own namespace and from the namespaces the area
// allows. A list without merge key, ingress is replaced as a whole.
func networkPolicyPatch(in Input) (string, error) {
	peers := []any{ownNamespacePeer(in.Namespace)}
	for _, sel := range in.AllowIngressFrom {
		peers = append(peers, map[string]any{"namespaceSelector": sel})
	}
	port := intstr.FromInt32(servicePort(in.Spec))
	tcp := corev1.ProtocolTCP
	patch := map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "NetworkPolicy",
		"metadata":   map[string]any{"name": ingressPolicy},
		"spec": map[string]any{
			"ingress": []any{map[string]any{
				"from":  peers,
				"ports": []any{map[string]any{"protocol": tcp, "port": port}},
			}},
		},
	}
	return marshalPatch(patch)
}

// ownNamespacePeer selects the team's namespace by the label the API server
// sets on every namespace, which nobody can forge on another one.
func ownNamespacePeer(namespace string) map[string]any {
	return map[string]any{"namespaceSelector": ownNamespaceSelector(namespace)}
}

// ownNamespaceSelector selects the team's namespace and no other.
func ownNamespaceSelector(namespace string) metav1.LabelSelector {
	return metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: namespace}}
}

func toMap(v any) (map[string]any, error) {
	data, err := yaml.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func marshalPatch(patch map[string]any) (string, error) {
	data, err := yaml.Marshal(patch)
	if err != nil {
		return "", fmt.Errorf("marshal patch: %w", err)
	}
	return string(data), nil
}
