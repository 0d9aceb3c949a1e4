package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// supportTeamIngressFrom is the namespace selector every test area admits
// ingress from, as a cluster's ingress controller would be.
var supportTeamIngressFrom = metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "ingress-nginx"}}

func TestSupportTeamDefaultRender(t *testing.T) {
	g := NewWithT(t)
	area := supportTeamTestArea(t, "st-default")
	team := supportTeamTestTeam(t, area.Status.Namespace, "north")

	d := supportTeamDeployment(t, team)
	pod := d.Spec.Template.Spec
	g.Expect(pod.SecurityContext).NotTo(BeNil())
	g.Expect(pod.SecurityContext.RunAsNonRoot).To(Equal(ptr.To(true)))
	g.Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	g.Expect(pod.AutomountServiceAccountToken).To(Equal(ptr.To(false)))
	g.Expect(pod.Containers).To(HaveLen(1))
	container := pod.Containers[0]
	g.Expect(container.Image).To(Equal(team.Spec.Service.Image))
	g.Expect(container.SecurityContext.AllowPrivilegeEscalation).To(Equal(ptr.To(false)))
	g.Expect(container.SecurityContext.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)))
	g.Expect(container.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	g.Expect(d.Spec.Replicas).To(Equal(ptr.To(int32(2))))
	g.Expect(d.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelWave, "3"))
	g.Expect(d.Labels).To(HaveKeyWithValue(mhstv1alpha1.LabelArea, area.Name))
	g.Expect(metav1.IsControlledBy(d, team)).To(BeTrue(), "the Deployment is controlled by the team")

	var policy networkingv1.NetworkPolicy
	supportTeamObject(t, client.ObjectKey{Namespace: team.Namespace, Name: "north-service"}, &policy)
	g.Expect(policy.Spec.Ingress).To(HaveLen(1))
	g.Expect(policy.Spec.Ingress[0].From).To(ConsistOf(
		networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{corev1.LabelMetadataName: team.Namespace}}},
		networkingv1.NetworkPolicyPeer{NamespaceSelector: &supportTeamIngressFrom},
	))
	g.Expect(policy.Spec.Ingress[0].Ports).To(HaveLen(1))
	g.Expect(policy.Spec.Ingress[0].Ports[0].Port.IntValue()).To(Equal(8080))

	team = supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamKinds(team.Status.Inventory)).To(Equal([]string{
			"ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"}))
	})
	g.Expect(slices.IsSortedFunc(team.Status.Inventory, func(a, b mhstv1alpha1.InventoryEntry) int {
		return strings.Compare(a.Kind+"/"+a.Name, b.Kind+"/"+b.Name)
	})).To(BeTrue())
	g.Expect(team.Status.Service.Name).To(Equal("north-service"))
	g.Expect(team.Status.Service.Replicas).To(Equal(int32(2)))
	// No pods run in this cluster until the test says so: the team waits
	// for its Deployment.
	g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
	g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionServiceAvailable).Reason).To(Equal(mhstv1alpha1.ReasonDeploymentPending))
}

func TestSupportTeamServiceChangeReachesDeployment(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-change")
	team := supportTeamTestTeam(t, area.Status.Namespace, "east")
	supportTeamDeployment(t, team)

	supportTeamUpdate(t, team, func(team *mhstv1alpha1.SupportTeam) {
		team.Spec.Service.Image = "registry.example/mhst/service:2.0"
		team.Spec.Service.Replicas = ptr.To(int32(1))
	})
	g.Eventually(func(g Gomega) {
		var d appsv1.Deployment
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: team.Namespace, Name: "east-service"}, &d)).To(Succeed())
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/mhst/service:2.0"))
		g.Expect(d.Spec.Replicas).To(Equal(ptr.To(int32(1))))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())

	// With one replica the built-in blueprint has no PodDisruptionBudget:
	// the one applied before is pruned.
	g.Eventually(func() bool {
		var pdb policyv1.PodDisruptionBudget
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: team.Namespace, Name: "east-service"}, &pdb)
		return apierrors.IsNotFound(err)
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(BeTrue())
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamKinds(team.Status.Inventory)).NotTo(ContainElement("PodDisruptionBudget"))
		g.Expect(team.Status.Service.Replicas).To(Equal(int32(1)))
	})
}

