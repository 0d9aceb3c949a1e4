package security

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/shipped"
)

// attack is one thing a role must not be able to do.
type attack struct {
	name string
	// by makes the client of the attacker.
	by func(t *testing.T) client.Client
	// do tries it.
	do func(ctx context.Context, c client.Client) error
	// refusal is a fragment of the message the API server must answer
	// with: the rule that refuses it. "" accepts any refusal by RBAC
	// (Forbidden without a policy's message) or authentication.
	refusal string
	// target is the object that must be unchanged afterwards (its
	// resourceVersion), or nil.
	target client.Object
	// dryRun sends every write of do as a server dry run, for attacks
	// that must not really happen even should a policy fail open. A dry
	// run changes nothing whatever the answer, so it has no target: the
	// refusal, with the message of the rule, is the whole check, and
	// refusal must be set.
	dryRun bool
}

func (a attack) run(t *testing.T) {
	t.Run(a.name, func(t *testing.T) {
		ctx := t.Context()
		c := a.by(t)
		if a.dryRun {
			if a.refusal == "" || a.target != nil {
				t.Fatal("a dry-run attack proves something only by its refusal: set refusal, and no target")
			}
			c = client.NewDryRunClient(c)
		}
		before := ""
		if a.target != nil {
			before = resourceVersion(t, a.target)
		}
		err := a.do(ctx, c)
		switch {
		case err == nil:
			t.Fatalf("allowed; it must be refused")
		case !apierrors.IsForbidden(err) && !apierrors.IsUnauthorized(err):
			t.Fatalf("want a refusal (403 or 401), got %v", err)
		case a.refusal != "" && !strings.Contains(err.Error(), a.refusal):
			t.Fatalf("refused, but not by the rule it should be (%q): %v", a.refusal, err)
		}
		t.Logf("refused: %v", err)
		if a.target != nil {
			if after := resourceVersion(t, a.target); after != before {
				t.Errorf("%s %s changed (resourceVersion %s to %s) although the attack was refused", a.target.GetObjectKind().GroupVersionKind().Kind, a.target.GetName(), before, after)
			}
		}
	})
}

// resourceVersion reads obj's current resourceVersion, or "absent".
func resourceVersion(t *testing.T, obj client.Object) string {
	t.Helper()
	current := obj.DeepCopyObject().(client.Object)
	err := admin.Get(t.Context(), client.ObjectKeyFromObject(obj), current)
	if apierrors.IsNotFound(err) {
		return "absent"
	}
	if err != nil {
		t.Fatalf("read %s: %v", obj.GetName(), err)
	}
	return current.GetResourceVersion()
}

// mergePatch applies a JSON merge patch, as kubectl patch --type merge does.
func mergePatch(obj client.Object, patch string) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		return c.Patch(ctx, obj.DeepCopyObject().(client.Object), client.RawPatch(types.MergePatchType, []byte(patch)))
	}
}

func create(obj client.Object, opts ...client.CreateOption) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		return c.Create(ctx, obj.DeepCopyObject().(client.Object), opts...)
	}
}

func remove(obj client.Object, opts ...client.DeleteOption) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		return c.Delete(ctx, obj.DeepCopyObject().(client.Object), opts...)
	}
}

func get(obj client.Object) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		return c.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object))
	}
}

func cov(name string) *mhstv1alpha1.SchoolCoverage {
	return &mhstv1alpha1.SchoolCoverage{ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: name}}
}

// agreementPatch records an agreement as a board member does: the decision,
// their own name, and the annotation naming who changed it.
func agreementPatch(agreedBy, changedBy string) string {
	patch := map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{mhstv1alpha1.AnnotationAgreementChangedBy: changedBy}},
		"spec": map[string]any{"agreement": map[string]any{
			"decisionRef": "York board, 3 March 2025, item 2", "agreedAt": "2025-03-03", "agreedBy": agreedBy}},
	}
	data, _ := json.Marshal(patch)
	return string(data)
}

