package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

func TestLocalAreaDriftIsCorrected(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	createArea(ctx, t, newTestArea("drift"))
	waitAreaActive(ctx, t, "drift")
	ns := "mhst-drift"

	// A deleted NetworkPolicy comes back.
	deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: policyDenyIngress}}
	g.Expect(k8sClient.Delete(ctx, deny)).To(Succeed())
	g.Eventually(func() error {
		return k8sClient.Get(ctx, client.ObjectKeyFromObject(deny), deny)
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	expectDriftEvent(ctx, t, "drift", "NetworkPolicy "+ns+"/"+policyDenyIngress+" was deleted")

	// An edited policy, which also lost the managed-by label (and so left
	// the operator's cache), is put back.
	var same networkingv1.NetworkPolicy
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyAllowSameNamespace}, &same)).To(Succeed())
	delete(same.Labels, mhstv1alpha1.LabelManagedBy)
	same.Spec.Ingress = append(same.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
	g.Expect(k8sClient.Update(ctx, &same)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(&same), &same)).To(Succeed())
		g.Expect(same.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelManagedBy, mhstv1alpha1.ManagedByValue))
		g.Expect(same.Spec.Ingress).To(HaveLen(1), "the allow-all rule added by hand is removed")
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	expectDriftEvent(ctx, t, "drift", "NetworkPolicy "+ns+"/"+policyAllowSameNamespace+" was changed")

	// Namespace labels edited by hand are restored. (The mhst.io/area
	// label itself cannot be edited: the admission policy
	// mhst-area-label-owner refuses it.)
	var namespace corev1.Namespace
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
	namespace.Labels["pod-security.kubernetes.io/enforce"] = "privileged"
	delete(namespace.Labels, mhstv1alpha1.LabelManagedBy)
	g.Expect(k8sClient.Update(ctx, &namespace)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
		g.Expect(namespace.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
		g.Expect(namespace.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelManagedBy, mhstv1alpha1.ManagedByValue))
		g.Expect(namespace.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelArea, "drift"))
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	expectDriftEvent(ctx, t, "drift", "Namespace "+ns+" was changed")

	// A deleted RoleBinding is restored, and so is a subject added by hand
	// removed.
	viewer := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: areaBoardRole}}
	g.Expect(k8sClient.Delete(ctx, viewer)).To(Succeed())
	g.Eventually(func() error {
		return k8sClient.Get(ctx, client.ObjectKeyFromObject(viewer), viewer)
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	expectDriftEvent(ctx, t, "drift", "RoleBinding "+ns+"/"+areaBoardRole+" was deleted")
	viewer.Subjects = append(viewer.Subjects, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "mallory"})
	g.Expect(k8sClient.Update(ctx, viewer)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(viewer), viewer)).To(Succeed())
		g.Expect(viewer.Subjects).To(HaveLen(2))
	}, eventuallyTimeout, pollInterval).Should(Succeed())

	// A quota raised by hand is lowered again, and one added by hand
	// removed (the quota is the operator's whole: apply puts the value
	// back, and the object is then replaced to drop the key).
	var quota corev1.ResourceQuota
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: areaQuotaName}, &quota)).To(Succeed())
	quota.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1000")
	quota.Spec.Hard["count/jobs.batch"] = resource.MustParse("5")
	g.Expect(k8sClient.Update(ctx, &quota)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(&quota), &quota)).To(Succeed())
		g.Expect(quota.Spec.Hard.Pods().String()).To(Equal("100"))
		g.Expect(quota.Spec.Hard).NotTo(HaveKey(corev1.ResourceName("count/jobs.batch")))
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	expectDriftEvent(ctx, t, "drift", "ResourceQuota "+ns+"/"+areaQuotaName+" was changed")

	// A deleted namespace is created again once it is gone.
	g.Expect(k8sClient.Delete(ctx, &namespace)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
		g.Expect(namespace.UID).NotTo(BeEmpty())
		g.Expect(namespace.DeletionTimestamp).To(BeNil())
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyDenyIngress}, &networkingv1.NetworkPolicy{})).To(Succeed())
	}, 2*eventuallyTimeout, pollInterval).Should(Succeed())
	waitAreaActive(ctx, t, "drift")
}

