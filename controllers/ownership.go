package controllers

import (
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// The operator never takes over what it did not make. Before it writes to
// an object that exists, the apply engine asks the controller whether the
// object is its own (apply.Object.Mine): checkController for a team's
// service, areaControls for an area's tenant. One that is not stops the
// team or the area (Stalled, reason OwnershipConflict, the message naming
// the object and what to do), and nothing is written to it.

// ownershipConflict says that an object a controller needs exists and was
// not made by the operator for the team or area that needs it.
type ownershipConflict struct {
	kind string
	key  client.ObjectKey
	// owner describes the object's controller, or "" when it has none.
	owner string
	// madeFor names who needs the object: "this team", "LocalArea leeds".
	madeFor string
	// remedy says what a person can do.
	remedy string
}

func (c *ownershipConflict) Error() string {
	made := "was not made by mhst-operator for " + c.madeFor
	if c.owner != "" {
		made = "belongs to " + c.owner
	}
	return fmt.Sprintf("%s %s %s, and the operator never writes to what it did not make: %s",
		c.kind, describeKey(c.key), made, c.remedy)
}

// newOwnershipConflict describes obj, an object that is not the caller's.
func newOwnershipConflict(obj client.Object, madeFor, remedy string) *ownershipConflict {
	conflict := &ownershipConflict{kind: kindOf(obj), key: client.ObjectKeyFromObject(obj), madeFor: madeFor, remedy: remedy}
	if owner := metav1.GetControllerOf(obj); owner != nil {
		conflict.owner = owner.Kind + " " + owner.Name
	}
	return conflict
}

// kindOf names obj's kind; typed objects read through a client come
// without it.
func kindOf(obj client.Object) string {
	if kind := obj.GetObjectKind().GroupVersionKind().Kind; kind != "" {
		return kind
	}
	if gvks, _, err := clientgoscheme.Scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
		return gvks[0].Kind
	}
	return fmt.Sprintf("%T", obj)
}

// checkController refuses to write to an object that the team does not
// control: one someone made by hand with the name the render wants, or
// another team's object of the same name.
func checkController(team *mhstv1alpha1.SupportTeam, obj client.Object) error {
	if owner := metav1.GetControllerOf(obj); owner != nil && owner.UID == team.UID {
		return nil
	}
	return newOwnershipConflict(obj, "this team",
		fmt.Sprintf("rename or delete that %s, or give the team's blueprint another name for it", kindOf(obj)))
}

// areaControls refuses to write to an object of the area's tenant that the
// operator did not make for the area. The area's objects are found by their
// name, which a namespace handed over to the area (docs/localarea.md,
// "Handing over a namespace") may already use for something else: a
// RoleBinding or a NetworkPolicy of its own, say.
//
// An object is the area's when the area is its controller (its access
// objects and policy parameter carry that owner reference), or, having no
// controller, when it carries the operator's labels: the isolation objects
// carry no owner reference (they outlive a retained area, see
// localarea_isolation.go) but keep the managed-by label of the operator
// that made them, possibly for an area that released the namespace (the
// area takes those over), or the area's own label when someone removed the
// managed-by label (drift, which is put back). An object another
// controller owns (a team's, another area's) is never the area's.
func areaControls(area *mhstv1alpha1.LocalArea, obj client.Object) error {
	owner := metav1.GetControllerOf(obj)
	labels := obj.GetLabels()
	switch {
	case owner != nil && owner.UID == area.UID:
		return nil
	case owner == nil && (labels[mhstv1alpha1.LabelArea] == area.Name || labels[mhstv1alpha1.LabelManagedBy] == mhstv1alpha1.ManagedByValue):
		return nil
	}
	return newOwnershipConflict(obj, "LocalArea "+area.Name, fmt.Sprintf(
		"the area needs that name, so delete that %s (after making what it holds again under another name, if it is still needed); "+
			"the area then makes its own (docs/localarea.md, \"Handing over a namespace\")", kindOf(obj)))
}

// ownershipConflicts returns the conflicts among err and the errors it
// joins or wraps, in order.
func ownershipConflicts(err error) []*ownershipConflict {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var found []*ownershipConflict
		for _, inner := range joined.Unwrap() {
			found = append(found, ownershipConflicts(inner)...)
		}
		return found
	}
	var conflict *ownershipConflict
	if errors.As(err, &conflict) {
		return []*ownershipConflict{conflict}
	}
	return nil
}

// conflictsMessage says what each conflict is, one after another.
func conflictsMessage(conflicts []*ownershipConflict) string {
	messages := make([]string, len(conflicts))
	for i, c := range conflicts {
		messages[i] = c.Error()
	}
	return strings.Join(messages, "; ")
}
