package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/rollout/converge"
)

// rolloutKinds are the kinds of the applied manifests.
var rolloutKinds = []schema.GroupVersionKind{
	mhstv1alpha1.GroupVersion.WithKind("LocalArea"),
	mhstv1alpha1.GroupVersion.WithKind("SupportTeam"),
	mhstv1alpha1.GroupVersion.WithKind("SchoolCoverage"),
}

// operatorObjects lists what the operator made: every object of its kinds
// that carries its managed-by label.
func operatorObjects(ctx context.Context, c client.Reader) ([]unstructured.Unstructured, error) {
	return listKinds(ctx, c, converge.OperatorKinds, client.MatchingLabels{mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue})
}

// rolloutObjects lists the applied manifests as they are stored.
func rolloutObjects(ctx context.Context, c client.Reader) ([]unstructured.Unstructured, error) {
	return listKinds(ctx, c, rolloutKinds)
}

func listKinds(ctx context.Context, c client.Reader, kinds []schema.GroupVersionKind, opts ...client.ListOption) ([]unstructured.Unstructured, error) {
	var all []unstructured.Unstructured
	for _, gvk := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("list %s: %w", gvk.Kind, err)
		}
		all = append(all, list.Items...)
	}
	return all, nil
}

// floorPrefix renames the floor's copies so that they sit beside the
// operator's objects without touching them.
const floorPrefix = "floor-"

// floorCopy is obj as a client would create it from scratch under a new
// name: metadata reduced to name, namespace, labels and annotations, no
// status, and no fields the API server assigns (a Service's cluster IPs).
func floorCopy(obj unstructured.Unstructured) *unstructured.Unstructured {
	out := &unstructured.Unstructured{Object: map[string]any{}}
	for key, value := range obj.Object {
		if key != "metadata" && key != "status" {
			out.Object[key] = runtime.DeepCopyJSONValue(value)
		}
	}
	if obj.GetNamespace() != "" {
		out.SetNamespace(floorPrefix + obj.GetNamespace())
		out.SetName(obj.GetName())
	} else {
		out.SetName(floorPrefix + obj.GetName())
	}
	out.SetLabels(obj.GetLabels())
	out.SetAnnotations(obj.GetAnnotations())
	if obj.GetKind() == "Service" {
		unstructured.RemoveNestedField(out.Object, "spec", "clusterIP")
		unstructured.RemoveNestedField(out.Object, "spec", "clusterIPs")
	}
	if obj.GetKind() == "LocalArea" {
		// A LocalArea's namespace is immutable and unique: the copy
		// names its own.
		if ns, found, _ := unstructured.NestedString(obj.Object, "spec", "namespace"); found {
			_ = unstructured.SetNestedField(out.Object, floorPrefix+ns, "spec", "namespace")
		}
	}
	return out
}

// measureFloor creates a renamed copy of every object with workers in
// parallel, cluster-scoped objects (namespaces among them) first, and
// returns how long the creates took and how many objects were created.
func measureFloor(ctx context.Context, c client.Client, objs []unstructured.Unstructured, workers int) (time.Duration, int, error) {
	var clusterScoped, namespaced []*unstructured.Unstructured
	namespaces := map[string]bool{}
	for _, obj := range objs {
		cp := floorCopy(obj)
		if cp.GetNamespace() == "" {
			clusterScoped = append(clusterScoped, cp)
		} else {
			namespaced = append(namespaced, cp)
		}
		if obj.GetKind() == "Namespace" {
			namespaces[obj.GetName()] = true
		}
	}
	// Objects in namespaces the operator did not make (its own, for the
	// national report) need their namespace copied too.
	for _, obj := range objs {
		if ns := obj.GetNamespace(); ns != "" && !namespaces[ns] {
			namespaces[ns] = true
			copied := &unstructured.Unstructured{}
			copied.SetAPIVersion("v1")
			copied.SetKind("Namespace")
			copied.SetName(floorPrefix + ns)
			clusterScoped = append(clusterScoped, copied)
		}
	}
	start := time.Now()
	if err := createAll(ctx, c, clusterScoped, workers); err != nil {
		return 0, 0, err
	}
	if err := createAll(ctx, c, namespaced, workers); err != nil {
		return 0, 0, err
	}
	return time.Since(start), len(clusterScoped) + len(namespaced), nil
}

// createAll creates objs with workers in parallel and stops at the first
// error.
func createAll(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, workers int) error {
	queue := make(chan *unstructured.Unstructured, len(objs))
	for _, obj := range objs {
		queue <- obj
	}
	close(queue)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for obj := range queue {
				if err := c.Create(ctx, obj); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("create %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
