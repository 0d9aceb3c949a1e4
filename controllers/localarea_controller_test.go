package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// newTestArea is a LocalArea whose board involves health and education.
func newTestArea(name string) *mhstv1alpha1.LocalArea {
	return &mhstv1alpha1.LocalArea{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: mhstv1alpha1.LocalAreaSpec{
			DisplayName:        "Area " + name,
			LocalAuthorityCode: "E08000035",
			Region:             "Yorkshire and The Humber",
			Wave:               3,
			Governance: mhstv1alpha1.Governance{
				Board: []mhstv1alpha1.BoardMember{
					{Kind: mhstv1alpha1.SubjectUser, Name: name + "-chair", Sector: mhstv1alpha1.SectorHealth, Role: mhstv1alpha1.RoleChair},
					{Kind: mhstv1alpha1.SubjectGroup, Name: name + "-schools", Sector: mhstv1alpha1.SectorEducation},
				},
				Leads: []mhstv1alpha1.Subject{{Kind: mhstv1alpha1.SubjectUser, Name: name + "-lead"}},
			},
		},
	}
}

// createArea creates area and removes it (and waits for it to be gone) when
// the test ends, so that the shared suite stays tidy.
func createArea(ctx context.Context, t *testing.T, area *mhstv1alpha1.LocalArea) {
	t.Helper()
	if err := k8sClient.Create(ctx, area); err != nil {
		t.Fatalf("create LocalArea %s: %v", area.Name, err)
	}
	t.Cleanup(func() { deleteArea(context.Background(), t, area.Name) })
}

// deleteArea deletes a LocalArea and waits until its finalizer has run.
func deleteArea(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	g := NewWithT(t)
	area := &mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: name}}
	g.Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, area))).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Name: name}, area))
	}, eventuallyTimeout, pollInterval).Should(BeTrue(), "LocalArea %s is still there", name)
}

// getArea reads a LocalArea from the API server.
func getArea(ctx context.Context, g Gomega, name string) *mhstv1alpha1.LocalArea {
	area := &mhstv1alpha1.LocalArea{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, area)).To(Succeed())
	return area
}

