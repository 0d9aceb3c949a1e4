package localcluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// RestartAPIServer stops kube-apiserver, waits down, and starts it again,
// as a control-plane upgrade or a crash would, while etcd and every other
// process keep running. The new API server listens on the same address with
// the same serving certificate and trusts the same client certificates, so
// that clients (an operator under test, Config, KubeconfigPath) can carry on
// without being restarted or reconfigured.
//
// envtest would otherwise give a restarted API server a fresh certificate
// directory, and so a new serving CA that no existing client trusts: the
// directory is copied first and the new process pointed at the copy.
func (c *Cluster) RestartAPIServer(down time.Duration) error {
	server := c.env.ControlPlane.APIServer
	if server == nil {
		return errors.New("restart kube-apiserver: the control plane has no API server")
	}
	kept, err := os.MkdirTemp(c.dir, "apiserver-certs-")
	if err != nil {
		return fmt.Errorf("restart kube-apiserver: %w", err)
	}
	if err := copyFiles(server.CertDir, kept); err != nil {
		return fmt.Errorf("restart kube-apiserver: keep its certificates: %w", err)
	}
	address := net.JoinHostPort(server.Address, server.Port)
	if err := server.Stop(); err != nil && !stoppedListening(address, 15*time.Second) {
		// envtest kills an API server that outlasts its stop timeout (a
		// graceful shutdown drains watches, which can take long on a
		// busy machine) and reports the timeout: that is still a stop,
		// unless something is still listening.
		return fmt.Errorf("restart kube-apiserver: stop: %w", err)
	}
	time.Sleep(down)
	server.CertDir = kept
	if err := server.Start(); err != nil {
		return fmt.Errorf("restart kube-apiserver: start: %w", err)
	}
	return nil
}

// StopComponent stops one of the processes the cluster started besides etcd
// and the API server (kube-controller-manager, kube-scheduler, kwok), so
// that a measurement can run without it. It is not started again.
func (c *Cluster) StopComponent(name string) error {
	for i, p := range c.procs {
		if p.name != name {
			continue
		}
		c.procs = append(c.procs[:i], c.procs[i+1:]...)
		return p.stop(10 * time.Second)
	}
	return fmt.Errorf("stop %s: the cluster did not start it", name)
}

// stoppedListening waits up to timeout for nothing to accept connections on
// address.
func stoppedListening(address string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", address, time.Second)
		if err != nil {
			return true
		}
		_ = conn.Close()
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// copyFiles copies the regular files of one directory into another.
func copyFiles(from, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// ComponentPIDs returns the process id of each process the cluster started
// besides etcd and the API server (kube-controller-manager, kube-scheduler,
// kwok), by name, for a measurement of what each uses.
func (c *Cluster) ComponentPIDs() map[string]int {
	pids := map[string]int{}
	for _, p := range c.procs {
		pids[p.name] = p.cmd.Process.Pid
	}
	return pids
}