const (
	onlyTheBoard   = "only a member of that board (spec.governance.board) or a trusted applier may set, change or remove it"
	mustRemove     = "must remove spec.agreement in the same request"
	namesThemself  = "names themself: set spec.agreement.agreedBy to"
	onlyAgreement  = "changes only spec.agreement of a SchoolCoverage"
	recordsWho     = "set the annotation mhst.io/agreement-changed-by to"
	operatorScope  = "ValidatingAdmissionPolicy 'mhst-operator-scope'"
	labelOwner     = "is set by the mhst-operator only"
	createdByOwner = "mhst.io/created-by annotation of namespace"
	releasedOwner  = "mhst.io/released-by annotation of namespace"
	// The policy mhst-operator-configmaps, and what it tells to do instead.
	governanceOwner = "ConfigMap mhst-governance in namespace " + yorkNamespace + " is written by the mhst-operator only: " +
		"it names the governance board that may agree allocations"
	reportOwner = "ConfigMap mhst-coverage-report in namespace " + yorkNamespace + " is written by the mhst-operator only: " +
		"it is the coverage report the operator builds"
)

// TestLeadCannotAgreeForTheBoard: a lead manages allocations but cannot
// record, change or remove the board's agreement, nor change what the
// board agreed while keeping its agreement; nor reach beyond the area.
func TestLeadCannotAgreeForTheBoard(t *testing.T) {
	lead := func(t *testing.T) client.Client { return as(t, yorkLead) }
	agreedCopy := allocation("york-1-2025", "york-1", &mhstv1alpha1.Agreement{DecisionRef: "made up"})
	for _, a := range []attack{
		{name: "records an agreement on a proposed allocation", by: lead, target: cov("york-1-2024"),
			do: mergePatch(cov("york-1-2024"), agreementPatch(yorkLead, yorkLead)), refusal: onlyTheBoard},
		{name: "creates an allocation that is already agreed", by: lead, target: agreedCopy,
			do: create(agreedCopy), refusal: onlyTheBoard},
		{name: "moves an agreed allocation to another team and keeps the agreement", by: lead, target: cov("york-1-2023"),
			do: mergePatch(cov("york-1-2023"), `{"spec":{"teamRef":{"name":"york-2"}}}`), refusal: mustRemove},
		{name: "removes the agreement without changing the allocation", by: lead, target: cov("york-1-2023"),
			do: mergePatch(cov("york-1-2023"), `{"metadata":{"annotations":{"mhst.io/agreement-changed-by":"`+yorkLead+`"}},"spec":{"agreement":null}}`), refusal: onlyTheBoard},
		{name: "changes the decision the board recorded", by: lead, target: cov("york-1-2023"),
			do: mergePatch(cov("york-1-2023"), `{"spec":{"agreement":{"decisionRef":"another decision"}}}`), refusal: onlyTheBoard},
		{name: "edits the board's parameter of the admission policy", by: lead,
			target: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: mhstv1alpha1.GovernanceConfigMapName}},
			do: mergePatch(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: mhstv1alpha1.GovernanceConfigMapName}},
				`{"data":{"boardUsers":"`+yorkLead+`"}}`)},
		{name: "binds themself a role in the area's namespace", by: lead,
			do: create(&rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "lead-is-admin"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: yorkLead}},
			})},
		{name: "reads the area's Secrets", by: lead,
			do: func(ctx context.Context, c client.Client) error {
				return c.List(ctx, &corev1.SecretList{}, client.InNamespace(yorkNamespace))
			}},
		{name: "adds themself to the board", by: lead, target: &mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "york"}},
			do: mergePatch(&mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "york"}},
				`{"spec":{"governance":{"board":[{"kind":"User","name":"`+yorkLead+`","sector":"Health"},{"kind":"User","name":"`+yorkLead+`-too","sector":"Education"}]}}}`)},
		{name: "relabels the area's namespace", by: lead, target: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: yorkNamespace}},
			do: mergePatch(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: yorkNamespace}}, `{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`)},
		{name: "reads another area's allocations", by: func(t *testing.T) client.Client { return as(t, leedsLead) },
			do: func(ctx context.Context, c client.Client) error {
				return c.List(ctx, &mhstv1alpha1.SchoolCoverageList{}, client.InNamespace(yorkNamespace))
			}},
		{name: "creates a team in another area", by: func(t *testing.T) client.Client { return as(t, leedsLead) },
			do: create(&mhstv1alpha1.SupportTeam{
				ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "intruder"},
				Spec:       mhstv1alpha1.SupportTeamSpec{DisplayName: "intruder", Service: mhstv1alpha1.TeamService{Image: "x"}},
			})},
	} {
		a.run(t)
	}
}

