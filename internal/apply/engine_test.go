package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/mhst-io/mhst-operator/internal/localcluster"
)

// The tests of this file run Engine against a real kube-apiserver (etcd and
// kube-apiserver, no controller), started once for the package when the
// first of them needs it: server-side apply, field managers, defaulting and
// delete preconditions are the API server's, so they are tried on one. The
// caller's cache is stood in for by the API server itself (a cache that is
// up to date) or by a snapshot (a cache that lags, or that lacks what the
// operator does not label as its own).

var (
	apiOnce    sync.Once
	apiClient  client.WithWatch
	namespaces atomic.Int64
	apiErr     error
	apiCluster *localcluster.Cluster
)

func TestMain(m *testing.M) {
	code := m.Run()
	if apiCluster != nil {
		if err := apiCluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop control plane:", err)
		}
	}
	os.Exit(code)
}

// apiServer returns a client of the package's API server, starting it the
// first time. A test that needs it fails, rather than skips, without the
// control plane's binaries.
func apiServer(t *testing.T) client.WithWatch {
	t.Helper()
	apiOnce.Do(func() {
		if os.Getenv("KUBEBUILDER_ASSETS") == "" {
			apiErr = errors.New("KUBEBUILDER_ASSETS is not set: run these tests with KUBEBUILDER_ASSETS=$(hack/controlplane.sh), or `make test`")
			return
		}
		if apiCluster, apiErr = localcluster.Start(context.Background(), localcluster.Options{}); apiErr != nil {
			return
		}
		apiClient, apiErr = client.NewWithWatch(apiCluster.Config, client.Options{Scheme: clientgoscheme.Scheme})
	})
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	return apiClient
}

// The field managers of the tests: the engine's, and someone else's.
const (
	manager = "mhst-test"
	someone = "someone"
)

// fixture is an engine writing to the API server, with what it did counted.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	api    client.WithWatch
	engine *Engine
	ns     string
	// writes counts the engine's writes by verb; reads its reads past
	// the cache.
	writes *counts
	reads  atomic.Int64
}

type counts struct {
	mu     sync.Mutex
	byVerb map[string]int
}

func (c *counts) add(verb string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byVerb[verb]++
}

// newFixture makes a namespace of the test's own and an engine over cache
// (nil: the API server itself, a cache that is always up to date).
func newFixture(t *testing.T, cache client.Reader) *fixture {
	t.Helper()
	api := apiServer(t)
	f := &fixture{t: t, ctx: context.Background(), api: api, writes: &counts{byVerb: map[string]int{}}}
	f.ns = fmt.Sprintf("apply-%d", namespaces.Add(1))
	if err := api.Create(f.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}}); err != nil {
		t.Fatalf("create namespace %s: %v", f.ns, err)
	}
	count := func(verb string) { f.writes.add(verb) }
	writer := interceptor.NewClient(api, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			count("create")
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			count("update")
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			count("patch")
			return c.Patch(ctx, obj, patch, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			count("apply")
			return c.Apply(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			count("delete")
			return c.Delete(ctx, obj, opts...)
		},
	})
	if cache == nil {
		cache = api
	}
	f.engine = &Engine{Cache: cache, Live: countingReader{api, &f.reads}, Writer: writer, Scheme: clientgoscheme.Scheme, FieldManager: manager}
	return f
}

// countingReader counts the reads past the cache.
type countingReader struct {
	client.Reader
	n *atomic.Int64
}

func (r countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	r.n.Add(1)
	return r.Reader.Get(ctx, key, obj, opts...)
}

// snapshot is a cache that serves the objects it was given, as they were:
// an informer that has not caught up, or one that does not select what
// someone else made.
type snapshot struct {
	objects map[string]client.Object
}

func newSnapshot(objs ...client.Object) *snapshot {
	s := &snapshot{objects: map[string]client.Object{}}
	for _, obj := range objs {
		s.objects[snapshotKey(obj, client.ObjectKeyFromObject(obj))] = obj.DeepCopyObject().(client.Object)
	}
	return s
}

func snapshotKey(obj client.Object, key client.ObjectKey) string {
	return fmt.Sprintf("%T %s", obj, key)
}

func (s *snapshot) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	stored, ok := s.objects[snapshotKey(obj, key)]
	if !ok {
		return apierrors.NewNotFound(corev1.Resource("object"), key.Name)
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(stored.DeepCopyObject()).Elem())
	return nil
}

func (s *snapshot) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("the snapshot cache does not list")
}

// desiredConfigMap is a ConfigMap as the operator wants it.
func (f *fixture) desiredConfigMap(name string, data map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": f.ns, "labels": map[string]any{"app.kubernetes.io/managed-by": "mhst-test"}},
		"data":     data,
	}}
}

