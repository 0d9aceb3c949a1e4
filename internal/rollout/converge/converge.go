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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
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
func Apply(ctx context.Context, c client.Client, objs []client.Object, workers int) error {
	queue := make(chan client.Object)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for obj := range queue {
				if err := applyWhenNamespaceExists(ctx, c, obj); err != nil {
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

// namespacePoll is how often a waiting object looks for its namespace.
const namespacePoll = 100 * time.Millisecond

// applyWhenNamespaceExists applies obj once its namespace exists. While it
// does not, the wait is a GET of the namespace (served from the API
// server's watch cache) rather than the apply itself: an apply refused for
// a missing namespace costs the API server a decode, a read and admission
// each time, and sixteen clients retrying so would compete with the
// operator that is making the namespaces.
func applyWhenNamespaceExists(ctx context.Context, c client.Client, obj client.Object) error {
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
		if err := waitForNamespace(ctx, c, obj.GetNamespace()); err != nil {
			return fmt.Errorf("apply %T %s: %w", obj, client.ObjectKeyFromObject(obj), err)
		}
	}
}

// waitForNamespace returns once the namespace exists, or when ctx ends.
// Errors other than NotFound (an API server restarting, say) are waited
// out too: the apply that follows reports what persists.
func waitForNamespace(ctx context.Context, c client.Client, name string) error {
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s never appeared: %w", name, ctx.Err())
		case <-time.After(namespacePoll):
		}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}); err == nil {
			return nil
		}
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

// Check lists the LocalAreas and says what still differs from want, one
// line per area ("" when everything matches).
func Check(ctx context.Context, c client.Reader, want Expectations) (string, error) {
	var areas mhstv1alpha1.LocalAreaList
	if err := c.List(ctx, &areas); err != nil {
		return "", fmt.Errorf("list areas: %w", err)
	}
	seen := map[string]bool{}
	var problems []string
	for i := range areas.Items {
		a := &areas.Items[i]
		e, ok := want[a.Name]
		if !ok {
			continue
		}
		seen[a.Name] = true
		if p := mismatch(a, e); p != "" {
			problems = append(problems, a.Name+": "+p)
		}
	}
	for name := range want {
		if !seen[name] {
			problems = append(problems, name+": missing")
		}
	}
	sort.Strings(problems)
	return strings.Join(problems, "\n"), nil
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

// Wait checks every interval until every area matches want, and returns how
// long that took. On timeout the error says what still differs.
func Wait(ctx context.Context, c client.Reader, want Expectations, interval, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		problems, err := Check(ctx, c, want)
		if err == nil && problems == "" {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if err == nil {
				err = errors.New(firstLines(problems, 10))
			}
			return time.Since(start), fmt.Errorf("not converged after %s: %w", time.Since(start).Round(time.Millisecond), err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
}

func firstLines(text string, n int) string {
	lines := strings.Split(text, "\n")
	if len(lines) <= n {
		return text
	}
	return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n... and %d more", len(lines)-n)
}
