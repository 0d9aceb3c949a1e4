package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/localcluster"
)

// The tests of this package prove the API's schema (validation, defaults,
// the status subresource, printer columns, discovery) against a real
// kube-apiserver with the generated CRDs installed. No controller runs: what
// they check is what the API server alone does.

// testNamespace holds the namespaced objects the tests create.
const testNamespace = "validation"

var (
	cfg       *rest.Config
	k8sClient client.Client
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run these tests with KUBEBUILDER_ASSETS=$(hack/controlplane.sh), or `make test`")
		return 1
	}
	ctx := context.Background()
	cluster, err := localcluster.Start(ctx, localcluster.Options{CRDDirs: []string{"../../config/crd/bases"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start control plane:", err)
		return 1
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop control plane:", err)
		}
	}()
	cfg = cluster.Config

	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, "scheme:", err)
		return 1
	}
	if err := mhstv1alpha1.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, "scheme:", err)
		return 1
	}
	if k8sClient, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	if err := ensureNamespace(ctx, testNamespace); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// ensureNamespace creates namespace name unless it exists. No controller
// creates areas' namespaces here, so the tests do.
func ensureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8sClient.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// object parses a YAML manifest into an unstructured object, so that tests
// can send what a typed Go client never would (zero values it omits, wrong
// types, unknown enum values).
func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatalf("parse manifest: %v", err)
	}
	return obj
}

// mutation changes a good object into one the API server must refuse.
type mutation func(t *testing.T, obj map[string]any)

// set sets the field at path to value. A path is a dot-separated list of map
// keys and list indices, for example "spec.settings.0.urn".
func set(path string, value any) mutation {
	return func(t *testing.T, obj map[string]any) {
		t.Helper()
		parent, last := walk(t, obj, path)
		switch p := parent.(type) {
		case map[string]any:
			p[last] = value
		case []any:
			p[listIndex(t, path, last, len(p))] = value
		default:
			t.Fatalf("set %s: parent is a %T", path, parent)
		}
	}
}

// remove deletes the field at path, a map key.
func remove(path string) mutation {
	return func(t *testing.T, obj map[string]any) {
		t.Helper()
		parent, last := walk(t, obj, path)
		p, ok := parent.(map[string]any)
		if !ok {
			t.Fatalf("remove %s: parent is a %T, not an object", path, parent)
		}
		if _, ok := p[last]; !ok {
			t.Fatalf("remove %s: no such field", path)
		}
		delete(p, last)
	}
}

// walk returns the map or list that holds the last element of path, and
// that element's key.
func walk(t *testing.T, obj map[string]any, path string) (parent any, last string) {
	t.Helper()
	keys := strings.Split(path, ".")
	var current any = obj
	for _, key := range keys[:len(keys)-1] {
		switch c := current.(type) {
		case map[string]any:
			next, ok := c[key]
			if !ok {
				next = map[string]any{}
				c[key] = next
			}
			current = next
		case []any:
			current = c[listIndex(t, path, key, len(c))]
		default:
			t.Fatalf("path %s: %s is inside a %T", path, key, current)
		}
	}
	return current, keys[len(keys)-1]
}

func listIndex(t *testing.T, path, key string, length int) int {
	t.Helper()
	i, err := strconv.Atoi(key)
	if err != nil || i < 0 || i >= length {
		t.Fatalf("path %s: %q is not an index of a list of %d", path, key, length)
	}
	return i
}

// createDryRun sends obj to the API server, which validates and defaults it
// exactly as for a real create, without storing it. obj is updated with what
// the server returns.
func createDryRun(ctx context.Context, obj client.Object) error {
	return k8sClient.Create(ctx, obj, client.DryRunAll)
}
