// Package security is the attacker suite: on a real API server with the
// configuration the operator ships installed (its RBAC, the area roles and
// the admission policies) and the operator running as its own
// ServiceAccount, each role tries what it must not do. Every attack checks
// that it was refused, with the message that names the rule, and that
// nothing changed; docs/security.md lists the promises they prove.
package security

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/controllers"
	"github.com/mhst-io/mhst-operator/internal/localcluster"
	"github.com/mhst-io/mhst-operator/internal/shipped"
)

// The people of the attacks. York's board has a User and a Group; Leeds is
// another area, with a lead of its own.
const (
	yorkLead        = "lena@york.example"
	yorkBoardUser   = "bob@york-schools.example"
	yorkBoardGroup  = "york-icb"
	yorkGroupMember = "carol@york-icb.example"
	leedsLead       = "leo@leeds.example"
	// namespaceMaker may create and change namespaces, as many platform
	// users can.
	namespaceMaker = "nate@platform.example"
	// blueprintAuthor may write ConfigMaps in York's namespace.
	blueprintAuthor = "bea@york.example"
	yorkNamespace   = "mhst-york"
	leedsNamespace  = "mhst-leeds"
)

var (
	cluster *localcluster.Cluster
	scheme  = runtime.NewScheme()
	admin   client.Client
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run the attacker suite with `make test`, which provides a real control plane")
		return 1
	}
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(mhstv1alpha1.AddToScheme(scheme))
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.Level(zapcore.ErrorLevel)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var err error
	cluster, err = localcluster.Start(ctx, localcluster.Options{
		CRDDirs:           []string{"../../config/crd/bases"},
		ControllerManager: true,
		Controllers:       []string{"garbagecollector", "namespace"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start control plane:", err)
		return 1
	}
	defer func() { _ = cluster.Stop() }()
	if err := shipped.Install(ctx, cluster.Config, "../../config"); err != nil {
		fmt.Fprintln(os.Stderr, "install the shipped configuration:", err)
		return 1
	}
	if admin, err = client.New(cluster.Config, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	stop, err := startOperator(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start operator:", err)
		return 1
	}
	defer stop()
	if err := provision(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "provision the areas:", err)
		return 1
	}
	return m.Run()
}

// startOperator runs the operator's controllers as its ServiceAccount.
func startOperator(ctx context.Context) (func(), error) {
	mgr, err := ctrl.NewManager(shipped.OperatorConfig(cluster.Config), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controllers.CacheOptions(),
	})
	if err != nil {
		return nil, err
	}
	if err := controllers.SetupWithManager(mgr, controllers.Config{
		OperatorNamespace:       shipped.Namespace,
		Tenancy:                 controllers.DefaultTenancy(),
		MaxConcurrentReconciles: 2,
	}); err != nil {
		return nil, err
	}
	mgrCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := mgr.Start(mgrCtx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	})
	return func() { cancel(); wg.Wait() }, nil
}

// provision creates York and Leeds, a team and two allocations in York (one
// agreed by the board, one proposed), and the permissions of the users who
// are neither leads nor board members.
func provision(ctx context.Context) error {
	york := area("york", []mhstv1alpha1.BoardMember{
		{Kind: mhstv1alpha1.SubjectUser, Name: yorkBoardUser, Sector: mhstv1alpha1.SectorEducation},
		{Kind: mhstv1alpha1.SubjectGroup, Name: yorkBoardGroup, Sector: mhstv1alpha1.SectorHealth, Role: mhstv1alpha1.RoleChair},
	}, yorkLead)
	leeds := area("leeds", []mhstv1alpha1.BoardMember{
		{Kind: mhstv1alpha1.SubjectGroup, Name: "leeds-icb", Sector: mhstv1alpha1.SectorHealth},
		{Kind: mhstv1alpha1.SubjectGroup, Name: "leeds-schools", Sector: mhstv1alpha1.SectorEducation},
	}, leedsLead)
	for _, a := range []*mhstv1alpha1.LocalArea{york, leeds} {
		if err := admin.Create(ctx, a); err != nil {
			return err
		}
	}
	for _, name := range []string{"york", "leeds"} {
		if err := waitReady(ctx, name); err != nil {
			return err
		}
	}
	team := &mhstv1alpha1.SupportTeam{
		ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "york-1"},
		Spec: mhstv1alpha1.SupportTeamSpec{
			DisplayName: "York MHST 1",
			Staffing:    mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 6, SeniorClinicians: 2},
			Service:     mhstv1alpha1.TeamService{Image: "registry.example/mhst/service:1.0"},
		},
	}
	agreed := allocation("york-1-2023", "york-1", &mhstv1alpha1.Agreement{DecisionRef: "York board, 5 September 2023, item 3", AgreedAt: "2023-09-05"})
	proposed := allocation("york-1-2024", "york-1", nil)
	proposed.Spec.Settings[0].URN, proposed.Spec.Settings[0].Name = "121277", "Fishergate Primary School"
	for _, obj := range []client.Object{team, agreed, proposed} {
		if err := admin.Create(ctx, obj); err != nil {
			return fmt.Errorf("create %s: %w", obj.GetName(), err)
		}
	}
	return grant(ctx)
}

