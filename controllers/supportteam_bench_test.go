package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
// The teams live in a namespace that is no area's, so the running operator
// only marks them NoLocalArea and never applies anything of its own there.
func BenchmarkSupportTeamRenderApply(b *testing.B) {
	ctx := context.Background()
	ns := "st-bench"
	if err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		b.Fatal(err)
	}
	r := &SupportTeamReconciler{Client: k8sClient, APIReader: k8sClient, Recorder: events.NewFakeRecorder(16), Coverage: newAreaCoverage(k8sClient)}
	area := &mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "bench"}, Spec: mhstv1alpha1.LocalAreaSpec{Wave: 2}}
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
		if err := r.applyService(ctx, team, out.Objects); err != nil {
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