// TestBoardAgreesAndNothingElse: a board member (a User named on the board,
// or a member of a Group named there) records and withdraws agreements,
// names themself, and changes nothing else; someone removed from the board
// can no longer agree.
func TestBoardAgreesAndNothingElse(t *testing.T) {
	board := func(t *testing.T) client.Client { return as(t, yorkBoardUser) }
	groupMember := func(t *testing.T) client.Client { return as(t, yorkGroupMember, yorkBoardGroup) }
	for _, a := range []attack{
		{name: "records an agreement in someone else's name", by: board, target: cov("york-1-2024"),
			do: mergePatch(cov("york-1-2024"), agreementPatch("York governance board", yorkBoardUser)), refusal: namesThemself},
		{name: "records an agreement without saying who changed it", by: board, target: cov("york-1-2024"),
			do: mergePatch(cov("york-1-2024"), `{"spec":{"agreement":{"decisionRef":"York board, 3 March 2025","agreedBy":"`+yorkBoardUser+`"}}}`), refusal: recordsWho},
		{name: "changes the settings of an allocation", by: board, target: cov("york-1-2024"),
			do: mergePatch(cov("york-1-2024"), `{"spec":{"teamRef":{"name":"york-2"}}}`), refusal: onlyAgreement},
		{name: "creates a team", by: board,
			do: create(&mhstv1alpha1.SupportTeam{
				ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "board-team"},
				Spec:       mhstv1alpha1.SupportTeamSpec{DisplayName: "board team", Service: mhstv1alpha1.TeamService{Image: "x"}},
			})},
	} {
		a.run(t)
	}

	g := NewWithT(t)
	ctx := t.Context()
	// What the board may do: agree, as a User named on the board...
	g.Expect(mergePatch(cov("york-1-2024"), agreementPatch(yorkBoardUser, yorkBoardUser))(ctx, board(t))).To(Succeed())
	expectEvent(t, "york-1-2024", "AgreementRecorded", "recorded by "+yorkBoardUser)
	// ...and withdraw, as a member of a Group named there.
	g.Expect(mergePatch(cov("york-1-2024"), `{"metadata":{"annotations":{"mhst.io/agreement-changed-by":"`+yorkGroupMember+`"}},"spec":{"agreement":null}}`)(ctx, groupMember(t))).To(Succeed())
	expectEvent(t, "york-1-2024", "AgreementWithdrawn", "withdrawn by "+yorkGroupMember)

	// A lead changes an agreed allocation by withdrawing the agreement in
	// the same request, and says so.
	g.Expect(mergePatch(cov("york-1-2023"), `{"metadata":{"annotations":{"mhst.io/agreement-changed-by":"`+yorkLead+`"}},"spec":{"agreement":null,"teamRef":{"name":"york-2"}}}`)(ctx, as(t, yorkLead))).To(Succeed())
	expectEvent(t, "york-1-2023", "AgreementWithdrawn", "withdrawn by "+yorkLead)

	// Removed from the board, bob can no longer agree, as soon as the
	// operator has updated the policy's parameter. RBAC alone must not be
	// what stops him: he also belongs to a group that may write the area's
	// allocations (as a platform team might grant an office's staff), a
	// grant that stays when he leaves the board. While he is on the board
	// the policy lets him agree (a dry run, to change nothing yet).
	const staffGroup = "york-schools-office"
	formerMember := func(t *testing.T) client.Client { return as(t, yorkBoardUser, staffGroup) }
	for _, obj := range []client.Object{
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "test-allocation-editors"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{mhstv1alpha1.GroupVersion.Group}, Resources: []string{"schoolcoverages"},
				Verbs: []string{"get", "update", "patch"}}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "test-allocation-editors"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "test-allocation-editors"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: staffGroup}},
		},
	} {
		g.Expect(admin.Create(ctx, obj)).To(Succeed())
	}
	g.Expect(mergePatch(cov("york-1-2024"), agreementPatch(yorkBoardUser, yorkBoardUser))(ctx, client.NewDryRunClient(formerMember(t)))).
		To(Succeed(), "a board member agrees")

	g.Expect(mergePatch(&mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "york"}},
		`{"spec":{"governance":{"board":[{"kind":"Group","name":"`+yorkBoardGroup+`","sector":"Health","role":"Chair"},{"kind":"Group","name":"york-schools","sector":"Education"}]}}}`)(ctx, admin)).To(Succeed())
	eventually(t, func(g Gomega) {
		var cm corev1.ConfigMap
		g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: yorkNamespace, Name: mhstv1alpha1.GovernanceConfigMapName}, &cm)).To(Succeed())
		g.Expect(cm.Data[mhstv1alpha1.GovernanceKeyBoardUsers]).To(BeEmpty())
	}).Should(Succeed())
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   yorkBoardUser,
		Groups: []string{staffGroup, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: yorkNamespace, Verb: "patch",
			Group: mhstv1alpha1.GroupVersion.Group, Resource: "schoolcoverages", Name: "york-1-2024"},
	}}
	g.Expect(admin.Create(ctx, review)).To(Succeed())
	g.Expect(review.Status.Allowed).To(BeTrue(), "RBAC still lets the former member write the allocation, so the refusal below is the policy's")
	attack{name: "a former board member records an agreement", by: formerMember, target: cov("york-1-2024"),
		do: mergePatch(cov("york-1-2024"), agreementPatch(yorkBoardUser, yorkBoardUser)), refusal: onlyTheBoard + "; " + yorkBoardUser + " is neither"}.run(t)
}

