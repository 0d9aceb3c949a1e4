package controllers

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// The kstatus tests check what Flux (kustomize-controller's health checks)
// and `kubectl wait`-style tools compute from the three kinds' status, with
// the same library they use: InProgress while the operator works, Current
// once the object has settled, Failed when only a person can move it on.
//
// They also write the objects they read to bin/test-artifacts/argocd, and
// `make test` then runs the Argo CD health checks (hack/test-argocd-health.sh)
// on these fresh captures: the checks are tested on the status shapes of
// this very build. With MHST_UPDATE_ARGOCD_FIXTURES=1 the captures also
// replace the copies in docs/argocd/testdata, which document the shapes and
// which `make test-chart` checks.

const (
	argocdCaptureDir = "../bin/test-artifacts/argocd"
	argocdFixtureDir = "../docs/argocd/testdata"
)

func TestKstatusLocalArea(t *testing.T) {
	area := kstatusArea("kstatus-area")
	kstatusCreate(t, area)
	u := expectKstatus(t, area, status.CurrentStatus, mhstv1alpha1.ReasonReconciled)
	saveArgoCDFixture(t, "localarea-active", u)

	// A spec change is InProgress until the operator has observed it: the
	// object the update returns has the new generation and the old status.
	kstatusUpdate(t, area, func() { area.Spec.DisplayName = "Renamed" })
	// Both checks read that returned object, not a fresh GET, which could
	// already carry the operator's next status.
	outdated := kstatusToUnstructured(t, area)
	if got, err := status.Compute(outdated); err != nil || got.Status != status.InProgressStatus {
		t.Errorf("just after a spec change: got %v (%v), want InProgress", got, err)
	}
	saveArgoCDFixture(t, "localarea-outdated", outdated)
	expectKstatus(t, area, status.CurrentStatus, mhstv1alpha1.ReasonReconciled)

	conflicted := kstatusArea("kstatus-kube-system")
	conflicted.Spec.Namespace = "kube-system"
	kstatusCreate(t, conflicted)
	u = expectKstatus(t, conflicted, status.FailedStatus, mhstv1alpha1.ReasonNamespaceConflict)
	saveArgoCDFixture(t, "localarea-namespace-conflict", u)

	// An area waiting for activateAt, or suspended, is not Ready, and
	// kstatus reads a False Ready as InProgress: a wave that depends on it
	// waits, which is what a schedule means. Argo CD's check says Suspended.
	scheduled := kstatusArea("kstatus-scheduled")
	scheduled.Spec.ActivateAt = &metav1.Time{Time: time.Now().Add(24 * time.Hour).Truncate(time.Second)}
	kstatusCreate(t, scheduled)
	u = expectKstatus(t, scheduled, status.InProgressStatus, mhstv1alpha1.ReasonScheduled)
	saveArgoCDFixture(t, "localarea-scheduled", u)

	suspended := kstatusArea("kstatus-suspended")
	suspended.Spec.Suspend = true
	kstatusCreate(t, suspended)
	u = expectKstatus(t, suspended, status.InProgressStatus, mhstv1alpha1.ReasonSuspended)
	saveArgoCDFixture(t, "localarea-suspended", u)
}

func TestKstatusSupportTeam(t *testing.T) {
	ctx := context.Background()

	// In a namespace no area holds any more: Stalled until someone acts.
	var stray *mhstv1alpha1.SupportTeam
	releasedNamespace(ctx, t, "kstatus-no-area", func(ns string) {
		stray = kstatusTeam(ns, "stray")
		kstatusCreate(t, stray)
	})
	u := expectKstatus(t, stray, status.FailedStatus, mhstv1alpha1.ReasonNoLocalArea)
	saveArgoCDFixture(t, "supportteam-no-local-area", u)

	area := kstatusArea("kstatus-teams")
	kstatusCreate(t, area)
	expectKstatus(t, area, status.CurrentStatus, mhstv1alpha1.ReasonReconciled)
	ns := area.EffectiveNamespace()

	// Its service is applied but the Deployment has not rolled out yet
	// (no Deployment controller runs here): InProgress.
	team := kstatusTeam(ns, "north")
	kstatusCreate(t, team)
	u = expectKstatus(t, team, status.InProgressStatus, mhstv1alpha1.ReasonProgressing)
	saveArgoCDFixture(t, "supportteam-deployment-unavailable", u)

	kstatusMarkAvailable(t, ns, team.Name)
	u = expectKstatus(t, team, status.CurrentStatus, mhstv1alpha1.ReasonReconciled)
	saveArgoCDFixture(t, "supportteam-ready", u)
}

