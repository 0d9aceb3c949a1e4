package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// clientAs is a client that the API server authenticates as user, so that
// its own authorizer decides what the user may do.
func clientAs(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	c, err := client.New(cfg, client.Options{Scheme: k8sClient.Scheme()})
	if err != nil {
		t.Fatalf("client as %s: %v", user, err)
	}
	return c
}

// forbidden checks that err is the API server's refusal.
func forbidden(g Gomega, err error, what string) {
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%s should be forbidden, got %v", what, err)
}

func newTestTeam(ns, name string) *mhstv1alpha1.SupportTeam {
	return &mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       mhstv1alpha1.SupportTeamSpec{Service: mhstv1alpha1.TeamService{Image: "registry.example/mhst/team:1"}},
	}
}

func TestLocalAreaGovernanceAccessThroughTheAPIServer(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	a := newTestArea("access-a")
	a.Spec.Governance.Board = []mhstv1alpha1.BoardMember{
		{Kind: mhstv1alpha1.SubjectUser, Name: "alice", Sector: mhstv1alpha1.SectorHealth},
		{Kind: mhstv1alpha1.SubjectGroup, Name: "access-a-heads", Sector: mhstv1alpha1.SectorEducation},
	}
	a.Spec.Governance.Leads = []mhstv1alpha1.Subject{{Kind: mhstv1alpha1.SubjectUser, Name: "bob"}}
	createArea(ctx, t, a)
	createArea(ctx, t, newTestArea("access-b"))
	waitAreaActive(ctx, t, "access-a")
	waitAreaActive(ctx, t, "access-b")
	nsA, nsB := "mhst-access-a", "mhst-access-b"
	alice, bob, head := clientAs(t, "alice"), clientAs(t, "bob"), clientAs(t, "harriet", "access-a-heads")
	dryRun := client.DryRunAll

	// The board reads its own area, and only its own.
	g.Eventually(func(g Gomega) {
		g.Expect(alice.List(ctx, &mhstv1alpha1.SchoolCoverageList{}, client.InNamespace(nsA))).To(Succeed())
		g.Expect(head.List(ctx, &mhstv1alpha1.SupportTeamList{}, client.InNamespace(nsA))).To(Succeed())
		g.Expect(alice.Get(ctx, client.ObjectKey{Name: "access-a"}, &mhstv1alpha1.LocalArea{})).To(Succeed())
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	forbidden(g, alice.List(ctx, &mhstv1alpha1.SchoolCoverageList{}, client.InNamespace(nsB)), "alice listing B's coverages")
	forbidden(g, alice.Get(ctx, client.ObjectKey{Name: "access-b"}, &mhstv1alpha1.LocalArea{}), "alice reading LocalArea B")
	forbidden(g, alice.List(ctx, &mhstv1alpha1.LocalAreaList{}), "alice listing every area")
	forbidden(g, alice.Create(ctx, newTestTeam(nsA, "by-alice"), dryRun), "a board member creating a team")
	forbidden(g, alice.Create(ctx, newTestTeam(nsB, "by-alice"), dryRun), "a board member creating a team in another area")
	// The coverage report is readable (absent here: NotFound, not
	// Forbidden), other ConfigMaps are not.
	err := alice.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "mhst-coverage-report"}, &corev1.ConfigMap{})
	g.Expect(err == nil || apierrors.IsNotFound(err)).To(BeTrue(), "alice reading the coverage report: %v", err)
	forbidden(g, alice.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "kube-root-ca.crt"}, &corev1.ConfigMap{}), "alice reading another ConfigMap")
	forbidden(g, alice.List(ctx, &corev1.SecretList{}, client.InNamespace(nsA)), "alice listing secrets")

	// A lead manages teams in their area, and nowhere else.
	g.Expect(bob.Create(ctx, newTestTeam(nsA, "by-bob"), dryRun)).To(Succeed())
	forbidden(g, bob.Create(ctx, newTestTeam(nsB, "by-bob"), dryRun), "bob creating a team in B")
	g.Expect(bob.Get(ctx, client.ObjectKey{Name: "access-a"}, &mhstv1alpha1.LocalArea{})).To(Succeed())
	forbidden(g, bob.Get(ctx, client.ObjectKey{Name: "access-b"}, &mhstv1alpha1.LocalArea{}), "bob reading LocalArea B")

	// A member removed from the spec loses access.
	area := getArea(ctx, g, "access-a")
	area.Spec.Governance.Board = area.Spec.Governance.Board[1:]
	area.Spec.Governance.Leads = nil
	updateAreaSpec(ctx, g, area)
	g.Eventually(func(g Gomega) {
		forbidden(g, alice.List(ctx, &mhstv1alpha1.SchoolCoverageList{}, client.InNamespace(nsA)), "alice, removed, listing A's coverages")
		forbidden(g, alice.Get(ctx, client.ObjectKey{Name: "access-a"}, &mhstv1alpha1.LocalArea{}), "alice, removed, reading LocalArea A")
		forbidden(g, bob.Create(ctx, newTestTeam(nsA, "by-bob"), dryRun), "bob, removed, creating a team")
	}, eventuallyTimeout, pollInterval).Should(Succeed())
	g.Expect(head.List(ctx, &mhstv1alpha1.SchoolCoverageList{}, client.InNamespace(nsA))).To(Succeed(), "the remaining members keep access")
}
