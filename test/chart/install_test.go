package chart

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/manifests"
)

// TestInstall renders the chart with several sets of values, applies each
// render server-side to a real API server (the CRDs included) and checks
// what the API server stored; then it checks, as the operator's
// ServiceAccount, what the chart's RBAC lets the operator do.
func TestInstall(t *testing.T) {
	helmBinary(t)
	cfg, admin := startCluster(t)

	t.Run("renders are accepted", func(t *testing.T) { testRendersAreAccepted(t, admin) })
	t.Run("operator permissions", func(t *testing.T) { testOperatorPermissions(t, cfg, admin) })
}

// install is one set of values and what the API server must hold after
// the render is applied.
type install struct {
	name      string
	namespace string
	values    string
	// What the stored objects must show.
	replicas       int32
	args           []string
	memoryLimit    string
	pdb            bool
	serviceMonitor bool
	prometheusRule bool
	dashboard      bool
	policies       bool
	networkPolicy  bool
	// metricsReaderBinding: the metrics-reader role is bound to a
	// Prometheus ServiceAccount.
	metricsReaderBinding bool
}

var installs = []install{
	{
		name: "defaults", namespace: releaseNS,
		replicas:    2,
		args:        []string{"--leader-elect", "--restrict-egress=true", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--allowed-priority-classes=", "--snapshot-dates=03-31"},
		memoryLimit: "512Mi",
		pdb:         true, policies: true, networkPolicy: true,
	},
	{
		name: "one replica, ServiceMonitor, alerts, dashboard, no policies", namespace: "mhst-single",
		values: "replicas: 1\nmetrics:\n  serviceMonitor:\n    enabled: true\n    labels: {release: prometheus}\n" +
			"  prometheusRule:\n    enabled: true\n  grafanaDashboard:\n    enabled: true\n" +
			"  prometheusServiceAccount: {name: prometheus-k8s, namespace: monitoring}\nadmissionPolicies:\n  enabled: false\nnetworkPolicy:\n  enabled: false\n",
		replicas:             1,
		args:                 []string{"--leader-elect", "--metrics-bind-address=:8443"},
		memoryLimit:          "512Mi",
		serviceMonitor:       true,
		prometheusRule:       true,
		dashboard:            true,
		metricsReaderBinding: true,
	},
	{
		name: "metrics certificate from a Secret, verified by Prometheus", namespace: "mhst-certified",
		values: "metrics:\n  certSecret: mhst-operator-metrics-cert\n  serviceMonitor:\n    enabled: true\n    tokenSecret: {name: prometheus-token}\n" +
			"    tlsConfig:\n      insecureSkipVerify: false\n      ca: {secret: {name: mhst-operator-metrics-cert, key: ca.crt}}\n      serverName: mhst-operator-metrics.mhst-certified.svc\n",
		replicas:    2,
		args:        []string{"--metrics-bind-address=:8443", "--metrics-cert-dir=/tmp/k8s-metrics-server/metrics-certs"},
		memoryLimit: "512Mi",
		pdb:         true, policies: true, networkPolicy: true,
		serviceMonitor: true,
	},
	{
		name: "open egress, custom resources, priority classes", namespace: "mhst-open-egress",
		values: "tenancy:\n  restrictEgress: false\nresources:\n  requests: {cpu: 250m, memory: 256Mi}\n  limits: {cpu: '1', memory: 1Gi}\nmaxConcurrentReconciles: 8\nlogLevel: debug\n" +
			"blueprints:\n  allowedPriorityClasses: [mhst-standard, mhst-high]\nsnapshots:\n  dates: [03-31, 09-30]\n",
		replicas: 2,
		args: []string{"--leader-elect", "--restrict-egress=false", "--max-concurrent-reconciles=8", "--zap-log-level=debug",
			"--allowed-priority-classes=mhst-standard,mhst-high", "--snapshot-dates=03-31,09-30"},
		memoryLimit: "1Gi",
		pdb:         true, policies: true, networkPolicy: true,
	},
}

func testRendersAreAccepted(t *testing.T, admin client.Client) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			ctx := t.Context()
			objs := mustRender(t, in.namespace, in.values)
			createNamespace(t, admin, in.namespace)
			if err := manifests.Apply(ctx, admin, objs); err != nil {
				t.Fatalf("the API server refused the render: %v", err)
			}
			for _, obj := range objs {
				if err := admin.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopy()); err != nil {
					t.Errorf("%s %s was not stored: %v", obj.GetKind(), obj.GetName(), err)
				}
			}
			checkDeployment(t, admin, in)
			checkPresence(t, objs, "PodDisruptionBudget", in.pdb)
			checkPresence(t, objs, "ServiceMonitor", in.serviceMonitor)
			checkPresence(t, objs, "PrometheusRule", in.prometheusRule)
			if got := find(objs, "ConfigMap", releaseName+"-dashboard") != nil; got != in.dashboard {
				t.Errorf("ConfigMap %s-dashboard rendered: got %v, want %v", releaseName, got, in.dashboard)
			}
			checkPresence(t, objs, "ValidatingAdmissionPolicy", in.policies)
			checkPresence(t, objs, "ValidatingAdmissionPolicyBinding", in.policies)
			checkPresence(t, objs, "NetworkPolicy", in.networkPolicy)
			if got := find(objs, "ClusterRoleBinding", releaseName+"-metrics-reader") != nil; got != in.metricsReaderBinding {
				t.Errorf("ClusterRoleBinding %s-metrics-reader rendered: got %v, want %v", releaseName, got, in.metricsReaderBinding)
			}
		})
	}
}

