//go:build e2e

// Package e2e holds the fault tests: the operator's own binary runs as a
// separate process against a real local control plane (etcd, kube-apiserver,
// kube-controller-manager for garbage collection and Deployments,
// kube-scheduler and kwok nodes so that team services really become
// Available), and is killed, cut off from its API server, made to fail over,
// raced and flooded with changes. Every test checks the end state against
// figures the rollout generator worked out by its own sums.
//
// Run with `make test-e2e` (KUBEBUILDER_ASSETS set, build tag e2e).
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/register"
	"github.com/mhst-io/mhst-operator/internal/rollout"
	"github.com/mhst-io/mhst-operator/internal/rollout/converge"
	"github.com/mhst-io/mhst-operator/internal/rollout/operatorproc"
	"github.com/mhst-io/mhst-operator/internal/shipped"
)

const (
	repoRoot          = "../.."
	dataDir           = "../../hack/data"
	operatorNamespace = "mhst-system"
	// convergeTimeout is generous: the machines this runs on have two
	// cores, shared.
	convergeTimeout = 4 * time.Minute
)

// managerBinary is the operator built once for every test.
var managerBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// The tests' own clients and the control plane log here; the operator
	// logs to its own file, printed when a test fails.
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "e2e: KUBEBUILDER_ASSETS is not set: run `make test-e2e`")
		return 1
	}
	dir, err := os.MkdirTemp("", "mhst-e2e-manager-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	managerBinary = filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", managerBinary, "./cmd/manager")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build the operator: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

var (
	nationalOnce sync.Once
	national     rollout.Rollout
	nationalErr  error
)

// nationalRollout is the rollout of every area, generated once from the
// real register.
func nationalRollout(t *testing.T) rollout.Rollout {
	t.Helper()
	nationalOnce.Do(func() { national, nationalErr = generate() })
	if nationalErr != nil {
		t.Fatalf("generate the national rollout: %v", nationalErr)
	}
	return national
}

func generate() (rollout.Rollout, error) {
	schools, err := os.Open(filepath.Join(dataDir, "schools-england-2022-23.csv"))
	if err != nil {
		return rollout.Rollout{}, err
	}
	defer func() { _ = schools.Close() }()
	file, err := register.ReadSchools(schools, register.ReadOptions{})
	if err != nil {
		return rollout.Rollout{}, err
	}
	las, err := os.Open(filepath.Join(dataDir, "local-authorities-england.csv"))
	if err != nil {
		return rollout.Rollout{}, err
	}
	defer func() { _ = las.Close() }()
	authorities, err := register.ReadAuthorities(las)
	if err != nil {
		return rollout.Rollout{}, err
	}
	return rollout.Generate(file.Schools, register.NewDirectory(authorities), rollout.Options{})
}

// smallAreas are n areas with two to four teams, the same on every run:
// enough to exercise every controller, small enough for two cores.
func smallAreas(t *testing.T, n int) []rollout.Area {
	t.Helper()
	var picked []rollout.Area
	for _, a := range nationalRollout(t).Areas {
		if len(a.Teams) >= 2 && len(a.Teams) <= 4 {
			picked = append(picked, a)
		}
		if len(picked) == n {
			return picked
		}
	}
	t.Fatalf("only %d areas with two to four teams", len(picked))
	return nil
}

// areaByCode is the generated area of one local authority.
func areaByCode(t *testing.T, code string) rollout.Area {
	t.Helper()
	for _, a := range nationalRollout(t).Areas {
		if a.LocalArea.Spec.LocalAuthorityCode == code {
			return a
		}
	}
	t.Fatalf("no area has code %s", code)
	return rollout.Area{}
}

// env is one test's control plane and a client for it.
type env struct {
	t       *testing.T
	cluster *localcluster.Cluster
	client  client.WithWatch
	ctx     context.Context
	// operatorKubeconfig acts as the operator's ServiceAccount.
	operatorKubeconfig string
}

// newEnv starts a control plane that runs Deployments on simulated nodes,
// and installs what config/default ships but the operator's Deployment: the
// test runs the operator's binary itself, as the shipped ServiceAccount.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		CRDDirs:           []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		Dir:               t.TempDir(),
		ControllerManager: true, Scheduler: true, Nodes: 2,
	})
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
	c, err := client.NewWithWatch(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cluster: cluster, client: c, ctx: ctx}
	if err := shipped.Install(ctx, cluster.Config, filepath.Join(repoRoot, "config")); err != nil {
		t.Fatal(err)
	}
	if e.operatorKubeconfig, err = shipped.WriteOperatorKubeconfig(cluster.Config, filepath.Join(cluster.Dir(), "operator.kubeconfig")); err != nil {
		t.Fatal(err)
	}
	return e
}

// startOperator runs the operator's binary against the cluster; it is
// killed when the test ends. The log stays in the test's directory and is
// printed when the test fails.
func (e *env) startOperator(name string, args ...string) *operatorproc.Process {
	e.t.Helper()
	logFile := filepath.Join(e.cluster.Dir(), name+".log")
	op, err := operatorproc.Start(e.ctx, operatorproc.Options{
		Binary: managerBinary, Kubeconfig: e.operatorKubeconfig, LogFile: logFile,
		Args: append([]string{"--operator-namespace=" + operatorNamespace}, args...),
	})
	if err != nil {
		e.t.Fatalf("start operator %s: %v", name, err)
	}
	e.t.Cleanup(func() {
		_ = op.Kill()
		if e.t.Failed() {
			printTail(e.t, logFile)
		}
	})
	return op
}

// printTail logs the end of an operator's log.
func printTail(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	const keep = 6000
	if len(data) > keep {
		data = data[len(data)-keep:]
	}
	t.Logf("end of %s:\n%s", filepath.Base(path), data)
}

// apply applies the objects of areas as a GitOps tool would.
func (e *env) apply(areas []rollout.Area) {
	e.t.Helper()
	if err := converge.Apply(e.ctx, e.client, converge.Objects(areas), 16); err != nil {
		e.t.Fatalf("apply rollout: %v", err)
	}
}

// waitConverged waits until every area reports what want says.
func (e *env) waitConverged(want converge.Expectations) time.Duration {
	e.t.Helper()
	took, err := converge.Wait(e.ctx, e.client, want, convergeTimeout)
	if err != nil {
		e.t.Fatal(err)
	}
	return took
}

// waitFor polls cond every 100ms until it holds or timeout passes.
func (e *env) waitFor(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// areaNamespacesMade counts the areas' namespaces that exist.
func (e *env) areaNamespacesMade(areas []rollout.Area) int {
	n := 0
	for _, a := range areas {
		var ns corev1.Namespace
		if e.client.Get(e.ctx, client.ObjectKey{Name: a.Namespace()}, &ns) == nil {
			n++
		}
	}
	return n
}

// metrics scrapes an operator, failing the test when it cannot.
func (e *env) metrics(op *operatorproc.Process) operatorproc.Metrics {
	e.t.Helper()
	m, err := op.Metrics(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// sortedKeys lists a map's keys in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
