package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/manifests"
)

// The operator's ServiceAccount as config/rbac installs it.
const (
	operatorNamespace      = "mhst-system"
	operatorServiceAccount = "mhst-operator"
	metricsReaderRole      = "mhst-operator-metrics-reader"
	scraperNamespace       = "monitoring"
)

func TestMetricsServerOptions(t *testing.T) {
	certDir := t.TempDir()
	writeServingCert(t, certDir)

	tests := []struct {
		name    string
		flags   flags
		secure  bool
		certDir string
		wantErr string
	}{
		{"secure by default, self-signed", flags{metricsAddr: ":8443", metricsSecure: true}, true, "", ""},
		{"secure with a certificate", flags{metricsAddr: ":8443", metricsSecure: true, metricsCertDir: certDir}, true, certDir, ""},
		{"plain HTTP on localhost", flags{metricsAddr: "127.0.0.1:8080"}, false, "", ""},
		{"plain HTTP on localhost by name", flags{metricsAddr: "localhost:8080"}, false, "", ""},
		{"plain HTTP on IPv6 loopback", flags{metricsAddr: "[::1]:8080"}, false, "", ""},
		{"plain HTTP disabled", flags{metricsAddr: "0"}, false, "", ""},
		{"plain HTTP on every interface", flags{metricsAddr: ":8080"}, false, "", "needs an address on localhost"},
		{"plain HTTP on all IPv4 addresses", flags{metricsAddr: "0.0.0.0:8080"}, false, "", "needs an address on localhost"},
		{"plain HTTP on a pod's address", flags{metricsAddr: "10.0.0.7:8080"}, false, "", "needs an address on localhost"},
		{"certificate directory without the files", flags{metricsAddr: ":8443", metricsSecure: true, metricsCertDir: t.TempDir()}, false, "",
			"mount a Secret with tls.crt and tls.key"},
		{"certificate for plain HTTP", flags{metricsAddr: ":8080", metricsCertDir: certDir}, false, "",
			"--metrics-cert-dir needs --metrics-secure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := metricsServerOptions(tt.flags)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want an error saying %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.BindAddress != tt.flags.metricsAddr {
				t.Errorf("bind address %q, want %q", opts.BindAddress, tt.flags.metricsAddr)
			}
			if opts.SecureServing != tt.secure || (opts.FilterProvider != nil) != tt.secure {
				t.Errorf("secure serving %v with filter %v, want both %v", opts.SecureServing, opts.FilterProvider != nil, tt.secure)
			}
			if opts.CertDir != tt.certDir {
				t.Errorf("certificate directory %q, want %q", opts.CertDir, tt.certDir)
			}
		})
	}
}

// TestSecureMetrics runs a manager with the metrics endpoint the operator
// serves, on a real API server, as the operator's ServiceAccount with only
// the RBAC that config/rbac ships, and scrapes it as Prometheus would.
func TestSecureMetrics(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: run with `make test`, which provides a real control plane")
	}
	g := NewWithT(t)
	ctx := t.Context()
	cluster, err := localcluster.Start(ctx, localcluster.Options{})
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Errorf("stop control plane: %v", err)
		}
	})
	clientset := kubernetes.NewForConfigOrDie(cluster.Config)
	for _, ns := range []string{operatorNamespace, scraperNamespace} {
		_, err := clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(manifests.ApplyFiles(ctx, cluster.Config,
		"../../config/rbac/service_account.yaml",
		"../../config/rbac/role.yaml",
		"../../config/rbac/role_binding.yaml",
		"../../config/rbac/metrics_reader_role.yaml",
	)).To(Succeed())

	// Prometheus is bound to the metrics-reader role; the stranger is a
	// ServiceAccount like any other, authenticated but not authorized.
	for _, name := range []string{"prometheus", "stranger"} {
		_, err := clientset.CoreV1().ServiceAccounts(scraperNamespace).Create(ctx,
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
	}
	_, err = clientset.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-mhst-operator-metrics"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: metricsReaderRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: scraperNamespace, Name: "prometheus"}},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	prometheus := serviceAccountToken(t, clientset, "prometheus")
	stranger := serviceAccountToken(t, clientset, "stranger")

	t.Run("certificate from --metrics-cert-dir", func(t *testing.T) {
		certDir := t.TempDir()
		roots := writeServingCert(t, certDir)
		addr := startMetrics(t, cluster.Config, flags{metricsAddr: freeLoopbackAddr(t), metricsSecure: true, metricsCertDir: certDir})
		// The client verifies the certificate: it is the one in the
		// directory, not a self-signed one.
		https := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}}
		waitServing(t, https, addr)
		checkAccess(t, https, addr, prometheus, stranger)
	})
	t.Run("self-signed certificate", func(t *testing.T) {
		addr := startMetrics(t, cluster.Config, flags{metricsAddr: freeLoopbackAddr(t), metricsSecure: true})
		// Nobody can verify a certificate the operator made up at start:
		// traffic is encrypted, the server is not authenticated.
		https := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // see above
		waitServing(t, https, addr)
		checkAccess(t, https, addr, prometheus, stranger)
	})
}

