package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// createNamespace creates a namespace for a test and deletes it afterwards.
func createNamespace(ctx context.Context, t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := k8sClient.Create(ctx, ns); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), ns) })
}

// expectUntouched checks that the operator put nothing of its own in ns.
func expectUntouched(ctx context.Context, g Gomega, ns string) {
	var policies networkingv1.NetworkPolicyList
	g.Expect(k8sClient.List(ctx, &policies, client.InNamespace(ns))).To(Succeed())
	g.Expect(policies.Items).To(BeEmpty())
	var quotas corev1.ResourceQuotaList
	g.Expect(k8sClient.List(ctx, &quotas, client.InNamespace(ns))).To(Succeed())
	g.Expect(quotas.Items).To(BeEmpty())
	var bindings rbacv1.RoleBindingList
	g.Expect(k8sClient.List(ctx, &bindings, client.InNamespace(ns), client.MatchingLabels{mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue})).To(Succeed())
	g.Expect(bindings.Items).To(BeEmpty())
}

func TestLocalAreaTwoAreasSameNamespace(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	first := newTestArea("shared-first")
	first.Spec.Namespace = "mhst-shared"
	createArea(ctx, t, first)
	waitAreaActive(ctx, t, "shared-first")

	second := newTestArea("shared-second")
	second.Spec.Namespace = "mhst-shared"
	createArea(ctx, t, second)
	msg := waitAreaStalled(ctx, t, "shared-second", mhstv1alpha1.ReasonNamespaceConflict)
	g.Expect(msg).To(ContainSubstring("LocalArea shared-first"))
	g.Expect(msg).To(ContainSubstring("mhst-shared"))

	area := getArea(ctx, g, "shared-second")
	g.Expect(area.Status.Namespace).To(BeEmpty())
	g.Expect(area.Status.Phase).To(Equal(mhstv1alpha1.PhaseProvisioning))
	g.Eventually(func(g Gomega) {
		g.Expect(areaEvents(ctx, g, "shared-second", eventNamespaceConflict)).NotTo(BeEmpty())
	}, eventuallyTimeout, pollInterval).Should(Succeed())

	// The first keeps it: its label, and its people's access only.
	var ns corev1.Namespace
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "mhst-shared"}, &ns)).To(Succeed())
	g.Expect(ns.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelArea, "shared-first"))
	var viewer rbacv1.RoleBinding
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "mhst-shared", Name: areaBoardRole}, &viewer)).To(Succeed())
	for _, s := range viewer.Subjects {
		g.Expect(s.Name).To(HavePrefix("shared-first-"))
	}
	waitAreaActive(ctx, t, "shared-first")
	err := k8sClient.Get(ctx, client.ObjectKey{Name: "mhst-area-shared-second-reader"}, &rbacv1.ClusterRole{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "an area in conflict grants no access: %v", err)
}

func TestLocalAreaUnmanagedNamespaceConflict(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	createNamespace(ctx, t, "legacy-camhs", map[string]string{"team": "legacy"})
	area := newTestArea("legacy")
	area.Spec.Namespace = "legacy-camhs"
	createArea(ctx, t, area)

	msg := waitAreaStalled(ctx, t, "legacy", mhstv1alpha1.ReasonNamespaceConflict)
	g.Expect(containsAll(msg, "legacy-camhs", "not managed by mhst-operator", "mhst.io/area=legacy")).To(BeTrue(), msg)
	var ns corev1.Namespace
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "legacy-camhs"}, &ns)).To(Succeed())
	g.Expect(ns.Labels).To(Equal(map[string]string{"team": "legacy", "kubernetes.io/metadata.name": "legacy-camhs"}))
	g.Expect(ns.Annotations).NotTo(HaveKey(mhstv1alpha1.AnnotationCreatedBy))
	expectUntouched(ctx, g, "legacy-camhs")

	// Handing it over is a person's act: label it for the area.
	ns.Labels[mhstv1alpha1.LabelArea] = "legacy"
	g.Expect(k8sClient.Update(ctx, &ns)).To(Succeed())
	waitAreaActive(ctx, t, "legacy")
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "legacy-camhs"}, &ns)).To(Succeed())
	g.Expect(ns.Annotations).NotTo(HaveKey(mhstv1alpha1.AnnotationCreatedBy), "an adopted namespace is not the operator's to delete")
}

func TestLocalAreaKubeSystemIsNeverTaken(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	area := newTestArea("kube-taker")
	area.Spec.Namespace = "kube-system"
	createArea(ctx, t, area)
	msg := waitAreaStalled(ctx, t, "kube-taker", mhstv1alpha1.ReasonNamespaceConflict)
	g.Expect(containsAll(msg, "kube-system", "not managed by mhst-operator")).To(BeTrue(), msg)
	var ns corev1.Namespace
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "kube-system"}, &ns)).To(Succeed())
	g.Expect(ns.Labels).NotTo(HaveKey(mhstv1alpha1.LabelArea))
	g.Expect(ns.Labels).NotTo(HaveKey("pod-security.kubernetes.io/enforce"))
	expectUntouched(ctx, g, "kube-system")
}