func TestLocalAreaSuspendLeavesTenantAlone(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	createArea(ctx, t, newTestArea("suspended"))
	area := waitAreaActive(ctx, t, "suspended")
	ns := "mhst-suspended"

	area.Spec.Suspend = true
	updateAreaSpec(ctx, g, area)
	g.Eventually(func(g Gomega) {
		g.Expect(getArea(ctx, g, "suspended").Status.Phase).To(Equal(mhstv1alpha1.PhaseSuspended))
	}, eventuallyTimeout, pollInterval).Should(Succeed())

	deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: policyDenyIngress}}
	g.Expect(k8sClient.Delete(ctx, deny)).To(Succeed())
	var namespace corev1.Namespace
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
	namespace.Labels[mhstv1alpha1.LabelWave] = "9"
	g.Expect(k8sClient.Update(ctx, &namespace)).To(Succeed())
	g.Consistently(func(g Gomega) {
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(deny), &networkingv1.NetworkPolicy{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
		g.Expect(namespace.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelWave, "9"))
	}, 3*time.Second, pollInterval).Should(Succeed(), "a suspended tenant is left exactly as it is")

	area = getArea(ctx, g, "suspended")
	area.Spec.Suspend = false
	updateAreaSpec(ctx, g, area)
	waitAreaActive(ctx, t, "suspended")
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(deny), deny)).To(Succeed())
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
	g.Expect(namespace.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelWave, "3"))
}

func TestLocalAreaCountsTeamsAndCoverage(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	createArea(ctx, t, newTestArea("counted"))
	waitAreaActive(ctx, t, "counted")
	ns := "mhst-counted"

	team := &mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "north"},
		Spec:       mhstv1alpha1.SupportTeamSpec{Service: mhstv1alpha1.TeamService{Image: "registry.example/mhst/north:1"}},
	}
	g.Expect(k8sClient.Create(ctx, team)).To(Succeed())
	disadvantaged := int32(40)
	unallocated := &mhstv1alpha1.SchoolCoverage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "not-yet-covered"},
		Spec: mhstv1alpha1.SchoolCoverageSpec{Settings: []mhstv1alpha1.Setting{
			{URN: "100001", Name: "Hill Primary", Phase: "Primary", Pupils: 200, DisadvantagedPupils: &disadvantaged},
			{URN: "100002", Name: "Vale Secondary", Phase: "Secondary", Pupils: 900},
		}},
	}
	g.Expect(k8sClient.Create(ctx, unallocated)).To(Succeed())
	g.Eventually(func(g Gomega) {
		area := getArea(ctx, g, "counted")
		g.Expect(area.Status.Teams.Total).To(Equal(int32(1)))
		g.Expect(area.Status.Coverage).NotTo(BeNil())
		g.Expect(area.Status.Coverage.Settings).To(Equal(int64(2)))
		g.Expect(area.Status.Coverage.Pupils).To(Equal(int64(1100)))
		g.Expect(area.Status.Coverage.DisadvantagedPupils).To(Equal(int64(40)))
		g.Expect(area.Status.Coverage.PupilsCovered).To(Equal(int64(0)))
		g.Expect(area.Status.Coverage.TargetMet).To(BeFalse())
	}, eventuallyTimeout, pollInterval).Should(Succeed())

	g.Expect(k8sClient.Delete(ctx, team)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getArea(ctx, g, "counted").Status.Teams.Total).To(Equal(int32(0)))
	}, eventuallyTimeout, pollInterval).Should(Succeed())
}

// TestLocalAreaIdle checks that a converged system is silent: several
// areas reach Ready, and then the operator makes no write at all for 30
// seconds. It also measures the writes an area costs from creation to Ready.
func TestLocalAreaIdle(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	waitForQuiet(g)

	const areas = 5
	start := writes.count()
	for i := range areas {
		createArea(ctx, t, newTestArea(fmt.Sprintf("idle-%d", i)))
	}
	for i := range areas {
		waitAreaActive(ctx, t, fmt.Sprintf("idle-%d", i))
	}
	t.Logf("writes per LocalArea from creation to Ready (all of the operator's controllers): %.1f", float64(writes.count()-start)/areas)
	waitForQuiet(g)
	t.Logf("writes per LocalArea until quiet: %.1f", float64(writes.count()-start)/areas)

	before := writes.count()
	g.Consistently(writes.count, 30*time.Second, time.Second).Should(Equal(before), "a converged system makes no writes")
}
