package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

const agreeHelp = `Usage: kubectl mhst agree ALLOCATION -n NAMESPACE --decision REF [--date YYYY-MM-DD] [--kubeconfig PATH] [--context NAME]

Record the governance board's agreement on an allocation (a SchoolCoverage),
as a member of the area's board: sets spec.agreement with the decision, its
date (today when --date is not given) and your own user name as agreedBy, and
names you in the annotation mhst.io/agreement-changed-by. The API server
refuses it unless you are on the board of the area (spec.governance.board of
its LocalArea) or a trusted applier, and the operator records an
AgreementRecorded Event on the allocation.
`

const withdrawHelp = `Usage: kubectl mhst withdraw ALLOCATION -n NAMESPACE [--kubeconfig PATH] [--context NAME]

Withdraw the governance board's agreement on an allocation (a SchoolCoverage),
as a member of the area's board: removes spec.agreement and names you in the
annotation mhst.io/agreement-changed-by. The allocation is Proposed again and
its settings no longer count as covered; the operator records an
AgreementWithdrawn Event.
`

// requestTimeout bounds the two requests agree and withdraw make.
const requestTimeout = 30 * time.Second

func runAgree(args []string, stdout, stderr io.Writer) error {
	name, args := allocationName(args)
	fs := newFlagSet("agree", agreeHelp, stderr)
	namespace := fs.String("n", "", "namespace of the allocation (its area's namespace)")
	decision := fs.String("decision", "", "the board's decision: a minute reference or a link to the published minutes")
	date := fs.String("date", "", "date of the decision, YYYY-MM-DD (default: today)")
	kubeconfig, kubeContext := clusterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if name == "" || *namespace == "" || *decision == "" {
		return fmt.Errorf("%w: the allocation's name, -n NAMESPACE and --decision are required", errUsage)
	}
	if *date == "" {
		*date = time.Now().Format(time.DateOnly)
	} else if _, err := time.Parse(time.DateOnly, *date); err != nil {
		return fmt.Errorf("%w: --date %q is not a date YYYY-MM-DD", errUsage, *date)
	}
	return changeAgreement(*kubeconfig, *kubeContext, *namespace, name, stdout, func(user string) ([]byte, error) {
		return agreementPatch(user, &mhstv1alpha1.Agreement{DecisionRef: *decision, AgreedAt: *date, AgreedBy: user})
	}, "recorded the board's agreement on")
}

func runWithdraw(args []string, stdout, stderr io.Writer) error {
	name, args := allocationName(args)
	fs := newFlagSet("withdraw", withdrawHelp, stderr)
	namespace := fs.String("n", "", "namespace of the allocation (its area's namespace)")
	kubeconfig, kubeContext := clusterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if name == "" || *namespace == "" {
		return fmt.Errorf("%w: the allocation's name and -n NAMESPACE are required", errUsage)
	}
	return changeAgreement(*kubeconfig, *kubeContext, *namespace, name, stdout, func(user string) ([]byte, error) {
		return agreementPatch(user, nil)
	}, "withdrew the board's agreement on")
}

// allocationName takes the allocation's name from the front of the
// arguments, where kubectl users write it.
func allocationName(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// agreementPatch is the JSON merge patch that sets (or, with nil, removes)
// the agreement and names who changed it, as the admission policy
// mhst-board-agreement requires.
func agreementPatch(user string, agreement *mhstv1alpha1.Agreement) ([]byte, error) {
	var value any // null removes the field
	if agreement != nil {
		value = agreement
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{mhstv1alpha1.AnnotationAgreementChangedBy: user}},
		"spec":     map[string]any{"agreement": value},
	})
}

// changeAgreement asks the API server who the user is, then patches the
// allocation with the patch made for that user.
func changeAgreement(kubeconfig, kubeContext, namespace, name string, stdout io.Writer, patchFor func(user string) ([]byte, error), done string) error {
	cfg, err := restConfig(kubeconfig, kubeContext)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	user, err := whoAmI(ctx, cfg)
	if err != nil {
		return err
	}
	patch, err := patchFor(user)
	if err != nil {
		return err
	}
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create client for %s: %w", cfg.Host, err)
	}
	result := clientset.RESTClient().Patch(types.MergePatchType).
		AbsPath("/apis", mhstv1alpha1.GroupVersion.Group, mhstv1alpha1.GroupVersion.Version, "namespaces", namespace, "schoolcoverages", name).
		Body(patch).Do(ctx)
	if err := result.Error(); err != nil {
		return fmt.Errorf("SchoolCoverage %s/%s: %w", namespace, name, err)
	}
	_, err = fmt.Fprintf(stdout, "%s %s SchoolCoverage %s/%s\n", user, done, namespace, name)
	return err
}

// whoAmI asks the API server which user the credentials authenticate as
// (kubectl auth whoami).
func whoAmI(ctx context.Context, cfg *rest.Config) (string, error) {
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("create client for %s: %w", cfg.Host, err)
	}
	review, err := clientset.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("ask %s who you are: %w", cfg.Host, err)
	}
	return review.Status.UserInfo.Username, nil
}

// clusterFlags adds --kubeconfig and --context.
func clusterFlags(fs interface {
	String(name, value, usage string) *string
}) (kubeconfig, kubeContext *string) {
	return fs.String("kubeconfig", "", "path to the kubeconfig file"), fs.String("context", "", "the kubeconfig context to use")
}

// restConfig loads the cluster's configuration the way kubectl does.
func restConfig(kubeconfig, kubeContext string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return cfg, nil
}
