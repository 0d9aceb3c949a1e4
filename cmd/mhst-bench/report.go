package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"k8s.io/client-go/discovery"

	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/register"
)

// Targets the operator is held to (docs/benchmarks.md explains them).
const (
	maxFloorRatio    = 2.0
	maxPerAreaGrowth = 1.25
	maxPeakRSSMiB    = 150
	// maxWritesPerObject bounds the operator's writes per object it manages.
	maxWritesPerObject = 1.2
	// maxReconverge bounds the re-convergence of the largest area after one
	// allocation change.
	maxReconverge     = 200 * time.Millisecond
	mib               = 1 << 20
	nationalThreshold = 150 // areas from which a scale counts as national
)

// machine is where the benchmark ran.
type machine struct {
	CPUs      int
	MemoryMiB int64
	Go        string
}

func describeMachine() machine {
	return machine{CPUs: runtime.NumCPU(), MemoryMiB: memTotalMiB(), Go: runtime.Version()}
}

// memTotalMiB reads MemTotal from /proc/meminfo (0 when unreadable).
func memTotalMiB() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range strings.Split(string(data), "\n") {
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
			return kb / 1024
		}
	}
	return 0
}

func apiServerVersion(cluster *localcluster.Cluster) (string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cluster.Config)
	if err != nil {
		return "", fmt.Errorf("discovery client: %w", err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("kube-apiserver version: %w", err)
	}
	return v.GitVersion, nil
}

// report is every scale's result on one machine.
type report struct {
	Machine machine
	Results []result
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func (r report) scaleTable(res result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### %d areas\n\n", res.Areas)
	fmt.Fprintf(&b, "Machine: %d CPUs, %d MiB memory, %s, kube-apiserver %s.\n\n", r.Machine.CPUs, r.Machine.MemoryMiB, r.Machine.Go, res.APIServerVersion)
	rows := [][2]string{
		{"areas / teams / settings", fmt.Sprintf("%d / %d / %d", res.Areas, res.Teams, res.Settings)},
		{"objects applied (LocalAreas, SupportTeams, SchoolCoverages)", fmt.Sprint(res.Applied)},
		{"objects the operator made (namespaces and children)", fmt.Sprint(res.Made)},
		{"the rollout's last object accepted (teams and allocations wait for their area's namespace)", seconds(res.AllApplied)},
		{"converge: first apply until every area is Ready with the expected coverage", seconds(res.Converge)},
		{"every team Ready too (its Deployment Available: pods scheduled and run by kwok)", seconds(res.TeamsReady)},
		{"per area", fmt.Sprintf("%.1f ms", float64(res.PerArea().Microseconds())/1000)},
		{"floor: create the same end state directly (16 clients, no operator)", fmt.Sprintf("%s (%d objects, %.0f/s)", seconds(res.Floor), res.FloorObjects, float64(res.FloorObjects)/res.Floor.Seconds())},
		{"converge / floor", fmt.Sprintf("%.2f×", res.Ratio())},
		{"operator API writes until every team is Ready", fmt.Sprint(res.Writes)},
		{"the operator's requests until settled, by method", requestsByMethod(res.Requests)},
		{"writes per object managed", fmt.Sprintf("%.2f (%d objects)", res.WritesPerObject(), res.Managed())},
		{"writes per area", fmt.Sprintf("%.1f", float64(res.Writes)/float64(res.Areas))},
		{fmt.Sprintf("writes during %s idle after the operator settled", res.Idle), fmt.Sprint(res.IdleWrites)},
		{fmt.Sprintf("re-converge after withdrawing one agreement in %s (%d settings; the allocation lists %d)", res.ChangeArea, res.ChangeAreaSettings, res.ChangeSettings), seconds(res.Withdraw)},
		{"re-converge after restoring it", seconds(res.Restore)},
		{"writes for the two changes", fmt.Sprint(res.ChangeWrites)},
		{"peak RSS of the operator (VmHWM)", fmt.Sprintf("%.0f MiB", float64(res.PeakRSS)/mib)},
		{"peak heap in use (sampled every 2 s)", fmt.Sprintf("%.0f MiB", float64(res.PeakHeap)/mib)},
		{"CPU while converging", res.ConvergeCPU.String()},
		{"CPU during the floor", res.FloorCPU.String()},
	}
	b.WriteString("| measure | value |\n|---|---|\n")
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
	}
	return b.String()
}

// requestsByMethod lists request counts in a fixed order.
func requestsByMethod(requests map[string]int64) string {
	var parts []string
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		parts = append(parts, fmt.Sprintf("%s %d", method, requests[method]))
	}
	return strings.Join(parts, ", ")
}

