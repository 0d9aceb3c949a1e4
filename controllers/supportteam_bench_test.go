package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// BenchmarkSupportTeamRenderApply measures deploying one new team's service
// on the suite's API server: render the built-in blueprint, then apply each
// object (none exists yet, so each apply creates one). Creating the
// SupportTeam itself, which the objects' owner references need, is not
// timed.
//
// The teams live in the namespace of an area that is suspended, so the
// running operator leaves them alone and applies nothing of its own there
// (teams can be created only in an area's namespace).
func BenchmarkSupportTeamRenderApply(b *testing.B) {
	ctx := context.Background()
	area, err := suspendedBenchArea(ctx, "st-bench")
	if err != nil {
		b.Fatal(err)
	}
	ns := area.Status.Namespace
	r := &SupportTeamReconciler{Client: k8sClient, APIReader: k8sClient, Recorder: events.NewFakeRecorder(16), Coverage: newAreaCoverage(k8sClient)}
	run := time.Now().UnixNano()
	objects := 0
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		team := supportTeamNewTeam(ns, fmt.Sprintf("bench-%x-%d", run, i))
		if err := k8sClient.Create(ctx, team); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		out, refused, err := r.render(ctx, team, area)
		if err != nil || refused != nil {
			b.Fatalf("render: %v %v", err, refused)
		}
		if err := r.applyService(ctx, team, out.Objects, false); err != nil {
			b.Fatal(err)
		}
		objects += len(out.Objects)
	}
	b.StopTimer()
	b.ReportMetric(float64(objects)/float64(b.N), "objects/op")
	if err := k8sClient.DeleteAllOf(ctx, &mhstv1alpha1.SupportTeam{}, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
}

// suspendedBenchArea provisions an area and suspends it, once per process.
func suspendedBenchArea(ctx context.Context, name string) (*mhstv1alpha1.LocalArea, error) {
	area := newTestArea(name)
	if err := k8sClient.Create(ctx, area); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	phase := func(want mhstv1alpha1.AreaPhase) error {
		return wait.PollUntilContextTimeout(ctx, pollInterval, eventuallyTimeout, true, func(ctx context.Context) (bool, error) {
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, area); err != nil {
				return false, err
			}
			return area.Status.Phase == want, nil
		})
	}
	if err := phase(mhstv1alpha1.PhaseActive); err != nil && !area.Spec.Suspend {
		return nil, fmt.Errorf("area %s not Active: %w", name, err)
	}
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"suspend":true}}`))
	if err := k8sClient.Patch(ctx, area, patch); err != nil {
		return nil, err
	}
	if err := phase(mhstv1alpha1.PhaseSuspended); err != nil {
		return nil, fmt.Errorf("area %s not Suspended: %w", name, err)
	}
	return area, nil
}