func (f *fixture) apply(obj Object) Outcome {
	f.t.Helper()
	out, err := f.engine.Apply(f.ctx, obj)
	if err != nil {
		f.t.Fatalf("Apply: %v", err)
	}
	return out
}

func (f *fixture) get(name string) *corev1.ConfigMap {
	f.t.Helper()
	var cm corev1.ConfigMap
	if err := f.api.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, &cm); err != nil {
		f.t.Fatalf("get ConfigMap %s: %v", name, err)
	}
	return &cm
}

// change changes the live ConfigMap as someone else would (kubectl edit).
func (f *fixture) change(name string, edit func(*corev1.ConfigMap)) *corev1.ConfigMap {
	f.t.Helper()
	cm := f.get(name)
	edit(cm)
	if err := f.api.Update(f.ctx, cm, client.FieldOwner(someone)); err != nil {
		f.t.Fatalf("update ConfigMap %s as %s: %v", name, someone, err)
	}
	return cm
}

// expectWrites checks the engine's writes since the last check.
func (f *fixture) expectWrites(what string, want map[string]int) {
	f.t.Helper()
	f.writes.mu.Lock()
	got := f.writes.byVerb
	f.writes.byVerb = map[string]int{}
	f.writes.mu.Unlock()
	for verb, n := range got {
		if n == 0 {
			delete(got, verb)
		}
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		f.t.Errorf("%s: writes %v, want %v", what, got, want)
	}
}

// operations lists a field manager's operations on obj.
func operations(obj client.Object, mgr string) []metav1.ManagedFieldsOperationType {
	var ops []metav1.ManagedFieldsOperationType
	for _, m := range obj.GetManagedFields() {
		if m.Manager == mgr {
			ops = append(ops, m.Operation)
		}
	}
	return ops
}

// Apply creates what does not exist, with the caller's field manager, and
// reads past the cache first unless the caller says the object is fresh.
func TestApplyCreatesWhatIsMissing(t *testing.T) {
	f := newFixture(t, newSnapshot())
	out := f.apply(Object{Desired: f.desiredConfigMap("created", map[string]any{"a": "1"})})
	if !out.Wrote || out.Existed || out.Drift {
		t.Errorf("outcome = %+v, want a write that created the object, not drift", out)
	}
	f.expectWrites("create", map[string]int{"apply": 1})
	if got := f.reads.Load(); got != 1 {
		t.Errorf("reads past the cache = %d, want 1 (what the cache lacks is looked for first)", got)
	}
	cm := f.get("created")
	if cm.Data["a"] != "1" || cm.Labels["app.kubernetes.io/managed-by"] != "mhst-test" {
		t.Errorf("created %v %v", cm.Labels, cm.Data)
	}
	if ops := operations(cm, manager); !reflect.DeepEqual(ops, []metav1.ManagedFieldsOperationType{metav1.ManagedFieldsOperationApply}) {
		t.Errorf("operations of %s = %v, want one Apply", manager, ops)
	}

	f.reads.Store(0)
	out = f.apply(Object{Desired: f.desiredConfigMap("fresh", map[string]any{"a": "1"}), Fresh: true})
	if !out.Wrote || out.Existed {
		t.Errorf("fresh outcome = %+v, want a write that created the object", out)
	}
	f.expectWrites("create fresh", map[string]int{"apply": 1})
	if got := f.reads.Load(); got != 0 {
		t.Errorf("reads past the cache = %d, want none for a fresh object", got)
	}
}

// A converged object costs no write, and, when the cache holds it, no read
// either; a cache that lags costs one read and still no write.
func TestApplyWritesNothingWhenConverged(t *testing.T) {
	f := newFixture(t, nil)
	desired := f.desiredConfigMap("converged", map[string]any{"a": "1"})
	f.apply(Object{Desired: desired.DeepCopy()})
	f.expectWrites("create", map[string]int{"apply": 1})
	f.reads.Store(0)

	for _, whole := range []bool{false, true} {
		for range 3 {
			if out := f.apply(Object{Desired: desired.DeepCopy(), Whole: whole, Settled: true}); out.Wrote || out.Drift {
				t.Errorf("whole=%v: outcome %+v, want nothing written", whole, out)
			}
		}
	}
	f.expectWrites("converged", nil)
	if got := f.reads.Load(); got != 0 {
		t.Errorf("reads past the cache = %d, want none: the cache holds the object", got)
	}

	// A cache that has not yet seen the write: one read, which shows that
	// only the cache was behind.
	lagging := *f.engine
	lagging.Cache = newSnapshot()
	out, err := lagging.Apply(f.ctx, Object{Desired: desired.DeepCopy()})
	if err != nil || out.Wrote {
		t.Errorf("lagging cache: outcome %+v, %v, want nothing written", out, err)
	}
	f.expectWrites("lagging cache", nil)
	if got := f.reads.Load(); got != 1 {
		t.Errorf("reads past a lagging cache = %d, want 1", got)
	}
}

