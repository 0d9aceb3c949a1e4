package controllers

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/shipped"
)

// The integration tests of this package run against a real kube-apiserver
// and etcd, with kube-controller-manager running only the garbage collector
// and the namespace controller (so that owner references and namespace
// deletion really take effect, while Deployment status stays what a test
// writes). The configuration the operator ships is installed (its RBAC and
// admission policies) and one operator runs for the whole package, as its
// own ServiceAccount, as it would in a cluster: a verb missing from the
// shipped RBAC, or a policy that blocks the operator, fails these tests.
var (
	cluster   *localcluster.Cluster
	k8sClient client.Client
	testCfg   Config
	writes    writeCounter
	// testClock is the operator's clock: real time, moved by an offset that
	// a test may set to put the operator on another date.
	testClock offsetClock
)

const operatorNamespace = "mhst-system"

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run the integration tests with `make test`, which provides a real control plane")
		return 1
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.Level(logLevel())))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var err error
	cluster, err = localcluster.Start(ctx, localcluster.Options{
		CRDDirs:           []string{"../config/crd/bases"},
		ControllerManager: true,
		Controllers:       []string{"garbagecollector", "namespace"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start control plane:", err)
		return 1
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop control plane:", err)
		}
	}()

	scheme := newScheme()
	k8sClient, err = client.New(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	if err := prepareCluster(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "prepare cluster:", err)
		return 1
	}

	// The Argo CD captures are this run's only: a fixture no test wrote
	// any more must not pass the health checks from an older run.
	if err := os.RemoveAll(argocdCaptureDir); err != nil {
		fmt.Fprintln(os.Stderr, "clear the Argo CD captures:", err)
		return 1
	}
	testCfg = testConfig()
	stopManager, err := startOperator(ctx, shipped.OperatorConfig(cluster.Config), scheme, testCfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start operator:", err)
		return 1
	}
	code := m.Run()
	stopManager()
	return code
}

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(mhstv1alpha1.AddToScheme(scheme))
	return scheme
}

func testConfig() Config {
	return Config{
		OperatorNamespace:       operatorNamespace,
		Tenancy:                 DefaultTenancy(),
		MaxConcurrentReconciles: 4,
		Clock:                   &testClock,
	}
}

// offsetClock runs at the real pace, shifted by an offset, so that a moment
// the operator waits for with RequeueAfter (a target passing at midnight)
// really arrives during a test, a few seconds after the test sets it up.
type offsetClock struct {
	offset atomic.Int64
}

func (c *offsetClock) Now() time.Time                  { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// set makes Now return at from now on (and real time's pace after it).
func (c *offsetClock) set(at time.Time) { c.offset.Store(int64(time.Until(at))) }

// reset puts the clock back on real time.
func (c *offsetClock) reset() { c.offset.Store(0) }

// startOperator runs the operator's manager in the background, its client
// wrapped so that the tests can count every write it makes.
func startOperator(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, opCfg Config) (stop func(), err error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		NewClient: func(cfg *rest.Config, opts client.Options) (client.Client, error) {
			c, err := client.NewWithWatch(cfg, opts)
			if err != nil {
				return nil, err
			}
			return interceptor.NewClient(c, writes.funcs()), nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("new manager: %w", err)
	}
	if err := SetupWithManager(mgr, opCfg); err != nil {
		return nil, fmt.Errorf("set up controllers: %w", err)
	}
	mgrCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := mgr.Start(mgrCtx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	})
	if !mgr.GetCache().WaitForCacheSync(mgrCtx) {
		cancel()
		return nil, fmt.Errorf("cache did not sync")
	}
	return func() { cancel(); wg.Wait() }, nil
}

// logLevel keeps the operator's log to errors unless TEST_VERBOSE is set.
func logLevel() zapcore.Level {
	if os.Getenv("TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel
}

// writeCounter counts the operator's writes to the API server.
type writeCounter struct {
	total atomic.Int64
}

func (w *writeCounter) count() int64 { return w.total.Load() }

func (w *writeCounter) funcs() interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			w.total.Add(1)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			w.total.Add(1)
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			w.total.Add(1)
			return c.Patch(ctx, obj, patch, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			w.total.Add(1)
			return c.Apply(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			w.total.Add(1)
			return c.Delete(ctx, obj, opts...)
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			w.total.Add(1)
			return c.DeleteAllOf(ctx, obj, opts...)
		},
		SubResourceCreate: func(ctx context.Context, c client.Client, sub string, obj, subObj client.Object, opts ...client.SubResourceCreateOption) error {
			w.total.Add(1)
			return c.SubResource(sub).Create(ctx, obj, subObj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			w.total.Add(1)
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			w.total.Add(1)
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
		SubResourceApply: func(ctx context.Context, c client.Client, sub string, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
			w.total.Add(1)
			return c.SubResource(sub).Apply(ctx, obj, opts...)
		},
	}
}

// eventuallyTimeout and pollInterval are the defaults of the tests'
// Eventually: short polls, never sleeps.
const (
	eventuallyTimeout = 30 * time.Second
	pollInterval      = 100 * time.Millisecond
)

// prepareCluster installs what config/default ships (its namespace,
// ServiceAccount, RBAC, area roles and admission policies) but the
// Deployment: the suite runs the operator itself, as that ServiceAccount.
func prepareCluster(ctx context.Context) error {
	return shipped.Install(ctx, cluster.Config, "../config")
}

// quietPeriod is how long the operator must make no write to count as
// settled.
const quietPeriod = 2 * time.Second

// waitForQuiet waits until the operator has made no write for a whole
// quietPeriod, and returns the write count it settled at.
func waitForQuiet(g Gomega) int64 {
	last := int64(-1) // the first poll only takes the count
	g.Eventually(func() bool {
		now := writes.count()
		quiet := now == last
		last = now
		return quiet
	}, 2*eventuallyTimeout, quietPeriod).Should(BeTrue(), "the operator's writes never settled")
	return last
}