// checkAccess scrapes the endpoint at addr in every way the operator must
// answer differently.
func checkAccess(t *testing.T, https *http.Client, addr, allowed, denied string) {
	t.Helper()
	plain := &http.Client{Timeout: 10 * time.Second}
	if status, body, err := scrape(plain, "http://"+addr+"/metrics", allowed); err == nil && (status == http.StatusOK || strings.Contains(body, "# TYPE")) {
		t.Errorf("plain HTTP: got %d with metrics, want the request refused", status)
	}
	tests := []struct {
		name   string
		token  string
		status []int // any of these
	}{
		{"no token", "", []int{http.StatusUnauthorized}},
		// controller-runtime's filter answers 500 when the TokenReview
		// carries an error, as it does for a token the API server did not
		// issue; what matters is that nothing is served.
		{"a token the API server did not issue", "not-a-token", []int{http.StatusUnauthorized, http.StatusInternalServerError}},
		{"a ServiceAccount without the metrics-reader role", denied, []int{http.StatusForbidden}},
		{"a ServiceAccount bound to " + metricsReaderRole, allowed, []int{http.StatusOK}},
	}
	for _, tt := range tests {
		status, body, err := scrape(https, "https://"+addr+"/metrics", tt.token)
		switch {
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !slices.Contains(tt.status, status):
			t.Errorf("%s: got %d (%s), want %v", tt.name, status, strings.TrimSpace(body), tt.status)
		case status == http.StatusOK && !isPrometheusText(body):
			t.Errorf("%s: the answer is not the operator's metrics in Prometheus text:\n%.500s", tt.name, body)
		case status != http.StatusOK && strings.Contains(body, "# TYPE"):
			t.Errorf("%s: refused with %d but metrics in the body", tt.name, status)
		}
	}
}

// isPrometheusText recognises the text exposition of the operator's
// registry: client-go's request counter is there once the manager talked
// to the API server.
func isPrometheusText(body string) bool {
	return strings.Contains(body, "# TYPE rest_client_requests_total counter") && strings.Contains(body, "rest_client_requests_total{")
}

func scrape(c *http.Client, url, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// startMetrics runs a manager with the operator's metrics endpoint as the
// operator's ServiceAccount: the TokenReviews and SubjectAccessReviews it
// makes are allowed only by the shipped RBAC. It stops when the test ends.
func startMetrics(t *testing.T, admin *rest.Config, f flags) string {
	t.Helper()
	opts, err := metricsServerOptions(f)
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + operatorNamespace + ":" + operatorServiceAccount,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + operatorNamespace, "system:authenticated"},
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Metrics: opts, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatalf("new manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager stopped: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return f.metricsAddr
}

// waitServing waits until the endpoint answers over HTTPS at all.
func waitServing(t *testing.T, https *http.Client, addr string) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		_, _, err := scrape(https, "https://"+addr+"/metrics", "")
		return err
	}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
}

// serviceAccountToken asks the API server for a token of a ServiceAccount
// of the scraper namespace, as the kubelet does for a pod.
func serviceAccountToken(t *testing.T, clientset kubernetes.Interface, name string) string {
	t.Helper()
	expiry := int64(3600)
	tr, err := clientset.CoreV1().ServiceAccounts(scraperNamespace).CreateToken(t.Context(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token of ServiceAccount %s: %v", name, err)
	}
	return tr.Status.Token
}

// writeServingCert writes a certificate for localhost and 127.0.0.1, and
// its key, into dir as tls.crt and tls.key, and returns the pool that
// verifies it.
func writeServingCert(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	cert, key, err := certutil.GenerateSelfSignedCertKey("localhost", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatalf("generate certificate: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, metricsCertName), cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, metricsKeyName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cert) {
		t.Fatal("the generated certificate does not parse")
	}
	return roots
}

// freeLoopbackAddr finds a loopback port nobody listens on.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