// TestOnlyTheOperatorWritesItsConfigMaps: whoever may write ConfigMaps in
// an area's namespace (a blueprint author) cannot rewrite the board
// policy's parameter to put themself on the board, delete it to turn the
// policy off in the namespace, nor forge or delete the area's coverage
// report. (Leads and board members may not write ConfigMaps at all:
// TestLeadCannotAgreeForTheBoard.)
func TestOnlyTheOperatorWritesItsConfigMaps(t *testing.T) {
	ctx := t.Context()
	g := NewWithT(t)
	author := func(t *testing.T) client.Client { return as(t, blueprintAuthor) }
	governance := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: mhstv1alpha1.GovernanceConfigMapName}}
	report := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "mhst-coverage-report"}}
	var reportBefore corev1.ConfigMap
	g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(report), &reportBefore)).To(Succeed())
	// The whole object, as kubectl edit or replace sends it.
	replace := func(obj client.Object, change func(*corev1.ConfigMap)) func(context.Context, client.Client) error {
		return func(ctx context.Context, c client.Client) error {
			var cm corev1.ConfigMap
			if err := c.Get(ctx, client.ObjectKeyFromObject(obj), &cm); err != nil {
				return err
			}
			change(&cm)
			return c.Update(ctx, &cm)
		}
	}
	for _, a := range []attack{
		{name: "puts themself on the board", by: author, target: governance,
			do: mergePatch(governance, `{"data":{"boardUsers":"`+blueprintAuthor+`"}}`), refusal: governanceOwner},
		{name: "replaces the board's parameter whole", by: author, target: governance,
			do: replace(governance, func(cm *corev1.ConfigMap) {
				cm.Data[mhstv1alpha1.GovernanceKeyBoardGroups] += "\nsystem:authenticated"
			}), refusal: governanceOwner},
		{name: "takes the operator's labels off the parameter", by: author, target: governance,
			do: mergePatch(governance, `{"metadata":{"labels":{"app.kubernetes.io/managed-by":null,"mhst.io/configmap":null}}}`), refusal: governanceOwner},
		{name: "deletes the parameter, which turns the board's policy off in the namespace", by: author, target: governance,
			do: remove(governance), refusal: governanceOwner},
		{name: "forges the area's coverage report", by: author,
			do: mergePatch(report, `{"data":{"report.json":"{\"forged\":true}"}}`), refusal: reportOwner},
		{name: "deletes the area's coverage report", by: author, do: remove(report), refusal: reportOwner},
	} {
		a.run(t)
	}
	// The operator rebuilds the report whenever the area's teams or
	// allocations change, so its resourceVersion may move on: the same
	// object (not one made again after a deletion) without the forgery is
	// what shows the attacks changed nothing.
	var reportAfter corev1.ConfigMap
	g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(report), &reportAfter)).To(Succeed())
	g.Expect(reportAfter.UID).To(Equal(reportBefore.UID), "the report was not deleted")
	g.Expect(reportAfter.Data["report.json"]).NotTo(ContainSubstring("forged"))

	// The author's own ConfigMaps are theirs to write, in the same namespace.
	own := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "bea-notes"}, Data: map[string]string{"k": "v"}}
	g.Expect(author(t).Create(ctx, own)).To(Succeed())
	g.Expect(author(t).Delete(ctx, own)).To(Succeed())
}