func area(name string, board []mhstv1alpha1.BoardMember, lead string) *mhstv1alpha1.LocalArea {
	return &mhstv1alpha1.LocalArea{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: mhstv1alpha1.LocalAreaSpec{
			DisplayName:        name,
			LocalAuthorityCode: "E06000014",
			Region:             "Yorkshire and The Humber",
			Wave:               2,
			Governance: mhstv1alpha1.Governance{
				Board: board,
				Leads: []mhstv1alpha1.Subject{{Kind: mhstv1alpha1.SubjectUser, Name: lead}},
			},
		},
	}
}

func allocation(name, team string, agreement *mhstv1alpha1.Agreement) *mhstv1alpha1.SchoolCoverage {
	return &mhstv1alpha1.SchoolCoverage{
		ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: name},
		Spec: mhstv1alpha1.SchoolCoverageSpec{
			TeamRef:   &mhstv1alpha1.TeamReference{Name: team},
			Agreement: agreement,
			Settings: []mhstv1alpha1.Setting{
				{URN: "144711", Name: "Fulford School", Phase: mhstv1alpha1.PhaseSecondary, Pupils: 1650, DisadvantagedPupils: int32Ptr(100)},
			},
		},
	}
}

func int32Ptr(v int32) *int32 { return &v }

// grant gives the users who are not an area's people what the attacks
// assume they hold: the namespace maker may create and change namespaces,
// the blueprint author may write ConfigMaps in York's namespace.
func grant(ctx context.Context) error {
	objs := []client.Object{
		&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "test-namespace-maker"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"},
				Verbs: []string{"get", "list", "create", "update", "patch"}}},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "test-namespace-maker"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "test-namespace-maker"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: namespaceMaker}},
		},
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "test-blueprint-author"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"},
				Verbs: []string{"get", "create", "update", "patch", "delete"}}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: yorkNamespace, Name: "test-blueprint-author"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "test-blueprint-author"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: blueprintAuthor}},
		},
	}
	for _, obj := range objs {
		if err := admin.Create(ctx, obj); err != nil {
			return fmt.Errorf("grant %s: %w", obj.GetName(), err)
		}
	}
	return nil
}

// waitReady waits for a LocalArea to be Ready.
func waitReady(ctx context.Context, name string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var a mhstv1alpha1.LocalArea
		if err := admin.Get(ctx, client.ObjectKey{Name: name}, &a); err == nil &&
			meta.IsStatusConditionTrue(a.Status.Conditions, mhstv1alpha1.ConditionReady) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("LocalArea %s did not become Ready", name)
}

// as returns a client acting as user, in groups.
func as(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("client for %s: %v", user, err)
	}
	return c
}

// operator is a client acting as the operator's ServiceAccount.
func operator(t *testing.T) client.Client {
	t.Helper()
	c, err := client.New(shipped.OperatorConfig(cluster.Config), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// anonymous is a client with no credentials at all.
func anonymous(t *testing.T) client.Client {
	t.Helper()
	cfg := &rest.Config{Host: cluster.Config.Host, TLSClientConfig: rest.TLSClientConfig{CAData: cluster.Config.CAData}}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	eventuallyTimeout = 30 * time.Second
	pollInterval      = 100 * time.Millisecond
)

// eventually is Gomega's Eventually with the suite's short polls.
func eventually(t *testing.T, f any) AsyncAssertion {
	return NewWithT(t).Eventually(f).WithTimeout(eventuallyTimeout).WithPolling(pollInterval)
}
