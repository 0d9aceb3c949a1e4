// Package converge applies a generated rollout to a cluster the way a GitOps
// tool would (server-side, in parallel, retrying what waits for the
// operator), and watches it converge: every LocalArea Ready with exactly the
// coverage the rollout expects.
package converge

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/kinds"
	"github.com/mhst-io/mhst-operator/internal/rollout"
)

// FieldManager owns what Apply applies: it stands for the people (or the
// GitOps tool) who write the rollout.
const FieldManager = "mhst-rollout"

// OperatorKinds are the kinds the operator creates for areas and teams:
// the table of internal/kinds.
var OperatorKinds = kinds.GVKs()

// Objects are the objects of areas in the order they can be applied: the
// LocalAreas first (the operator makes their namespaces), then each area's
// teams and allocations.
func Objects(areas []rollout.Area) []client.Object {
	var objs []client.Object
	for i := range areas {
		objs = append(objs, &areas[i].LocalArea)
	}
	for i := range areas {
		for j := range areas[i].Teams {
			objs = append(objs, &areas[i].Teams[j])
		}
		for j := range areas[i].Coverages {
			objs = append(objs, &areas[i].Coverages[j])
		}
	}
	return objs
}

// Apply applies objs server-side with workers in parallel. An object whose
// namespace does not exist yet (the operator has not provisioned its area)
// waits for it, or until ctx ends.
func Apply(ctx context.Context, c client.WithWatch, objs []client.Object, workers int) error {
	ctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	namespaces := watchNamespaces(ctx, c)
	queue := make(chan client.Object)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for obj := range queue {
				if err := applyWhenNamespaceExists(ctx, c, namespaces, obj); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for _, obj := range objs {
		select {
		case queue <- obj:
		case err = <-errs:
			break feed
		}
	}
	close(queue)
	wg.Wait()
	close(errs)
	for e := range errs {
		err = errors.Join(err, e)
	}
	return err
}

// retryPause is the least time between two applies of one object refused
// for a missing namespace.
const retryPause = 100 * time.Millisecond

// applyWhenNamespaceExists applies obj once its namespace exists. While it
// does not, the object waits on the one watch of namespaces that every
// worker shares, not by sending its apply again, nor by asking for the
// namespace again and again: an apply refused for a missing namespace costs
// the API server a decode, a read and admission each time, and sixteen
// clients polling would compete with the operator that is making the
// namespaces.
func applyWhenNamespaceExists(ctx context.Context, c client.Client, namespaces *namespaceWatch, obj client.Object) error {
	u, err := forApply(obj)
	if err != nil {
		return err
	}
	for {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership)
		if err == nil || !apierrors.IsNotFound(err) || obj.GetNamespace() == "" {
			if err != nil {
				return fmt.Errorf("apply %T %s: %w", obj, client.ObjectKeyFromObject(obj), err)
			}
			return nil
		}
		if err := namespaces.wait(ctx, obj.GetNamespace()); err != nil {
			return fmt.Errorf("apply %T %s: %w", obj, client.ObjectKeyFromObject(obj), err)
		}
		sleep(ctx, retryPause)
	}
}

// namespaceWatch tells objects waiting for their namespace when it
// appears, from one watch of every namespace.
type namespaceWatch struct {
	mu      sync.Mutex
	seen    map[string]bool
	waiting map[string]chan struct{}
}