// expectEvent waits for an Event about the allocation with that reason and
// a note that says who.
func expectEvent(t *testing.T, allocation, reason, note string) {
	t.Helper()
	eventually(t, func(g Gomega) {
		var list eventsv1.EventList
		g.Expect(admin.List(t.Context(), &list, client.InNamespace(yorkNamespace))).To(Succeed())
		var notes []string
		for _, e := range list.Items {
			if e.Regarding.Kind == "SchoolCoverage" && e.Regarding.Name == allocation && e.Reason == reason {
				notes = append(notes, e.Note)
			}
		}
		g.Expect(notes).To(ContainElement(ContainSubstring(note)))
	}).Should(Succeed())
}

// TestNamespacesCannotBeForged: what decides which area holds a namespace,
// and whether deleting the area deletes it, is set by the operator only,
// or by a cluster administrator handing a namespace over.
func TestNamespacesCannotBeForged(t *testing.T) {
	maker := func(t *testing.T) client.Client { return as(t, namespaceMaker) }
	planted := func(name string, labels, annotations map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations}}
	}
	ctx := t.Context()
	g := NewWithT(t)
	plain := planted("mhst-wakefield", nil, nil)
	g.Expect(create(plain)(ctx, maker(t))).To(Succeed())
	for _, a := range []attack{
		{name: "plants a namespace released by an area, for it to adopt", by: maker,
			target: planted("mhst-bradford", nil, nil),
			do:     create(planted("mhst-bradford", nil, map[string]string{"mhst.io/released-by": "bradford"})), refusal: releasedOwner},
		{name: "plants a namespace labelled as an area's", by: maker, target: planted("mhst-hull", nil, nil),
			do: create(planted("mhst-hull", map[string]string{mhstv1alpha1.LabelArea: "hull"}, nil)), refusal: labelOwner},
		{name: "marks a namespace as created by the operator, for Delete to delete it", by: maker, target: plain,
			do: mergePatch(plain, `{"metadata":{"annotations":{"mhst.io/created-by":"wakefield"}}}`), refusal: createdByOwner},
		{name: "hands a namespace to an area without being an administrator", by: maker, target: plain,
			do: mergePatch(plain, `{"metadata":{"labels":{"mhst.io/area":"wakefield"}}}`), refusal: labelOwner},
		{name: "takes an area's namespace for another area", by: maker, target: planted(yorkNamespace, nil, nil),
			do: mergePatch(planted(yorkNamespace, nil, nil), `{"metadata":{"labels":{"mhst.io/area":"leeds"}}}`), refusal: labelOwner},
	} {
		a.run(t)
	}

	// An area named after the planted namespace does not take it.
	wakefield := area("wakefield", []mhstv1alpha1.BoardMember{
		{Kind: mhstv1alpha1.SubjectGroup, Name: "wakefield-icb", Sector: mhstv1alpha1.SectorHealth},
		{Kind: mhstv1alpha1.SubjectGroup, Name: "wakefield-schools", Sector: mhstv1alpha1.SectorEducation},
	}, "wendy@wakefield.example")
	wakefield.Spec.DeletionPolicy = mhstv1alpha1.DeletionDelete
	g.Expect(admin.Create(ctx, wakefield)).To(Succeed())
	eventually(t, func(g Gomega) {
		var a mhstv1alpha1.LocalArea
		g.Expect(admin.Get(ctx, client.ObjectKey{Name: "wakefield"}, &a)).To(Succeed())
		g.Expect(a.Status.Conditions).To(ContainElement(And(
			HaveField("Type", mhstv1alpha1.ConditionStalled), HaveField("Reason", mhstv1alpha1.ReasonNamespaceConflict),
			HaveField("Message", ContainSubstring("have a cluster administrator hand it over")))))
	}).Should(Succeed())
	g.Expect(admin.Delete(ctx, wakefield)).To(Succeed())
	eventually(t, func() bool {
		return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: "wakefield"}, &mhstv1alpha1.LocalArea{}))
	}).Should(BeTrue())
	var ns corev1.Namespace
	g.Expect(admin.Get(ctx, client.ObjectKey{Name: "mhst-wakefield"}, &ns)).To(Succeed())
	g.Expect(ns.DeletionTimestamp).To(BeNil(), "deletionPolicy Delete never deletes a namespace the operator did not create")
	g.Expect(ns.Labels).NotTo(HaveKey(mhstv1alpha1.LabelArea))
}

