// Package admission tests the ValidatingAdmissionPolicies of config/admission
// on a real kube-apiserver: the API server itself enforces them, with no
// webhook and no operator running.
package admission

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/manifests"
)

const (
	operatorUser = "system:serviceaccount:mhst-system:mhst-operator"
	otherUser    = "alice@example.org"

	// Fragments of the policies' messages: they tell a denial by a policy
	// from any other error, RBAC denials included.
	labelDenied     = "is set by the mhst-operator only"
	namespaceDenied = "belongs to no LocalArea"
	configMapDenied = "is written by the mhst-operator only"

	// The control plane's own identities, as kube-controller-manager with
	// ServiceAccount credentials has them.
	garbageCollector    = "system:serviceaccount:kube-system:generic-garbage-collector"
	namespaceController = "system:serviceaccount:kube-system:namespace-controller"
)

// clients are the test's views of the API server: as an administrator, and
// impersonating the operator's ServiceAccount and an ordinary user who
// may edit namespaces and the mhst.io kinds.
type clients struct {
	admin, operator, other client.Client
	gc, namespaces         client.Client
}

func TestAdmissionPolicies(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	c := startCluster(t)

	objs, err := manifests.ReadFiles("../../config/admission/area_namespace_policy.yaml", "../../config/admission/area_label_policy.yaml",
		"../../config/admission/operator_configmaps_policy.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(manifests.Apply(ctx, c.admin, objs)).To(Succeed())
	waitForPolicies(t, c)

	t.Run("namespace label", func(t *testing.T) { testAreaLabel(t, c) })
	t.Run("teams and coverages", func(t *testing.T) { testAreaNamespace(t, c) })
	t.Run("the operator's ConfigMaps", func(t *testing.T) { testOperatorConfigMaps(t, c) })
}

// testOperatorConfigMaps: in an area's namespace, only the operator writes
// the ConfigMaps mhst-governance and mhst-coverage-report; a trusted
// applier (system:masters here), the garbage collector, and the deletion
// of a namespace being deleted are let through. Other ConfigMaps, and
// ConfigMaps of those names elsewhere, are left alone.
func testOperatorConfigMaps(t *testing.T, c clients) {
	g := NewWithT(t)
	ctx := t.Context()
	for _, ns := range []string{"mhst-york", "mhst-gone"} {
		g.Expect(createNamespace(ns, map[string]string{mhstv1alpha1.LabelArea: strings.TrimPrefix(ns, "mhst-")})(ctx, c.operator)).To(Succeed())
	}
	g.Expect(createNamespace("team-tools", nil)(ctx, c.admin)).To(Succeed())
	// The policy is loaded a moment after it is created.
	g.Eventually(func() error {
		err := createConfigMap("mhst-york", "mhst-governance")(ctx, c.other)
		if err == nil {
			return c.admin.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "mhst-york", Name: "mhst-governance"}})
		}
		if !strings.Contains(err.Error(), configMapDenied) {
			return err
		}
		return nil
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

	tests := []struct {
		name   string
		as     func(clients) client.Client
		do     func(ctx context.Context, c client.Client) error
		denied bool
	}{
		{"operator creates the board's parameter", asOperator, createConfigMap("mhst-york", "mhst-governance"), false},
		{"operator creates the report", asOperator, createConfigMap("mhst-york", "mhst-coverage-report"), false},
		{"operator changes the board's parameter", asOperator, patchConfigMap("mhst-york", "mhst-governance"), false},
		{"user changes the board's parameter", asOther, patchConfigMap("mhst-york", "mhst-governance"), true},
		{"user deletes the board's parameter", asOther, deleteConfigMap("mhst-york", "mhst-governance"), true},
		{"user changes the report", asOther, patchConfigMap("mhst-york", "mhst-coverage-report"), true},
		{"user deletes the report", asOther, deleteConfigMap("mhst-york", "mhst-coverage-report"), true},
		{"user creates a blueprint", asOther, createConfigMap("mhst-york", "blueprint"), false},
		{"user changes a blueprint", asOther, patchConfigMap("mhst-york", "blueprint"), false},
		{"user deletes a blueprint", asOther, deleteConfigMap("mhst-york", "blueprint"), false},
		{"user creates a ConfigMap of the name outside any area", asOther, createConfigMap("team-tools", "mhst-governance"), false},
		{"user changes it outside any area", asOther, patchConfigMap("team-tools", "mhst-governance"), false},
		{"operator creates the parameter of an area that goes", asOperator, createConfigMap("mhst-gone", "mhst-governance"), false},
		{"operator creates the report of an area that goes", asOperator, createConfigMap("mhst-gone", "mhst-coverage-report"), false},
		{"a trusted applier changes the board's parameter", asAdmin, patchConfigMap("mhst-york", "mhst-governance"), false},
		{"the garbage collector deletes the report", asGC, deleteConfigMap("mhst-york", "mhst-coverage-report"), false},
		{"user creates the report", asOther, createConfigMap("mhst-york", "mhst-coverage-report"), true},
		// Without a namespace controller in this cluster, the namespace stays
		// Terminating with its ConfigMaps in it.
		{"the area's namespace is deleted", asAdmin, deleteNamespace("mhst-gone"), false},
		{"user changes the parameter in a namespace being deleted", asOther, patchConfigMap("mhst-gone", "mhst-governance"), true},
		{"the namespace controller deletes the parameter of a namespace being deleted", asNamespaceController, deleteConfigMap("mhst-gone", "mhst-governance"), false},
		{"user deletes the report of a namespace being deleted", asOther, deleteConfigMap("mhst-gone", "mhst-coverage-report"), false},
	}
	for _, tt := range tests {
		err := tt.do(ctx, tt.as(c))
		if tt.denied {
			expectDenied(t, tt.name, err, configMapDenied)
		} else if err != nil {
			t.Errorf("%s: want allowed, got %v", tt.name, err)
		}
	}
}

