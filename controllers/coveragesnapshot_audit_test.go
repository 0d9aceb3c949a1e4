package controllers

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/history"
	"github.com/mhst-io/mhst-operator/internal/register"
)

// TestSnapshotDiffAroundAWithdrawnAgreement takes a snapshot of an area,
// withdraws the board's agreement on one allocation, takes another, and
// diffs the two: exactly the settings that allocation held stopped being
// covered, with the team and decision that had covered them.
func TestSnapshotDiffAroundAWithdrawnAgreement(t *testing.T) {
	s := newCoverageScenario(t, "snapdiff")
	nsA := s.hartlepool.Status.Namespace
	waitAreaFigures(t, s.hartlepool.Name, 20, sumOf(s.a[0:14]).pupils)
	before := takeSnapshot(t, k8sClient, "snapdiff-before", s.hartlepool.Name)

	// The test's client is a trusted applier (system:masters), which the
	// admission policy mhst-board-agreement lets record or withdraw an
	// agreement.
	patchCoverage(t, nsA, "south-second", func(cov *mhstv1alpha1.SchoolCoverage) { cov.Spec.Agreement = nil })
	waitAreaFigures(t, s.hartlepool.Name, 20, sumOf(s.a[0:8]).pupils)
	after := takeSnapshot(t, k8sClient, "snapdiff-after", s.hartlepool.Name)

	d, err := history.Compare(before, after)
	g := NewWithT(t)
	g.Expect(err).NotTo(HaveOccurred())
	var stopped []string
	for _, c := range d.StoppedBeingCovered {
		stopped = append(stopped, c.URN)
		g.Expect(*c.Before).To(Equal(history.Claim{Covered: true, Team: "team-south", Allocation: "south-second", DecisionRef: "GB-2025-03 item south-second"}))
		g.Expect(*c.After).To(Equal(history.Claim{Covered: false, Team: "team-south", Allocation: "south-second"}))
	}
	var want []string
	for _, school := range s.a[8:14] {
		want = append(want, school.URN)
	}
	g.Expect(stopped).To(Equal(want), "exactly the settings south-second held")
	g.Expect(d.BecameCovered).To(BeEmpty())
	g.Expect(d.Reallocated).To(BeEmpty())
	g.Expect(d.Added).To(BeEmpty())
	g.Expect(d.Removed).To(BeEmpty())
	lost := sumOf(s.a[8:14])
	figures := map[string]history.FigureChange{}
	for _, f := range d.Figures {
		figures[f.Figure] = f
	}
	g.Expect(figures["settingsCovered"].Change).To(Equal("-6"))
	g.Expect(figures["pupilsCovered"].Change).To(Equal("-" + strconv.FormatInt(lost.pupils, 10)))
	g.Expect(figures["disadvantagedPupilsCovered"].Change).To(Equal("-" + strconv.FormatInt(lost.disadvantaged, 10)))
	g.Expect(figures["pupils"].Change).To(Equal("0"))
}