// growthTable shows how the cost grows with the number of areas.
func (r report) growthTable() string {
	var b strings.Builder
	b.WriteString("| areas | objects | converge | per area | floor | ratio | writes per area | idle writes | peak RSS |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, res := range r.Results {
		fmt.Fprintf(&b, "| %d | %d | %s | %.1f ms | %s | %.2f× | %.1f | %d | %.0f MiB |\n",
			res.Areas, res.FloorObjects, seconds(res.Converge), float64(res.PerArea().Microseconds())/1000,
			seconds(res.Floor), res.Ratio(), float64(res.Writes)/float64(res.Areas), res.IdleWrites, float64(res.PeakRSS)/mib)
	}
	return b.String()
}

// target is one line of the targets table.
type target struct {
	name, measured string
	met            bool
}

func (r report) targets() []target {
	var ts []target
	for _, res := range r.Results {
		ts = append(ts,
			target{fmt.Sprintf("converge within %.0f× the floor (%d areas)", maxFloorRatio, res.Areas), fmt.Sprintf("%.2f×", res.Ratio()), res.Ratio() <= maxFloorRatio},
			target{fmt.Sprintf("zero writes while idle (%d areas)", res.Areas), fmt.Sprint(res.IdleWrites), res.IdleWrites == 0},
			target{fmt.Sprintf("writes per managed object at most %.1f (%d areas)", maxWritesPerObject, res.Areas), fmt.Sprintf("%.2f", res.WritesPerObject()), res.WritesPerObject() <= maxWritesPerObject})
	}
	if len(r.Results) > 1 {
		first, last := r.Results[0], r.Results[len(r.Results)-1]
		growth := last.PerArea().Seconds() / first.PerArea().Seconds()
		writeGrowth := (float64(last.Writes) / float64(last.Areas)) / (float64(first.Writes) / float64(first.Areas))
		ts = append(ts,
			target{fmt.Sprintf("time per area flat (%d areas vs %d, at most %.2f×)", last.Areas, first.Areas, maxPerAreaGrowth), fmt.Sprintf("%.2f×", growth), growth <= maxPerAreaGrowth},
			target{fmt.Sprintf("writes per area flat (%d areas vs %d, at most %.2f×)", last.Areas, first.Areas, maxPerAreaGrowth), fmt.Sprintf("%.2f×", writeGrowth), writeGrowth <= maxPerAreaGrowth})
	}
	for _, res := range r.Results {
		if res.Areas >= nationalThreshold {
			rss := float64(res.PeakRSS) / mib
			ts = append(ts, target{fmt.Sprintf("peak memory at most %d MiB at national scale (%d areas)", maxPeakRSSMiB, res.Areas), fmt.Sprintf("%.0f MiB", rss), rss <= maxPeakRSSMiB})
			if res.ChangeArea != "" {
				worst := max(res.Withdraw, res.Restore)
				ts = append(ts, target{fmt.Sprintf("one allocation change in %s (%d settings) re-converges within %s", res.ChangeArea, res.ChangeAreaSettings, maxReconverge),
					worst.Round(time.Millisecond).String(), worst <= maxReconverge})
			}
		}
	}
	return ts
}

func (r report) targetsTable() string {
	var b strings.Builder
	b.WriteString("| target | measured | met |\n|---|---|---|\n")
	for _, t := range r.targets() {
		met := "no"
		if t.met {
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.name, t.measured, met)
	}
	return b.String()
}

