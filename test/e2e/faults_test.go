//go:build e2e

package e2e

import (
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/rollout"
	"github.com/mhst-io/mhst-operator/internal/rollout/converge"
	"github.com/mhst-io/mhst-operator/internal/rollout/operatorproc"
)

// TestOperatorKilledMidRollout kills the operator with SIGKILL while it is
// provisioning a rollout; a new process must converge to the same state as
// an undisturbed run, with no duplicate and no orphaned object.
func TestOperatorKilledMidRollout(t *testing.T) {
	e := newEnv(t)
	areas := smallAreas(t, 8)
	first := e.startOperator("operator-1")

	applied := make(chan error, 1)
	go func() { applied <- converge.Apply(e.ctx, e.client, converge.Objects(areas), 16) }()
	e.waitFor("the operator to provision some areas", 2*time.Minute, func() bool {
		return e.areaNamespacesMade(areas) >= 3
	})
	writes := e.metrics(first).Writes()
	if err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the operator after %d writes, with %d of %d namespaces made", writes, e.areaNamespacesMade(areas), len(areas))

	e.startOperator("operator-2")
	if err := <-applied; err != nil {
		t.Fatalf("apply: %v", err)
	}
	took := e.waitConverged(converge.Expect(areas, true))
	t.Logf("the restarted operator converged %s after the rollout was applied", took)
	e.checkIntegrity(areas)
}

// TestAPIServerRestartMidRollout restarts kube-apiserver while the operator
// is provisioning; the operator must recover by itself, without a restart
// of its own.
func TestAPIServerRestartMidRollout(t *testing.T) {
	e := newEnv(t)
	areas := smallAreas(t, 6)
	op := e.startOperator("operator")
	pid := op.Pid()

	localAreas := make([]client.Object, 0, len(areas))
	for i := range areas {
		localAreas = append(localAreas, &areas[i].LocalArea)
	}
	if err := converge.Apply(e.ctx, e.client, localAreas, 16); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the operator to provision an area", time.Minute, func() bool { return e.areaNamespacesMade(areas) >= 1 })
	if err := e.cluster.RestartAPIServer(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted kube-apiserver with %d of %d namespaces made", e.areaNamespacesMade(areas), len(areas))

	e.apply(areas)
	took := e.waitConverged(converge.Expect(areas, true))
	if !op.Running() || op.Pid() != pid {
		t.Fatalf("the operator (pid %d) did not survive the API server's restart", pid)
	}
	t.Logf("converged %s after the rest of the rollout was applied; the operator kept pid %d", took, pid)
	e.checkIntegrity(areas)
}

// leading reports whether an operator holds the leader lease, from its own
// leader_election_master_status gauge.
func (e *env) leading(op *operatorproc.Process) bool {
	m, err := op.Metrics(e.ctx)
	return err == nil && m.Sum("leader_election_master_status", nil) == 1
}

// TestLeaderElection runs two replicas with leader election: only the
// leader writes, and when it is killed the other takes over and serves a
// change made after the kill.
func TestLeaderElection(t *testing.T) {
	e := newEnv(t)
	areas := smallAreas(t, 4)
	args := []string{"--leader-elect", "--leader-election-namespace=" + operatorNamespace}
	replicas := []*operatorproc.Process{e.startOperator("replica-a", args...), e.startOperator("replica-b", args...)}

	var leader, follower *operatorproc.Process
	e.waitFor("a leader", time.Minute, func() bool {
		a, b := e.leading(replicas[0]), e.leading(replicas[1])
		switch {
		case a && !b:
			leader, follower = replicas[0], replicas[1]
		case b && !a:
			leader, follower = replicas[1], replicas[0]
		}
		return leader != nil
	})
	e.apply(areas)
	e.waitConverged(converge.Expect(areas, true))
	if writes := e.metrics(follower).Writes(); writes != 0 {
		t.Errorf("the follower wrote %d times while the leader was alive", writes)
	}
	if e.leading(follower) {
		t.Error("both replicas lead")
	}
	t.Logf("leader wrote %d times, follower %d", e.metrics(leader).Writes(), e.metrics(follower).Writes())

	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// A change the old leader never saw: withdraw one agreement.
	area := areas[0]
	changed := withdrawAgreement(area, 0)
	if err := converge.Apply(e.ctx, e.client, []client.Object{&changed.Coverages[0]}, 1); err != nil {
		t.Fatal(err)
	}
	e.waitConverged(converge.Expect([]rollout.Area{changed}, true))
	if !e.leading(follower) {
		t.Error("the surviving replica does not report itself leader")
	}
	if writes := e.metrics(follower).Writes(); writes == 0 {
		t.Error("the new leader converged the change without writing")
	}
	t.Logf("the follower took over and served the change %s after the leader was killed", time.Since(killed).Round(time.Millisecond))
}

// withdrawAgreement is area with the agreement of its i-th allocation
// withdrawn, and the coverage it must then report.
func withdrawAgreement(area rollout.Area, i int) rollout.Area {
	changed := area
	changed.Coverages = append([]mhstv1alpha1.SchoolCoverage(nil), area.Coverages...)
	changed.Coverages[i] = *area.Coverages[i].DeepCopy()
	changed.Coverages[i].Spec.Agreement = nil
	changed.Expected = rollout.ExpectedCoverage(changed.Coverages, *area.LocalArea.Spec.CoverageTarget)
	return changed
}