// checkDeployment reads the operator's Deployment back from the API server.
func checkDeployment(t *testing.T, admin client.Client, in install) {
	t.Helper()
	var d appsv1.Deployment
	if err := admin.Get(t.Context(), client.ObjectKey{Namespace: in.namespace, Name: releaseName}, &d); err != nil {
		t.Fatalf("get the operator's Deployment: %v", err)
	}
	if got := *d.Spec.Replicas; got != in.replicas {
		t.Errorf("replicas: got %d, want %d", got, in.replicas)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != releaseName {
		t.Errorf("serviceAccountName: got %q, want %q", pod.ServiceAccountName, releaseName)
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("the pod may run as root")
	}
	c := pod.Containers[0]
	for _, arg := range in.args {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args %v lack %s", c.Args, arg)
		}
	}
	if !hasPodNamespace(c.Env) {
		t.Error("POD_NAMESPACE does not come from the downward API")
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("the container's security context is not the restricted profile's")
	}
	if c.LivenessProbe == nil || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Port.String() != "health" {
		t.Error("the container lacks its probes on the health port")
	}
	if got := c.Resources.Limits.Memory().String(); got != in.memoryLimit {
		t.Errorf("memory limit: got %s, want %s", got, in.memoryLimit)
	}
}

func hasPodNamespace(env []corev1.EnvVar) bool {
	for _, e := range env {
		if e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
			return true
		}
	}
	return false
}

func checkPresence(t *testing.T, objs []*unstructured.Unstructured, kind string, want bool) {
	t.Helper()
	if got := len(ofKind(objs, kind)) > 0; got != want {
		t.Errorf("%s rendered: got %v, want %v", kind, got, want)
	}
}

