// Package controllers holds one reconciler per mhst.io kind, the national
// coverage report and the schedule of coverage snapshots. Pure logic (coverage arithmetic, blueprint
// rendering, reports) lives in internal/ packages that the reconcilers call.
package controllers

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/mhst-io/mhst-operator/internal/snapshot"
)

// The server-side apply field managers: one fixed name per controller, so
// that the objects each controller makes are its own (`kubectl get -o yaml
// --show-managed-fields` tells which), a person's edits show up as another
// manager, and two controllers can never fight over one object: the area's
// children and the teams' children cannot share a name (a SupportTeam's
// name cannot begin with mhst-, which every area child's does), and a team
// never writes to an object it does not control.
const (
	LocalAreaFieldManager      = "mhst-localarea"
	SupportTeamFieldManager    = "mhst-supportteam"
	CoverageReportFieldManager = "mhst-coverage-report"
)

// The names the controllers run under. controller-runtime labels its
// metrics with them (controller_runtime_* by controller, workqueue_* by
// name), and the shipped alerts and dashboard select the operator's series
// by ControllerNames; the integration suite checks that list against the
// controllers that really run.
const (
	controllerLocalArea      = "localarea"
	controllerSupportTeam    = "supportteam"
	controllerSchoolCoverage = "schoolcoverage"
	controllerCoverageReport = "coveragereport"
	controllerNationalReport = "nationalreport"
	controllerSnapshot       = "coveragesnapshot"
	controllerSnapshotDates  = "snapshotschedule"
)

// ControllerNames are the names of every controller the operator runs.
var ControllerNames = []string{
	controllerLocalArea, controllerSupportTeam, controllerSchoolCoverage,
	controllerCoverageReport, controllerNationalReport,
	controllerSnapshot, controllerSnapshotDates,
}

// Config is what the operator is told when it starts.
type Config struct {
	// OperatorNamespace is where the operator runs and where it writes the
	// national coverage report.
	OperatorNamespace string
	// Tenancy holds the defaults for every area's namespace.
	Tenancy TenancyDefaults
	// MaxConcurrentReconciles is the number of workers per controller.
	MaxConcurrentReconciles int
	// NationalCoverageTarget is the national target in percent of pupils
	// covered that the national report measures against; 0 means 100, the
	// national ambition.
	NationalCoverageTarget int32
	// AllowedPriorityClasses are the PriorityClasses a team's pods may
	// name (--allowed-priority-classes). Empty allows none: a blueprint
	// naming any priority class is refused.
	AllowedPriorityClasses []string
	// SnapshotDates are the days of the year on which the operator takes
	// a National CoverageSnapshot and one of every active area, at 00:00
	// UTC (--snapshot-dates). Empty takes none on schedule; snapshots
	// created by people are taken either way.
	SnapshotDates []snapshot.Date
	// Clock gives the date that areas' targets and teams' training are
	// measured at; nil is the real clock. Tests set it to move the date.
	Clock clock.PassiveClock
}

// TenancyDefaults are applied to every area unless its spec overrides them.
type TenancyDefaults struct {
	// ResourceQuota is the hard quota of an area's namespace when the
	// LocalArea sets none.
	ResourceQuota corev1.ResourceList
	// LimitRange gives containers that set no resources a default.
	LimitRange corev1.LimitRangeItem
	// RestrictEgress limits the area's pods to talking to their own
	// namespace, the cluster DNS and the destinations of the area's
	// spec.tenancy.allowEgressTo; when false egress is open.
	RestrictEgress bool
}

// SetupWithManager registers the field indexes and every reconciler.
func SetupWithManager(mgr ctrl.Manager, cfg Config) error {
	if err := registerIndexes(mgr); err != nil {
		return fmt.Errorf("register field indexes: %w", err)
	}
	// One computation of each area's coverage per change, for every
	// controller that shows it.
	shared := newAreaCoverage(mgr.GetClient())
	areas := NewLocalAreaReconciler(mgr, cfg.Tenancy, shared)
	areas.Clock = cfg.Clock
	if err := areas.SetupWithManager(mgr, cfg.MaxConcurrentReconciles); err != nil {
		return err
	}
	teams := NewSupportTeamReconciler(mgr, cfg.AllowedPriorityClasses, shared)
	teams.Clock = cfg.Clock
	if err := teams.SetupWithManager(mgr, cfg.MaxConcurrentReconciles); err != nil {
		return fmt.Errorf("set up SupportTeam controller: %w", err)
	}
	schoolCoverages := NewSchoolCoverageReconciler(mgr, shared)
	if err := schoolCoverages.SetupWithManager(mgr, cfg.MaxConcurrentReconciles); err != nil {
		return err
	}
	reports := NewCoverageReportReconciler(mgr, shared)
	reports.Clock = cfg.Clock
	if err := reports.SetupWithManager(mgr, cfg.MaxConcurrentReconciles); err != nil {
		return err
	}
	national := &NationalReportReconciler{Client: mgr.GetClient(), Namespace: cfg.OperatorNamespace, Target: cfg.nationalTarget(), Interval: nationalReportInterval}
	if err := national.SetupWithManager(mgr); err != nil {
		return err
	}
	snapshots := &CoverageSnapshotReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: cfg.Clock, NationalTarget: cfg.nationalTarget(), Coverage: shared}
	if err := snapshots.SetupWithManager(mgr, cfg.MaxConcurrentReconciles); err != nil {
		return err
	}
	if len(cfg.SnapshotDates) > 0 {
		schedule := &SnapshotScheduleReconciler{Client: mgr.GetClient(), Clock: cfg.Clock, Dates: cfg.SnapshotDates}
		if err := schedule.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return nil
}

// DefaultTenancy is the isolation an area gets when neither the operator's
// flags nor the LocalArea say otherwise: room for a handful of teams'
// services, sensible container defaults, and egress restricted to what the
// area allows (the --restrict-egress default).
func DefaultTenancy() TenancyDefaults {
	return TenancyDefaults{
		ResourceQuota: corev1.ResourceList{
			corev1.ResourceRequestsCPU:            resource.MustParse("8"),
			corev1.ResourceRequestsMemory:         resource.MustParse("16Gi"),
			corev1.ResourceLimitsCPU:              resource.MustParse("16"),
			corev1.ResourceLimitsMemory:           resource.MustParse("32Gi"),
			corev1.ResourcePods:                   resource.MustParse("100"),
			corev1.ResourceServices:               resource.MustParse("50"),
			corev1.ResourceConfigMaps:             resource.MustParse("200"),
			corev1.ResourcePersistentVolumeClaims: resource.MustParse("20"),
		},
		LimitRange: corev1.LimitRangeItem{
			Type: corev1.LimitTypeContainer,
			DefaultRequest: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("128Mi"),
			},
			Default: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("500m"),
				corev1.ResourceMemory: resource.MustParse("512Mi"),
			},
		},
		RestrictEgress: true,
	}
}
