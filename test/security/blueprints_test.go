package security

import (
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// The team of the blueprint attacks, in York, and the blueprint its lead
// chose, which the blueprint author writes.
const (
	blueprintTeam = "york-referrals"
	blueprintName = "referrals-blueprint"
)

// referralsBlueprint is a good custom blueprint: a Deployment "web" with a
// metrics sidecar of the given tag, and a Service in front of it. extra
// files are added to it and listed in its kustomization.
func referralsBlueprint(sidecarTag string, extra map[string]string) map[string]string {
	files := map[string]string{
		"deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: service
        image: placeholder
        ports:
        - {name: http, containerPort: 8080}
        envFrom:
        - configMapRef: {name: config}
      - name: metrics
        image: registry.example/metrics:` + sidecarTag + `
`,
		"service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
`,
	}
	resources := []string{"deployment.yaml", "service.yaml"}
	for name, content := range extra {
		files[name] = content
		if name != "service.yaml" && name != "deployment.yaml" {
			resources = append(resources, name)
		}
	}
	files["kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " +
		strings.Join(resources, "\n- ") + "\n"
	return files
}

// TestBlueprintAuthorCannotBreakIsolation: the author of a team's
// blueprint (who may write ConfigMaps in the area's namespace, and nothing
// else) changes it to expose the team, to block every node drain, or to
// let its pods preempt the node's own. The operator, running as its
// ServiceAccount, refuses each render (BlueprintRejected, naming the object
// and the field) and the running service stays exactly as it was. An empty
// selector is not refused: the overlay narrows it to the team's own pods.
func TestBlueprintAuthorCannotBreakIsolation(t *testing.T) {
	ctx := t.Context()
	g := NewWithT(t)
	author := as(t, blueprintAuthor)
	bp := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: blueprintName,
			Labels: map[string]string{mhstv1alpha1.LabelConfigMap: mhstv1alpha1.ConfigMapBlueprint}},
		Data: referralsBlueprint("2", nil),
	}
	g.Expect(author.Create(ctx, bp)).To(Succeed())
	team := &mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: blueprintTeam},
		Spec: mhstv1alpha1.SupportTeamSpec{
			DisplayName: "York referrals",
			Staffing:    mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 4, SeniorClinicians: 1},
			Service:     mhstv1alpha1.TeamService{Image: "registry.example/mhst/referrals:1.0"},
			Blueprint:   &mhstv1alpha1.Blueprint{ConfigMapRef: mhstv1alpha1.ConfigMapReference{Name: blueprintName}},
		},
	}
	g.Expect(as(t, yorkLead).Create(ctx, team)).To(Succeed())
	running := teamStatus(t, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(inventoryKinds(team)).To(ConsistOf("ConfigMap", "Deployment", "Service"))
	})
	web := client.ObjectKey{Namespace: yorkNamespace, Name: blueprintTeam + "-web"}
	var deploymentBefore appsv1.Deployment
	g.Expect(admin.Get(ctx, web, &deploymentBefore)).To(Succeed())
	var serviceBefore corev1.Service
	g.Expect(admin.Get(ctx, web, &serviceBefore)).To(Succeed())

	// Each refused blueprint also moves the sidecar to a new tag: the
	// Deployment sorts before the PodDisruptionBudget and the Service, so
	// a render applied up to the refused object would show on it.
	service := func(spec string) map[string]string {
		return map[string]string{"service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n" +
			spec + "  ports:\n  - {name: http, port: 80, targetPort: http}\n"}
	}
	pdbOverEveryPod := map[string]string{"pdb.yaml": "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: all\nspec:\n  selector: {}\n  maxUnavailable: 0\n"}
	nodeCritical := referralsBlueprint("3", nil)
	nodeCritical["deployment.yaml"] = strings.Replace(nodeCritical["deployment.yaml"],
		"      containers:\n", "      priorityClassName: system-node-critical\n      containers:\n", 1)
	object := func(kind, name string) string {
		return fmt.Sprintf(`%s "%s/%s-%s" is not allowed: `, kind, yorkNamespace, blueprintTeam, name)
	}
	for _, step := range []struct {
		name    string
		files   map[string]string
		refusal string
	}{
		{"a Service with externalIPs", referralsBlueprint("3", service("  externalIPs: [203.0.113.7]\n")), object("Service", "web") + "spec.externalIPs: "},
		{"a NodePort Service", referralsBlueprint("3", service("  type: NodePort\n")), object("Service", "web") + "spec.type: "},
		{"a PodDisruptionBudget over every pod that allows no eviction", referralsBlueprint("3", pdbOverEveryPod), object("PodDisruptionBudget", "all") + "spec.maxUnavailable: "},
		{"pods of priority system-node-critical", nodeCritical, object("Deployment", "web") + "spec.template.spec.priorityClassName: "},
	} {
		t.Run(step.name, func(t *testing.T) {
			g := NewWithT(t)
			writeBlueprint(t, author, step.files)
			refused := teamStatus(t, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
				ready := meta.FindStatusCondition(team.Status.Conditions, mhstv1alpha1.ConditionReady)
				g.Expect(ready).NotTo(BeNil())
				g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready.Reason).To(Equal(mhstv1alpha1.ReasonBlueprintRejected))
				g.Expect(ready.Message).To(ContainSubstring(step.refusal))
			})
			g.Expect(refused.Status.Inventory).To(Equal(running.Status.Inventory), "the inventory is still the running service's")

			var deployment appsv1.Deployment
			g.Expect(admin.Get(ctx, web, &deployment)).To(Succeed())
			g.Expect(deployment.ResourceVersion).To(Equal(deploymentBefore.ResourceVersion), "the running Deployment is left as it was")
			g.Expect(deployment.Spec).To(Equal(deploymentBefore.Spec))
			var svc corev1.Service
			g.Expect(admin.Get(ctx, web, &svc)).To(Succeed())
			g.Expect(svc.ResourceVersion).To(Equal(serviceBefore.ResourceVersion), "the running Service is left as it was")
			g.Expect(svc.Spec).To(Equal(serviceBefore.Spec))
			err := admin.Get(ctx, client.ObjectKey{Namespace: yorkNamespace, Name: blueprintTeam + "-all"}, &policyv1.PodDisruptionBudget{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no PodDisruptionBudget of the refused render: %v", err)
		})
	}

	// A NetworkPolicy and a PodDisruptionBudget with empty selectors, which
	// would select every pod of the namespace (York's other team's too),
	// are applied with the team's labels added: they select the team's
	// own pods only.
	writeBlueprint(t, author, referralsBlueprint("2", map[string]string{
		"networkpolicy.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: open\nspec:\n  podSelector: {}\n" +
			"  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {}\n",
		"pdb.yaml": "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: all\nspec:\n  selector: {}\n  minAvailable: 1\n",
	}))
	teamStatus(t, func(g Gomega, team *mhstv1alpha1.SupportTeam) {
		g.Expect(inventoryKinds(team)).To(ConsistOf("ConfigMap", "Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget"))
	})
	var deployment, otherTeam appsv1.Deployment
	g.Expect(admin.Get(ctx, web, &deployment)).To(Succeed())
	g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: yorkNamespace, Name: "york-1-service"}, &otherTeam)).To(Succeed())
	own, other := labels.Set(deployment.Spec.Template.Labels), labels.Set(otherTeam.Spec.Template.Labels)
	teamLabels := map[string]string{mhstv1alpha1.LabelArea: "york", mhstv1alpha1.LabelTeam: blueprintTeam, mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue}
	var policy networkingv1.NetworkPolicy
	g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: yorkNamespace, Name: blueprintTeam + "-open"}, &policy)).To(Succeed())
	var pdb policyv1.PodDisruptionBudget
	g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: yorkNamespace, Name: blueprintTeam + "-all"}, &pdb)).To(Succeed())
	for what, selector := range map[string]*metav1.LabelSelector{"NetworkPolicy's podSelector": &policy.Spec.PodSelector, "PodDisruptionBudget's selector": pdb.Spec.Selector} {
		g.Expect(selector).NotTo(BeNil(), what)
		g.Expect(selector.MatchLabels).To(Equal(teamLabels), what)
		s, err := metav1.LabelSelectorAsSelector(selector)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(s.Matches(own)).To(BeTrue(), "the %s selects the team's pods", what)
		g.Expect(s.Matches(other)).To(BeFalse(), "the %s selects another team's pods", what)
	}
}

