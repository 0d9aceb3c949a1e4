package v1alpha1

// Condition types. Every kind carries Ready; Reconciling and Stalled follow
// kstatus so that Flux and Argo CD can gate one rollout wave on another.
const (
	// ConditionReady is True when the object is fully reconciled and serving.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the operator is still working
	// towards the desired state (kstatus "abnormal-true" condition).
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the spec cannot be satisfied until a
	// person acts (kstatus "abnormal-true" condition).
	ConditionStalled = "Stalled"

	// ConditionGovernanceReady (LocalArea) is True when the governance board
	// involves both health and education.
	ConditionGovernanceReady = "GovernanceReady"

	// ConditionServiceAvailable (SupportTeam) mirrors the Available condition
	// of the team's Deployment.
	ConditionServiceAvailable = "ServiceAvailable"
	// ConditionWithinCapacity (SupportTeam) is False when the team has been
	// allocated more settings or pupils than its capacity.
	ConditionWithinCapacity = "WithinCapacity"

	// ConditionOnTrack (LocalArea) says whether the area can reach its
	// current target: True when it is met (TargetMet) or when its teams'
	// spare capacity covers the shortfall (CapacityAvailable: allocate more
	// settings); False when it needs more teams (TeamsShort).
	ConditionOnTrack = "OnTrack"
	// ConditionOperational (SupportTeam) is False with reason InTraining
	// before spec.operationalFrom, True after it (or without it).
	ConditionOperational = "Operational"
	// ConditionAgreed (SchoolCoverage) is True when the allocation records the
	// governance board's agreement.
	ConditionAgreed = "Agreed"
	// ConditionConflicted (SchoolCoverage) is True when a setting it lists is
	// claimed by an older allocation of another team in the same area.
	ConditionConflicted = "Conflicted"
)

// Condition reasons. CamelCase nouns a user can search for.
const (
	ReasonProgressing       = "Progressing"
	ReasonReconciled        = "Reconciled"
	ReasonScheduled         = "Scheduled"
	ReasonSuspended         = "Suspended"
	ReasonTerminating       = "Terminating"
	ReasonNamespaceConflict = "NamespaceConflict"
	ReasonApplyFailed       = "ApplyFailed"
	ReasonBoardComplete     = "BoardComplete"
	ReasonMissingHealth     = "MissingHealthRepresentation"
	ReasonMissingEducation  = "MissingEducationRepresentation"
	ReasonNoLocalArea       = "NoLocalArea"
	ReasonAreaNotActive     = "AreaNotActive"
	ReasonNoPractitioners   = "NoPractitionersInPost"
	ReasonBlueprintRejected = "BlueprintRejected"
	// ReasonOwnershipConflict (SupportTeam, LocalArea): an object the
	// team's render or the area's tenant needs exists and was not made by
	// the operator for this team or area; nothing is written to it until it
	// is renamed or deleted.
	ReasonOwnershipConflict   = "OwnershipConflict"
	ReasonBlueprintInvalid    = "BlueprintInvalid"
	ReasonBlueprintNotFound   = "BlueprintNotFound"
	ReasonDeploymentAvailable = "DeploymentAvailable"
	ReasonDeploymentPending   = "DeploymentUnavailable"
	ReasonScaledToZero        = "ScaledToZero"
	ReasonWithinCapacity      = "WithinCapacity"
	ReasonOverCapacity        = "OverCapacity"
	ReasonAgreementRecorded   = "AgreementRecorded"
	ReasonAwaitingAgreement   = "AwaitingAgreement"
	ReasonTeamNotFound        = "TeamNotFound"
	ReasonTeamSuspended       = "TeamSuspended"
	ReasonNoConflicts         = "NoConflicts"
	ReasonSettingsClaimed     = "SettingsClaimedElsewhere"
	ReasonUnallocated         = "Unallocated"
	ReasonCovered             = "Covered"
	// OnTrack (LocalArea).
	ReasonTargetMet         = "TargetMet"
	ReasonCapacityAvailable = "CapacityAvailable"
	ReasonTeamsShort        = "TeamsShort"
	// Operational (SupportTeam).
	ReasonOperational = "Operational"
	ReasonInTraining  = "InTraining"
	// ReasonRenderFailed (SupportTeam): the team's service could not be
	// rendered for a reason that is not the blueprint's, such as a team or
	// area name too long to be a label value.
	ReasonRenderFailed = "RenderFailed"
	// ReasonNotDeployed (SupportTeam ServiceAvailable): no service has been
	// deployed for the team yet.
	ReasonNotDeployed = "NotDeployed"
	// ReasonTaken (CoverageSnapshot Ready): the snapshot recorded the
	// coverage at status.takenAt.
	ReasonTaken = "Taken"
	// ReasonAreaNotFound (CoverageSnapshot): spec.area names no LocalArea.
	ReasonAreaNotFound = "AreaNotFound"
	// ReasonSnapshotTooLarge (CoverageSnapshot): the record would not fit
	// in one object.
	ReasonSnapshotTooLarge = "SnapshotTooLarge"
	// ReasonDriftCorrected is the reason of the Event emitted when the
	// operator restores an object of a team's service deleted by someone else.
	ReasonDriftCorrected = "DriftCorrected"
)

