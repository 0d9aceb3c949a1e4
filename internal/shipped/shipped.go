// Package shipped installs the configuration a release of the operator ships
// (config/default: the CRDs, the operator's namespace and ServiceAccount, its
// RBAC, the area roles and the admission policies) on a cluster where the
// operator runs as a process of its own rather than as the shipped
// Deployment, and gives that process the operator's identity.
//
// `make run` on the embedded cluster, the controller integration suite, the
// fault tests and the benchmark all run the operator this way, so that a verb
// missing from the shipped RBAC, or an admission policy that blocks the
// operator, fails where it would fail in a real installation. Nothing runs
// as the cluster administrator but the people in the tests.
package shipped

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/mhst-io/mhst-operator/internal/manifests"
)

// The operator's identity in config/default. The admission policies name
// this ServiceAccount; the chart fills in its release's own.
const (
	Namespace      = "mhst-system"
	ServiceAccount = "mhst-operator"
	// OperatorUser is the user name the API server gives the
	// ServiceAccount's requests.
	OperatorUser = "system:serviceaccount:" + Namespace + ":" + ServiceAccount
)

// operatorGroups are the groups the API server puts a ServiceAccount's
// token in; impersonation names them explicitly so that the operator's
// requests are authorized exactly as a token's would be.
var operatorGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + Namespace, "system:authenticated"}

// Render builds config/default (configDir is the repository's config
// directory) as `kubectl apply -k` would, and leaves out the operator's
// Deployment: the caller runs the operator itself.
func Render(configDir string) ([]*unstructured.Unstructured, error) {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(configDir, "default"))
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", filepath.Join(configDir, "default"), err)
	}
	var objs []*unstructured.Unstructured
	for _, res := range resources.Resources() {
		m, err := res.Map()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", res.CurId(), err)
		}
		obj := &unstructured.Unstructured{Object: m}
		if obj.GetKind() == "Deployment" && obj.GetNamespace() == Namespace && obj.GetName() == ServiceAccount {
			continue
		}
		objs = append(objs, obj)
	}
	// What others depend on first, as kubectl apply orders them: the
	// namespace before what lives in it, the CRDs before anything that
	// names their kinds.
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return cmp.Compare(installOrder(a.GetKind()), installOrder(b.GetKind()))
	})
	return objs, nil
}

// installOrder ranks a kind for installation.
func installOrder(kind string) int {
	switch kind {
	case "Namespace":
		return 0
	case "CustomResourceDefinition":
		return 1
	case "ServiceAccount", "ClusterRole", "Role":
		return 2
	case "ClusterRoleBinding", "RoleBinding":
		return 3
	default:
		return 4
	}
}

// Install applies config/default but the operator's Deployment to the
// cluster of admin, and waits until the CRDs are established and the
// admission policies are enforced.
func Install(ctx context.Context, admin *rest.Config, configDir string) error {
	objs, err := Render(configDir)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(admin, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if err := manifests.Apply(ctx, c, objs); err != nil {
		return fmt.Errorf("install config/default: %w", err)
	}
	if err := waitForCRDs(ctx, c, objs); err != nil {
		return err
	}
	return WaitForPolicies(ctx, admin)
}

// waitForCRDs waits until every CRD among objs serves its kind.
func waitForCRDs(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, obj := range objs {
		if obj.GetKind() != "CustomResourceDefinition" {
			continue
		}
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Get(ctx, client.ObjectKey{Name: obj.GetName()}, crd); err != nil {
				return false, nil //nolint:nilerr // not there yet: try again
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s not established: %w", obj.GetName(), err)
		}
	}
	return nil
}

// OperatorConfig returns a copy of admin that acts as the operator's
// ServiceAccount: the API server authorizes every request with the shipped
// RBAC and the admission policies see the operator's user name. (A token
// would do the same, but expires; impersonation lasts as long as the
// process.)
func OperatorConfig(admin *rest.Config) *rest.Config {
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: OperatorUser, Groups: operatorGroups}
	return cfg
}

// OperatorKubeconfig is a kubeconfig for the operator's identity, for an
// operator run as a child process: the administrator's credentials, acting
// as the ServiceAccount.
func OperatorKubeconfig(admin *rest.Config) *clientcmdapi.Config {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{
		Server:                   admin.Host,
		CertificateAuthorityData: admin.CAData,
	}
	kc.AuthInfos["mhst-operator"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: admin.CertData,
		ClientKeyData:         admin.KeyData,
		Token:                 admin.BearerToken,
		Impersonate:           OperatorUser,
		ImpersonateGroups:     operatorGroups,
	}
	kc.Contexts["mhst-operator"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "mhst-operator"}
	kc.CurrentContext = "mhst-operator"
	return kc
}

// WaitForPolicies waits until the API server enforces the shipped admission
// policies: it loads them a moment after they are created. The probe is a
// dry-run SupportTeam outside any area's namespace, which
// mhst-area-namespace-required refuses; the policies are loaded together.
func WaitForPolicies(ctx context.Context, admin *rest.Config) error {
	c, err := client.New(admin, client.Options{})
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	probe := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "mhst.io/v1alpha1",
		"kind":       "SupportTeam",
		"metadata":   map[string]any{"namespace": "default", "name": "admission-probe"},
		"spec":       map[string]any{"displayName": "probe", "service": map[string]any{"image": "probe"}},
	}}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		return last != nil && apierrors.IsForbidden(last), nil
	})
	if err != nil {
		return fmt.Errorf("the admission policies were not enforced within a minute (last answer to the probe: %v): %w", last, err)
	}
	return nil
}

// WriteOperatorKubeconfig writes OperatorKubeconfig to path (mode 0600: it
// holds the administrator's key) and returns path.
func WriteOperatorKubeconfig(admin *rest.Config, path string) (string, error) {
	if err := clientcmd.WriteToFile(*OperatorKubeconfig(admin), path); err != nil {
		return "", fmt.Errorf("write the operator's kubeconfig: %w", err)
	}
	return path, nil
}
