package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/controllers"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/manifests"
	"github.com/mhst-io/mhst-operator/internal/report"
)

// artifactDir is where the report test leaves the pages it rendered, their
// screenshots and their print (PDF), for a person to look at: a stable path
// under bin/, which git ignores.
const artifactDir = "../../bin/test-artifacts/report"

// nationalTargetForTest differs from the default of 100, so that the page
// is seen to take the operator's.
const nationalTargetForTest = 50

// TestReportInBrowser runs the operator on a real API server with the
// sample rollout (config/samples: three areas, four teams, real schools),
// writes the report of England and of York with the plugin, as a user
// would, and opens both in headless Chromium: each page renders without
// fetching anything, the figures in its DOM are the LocalAreas' status, it
// reads well enough (language, headings, contrast, a text alternative and
// a table for every chart) and prints without its navigation. The
// screenshots and PDFs are left in bin/test-artifacts/report.
func TestReportInBrowser(t *testing.T) {
	browser := chromiumPath(t)
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run with `make test`, which provides a real control plane")
	}
	ctx := t.Context()
	crds := []string{"../../config/crd/bases"}
	_, err := os.Stat("../../config/crd/bases/mhst.io_coveragesnapshots.yaml")
	realSnapshots := err == nil
	if !realSnapshots {
		crds = append(crds, "testdata/snapshot-crd")
	}
	cluster, err := localcluster.Start(ctx, localcluster.Options{CRDDirs: crds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	admin := startOperatorForReport(t, cluster)
	areas := applySampleRollout(t, admin)
	takeSnapshots(t, admin, realSnapshots)

	if err := os.MkdirAll(artifactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs(artifactDir)
	if err != nil {
		t.Fatal(err)
	}
	national, york := filepath.Join(dir, "england.html"), filepath.Join(dir, "york.html")
	for file, args := range map[string][]string{national: nil, york: {"--area", "york"}} {
		var stderr bytes.Buffer
		args = append([]string{"report", "--format", "html", "-o", file, "--kubeconfig", cluster.KubeconfigPath}, args...)
		if code := run(args, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("kubectl mhst %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
	}

	b := newBrowser(t, browser)
	t.Run("england", func(t *testing.T) {
		got := b.open(t, national, filepath.Join(dir, "england"))
		want := sums(areas)
		checkHeadline(t, got.Headline, want, nationalTargetForTest)
		if got.Headline["areas"] != "3" || got.Headline["teams"] != "4" {
			t.Errorf("areas %s, teams %s: want 3 and 4", got.Headline["areas"], got.Headline["teams"])
		}
		for _, a := range areas {
			row := got.Rows["by-area/"+a.Name]
			if row == nil {
				t.Errorf("no row for area %s", a.Name)
				continue
			}
			checkFigures(t, "area "+a.Name, row, *a.Status.Coverage, coverage.TargetOf(&a))
		}
		if len(got.History) != 1 {
			t.Errorf("history rows: %v, want the one national snapshot", got.History)
		}
	})
	t.Run("york", func(t *testing.T) {
		got := b.open(t, york, filepath.Join(dir, "york"))
		var area mhstv1alpha1.LocalArea
		for _, a := range areas {
			if a.Name == "york" {
				area = a
			}
		}
		checkHeadline(t, got.Headline, *area.Status.Coverage, coverage.TargetOf(&area))
		if got.Headline["teams"] != strconv.Itoa(int(area.Status.Teams.Total)) {
			t.Errorf("teams: got %s, want %d", got.Headline["teams"], area.Status.Teams.Total)
		}
		checkFigures(t, "york in context", got.Rows["in-context/york"], *area.Status.Coverage, coverage.TargetOf(&area))
		if got.Rows["in-context/england"]["pupils"] != number(sums(areas).Pupils) {
			t.Errorf("England beside York: %v", got.Rows["in-context/england"])
		}
		for _, team := range []string{"york-mhst-1", "york-mhst-2"} {
			if got.Rows["teams/team-"+team] == nil {
				t.Errorf("no row for team %s (rows: %v)", team, keys(got.Rows))
			}
		}
		if len(got.History) != 2 {
			t.Errorf("history rows: %v, want York's two snapshots", got.History)
		}
	})
}

// chromiumPath is the browser of $CHROMIUM, else the first Chromium on the
// PATH; without one the test fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: `make test` installs it (hack/test-tools.sh chromium), or set CHROMIUM to a Chromium or Chrome binary")
	return ""
}

// startOperatorForReport runs the operator's controllers in the test, with
// a national target of nationalTargetForTest, and returns an
// administrator's client.
func startOperatorForReport(t *testing.T, cluster *localcluster.Cluster) client.Client {
	t.Helper()
	ctrl.SetLogger(zap.New(zap.WriteTo(&bytes.Buffer{})))
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(mhstv1alpha1.AddToScheme(scheme))
	admin, err := client.New(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mhst-system"}}); err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(cluster.Config, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := controllers.Config{OperatorNamespace: "mhst-system", Tenancy: controllers.DefaultTenancy(), MaxConcurrentReconciles: 2, NationalCoverageTarget: nationalTargetForTest}
	if err := controllers.SetupWithManager(mgr, cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("operator: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return admin
}

// applySampleRollout applies config/samples, the areas first (the teams
// and allocations go into the namespaces the operator makes for them), and
// waits until every area's report and the national report agree with the
// areas' status. It returns the areas as they then are.
func applySampleRollout(t *testing.T, admin client.Client) []mhstv1alpha1.LocalArea {
	t.Helper()
	ctx := t.Context()
	objs, err := manifests.ReadFiles("../../config/samples/hartlepool.yaml", "../../config/samples/york.yaml", "../../config/samples/rutland.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var areaObjs, rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "LocalArea" {
			areaObjs = append(areaObjs, o)
		} else {
			rest = append(rest, o)
		}
	}
	if err := manifests.Apply(ctx, admin, areaObjs); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the areas are Active", func() error {
		var list mhstv1alpha1.LocalAreaList
		if err := admin.List(ctx, &list); err != nil {
			return err
		}
		for _, a := range list.Items {
			if a.Status.Phase != mhstv1alpha1.PhaseActive {
				return fmt.Errorf("%s is %s", a.Name, a.Status.Phase)
			}
		}
		return nil
	})
	if err := manifests.Apply(ctx, admin, rest); err != nil {
		t.Fatal(err)
	}
	// Every distinct setting the allocations list, by namespace: the areas
	// have counted them all once their status lists that many.
	urns := map[string]map[string]bool{}
	for _, o := range rest {
		if o.GetKind() != "SchoolCoverage" {
			continue
		}
		settings, _, _ := unstructured.NestedSlice(o.Object, "spec", "settings")
		for _, setting := range settings {
			if urns[o.GetNamespace()] == nil {
				urns[o.GetNamespace()] = map[string]bool{}
			}
			urns[o.GetNamespace()][setting.(map[string]any)["urn"].(string)] = true
		}
	}
	var areas []mhstv1alpha1.LocalArea
	eventually(t, "the reports agree with the areas' status", func() error {
		var list mhstv1alpha1.LocalAreaList
		if err := admin.List(ctx, &list); err != nil {
			return err
		}
		for _, a := range list.Items {
			c := a.Status.Coverage
			if c == nil || c.Settings != int64(len(urns[a.Status.Namespace])) || a.Status.Teams.Total == 0 {
				return fmt.Errorf("%s has not counted its allocations yet", a.Name)
			}
			var cm corev1.ConfigMap
			if err := admin.Get(ctx, client.ObjectKey{Namespace: a.Status.Namespace, Name: areaReportName}, &cm); err != nil {
				return err
			}
			var summary report.AreaSummary
			if err := json.Unmarshal([]byte(cm.Data[areaReportJSONKey]), &summary); err != nil {
				return err
			}
			if !equality.Semantic.DeepEqual(summary.Totals.AreaCoverage, *c) {
				return fmt.Errorf("the report of %s says %+v, its status %+v", a.Name, summary.Totals.AreaCoverage, *c)
			}
		}
		var cm corev1.ConfigMap
		if err := admin.Get(ctx, client.ObjectKey{Namespace: "mhst-system", Name: nationalReportName}, &cm); err != nil {
			return err
		}
		var n report.NationalSummary
		if err := json.Unmarshal([]byte(cm.Data[nationalReportJSONKey]), &n); err != nil {
			return err
		}
		if want := sums(list.Items); n.Totals.Pupils != want.Pupils || n.Totals.PupilsCovered != want.PupilsCovered || n.Target != nationalTargetForTest {
			return fmt.Errorf("the national report is not up to date")
		}
		areas = list.Items
		return nil
	})
	return areas
}

// takeSnapshots records two snapshots of York and one of England. With the
// stand-in CRD the test writes their status, as the operator's snapshot
// controller does; with the real one, the operator takes them.
func takeSnapshots(t *testing.T, admin client.Client, real bool) {
	t.Helper()
	ctx := t.Context()
	write := func(name, scope, area string, takenAt time.Time, c mhstv1alpha1.AreaCoverage) {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("mhst.io/v1alpha1")
		u.SetKind("CoverageSnapshot")
		u.SetName(name)
		spec := map[string]any{"scope": scope}
		if area != "" {
			spec["area"] = area
		}
		u.Object["spec"] = spec
		if err := admin.Create(ctx, u); err != nil {
			t.Fatalf("create snapshot %s: %v", name, err)
		}
		if real {
			return
		}
		coverageJSON, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&c)
		if err != nil {
			t.Fatal(err)
		}
		u.Object["status"] = map[string]any{
			"takenAt":    takenAt.UTC().Format(time.RFC3339),
			"coverage":   coverageJSON,
			"digest":     strings.Repeat("5a", 32),
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "Taken", "message": "Taken.", "lastTransitionTime": takenAt.UTC().Format(time.RFC3339)}},
		}
		if err := admin.Status().Update(ctx, u); err != nil {
			t.Fatalf("record snapshot %s: %v", name, err)
		}
	}
	var york mhstv1alpha1.LocalArea
	if err := admin.Get(ctx, client.ObjectKey{Name: "york"}, &york); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	earlier := *york.Status.Coverage
	earlier.PupilsCovered /= 2
	earlier.SettingsCovered /= 2
	earlier.PupilsCoveredPercent = coverage.Percent(earlier.PupilsCovered, earlier.Pupils)
	write("york-earlier", "Area", "york", now.AddDate(0, -6, 0), earlier)
	write("york-now", "Area", "york", now, *york.Status.Coverage)
	write("england-now", "National", "", now, mhstv1alpha1.AreaCoverage{Pupils: 1, PupilsCovered: 1, PupilsCoveredPercent: "100.0"})
	if real {
		eventually(t, "the operator takes the snapshots", func() error {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(coverageSnapshotList)
			if err := admin.List(ctx, list); err != nil {
				return err
			}
			if n := len(snapshotsOf(list.Items, "Area", "york")); n != 2 {
				return fmt.Errorf("%d of York's snapshots taken", n)
			}
			return nil
		})
	}
}

