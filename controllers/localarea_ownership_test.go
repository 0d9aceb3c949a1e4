package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// TestLocalAreaNeverTakesOverAnObjectItDidNotMake: a namespace handed over
// to an area (docs/localarea.md, "Handing over a namespace") already holds a
// RoleBinding and a NetworkPolicy that someone made, with the names of the
// area's own. The area stops (Stalled, OwnershipConflict, naming both and
// saying what to do), nothing is written to either, and once they are
// deleted the area makes its own and converges. A ConfigMap with the name
// of the area's coverage report is left alone in the same way, with a
// Warning Event, until it is deleted.
func TestLocalAreaNeverTakesOverAnObjectItDidNotMake(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	const ns, name = "handed-with-objects", "handed-with-objects"
	createNamespace(ctx, t, ns, nil)
	// Not labelled as the operator's, so the operator's cache never sees
	// them: only a read past the cache finds them.
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: areaLeadRole, Labels: map[string]string{"team": "tools"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "tools-admin"}},
	}
	policy := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: policyAllowSameNamespace, Labels: map[string]string{"team": "tools"}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "tools"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
	// And a ConfigMap with the name of the area's coverage report.
	notes := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: AreaReportName},
		Data:       map[string]string{"notes.txt": "the tools team's own notes"},
	}
	g.Expect(k8sClient.Create(ctx, binding)).To(Succeed())
	g.Expect(k8sClient.Create(ctx, policy)).To(Succeed())
	g.Expect(k8sClient.Create(ctx, notes)).To(Succeed())
	bindingBefore, policyBefore, notesBefore := binding.DeepCopy(), policy.DeepCopy(), notes.DeepCopy()

	handOverNamespace(ctx, t, ns, name)
	area := newTestArea(name)
	area.Spec.Namespace = ns
	createArea(ctx, t, area)

	msg := waitAreaStalled(ctx, t, name, mhstv1alpha1.ReasonOwnershipConflict)
	g.Expect(msg).To(ContainSubstring("RoleBinding " + ns + "/" + areaLeadRole + " was not made by mhst-operator for LocalArea " + name))
	g.Expect(msg).To(ContainSubstring("NetworkPolicy " + ns + "/" + policyAllowSameNamespace + " was not made by mhst-operator for LocalArea " + name))
	g.Expect(msg).To(ContainSubstring("the operator never writes to what it did not make"))
	g.Expect(msg).To(ContainSubstring("delete that RoleBinding"))
	g.Expect(msg).To(ContainSubstring("delete that NetworkPolicy"))
	stalledArea := getArea(ctx, g, name)
	g.Expect(stalledArea.Status.Phase).To(Equal(mhstv1alpha1.PhaseProvisioning))
	g.Expect(stalledArea.Status.ActivatedAt).To(BeNil())
	g.Eventually(func(g Gomega) {
		g.Expect(areaEvents(ctx, g, name, mhstv1alpha1.ReasonOwnershipConflict)).NotTo(BeEmpty())
	}, eventuallyTimeout, pollInterval).Should(Succeed())

	// Nothing was written to either: same resourceVersion, same content,
	// no owner, no field of the operator's.
	expectForeignUntouched := func() {
		t.Helper()
		var liveBinding rbacv1.RoleBinding
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(binding), &liveBinding)).To(Succeed())
		g.Expect(liveBinding.ResourceVersion).To(Equal(bindingBefore.ResourceVersion), "nothing is written to a RoleBinding the operator did not make")
		g.Expect(liveBinding.Labels).To(Equal(bindingBefore.Labels))
		g.Expect(liveBinding.RoleRef).To(Equal(bindingBefore.RoleRef))
		g.Expect(liveBinding.Subjects).To(Equal(bindingBefore.Subjects))
		g.Expect(liveBinding.OwnerReferences).To(BeEmpty())
		g.Expect(managersOf(ctx, g, &liveBinding)).NotTo(ContainElement(HavePrefix(LocalAreaFieldManager)))
		var livePolicy networkingv1.NetworkPolicy
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(policy), &livePolicy)).To(Succeed())
		g.Expect(livePolicy.ResourceVersion).To(Equal(policyBefore.ResourceVersion), "nothing is written to a NetworkPolicy the operator did not make")
		g.Expect(livePolicy.Labels).To(Equal(policyBefore.Labels))
		g.Expect(livePolicy.Spec).To(Equal(policyBefore.Spec))
		g.Expect(managersOf(ctx, g, &livePolicy)).NotTo(ContainElement(HavePrefix(LocalAreaFieldManager)))
	}
	expectForeignUntouched()
	// What does not collide is the area's as usual: the baseline deny
	// policy, the quota.
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyDenyIngress}, &networkingv1.NetworkPolicy{})).To(Succeed())
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: areaQuotaName}, &corev1.ResourceQuota{})).To(Succeed())
	// The area retries with backoff meanwhile, and says so once.
	g.Expect(areaEvents(ctx, g, name, mhstv1alpha1.ReasonOwnershipConflict)).To(HaveLen(1))
	expectForeignUntouched()

	// The person deletes theirs: the area makes its own and converges.
	g.Expect(k8sClient.Delete(ctx, binding)).To(Succeed())
	g.Expect(k8sClient.Delete(ctx, policy)).To(Succeed())
	NewWithT(t).Eventually(func(g Gomega) {
		area := getArea(ctx, g, name)
		g.Expect(area.Status.Phase).To(Equal(mhstv1alpha1.PhaseActive))
		var lead rbacv1.RoleBinding
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(binding), &lead)).To(Succeed())
		g.Expect(metav1.IsControlledBy(&lead, area)).To(BeTrue())
		g.Expect(lead.RoleRef.Name).To(Equal(areaLeadRole))
		g.Expect(lead.Subjects).To(ConsistOf(HaveField("Name", name+"-lead")))
		var same networkingv1.NetworkPolicy
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(policy), &same)).To(Succeed())
		g.Expect(same.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelArea, name))
		g.Expect(same.Spec.PodSelector.MatchLabels).To(BeEmpty())
	}, 2*eventuallyTimeout, pollInterval).Should(Succeed())
	waitAreaActive(ctx, t, name)

	// The coverage report of the now Active area is not written over the
	// ConfigMap of its name either: a Warning Event says so.
	g.Eventually(func(g Gomega) {
		var found []string
		for _, e := range areaEvents(ctx, g, name, mhstv1alpha1.ReasonOwnershipConflict) {
			found = append(found, e.Note)
		}
		g.Expect(found).To(ContainElement(ContainSubstring("ConfigMap " + ns + "/" + AreaReportName + " was not made by mhst-operator for LocalArea " + name)))
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	var liveNotes corev1.ConfigMap
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(notes), &liveNotes)).To(Succeed())
	g.Expect(liveNotes.ResourceVersion).To(Equal(notesBefore.ResourceVersion), "nothing is written to a ConfigMap the operator did not make")
	g.Expect(liveNotes.Data).To(Equal(notesBefore.Data))
	g.Expect(liveNotes.OwnerReferences).To(BeEmpty())
	g.Expect(k8sClient.Delete(ctx, notes)).To(Succeed())
	NewWithT(t).Eventually(func(g Gomega) {
		var report corev1.ConfigMap
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(notes), &report)).To(Succeed())
		g.Expect(metav1.IsControlledBy(&report, getArea(ctx, g, name))).To(BeTrue())
		g.Expect(report.Data).To(HaveKey(AreaReportJSONKey))
	}, 2*eventuallyTimeout, pollInterval).Should(Succeed())
}