// A field the operator sets, changed or removed by someone, is put back,
// and a deleted object made again; the outcome says it was drift only when
// the caller's desired state is settled.
func TestApplyRestoresDrift(t *testing.T) {
	f := newFixture(t, nil)
	desired := f.desiredConfigMap("drifting", map[string]any{"a": "1", "b": "2"})
	f.apply(Object{Desired: desired.DeepCopy()})
	f.expectWrites("create", map[string]int{"apply": 1})

	f.change("drifting", func(cm *corev1.ConfigMap) { cm.Data["a"] = "changed by hand" })
	out := f.apply(Object{Desired: desired.DeepCopy(), Settled: true})
	if !out.Wrote || !out.Existed || !out.Drift {
		t.Errorf("outcome %+v, want a settled object that was changed, restored: drift", out)
	}
	f.expectWrites("restore a changed value", map[string]int{"apply": 1})
	if got := f.get("drifting").Data["a"]; got != "1" {
		t.Errorf("data.a = %q, want it restored", got)
	}

	f.change("drifting", func(cm *corev1.ConfigMap) { delete(cm.Data, "b") })
	if out := f.apply(Object{Desired: desired.DeepCopy()}); !out.Wrote || out.Drift {
		t.Errorf("outcome %+v, want a write, not drift: the desired state is not settled", out)
	}
	f.expectWrites("restore a removed key", map[string]int{"apply": 1})
	if got := f.get("drifting").Data["b"]; got != "2" {
		t.Errorf("data.b = %q, want it restored", got)
	}

	if err := f.api.Delete(f.ctx, f.get("drifting")); err != nil {
		t.Fatal(err)
	}
	out = f.apply(Object{Desired: desired.DeepCopy(), Settled: true})
	if !out.Wrote || out.Existed || !out.Drift {
		t.Errorf("outcome %+v, want a settled object that was deleted, made again: drift", out)
	}
	f.expectWrites("make a deleted object again", map[string]int{"apply": 1})
	f.get("drifting")
}

// The drift rule: labels and fields someone else adds are theirs, and left
// alone, unless the caller owns the object whole; then the object is
// replaced, under a field manager of its own, so that update and apply
// entries are never mixed under the caller's.
func TestApplyLeavesAloneWhatOthersAdd(t *testing.T) {
	f := newFixture(t, nil)
	desired := f.desiredConfigMap("shared", map[string]any{"a": "1"})
	f.apply(Object{Desired: desired.DeepCopy()})
	f.expectWrites("create", map[string]int{"apply": 1})

	f.change("shared", func(cm *corev1.ConfigMap) {
		cm.Labels["someone/label"] = "theirs"
		cm.Data["theirs"] = "x"
	})
	if out := f.apply(Object{Desired: desired.DeepCopy(), Settled: true}); out.Wrote {
		t.Errorf("outcome %+v, want nothing written: what someone added is theirs", out)
	}
	f.expectWrites("fields others add", nil)
	cm := f.get("shared")
	if cm.Labels["someone/label"] != "theirs" || cm.Data["theirs"] != "x" || cm.Data["a"] != "1" {
		t.Errorf("after apply: labels %v, data %v, want someone's label and key kept", cm.Labels, cm.Data)
	}

	out := f.apply(Object{Desired: desired.DeepCopy(), Whole: true, Settled: true})
	if !out.Wrote || !out.Drift {
		t.Errorf("whole: outcome %+v, want the object replaced, as drift", out)
	}
	f.expectWrites("whole", map[string]int{"update": 1})
	cm = f.get("shared")
	if _, ok := cm.Data["theirs"]; ok || cm.Data["a"] != "1" {
		t.Errorf("whole: data %v, want only the caller's", cm.Data)
	}
	if cm.Labels["someone/label"] != "theirs" {
		t.Errorf("whole: labels %v, want someone's label kept (metadata is not replaced)", cm.Labels)
	}
	if ops := operations(cm, manager); slices.Contains(ops, metav1.ManagedFieldsOperationUpdate) {
		t.Errorf("operations of %s = %v: an update mixed with apply under one manager", manager, ops)
	}
	// The update only removed fields, so it owns none: the -whole
	// manager has no entry, or update entries only.
	for _, op := range operations(cm, manager+"-whole") {
		if op != metav1.ManagedFieldsOperationUpdate {
			t.Errorf("operations of %s-whole = %v, want updates only", manager, operations(cm, manager+"-whole"))
		}
	}
	if out := f.apply(Object{Desired: desired.DeepCopy(), Whole: true, Settled: true}); out.Wrote {
		t.Errorf("whole, again: outcome %+v, want nothing written", out)
	}
	f.expectWrites("whole, again", nil)
}