// markdown is docs/benchmarks.md.
func (r report) markdown() string {
	var b strings.Builder
	b.WriteString(`# Benchmarks

Written by ` + "`make bench`" + ` (cmd/mhst-bench) on ` + time.Now().UTC().Format("2006-01-02") + `; run it again to refresh.

The rollout is generated from the DfE register (internal/rollout): every local
authority as a LocalArea in waves (25 trailblazers in wave 0, the rest spread
over waves 1 to 4), a governance board with health and education members, Mental
Health Support Teams of about 8,300 pupils and at most 20 settings each, enough
to cover about half of the pupils (the published 52%), their agreed allocations,
and every other state-funded setting in lists without a team (500 at most each).
` + register.Attribution + `

How it is measured: each scale runs on a fresh local control plane (etcd,
kube-apiserver, kube-controller-manager, kube-scheduler and kwok nodes, so that
the teams' Deployments really become Available: a team is Ready only then;
the controller manager and the scheduler get client limits of 300 requests a
second, so that the teams' pods do not wait on the default 20). What
config/default ships is installed (RBAC, area roles, admission policies) and
the operator runs as its own process (bin/manager, default flags, no leader
election) as its ServiceAccount, under that RBAC and those policies. The rollout is applied server-side by 16 parallel clients, the
LocalAreas first; an object whose namespace the operator has not made yet
waits for it (on one watch of namespaces that every client shares) and is
then applied. Convergence is followed with a watch of the LocalAreas, so
that waiting costs the API server next to nothing.
**Converge** runs
from the first apply until every LocalArea is Ready with exactly the coverage
the generator computed by its own sums (status.coverage compared field by
field); the time until every team is Ready as well (its Deployment Available,
which waits for the controller manager, the scheduler and kwok to run its pods)
is reported beside it but not compared with the floor, which runs no pods.
**Floor**: the operator, its admission policies and the controller
manager are stopped, and a renamed copy of every object that exists at the
end (the applied manifests and everything the operator made: namespaces and
every kind it creates, found by its managed-by label; metadata reduced to
labels and annotations, no status) is created directly by 16 parallel
clients. **Writes** are the operator's own POST/PUT/PATCH/DELETE requests from
its metrics (rest_client_requests_total), until it has settled (no write for
2 s after convergence: the national report, rebuilt at most once a second,
may follow the areas' figures), per object it manages (what it made plus the
applied objects whose status it writes). **Idle** counts its writes after
that. **Re-converge** withdraws the agreement of one team's
allocation in the largest area (the area then reports the smaller coverage),
then restores it. Peak RSS is VmHWM of the operator's process; peak heap is
go_memstats_heap_inuse_bytes sampled every 2 s. **CPU** is the busy time
of the whole machine (/proc/stat) and of each process the benchmark started
(/proc/<pid>/stat: the operator, the controller manager, the scheduler, kwok,
and the benchmark itself, whose clients apply the rollout and poll for
convergence), from the first apply until convergence, and during the floor;
what the named processes do not account for is kube-apiserver and etcd.

## Targets

`)
	b.WriteString(r.targetsTable())
	b.WriteString("\n## Growth with the number of areas\n\n")
	b.WriteString(r.growthTable())
	b.WriteString(readingTheFigures)
	b.WriteString("\n## Each scale\n")
	for _, res := range r.Results {
		b.WriteString(r.scaleTable(res))
	}
	return b.String()
}

// readingTheFigures explains what bounds each figure; the rows it refers
// to are measured in every run.
const readingTheFigures = `
## Reading the figures

**Convergence is bounded by the machine's CPU, most of it the API
server's.** The row "CPU while converging" of each scale shows both cores
busy from the first apply until convergence, and most of that time goes to
kube-apiserver and etcd; the operator's own share is a fraction of theirs.
For the same end state the API server works several times as hard as for the
floor (compare its CPU in the two rows): the floor is one plain create per
object with no admission policy, while the rollout is the users' server-side
applies, then the operator's server-side apply of every object it makes and
its status patches (the row "the operator's requests"), each made as the
operator's ServiceAccount (impersonated here; a token in a pod) and each
checked by the shipped admission policies; meanwhile the controller manager,
the scheduler and kwok start every team's pods (their rows), which the floor
does not do. A rollout is also a pipeline: an area's SupportTeams and
SchoolCoverages can be created only once the operator has made the area's
namespace, so the row "the rollout's last object accepted" is close to
converge. At 10 areas the floor takes about a second, and it moves by half
of that from one run to the next: read the ratio at 50 and 152 areas.

**Writes.** Every object the operator makes is written once, by a
server-side apply, and never again while it holds what the operator wants
(zero writes while idle). The other writes are status and Events. Status
follows the rollout as it arrives: an area's figures change with each team
and allocation that joins it (about five status writes an area), a team
reports once its service is applied and again once its Deployment is
Available, an allocation once it is evaluated and again when its team
appears. Events record each area provisioned and each agreement of a board,
the audit trail the trust model relies on. (Counted from the operator's
log with --operator-args=--zap-log-level=2, which logs every write.)
Holding status back while a wave arrives would cut the writes but delay
what people and GitOps tools read, so status is written as soon as it
changes.

**Memory.** The peak RSS is about 1.7 times the peak heap in use: between
two collections the Go runtime lets the heap grow to twice what is live
(GOGC=100). What is live at national scale after a collection is about
75 MiB (a heap profile of the 152-area run through --pprof-bind-address):
the cached objects, the coverage reports' ConfigMaps foremost, each area's
coverage result and the metric series; the rest of the peak is the garbage
of decoding, rendering and applying while a wave arrives. A soft memory
limit (GOMEMLIMIT) would hold the RSS lower at the price of more collections,
that is CPU, which is what convergence waits on here.

**Re-converge.** One allocation change wakes the allocation, its team, its
area and the two reports; the area's coverage is computed once for all of
them (the allocation, team and area statuses and the report read the same
result), so only the objects whose status changes are written.
`
