// Command kubectl-mhst is a kubectl plugin for the Mental Health Support Team
// rollout: `kubectl mhst import` turns the DfE register of schools into the
// manifests that onboard a local area, `kubectl mhst coverage` prints the
// national coverage from the cluster's LocalAreas, `kubectl mhst report`
// writes it as an HTML page for a board or an audit, `kubectl mhst gaps`
// lists the settings no agreed team allocation covers, `kubectl mhst agree`
// and `kubectl mhst withdraw` record a governance board's decisions, and
// `kubectl mhst history` and `kubectl mhst diff` read the coverage
// snapshots.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
)

// version is stamped at build time with
// -ldflags "-X main.version=v0.1.0".
var version = "dev"

const usage = `kubectl mhst: onboard local areas to the Mental Health Support Team rollout
and report its coverage.

Commands:
  import    Build the manifests of local areas from the DfE register of schools:
            one LocalArea per local authority and SchoolCoverages without a team
            listing every state-funded school, so the area's coverage counts every
            pupil. Writes YAML to stdout, or one file per area with --out.
  coverage  Print the national coverage from the cluster's LocalAreas: England,
            by wave and by region (and by area with --areas).
  gaps      List the settings no agreed team allocation covers, most
            disadvantaged pupils first.
  report    Write the coverage report as one HTML page for a board meeting or
            an audit: England, or one area with --area.
  agree     Record the governance board's agreement on an allocation, as a
            member of the board.
  withdraw  Withdraw the board's agreement on an allocation.
  history   List the CoverageSnapshots with their figures, and check each
            against its digest.
  diff      Compare two CoverageSnapshots: the settings that became or stopped
            being covered, and the change of every figure.
  version   Print the plugin's version.

Run 'kubectl mhst <command> -h' for a command's flags.
`

// errUsage marks an error in the command line; the exit status is 2.
var errUsage = errors.New("usage error")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line and returns the exit status: 0 on success, 1 when
// the command failed, 2 when the command line is wrong.
func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		note(stderr, "error: %v\n", err)
		return 2
	default:
		note(stderr, "error: %v\n", err)
		return 1
	}
}

// dispatch runs the subcommand args name.
func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		note(stderr, "%s", usage)
		return fmt.Errorf("%w: a command is required", errUsage)
	}
	switch args[0] {
	case "import":
		return runImport(args[1:], stdout, stderr)
	case "coverage":
		return runCoverage(args[1:], stdout, stderr)
	case "gaps":
		return runGaps(args[1:], stdout, stderr)
	case "report":
		return runReport(args[1:], stdout, stderr)
	case "agree":
		return runAgree(args[1:], stdout, stderr)
	case "withdraw":
		return runWithdraw(args[1:], stdout, stderr)
	case "history":
		return runHistory(args[1:], stdout, stderr)
	case "diff":
		return runDiff(args[1:], stdout, stderr)
	case "version":
		_, err := fmt.Fprintf(stdout, "kubectl-mhst %s (%s)\n", version, runtime.Version())
		return err
	case "-h", "-help", "--help", "help":
		_, err := fmt.Fprint(stdout, usage)
		return err
	default:
		note(stderr, "%s", usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
}

// note writes a message for the person at the terminal. A failure to write
// to stderr cannot be reported anywhere, so it is ignored.
func note(stderr io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(stderr, format, args...)
}

// newFlagSet returns a flag set for a subcommand that reports its own errors
// through the returned error instead of exiting.
func newFlagSet(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kubectl mhst "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		note(fs.Output(), "%s\nFlags:\n", help)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