// waitAreaActive waits until the area is Ready and Active at its current
// generation, and returns it.
func waitAreaActive(ctx context.Context, t *testing.T, name string) *mhstv1alpha1.LocalArea {
	t.Helper()
	var area *mhstv1alpha1.LocalArea
	NewWithT(t).Eventually(func(g Gomega) {
		area = getArea(ctx, g, name)
		g.Expect(area.Status.Phase).To(Equal(mhstv1alpha1.PhaseActive))
		ready := meta.FindStatusCondition(area.Status.Conditions, mhstv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(ready.ObservedGeneration).To(Equal(area.Generation))
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	return area
}

// waitAreaStalled waits until the area is Stalled and returns the Ready
// condition's message.
func waitAreaStalled(ctx context.Context, t *testing.T, name, reason string) string {
	t.Helper()
	var message string
	NewWithT(t).Eventually(func(g Gomega) {
		area := getArea(ctx, g, name)
		st := meta.FindStatusCondition(area.Status.Conditions, mhstv1alpha1.ConditionStalled)
		g.Expect(st).NotTo(BeNil())
		g.Expect(st.Reason).To(Equal(reason))
		ready := meta.FindStatusCondition(area.Status.Conditions, mhstv1alpha1.ConditionReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(reason))
		message = ready.Message
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	return message
}

// areaEvents lists the events.k8s.io Events about a LocalArea with a reason.
func areaEvents(ctx context.Context, g Gomega, area, reason string) []eventsv1.Event {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(ctx, &list)).To(Succeed())
	var found []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "LocalArea" && e.Regarding.Name == area && e.Reason == reason {
			found = append(found, e)
		}
	}
	return found
}

// expectDriftEvent waits for a DriftCorrected Event about area whose note
// names what was restored.
func expectDriftEvent(ctx context.Context, t *testing.T, area, restored string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var notes []string
		for _, e := range areaEvents(ctx, g, area, mhstv1alpha1.ReasonDriftCorrected) {
			notes = append(notes, e.Note)
		}
		g.Expect(notes).To(ContainElement(ContainSubstring(restored)))
	}, eventuallyTimeout, pollInterval).Should(Succeed())
}

func TestLocalAreaProvisionsTenant(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	area := newTestArea("tenant-a")
	area.Spec.Tenancy.AllowIngressFrom = []metav1.LabelSelector{{MatchLabels: map[string]string{"ingress": "true"}}}
	createArea(ctx, t, area)
	area = waitAreaActive(ctx, t, "tenant-a")

	ns := "mhst-tenant-a"
	g.Expect(area.Status.Namespace).To(Equal(ns))
	g.Expect(area.Status.ActivatedAt).NotTo(BeNil())
	g.Expect(area.Finalizers).To(ContainElement(localAreaFinalizer))
	gov := meta.FindStatusCondition(area.Status.Conditions, mhstv1alpha1.ConditionGovernanceReady)
	g.Expect(gov.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(gov.Reason).To(Equal(mhstv1alpha1.ReasonBoardComplete))
	g.Expect(meta.FindStatusCondition(area.Status.Conditions, mhstv1alpha1.ConditionReconciling)).To(BeNil())
	g.Expect(area.Status.Coverage).NotTo(BeNil())
	g.Expect(area.Status.Coverage.PupilsCoveredPercent).To(Equal("0.0"))

	var namespace corev1.Namespace
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
	g.Expect(namespace.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelArea, "tenant-a"))
	g.Expect(namespace.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelWave, "3"))
	g.Expect(namespace.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelManagedBy, mhstv1alpha1.ManagedByValue))
	for _, mode := range []string{"enforce", "audit", "warn"} {
		g.Expect(namespace.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/"+mode, "restricted"))
		g.Expect(namespace.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/"+mode+"-version", "latest"))
	}
	g.Expect(namespace.Annotations).To(HaveKeyWithValue(mhstv1alpha1.AnnotationCreatedBy, "tenant-a"))

	var quota corev1.ResourceQuota
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: areaQuotaName}, &quota)).To(Succeed())
	g.Expect(quota.Spec.Hard.Pods().String()).To(Equal("100"))
	g.Expect(quota.Spec.Hard).To(HaveLen(len(DefaultTenancy().ResourceQuota)))
	var limits corev1.LimitRange
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: areaLimitRangeName}, &limits)).To(Succeed())
	g.Expect(limits.Spec.Limits).To(HaveLen(1))
	g.Expect(limits.Spec.Limits[0].DefaultRequest.Memory().String()).To(Equal("128Mi"))

	var deny, same, from networkingv1.NetworkPolicy
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyDenyIngress}, &deny)).To(Succeed())
	g.Expect(deny.Spec.PolicyTypes).To(Equal([]networkingv1.PolicyType{networkingv1.PolicyTypeIngress}))
	g.Expect(deny.Spec.Ingress).To(BeEmpty())
	g.Expect(deny.Spec.PodSelector.MatchLabels).To(BeEmpty())
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyAllowSameNamespace}, &same)).To(Succeed())
	g.Expect(same.Spec.Ingress).To(HaveLen(1))
	g.Expect(same.Spec.Ingress[0].From[0].NamespaceSelector).To(BeNil())
	g.Expect(same.Spec.Ingress[0].From[0].PodSelector).NotTo(BeNil())
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyAllowIngressFrom}, &from)).To(Succeed())
	g.Expect(from.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels).To(HaveKeyWithValue("ingress", "true"))
	// Egress is restricted by default: the same namespace and the cluster
	// DNS, as the area allows nothing more.
	var egress networkingv1.NetworkPolicy
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyRestrictEgress}, &egress)).To(Succeed())
	g.Expect(egress.Spec.PolicyTypes).To(Equal([]networkingv1.PolicyType{networkingv1.PolicyTypeEgress}))
	g.Expect(egress.Spec.Egress).To(HaveLen(2))

	var viewer, lead rbacv1.RoleBinding
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: areaBoardRole}, &viewer)).To(Succeed())
	g.Expect(viewer.RoleRef.Name).To(Equal(areaBoardRole))
	g.Expect(viewer.Subjects).To(ConsistOf(
		rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "tenant-a-chair"},
		rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "tenant-a-schools"}))
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: areaLeadRole}, &lead)).To(Succeed())
	g.Expect(lead.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "tenant-a-lead"}))
	var reader rbacv1.ClusterRole
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "mhst-area-tenant-a-reader"}, &reader)).To(Succeed())
	g.Expect(reader.Rules).To(HaveLen(1))
	g.Expect(reader.Rules[0].ResourceNames).To(Equal([]string{"tenant-a"}))
	g.Expect(reader.Rules[0].Verbs).To(ConsistOf("get", "watch"))
	g.Expect(reader.OwnerReferences).To(HaveLen(1))
	g.Expect(reader.OwnerReferences[0].UID).To(Equal(area.UID))
	var readerBinding rbacv1.ClusterRoleBinding
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "mhst-area-tenant-a-reader"}, &readerBinding)).To(Succeed())
	g.Expect(readerBinding.Subjects).To(HaveLen(3))

	// Spec changes follow: the wave label, the quota override, the
	// ingress allowance withdrawn, the board without health.
	area.Spec.Wave = 4
	area.Spec.Tenancy.AllowIngressFrom = nil
	area.Spec.Tenancy.ResourceQuota = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("7")}
	area.Spec.Governance.Board = area.Spec.Governance.Board[1:]
	updateAreaSpec(ctx, g, area)
	waitAreaActive(ctx, t, "tenant-a")
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
		g.Expect(namespace.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelWave, "4"))
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: areaQuotaName}, &quota)).To(Succeed())
		g.Expect(quota.Spec.Hard).To(HaveLen(1))
		g.Expect(quota.Spec.Hard.Pods().String()).To(Equal("7"))
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyAllowIngressFrom}, &networkingv1.NetworkPolicy{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		area := getArea(ctx, g, "tenant-a")
		gov := meta.FindStatusCondition(area.Status.Conditions, mhstv1alpha1.ConditionGovernanceReady)
		g.Expect(gov.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(gov.Reason).To(Equal(mhstv1alpha1.ReasonMissingHealth))
		g.Expect(gov.ObservedGeneration).To(Equal(area.Generation))
	}, eventuallyTimeout, pollInterval).Should(Succeed())
}