// writeBlueprint replaces the blueprint's files, as its author.
func writeBlueprint(t *testing.T, author client.Client, files map[string]string) {
	t.Helper()
	eventually(t, func(g Gomega) {
		var cm corev1.ConfigMap
		g.Expect(author.Get(t.Context(), client.ObjectKey{Namespace: yorkNamespace, Name: blueprintName}, &cm)).To(Succeed())
		cm.Data = files
		g.Expect(author.Update(t.Context(), &cm)).To(Succeed())
	}).Should(Succeed())
}

// teamStatus waits until the blueprint team's status, at its current
// generation, passes check, and returns the team as it then was.
func teamStatus(t *testing.T, check func(Gomega, *mhstv1alpha1.SupportTeam)) *mhstv1alpha1.SupportTeam {
	t.Helper()
	var team mhstv1alpha1.SupportTeam
	eventually(t, func(g Gomega) {
		g.Expect(admin.Get(t.Context(), client.ObjectKey{Namespace: yorkNamespace, Name: blueprintTeam}, &team)).To(Succeed())
		g.Expect(team.Status.ObservedGeneration).To(Equal(team.Generation))
		check(g, &team)
	}).Should(Succeed())
	return &team
}

func inventoryKinds(team *mhstv1alpha1.SupportTeam) []string {
	var kinds []string
	for _, item := range team.Status.Inventory {
		kinds = append(kinds, item.Kind)
	}
	return kinds
}
