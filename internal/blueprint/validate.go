package blueprint

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/mhst-io/mhst-operator/internal/kinds"
)

// RejectedError is returned when a blueprint builds into something a team's
// service may not contain. The whole render is refused: nothing of it is
// applied. The controller reports it as Ready=False, reason
// BlueprintRejected.
type RejectedError struct {
	// Object names the offending object as "Kind namespace/name" (or
	// "Kind name" when it has no namespace); empty when the problem is
	// what the render lacks rather than an object in it.
	Object string
	// Field is the JSON path of the offending field in Object, such as
	// "spec.template.spec.hostNetwork"; empty when the object as a whole
	// is refused (its kind, for example).
	Field string
	// Reason says why it is refused and what to change.
	Reason string
}

func (e *RejectedError) Error() string {
	switch {
	case e.Object == "":
		return "blueprint rejected: " + e.Reason
	case e.Field == "":
		return e.Object + " is not allowed: " + e.Reason
	default:
		return e.Object + " is not allowed: " + e.Field + ": " + e.Reason
	}
}

// InvalidError is returned when a blueprint does not build: no
// kustomization.yaml, YAML that does not parse, a file that is missing or
// that is not one of the blueprint's own. Err is kustomize's (or the
// self-containment check's) error. The controller reports it as
// Ready=False, reason BlueprintInvalid.
type InvalidError struct {
	Err error
}

func (e *InvalidError) Error() string {
	return "blueprint does not build: " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *InvalidError) Unwrap() error {
	return e.Err
}

// allowedKinds are the kinds a team's service may be made of, as the
// operator's table of kinds says: namespaced, and none of them can grant
// permissions (no RBAC) or reach beyond the team's namespace.
var allowedKinds = kinds.Blueprint()

// AllowedKinds returns the kinds a rendered service may contain, in a fixed
// order. The controller watches, applies and prunes these kinds (and needs
// RBAC for them); docs/blueprints.md lists them.
func AllowedKinds() []schema.GroupVersionKind {
	return slices.Clone(allowedKinds)
}

// deploymentKind is the kind of the one object every render must have.
var deploymentKind = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

// validate checks a sorted render and returns a *RejectedError for the first
// object that may not be applied, if there is not exactly one Deployment, or
// for the first object that would break the area's isolation.
func validate(objects []*unstructured.Unstructured, in Input) error {
	if err := validateKindsAndNamespace(objects, in.Namespace); err != nil {
		return err
	}
	return checkIsolation(objects, in, deploymentName(objects))
}

// validateKindsAndNamespace checks that every object is of an allowed kind
// and in the team's namespace, and that there is exactly one Deployment.
func validateKindsAndNamespace(objects []*unstructured.Unstructured, namespace string) error {
	var deployments []*unstructured.Unstructured
	for _, obj := range objects {
		if err := validateObject(obj, namespace); err != nil {
			return err
		}
		if obj.GroupVersionKind() == deploymentKind {
			deployments = append(deployments, obj)
		}
	}
	switch len(deployments) {
	case 0:
		return &RejectedError{Reason: "it renders no Deployment; the team's service is reported " +
			"from its Deployment, so a blueprint must have exactly one"}
	case 1:
		return nil
	default:
		return &RejectedError{Object: describe(deployments[1]), Reason: fmt.Sprintf(
			"a blueprint must have exactly one Deployment (the team's service), this one is the second after %q",
			deployments[0].GetName())}
	}
}

func validateObject(obj *unstructured.Unstructured, namespace string) error {
	gvk := obj.GroupVersionKind()
	if reason := kindRefusal(gvk); reason != "" {
		return &RejectedError{Object: describe(obj), Reason: reason}
	}
	if ns := obj.GetNamespace(); ns != namespace {
		return &RejectedError{Object: describe(obj), Field: "metadata.namespace", Reason: fmt.Sprintf(
			"it is in namespace %q, and a team's objects must all be in the team's namespace %q", ns, namespace)}
	}
	return nil
}

// kindRefusal says why a kind is refused, or "" if it is allowed. The
// reasons are specific so that a blueprint author knows what to change.
func kindRefusal(gvk schema.GroupVersionKind) string {
	if slices.Contains(allowedKinds, gvk) {
		return ""
	}
	switch {
	case resid.NewGvk(gvk.Group, gvk.Version, gvk.Kind).IsClusterScoped():
		return "cluster-scoped objects would reach beyond the team's namespace; " + allowedList()
	case gvk.Group == "rbac.authorization.k8s.io":
		return "RBAC objects would let a blueprint grant permissions; " + allowedList()
	default:
		return fmt.Sprintf("%s is not an allowed kind; %s", gvk.GroupVersion(), allowedList())
	}
}

func allowedList() string {
	names := make([]string, len(allowedKinds))
	for i, gvk := range allowedKinds {
		names[i] = gvk.GroupVersion().String() + " " + gvk.Kind
	}
	return "a blueprint may only contain " + strings.Join(names, ", ")
}

// describe names an object the way kubectl users read it: Kind "ns/name".
func describe(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return fmt.Sprintf("%s %q", obj.GetKind(), obj.GetName())
	}
	return fmt.Sprintf("%s %q", obj.GetKind(), obj.GetNamespace()+"/"+obj.GetName())
}

// sortObjects orders a render by kind, then name (then API group, for
// completeness), so that the same input always gives the same list.
func sortObjects(objects []*unstructured.Unstructured) {
	slices.SortFunc(objects, func(a, b *unstructured.Unstructured) int {
		return cmp.Or(
			cmp.Compare(a.GetKind(), b.GetKind()),
			cmp.Compare(a.GetName(), b.GetName()),
			cmp.Compare(a.GetAPIVersion(), b.GetAPIVersion()),
			cmp.Compare(a.GetNamespace(), b.GetNamespace()),
		)
	})
}

// deploymentName returns the name of the render's Deployment; validate has
// made sure there is exactly one.
func deploymentName(objects []*unstructured.Unstructured) string {
	for _, obj := range objects {
		if obj.GroupVersionKind() == deploymentKind {
			return obj.GetName()
		}
	}
	return ""
}