// Labels and annotations the operator sets on what it manages.
const (
	// LabelArea names the LocalArea that owns a namespace or object.
	LabelArea = "mhst.io/area"
	// LabelWave is the rollout wave of the area.
	LabelWave = "mhst.io/wave"
	// LabelTeam names the SupportTeam an object belongs to.
	LabelTeam = "mhst.io/team"
	// LabelManagedBy marks objects the operator applied.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy.
	ManagedByValue = "mhst-operator"
	// AnnotationCreatedBy marks a namespace the operator created itself, the
	// only kind of namespace it will ever delete.
	AnnotationCreatedBy = "mhst.io/created-by"
)

// ConfigMaps the operator reads carry LabelConfigMap, so that its cache holds
// only those and not every ConfigMap of the cluster.
const (
	// LabelConfigMap marks a ConfigMap the operator reads or writes.
	LabelConfigMap = "mhst.io/configmap"
	// ConfigMapBlueprint is the value of LabelConfigMap on a kustomize base
	// that SupportTeams render their service from. Set by whoever writes
	// the blueprint.
	ConfigMapBlueprint = "blueprint"
	// ConfigMapTeamConfiguration labels a team's generated configuration.
	ConfigMapTeamConfiguration = "team-configuration"
	// ConfigMapCoverageReport labels an area's or the nation's coverage report.
	ConfigMapCoverageReport = "coverage-report"
	// ConfigMapGovernance labels the parameter of the admission policy
	// mhst-board-agreement in an area's namespace (GovernanceConfigMapName).
	ConfigMapGovernance = "governance"
)

// The parameter of the admission policy mhst-board-agreement: who is on an
// area's board and who leads it, kept current by the operator from
// spec.governance in every area's namespace. Each key holds one name a
// line.
const (
	// GovernanceConfigMapName is the ConfigMap's name.
	GovernanceConfigMapName = "mhst-governance"
	// GovernanceKeyArea holds the LocalArea's name.
	GovernanceKeyArea = "area"
	// GovernanceKeyBoardUsers and GovernanceKeyBoardGroups hold the board's
	// Users and Groups.
	GovernanceKeyBoardUsers  = "boardUsers"
	GovernanceKeyBoardGroups = "boardGroups"
	// GovernanceKeyLeadUsers and GovernanceKeyLeadGroups hold the leads'.
	GovernanceKeyLeadUsers  = "leadUsers"
	GovernanceKeyLeadGroups = "leadGroups"
)

// AnnotationAgreementChangedBy names whoever last set, changed or removed a
// SchoolCoverage's spec.agreement. The admission policy
// mhst-board-agreement makes anyone but a trusted applier write their own
// user name there in the same request; the operator's AgreementRecorded and
// AgreementWithdrawn Events quote it.
const AnnotationAgreementChangedBy = "mhst.io/agreement-changed-by"