func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// browser is one headless Chromium, driven over the DevTools protocol.
type browser struct {
	ctx context.Context
}

func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, and must have no timeout: one
	// would stop the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	return &browser{ctx: ctx}
}

// seen is what the test reads from a rendered page.
type seen struct {
	Lang     string                       `json:"lang"`
	Title    string                       `json:"title"`
	H1       int                          `json:"h1"`
	Headline map[string]string            `json:"headline"`
	Rows     map[string]map[string]string `json:"rows"`
	History  []string                     `json:"history"`
	Charts   []struct {
		Role   string  `json:"role"`
		Title  string  `json:"title"`
		Desc   string  `json:"desc"`
		Table  bool    `json:"table"`
		Width  float64 `json:"width"`
		Height float64 `json:"height"`
	} `json:"charts"`
	Colours []struct {
		Selector string `json:"selector"`
		Fg       string `json:"fg"`
		Bg       string `json:"bg"`
	} `json:"colours"`
	Footer   string `json:"footer"`
	Overflow bool   `json:"overflow"`
}

// readPage collects the page's figures (every data-figure, in the headline
// and by table row), its charts, and the colours of its kinds of text with
// the background they are drawn on.
const readPage = `(() => {
  const figures = root => Object.fromEntries([...root.querySelectorAll('[data-figure]')].map(e => [e.dataset.figure, e.textContent.trim()]));
  const rows = {};
  for (const tr of document.querySelectorAll('tr[data-row]')) rows[tr.closest('section').id + '/' + tr.dataset.row] = figures(tr);
  const background = e => {
    for (; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  const colours = [];
  for (const sel of ['body', 'h1', 'h2', '.subtitle', '.asof', '.note', 'nav a', '.figures dt', '.figures dd', '.met', '.notmet', 'th', 'td', 'caption', 'figcaption', 'footer', 'svg .label', 'svg .value', 'svg .tick']) {
    const e = document.querySelector(sel);
    if (!e) continue;
    const s = getComputedStyle(e);
    colours.push({selector: sel, fg: e instanceof SVGElement ? s.fill : s.color, bg: background(e instanceof SVGElement ? e.closest('figure') : e)});
  }
  return {
    lang: document.documentElement.lang,
    title: document.title,
    h1: document.querySelectorAll('h1').length,
    headline: figures(document.getElementById('headline')),
    rows,
    history: [...document.querySelectorAll('#history tbody tr')].map(tr => tr.dataset.row),
    charts: [...document.querySelectorAll('svg')].map(s => ({
      role: s.getAttribute('role') || '', title: s.querySelector('title')?.textContent || '', desc: s.querySelector('desc')?.textContent || '',
      table: s.closest('section').querySelector('table') !== null,
      width: s.getBoundingClientRect().width, height: s.getBoundingClientRect().height})),
    colours,
    footer: document.querySelector('footer').innerText,
    overflow: document.documentElement.scrollWidth > window.innerWidth,
  };
})()`