// testAreaLabel: only the operator sets, changes or removes a namespace's
// mhst.io/area label; other changes, and deletion, are not affected.
func testAreaLabel(t *testing.T, c clients) {
	ctx := t.Context()
	tests := []struct {
		name   string
		as     func(clients) client.Client
		do     func(ctx context.Context, c client.Client) error
		denied bool
	}{
		{"operator creates a labelled namespace", asOperator, createNamespace("area-a", map[string]string{mhstv1alpha1.LabelArea: "a"}), false},
		{"user creates a labelled namespace", asOther, createNamespace("area-b", map[string]string{mhstv1alpha1.LabelArea: "b"}), true},
		{"user creates an unlabelled namespace", asOther, createNamespace("plain", map[string]string{"team": "x"}), false},
		{"user changes another label of an area namespace", asOther, relabel("area-a", "owner", "nhs"), false},
		{"user annotates an area namespace", asOther, annotate("area-a", "note", "reviewed"), false},
		{"user changes the area label", asOther, relabel("area-a", mhstv1alpha1.LabelArea, "b"), true},
		{"user removes the area label", asOther, unlabel("area-a", mhstv1alpha1.LabelArea), true},
		{"user labels an unlabelled namespace", asOther, relabel("plain", mhstv1alpha1.LabelArea, "c"), true},
		{"operator labels an unlabelled namespace", asOperator, relabel("plain", mhstv1alpha1.LabelArea, "c"), false},
		{"operator removes the area label", asOperator, unlabel("plain", mhstv1alpha1.LabelArea), false},
		{"user deletes an area namespace", asOther, deleteNamespace("area-a"), false},
	}
	for _, tt := range tests {
		err := tt.do(ctx, tt.as(c))
		if tt.denied {
			expectDenied(t, tt.name, err, labelDenied)
		} else if err != nil {
			t.Errorf("%s: want allowed, got %v", tt.name, err)
		}
	}
}

// testAreaNamespace: SupportTeams and SchoolCoverages are created in area
// namespaces only, whoever creates them.
func testAreaNamespace(t *testing.T, c clients) {
	g := NewWithT(t)
	ctx := t.Context()
	g.Expect(createNamespace("mhst-leeds", map[string]string{mhstv1alpha1.LabelArea: "leeds"})(ctx, c.operator)).To(Succeed())
	g.Expect(createNamespace("elsewhere", nil)(ctx, c.admin)).To(Succeed())

	tests := []struct {
		name   string
		as     func(clients) client.Client
		obj    client.Object
		denied bool
	}{
		{"team in an area namespace", asOther, supportTeam("mhst-leeds", "north"), false},
		{"team outside any area", asOther, supportTeam("elsewhere", "north"), true},
		{"team outside any area, by an administrator", asAdmin, supportTeam("elsewhere", "south"), true},
		{"coverage in an area namespace", asOther, schoolCoverage("mhst-leeds", "north-schools"), false},
		{"coverage outside any area", asOther, schoolCoverage("elsewhere", "north-schools"), true},
	}
	for _, tt := range tests {
		err := tt.as(c).Create(ctx, tt.obj)
		if tt.denied {
			expectDenied(t, tt.name, err, namespaceDenied)
		} else if err != nil {
			t.Errorf("%s: want allowed, got %v", tt.name, err)
		}
	}
}

func expectDenied(t *testing.T, name string, err error, fragment string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: want denied by the policy, got allowed", name)
	case !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err):
		t.Errorf("%s: want a denial, got %v", name, err)
	case !strings.Contains(err.Error(), fragment):
		t.Errorf("%s: want the policy's message %q, got %v", name, fragment, err)
	}
}

