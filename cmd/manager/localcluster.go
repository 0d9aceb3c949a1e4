package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/shipped"
)

// startLocalCluster brings up the embedded control plane: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok with a few
// simulated nodes, so that the teams' Deployments are scheduled and become
// Available as on a real cluster. It installs what config/default installs
// (CRDs, the operator's namespace, ServiceAccount and RBAC, the area roles,
// the admission policies) but the Deployment, and returns a configuration
// that acts as the operator's ServiceAccount: the operator runs with the
// permissions it ships with, never as the cluster administrator. The user's
// kubeconfig is the administrator's. The returned function stops every
// process.
func startLocalCluster(ctx context.Context, f flags) (*rest.Config, func(), error) {
	log := ctrl.Log.WithName("local-cluster")
	dir, err := filepath.Abs(f.localClusterDir)
	if err != nil {
		return nil, nil, fmt.Errorf("local cluster directory: %w", err)
	}
	if f.operatorNamespace != shipped.Namespace {
		return nil, nil, fmt.Errorf("the embedded cluster installs config/default, whose operator runs in namespace %s, not %s: drop --operator-namespace", shipped.Namespace, f.operatorNamespace)
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
	log.Info("installing config/default (CRDs, RBAC, area roles, admission policies) but the operator's Deployment")
	if err := shipped.Install(ctx, cluster.Config, "config"); err != nil {
		stop()
		return nil, nil, fmt.Errorf("install the shipped configuration: %w", err)
	}
	log.Info("the operator runs as its ServiceAccount, with the shipped RBAC and admission policies", "user", shipped.OperatorUser)
	fmt.Fprintf(os.Stderr, "\nThe local cluster is up. In another terminal:\n\n  export KUBECONFIG=%s\n  kubectl get mhst -A\n\nThat kubeconfig is the cluster administrator's; the operator runs as %s.\nCtrl-C stops the operator and the cluster.\n\n", cluster.KubeconfigPath, shipped.OperatorUser)
	return shipped.OperatorConfig(cluster.Config), stop, nil
}