func TestSupportTeamCustomBlueprint(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-custom")
	ns := area.Status.Namespace
	bp := supportTeamBlueprint(t, ns, "web", supportTeamWebBlueprint(true))
	team := supportTeamNewTeam(ns, "south")
	team.Spec.Blueprint = &mhstv1alpha1.Blueprint{ConfigMapRef: mhstv1alpha1.ConfigMapReference{Name: bp.Name}}
	g.Expect(k8sClient.Create(ctx, team)).To(Succeed())

	d := supportTeamDeployment(t, team)
	g.Expect(d.Name).To(Equal("south-web"))
	g.Expect(d.Spec.Template.Spec.Containers).To(HaveLen(2), "the blueprint's sidecar is deployed")
	var svc corev1.Service
	supportTeamObject(t, client.ObjectKey{Namespace: ns, Name: "south-web"}, &svc)
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamKinds(team.Status.Inventory)).To(Equal([]string{"ConfigMap", "Deployment", "Service"}))
		g.Expect(team.Status.Service.Name).To(Equal("south-web"))
	})

	// The blueprint stops producing the Service: it is pruned, promptly,
	// because the blueprint's ConfigMap is watched.
	bp.Data = supportTeamWebBlueprint(false)
	g.Expect(k8sClient.Update(ctx, bp)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "south-web"}, &corev1.Service{}))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(BeTrue())
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamKinds(team.Status.Inventory)).To(Equal([]string{"ConfigMap", "Deployment"}))
	})
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(d), &appsv1.Deployment{})).To(Succeed(), "the Deployment stays")
}

