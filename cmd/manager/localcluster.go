package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/manifests"
)

// startLocalCluster brings up the embedded control plane: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok with a few
// simulated nodes, so that the teams' Deployments are scheduled and become
// Available as on a real cluster. It installs the CRDs and the ClusterRoles
// the operator ships, creates the operator's namespace, and tells the user
// how to reach the cluster. The returned function stops every process.
func startLocalCluster(ctx context.Context, f flags) (*rest.Config, func(), error) {
	log := ctrl.Log.WithName("local-cluster")
	dir, err := filepath.Abs(f.localClusterDir)
	if err != nil {
		return nil, nil, fmt.Errorf("local cluster directory: %w", err)
	}
	log.Info("starting an embedded local cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)", "dir", dir)
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		CRDDirs:           []string{"config/crd/bases"},
		Dir:               dir,
		ControllerManager: true,
		Scheduler:         true,
		Nodes:             f.localClusterNodes,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start local cluster: %w", err)
	}
	stop := func() {
		log.Info("stopping the embedded local cluster")
		if err := cluster.Stop(); err != nil {
			log.Error(err, "stop local cluster")
		}
	}
	if err := prepareLocalCluster(ctx, cluster.Config, f.operatorNamespace); err != nil {
		stop()
		return nil, nil, err
	}
	fmt.Fprintf(os.Stderr, "\nThe local cluster is up. In another terminal:\n\n  export KUBECONFIG=%s\n  kubectl get mhst -A\n\nCtrl-C stops the operator and the cluster.\n\n", cluster.KubeconfigPath)
	return cluster.Config, stop, nil
}

// prepareLocalCluster does what an installation does before the operator
// runs: the operator's namespace and the area ClusterRoles it binds.
func prepareLocalCluster(ctx context.Context, cfg *rest.Config, namespace string) error {
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if _, err := clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", namespace, err)
	}
	if err := manifests.ApplyFiles(ctx, cfg, "config/rbac/area_roles.yaml"); err != nil {
		return fmt.Errorf("install area roles: %w", err)
	}
	return nil
}
