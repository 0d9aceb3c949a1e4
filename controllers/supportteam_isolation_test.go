package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/blueprint"
)

// A team runs a good custom blueprint; its blueprint is then changed to one
// that would expose the team (a NodePort Service), then also to reach the
// node (a hostNetwork pod). Each render is refused with a message naming
// the object and the field, in the Ready condition and in an Event, and
// the team's running Service and Deployment stay exactly as they were.
func TestSupportTeamIsolationRefusesBlueprint(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	area := supportTeamTestArea(t, "st-isolation")
	ns := area.Status.Namespace
	bp := supportTeamBlueprint(t, ns, "web", supportTeamWebBlueprint(true))
	team := supportTeamNewTeam(ns, "guarded")
	team.Spec.Blueprint = &mhstv1alpha1.Blueprint{ConfigMapRef: mhstv1alpha1.ConfigMapReference{Name: bp.Name}}
	g.Expect(k8sClient.Create(ctx, team)).To(Succeed())

	team = supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(supportTeamKinds(team.Status.Inventory)).To(Equal([]string{"ConfigMap", "Deployment", "Service"}))
	})
	inventory := team.Status.Inventory
	var deploymentBefore appsv1.Deployment
	supportTeamObject(t, client.ObjectKey{Namespace: ns, Name: "guarded-web"}, &deploymentBefore)
	var serviceBefore corev1.Service
	supportTeamObject(t, client.ObjectKey{Namespace: ns, Name: "guarded-web"}, &serviceBefore)

	// Both steps also change the sidecar's image: the Deployment sorts
	// before the Service, so applying the render up to the refused object
	// would show on the Deployment.
	nodePort := supportTeamWebBlueprint(true)
	nodePort["deployment.yaml"] = strings.Replace(nodePort["deployment.yaml"], "metrics:2", "metrics:3", 1)
	nodePort["service.yaml"] = strings.Replace(nodePort["service.yaml"], "spec:\n", "spec:\n  type: NodePort\n", 1)
	hostNetwork := map[string]string{}
	for name, content := range nodePort {
		hostNetwork[name] = content
	}
	hostNetwork["deployment.yaml"] = strings.Replace(hostNetwork["deployment.yaml"],
		"      containers:\n", "      hostNetwork: true\n      containers:\n", 1)

	steps := []struct {
		name   string
		files  map[string]string
		object string
		field  string
	}{
		{name: "NodePort Service", files: nodePort,
			object: fmt.Sprintf(`Service "%s/guarded-web"`, ns), field: "spec.type"},
		{name: "and a hostNetwork pod", files: hostNetwork,
			object: fmt.Sprintf(`Deployment "%s/guarded-web"`, ns), field: "spec.template.spec.hostNetwork"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			g := NewWithT(t)
			named := step.object + " is not allowed: " + step.field + ": "
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(bp), bp)).To(Succeed())
			bp.Data = step.files
			g.Expect(k8sClient.Update(ctx, bp)).To(Succeed())

			refused := supportTeamEventually(t, team, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
				ready := supportTeamCondition(team, mhstv1alpha1.ConditionReady)
				g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready.Reason).To(Equal(mhstv1alpha1.ReasonBlueprintRejected))
				g.Expect(ready.Message).To(ContainSubstring(named))
				g.Expect(supportTeamCondition(team, mhstv1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
			})
			g.Expect(refused.Status.Inventory).To(Equal(inventory), "the inventory is the running service's")
			g.Expect(refused.Status.Service.Name).To(Equal("guarded-web"), "the running service is still reported")

			g.Eventually(func(g Gomega) {
				var events eventsv1.EventList
				g.Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
				g.Expect(events.Items).To(ContainElement(SatisfyAll(
					HaveField("Type", corev1.EventTypeWarning),
					HaveField("Reason", mhstv1alpha1.ReasonBlueprintRejected),
					HaveField("Regarding.Name", team.Name),
					HaveField("Note", ContainSubstring(named)),
				)))
			}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())

			var deployment appsv1.Deployment
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(&deploymentBefore), &deployment)).To(Succeed())
			g.Expect(deployment.ResourceVersion).To(Equal(deploymentBefore.ResourceVersion), "the running Deployment is left as it was")
			g.Expect(deployment.Spec.Template.Spec.HostNetwork).To(BeFalse())
			g.Expect(deployment.Spec.Template.Spec.Containers[1].Image).To(Equal("registry.example/metrics:2"))
			var service corev1.Service
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(&serviceBefore), &service)).To(Succeed())
			g.Expect(service.ResourceVersion).To(Equal(serviceBefore.ResourceVersion), "the running Service is left as it was")
			g.Expect(service.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
		})
	}
}

// The cluster DNS peer a team's NetworkPolicy may name is the one the
// area's restrict-egress policy admits, on the same ports.
func TestSupportTeamIsolationDNSPeerIsTheArea(t *testing.T) {
	g := NewWithT(t)
	data, err := json.Marshal(restrictEgressPolicy(&mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "dns"}}))
	g.Expect(err).NotTo(HaveOccurred())
	var policy networkingv1.NetworkPolicy
	g.Expect(json.Unmarshal(data, &policy)).To(Succeed())

	var dnsRules []networkingv1.NetworkPolicyEgressRule
	for _, rule := range policy.Spec.Egress {
		if len(rule.To) == 1 && rule.To[0].NamespaceSelector != nil {
			dnsRules = append(dnsRules, rule)
		}
	}
	g.Expect(dnsRules).To(HaveLen(1), "the area's policy has one rule beyond its own namespace")
	g.Expect(dnsRules[0].To[0]).To(Equal(blueprint.ClusterDNSPeer()))
	for _, p := range dnsRules[0].Ports {
		g.Expect(*p.Port).To(Equal(intstr.FromInt32(53)))
	}
}

// A rejection's Event must be one the API server stores, however long the
// message: notes are limited to 1 KB.
func TestSupportTeamIsolationEventNoteFits(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	long := strings.Repeat("é", 2000) // two bytes each: a cut in the middle would break one
	note := eventNote(long)
	g.Expect(len(note)).To(BeNumerically("<=", eventNoteLimit))
	g.Expect(utf8.ValidString(note)).To(BeTrue())
	g.Expect(eventNote("short")).To(Equal("short"))

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "st-event-note"}}
	g.Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	event := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: ns.Name, Name: "long-note"},
		EventTime:           metav1.NowMicro(),
		ReportingController: "mhst.io/test",
		ReportingInstance:   "test",
		Action:              "Render",
		Reason:              mhstv1alpha1.ReasonBlueprintRejected,
		Type:                corev1.EventTypeWarning,
		Regarding:           corev1.ObjectReference{Kind: "SupportTeam", Namespace: ns.Name, Name: "team"},
	}
	event.Note = long
	g.Expect(k8sClient.Create(ctx, event.DeepCopy())).NotTo(Succeed(), "the API server refuses the whole message")
	event.Note = note
	g.Expect(k8sClient.Create(ctx, event)).To(Succeed())
}