func TestSupportTeamBlueprintRejected(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		want     string
	}{
		{
			name: "cluster role binding",
			resource: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: escalate
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: default
  namespace: default
`,
			want: "ClusterRoleBinding",
		},
		{
			name: "object in another namespace",
			resource: `apiVersion: v1
kind: ConfigMap
metadata:
  name: elsewhere
  namespace: kube-system
data:
  a: b
`,
			want: "kube-system",
		},
	}
	area := supportTeamTestArea(t, "st-rejected")
	ns := area.Status.Namespace
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			bp := supportTeamBlueprint(t, ns, fmt.Sprintf("rejected-%d", i), supportTeamWebBlueprint(true))
			team := supportTeamNewTeam(ns, fmt.Sprintf("rejected-%d", i))
			team.Spec.Blueprint = &mhstv1alpha1.Blueprint{ConfigMapRef: mhstv1alpha1.ConfigMapReference{Name: bp.Name}}
			g.Expect(k8sClient.Create(ctx, team)).To(Succeed())
			before := supportTeamDeployment(t, team)
			team = supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
				g.Expect(team.Status.Inventory).To(HaveLen(3))
			})
			inventory := team.Status.Inventory

			// The new blueprint also changes the Deployment and drops the
			// Service: none of it may happen.
			files := supportTeamWebBlueprint(false)
			files["deployment.yaml"] = strings.Replace(files["deployment.yaml"], "metrics:2", "metrics:3", 1)
			files["extra.yaml"] = tt.resource
			files["kustomization.yaml"] += "- extra.yaml\n"
			bp.Data = files
			g.Expect(k8sClient.Update(ctx, bp)).To(Succeed())

			team = supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
				ready := supportTeamCondition(team, mhstv1alpha1.ConditionReady)
				g.Expect(ready.Reason).To(Equal(mhstv1alpha1.ReasonBlueprintRejected))
				g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready.Message).To(ContainSubstring(tt.want))
				g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
			})
			g.Expect(team.Status.Inventory).To(Equal(inventory))
			var after appsv1.Deployment
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(before), &after)).To(Succeed())
			g.Expect(after.ResourceVersion).To(Equal(before.ResourceVersion), "the running Deployment is left as it was")
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: team.Name + "-web"}, &corev1.Service{})).
				To(Succeed(), "nothing is pruned")
			var bindings metav1.PartialObjectMetadataList
			bindings.SetGroupVersionKind(schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBindingList"})
			g.Expect(k8sClient.List(ctx, &bindings)).To(Succeed())
			for _, b := range bindings.Items {
				g.Expect(b.Name).NotTo(HaveSuffix("escalate"))
			}
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: team.Name + "-elsewhere"},
				&corev1.ConfigMap{}))).To(BeTrue())
		})
	}
}

func TestSupportTeamBlueprintUnusable(t *testing.T) {
	area := supportTeamTestArea(t, "st-unusable")
	ns := area.Status.Namespace
	missingFile := supportTeamWebBlueprint(true)
	missingFile["kustomization.yaml"] += "- hpa.yaml\n"
	tests := []struct {
		name      string
		blueprint map[string]string
		labelled  bool
		reason    string
		message   string
	}{
		{name: "unbuildable", blueprint: missingFile, labelled: true, reason: mhstv1alpha1.ReasonBlueprintInvalid, message: "hpa.yaml"},
		{name: "no kustomization", blueprint: map[string]string{"deployment.yaml": supportTeamWebBlueprint(true)["deployment.yaml"]},
			labelled: true, reason: mhstv1alpha1.ReasonBlueprintInvalid, message: "kustomization"},
		{name: "missing", reason: mhstv1alpha1.ReasonBlueprintNotFound, message: "does not exist"},
		{name: "not labelled", blueprint: supportTeamWebBlueprint(true), reason: mhstv1alpha1.ReasonBlueprintNotFound,
			message: "is not labelled mhst.io/configmap=blueprint"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			name := fmt.Sprintf("unusable-%d", i)
			if tt.blueprint != nil {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: tt.blueprint}
				if tt.labelled {
					cm.Labels = map[string]string{mhstv1alpha1.LabelConfigMap: mhstv1alpha1.ConfigMapBlueprint}
				}
				g.Expect(k8sClient.Create(ctx, cm)).To(Succeed())
			}
			team := supportTeamNewTeam(ns, name)
			team.Spec.Blueprint = &mhstv1alpha1.Blueprint{ConfigMapRef: mhstv1alpha1.ConfigMapReference{Name: name}}
			g.Expect(k8sClient.Create(ctx, team)).To(Succeed())
			team = supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
				ready := supportTeamCondition(team, mhstv1alpha1.ConditionReady)
				g.Expect(ready.Reason).To(Equal(tt.reason))
				g.Expect(ready.Message).To(ContainSubstring(tt.message))
				g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
			})
			g.Expect(team.Status.Inventory).To(BeEmpty())
			g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionServiceAvailable).Reason).To(Equal(mhstv1alpha1.ReasonNotDeployed))
		})
	}
}

func TestSupportTeamBlueprintLabelledLater(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-label")
	ns := area.Status.Namespace
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Data: supportTeamWebBlueprint(true)}
	g.Expect(k8sClient.Create(ctx, cm)).To(Succeed())
	team := supportTeamNewTeam(ns, "late")
	team.Spec.Blueprint = &mhstv1alpha1.Blueprint{ConfigMapRef: mhstv1alpha1.ConfigMapReference{Name: "web"}}
	g.Expect(k8sClient.Create(ctx, team)).To(Succeed())
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionReady).Reason).To(Equal(mhstv1alpha1.ReasonBlueprintNotFound))
	})

	// Labelling it brings it into the operator's cache, which wakes the team.
	cm.Labels = map[string]string{mhstv1alpha1.LabelConfigMap: mhstv1alpha1.ConfigMapBlueprint}
	g.Expect(k8sClient.Update(ctx, cm)).To(Succeed())
	d := supportTeamDeployment(t, team)
	g.Expect(d.Name).To(Equal("late-web"))
}

func TestSupportTeamRestoresDeletedService(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-drift")
	team := supportTeamTestTeam(t, area.Status.Namespace, "west")
	supportTeamDeployment(t, team)
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamKinds(team.Status.Inventory)).To(ContainElement("Service"))
	})

	key := client.ObjectKey{Namespace: team.Namespace, Name: "west-service"}
	var svc corev1.Service
	g.Expect(k8sClient.Get(ctx, key, &svc)).To(Succeed())
	deletedUID := svc.UID
	g.Expect(k8sClient.Delete(ctx, &svc)).To(Succeed())

	g.Eventually(func(g Gomega) {
		var restored corev1.Service
		g.Expect(k8sClient.Get(ctx, key, &restored)).To(Succeed())
		g.Expect(restored.UID).NotTo(Equal(deletedUID))
		g.Expect(metav1.IsControlledBy(&restored, team)).To(BeTrue())
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	g.Eventually(func(g Gomega) {
		var events eventsv1.EventList
		g.Expect(k8sClient.List(ctx, &events, client.InNamespace(team.Namespace))).To(Succeed())
		g.Expect(events.Items).To(ContainElement(SatisfyAll(
			HaveField("Reason", mhstv1alpha1.ReasonDriftCorrected),
			HaveField("Regarding.Name", team.Name),
			HaveField("Note", ContainSubstring("west-service")),
		)))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}

// A person scaling the team's Deployment or changing its image by hand: the
// render has not changed since it was applied, so the operator puts the
// team's declared service back and calls it drift.
func TestSupportTeamRestoresEditedDeployment(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-edit")
	team := supportTeamTestTeam(t, area.Status.Namespace, "east")
	d := supportTeamDeployment(t, team)
	declaredImage := d.Spec.Template.Spec.Containers[0].Image
	declaredReplicas := *d.Spec.Replicas

	edited := d.DeepCopy()
	edited.Spec.Replicas = ptr.To(declaredReplicas + 3)
	edited.Spec.Template.Spec.Containers[0].Image = "registry.example/unreviewed:latest"
	g.Expect(k8sClient.Update(ctx, edited)).To(Succeed())

	g.Eventually(func(g Gomega) {
		var live appsv1.Deployment
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(d), &live)).To(Succeed())
		g.Expect(*live.Spec.Replicas).To(Equal(declaredReplicas))
		g.Expect(live.Spec.Template.Spec.Containers[0].Image).To(Equal(declaredImage))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	g.Eventually(func(g Gomega) {
		var events eventsv1.EventList
		g.Expect(k8sClient.List(ctx, &events, client.InNamespace(team.Namespace))).To(Succeed())
		g.Expect(events.Items).To(ContainElement(SatisfyAll(
			HaveField("Reason", mhstv1alpha1.ReasonDriftCorrected),
			HaveField("Regarding.Name", team.Name),
			HaveField("Note", ContainSubstring("changed outside the operator")),
		)))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}

// A change of the team's spec changes its objects without any drift: only
// an object that no longer holds a render that has not changed is drift.
func TestSupportTeamRenderChangeIsNotDrift(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-render-change")
	team := supportTeamTestTeam(t, area.Status.Namespace, "south")
	d := supportTeamDeployment(t, team)
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamKinds(team.Status.Inventory)).To(ContainElement("Service"))
	})

	const image = "registry.example/mhst/south:2"
	supportTeamUpdate(t, team, func(team *mhstv1alpha1.SupportTeam) { team.Spec.Service.Image = image })
	g.Eventually(func(g Gomega) {
		var live appsv1.Deployment
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(d), &live)).To(Succeed())
		g.Expect(live.Spec.Template.Spec.Containers[0].Image).To(Equal(image))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())

	// Then real drift, on another object: once its Event is there, any
	// Event the render change had caused (emitted before it) is too.
	var svc corev1.Service
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: team.Namespace, Name: "south-service"}, &svc)).To(Succeed())
	g.Expect(svc.Spec.Selector).NotTo(BeEmpty())
	for key := range svc.Spec.Selector {
		svc.Spec.Selector[key] = "edited-by-hand"
	}
	g.Expect(k8sClient.Update(ctx, &svc)).To(Succeed())
	var notes []string
	g.Eventually(func(g Gomega) {
		var events eventsv1.EventList
		g.Expect(k8sClient.List(ctx, &events, client.InNamespace(team.Namespace))).To(Succeed())
		notes = nil
		for _, e := range events.Items {
			if e.Reason == mhstv1alpha1.ReasonDriftCorrected && e.Regarding.Name == team.Name {
				notes = append(notes, e.Note)
			}
		}
		g.Expect(notes).To(ContainElement(ContainSubstring("Service south-service was changed outside the operator")))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	g.Expect(notes).NotTo(ContainElement(ContainSubstring("Deployment")), "a change of the render is not drift")
}

func TestSupportTeamDeletionRemovesService(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-delete")
	team := supportTeamTestTeam(t, area.Status.Namespace, "gone")
	d := supportTeamDeployment(t, team)

	g.Expect(k8sClient.Delete(ctx, team)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(d), &appsv1.Deployment{})) &&
			apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(d), &corev1.Service{}))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(BeTrue(), "the garbage collector removes the team's service")
}

func TestSupportTeamReadinessFromDeployment(t *testing.T) {
	g := NewWithT(t)
	area := supportTeamTestArea(t, "st-ready")
	team := supportTeamTestTeam(t, area.Status.Namespace, "ready")
	d := supportTeamDeployment(t, team)

	supportTeamMarkAvailable(t, d)
	team = supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	})
	g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionServiceAvailable).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(meta.FindStatusCondition(team.Status.Conditions, mhstv1alpha1.ConditionReconciling)).To(BeNil())
	g.Expect(meta.FindStatusCondition(team.Status.Conditions, mhstv1alpha1.ConditionStalled)).To(BeNil())
	g.Expect(*team.Status.Service).To(Equal(mhstv1alpha1.ServiceStatus{Name: "ready-service", Replicas: 2, ReadyReplicas: 2}))
	for _, c := range team.Status.Conditions {
		g.Expect(c.ObservedGeneration).To(Equal(team.Generation), c.Type)
	}

	// Scaled to zero on purpose: not serving, but the desired state.
	supportTeamUpdate(t, team, func(team *mhstv1alpha1.SupportTeam) { team.Spec.Service.Replicas = ptr.To(int32(0)) })
	team = supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		available := supportTeamCondition(team, mhstv1alpha1.ConditionServiceAvailable)
		g.Expect(available.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(available.Reason).To(Equal(mhstv1alpha1.ReasonScaledToZero))
	})
	ready := supportTeamCondition(team, mhstv1alpha1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(ready.Reason).To(Equal(mhstv1alpha1.ReasonScaledToZero))
}

func TestSupportTeamNoLocalArea(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	var team *mhstv1alpha1.SupportTeam
	releasedNamespace(ctx, t, "st-no-area", func(ns string) {
		team = supportTeamTestTeam(t, ns, "lost")
		supportTeamDeployment(t, team)
	})

	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		ready := supportTeamCondition(team, mhstv1alpha1.ConditionReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(mhstv1alpha1.ReasonNoLocalArea))
		g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
	})
	// The area was deleted with deletionPolicy Retain: what ran there is
	// kept as it was, not pruned.
	var deployments appsv1.DeploymentList
	g.Expect(k8sClient.List(ctx, &deployments, client.InNamespace("st-no-area"))).To(Succeed())
	g.Expect(deployments.Items).To(HaveLen(1), "a released namespace keeps the team's service")
}

func TestSupportTeamNoPractitionersInPost(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-staffing")
	team := supportTeamNewTeam(area.Status.Namespace, "recruiting")
	team.Spec.Staffing = mhstv1alpha1.Staffing{SeniorClinicians: 1, Vacancies: 4}
	g.Expect(k8sClient.Create(ctx, team)).To(Succeed())

	d := supportTeamDeployment(t, team)
	supportTeamMarkAvailable(t, d)
	team = supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionServiceAvailable).Status).To(Equal(metav1.ConditionTrue))
	})
	ready := supportTeamCondition(team, mhstv1alpha1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(ready.Reason).To(Equal(mhstv1alpha1.ReasonNoPractitioners))

	// Staffing is part of the service's configuration, so the Deployment
	// rolls out again before the team is Ready.
	supportTeamUpdate(t, team, func(team *mhstv1alpha1.SupportTeam) {
		team.Spec.Staffing.EducationMentalHealthPractitioners = 2
	})
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
		g.Expect(d.Generation).To(BeNumerically(">", d.Status.ObservedGeneration))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	supportTeamMarkAvailable(t, d)
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	})
}

func TestSupportTeamOverCapacity(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-capacity")
	ns := area.Status.Namespace
	team := supportTeamTestTeam(t, ns, "busy")
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionWithinCapacity).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(team.Status.Allocation).To(Equal(&mhstv1alpha1.TeamAllocation{CapacityUsedPercent: "0.0"}))
	})

	cov := &mhstv1alpha1.SchoolCoverage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "busy-schools"},
		Spec: mhstv1alpha1.SchoolCoverageSpec{
			TeamRef:   &mhstv1alpha1.TeamReference{Name: team.Name},
			Agreement: &mhstv1alpha1.Agreement{DecisionRef: "GB-2025-07 item 3"},
		},
	}
	for i := range 21 {
		cov.Spec.Settings = append(cov.Spec.Settings, mhstv1alpha1.Setting{
			URN: fmt.Sprintf("%06d", 100000+i), Name: fmt.Sprintf("School %d", i),
			Phase: mhstv1alpha1.SettingPhase("Primary"), Pupils: 300,
		})
	}
	g.Expect(k8sClient.Create(ctx, cov)).To(Succeed())

	team = supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		within := supportTeamCondition(team, mhstv1alpha1.ConditionWithinCapacity)
		g.Expect(within.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(within.Reason).To(Equal(mhstv1alpha1.ReasonOverCapacity))
	})
	g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionWithinCapacity).Message).To(ContainSubstring("21 settings (at most 20)"))
	g.Expect(team.Status.Allocation).To(Equal(&mhstv1alpha1.TeamAllocation{Settings: 21, Pupils: 6300, CapacityUsedPercent: "105.0"}))
}

func TestSupportTeamSuspended(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-suspend")
	team := supportTeamTestTeam(t, area.Status.Namespace, "paused")
	before := supportTeamDeployment(t, team)

	supportTeamUpdate(t, team, func(team *mhstv1alpha1.SupportTeam) {
		team.Spec.Suspend = true
		team.Spec.Service.Image = "registry.example/mhst/service:9.9"
	})
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		ready := supportTeamCondition(team, mhstv1alpha1.ConditionReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(mhstv1alpha1.ReasonSuspended))
	})
	var after appsv1.Deployment
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(before), &after)).To(Succeed())
	g.Expect(after.ResourceVersion).To(Equal(before.ResourceVersion), "a suspended team's service is left as it is")
}

func TestSupportTeamInSuspendedArea(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-area-suspend")
	team := supportTeamTestTeam(t, area.Status.Namespace, "frozen")
	before := supportTeamDeployment(t, team)
	team = supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(team.Status.ObservedGeneration).To(Equal(team.Generation))
	})

	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(area), area)).To(Succeed())
	area.Spec.Suspend = true
	updateAreaSpec(ctx, g, area)
	supportTeamUpdate(t, team, func(team *mhstv1alpha1.SupportTeam) {
		team.Spec.Service.Image = "registry.example/mhst/service:9.9"
	})
	g.Consistently(func(g Gomega) {
		var after appsv1.Deployment
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(before), &after)).To(Succeed())
		g.Expect(after.ResourceVersion).To(Equal(before.ResourceVersion))
		var current mhstv1alpha1.SupportTeam
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(team), &current)).To(Succeed())
		g.Expect(current.Status).To(Equal(team.Status), "nothing is written in a suspended area")
	}).WithTimeout(3 * time.Second).WithPolling(pollInterval).Should(Succeed())
}

// TestSupportTeamIdle checks that converged teams cost no writes at all:
// no apply, no status patch, nothing.
func TestSupportTeamIdle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-idle")
	ns := area.Status.Namespace
	serving := supportTeamTestTeam(t, ns, "serving")
	supportTeamMarkAvailable(t, supportTeamDeployment(t, serving))

	bp := supportTeamBlueprint(t, ns, "web", supportTeamWebBlueprint(true))
	custom := supportTeamNewTeam(ns, "custom")
	custom.Spec.Blueprint = &mhstv1alpha1.Blueprint{ConfigMapRef: mhstv1alpha1.ConfigMapReference{Name: bp.Name}}
	g.Expect(k8sClient.Create(ctx, custom)).To(Succeed())
	supportTeamMarkAvailable(t, supportTeamDeployment(t, custom))

	stalledTeam := supportTeamNewTeam(ns, "stalled")
	stalledTeam.Spec.Blueprint = &mhstv1alpha1.Blueprint{ConfigMapRef: mhstv1alpha1.ConfigMapReference{Name: "absent"}}
	g.Expect(k8sClient.Create(ctx, stalledTeam)).To(Succeed())

	for _, team := range []*mhstv1alpha1.SupportTeam{serving, custom} {
		supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
			g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		})
	}
	supportTeamEventually(t, stalledTeam, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionReady).Reason).To(Equal(mhstv1alpha1.ReasonBlueprintNotFound))
	})

	// Let whatever the other tests started settle, then watch.
	idle := waitForQuiet(g)
	g.Consistently(writes.count).WithTimeout(30 * time.Second).WithPolling(time.Second).Should(Equal(idle))
}

// supportTeamTestArea creates a LocalArea (wave 3, a board with health and
// education, ingress admitted from ingress-nginx) and waits until the
// LocalArea controller has made it Active in its namespace.
func supportTeamTestArea(t *testing.T, name string) *mhstv1alpha1.LocalArea {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	area := &mhstv1alpha1.LocalArea{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: mhstv1alpha1.LocalAreaSpec{
			DisplayName:        name,
			LocalAuthorityCode: "E08000035",
			Region:             "Yorkshire and The Humber",
			Wave:               3,
			Governance: mhstv1alpha1.Governance{Board: []mhstv1alpha1.BoardMember{
				{Kind: mhstv1alpha1.SubjectGroup, Name: name + "-icb", Sector: mhstv1alpha1.SectorHealth, Role: mhstv1alpha1.RoleChair},
				{Kind: mhstv1alpha1.SubjectGroup, Name: name + "-schools", Sector: mhstv1alpha1.SectorEducation},
			}},
			Tenancy: mhstv1alpha1.Tenancy{AllowIngressFrom: []metav1.LabelSelector{supportTeamIngressFrom}},
		},
	}
	g.Expect(k8sClient.Create(ctx, area)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(area), area)).To(Succeed())
		g.Expect(area.Status.Phase).To(Equal(mhstv1alpha1.PhaseActive))
		g.Expect(area.Status.Namespace).To(Equal(area.EffectiveNamespace()))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	return area
}

// supportTeamNewTeam returns a staffed team on the built-in blueprint.
func supportTeamNewTeam(ns, name string) *mhstv1alpha1.SupportTeam {
	return &mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mhstv1alpha1.SupportTeamSpec{
			DisplayName: name,
			Staffing:    mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 4, SeniorClinicians: 1},
			Service:     mhstv1alpha1.TeamService{Image: "registry.example/mhst/service:1.0"},
		},
	}
}

// supportTeamTestTeam creates supportTeamNewTeam(ns, name).
func supportTeamTestTeam(t *testing.T, ns, name string) *mhstv1alpha1.SupportTeam {
	t.Helper()
	team := supportTeamNewTeam(ns, name)
	NewWithT(t).Expect(k8sClient.Create(context.Background(), team)).To(Succeed())
	return team
}

// supportTeamUpdate changes the team's spec, retrying on conflicts.
func supportTeamUpdate(t *testing.T, team *mhstv1alpha1.SupportTeam, change func(*mhstv1alpha1.SupportTeam)) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(team), team); err != nil {
			return err
		}
		change(team)
		return k8sClient.Update(context.Background(), team)
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}

// supportTeamEventually waits until the team's status, at its current
// generation, passes check, and returns the team as it then was.
func supportTeamEventually(t *testing.T, team *mhstv1alpha1.SupportTeam, check func(Gomega, *mhstv1alpha1.SupportTeam)) *mhstv1alpha1.SupportTeam {
	t.Helper()
	var current mhstv1alpha1.SupportTeam
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(team), &current)).To(Succeed())
		g.Expect(current.Status.ObservedGeneration).To(Equal(current.Generation))
		check(g, &current)
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	return &current
}

// supportTeamDeployment waits for the team's Deployment and returns it.
func supportTeamDeployment(t *testing.T, team *mhstv1alpha1.SupportTeam) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	NewWithT(t).Eventually(func(g Gomega) {
		var deployments appsv1.DeploymentList
		g.Expect(k8sClient.List(context.Background(), &deployments, client.InNamespace(team.Namespace),
			client.MatchingLabels{mhstv1alpha1.LabelTeam: team.Name})).To(Succeed())
		g.Expect(deployments.Items).To(HaveLen(1))
		d = deployments.Items[0]
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	return &d
}

// supportTeamObject reads one object of a team's service once it exists:
// the Deployment appearing does not mean the rest of the render has been
// applied yet.
func supportTeamObject(t *testing.T, key client.ObjectKey, obj client.Object) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		return k8sClient.Get(context.Background(), key, obj)
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}

// supportTeamMarkAvailable writes the status the Deployment controller would
// write once all the Deployment's pods are ready (no Deployment controller
// runs in the test cluster).
func supportTeamMarkAvailable(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	replicas := ptr.Deref(d.Spec.Replicas, 1)
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           replicas,
		UpdatedReplicas:    replicas,
		ReadyReplicas:      replicas,
		AvailableReplicas:  replicas,
		Conditions: []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
			Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.",
			LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now(),
		}},
	}
	NewWithT(t).Expect(k8sClient.Status().Update(context.Background(), d)).To(Succeed())
}

// supportTeamBlueprint creates a blueprint ConfigMap labelled for the operator.
func supportTeamBlueprint(t *testing.T, ns, name string, files map[string]string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{mhstv1alpha1.LabelConfigMap: mhstv1alpha1.ConfigMapBlueprint}},
		Data: files,
	}
	NewWithT(t).Expect(k8sClient.Create(context.Background(), cm)).To(Succeed())
	return cm
}

// supportTeamWebBlueprint is a custom blueprint: a Deployment "web" with a sidecar,
// and, when withService, a Service in front of it.
func supportTeamWebBlueprint(withService bool) map[string]string {
	files := map[string]string{
		"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n",
		"deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: service
        image: placeholder
        ports:
        - name: http
          containerPort: 3000
        envFrom:
        - configMapRef:
            name: config
      - name: metrics-sidecar
        image: registry.example/metrics:2
`,
	}
	if withService {
		files["service.yaml"] = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: http
`
		files["kustomization.yaml"] += "- service.yaml\n"
	}
	return files
}

// supportTeamKinds lists the kinds of an inventory, in its order.
func supportTeamKinds(inventory []mhstv1alpha1.InventoryEntry) []string {
	out := make([]string, len(inventory))
	for i, e := range inventory {
		out[i] = e.Kind
	}
	return out
}

// supportTeamCondition returns the team's condition of type typ, or an empty one.
func supportTeamCondition(team *mhstv1alpha1.SupportTeam, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(team.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}