// waitForPolicies waits until the API server enforces both policies: a
// policy is compiled and loaded a moment after it is created.
func waitForPolicies(t *testing.T, c clients) {
	g := NewWithT(t)
	ctx := t.Context()
	g.Expect(createNamespace("probe", nil)(ctx, c.admin)).To(Succeed())
	g.Eventually(func() string {
		err := relabel("probe", mhstv1alpha1.LabelArea, "probe")(ctx, c.other)
		if err == nil {
			_ = unlabel("probe", mhstv1alpha1.LabelArea)(ctx, c.operator)
			return ""
		}
		return err.Error()
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(ContainSubstring(labelDenied))
	g.Eventually(func() string {
		team := supportTeam("probe", "probe")
		err := c.other.Create(ctx, team)
		if err == nil {
			_ = c.admin.Delete(ctx, team)
			return ""
		}
		return err.Error()
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(ContainSubstring(namespaceDenied))
}

func asAdmin(c clients) client.Client    { return c.admin }
func asOperator(c clients) client.Client { return c.operator }
func asOther(c clients) client.Client    { return c.other }

func asGC(c clients) client.Client                  { return c.gc }
func asNamespaceController(c clients) client.Client { return c.namespaces }

func createConfigMap(ns, name string) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		return c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string]string{"k": "v"}})
	}
}

func patchConfigMap(ns, name string) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		return c.Patch(ctx, cm, client.RawPatch("application/merge-patch+json", []byte(`{"data":{"k":"changed"}}`)))
	}
}

func deleteConfigMap(ns, name string) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		return c.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	}
}

func createNamespace(name string, labels map[string]string) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	}
}

func deleteNamespace(name string) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		return c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
}

// patchNamespace applies a JSON merge patch to a namespace's metadata, the
// way `kubectl label` and `kubectl annotate` do.
func patchNamespace(name, metadata string) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		return c.Patch(ctx, ns, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":`+metadata+`}`)))
	}
}

func relabel(ns, key, value string) func(context.Context, client.Client) error {
	return patchNamespace(ns, `{"labels":{"`+key+`":"`+value+`"}}`)
}

func unlabel(ns, key string) func(context.Context, client.Client) error {
	return patchNamespace(ns, `{"labels":{"`+key+`":null}}`)
}

func annotate(ns, key, value string) func(context.Context, client.Client) error {
	return patchNamespace(ns, `{"annotations":{"`+key+`":"`+value+`"}}`)
}

func supportTeam(ns, name string) *mhstv1alpha1.SupportTeam {
	return &mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mhstv1alpha1.SupportTeamSpec{
			DisplayName: "MHST " + name,
			Service:     mhstv1alpha1.TeamService{Image: "registry.example.org/mhst/service:1.0"},
		},
	}
}

func schoolCoverage(ns, name string) *mhstv1alpha1.SchoolCoverage {
	return &mhstv1alpha1.SchoolCoverage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mhstv1alpha1.SchoolCoverageSpec{
			Settings: []mhstv1alpha1.Setting{{URN: "107940", Name: "A primary school", Phase: mhstv1alpha1.PhasePrimary, Pupils: 420}},
		},
	}
}

// startCluster starts a real API server with the CRDs, and gives the test's
// users the permissions they need, so that only the policies can deny them.
func startCluster(t *testing.T) clients {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: run with `make test`, which provides a real control plane")
	}
	cluster, err := localcluster.Start(t.Context(), localcluster.Options{CRDDirs: []string{"../../config/crd/bases"}})
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Errorf("stop control plane: %v", err)
		}
	})
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(mhstv1alpha1.AddToScheme(scheme))
	c := clients{
		admin:      newClient(t, cluster.Config, scheme, ""),
		operator:   newClient(t, cluster.Config, scheme, operatorUser),
		other:      newClient(t, cluster.Config, scheme, otherUser),
		gc:         newClient(t, cluster.Config, scheme, garbageCollector),
		namespaces: newClient(t, cluster.Config, scheme, namespaceController),
	}
	grantEditors(t, c.admin, operatorUser, otherUser, garbageCollector, namespaceController)
	return c
}

func newClient(t *testing.T, cfg *rest.Config, scheme *runtime.Scheme, user string) client.Client {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("client for %q: %v", user, err)
	}
	return c
}

// grantEditors lets users create, change and delete namespaces,
// ConfigMaps and the mhst.io kinds anywhere.
func grantEditors(t *testing.T, c client.Client, users ...string) {
	t.Helper()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "test-editor"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces", "configmaps"}, Verbs: []string{"get", "create", "update", "patch", "delete"}},
			{APIGroups: []string{mhstv1alpha1.GroupVersion.Group}, Resources: []string{"supportteams", "schoolcoverages"}, Verbs: []string{"get", "create", "delete"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-editor"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
	}
	for _, u := range users {
		binding.Subjects = append(binding.Subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: u})
	}
	for _, obj := range []client.Object{role, binding} {
		if err := c.Create(t.Context(), obj); err != nil {
			t.Fatalf("create %T: %v", obj, err)
		}
	}
}