// open loads a page from its file in a new tab, checks what holds for
// every page, and leaves its screenshot and print in artifact.png and
// artifact.pdf.
func (b *browser) open(t *testing.T, file, artifact string) seen {
	t.Helper()
	tab, cancelTab := chromedp.NewContext(b.ctx)
	defer cancelTab()
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	var mu sync.Mutex
	var requests []string
	err := chromedp.Listen(tab, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	url := "file://" + file
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s %s in Chromium: %v", what, url, err)
		}
	}
	_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	must("watch the requests of", err)
	must("open", chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("footer"))))
	got, err := chromedp.Run(ctx, chromedp.Evaluate[seen](readPage))
	must("read", err)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must("take a screenshot of", err)
	_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
	must("emulate print for", err)
	navDisplay, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('nav')).display`))
	must("read the print styles of", err)
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
	must("print", err)
	for _, out := range []struct {
		ext  string
		data []byte
	}{{".png", png}, {".pdf", pdf}} {
		if err := os.WriteFile(artifact+out.ext, out.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot: %s.png, print: %s.pdf", artifact, artifact)

	mu.Lock()
	fetched := slices.Clone(requests)
	mu.Unlock()
	if len(fetched) != 1 || fetched[0] != url {
		t.Errorf("the page fetched %v; it must fetch nothing but itself", fetched)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10_000 {
		t.Errorf("screenshot of %d bytes is no rendered page", len(png))
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Error("the print is no PDF")
	}
	if navDisplay != "none" {
		t.Errorf("in print the navigation shows (display %q)", navDisplay)
	}
	if got.Lang != "en-GB" || got.H1 != 1 || !strings.HasPrefix(got.Title, "Mental Health Support Team coverage") {
		t.Errorf("lang %q, %d h1, title %q", got.Lang, got.H1, got.Title)
	}
	if len(got.Charts) < 2 {
		t.Errorf("%d charts", len(got.Charts))
	}
	for i, c := range got.Charts {
		if c.Role != "img" || c.Title == "" || c.Desc == "" || !c.Table || c.Width < 300 || c.Height < 50 {
			t.Errorf("chart %d (%s): role %q, description %q, table %v, %vx%v", i, c.Title, c.Role, c.Desc, c.Table, c.Width, c.Height)
		}
	}
	if len(got.Colours) < 10 {
		t.Errorf("only %d kinds of text found for the contrast check", len(got.Colours))
	}
	for _, c := range got.Colours {
		if ratio := contrast(t, c.Fg, c.Bg); ratio < 4.5 {
			t.Errorf("%s: %s on %s has a contrast of %.2f, below WCAG's 4.5", c.Selector, c.Fg, c.Bg, ratio)
		}
	}
	if !strings.Contains(got.Footer, "Contains public sector information licensed under the Open Government Licence v3.0") ||
		!strings.Contains(got.Footer, `"Schools, pupils and their characteristics"`) {
		t.Errorf("footer lacks the attribution: %q", got.Footer)
	}
	if got.Overflow {
		t.Error("the page is wider than the window")
	}
	return got
}

// checkHeadline compares the headline with the coverage figures.
func checkHeadline(t *testing.T, got map[string]string, want mhstv1alpha1.AreaCoverage, target int32) {
	t.Helper()
	checkFigures(t, "headline", got, want, target)
	met := "not met"
	if coverage.TargetMet(want.PupilsCovered, want.Pupils, target) {
		met = "met"
	}
	if got["target-met"] != met || got["target"] != fmt.Sprintf("%d%%", target) {
		t.Errorf("headline target %s %s, want %d%% %s", got["target"], got["target-met"], target, met)
	}
}

// checkFigures compares the data-figure values of a headline or a table
// row with status.coverage.
func checkFigures(t *testing.T, what string, got map[string]string, want mhstv1alpha1.AreaCoverage, target int32) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: not on the page", what)
		return
	}
	for name, value := range map[string]int64{
		"settings": want.Settings, "settings-covered": want.SettingsCovered,
		"pupils": want.Pupils, "pupils-covered": want.PupilsCovered,
		"disadvantaged-pupils": want.DisadvantagedPupils, "disadvantaged-pupils-covered": want.DisadvantagedPupilsCovered,
	} {
		if got[name] != number(value) {
			t.Errorf("%s %s: page %q, status %d", what, name, got[name], value)
		}
	}
	percent := coverage.Percent(want.PupilsCovered, want.Pupils)
	if want.PupilsCoveredPercent != "" {
		percent = want.PupilsCoveredPercent
	}
	if p := strings.TrimSuffix(got["pupils-covered-percent"], "%"); p != percent {
		t.Errorf("%s pupils covered: page %s%%, status %s%%", what, p, percent)
	}
	if d := strings.TrimSuffix(got["disadvantaged-pupils-covered-percent"], "%"); d != coverage.Percent(want.DisadvantagedPupilsCovered, want.DisadvantagedPupils) {
		t.Errorf("%s disadvantaged covered: page %s", what, d)
	}
	if tgt, ok := got["target"]; ok && strings.TrimSuffix(tgt, "%") != strconv.Itoa(int(target)) {
		t.Errorf("%s target: page %s, want %d", what, tgt, target)
	}
}

// sums adds the areas' status.coverage, as England's figures.
func sums(areas []mhstv1alpha1.LocalArea) mhstv1alpha1.AreaCoverage {
	var s mhstv1alpha1.AreaCoverage
	for _, a := range areas {
		if c := a.Status.Coverage; c != nil {
			s.Settings += c.Settings
			s.SettingsCovered += c.SettingsCovered
			s.Pupils += c.Pupils
			s.PupilsCovered += c.PupilsCovered
			s.DisadvantagedPupils += c.DisadvantagedPupils
			s.DisadvantagedPupilsCovered += c.DisadvantagedPupilsCovered
		}
	}
	return s
}

// number is a count as the page writes it, with thousands separators,
// worked out here independently of the page's own formatting.
func number(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

var rgbRE = regexp.MustCompile(`^rgba?\((\d+), (\d+), (\d+)`)

// contrast is WCAG 2.1's contrast ratio of two CSS rgb() colours.
func contrast(t *testing.T, fg, bg string) float64 {
	t.Helper()
	luminance := func(css string) float64 {
		m := rgbRE.FindStringSubmatch(css)
		if m == nil {
			t.Fatalf("colour %q is not rgb()", css)
		}
		var l [3]float64
		for i := range l {
			v, _ := strconv.ParseFloat(m[i+1], 64)
			v /= 255
			if v <= 0.04045 {
				l[i] = v / 12.92
			} else {
				l[i] = math.Pow((v+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
	}
	a, b := luminance(fg), luminance(bg)
	return (max(a, b) + 0.05) / (min(a, b) + 0.05)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
