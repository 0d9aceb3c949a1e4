package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/rollout"
	"github.com/mhst-io/mhst-operator/internal/rollout/converge"
	"github.com/mhst-io/mhst-operator/internal/rollout/operatorproc"
	"github.com/mhst-io/mhst-operator/internal/shipped"
)

// result is what one scale measured.
type result struct {
	Areas, Teams, Settings int
	Applied                int           // objects of the rollout
	Made                   int           // objects the operator made
	AllApplied             time.Duration // the rollout's last object accepted (teams wait for their namespace)
	Converge               time.Duration // every area Ready with the expected coverage
	TeamsReady             time.Duration // and every team's Deployment Available
	Floor                  time.Duration
	FloorObjects           int
	Writes                 int64 // during the rollout, until convergence
	IdleWrites             int64
	Idle                   time.Duration
	ChangeArea             string
	ChangeSettings         int   // of the allocation changed
	ChangeAreaSettings     int64 // of its area
	Withdraw, Restore      time.Duration
	ChangeWrites           int64
	PeakRSS, PeakHeap      int64
	ConvergeCPU, FloorCPU  cpuUse           // where the CPU went while converging, and during the floor
	Requests               map[string]int64 // the operator's requests until settled, by HTTP method
	APIServerVersion       string
}

// Ratio is the convergence time over the floor.
func (r result) Ratio() float64 { return r.Converge.Seconds() / r.Floor.Seconds() }

// Managed is the number of objects the operator manages: those it made, and
// the rollout's objects whose status it keeps.
func (r result) Managed() int { return r.Made + r.Applied }

// WritesPerObject is the operator's API writes per object it manages.
func (r result) WritesPerObject() float64 { return float64(r.Writes) / float64(r.Managed()) }

// PerArea is the convergence time per area.
func (r result) PerArea() time.Duration { return r.Converge / time.Duration(r.Areas) }

// benchScheme knows the built-in kinds and mhst.io.
func benchScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(mhstv1alpha1.AddToScheme(s))
	return s
}

