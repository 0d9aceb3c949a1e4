package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/shipped"
)

func TestAgreementPatch(t *testing.T) {
	tests := []struct {
		name      string
		agreement *mhstv1alpha1.Agreement
		want      string
	}{
		{"agree", &mhstv1alpha1.Agreement{DecisionRef: "GB-2025-03 item 4", AgreedAt: "2025-03-03", AgreedBy: "bob"},
			`{"metadata":{"annotations":{"mhst.io/agreement-changed-by":"bob"}},"spec":{"agreement":{"agreedAt":"2025-03-03","agreedBy":"bob","decisionRef":"GB-2025-03 item 4"}}}`},
		{"withdraw", nil, `{"metadata":{"annotations":{"mhst.io/agreement-changed-by":"bob"}},"spec":{"agreement":null}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patch, err := agreementPatch("bob", tt.agreement)
			if err != nil {
				t.Fatal(err)
			}
			// Compare as JSON values: key order is not part of the patch.
			var got, want any
			_ = json.Unmarshal(patch, &got)
			_ = json.Unmarshal([]byte(tt.want), &want)
			if gotJSON, _ := json.Marshal(got); string(gotJSON) != mustJSON(t, want) {
				t.Errorf("patch = %s, want %s", patch, tt.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestAgreeCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"agree", "-n", "mhst-york", "--decision", "x"}, "the allocation's name"},
		{[]string{"agree", "york-1", "--decision", "x"}, "-n NAMESPACE"},
		{[]string{"agree", "york-1", "-n", "mhst-york"}, "--decision"},
		{[]string{"agree", "york-1", "-n", "mhst-york", "--decision", "x", "--date", "5 March"}, "is not a date"},
		{[]string{"withdraw", "-n", "mhst-york"}, "the allocation's name"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(tt.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
		}
	}
}

// TestAgreeAndWithdraw runs the commands as a board member and as a lead
// against a real API server with the shipped admission policies: the board
// member's agreement is recorded in their name, the lead's is refused with
// the policy's message.
func TestAgreeAndWithdraw(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run with `make test`, which provides a real control plane")
	}
	ctx := t.Context()
	cluster, err := localcluster.Start(ctx, localcluster.Options{CRDDirs: []string{"../../config/crd/bases"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	if err := shipped.Install(ctx, cluster.Config, "../../config"); err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(mhstv1alpha1.AddToScheme(scheme))
	admin, err := client.New(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	// What the operator provisions for an area, made by hand here: the
	// namespace (handed over by the administrator), the board's and the
	// lead's access and the admission policy's parameter.
	const ns, board, lead = "mhst-york", "bob@york.example", "lena@york.example"
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if err := admin.Create(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	handOver := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"`+mhstv1alpha1.LabelArea+`":"york"}}}`))
	if err := admin.Patch(ctx, namespace, handOver); err != nil {
		t.Fatal(err)
	}
	objs := []client.Object{
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: mhstv1alpha1.GovernanceConfigMapName},
			Data:       map[string]string{mhstv1alpha1.GovernanceKeyArea: "york", mhstv1alpha1.GovernanceKeyBoardUsers: board, mhstv1alpha1.GovernanceKeyLeadUsers: lead},
		},
		binding(ns, "mhst-area-board", board),
		binding(ns, "mhst-area-lead", lead),
		&mhstv1alpha1.SchoolCoverage{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "york-1-2025"},
			Spec: mhstv1alpha1.SchoolCoverageSpec{
				TeamRef:  &mhstv1alpha1.TeamReference{Name: "york-1"},
				Settings: []mhstv1alpha1.Setting{{URN: "144711", Name: "Fulford School", Phase: mhstv1alpha1.PhaseSecondary, Pupils: 1650}},
			},
		},
	}
	for _, obj := range objs {
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatalf("create %s: %v", obj.GetName(), err)
		}
	}
	asBoard := kubeconfigAs(t, cluster.Config, board)
	asLead := kubeconfigAs(t, cluster.Config, lead)

	var stdout, stderr bytes.Buffer
	if code := run([]string{"agree", "york-1-2025", "-n", ns, "--decision", "York board, 3 March 2025, item 2", "--kubeconfig", asLead}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "only a member of that board") {
		t.Fatalf("a lead's agreement: exit %d, stderr %q; want 1 and the policy's refusal", code, stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"agree", "york-1-2025", "-n", ns, "--decision", "York board, 3 March 2025, item 2", "--kubeconfig", asBoard}, &stdout, &stderr); code != 0 {
		t.Fatalf("the board member's agreement: exit %d, stderr %q", code, stderr.String())
	}
	var cov mhstv1alpha1.SchoolCoverage
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "york-1-2025"}, &cov); err != nil {
		t.Fatal(err)
	}
	want := mhstv1alpha1.Agreement{DecisionRef: "York board, 3 March 2025, item 2", AgreedAt: time.Now().Format(time.DateOnly), AgreedBy: board}
	if cov.Spec.Agreement == nil || *cov.Spec.Agreement != want || cov.Annotations[mhstv1alpha1.AnnotationAgreementChangedBy] != board {
		t.Fatalf("agreement %+v, annotations %v; want %+v by %s", cov.Spec.Agreement, cov.Annotations, want, board)
	}

	if code := run([]string{"withdraw", "york-1-2025", "-n", ns, "--kubeconfig", asBoard}, &stdout, &stderr); code != 0 {
		t.Fatalf("withdraw: exit %d, stderr %q", code, stderr.String())
	}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "york-1-2025"}, &cov); err != nil {
		t.Fatal(err)
	}
	if cov.Spec.Agreement != nil {
		t.Fatalf("the agreement is still there after withdraw: %+v", cov.Spec.Agreement)
	}
}

func binding(ns, role, user string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
}

// kubeconfigAs writes a kubeconfig that acts as user and returns its path.
func kubeconfigAs(t *testing.T, admin *rest.Config, user string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
	kc.AuthInfos["user"] = &clientcmdapi.AuthInfo{ClientCertificateData: admin.CertData, ClientKeyData: admin.KeyData, Impersonate: user,
		ImpersonateGroups: []string{"system:authenticated"}}
	kc.Contexts["user"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "user"}
	kc.CurrentContext = "user"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
