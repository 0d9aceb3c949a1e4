// Package blueprint renders a SupportTeam's service from a kustomize base.
//
// A blueprint is a kustomize base: the built-in one embedded in the operator
// (builtin/base), or a custom one whose files are the keys of a ConfigMap.
// Render lays the base out on an in-memory filesystem, generates a per-team
// overlay on top of it (namespace, "<team>-" name prefix, labels, the team's
// configuration ConfigMap, image, replicas, port, resources, the
// NetworkPolicy's peers, no service account token) and builds it with kustomize's krusty. It never runs
// a kustomize binary and never touches the cluster: applying the result is
// the SupportTeam controller's job.
//
// The result is then validated so that a blueprint author cannot escalate:
// only the kinds of AllowedKinds, only in the team's namespace, exactly one
// Deployment (the one the operator reports the service from), and nothing
// that breaks the area's isolation (isolation.go): no Service reachable from
// outside the cluster, no selector beyond the team's own pods, no network
// peer the area's policies deny, no host namespaces, ports or paths, no
// other ServiceAccount and no token, no priority class outside an
// allowlist.
//
// Render is deterministic: the same Input gives the same objects in the same
// order, so applying its output again changes nothing.
package blueprint

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Directories at the root of the in-memory filesystem a render is built on.
// The overlay refers to the others as its siblings.
const (
	blueprintDir = "blueprint"
	pdbDir       = "pdb"
	overlayDir   = "team"
)

// Input is everything a render depends on. Two equal Inputs render the same
// objects.
type Input struct {
	// TeamName is the SupportTeam's name; it prefixes every object's name.
	TeamName string
	// Namespace is the team's (and its LocalArea's) namespace.
	Namespace string
	// AreaName is the name of the team's LocalArea.
	AreaName string
	// Wave is the LocalArea's rollout wave.
	Wave int32
	// Spec is the SupportTeam's spec. Unset fields that the API server
	// defaults (replicas, port, capacity, yearRound) render with the CRD's
	// defaults, so an undefaulted spec renders like a defaulted one.
	Spec mhstv1alpha1.SupportTeamSpec
	// AllowIngressFrom are the LocalArea's spec.tenancy.allowIngressFrom
	// namespace selectors, admitted by the team's NetworkPolicy. A team's
	// NetworkPolicies may admit ingress from these namespaces and from the
	// team's own namespace, and from nowhere else.
	AllowIngressFrom []metav1.LabelSelector
	// AllowEgressTo are the egress peers the area allows beyond the team's
	// own namespace and the cluster DNS. A team's NetworkPolicies may allow
	// egress to a peer only if it is equal to one of these, selects pods of
	// the team's own namespace, or is the cluster DNS.
	AllowEgressTo []networkingv1.NetworkPolicyPeer
	// AllowedPriorityClasses are the PriorityClasses the team's pods may
	// name in priorityClassName (the operator's --allowed-priority-classes).
	// Empty allows none: a priority class lets pods preempt other tenants'.
	AllowedPriorityClasses []string
	// CustomFiles are the files of a custom blueprint (the data of the
	// ConfigMap named by spec.blueprint), keyed by file name. Nil selects the
	// built-in blueprint.
	CustomFiles map[string]string
}

// Output is a rendered, validated team service.
type Output struct {
	// Objects are sorted by kind, then name. Each is in Input.Namespace and
	// carries the team's labels.
	Objects []*unstructured.Unstructured
	// DeploymentName is the name of the one Deployment among Objects.
	DeploymentName string
}

// buildMutex serialises kustomize builds. krusty keeps package-level state
// (kyaml's OpenAPI schema, initialised lazily on the first build, and the
// builtin plugin factories) that is not safe for concurrent use, and the
// operator renders teams from several workers at once. A build takes
// milliseconds, and renders are memoised per team, so serialising them
// costs little.
var buildMutex sync.Mutex

// build runs kustomize on the overlay laid out in fSys.
func build(fSys filesys.FileSystem) (resmap.ResMap, error) {
	buildMutex.Lock()
	defer buildMutex.Unlock()
	return krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fSys, "/"+overlayDir)
}

// Render builds the team's service from its blueprint and validates it.
//
// It returns an *InvalidError when the blueprint does not build (no
// kustomization.yaml, bad YAML, a missing file, a reference outside the
// blueprint's own files) and a *RejectedError when it builds into something
// a team may not have (see AllowedKinds and isolation.go); in both cases
// nothing is returned
// to apply, so the running service is left as it was.
func Render(in Input) (*Output, error) {
	if err := checkInput(in); err != nil {
		return nil, fmt.Errorf("render team %s/%s: %w", in.Namespace, in.TeamName, err)
	}
	fSys, err := layOut(in)
	if err != nil {
		return nil, fmt.Errorf("render team %s/%s: %w", in.Namespace, in.TeamName, err)
	}
	resources, err := build(fSys)
	if err != nil {
		return nil, fmt.Errorf("render team %s/%s: %w", in.Namespace, in.TeamName, &InvalidError{Err: err})
	}
	out, err := toOutput(resources, in)
	if err != nil {
		return nil, fmt.Errorf("render team %s/%s: %w", in.Namespace, in.TeamName, err)
	}
	return out, nil
}

// checkInput refuses an Input that would render objects the API server
// rejects: the names end up in label values, which are shorter than object
// names may be.
func checkInput(in Input) error {
	if in.Namespace == "" {
		return errors.New("no namespace")
	}
	if in.Spec.Service.Image == "" {
		return errors.New("spec.service.image is empty")
	}
	for _, f := range []struct{ field, value string }{{"team name", in.TeamName}, {"area name", in.AreaName}} {
		field, value := f.field, f.value
		if value == "" {
			return fmt.Errorf("%s is empty", field)
		}
		if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
			return fmt.Errorf("%s %q cannot be a label value: %s", field, value, strings.Join(errs, "; "))
		}
	}
	return nil
}

// layOut writes the blueprint and the team's overlay to a fresh in-memory
// filesystem.
func layOut(in Input) (filesys.FileSystem, error) {
	fSys := filesys.MakeFsInMemory()
	builtin := in.CustomFiles == nil
	if builtin {
		if err := copyBuiltin(fSys); err != nil {
			return nil, err
		}
	} else if err := writeCustom(fSys, in.CustomFiles); err != nil {
		return nil, err
	}
	files, err := overlayFiles(in, builtin)
	if err != nil {
		return nil, err
	}
	for name, content := range files {
		if err := fSys.WriteFile(path.Join("/", overlayDir, name), content); err != nil {
			return nil, fmt.Errorf("write overlay file %s: %w", name, err)
		}
	}
	return fSys, nil
}

// toOutput converts kustomize's resources, validates them and sorts them.
func toOutput(resources resmap.ResMap, in Input) (*Output, error) {
	objects := make([]*unstructured.Unstructured, 0, resources.Size())
	for _, r := range resources.Resources() {
		m, err := r.Map()
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", r.CurId(), err)
		}
		objects = append(objects, &unstructured.Unstructured{Object: m})
	}
	sortObjects(objects)
	if err := validate(objects, in); err != nil {
		return nil, err
	}
	return &Output{Objects: objects, DeploymentName: deploymentName(objects)}, nil
}
