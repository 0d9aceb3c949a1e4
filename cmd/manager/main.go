// Command manager runs the mhst-operator: the LocalArea, SupportTeam,
// SchoolCoverage and CoverageSnapshot controllers, the national coverage
// report and the schedule of coverage snapshots.
//
// It runs against the cluster of the current kubeconfig (or in-cluster), or,
// with --local-cluster, on an embedded local control plane that it starts
// and stops itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/controllers"
	"github.com/mhst-io/mhst-operator/internal/snapshot"
)

type flags struct {
	metricsAddr             string
	metricsSecure           bool
	metricsCertDir          string
	metricsHTTP2            bool
	probeAddr               string
	pprofAddr               string
	leaderElect             bool
	leaderElectionID        string
	leaderElectionNamespace string
	operatorNamespace       string
	maxConcurrentReconciles int
	restrictEgress          bool
	nationalCoverageTarget  int
	allowedPriorityClasses  string
	snapshotDates           string
	localCluster            string
	localClusterDir         string
	localClusterNodes       int
}

func parseFlags() (flags, zap.Options) {
	var f flags
	flag.StringVar(&f.metricsAddr, "metrics-bind-address", ":8443", "Address of the Prometheus metrics endpoint (\"0\" disables it).")
	flag.BoolVar(&f.metricsSecure, "metrics-secure", true, "Serve metrics over HTTPS to clients whose bearer token the API server authenticates and authorizes for get on /metrics; false serves plain HTTP to anyone (only for an address on localhost).")
	flag.StringVar(&f.metricsCertDir, "metrics-cert-dir", "", "Directory with the metrics endpoint's tls.crt and tls.key, reloaded when they change (default: a self-signed certificate).")
	flag.BoolVar(&f.metricsHTTP2, "metrics-enable-http2", false, "Offer HTTP/2 on the metrics endpoint (off: HTTP/2 has had denial-of-service flaws).")
	flag.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	flag.StringVar(&f.pprofAddr, "pprof-bind-address", "", "Address of Go's pprof endpoints, for profiling (default: off; keep it on localhost).")
	flag.BoolVar(&f.leaderElect, "leader-elect", false, "Elect a leader, so that only one of several replicas writes.")
	flag.StringVar(&f.leaderElectionID, "leader-election-id", "mhst-operator.mhst.io", "Name of the Lease used for leader election.")
	flag.StringVar(&f.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the operator's namespace).")
	flag.StringVar(&f.operatorNamespace, "operator-namespace", envOr("POD_NAMESPACE", "mhst-system"), "Namespace the operator runs in; the national coverage report is written there.")
	// Four workers per controller: areas are independent, and the API
	// server, not the operator, is the bottleneck; one worker (the
	// controller-runtime default) serialises a national rollout.
	flag.IntVar(&f.maxConcurrentReconciles, "max-concurrent-reconciles", 4, "Workers per controller.")
	flag.BoolVar(&f.restrictEgress, "restrict-egress", controllers.DefaultTenancy().RestrictEgress, "Limit the egress of every area's pods to their own namespace, the cluster DNS and the destinations of the area's spec.tenancy.allowEgressTo; false leaves egress open.")
	flag.StringVar(&f.allowedPriorityClasses, "allowed-priority-classes", "", "Comma-separated PriorityClasses that teams' pods may name in priorityClassName (default: none; a blueprint naming one is refused).")
	flag.StringVar(&f.snapshotDates, "snapshot-dates", snapshot.DefaultDates, "Comma-separated dates, MM-DD, on which a National CoverageSnapshot and one of every active area are taken at 00:00 UTC (empty: none on schedule).")
	flag.IntVar(&f.nationalCoverageTarget, "national-coverage-target", 100, "National target, in percent of pupils covered, that the national coverage report measures against.")
	flag.StringVar(&f.localCluster, "local-cluster", "false", "Run on an embedded local control plane: true, false, or auto (when no kubeconfig is configured).")
	flag.StringVar(&f.localClusterDir, "local-cluster-dir", "bin/local-cluster", "Where the embedded control plane writes its kubeconfig and logs.")
	flag.IntVar(&f.localClusterNodes, "local-cluster-nodes", 3, "Simulated nodes of the embedded control plane.")
	opts := zap.Options{TimeEncoder: zapcore.ISO8601TimeEncoder}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	return f, opts
}

func main() {
	f, zapOpts := parseFlags()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if err := run(f); err != nil {
		ctrl.Log.Error(err, "operator stopped")
		os.Exit(1)
	}
}

func run(f flags) error {
	if f.nationalCoverageTarget < 0 || f.nationalCoverageTarget > 100 {
		return fmt.Errorf("--national-coverage-target must be a percent from 0 to 100, not %d", f.nationalCoverageTarget)
	}
	allowedPriorityClasses, err := parsePriorityClasses(f.allowedPriorityClasses)
	if err != nil {
		return fmt.Errorf("--allowed-priority-classes: %w", err)
	}
	snapshotDates, err := snapshot.ParseDates(f.snapshotDates)
	if err != nil {
		return fmt.Errorf("--snapshot-dates: %w", err)
	}
	metricsOpts, err := metricsServerOptions(f)
	if err != nil {
		return err
	}
	ctx := ctrl.SetupSignalHandler()
	cfg, stopCluster, err := clusterConfig(ctx, f)
	if err != nil {
		return err
	}
	defer stopCluster()

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(mhstv1alpha1.AddToScheme(scheme))

	leaderNS := f.leaderElectionNamespace
	if leaderNS == "" {
		leaderNS = f.operatorNamespace
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  f.probeAddr,
		PprofBindAddress:        f.pprofAddr,
		LeaderElection:          f.leaderElect,
		LeaderElectionID:        f.leaderElectionID,
		LeaderElectionNamespace: leaderNS,
		// The new leader starts at once when the old one stops cleanly.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         controllers.CacheOptions(),
		NewClient:                     newLoggingClient,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := controllers.SetupWithManager(mgr, controllers.Config{
		OperatorNamespace:       f.operatorNamespace,
		Tenancy:                 tenancy(f),
		MaxConcurrentReconciles: f.maxConcurrentReconciles,
		NationalCoverageTarget:  int32(f.nationalCoverageTarget),
		AllowedPriorityClasses:  allowedPriorityClasses,
		SnapshotDates:           snapshotDates,
	}); err != nil {
		return fmt.Errorf("set up controllers: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add ready check: %w", err)
	}
	ctrl.Log.Info("starting the operator", "operatorNamespace", f.operatorNamespace, "leaderElection", f.leaderElect,
		"metricsAddress", f.metricsAddr, "metricsSecure", f.metricsSecure, "restrictEgress", f.restrictEgress)
	return mgr.Start(ctx)
}

// parsePriorityClasses reads the comma-separated PriorityClass names of
// --allowed-priority-classes. Spaces around a name are ignored, and so is
// an empty list; a name that cannot be a PriorityClass's is an error, so
// that a typo does not silently allow nothing.
func parsePriorityClasses(list string) ([]string, error) {
	var names []string
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not a PriorityClass name: %s", name, strings.Join(errs, "; "))
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

func tenancy(f flags) controllers.TenancyDefaults {
	t := controllers.DefaultTenancy()
	t.RestrictEgress = f.restrictEgress
	return t
}

// clusterConfig returns the configuration of the cluster to run against. A
// configured cluster that cannot be reached is an error, never a silent
// switch to a local one.
func clusterConfig(ctx context.Context, f flags) (*rest.Config, func(), error) {
	local, err := wantLocalCluster(f.localCluster)
	if err != nil {
		return nil, nil, err
	}
	if local {
		return startLocalCluster(ctx, f)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("no cluster configured (%w); run with --local-cluster=true (LOCAL_CLUSTER=true make run) for an embedded one", err)
	}
	if err := reachable(cfg); err != nil {
		return nil, nil, fmt.Errorf("the configured cluster at %s cannot be reached: %w; fix the kubeconfig, or run LOCAL_CLUSTER=true make run for an embedded local cluster", cfg.Host, err)
	}
	// In a pod this is the ServiceAccount the Deployment names; outside one
	// it is whoever the kubeconfig says, which the log should make plain.
	ctrl.Log.Info("running against the configured cluster with the credentials of the current kubeconfig (or the pod's ServiceAccount)", "host", cfg.Host, "impersonate", cfg.Impersonate.UserName)
	return cfg, func() {}, nil
}

// wantLocalCluster decides between a configured cluster and the embedded
// one. "auto" picks the embedded one only when nothing is configured at all:
// no KUBECONFIG, no ~/.kube/config, not running in a pod.
func wantLocalCluster(mode string) (bool, error) {
	switch mode {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "auto":
		return !kubeconfigConfigured(), nil
	}
	return false, fmt.Errorf("--local-cluster must be true, false or auto, not %q", mode)
}

func kubeconfigConfigured() bool {
	if os.Getenv("KUBECONFIG") != "" || os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return true
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return false
	}
	_, err = os.Stat(home + "/.kube/config")
	return !errors.Is(err, os.ErrNotExist)
}

// reachable asks the API server for its version, briefly.
func reachable(cfg *rest.Config) error {
	c := rest.CopyConfig(cfg)
	c.Timeout = 10 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return err
	}
	_, err = dc.ServerVersion()
	return err
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