func TestKstatusSchoolCoverage(t *testing.T) {
	area := kstatusArea("kstatus-coverage")
	kstatusCreate(t, area)
	expectKstatus(t, area, status.CurrentStatus, mhstv1alpha1.ReasonReconciled)
	ns := area.EffectiveNamespace()

	// A teamRef to a team that does not exist (yet) is not Stalled: the
	// allocation is reconciled again as soon as the team is created. It is
	// not Ready either (its settings do not count as covered), so kstatus
	// reads it as InProgress, and a wave waits for the team.
	orphan := kstatusCoverage(ns, "orphan", "no-such-team", "100001")
	kstatusCreate(t, orphan)
	u := expectKstatus(t, orphan, status.InProgressStatus, mhstv1alpha1.ReasonTeamNotFound)
	expectReady(t, u, metav1.ConditionFalse)
	saveArgoCDFixture(t, "schoolcoverage-team-not-found", u)

	team := kstatusTeam(ns, "south")
	kstatusCreate(t, team)
	covered := kstatusCoverage(ns, "south-schools", team.Name, "100002")
	kstatusCreate(t, covered)
	u = expectKstatus(t, covered, status.CurrentStatus, mhstv1alpha1.ReasonCovered)
	expectReady(t, u, metav1.ConditionTrue)
	saveArgoCDFixture(t, "schoolcoverage-covered", u)

	kstatusUpdate(t, covered, func() { covered.Spec.Settings[0].SessionsPerWeek = 4 })
	if got, err := status.Compute(kstatusToUnstructured(t, covered)); err != nil || got.Status != status.InProgressStatus {
		t.Errorf("just after a spec change: got %v (%v), want InProgress", got, err)
	}
	expectKstatus(t, covered, status.CurrentStatus, mhstv1alpha1.ReasonCovered)
}

// expectKstatus waits until kstatus computes want for obj and its Ready
// condition has the reason wantReason at the current generation; it
// returns the object as read then.
func expectKstatus(t *testing.T, obj client.Object, want status.Status, wantReason string) *unstructured.Unstructured {
	t.Helper()
	var u *unstructured.Unstructured
	NewWithT(t).Eventually(func(g Gomega) {
		u = kstatusUnstructured(t, obj)
		res, err := status.Compute(u)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.Status).To(Equal(want), "kstatus message: %s", res.Message)
		ready := readyCondition(u)
		g.Expect(ready).NotTo(BeNil(), "no Ready condition")
		g.Expect(ready["reason"]).To(Equal(wantReason))
		g.Expect(ready["observedGeneration"]).To(BeNumerically("==", u.GetGeneration()))
	}, eventuallyTimeout, pollInterval).Should(Succeed(), "%T %s", obj, obj.GetName())
	return u
}

func expectReady(t *testing.T, u *unstructured.Unstructured, want metav1.ConditionStatus) {
	t.Helper()
	if got := readyCondition(u)["status"]; got != string(want) {
		t.Errorf("%s %s: Ready is %v, want %s", u.GetKind(), u.GetName(), got, want)
	}
}

func readyCondition(u *unstructured.Unstructured) map[string]any {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == mhstv1alpha1.ConditionReady {
			return m
		}
	}
	return nil
}

// kstatusToUnstructured converts obj as the API server last returned it
// (no new read), with its kind, as a tool would decode that answer.
func kstatusToUnstructured(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	gvks, _, err := k8sClient.Scheme().ObjectKinds(obj)
	if err != nil {
		t.Fatalf("kind of %T: %v", obj, err)
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatalf("convert %s: %v", obj.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: content}
	u.SetGroupVersionKind(gvks[0])
	return u
}

// kstatusUnstructured reads obj from the API server, as Flux and Argo CD
// see it.
func kstatusUnstructured(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	gvks, _, err := k8sClient.Scheme().ObjectKinds(obj)
	if err != nil {
		t.Fatalf("kind of %T: %v", obj, err)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvks[0])
	if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(obj), u); err != nil {
		t.Fatalf("get %s %s: %v", gvks[0].Kind, obj.GetName(), err)
	}
	return u
}

