// Command mhst-bench measures the operator on a national rollout generated
// from the DfE register: every local authority as a LocalArea, its teams
// and allocations, applied to a real local control plane with the operator
// running as its own process (bin/manager).
//
// For each scale (a number of areas, or all of them) it starts a fresh
// control plane and reports how long the operator takes to converge (every
// area Ready with exactly the coverage the generator expects and every team
// Ready), the floor (creating every object that exists at the end directly,
// without the operator) and the ratio of the two, the operator's API writes
// per object it manages, its writes while idle, the time to re-converge
// after one allocation changes in the largest area, and its peak memory.
// The results are printed and written to docs/benchmarks.md.
//
// Usage (from the repository root, after `go build -o bin/manager ./cmd/manager`):
//
//	KUBEBUILDER_ASSETS=$(hack/controlplane.sh) go run ./cmd/mhst-bench [--quick] [--scales 10,50,all]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/mhst-io/mhst-operator/internal/register"
	"github.com/mhst-io/mhst-operator/internal/rollout"
)

// config is what the flags say.
type config struct {
	data      string
	scales    []int // 0 means every area
	idle      time.Duration
	workers   int
	timeout   time.Duration
	manager   string
	crdDir    string
	configDir string
	out       string
	logDir    string
	keepLogs  bool
	replicas  int32
	// operatorArgs are passed on to the operator, to measure a setting
	// other than the defaults.
	operatorArgs []string
}

func parseFlags() (config, error) {
	var cfg config
	var scales string
	var quick bool
	var replicas int
	var operatorArgs string
	flag.StringVar(&operatorArgs, "operator-args", "", "Space-separated flags passed on to the operator (default: none, the operator's defaults are measured).")
	flag.StringVar(&cfg.data, "data", "hack/data", "Directory of the DfE schools and local authority CSV files.")
	flag.StringVar(&scales, "scales", "10,50,all", "Comma-separated numbers of areas to measure, each on a fresh control plane (\"all\" for every area).")
	flag.DurationVar(&cfg.idle, "idle", time.Minute, "How long to count writes while idle after convergence.")
	flag.BoolVar(&quick, "quick", false, "Smoke run: --scales 10 --idle 10s, and write no docs/benchmarks.md.")
	flag.IntVar(&cfg.workers, "workers", 16, "Parallel clients applying the rollout and measuring the floor.")
	flag.DurationVar(&cfg.timeout, "timeout", 20*time.Minute, "Longest wait for a rollout to converge.")
	flag.StringVar(&cfg.manager, "manager", "bin/manager", "The operator's binary.")
	flag.StringVar(&cfg.crdDir, "crds", "config/crd/bases", "Directory of the CRDs.")
	flag.StringVar(&cfg.configDir, "config", "config", "The repository's config directory; config/default is installed but the operator's Deployment.")
	flag.StringVar(&cfg.out, "out", "docs/benchmarks.md", "Where to write the results (empty: only print them).")
	flag.StringVar(&cfg.logDir, "log-dir", "bin", "Where to keep the operator's log when a scale fails.")
	flag.BoolVar(&cfg.keepLogs, "keep-logs", false, "Keep the operator's log of every scale in --log-dir, not only of one that fails.")
	flag.IntVar(&replicas, "replicas", 1, "Replicas of every team's service.")
	flag.Parse()
	cfg.operatorArgs = strings.Fields(operatorArgs)
	if quick {
		scales, cfg.idle, cfg.out = "10", 10*time.Second, ""
	}
	cfg.replicas = int32(replicas)
	var err error
	cfg.scales, err = parseScales(scales)
	return cfg, err
}

// parseScales reads "10,50,all"; all is 0.
func parseScales(text string) ([]int, error) {
	var scales []int
	for _, field := range strings.Split(text, ",") {
		field = strings.TrimSpace(field)
		if field == "all" {
			scales = append(scales, 0)
			continue
		}
		n, err := strconv.Atoi(field)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--scales: %q is neither a positive number nor all", field)
		}
		scales = append(scales, n)
	}
	return scales, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mhst-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := parseFlags()
	if err != nil {
		return err
	}
	// The clients log what they retry; keep it on stderr, apart from the
	// results.
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := os.Stat(cfg.manager); err != nil {
		return fmt.Errorf("the operator's binary: %w (build it with `go build -o bin/manager ./cmd/manager`)", err)
	}
	national, err := generate(cfg)
	if err != nil {
		return err
	}
	report := report{Machine: describeMachine()}
	for _, scale := range cfg.scales {
		areas := subset(national.Areas, scale)
		fmt.Fprintf(os.Stderr, "mhst-bench: %d areas on a fresh control plane\n", len(areas))
		res, err := runScale(ctx, cfg, areas)
		if err != nil {
			return fmt.Errorf("%d areas: %w", len(areas), err)
		}
		report.Results = append(report.Results, res)
		fmt.Print(report.scaleTable(res))
	}
	text := report.markdown()
	fmt.Print("\n" + report.targetsTable())
	if cfg.out == "" {
		return nil
	}
	if err := os.WriteFile(cfg.out, []byte(text), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", cfg.out, err)
	}
	fmt.Fprintln(os.Stderr, "mhst-bench: wrote", cfg.out)
	return nil
}

// generate reads the register and builds the national rollout.
func generate(cfg config) (rollout.Rollout, error) {
	schoolsFile, err := os.Open(filepath.Join(cfg.data, "schools-england-2022-23.csv"))
	if err != nil {
		return rollout.Rollout{}, fmt.Errorf("the DfE register (--data): %w", err)
	}
	defer func() { _ = schoolsFile.Close() }()
	file, err := register.ReadSchools(schoolsFile, register.ReadOptions{})
	if err != nil {
		return rollout.Rollout{}, err
	}
	laFile, err := os.Open(filepath.Join(cfg.data, "local-authorities-england.csv"))
	if err != nil {
		return rollout.Rollout{}, fmt.Errorf("the local authorities (--data): %w", err)
	}
	defer func() { _ = laFile.Close() }()
	authorities, err := register.ReadAuthorities(laFile)
	if err != nil {
		return rollout.Rollout{}, err
	}
	return rollout.Generate(file.Schools, register.NewDirectory(authorities), rollout.Options{Replicas: cfg.replicas})
}

// subset is n areas (all when n is 0 or more than there are): the largest
// area, so that every scale changes an allocation in the same area, then
// the others in rollout order (by wave, then by name).
func subset(areas []rollout.Area, n int) []rollout.Area {
	ordered := append([]rollout.Area(nil), areas...)
	big := largest(areas).LocalArea.Name
	sort.SliceStable(ordered, func(i, j int) bool {
		a, b := ordered[i].LocalArea, ordered[j].LocalArea
		if (a.Name == big) != (b.Name == big) {
			return a.Name == big
		}
		if a.Spec.Wave != b.Spec.Wave {
			return a.Spec.Wave < b.Spec.Wave
		}
		return a.Name < b.Name
	})
	if n == 0 || n > len(ordered) {
		return ordered
	}
	return ordered[:n]
}
