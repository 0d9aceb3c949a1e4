package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
)

// TestAreaCoverageIsComputedOncePerChange: the reconciles one change wakes
// share one computation of the area's coverage; a status write, which
// changes nothing the rules read, causes none; a change of spec, a new
// allocation or another target each cause exactly one.
func TestAreaCoverageIsComputedOncePerChange(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := coverageTestArea(t, "memo", rutlandCode, "East Midlands", 4)
	ns := area.Status.Namespace
	coverageTestTeam(t, ns, "memo-team")
	schools := schoolsOf(t, rutlandCode)
	cov := coverageTestAllocation(t, ns, "memo-1", "memo-team", true, schools[:3])
	coverageTestAllocation(t, ns, "memo-2", "memo-team", true, schools[3:5])
	// Settled, so that nothing the operator does moves what the test reads.
	waitForQuiet(g)

	// A reader of the API server itself: what it lists is what is there.
	shared := newAreaCoverage(k8sClient)
	computations := func() int { return shared.namespace(ns).computations }
	first, err := shared.ofNamespace(ctx, ns, 100)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.result).To(Equal(independentCoverage(ctx, g, ns, 100)))
	for range 5 { // every allocation, team, the area and its report asking
		_, err := shared.ofNamespace(ctx, ns, 100)
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(computations()).To(Equal(1), "asking again with nothing changed computes nothing")

	// A status write changes no generation: nothing to compute.
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cov), cov)).To(Succeed())
	meta.SetStatusCondition(&cov.Status.Conditions, metav1.Condition{Type: "TestOnly", Status: metav1.ConditionTrue, Reason: "Test", ObservedGeneration: cov.Generation})
	g.Expect(k8sClient.Status().Update(ctx, cov)).To(Succeed())
	_, err = shared.ofNamespace(ctx, ns, 100)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(computations()).To(Equal(1), "a status write does not change what the rules read")

	// A change of spec (the agreement withdrawn) is computed once.
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cov), cov)).To(Succeed())
	cov.Spec.Agreement = nil
	g.Expect(k8sClient.Update(ctx, cov)).To(Succeed())
	for range 3 {
		got, err := shared.ofNamespace(ctx, ns, 100)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got.result.Area.SettingsCovered).To(Equal(int64(2)))
	}
	g.Expect(computations()).To(Equal(2))

	// Another target is another computation.
	_, err = shared.ofNamespace(ctx, ns, 50)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(computations()).To(Equal(3))
}

// independentCoverage lists the namespace directly and applies the rules.
func independentCoverage(ctx context.Context, g Gomega, ns string, target int32) coverage.Result {
	var covs mhstv1alpha1.SchoolCoverageList
	g.Expect(k8sClient.List(ctx, &covs, client.InNamespace(ns))).To(Succeed())
	var teams mhstv1alpha1.SupportTeamList
	g.Expect(k8sClient.List(ctx, &teams, client.InNamespace(ns))).To(Succeed())
	return coverage.Compute(covs.Items, teams.Items, target)
}