// saveArgoCDFixture writes u, without its managedFields, as a capture for
// the Argo CD health checks, and as their documented fixture when
// MHST_UPDATE_ARGOCD_FIXTURES is set.
func saveArgoCDFixture(t *testing.T, name string, u *unstructured.Unstructured) {
	t.Helper()
	u = u.DeepCopy()
	u.SetManagedFields(nil)
	data, err := json.MarshalIndent(u.Object, "", "  ")
	if err != nil {
		t.Fatalf("encode fixture %s: %v", name, err)
	}
	dirs := []string{argocdCaptureDir}
	if os.Getenv("MHST_UPDATE_ARGOCD_FIXTURES") != "" {
		dirs = append(dirs, argocdFixtureDir)
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("fixture directory: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), append(data, '\n'), 0o644); err != nil {
			t.Fatalf("write fixture %s: %v", name, err)
		}
	}
}

// kstatusCreate creates obj and deletes it when the test ends, waiting for
// LocalAreas to be gone (their finalizer releases the namespace).
func kstatusCreate(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8sClient.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if err := client.IgnoreNotFound(k8sClient.Delete(ctx, obj)); err != nil {
			t.Errorf("delete %T %s: %v", obj, obj.GetName(), err)
			return
		}
		if _, isArea := obj.(*mhstv1alpha1.LocalArea); isArea {
			NewWithT(t).Eventually(func() bool {
				return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj))
			}, eventuallyTimeout, pollInterval).Should(BeTrue(), "LocalArea %s is still there", obj.GetName())
		}
	})
}

// kstatusUpdate applies change to the latest obj and updates it, retrying
// on conflicts with the operator's writes; obj is left as the update
// returned it.
func kstatusUpdate(t *testing.T, obj client.Object, change func()) {
	t.Helper()
	ctx := context.Background()
	NewWithT(t).Eventually(func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change()
		return k8sClient.Update(ctx, obj)
	}, eventuallyTimeout, pollInterval).Should(Succeed())
}

// kstatusMarkAvailable writes the status the Deployment controller would
// write once the team's pods are ready (none runs in the test cluster).
func kstatusMarkAvailable(t *testing.T, ns, team string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	var deployments appsv1.DeploymentList
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.List(ctx, &deployments, client.InNamespace(ns), client.MatchingLabels{mhstv1alpha1.LabelTeam: team})).To(Succeed())
		g.Expect(deployments.Items).To(HaveLen(1))
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	d := &deployments.Items[0]
	replicas := ptr.Deref(d.Spec.Replicas, 1)
	now := metav1.Now()
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           replicas,
		UpdatedReplicas:    replicas,
		ReadyReplicas:      replicas,
		AvailableReplicas:  replicas,
		Conditions: []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
			Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.",
			LastUpdateTime: now, LastTransitionTime: now,
		}},
	}
	g.Expect(k8sClient.Status().Update(ctx, d)).To(Succeed())
}

// kstatusArea is a LocalArea whose board involves health and education.
func kstatusArea(name string) *mhstv1alpha1.LocalArea {
	return &mhstv1alpha1.LocalArea{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: mhstv1alpha1.LocalAreaSpec{
			DisplayName:        "Area " + name,
			LocalAuthorityCode: "E08000035",
			Region:             "Yorkshire and The Humber",
			Wave:               4,
			Governance: mhstv1alpha1.Governance{
				Board: []mhstv1alpha1.BoardMember{
					{Kind: mhstv1alpha1.SubjectGroup, Name: name + "-icb", Sector: mhstv1alpha1.SectorHealth, Role: mhstv1alpha1.RoleChair},
					{Kind: mhstv1alpha1.SubjectGroup, Name: name + "-schools", Sector: mhstv1alpha1.SectorEducation},
				},
			},
		},
	}
}

// kstatusTeam is a staffed team on the built-in blueprint.
func kstatusTeam(ns, name string) *mhstv1alpha1.SupportTeam {
	return &mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mhstv1alpha1.SupportTeamSpec{
			DisplayName: "MHST " + name,
			Staffing:    mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 4, SeniorClinicians: 1},
			Service:     mhstv1alpha1.TeamService{Image: "registry.example.org/mhst/service:1.0"},
		},
	}
}

// kstatusCoverage is an agreed allocation of one setting to team.
func kstatusCoverage(ns, name, team, urn string) *mhstv1alpha1.SchoolCoverage {
	return &mhstv1alpha1.SchoolCoverage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mhstv1alpha1.SchoolCoverageSpec{
			TeamRef:   &mhstv1alpha1.TeamReference{Name: team},
			Agreement: &mhstv1alpha1.Agreement{DecisionRef: "GB-2025-03 item 4"},
			Settings: []mhstv1alpha1.Setting{{
				URN: urn, Name: "Setting " + urn, Phase: mhstv1alpha1.PhasePrimary, Pupils: 300, SessionsPerWeek: 2,
			}},
		},
	}
}