// errNotMine is what the tests' Mine check returns.
var errNotMine = errors.New("not the caller's")

// mineWhenLabelled accepts only objects carrying the caller's label.
func mineWhenLabelled(existing client.Object) error {
	if existing.GetLabels()["app.kubernetes.io/managed-by"] != "mhst-test" {
		return fmt.Errorf("%s: %w", existing.GetName(), errNotMine)
	}
	return nil
}

// An existing object the caller's Mine check refuses is never written to,
// whether the cache holds it or only a read past the cache finds it.
func TestApplyRefusesWhatIsNotTheCallers(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cache func(f *fixture) client.Reader
	}{
		{"found in the cache", func(f *fixture) client.Reader { return f.api }},
		{"found past the cache", func(*fixture) client.Reader { return newSnapshot() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.engine.Cache = tt.cache(f)
			foreign := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "foreign", Labels: map[string]string{"team": "tools"}},
				Data:       map[string]string{"a": "theirs"},
			}
			if err := f.api.Create(f.ctx, foreign, client.FieldOwner(someone)); err != nil {
				t.Fatal(err)
			}
			for _, whole := range []bool{false, true} {
				_, err := f.engine.Apply(f.ctx, Object{Desired: f.desiredConfigMap("foreign", map[string]any{"a": "1"}), Whole: whole, Mine: mineWhenLabelled})
				if !errors.Is(err, errNotMine) {
					t.Errorf("whole=%v: Apply = %v, want the Mine check's error", whole, err)
				}
			}
			f.expectWrites("foreign", nil)
			live := f.get("foreign")
			if live.ResourceVersion != foreign.ResourceVersion || live.Data["a"] != "theirs" || !reflect.DeepEqual(live.Labels, foreign.Labels) {
				t.Errorf("foreign object changed: %v %v (resourceVersion %s, was %s)", live.Labels, live.Data, live.ResourceVersion, foreign.ResourceVersion)
			}
			if ops := operations(live, manager); len(ops) != 0 {
				t.Errorf("the caller's manager has fields of the foreign object: %v", ops)
			}
		})
	}
}

// Prune deletes only what the cache holds and the caller's Mine accepts,
// and never an object that replaced the one it meant.
func TestPrune(t *testing.T) {
	f := newFixture(t, nil)
	desired := f.desiredConfigMap("pruned", map[string]any{"a": "1"})
	f.apply(Object{Desired: desired.DeepCopy()})
	f.expectWrites("create", map[string]int{"apply": 1})
	mine := func(existing client.Object) bool { return mineWhenLabelled(existing) == nil }
	target := func(name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}}
	}

	// Nothing the cache lacks, nothing Mine refuses.
	if deleted, err := f.engine.Prune(f.ctx, target("absent"), mine); deleted || err != nil {
		t.Errorf("absent: Prune = %v, %v, want nothing deleted", deleted, err)
	}
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "foreign"}, Data: map[string]string{"a": "theirs"}}
	if err := f.api.Create(f.ctx, foreign); err != nil {
		t.Fatal(err)
	}
	if deleted, err := f.engine.Prune(f.ctx, target("foreign"), mine); deleted || err != nil {
		t.Errorf("foreign: Prune = %v, %v, want nothing deleted", deleted, err)
	}
	f.expectWrites("absent and foreign", nil)
	f.get("foreign")

	// The cache still shows the object the caller made, which someone has
	// since deleted and made again under the same name: the UID
	// precondition keeps the new one.
	old := f.get("pruned")
	if err := f.api.Delete(f.ctx, old); err != nil {
		t.Fatal(err)
	}
	recreated := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "pruned", Labels: map[string]string{"app.kubernetes.io/managed-by": "mhst-test"}},
		Data:       map[string]string{"a": "new"},
	}
	if err := f.api.Create(f.ctx, recreated); err != nil {
		t.Fatal(err)
	}
	stale := *f.engine
	stale.Cache = newSnapshot(old)
	if deleted, err := stale.Prune(f.ctx, target("pruned"), mine); deleted || err != nil {
		t.Errorf("recreated: Prune = %v, %v, want nothing deleted", deleted, err)
	}
	// One delete was sent, and refused by its precondition.
	f.expectWrites("recreated", map[string]int{"delete": 1})
	if live := f.get("pruned"); live.UID != recreated.UID {
		t.Errorf("the object that replaced the pruned one is gone")
	}

	// What the cache holds and Mine accepts is deleted.
	if deleted, err := f.engine.Prune(f.ctx, target("pruned"), mine); !deleted || err != nil {
		t.Errorf("Prune = %v, %v, want it deleted", deleted, err)
	}
	f.expectWrites("prune", map[string]int{"delete": 1})
	if err := f.api.Get(f.ctx, client.ObjectKeyFromObject(recreated), &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("after Prune: %v, want it gone", err)
	}
}