// TestAuditorRole checks the shipped ClusterRole mhst-auditor by
// impersonation: an auditor reads every mhst.io kind and the coverage
// reports, and takes snapshots; they cannot read Secrets or other
// ConfigMaps, change or delete a snapshot, or write anything else.
func TestAuditorRole(t *testing.T) {
	ctx := context.Background()
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-nao-auditors"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "mhst-auditor"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "nao-auditors"}},
	}
	if err := k8sClient.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), binding) })
	area := coverageTestArea(t, "audit-rutland", rutlandCode, "East Midlands", 2)
	ns := area.Status.Namespace
	coverageTestTeam(t, ns, "team-audit")
	coverageTestAllocation(t, ns, "audit-agreed", "team-audit", true, schoolsOf(t, rutlandCode)[:3])
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "referrals-db"}, StringData: map[string]string{"password": "x"}}
	if err := k8sClient.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	auditor := clientAs(t, "auditor@nao.example", "nao-auditors")
	g := NewWithT(t)

	t.Run("reads every mhst.io kind", func(t *testing.T) {
		g := NewWithT(t)
		var kinds []string
		for gvk := range k8sClient.Scheme().AllKnownTypes() {
			if gvk.GroupVersion() == mhstv1alpha1.GroupVersion && strings.HasSuffix(gvk.Kind, "List") {
				kinds = append(kinds, gvk.Kind)
			}
		}
		slices.Sort(kinds)
		g.Expect(kinds).To(ContainElements("CoverageSnapshotList", "LocalAreaList", "SchoolCoverageList", "SupportTeamList"))
		for _, kind := range kinds {
			obj, err := k8sClient.Scheme().New(mhstv1alpha1.GroupVersion.WithKind(kind))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(auditor.List(ctx, obj.(client.ObjectList))).To(Succeed(), "list %s", kind)
		}
		g.Expect(auditor.Get(ctx, types.NamespacedName{Namespace: ns, Name: "audit-agreed"}, &mhstv1alpha1.SchoolCoverage{})).To(Succeed())
		g.Expect(auditor.Get(ctx, types.NamespacedName{Name: area.Name}, &mhstv1alpha1.LocalArea{})).To(Succeed())
	})

	t.Run("reads the coverage reports", func(t *testing.T) {
		NewWithT(t).Eventually(func(g Gomega) {
			g.Expect(auditor.Get(ctx, types.NamespacedName{Namespace: ns, Name: AreaReportName}, &corev1.ConfigMap{})).To(Succeed())
			g.Expect(auditor.Get(ctx, types.NamespacedName{Namespace: operatorNamespace, Name: NationalReportName}, &corev1.ConfigMap{})).To(Succeed())
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	})

	snap := takeSnapshot(t, auditor, "audit-rutland-by-auditor", area.Name)
	expectSnapshotReady(g, snap, metav1.ConditionTrue, mhstv1alpha1.ReasonTaken)

	t.Run("nothing else", func(t *testing.T) {
		g := NewWithT(t)
		dry := client.DryRunAll
		label := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"quoted":"true"}}}`))
		forbidden(g, auditor.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{}), "an auditor reading a Secret")
		forbidden(g, auditor.List(ctx, &corev1.SecretList{}), "an auditor listing Secrets")
		forbidden(g, auditor.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(ns)), "an auditor listing ConfigMaps")
		forbidden(g, auditor.Get(ctx, types.NamespacedName{Namespace: ns, Name: mhstv1alpha1.GovernanceConfigMapName}, &corev1.ConfigMap{}), "an auditor reading another ConfigMap")
		forbidden(g, auditor.Patch(ctx, snap.DeepCopy(), label), "an auditor labelling a snapshot")
		forbidden(g, auditor.Update(ctx, snap.DeepCopy(), dry), "an auditor updating a snapshot")
		forbidden(g, auditor.Status().Patch(ctx, snap.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"status":{"digest":null}}`))), "an auditor writing a snapshot's status")
		forbidden(g, auditor.Delete(ctx, snap.DeepCopy(), dry), "an auditor deleting a snapshot")
		forbidden(g, auditor.DeleteAllOf(ctx, &mhstv1alpha1.CoverageSnapshot{}, dry), "an auditor deleting every snapshot")
		forbidden(g, auditor.Patch(ctx, area.DeepCopy(), label, dry), "an auditor changing a LocalArea")
		forbidden(g, auditor.Create(ctx, newTestTeam(ns, "by-auditor"), dry), "an auditor creating a team")
		forbidden(g, auditor.Create(ctx, &mhstv1alpha1.SchoolCoverage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "by-auditor"},
			Spec: mhstv1alpha1.SchoolCoverageSpec{Settings: settingsOf(schoolsOf(t, rutlandCode)[5])}}, dry), "an auditor creating an allocation")
		forbidden(g, auditor.Delete(ctx, &mhstv1alpha1.SchoolCoverage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "audit-agreed"}}, dry), "an auditor deleting an allocation")
		forbidden(g, auditor.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: AreaReportName}}, dry), "an auditor writing a report")
		forbidden(g, auditor.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "by-auditor"}}, dry), "an auditor creating a namespace")
		forbidden(g, auditor.List(ctx, &corev1.PodList{}), "an auditor listing pods")
	})

	t.Run("the role grants exactly this", func(t *testing.T) {
		// Asked of the API server, which sums every rule that applies to
		// the auditor, in the area's namespace.
		g := NewWithT(t)
		rules := selfRules(t, "auditor@nao.example", []string{"nao-auditors"}, ns)
		var writes []string
		for _, r := range rules {
			if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "*") || slices.Contains(r.Verbs, "*") {
				t.Errorf("the auditor has the rule %+v", r)
			}
			for _, verb := range r.Verbs {
				if slices.Contains([]string{"get", "list", "watch"}, verb) {
					continue
				}
				for _, group := range r.APIGroups {
					for _, resource := range r.Resources {
						writes = append(writes, verb+" "+group+"/"+resource)
					}
				}
			}
		}
		g.Expect(writes).To(ConsistOf("create mhst.io/coveragesnapshots", "create authorization.k8s.io/selfsubjectaccessreviews",
			"create authorization.k8s.io/selfsubjectrulesreviews", "create authentication.k8s.io/selfsubjectreviews"),
			"the only writes are taking a snapshot and what every authenticated user may ask about itself")
	})
}