// TestOperatorCannotBeTurnedIntoClusterAdmin: requests made with the
// operator's own identity (server dry-run, so that a policy that fails
// open could not do harm) beyond what it manages are refused.
func TestOperatorCannotBeTurnedIntoClusterAdmin(t *testing.T) {
	ctx := t.Context()
	g := NewWithT(t)
	settings := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "cluster-settings"}, Data: map[string]string{"k": "v"}}
	foreignRole := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}}
	lookalike := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "mhst-area-fake-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}
	for _, obj := range []client.Object{settings, foreignRole, lookalike} {
		g.Expect(admin.Create(ctx, obj)).To(Succeed())
	}
	tools := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-tools"}}
	g.Expect(admin.Create(ctx, tools)).To(Succeed())
	// Handed over by an administrator to an area that does not exist (yet).
	handed := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "handed-over"}}
	g.Expect(admin.Create(ctx, handed)).To(Succeed())
	g.Expect(mergePatch(handed, `{"metadata":{"labels":{"mhst.io/area":"hull"}}}`)(ctx, admin)).To(Succeed())

	op := operator
	deployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "backdoor"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "backdoor"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "backdoor"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}},
			},
		},
	}
	for _, a := range []attack{
		{name: "creates a Deployment in kube-system", by: op, dryRun: true, do: create(deployment), refusal: operatorScope},
		{name: "changes a ConfigMap in kube-system", by: op, dryRun: true,
			do: mergePatch(settings, `{"data":{"k":"x"}}`), refusal: operatorScope},
		{name: "binds its own ClusterRole to another user", by: op, dryRun: true,
			do: create(&rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "mallory-is-operator"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: shipped.ServiceAccount},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}},
			}), refusal: operatorScope},
		{name: "binds its own ClusterRole in an area's namespace", by: op, dryRun: true,
			do: create(&rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "mallory"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: shipped.ServiceAccount},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}},
			}), refusal: operatorScope},
		{name: "changes a ClusterRole it does not own", by: op, dryRun: true,
			do: mergePatch(foreignRole, `{"rules":[]}`), refusal: operatorScope},
		{name: "deletes a ClusterRole it does not own", by: op, dryRun: true, do: remove(foreignRole), refusal: operatorScope},
		{name: "deletes a ClusterRole named like its own that it did not make", by: op, dryRun: true, do: remove(lookalike), refusal: operatorScope},
		{name: "deletes another application's namespace", by: op, dryRun: true, do: remove(tools), refusal: operatorScope},
		{name: "deletes a namespace handed over to an area, which it did not create", by: op, dryRun: true, do: remove(handed), refusal: operatorScope},
		{name: "creates a namespace for no area", by: op, dryRun: true,
			do: create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "not-an-area"}}), refusal: operatorScope},
		{name: "grants more than reading one LocalArea in a reader role", by: op, dryRun: true,
			do: mergePatch(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "mhst-area-york-reader"}},
				`{"rules":[{"apiGroups":["mhst.io"],"resources":["localareas"],"verbs":["get","watch","update"],"resourceNames":["york"]}]}`), refusal: operatorScope},
		{name: "reads Secrets", by: op,
			do: func(ctx context.Context, c client.Client) error {
				return c.List(ctx, &corev1.SecretList{}, client.InNamespace("kube-system"))
			}},
	} {
		a.run(t)
	}

	// What the operator really does still works, as the same identity.
	g.Expect(operator(t).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "dry-run-report"},
	}, client.DryRunAll)).To(Succeed())
	g.Expect(operator(t).Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        "mhst-new-area",
		Labels:      map[string]string{mhstv1alpha1.LabelArea: "new-area"},
		Annotations: map[string]string{mhstv1alpha1.AnnotationCreatedBy: "new-area"},
	}}, client.DryRunAll)).To(Succeed())
}