// runScale measures one rollout on a fresh control plane.
func runScale(ctx context.Context, cfg config, areas []rollout.Area) (res result, err error) {
	dir, err := os.MkdirTemp("", "mhst-bench-")
	if err != nil {
		return res, fmt.Errorf("work directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	res = describe(areas)

	cluster, err := localcluster.Start(ctx, localcluster.Options{
		CRDDirs: []string{cfg.crdDir}, Dir: dir,
		ControllerManager: true, Scheduler: true, Nodes: nodesFor(res.Teams, cfg.replicas),
	})
	if err != nil {
		return res, fmt.Errorf("start control plane: %w", err)
	}
	defer func() { err = errors.Join(err, cluster.Stop()) }()

	c, err := client.NewWithWatch(cluster.Config, client.Options{Scheme: benchScheme()})
	if err != nil {
		return res, fmt.Errorf("client: %w", err)
	}
	if res.APIServerVersion, err = apiServerVersion(cluster); err != nil {
		return res, err
	}
	if err := prepareCluster(ctx, cluster, cfg); err != nil {
		return res, err
	}
	operatorKubeconfig, err := shipped.WriteOperatorKubeconfig(cluster.Config, filepath.Join(dir, "operator.kubeconfig"))
	if err != nil {
		return res, err
	}
	op, err := operatorproc.Start(ctx, operatorproc.Options{
		Binary: cfg.manager, Kubeconfig: operatorKubeconfig, LogFile: filepath.Join(dir, "operator.log"),
		Args: append([]string{"--operator-namespace=" + operatorNamespace}, cfg.operatorArgs...),
	})
	if err != nil {
		return res, err
	}
	defer func() { _ = op.Kill() }()
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go op.SampleHeap(sampleCtx, heapSampleInterval)

	pids := cluster.ComponentPIDs()
	pids["operator"] = op.Pid()
	pids[benchClients] = os.Getpid()
	if err := measureOperator(ctx, cfg, c, op, pids, areas, &res); err != nil {
		return res, fmt.Errorf("%w (operator log: %s)", err, keepLog(dir, cfg))
	}
	stopSampling()
	if cfg.keepLogs {
		fmt.Fprintf(os.Stderr, "mhst-bench: the operator's log of %d areas: %s\n", res.Areas, keepLog(dir, cfg))
	}
	res.PeakHeap = op.PeakHeap()
	if res.PeakRSS, err = op.PeakRSS(); err != nil {
		return res, err
	}
	if err := op.Stop(); err != nil {
		return res, err
	}
	return res, measureFloorOf(ctx, cluster, c, cfg, &res)
}

// describe counts what a rollout is made of.
func describe(areas []rollout.Area) result {
	var r result
	r.Areas = len(areas)
	for _, a := range areas {
		r.Teams += len(a.Teams)
		r.Settings += int(a.Expected.Settings)
		r.Applied += a.Objects()
	}
	return r
}

// nodesFor gives every team's pods room on simulated nodes of 250 pods.
func nodesFor(teams int, replicas int32) int {
	return 2 + teams*int(replicas)/200
}

const operatorNamespace = "mhst-system"

// heapSampleInterval is how often the operator's heap is read from its
// metrics. Each scrape gathers every series of a national rollout, work
// and garbage the operator would not otherwise make: read much more often
// (a quarter of a second), it took a fifth of the operator's allocations.
const heapSampleInterval = 2 * time.Second

// benchClients names the benchmark's own process in the CPU figures: its
// clients apply the rollout (or create the floor) and poll for convergence.
const benchClients = "the benchmark's clients"

// prepareCluster installs what config/default ships but the operator's
// Deployment: the benchmark runs the operator's binary itself, as the
// shipped ServiceAccount, under the shipped RBAC and admission policies.
func prepareCluster(ctx context.Context, cluster *localcluster.Cluster, cfg config) error {
	if err := shipped.Install(ctx, cluster.Config, cfg.configDir); err != nil {
		return fmt.Errorf("install the shipped configuration: %w", err)
	}
	return nil
}

// measureOperator applies the rollout and measures convergence, idle writes
// and a change in the largest area.
func measureOperator(ctx context.Context, cfg config, c client.WithWatch, op *operatorproc.Process, pids map[string]int, areas []rollout.Area, res *result) error {
	before, err := op.Metrics(ctx)
	if err != nil {
		return err
	}
	cpuStart, err := sampleCPU(pids)
	if err != nil {
		return err
	}
	start := time.Now()
	applied := make(chan error, 1)
	go func() {
		err := converge.Apply(ctx, c, converge.Objects(areas), cfg.workers)
		res.AllApplied = time.Since(start) // read only after <-applied
		applied <- err
	}()
	// Converged, as the floor is defined: every area Ready with exactly the
	// expected coverage. Then, further, every team Ready, which waits on
	// the scheduler and kwok running its pods: reported, not compared with
	// the floor, which creates no pods.
	if _, err := converge.Wait(ctx, c, converge.Expect(areas, false), cfg.timeout); err != nil {
		return err
	}
	res.Converge = time.Since(start)
	cpuConverged, err := sampleCPU(pids)
	if err != nil {
		return err
	}
	res.ConvergeCPU = cpuConverged.since(cpuStart, res.Converge)
	if _, err := converge.Wait(ctx, c, converge.Expect(areas, true), cfg.timeout); err != nil {
		return err
	}
	res.TeamsReady = time.Since(start)
	if err := <-applied; err != nil {
		return err
	}
	// The areas' figures are final, but what follows them may still be
	// written (the national report is rebuilt at most once a second):
	// those writes belong to the rollout, and idle starts after them.
	converged, err := op.WaitQuiet(ctx, 2*time.Second, time.Minute)
	if err != nil {
		return err
	}
	res.Writes = converged.Writes() - before.Writes()
	res.Requests = map[string]int64{}
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		res.Requests[method] = converged.Requests(method) - before.Requests(method)
	}
	made, err := operatorObjects(ctx, c)
	if err != nil {
		return err
	}
	res.Made = len(made)

	res.Idle = cfg.idle
	time.Sleep(cfg.idle)
	idle, err := op.Metrics(ctx)
	if err != nil {
		return err
	}
	res.IdleWrites = idle.Writes() - converged.Writes()
	if err := measureChange(ctx, c, largest(areas), res); err != nil {
		return err
	}
	changed, err := op.Metrics(ctx)
	if err != nil {
		return err
	}
	res.ChangeWrites = changed.Writes() - idle.Writes()
	return nil
}

// measureChange withdraws the agreement of the largest area's first team
// allocation and waits for the area to report the smaller coverage, then
// puts it back and waits for the original figures.
func measureChange(ctx context.Context, c client.WithWatch, area rollout.Area, res *result) error {
	if len(area.Teams) == 0 {
		return fmt.Errorf("area %s has no team allocation to change", area.LocalArea.Name)
	}
	res.ChangeArea = area.LocalArea.Spec.DisplayName
	original := area.Coverages[0]
	res.ChangeSettings = len(original.Spec.Settings)
	res.ChangeAreaSettings = area.Expected.Settings
	withdrawn := *original.DeepCopy()
	withdrawn.Spec.Agreement = nil

	changed := append([]mhstv1alpha1.SchoolCoverage{withdrawn}, area.Coverages[1:]...)
	target := *area.LocalArea.Spec.CoverageTarget
	var err error
	if res.Withdraw, err = applyAndWait(ctx, c, &withdrawn, area, rollout.ExpectedCoverage(changed, target)); err != nil {
		return fmt.Errorf("withdraw agreement: %w", err)
	}
	if res.Restore, err = applyAndWait(ctx, c, &original, area, area.Expected); err != nil {
		return fmt.Errorf("restore agreement: %w", err)
	}
	return nil
}

func applyAndWait(ctx context.Context, c client.WithWatch, obj client.Object, area rollout.Area, want mhstv1alpha1.AreaCoverage) (time.Duration, error) {
	start := time.Now()
	if err := converge.Apply(ctx, c, []client.Object{obj}, 1); err != nil {
		return 0, err
	}
	expect := converge.Expectations{area.LocalArea.Name: {Coverage: want, Teams: int32(len(area.Teams)), TeamsReady: true}}
	if _, err := converge.Wait(ctx, c, expect, 2*time.Minute); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// largest is the area with the most settings.
func largest(areas []rollout.Area) rollout.Area {
	best := areas[0]
	for _, a := range areas[1:] {
		if a.Expected.Settings > best.Expected.Settings {
			best = a
		}
	}
	return best
}

// measureFloorOf stops everything that would write besides the floor's own
// client (the operator is already stopped; the controller manager would
// make ReplicaSets for the copied Deployments), and times creating a copy
// of every object that exists at the end.
func measureFloorOf(ctx context.Context, cluster *localcluster.Cluster, c client.Client, cfg config, res *result) error {
	for _, name := range []string{"kwok", "kube-scheduler", "kube-controller-manager"} {
		if err := cluster.StopComponent(name); err != nil {
			return err
		}
	}
	if err := removeAdmissionPolicies(ctx, c); err != nil {
		return err
	}
	applied, err := rolloutObjects(ctx, c)
	if err != nil {
		return err
	}
	made, err := operatorObjects(ctx, c)
	if err != nil {
		return err
	}
	self := map[string]int{benchClients: os.Getpid()}
	cpuStart, err := sampleCPU(self)
	if err != nil {
		return err
	}
	if res.Floor, res.FloorObjects, err = measureFloor(ctx, c, append(applied, made...), cfg.workers); err != nil {
		return err
	}
	cpuEnd, err := sampleCPU(self)
	if err != nil {
		return err
	}
	res.FloorCPU = cpuEnd.since(cpuStart, res.Floor)
	return nil
}

// keepLog copies the operator's log out of the work directory, which is
// removed, so that a failure can be read.
func keepLog(dir string, cfg config) string {
	data, err := os.ReadFile(filepath.Join(dir, "operator.log"))
	if err != nil {
		return "unreadable: " + err.Error()
	}
	path := filepath.Join(cfg.logDir, fmt.Sprintf("mhst-bench-operator-%d.log", time.Now().Unix()))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "not kept: " + err.Error()
	}
	return path
}

// removeAdmissionPolicies deletes the bindings of the operator's admission
// policies before the floor is measured: the floor creates the end state
// directly, copies of area namespaces (labelled as areas') and of teams and
// allocations in them included, which the policies rightly refuse to anyone
// but the operator. It returns once the API server no longer enforces them.
func removeAdmissionPolicies(ctx context.Context, c client.Client) error {
	var bindings admissionregistrationv1.ValidatingAdmissionPolicyBindingList
	if err := c.List(ctx, &bindings); err != nil {
		return fmt.Errorf("list admission policy bindings: %w", err)
	}
	for i := range bindings.Items {
		if strings.HasPrefix(bindings.Items[i].Name, "mhst-") {
			if err := c.Delete(ctx, &bindings.Items[i]); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete admission policy binding %s: %w", bindings.Items[i].Name, err)
			}
		}
	}
	probe := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "floor-probe", Labels: map[string]string{mhstv1alpha1.LabelArea: "floor-probe"}}}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return c.Create(ctx, probe.DeepCopy(), client.DryRunAll) == nil, nil
	})
}