// selfRules asks the API server what the user may do in the namespace.
func selfRules(t *testing.T, user string, groups []string, ns string) []rulesReviewRule {
	t.Helper()
	cfg := *cluster.Config
	cfg.Impersonate.UserName, cfg.Impersonate.Groups = user, append(groups, "system:authenticated")
	cs, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := cs.AuthorizationV1().SelfSubjectRulesReviews().Create(context.Background(),
		&authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []rulesReviewRule
	for _, r := range review.Status.ResourceRules {
		out = append(out, rulesReviewRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources})
	}
	return out
}

type rulesReviewRule struct {
	Verbs, APIGroups, Resources []string
}

// TestSnapshotOfTheLargestArea takes a snapshot of Lancashire (E10000017,
// 628 settings, the largest local authority of the DfE register), every
// setting allocated to a team by an agreed allocation, and measures the
// object as the API server stores it, managed fields included.
func TestSnapshotOfTheLargestArea(t *testing.T) {
	ctx := context.Background()
	schools, dir := readRegisterFiles(t)
	lancashire, err := register.SelectArea(schools, dir, "E10000017", register.SelectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := register.BuildManifests(lancashire, register.AreaOptions{Wave: 4, Board: []mhstv1alpha1.BoardMember{
		{Kind: mhstv1alpha1.SubjectGroup, Name: "lsc-icb", Sector: mhstv1alpha1.SectorHealth, Role: mhstv1alpha1.RoleChair},
		{Kind: mhstv1alpha1.SubjectGroup, Name: "lancashire-schools", Sector: mhstv1alpha1.SectorEducation},
	}})
	if err != nil {
		t.Fatal(err)
	}
	createArea(ctx, t, &m.LocalArea)
	waitAreaActive(ctx, t, m.LocalArea.Name)
	for i := range m.Coverages {
		cov := &m.Coverages[i]
		team := cov.Name + "-team"
		cov.Spec.TeamRef = &mhstv1alpha1.TeamReference{Name: team}
		cov.Spec.Agreement = &mhstv1alpha1.Agreement{DecisionRef: "Lancashire MHST governance board, minutes of 12 March 2025, item 4", AgreedAt: "2025-03-12"}
		coverageTestTeam(t, cov.Namespace, team)
		if err := k8sClient.Create(ctx, cov); err != nil {
			t.Fatalf("create %s: %v", cov.Name, err)
		}
	}
	waitAreaFigures(t, m.LocalArea.Name, 628, lancashire.Totals().Pupils)
	snap := takeSnapshot(t, k8sClient, "lancashire-largest", m.LocalArea.Name)
	g := NewWithT(t)
	expectSnapshotReady(g, snap, metav1.ConditionTrue, mhstv1alpha1.ReasonTaken)
	g.Expect(snap.Status.Settings).To(HaveLen(628))

	cs, err := kubernetes.NewForConfig(cluster.Config)
	g.Expect(err).NotTo(HaveOccurred())
	stored, err := cs.RESTClient().Get().AbsPath("/apis/mhst.io/v1alpha1/coveragesnapshots", snap.Name).DoRaw(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("Lancashire, 628 settings: the snapshot as the API server returns it, managed fields included, is %d bytes (%.0f KiB)", len(stored), float64(len(stored))/1024)
	g.Expect(len(stored)).To(BeNumerically("<", 512<<10), "a third of the API server's 1.5 MiB limit")
}

// readRegisterFiles reads the DfE register with the importer's own reader.
func readRegisterFiles(t *testing.T) ([]register.School, register.Directory) {
	t.Helper()
	schoolsFile, err := os.Open(schoolsCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = schoolsFile.Close() }()
	file, err := register.ReadSchools(schoolsFile, register.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	laFile, err := os.Open(filepath.Join(filepath.Dir(schoolsCSV), "local-authorities-england.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = laFile.Close() }()
	authorities, err := register.ReadAuthorities(laFile)
	if err != nil {
		t.Fatal(err)
	}
	return file.Schools, register.NewDirectory(authorities)
}
