// Package operatorproc runs the operator's own binary (bin/manager) as a
// child process against a cluster, the way a Deployment would run it, so
// that the benchmark and the fault tests measure and kill a real operator:
// its memory is its own, SIGKILL is a real crash, and its API traffic and
// reconciles are read from its own metrics endpoint.
package operatorproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options say how to run the operator.
type Options struct {
	// Binary is the operator's executable (bin/manager).
	Binary string
	// Kubeconfig is the cluster to run against.
	Kubeconfig string
	// LogFile receives the operator's output.
	LogFile string
	// Args are passed on after the metrics and probe addresses, which are
	// chosen here (free loopback ports). Metrics are plain HTTP on
	// loopback, so that the benchmark and the fault tests scrape them
	// without a token.
	Args []string
}

// Process is a running operator.
type Process struct {
	// MetricsURL is the operator's Prometheus endpoint.
	MetricsURL string
	// ReadyURL is its readiness probe.
	ReadyURL string

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error

	heapMu   sync.Mutex
	heapPeak float64
}

// Start starts the operator and returns once it is serving its probes (it
// may still be waiting to be elected leader).
func Start(ctx context.Context, opts Options) (*Process, error) {
	metricsAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	probeAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(opts.LogFile)
	if err != nil {
		return nil, fmt.Errorf("create operator log: %w", err)
	}
	args := append([]string{"--metrics-bind-address=" + metricsAddr, "--metrics-secure=false", "--health-probe-bind-address=" + probeAddr}, opts.Args...)
	cmd := exec.Command(opts.Binary, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+opts.Kubeconfig)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Its own process group, killed with this process, so that an
	// interrupted run never leaves an operator behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start operator %s: %w", opts.Binary, err)
	}
	p := &Process{
		MetricsURL: "http://" + metricsAddr + "/metrics",
		ReadyURL:   "http://" + probeAddr + "/readyz",
		cmd:        cmd, log: logFile, done: make(chan struct{}),
	}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	if err := p.waitServing(ctx); err != nil {
		_ = p.Kill()
		return nil, fmt.Errorf("%w (log: %s)", err, opts.LogFile)
	}
	return p, nil
}

// freeLoopbackAddr finds a port nobody listens on. It is free when this
// returns; the operator binds it a moment later.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// waitServing waits for the readiness probe, or for the process to die.
func (p *Process) waitServing(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if !p.Running() {
			return fmt.Errorf("operator exited at start: %v", p.err)
		}
		if ok, _ := p.get(ctx, p.ReadyURL); ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("operator did not become ready within 60s")
}

func (p *Process) get(ctx context.Context, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, ""
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, ""
	}
	return resp.StatusCode == http.StatusOK, string(body)
}

// Pid is the operator's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Running reports whether the process is still alive.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill kills the operator with SIGKILL, as a node failure or the OOM killer
// would: no lease is released, no request finished. It returns once the
// process is gone.
func (p *Process) Kill() error {
	return p.signal(syscall.SIGKILL, 0)
}

// Stop asks the operator to stop (SIGTERM) and kills it after 10 seconds.
func (p *Process) Stop() error {
	return p.signal(syscall.SIGTERM, 10*time.Second)
}

func (p *Process) signal(sig syscall.Signal, grace time.Duration) error {
	if !p.Running() {
		return nil
	}
	if err := syscall.Kill(-p.Pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal operator: %w", err)
	}
	if sig != syscall.SIGKILL {
		select {
		case <-p.done:
			return nil
		case <-time.After(grace):
		}
		if err := syscall.Kill(-p.Pid(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill operator: %w", err)
		}
	}
	<-p.done
	return nil
}

// Metrics scrapes the operator's metrics endpoint.
func (p *Process) Metrics(ctx context.Context) (Metrics, error) {
	ok, body := p.get(ctx, p.MetricsURL)
	if !ok {
		return nil, fmt.Errorf("scrape %s: no answer", p.MetricsURL)
	}
	return ParseMetrics(body)
}

// WaitQuiet waits until the operator has made no write for a whole period
// (its metrics scraped every period) and returns the metrics it settled
// at. Converged figures in status are not the end of the operator's work:
// a paced report may still follow them.
func (p *Process) WaitQuiet(ctx context.Context, period, timeout time.Duration) (Metrics, error) {
	deadline := time.Now().Add(timeout)
	last, err := p.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(period):
		}
		now, err := p.Metrics(ctx)
		if err != nil {
			return nil, err
		}
		if now.Writes() == last.Writes() {
			return now, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the operator's writes did not settle within %s (%d more in the last %s)", timeout, now.Writes()-last.Writes(), period)
		}
		last = now
	}
}

// PeakRSS is the most resident memory the process has used so far, in
// bytes (VmHWM in /proc/<pid>/status). It needs the process alive.
func (p *Process) PeakRSS() (int64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.Pid()), "status"))
	if err != nil {
		return 0, fmt.Errorf("read operator status: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "VmHWM:") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[2] != "kB" {
			return 0, fmt.Errorf("unexpected %q", line)
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %q: %w", line, err)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmHWM in the operator's /proc status")
}

// SampleHeap reads go_memstats_heap_inuse_bytes every interval until ctx
// ends, keeping the peak (see PeakHeap). The Go runtime only reports
// its own peak resident size, not its peak heap, hence the sampling.
func (p *Process) SampleHeap(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if m, err := p.Metrics(ctx); err == nil {
			p.heapMu.Lock()
			p.heapPeak = max(p.heapPeak, m.Sum("go_memstats_heap_inuse_bytes", nil))
			p.heapMu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// PeakHeap is the largest heap in use SampleHeap saw, in bytes.
func (p *Process) PeakHeap() int64 {
	p.heapMu.Lock()
	defer p.heapMu.Unlock()
	return int64(p.heapPeak)
}