// watchNamespaces follows the namespaces until ctx ends; a watch that ends
// (an API server restart) is started again from a fresh list.
func watchNamespaces(ctx context.Context, c client.WithWatch) *namespaceWatch {
	n := &namespaceWatch{seen: map[string]bool{}, waiting: map[string]chan struct{}{}}
	go func() {
		for ctx.Err() == nil {
			var list corev1.NamespaceList
			if err := c.List(ctx, &list); err != nil {
				sleep(ctx, retryPause)
				continue
			}
			for i := range list.Items {
				n.saw(list.Items[i].Name)
			}
			w, err := c.Watch(ctx, &corev1.NamespaceList{}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
			if err != nil {
				sleep(ctx, retryPause)
				continue
			}
			for event := range w.ResultChan() {
				ns, ok := event.Object.(*corev1.Namespace)
				if !ok {
					break // an error event: list again
				}
				if event.Type != watch.Deleted {
					n.saw(ns.Name)
				}
			}
			w.Stop()
		}
	}()
	return n
}

func (n *namespaceWatch) saw(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seen[name] = true
	if ch, ok := n.waiting[name]; ok {
		close(ch)
		delete(n.waiting, name)
	}
}

// wait returns once the namespace has been seen, or when ctx ends.
func (n *namespaceWatch) wait(ctx context.Context, name string) error {
	n.mu.Lock()
	if n.seen[name] {
		n.mu.Unlock()
		return nil
	}
	ch, ok := n.waiting[name]
	if !ok {
		ch = make(chan struct{})
		n.waiting[name] = ch
	}
	n.mu.Unlock()
	select {
	case <-ctx.Done():
		return fmt.Errorf("namespace %s never appeared: %w", name, ctx.Err())
	case <-ch:
		return nil
	}
}

// forApply is obj as the fields a user writes: no status and no empty
// creation timestamp, which a typed object would otherwise send and own.
func forApply(obj client.Object) (*unstructured.Unstructured, error) {
	fields, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", obj.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: fields}
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

// Expectation is what one area must report once converged.
type Expectation struct {
	// Coverage is the exact status.coverage.
	Coverage mhstv1alpha1.AreaCoverage
	// Teams is status.teams.total.
	Teams int32
	// TeamsReady requires status.teams.ready to equal Teams as well
	// (which needs Deployments to become Available: a cluster with the
	// controller manager, a scheduler and nodes).
	TeamsReady bool
}

// Expectations are keyed by LocalArea name.
type Expectations map[string]Expectation

// Expect is what every area of areas must report.
func Expect(areas []rollout.Area, teamsReady bool) Expectations {
	e := Expectations{}
	for _, a := range areas {
		e[a.LocalArea.Name] = Expectation{Coverage: a.Expected, Teams: int32(len(a.Teams)), TeamsReady: teamsReady}
	}
	return e
}

// problems says what of areas still differs from want, one line per area
// ("" when everything matches).
func problems(areas map[string]*mhstv1alpha1.LocalArea, want Expectations) string {
	var found []string
	for name, e := range want {
		a, ok := areas[name]
		if !ok {
			found = append(found, name+": missing")
			continue
		}
		if p := mismatch(a, e); p != "" {
			found = append(found, name+": "+p)
		}
	}
	sort.Strings(found)
	return strings.Join(found, "\n")
}

// mismatch says how an area's status differs from what is expected.
func mismatch(a *mhstv1alpha1.LocalArea, e Expectation) string {
	ready := meta.FindStatusCondition(a.Status.Conditions, mhstv1alpha1.ConditionReady)
	switch {
	case ready == nil || ready.Status != "True":
		return "not Ready"
	case ready.ObservedGeneration != a.Generation:
		return fmt.Sprintf("Ready for generation %d, not %d", ready.ObservedGeneration, a.Generation)
	case a.Status.Coverage == nil:
		return "no coverage"
	case !equality.Semantic.DeepEqual(*a.Status.Coverage, e.Coverage):
		return fmt.Sprintf("coverage %+v, want %+v", *a.Status.Coverage, e.Coverage)
	case a.Status.Teams.Total != e.Teams:
		return fmt.Sprintf("%d teams, want %d", a.Status.Teams.Total, e.Teams)
	case e.TeamsReady && a.Status.Teams.Ready != e.Teams:
		return fmt.Sprintf("%d of %d teams ready", a.Status.Teams.Ready, e.Teams)
	}
	return ""
}

// Wait follows the LocalAreas with a watch until every area matches want,
// and returns how long that took. On timeout the error says what still
// differs. Watching, rather than listing every area again and again, costs
// the API server next to nothing while it waits, so that measuring the
// operator does not slow down what is measured; a watch that ends (an API
// server restart) is started again from a fresh list.
func Wait(ctx context.Context, c client.WithWatch, want Expectations, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	areas := map[string]*mhstv1alpha1.LocalArea{}
	var lastErr error
	for ctx.Err() == nil {
		var list mhstv1alpha1.LocalAreaList
		if err := c.List(ctx, &list); err != nil {
			lastErr = fmt.Errorf("list areas: %w", err)
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		clear(areas)
		for i := range list.Items {
			areas[list.Items[i].Name] = &list.Items[i]
		}
		if problems(areas, want) == "" {
			return time.Since(start), nil
		}
		if err := follow(ctx, c, list.ResourceVersion, areas, want); err == nil {
			return time.Since(start), nil
		} else if !errors.Is(err, errWatchEnded) {
			lastErr = err
		}
	}
	if p := problems(areas, want); p != "" {
		lastErr = errors.New(firstLines(p, 10))
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return time.Since(start), fmt.Errorf("not converged after %s: %w", time.Since(start).Round(time.Millisecond), lastErr)
}

// errWatchEnded says the watch stopped before the areas converged.
var errWatchEnded = errors.New("watch ended")

// follow applies the watch's events from resourceVersion to areas until
// they match want (nil), the watch ends (errWatchEnded) or ctx does.
func follow(ctx context.Context, c client.WithWatch, resourceVersion string, areas map[string]*mhstv1alpha1.LocalArea, want Expectations) error {
	w, err := c.Watch(ctx, &mhstv1alpha1.LocalAreaList{}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: resourceVersion}})
	if err != nil {
		sleep(ctx, 100*time.Millisecond)
		return errWatchEnded
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case event, open := <-w.ResultChan():
			if !open {
				return errWatchEnded
			}
			area, ok := event.Object.(*mhstv1alpha1.LocalArea)
			if !ok { // an error event: start again from a list
				return errWatchEnded
			}
			if event.Type == watch.Deleted {
				delete(areas, area.Name)
			} else {
				areas[area.Name] = area
			}
			if problems(areas, want) == "" {
				return nil
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func firstLines(text string, n int) string {
	lines := strings.Split(text, "\n")
	if len(lines) <= n {
		return text
	}
	return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n... and %d more", len(lines)-n)
}
