package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// TestSupportTeamNeverTakesOverAnObjectItDidNotMake: a Service someone made
// by hand with the name the team's render wants stops the team (Stalled,
// OwnershipConflict, naming the object), and nothing is written to it. Once
// it is gone the team gets its service.
func TestSupportTeamNeverTakesOverAnObjectItDidNotMake(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-takeover")
	ns := area.Status.Namespace

	// Not labelled as the operator's, so the operator's cache never sees
	// it: only a read past the cache finds it.
	foreign := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "north-service", Labels: map[string]string{"app": "someone-elses"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "someone-elses"},
			Ports:    []corev1.ServicePort{{Name: "web", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	g.Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), foreign)).To(Succeed())
	before := foreign.DeepCopy()

	team := supportTeamTestTeam(t, ns, "north")
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		ready := supportTeamCondition(team, mhstv1alpha1.ConditionReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(mhstv1alpha1.ReasonOwnershipConflict))
		g.Expect(ready.Message).To(ContainSubstring("Service " + ns + "/north-service was not made by mhst-operator for this team"))
		g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
	})
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), foreign)).To(Succeed())
	g.Expect(foreign.ResourceVersion).To(Equal(before.ResourceVersion), "nothing is written to an object the operator did not make")
	g.Expect(foreign.OwnerReferences).To(BeEmpty())
	g.Eventually(func(g Gomega) {
		g.Expect(teamEventReasons(ctx, g, team)).To(ContainElement(mhstv1alpha1.ReasonOwnershipConflict))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())

	// The person removes their Service: the team retries and deploys.
	g.Expect(k8sClient.Delete(ctx, foreign)).To(Succeed())
	NewWithT(t).Eventually(func(g Gomega) {
		var svc corev1.Service
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), &svc)).To(Succeed())
		g.Expect(metav1.IsControlledBy(&svc, teamOf(ctx, g, team))).To(BeTrue())
	}).WithTimeout(2 * eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
}

// TestControllersApplyWithTheirOwnFieldManagers: the area's children and
// the team's are each written by their own controller's field manager, so
// that two controllers can never fight over one object.
func TestControllersApplyWithTheirOwnFieldManagers(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-managers")
	ns := area.Status.Namespace
	team := supportTeamTestTeam(t, ns, "east")
	d := supportTeamDeployment(t, team)

	g.Expect(managersOf(ctx, g, d)).To(ContainElement(SupportTeamFieldManager))
	g.Expect(managersOf(ctx, g, d)).NotTo(ContainElement(LocalAreaFieldManager))
	policy := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: policyDenyIngress}}
	g.Expect(managersOf(ctx, g, policy)).To(ContainElement(LocalAreaFieldManager))
	g.Expect(managersOf(ctx, g, policy)).NotTo(ContainElement(SupportTeamFieldManager))
}

// managersOf reads an object from the API server and lists the managers of
// its fields.
func managersOf(ctx context.Context, g Gomega, obj client.Object) []string {
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	var managers []string
	for _, m := range obj.GetManagedFields() {
		managers = append(managers, m.Manager)
	}
	return managers
}

// teamOf reads the team as the API server has it (with its uid).
func teamOf(ctx context.Context, g Gomega, team *mhstv1alpha1.SupportTeam) *mhstv1alpha1.SupportTeam {
	var current mhstv1alpha1.SupportTeam
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(team), &current)).To(Succeed())
	return &current
}

// teamEventReasons lists the reasons of the Events about a team.
func teamEventReasons(ctx context.Context, g Gomega, team *mhstv1alpha1.SupportTeam) []string {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(team.Namespace))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "SupportTeam" && e.Regarding.Name == team.Name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// TestSupportTeamPrunesWhatItsInventoryLost: a reconcile that read the team
// before its previous status write reached the cache records an inventory
// without an object it never saw. What the render stops producing is still
// pruned, found by the team's label.
func TestSupportTeamPrunesWhatItsInventoryLost(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-lost-inventory")
	team := supportTeamTestTeam(t, area.Status.Namespace, "west")
	supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamKinds(team.Status.Inventory)).To(ContainElement("PodDisruptionBudget"))
	})
	// The inventory as a stale write would leave it: without the budget.
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(team), team); err != nil {
			return err
		}
		var kept []mhstv1alpha1.InventoryEntry
		for _, e := range team.Status.Inventory {
			if e.Kind != "PodDisruptionBudget" {
				kept = append(kept, e)
			}
		}
		team.Status.Inventory = kept
		return k8sClient.Status().Update(ctx, team)
	})).To(Succeed())

	// One replica: the built-in blueprint has no PodDisruptionBudget then.
	supportTeamUpdate(t, team, func(team *mhstv1alpha1.SupportTeam) { team.Spec.Service.Replicas = ptr.To(int32(1)) })
	g.Eventually(func() bool {
		var pdb policyv1.PodDisruptionBudget
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: team.Namespace, Name: "west-service"}, &pdb))
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(BeTrue(), "the budget the inventory lost is pruned")
}
