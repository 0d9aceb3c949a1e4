package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/htmlreport"
	"github.com/mhst-io/mhst-operator/internal/report"
)

const reportHelp = `Usage: kubectl mhst report --format html [--area NAME] [-o FILE] [--operator-namespace NS] [--kubeconfig PATH] [--context NAME]

Write the coverage report as one HTML page for a board meeting or an audit:
headline figures, coverage by region and wave (or, for an area, beside its
region, its wave and England, and by phase) as bar charts against the target
with a table beside each, disadvantaged pupils beside all pupils, and, for an
area, its teams and their capacity, the allocations awaiting the board's
agreement and its gaps; the history of CoverageSnapshots when there are any.
The page is self-contained (no scripts, fonts or images to fetch), can be
printed, and carries the data's attribution.

The figures are the LocalAreas' status and, with --area, the area's coverage
report ConfigMap (mhst-coverage-report in its namespace): reading them needs
get and list on LocalAreas and get on that ConfigMap, as a regional lead or a
platform team has. The national target is the national report's (the
ConfigMap mhst-national-coverage in --operator-namespace), or 100 when it
cannot be read.
`

// Output formats of the report command.
const formatHTML = "html"

// The ConfigMaps the operator writes its reports to (controllers'
// AreaReportName, NationalReportName and their keys; report_test.go checks
// they agree). The plugin does not link the operator's controllers in.
const (
	areaReportName        = "mhst-coverage-report"
	areaReportJSONKey     = "report.json"
	nationalReportName    = "mhst-national-coverage"
	nationalReportJSONKey = "report.json"
)

// reportTimeout bounds the few requests the report makes.
const reportTimeout = 60 * time.Second

// coverageSnapshotList is the API of CoverageSnapshots. They are read as
// unstructured objects: the page needs a handful of their fields, and a
// cluster whose operator does not take snapshots has no such API at all.
var coverageSnapshotList = schema.GroupVersionKind{Group: mhstv1alpha1.GroupVersion.Group, Version: mhstv1alpha1.GroupVersion.Version, Kind: "CoverageSnapshotList"}

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", reportHelp, stderr)
	format := fs.String("format", "", "output format: html")
	areaName := fs.String("area", "", "the LocalArea to report on (default: England)")
	out := fs.String("o", "", "file to write (default: standard output)")
	operatorNamespace := fs.String("operator-namespace", "mhst-system", "namespace of the operator, where it writes the national report")
	kubeconfig, kubeContext := clusterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != formatHTML {
		return fmt.Errorf("%w: --format %q: the report is written as html (--format html); its figures are also in the report ConfigMaps as JSON and CSV", errUsage, *format)
	}
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	c, err := mhstClient(*kubeconfig, *kubeContext, stderr)
	if err != nil {
		return err
	}
	page, err := buildReport(ctx, c, *areaName, *operatorNamespace, time.Now(), stderr)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := htmlreport.Render(&buf, page); err != nil {
		return err
	}
	if *out == "" {
		_, err := buf.WriteTo(stdout)
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	note(stderr, "wrote %s\n", *out)
	return nil
}

// buildReport reads what the page shows from the cluster: the LocalAreas,
// the national target, the area's report when one is asked for, and the
// snapshots.
func buildReport(ctx context.Context, c client.Client, areaName, operatorNamespace string, asOf time.Time, stderr io.Writer) (htmlreport.Page, error) {
	var areas mhstv1alpha1.LocalAreaList
	if err := c.List(ctx, &areas); err != nil {
		return htmlreport.Page{}, fmt.Errorf("list LocalAreas: %w", err)
	}
	// No allocations: the page shows the sums and every area's figures,
	// not the settings listed by more than one area (kubectl mhst coverage
	// lists them).
	national := report.National(areas.Items, nil, nationalTarget(ctx, c, operatorNamespace, stderr))
	snapshots, err := listSnapshots(ctx, c, stderr)
	if err != nil {
		return htmlreport.Page{}, err
	}
	if areaName == "" {
		return htmlreport.NationalPage(national, snapshotsOf(snapshots, "National", ""), asOf), nil
	}
	summary, err := areaSummary(ctx, c, areas.Items, areaName)
	if err != nil {
		return htmlreport.Page{}, err
	}
	return htmlreport.AreaPage(summary, &national, snapshotsOf(snapshots, "Area", areaName), asOf), nil
}

