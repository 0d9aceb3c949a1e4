// Package apply is the operator's one way of bringing the objects it wants
// into the cluster and keeping them there: the LocalArea's tenant, each
// SupportTeam's service and the coverage reports all go through Engine.
//
// # The drift rule
//
// An object holds what the operator wants when every field the operator
// sets has the value it sets (Holds):
//   - a map holds when each wanted key does: keys others add (labels,
//     annotations, fields the API server defaults) are theirs;
//   - a list holds when it has exactly the wanted elements, in order, each
//     holding its wanted element (which may carry fields the server
//     defaulted): rules, subjects, containers and ports are the operator's
//     as a whole;
//   - metadata.ownerReferences hold when every wanted reference is there,
//     matched by uid: others may own the object too;
//   - a scalar holds when equal; a wanted null, empty map or empty list holds
//     when the field is absent.
//
// For the objects a caller owns whole (Object.Whole; the Whole column of
// internal/kinds says which: the area's quota, network policies, bindings,
// reader role and policy parameter), nothing outside metadata and status
// may be set beyond what the operator sets (HoldsExactly): a rule, a quota
// or a data key someone adds is drift.
//
// # Drift
//
// A write is drift corrected when the caller says the desired state is
// Settled: it brought this very state into the cluster before, and nothing
// it derives the state from has changed since. An object that then does not
// hold it, or is missing, was changed or deleted by someone else, and
// Apply's Outcome says so (Drift), for the caller's Event. Any other write
// follows a change of the caller's own input (a new spec, a new render) and
// is not drift. The engine keeps no record of its own on the objects it
// writes (no hash, no annotation): what is drift is decided by comparing
// with the cluster, by the rule above, and by what the caller knows of its
// input.
//
// # Writing
//
// Comparing with the operator's cache costs no request, so an object that
// holds is never written, and a converged operator makes no writes at all.
// An object that does not hold is read once from the API server, to tell a
// cache that has not yet seen the operator's last write from a real
// difference; only a real difference is applied. Objects the cache lacks
// are read from the API server first too (the cache holds only what carries
// the operator's labels), so that an object someone else made with the name
// the operator wants is found, and the caller's Mine check can refuse to
// touch it; a caller that knows an object cannot exist yet (a tenant being
// made for the first time) says so with Fresh and saves the read.
//
// Every write is a server-side apply with the caller's field manager, taking
// back the fields someone changed (force). The one exception is an object
// owned whole that holds what is wanted but also has fields someone added:
// server-side apply leaves another manager's fields alone, so the object is
// replaced whole, by an update with the field manager "<manager>-whole" (a
// manager of its own, so that update and apply entries are never mixed under
// one manager).
//
// Prune deletes only what the cache holds, what the caller's Mine check
// accepts, and with a UID precondition, so that it can never delete an
// object that replaced the one it meant.
package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Engine applies objects for one controller.
type Engine struct {
	// Cache reads the operator's cache; Live reads the API server.
	Cache, Live client.Reader
	// Writer writes to the API server.
	Writer client.Writer
	// Scheme makes the typed objects the cache serves.
	Scheme *runtime.Scheme
	// FieldManager is the controller's field manager.
	FieldManager string
}

// Object is one object a controller wants.
type Object struct {
	// Desired is the object as it should be: everything the operator sets,
	// nothing else.
	Desired *unstructured.Unstructured
	// Whole says the operator owns every field outside metadata and status.
	Whole bool
	// Fresh says the object almost certainly does not exist yet, so that
	// when the cache lacks it, it is applied without reading it first.
	Fresh bool
	// Settled says the caller applied this very desired state before and
	// its input has not changed since: a write is then drift corrected.
	Settled bool
	// Mine refuses to write to an existing object that is not the
	// caller's (nil: any object of the name is). Its error is returned.
	Mine func(existing client.Object) error
}

// Outcome says what Apply did.
type Outcome struct {
	// Wrote is true when Apply wrote the object.
	Wrote bool
	// Existed is true when the object existed before: a write then
	// changed it, a write without it created it.
	Existed bool
	// Before is the object as it was when it was written, or nil.
	Before client.Object
	// Drift is true when Apply wrote a Settled object: someone else had
	// changed it (Existed) or deleted it, and it was restored.
	Drift bool
}