// testOperatorPermissions impersonates the ServiceAccount of the default
// install: it can do its work, and nothing that would let it read an
// area's secrets or make itself a cluster administrator.
func testOperatorPermissions(t *testing.T, cfg *rest.Config, admin client.Client) {
	ctx := t.Context()
	// The installs above share the cluster-scoped objects (the ClusterRole
	// and its binding): apply the default one last, as the one under test.
	createNamespace(t, admin, releaseNS)
	if err := manifests.Apply(ctx, admin, mustRender(t, releaseNS, "")); err != nil {
		t.Fatalf("install the chart: %v", err)
	}
	createNamespace(t, admin, "mhst-leeds")
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "mhst-leeds", Name: "referrals-db"},
		StringData: map[string]string{"password": "not for the operator"},
	}
	if err := admin.Create(ctx, secret); err != nil {
		t.Fatalf("create secret: %v", err)
	}
	operator := impersonate(t, cfg, admin.Scheme(), fmt.Sprintf("system:serviceaccount:%s:%s", releaseNS, releaseName), releaseNS)

	tests := []struct {
		name    string
		do      func(context.Context, client.Client) error
		allowed bool
	}{
		{"list LocalAreas", func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &mhstv1alpha1.LocalAreaList{})
		}, true},
		{"list SupportTeams of an area", func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &mhstv1alpha1.SupportTeamList{}, client.InNamespace("mhst-leeds"))
		}, true},
		{"take the leader election Lease", func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNS, Name: "mhst-operator.mhst.io"}})
		}, true},
		{"renew the leader election Lease", func(ctx context.Context, c client.Client) error {
			return c.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "mhst-operator.mhst.io"}, &coordinationv1.Lease{})
		}, true},
		{"review a scraper's token (metrics authentication)", func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "a-scrapers-token"}})
		}, true},
		{"ask whether a scraper may get /metrics (metrics authorization)", func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:                  "system:serviceaccount:monitoring:prometheus-k8s",
				NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
			}})
		}, true},
		{"list Secrets of an area", func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &corev1.SecretList{}, client.InNamespace("mhst-leeds"))
		}, false},
		{"read a Secret of an area", func(ctx context.Context, c client.Client) error {
			return c.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{})
		}, false},
		{"list Secrets of its own namespace", func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &corev1.SecretList{}, client.InNamespace(releaseNS))
		}, false},
		{"read another Lease", func(ctx context.Context, c client.Client) error {
			return c.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "someone-else"}, &coordinationv1.Lease{})
		}, false},
		{"bind itself to cluster-admin", func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "mhst-operator-escalates"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: releaseNS, Name: releaseName}},
			})
		}, false},
		{"bind itself to cluster-admin in an area", func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: "mhst-leeds", Name: "mhst-operator-escalates"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: releaseNS, Name: releaseName}},
			})
		}, false},
		{"change its own ClusterRole", func(ctx context.Context, c client.Client) error {
			role := &rbacv1.ClusterRole{}
			if err := c.Get(ctx, client.ObjectKey{Name: releaseName}, role); err != nil {
				return err
			}
			role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}})
			return c.Update(ctx, role)
		}, false},
	}
	for _, tt := range tests {
		err := tt.do(ctx, operator)
		switch {
		case tt.allowed && err != nil:
			t.Errorf("the operator cannot %s: %v", tt.name, err)
		case !tt.allowed && err == nil:
			t.Errorf("the operator can %s", tt.name)
		case !tt.allowed && !apierrors.IsForbidden(err):
			t.Errorf("%s: want forbidden, got %v", tt.name, err)
		}
	}
}

// impersonate returns a client acting as a ServiceAccount, with the groups
// the API server gives every ServiceAccount of its namespace.
func impersonate(t *testing.T, cfg *rest.Config, scheme *runtime.Scheme, user, namespace string) client.Client {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: user,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("client as %s: %v", user, err)
	}
	return c
}

func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	err := c.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// startCluster starts a real API server with stand-ins for the
// ServiceMonitor and PrometheusRule CRDs; the chart brings its own CRDs.
func startCluster(t *testing.T) (*rest.Config, client.Client) {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: run `make test-chart`, which provides a real control plane")
	}
	cluster, err := localcluster.Start(t.Context(), localcluster.Options{CRDDirs: []string{"testdata"}})
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
	admin, err := client.New(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return cluster.Config, admin
}