func TestLocalAreaScheduledUntilActivateAt(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	area := newTestArea("scheduled")
	area.Spec.ActivateAt = &metav1.Time{Time: time.Now().Add(time.Minute)}
	createArea(ctx, t, area)

	r := &LocalAreaReconciler{Client: k8sClient, APIReader: k8sClient, Recorder: events.NewFakeRecorder(100), Tenancy: DefaultTenancy(), Coverage: newAreaCoverage(k8sClient), metrics: newAreaStateMetrics()}
	res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: "scheduled"}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(BeNumerically("~", time.Minute, 5*time.Second))

	area = getArea(ctx, g, "scheduled")
	g.Expect(area.Status.Phase).To(Equal(mhstv1alpha1.PhaseScheduled))
	g.Expect(meta.FindStatusCondition(area.Status.Conditions, mhstv1alpha1.ConditionReady).Reason).To(Equal(mhstv1alpha1.ReasonScheduled))
	g.Expect(area.Finalizers).To(BeEmpty(), "a scheduled area has nothing to finalize")
	g.Consistently(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Name: "mhst-scheduled"}, &corev1.Namespace{}))
	}, 2*time.Second, pollInterval).Should(BeTrue(), "nothing is provisioned before activateAt")

	area.Spec.ActivateAt = &metav1.Time{Time: time.Now().Add(-time.Second)}
	updateAreaSpec(ctx, g, area)
	area = waitAreaActive(ctx, t, "scheduled")
	g.Expect(area.Status.ActivatedAt).NotTo(BeNil())
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "mhst-scheduled"}, &corev1.Namespace{})).To(Succeed())
}

// containsAll reports whether s contains every part.
func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// updateAreaSpec writes area's spec to the API server as a person editing
// it would: on a conflict (the operator wrote the area's status meanwhile)
// it reads the area again and writes the same spec. area is left as stored.
func updateAreaSpec(ctx context.Context, g Gomega, area *mhstv1alpha1.LocalArea) {
	spec := area.Spec.DeepCopy()
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(area), area); err != nil {
			return err
		}
		area.Spec = *spec.DeepCopy()
		return k8sClient.Update(ctx, area)
	})).To(Succeed())
}