// Apply makes the object hold what is desired.
func (e *Engine) Apply(ctx context.Context, obj Object) (Outcome, error) {
	want, err := Normalize(obj.Desired.Object)
	if err != nil {
		return Outcome{}, err
	}
	key := client.ObjectKeyFromObject(obj.Desired)
	what := obj.Desired.GetKind() + " " + describe(key)
	cached, err := e.read(ctx, e.Cache, obj)
	if err != nil {
		return Outcome{}, fmt.Errorf("read %s from cache: %w", what, err)
	}
	if cached != nil {
		if err := mine(obj, cached); err != nil {
			return Outcome{}, err
		}
		if holds, err := holdsObject(cached, want, obj.Whole); err != nil || holds {
			return Outcome{}, err
		}
	}
	var live client.Object
	if cached != nil || !obj.Fresh {
		if live, err = e.read(ctx, e.Live, obj); err != nil {
			return Outcome{}, fmt.Errorf("read %s: %w", what, err)
		}
	}
	if live != nil {
		if err := mine(obj, live); err != nil {
			return Outcome{}, err
		}
	}
	return e.write(ctx, obj, live, want, what)
}

// write brings live (nil when absent) to want.
func (e *Engine) write(ctx context.Context, obj Object, live client.Object, want map[string]any, what string) (Outcome, error) {
	out := Outcome{Existed: live != nil, Before: live, Drift: obj.Settled}
	if live != nil {
		have, err := Normalize(live)
		if err != nil {
			return Outcome{}, err
		}
		switch {
		case HoldsExactly(have, want) || (!obj.Whole && Holds(have, want)):
			return Outcome{}, nil // only the cache was behind
		case obj.Whole && Holds(have, want):
			out.Wrote = true
			return out, e.replace(ctx, live, have, want, what)
		}
	}
	if err := e.Writer.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.Desired), client.FieldOwner(e.FieldManager), client.ForceOwnership); err != nil {
		return Outcome{}, fmt.Errorf("apply %s: %w", what, err)
	}
	out.Wrote = true
	return out, nil
}

// replace writes want over every field of live but its metadata and status,
// keeping the labels, annotations and owner references others set.
func (e *Engine) replace(ctx context.Context, live client.Object, have, want map[string]any, what string) error {
	for field := range have {
		if !isMetaField(field) {
			delete(have, field)
		}
	}
	for field, value := range want {
		if !isMetaField(field) {
			have[field] = value
		}
	}
	data, err := json.Marshal(have)
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	// A new object, not a copy of live: decoding into a copy would merge
	// maps (a data key, a quota someone added would stay).
	replacement, ok := reflect.New(reflect.TypeOf(live).Elem()).Interface().(client.Object)
	if !ok {
		return fmt.Errorf("replace %s: %T is not a Kubernetes object", what, live)
	}
	if err := json.Unmarshal(data, replacement); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	if err := e.Writer.Update(ctx, replacement, client.FieldOwner(e.FieldManager+"-whole")); err != nil {
		return fmt.Errorf("replace %s: %w", what, err)
	}
	return nil
}

// Prune deletes obj (a typed object naming what to delete) when the cache
// holds it and mine accepts it, with a UID precondition. It reports whether
// it deleted anything.
func (e *Engine) Prune(ctx context.Context, obj client.Object, mine func(client.Object) bool) (bool, error) {
	key := client.ObjectKeyFromObject(obj)
	if err := e.Cache.Get(ctx, key, obj); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if !mine(obj) {
		return false, nil
	}
	uid := obj.GetUID()
	if err := e.Writer.Delete(ctx, obj, client.Preconditions{UID: &uid}); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return false, nil // gone already, or replaced by another object
		}
		return false, fmt.Errorf("delete %T %s: %w", obj, describe(key), err)
	}
	return true, nil
}

// read reads obj's kind and name through r as a typed object (the cache
// serves typed objects from memory; unstructured reads would bypass it),
// nil when there is none.
func (e *Engine) read(ctx context.Context, r client.Reader, obj Object) (client.Object, error) {
	runtimeObj, err := e.Scheme.New(obj.Desired.GroupVersionKind())
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", obj.Desired.GroupVersionKind(), err)
	}
	typed, ok := runtimeObj.(client.Object)
	if !ok {
		return nil, fmt.Errorf("%s is not a Kubernetes object", obj.Desired.GroupVersionKind())
	}
	if err := r.Get(ctx, client.ObjectKeyFromObject(obj.Desired), typed); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return typed, nil
}

func holdsObject(obj client.Object, want map[string]any, whole bool) (bool, error) {
	have, err := Normalize(obj)
	if err != nil {
		return false, err
	}
	if whole {
		return HoldsExactly(have, want), nil
	}
	return Holds(have, want), nil
}

func mine(obj Object, existing client.Object) error {
	if obj.Mine == nil {
		return nil
	}
	return obj.Mine(existing)
}

// describe names an object as kubectl would: namespace/name, or name.
func describe(key client.ObjectKey) string {
	if key.Namespace == "" {
		return key.Name
	}
	return key.String()
}