// areaSummary reads the area's coverage report.
func areaSummary(ctx context.Context, c client.Client, areas []mhstv1alpha1.LocalArea, name string) (report.AreaSummary, error) {
	var area *mhstv1alpha1.LocalArea
	for i := range areas {
		if areas[i].Name == name {
			area = &areas[i]
		}
	}
	if area == nil {
		return report.AreaSummary{}, fmt.Errorf("no LocalArea %s (kubectl get area lists them)", name)
	}
	if area.Status.Namespace == "" {
		return report.AreaSummary{}, fmt.Errorf("LocalArea %s holds no namespace yet (phase %q): its coverage report is written once it is Active", name, area.Status.Phase)
	}
	var cm corev1.ConfigMap
	key := client.ObjectKey{Namespace: area.Status.Namespace, Name: areaReportName}
	if err := c.Get(ctx, key, &cm); err != nil {
		return report.AreaSummary{}, fmt.Errorf("read the coverage report of LocalArea %s (ConfigMap %s): %w", name, key, err)
	}
	var summary report.AreaSummary
	if err := json.Unmarshal([]byte(cm.Data[areaReportJSONKey]), &summary); err != nil {
		return report.AreaSummary{}, fmt.Errorf("read %s of ConfigMap %s: %w", areaReportJSONKey, key, err)
	}
	return summary, nil
}

// nationalTarget is the target of the operator's national report, or the
// national ambition of 100 when the report cannot be read.
func nationalTarget(ctx context.Context, c client.Client, namespace string, stderr io.Writer) int32 {
	var cm corev1.ConfigMap
	key := client.ObjectKey{Namespace: namespace, Name: nationalReportName}
	err := c.Get(ctx, key, &cm)
	if err == nil {
		var n report.NationalSummary
		if err = json.Unmarshal([]byte(cm.Data[nationalReportJSONKey]), &n); err == nil && n.Target > 0 {
			return n.Target
		}
		err = fmt.Errorf("it has no target")
	}
	note(stderr, "national target: %d%% (the national report %s could not be read: %v)\n", coverage.DefaultCoverageTarget, key, err)
	return coverage.DefaultCoverageTarget
}

// listSnapshots lists the CoverageSnapshots; none when the cluster serves
// no such API, or the user may not list them (the page then has no
// history, and says nothing it cannot show).
func listSnapshots(ctx context.Context, c client.Client, stderr io.Writer) ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(coverageSnapshotList)
	err := c.List(ctx, list)
	switch {
	case err == nil:
		return list.Items, nil
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return nil, nil
	case apierrors.IsForbidden(err):
		note(stderr, "history left out: you may not list CoverageSnapshots (%v)\n", err)
		return nil, nil
	}
	return nil, fmt.Errorf("list CoverageSnapshots: %w", err)
}

// snapshotRecord is the part of a CoverageSnapshot the page reads.
type snapshotRecord struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     struct {
		Scope string `json:"scope"`
		Area  string `json:"area"`
	} `json:"spec"`
	Status struct {
		Conditions []metav1.Condition         `json:"conditions"`
		TakenAt    *metav1.Time               `json:"takenAt"`
		Coverage   *mhstv1alpha1.AreaCoverage `json:"coverage"`
		Digest     string                     `json:"digest"`
	} `json:"status"`
}

// snapshotsOf picks the snapshots of one scope (National, or Area and the
// area's name) that were taken: Ready, with a time and figures. A failed
// snapshot (an area not found, not active) records no figures and is left
// out.
func snapshotsOf(items []unstructured.Unstructured, scope, area string) []htmlreport.Snapshot {
	var out []htmlreport.Snapshot
	for _, item := range items {
		data, err := json.Marshal(item.Object)
		if err != nil {
			continue
		}
		var rec snapshotRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			continue
		}
		if rec.Spec.Scope != scope || rec.Spec.Area != area || rec.Status.TakenAt == nil || rec.Status.Coverage == nil ||
			!meta.IsStatusConditionTrue(rec.Status.Conditions, mhstv1alpha1.ConditionReady) {
			continue
		}
		out = append(out, htmlreport.Snapshot{
			Name: rec.Metadata.Name, TakenAt: rec.Status.TakenAt.Time,
			Coverage: *rec.Status.Coverage, Digest: rec.Status.Digest,
		})
	}
	return out
}

// mhstClient is a client of the cluster of the kubeconfig, for the mhst.io
// API and ConfigMaps.
func mhstClient(kubeconfig, kubeContext string, stderr io.Writer) (client.Client, error) {
	// controller-runtime complains on stderr when its logger is never set.
	ctrllog.SetLogger(zap.New(zap.WriteTo(stderr)))
	cfg, err := restConfig(kubeconfig, kubeContext)
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := errors.Join(mhstv1alpha1.AddToScheme(scheme), corev1.AddToScheme(scheme)); err != nil {
		return nil, fmt.Errorf("register the APIs: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("create client for %s: %w", cfg.Host, err)
	}
	return c, nil
}
