// Package localcluster runs a real, local Kubernetes control plane without a
// container runtime: etcd and kube-apiserver (through controller-runtime's
// envtest), and optionally kube-controller-manager (garbage collection,
// namespace deletion, Deployments and ReplicaSets), kube-scheduler and kwok,
// which simulates nodes so that pods are scheduled and become Running.
//
// It backs `make run` when no cluster is configured, the integration tests
// that need garbage collection or namespace deletion, and the benchmarks.
package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options says which parts of the control plane to run.
type Options struct {
	// AssetsDir holds the binaries (KUBEBUILDER_ASSETS): etcd,
	// kube-apiserver, kube-controller-manager, kube-scheduler, kwok.
	AssetsDir string
	// CRDDirs are installed once the API server is up.
	CRDDirs []string
	// Dir receives the kubeconfig and the logs of the processes; a
	// temporary directory when empty.
	Dir string
	// ControllerManager starts kube-controller-manager with Controllers.
	ControllerManager bool
	// Controllers is kube-controller-manager's --controllers; empty means
	// every controller except the service-account token signer, which needs
	// keys a local cluster does not have.
	Controllers []string
	// Scheduler starts kube-scheduler.
	Scheduler bool
	// Nodes is the number of simulated nodes kwok runs (0: no kwok).
	Nodes int
}

// Cluster is a running local control plane.
type Cluster struct {
	// Config reaches the API server as a cluster administrator.
	Config *rest.Config
	// KubeconfigPath is a kubeconfig file for the same administrator.
	KubeconfigPath string

	env       *envtest.Environment
	dir       string
	removeDir bool
	procs     []*process
}

// Address ranges of the local cluster, large enough for every team of a
// national rollout, and apart from each other.
const (
	serviceRange = "10.0.0.0/16"
	podRange     = "10.128.0.1/16"
)

// The client limits of the controller manager and the scheduler.
const (
	clientQPS   = "--kube-api-qps=300"
	clientBurst = "--kube-api-burst=600"
)

// KwokNodeAnnotation marks the nodes kwok simulates.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// Start brings up the control plane. On error everything already started is
// stopped again.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.AssetsDir == "" {
		opts.AssetsDir = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if opts.AssetsDir == "" {
		return nil, errors.New("no control-plane binaries: set KUBEBUILDER_ASSETS (run `make envtest`)")
	}
	// c is not the named result: returning nil on error must leave the
	// deferred Stop below a cluster to stop.
	c := &Cluster{dir: opts.Dir}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "mhst-local-cluster-"); err != nil {
			return nil, fmt.Errorf("create cluster directory: %w", err)
		}
		c.removeDir = true
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()

	c.env = &envtest.Environment{
		BinaryAssetsDirectory: opts.AssetsDir,
		CRDDirectoryPaths:     opts.CRDDirs,
		ErrorIfCRDPathMissing: len(opts.CRDDirs) > 0,
	}
	// envtest's default service range is a /24: 254 Services, fewer than a
	// national rollout's teams.
	c.env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", serviceRange)
	if c.Config, err = c.env.Start(); err != nil {
		return nil, fmt.Errorf("start etcd and kube-apiserver: %w", err)
	}
	if err := c.writeKubeconfig(); err != nil {
		return nil, err
	}
	if opts.ControllerManager {
		if err := c.startControllerManager(opts); err != nil {
			return nil, err
		}
	}
	if opts.Scheduler {
		if err := c.start("kube-scheduler", opts.AssetsDir,
			"--kubeconfig="+c.KubeconfigPath, "--leader-elect=false", "--secure-port=0", clientQPS, clientBurst); err != nil {
			return nil, err
		}
	}
	if opts.Nodes > 0 {
		if err := c.startKwok(ctx, opts); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Dir is where the kubeconfig and the process logs are.
func (c *Cluster) Dir() string { return c.dir }

func (c *Cluster) writeKubeconfig() error {
	admin, err := c.env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("make kubeconfig: %w", err)
	}
	c.KubeconfigPath = filepath.Join(c.dir, "kubeconfig")
	if err := os.WriteFile(c.KubeconfigPath, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

func (c *Cluster) startControllerManager(opts Options) error {
	controllers := "*,-serviceaccount-token"
	if len(opts.Controllers) > 0 {
		controllers = strings.Join(opts.Controllers, ",")
	}
	return c.start("kube-controller-manager", opts.AssetsDir,
		"--kubeconfig="+c.KubeconfigPath,
		"--leader-elect=false",
		"--controllers="+controllers,
		"--use-service-account-credentials=false",
		"--secure-port=0",
		// Garbage collection and namespace deletion should be prompt in a
		// local cluster, not paced for a large production one.
		"--concurrent-gc-syncs=5",
		"--concurrent-namespace-syncs=5",
		// The default client limit (20 requests a second) makes a national
		// rollout's teams wait minutes for their ReplicaSets and pods after
		// the areas have converged; a local cluster has the API server to
		// itself.
		clientQPS, clientBurst,
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
	)
}

func (c *Cluster) startKwok(ctx context.Context, opts Options) error {
	if err := c.start("kwok", opts.AssetsDir,
		"--kubeconfig="+c.KubeconfigPath,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+KwokNodeAnnotation+"=fake",
		"--server-address=127.0.0.1:0",
		// Renew each node's Lease: without it the node lifecycle
		// controller finds the nodes silent after 50 s and marks their
		// pods not Ready, and kwok never marks them Ready again.
		"--node-lease-duration-seconds=40",
		// kwok's default pod range is a /24: 254 pods in all.
		"--cidr="+podRange,
	); err != nil {
		return err
	}
	clientset, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return fmt.Errorf("client for nodes: %w", err)
	}
	for i := range opts.Nodes {
		if _, err := clientset.CoreV1().Nodes().Create(ctx, simulatedNode(fmt.Sprintf("kwok-node-%d", i)), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create simulated node: %w", err)
		}
	}
	return nil
}

// simulatedNode is a roomy node that kwok keeps Ready and whose pods it runs.
func simulatedNode(name string) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{KwokNodeAnnotation: "fake"},
			Labels: map[string]string{
				"type":                   "kwok",
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			NodeInfo:    corev1.NodeSystemInfo{KubeletVersion: "fake", OperatingSystem: "linux", Architecture: "amd64"},
		},
	}
}

func (c *Cluster) start(name, assets string, args ...string) error {
	p, err := startProcess(c.dir, name, filepath.Join(assets, name), args...)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	// A binary that is missing a flag or cannot reach the API server exits
	// at once; say so now rather than leave a half cluster.
	time.Sleep(300 * time.Millisecond)
	if done, err := p.exited(); done {
		return fmt.Errorf("%s exited at start (%v): see %s", name, err, filepath.Join(c.dir, name+".log"))
	}
	return nil
}

// Stop stops every process the cluster started, the API server and etcd
// last, and removes the temporary directory when the cluster made one.
func (c *Cluster) Stop() error {
	var errs []error
	for i := len(c.procs) - 1; i >= 0; i-- {
		errs = append(errs, c.procs[i].stop(10*time.Second))
	}
	c.procs = nil
	if c.env != nil && c.Config != nil {
		errs = append(errs, c.env.Stop())
	}
	if c.removeDir {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	return errors.Join(errs...)
}