// TestAnonymousClientsGetNothing: without credentials nothing of the
// operator's is readable.
func TestAnonymousClientsGetNothing(t *testing.T) {
	for _, a := range []attack{
		{name: "lists the areas", by: anonymous, do: func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &mhstv1alpha1.LocalAreaList{})
		}},
		{name: "reads an area's coverage report", by: anonymous,
			do: get(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "mhst-coverage-report"}})},
		{name: "reads the national coverage report", by: anonymous,
			do: get(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: shipped.Namespace, Name: "mhst-national-coverage"}})},
	} {
		a.run(t)
	}
}

// TestAuditorsCannotPreemptAScheduledSnapshot: an auditor may take a
// snapshot, but not under a name the operator's schedule uses, which would
// keep the real one of that date from being taken.
func TestAuditorsCannotPreemptAScheduledSnapshot(t *testing.T) {
	const auditor = "ada@audit.example"
	ctx := t.Context()
	g := NewWithT(t)
	g.Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-auditor"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "mhst-auditor"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: auditor}},
	})).To(Succeed())
	by := func(t *testing.T) client.Client { return as(t, auditor) }
	snap := func(name, scope, area string) *mhstv1alpha1.CoverageSnapshot {
		return &mhstv1alpha1.CoverageSnapshot{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       mhstv1alpha1.CoverageSnapshotSpec{Scope: mhstv1alpha1.SnapshotScope(scope), Area: area},
		}
	}
	for _, a := range []attack{
		{name: "takes next year's national snapshot ahead of its date", by: by, target: snap("national-2099-03-31", "National", ""),
			do: create(snap("national-2099-03-31", "National", "")), refusal: "kept for the snapshots the operator takes on schedule"},
		{name: "takes an area's scheduled snapshot ahead of its date", by: by, target: snap("york-2099-03-31", "Area", "york"),
			do: create(snap("york-2099-03-31", "Area", "york")), refusal: "kept for the snapshots the operator takes on schedule"},
		{name: "deletes a snapshot", by: by, do: func(ctx context.Context, c client.Client) error {
			return c.Delete(ctx, snap("york-audit", "Area", "york"))
		}},
	} {
		a.run(t)
	}
	// What an auditor may do: take one under a name of their own.
	g.Expect(by(t).Create(ctx, snap("york-audit", "Area", "york"))).To(Succeed())
}