func TestLocalAreaRetainKeepsNamespaceAndReadopts(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	createArea(ctx, t, newTestArea("retained"))
	waitAreaActive(ctx, t, "retained")
	ns := "mhst-retained"
	data := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "team-notes", Namespace: ns}, Data: map[string]string{"k": "v"}}
	g.Expect(k8sClient.Create(ctx, data)).To(Succeed())

	deleteArea(ctx, t, "retained")

	var namespace corev1.Namespace
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
	g.Expect(namespace.DeletionTimestamp).To(BeNil())
	g.Expect(namespace.Labels).NotTo(HaveKey(mhstv1alpha1.LabelArea))
	g.Expect(namespace.Labels).NotTo(HaveKey(mhstv1alpha1.LabelManagedBy))
	g.Expect(namespace.Labels).NotTo(HaveKey(mhstv1alpha1.LabelWave))
	g.Expect(namespace.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
	g.Expect(namespace.Annotations).NotTo(HaveKey(mhstv1alpha1.AnnotationCreatedBy))
	g.Expect(namespace.Annotations).To(HaveKeyWithValue(annotationReleasedBy, "retained"))
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(data), &corev1.ConfigMap{})).To(Succeed())
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyDenyIngress}, &networkingv1.NetworkPolicy{})).To(Succeed())
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: areaQuotaName}, &corev1.ResourceQuota{})).To(Succeed())
	// Access goes with the area.
	for _, obj := range []client.Object{
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: areaBoardRole}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: areaLeadRole}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "mhst-area-retained-reader"}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "mhst-area-retained-reader"}},
	} {
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%T %s should be gone: %v", obj, obj.GetName(), err)
	}
	// The released namespace is no one else's to take...
	other := newTestArea("retained-other")
	other.Spec.Namespace = ns
	createArea(ctx, t, other)
	msg := waitAreaStalled(ctx, t, "retained-other", mhstv1alpha1.ReasonNamespaceConflict)
	g.Expect(msg).To(ContainSubstring("released by LocalArea retained"))
	deleteArea(ctx, t, "retained-other")

	// ...but a LocalArea of the same name adopts it again.
	createArea(ctx, t, newTestArea("retained"))
	waitAreaActive(ctx, t, "retained")
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace)).To(Succeed())
	g.Expect(namespace.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelArea, "retained"))
	g.Expect(namespace.Annotations).NotTo(HaveKey(annotationReleasedBy))
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: areaBoardRole}, &rbacv1.RoleBinding{})).To(Succeed())
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(data), &corev1.ConfigMap{})).To(Succeed())
	t.Cleanup(func() {
		_ = k8sClient.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	})
}

func TestLocalAreaDeletePolicyDeletesOnlyItsOwnNamespace(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	created := newTestArea("deleted")
	created.Spec.DeletionPolicy = mhstv1alpha1.DeletionDelete
	createArea(ctx, t, created)
	waitAreaActive(ctx, t, "deleted")

	// A namespace a cluster administrator handed over is kept even under
	// Delete: the operator did not create it.
	createNamespace(ctx, t, "handed-over", nil)
	handOverNamespace(ctx, t, "handed-over", "adopter")
	adopter := newTestArea("adopter")
	adopter.Spec.Namespace = "handed-over"
	adopter.Spec.DeletionPolicy = mhstv1alpha1.DeletionDelete
	createArea(ctx, t, adopter)
	waitAreaActive(ctx, t, "adopter")

	deleteArea(ctx, t, "deleted")
	err := k8sClient.Get(ctx, client.ObjectKey{Name: "mhst-deleted"}, &corev1.Namespace{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the area waits for its namespace to be gone: %v", err)

	deleteArea(ctx, t, "adopter")
	var ns corev1.Namespace
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "handed-over"}, &ns)).To(Succeed())
	g.Expect(ns.DeletionTimestamp).To(BeNil())
	g.Expect(ns.Annotations).To(HaveKeyWithValue(annotationReleasedBy, "adopter"))
	g.Eventually(func(g Gomega) {
		g.Expect(areaEvents(ctx, g, "adopter", eventNamespaceRetained)).NotTo(BeEmpty())
	}, eventuallyTimeout, pollInterval).Should(Succeed())
}

// handOverNamespace does what docs/localarea.md tells a cluster
// administrator to do to give an existing namespace to an area:
// kubectl label namespace <namespace> mhst.io/area=<area>.
func handOverNamespace(ctx context.Context, t *testing.T, namespace, area string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	patch := []byte(`{"metadata":{"labels":{"` + mhstv1alpha1.LabelArea + `":"` + area + `"}}}`)
	if err := k8sClient.Patch(ctx, ns, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatalf("hand namespace %s over to %s: %v", namespace, area, err)
	}
}

// releasedNamespace gives a namespace that no LocalArea holds any more,
// with objects in it, the one way the shipped admission policies allow:
// SupportTeams and SchoolCoverages are created only in an area's namespace,
// so an area is created, fill puts the objects there, and the area is then
// deleted with deletionPolicy Retain, which releases the namespace and
// keeps everything in it.
func releasedNamespace(ctx context.Context, t *testing.T, name string, fill func(namespace string)) {
	t.Helper()
	area := newTestArea(name)
	area.Spec.Namespace = name
	createArea(ctx, t, area)
	waitAreaActive(ctx, t, name)
	fill(name)
	deleteArea(ctx, t, name)
	NewWithT(t).Eventually(func(g Gomega) {
		var ns corev1.Namespace
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, &ns)).To(Succeed())
		g.Expect(ns.Labels).NotTo(HaveKey(mhstv1alpha1.LabelArea))
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	t.Cleanup(func() {
		_ = k8sClient.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
}
