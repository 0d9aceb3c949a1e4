package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SubjectKind is the kind of a person or group granted access.
// +kubebuilder:validation:Enum=User;Group
type SubjectKind string

const (
	SubjectUser  SubjectKind = "User"
	SubjectGroup SubjectKind = "Group"
)

// Sector is the part of local public life a governance board member speaks for.
// +kubebuilder:validation:Enum=Health;Education;LocalAuthority;VoluntarySector;YoungPeople;ParentsCarers
type Sector string

const (
	SectorHealth          Sector = "Health"
	SectorEducation       Sector = "Education"
	SectorLocalAuthority  Sector = "LocalAuthority"
	SectorVoluntarySector Sector = "VoluntarySector"
	SectorYoungPeople     Sector = "YoungPeople"
	SectorParentsCarers   Sector = "ParentsCarers"
)

// BoardRole is a member's role on the governance board.
// +kubebuilder:validation:Enum=Chair;Member
type BoardRole string

const (
	RoleChair  BoardRole = "Chair"
	RoleMember BoardRole = "Member"
)

// DeletionPolicy says what happens to an area's namespace when its LocalArea
// is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionRetain leaves the namespace and everything in it; only the
	// operator's claim on it is removed, so a new LocalArea can adopt it.
	DeletionRetain DeletionPolicy = "Retain"
	// DeletionDelete deletes the namespace, if the operator created it.
	DeletionDelete DeletionPolicy = "Delete"
)

// AreaPhase is where a LocalArea is in its lifecycle.
// +kubebuilder:validation:Enum=Scheduled;Provisioning;Active;Suspended;Terminating
type AreaPhase string

const (
	PhaseScheduled    AreaPhase = "Scheduled"
	PhaseProvisioning AreaPhase = "Provisioning"
	PhaseActive       AreaPhase = "Active"
	PhaseSuspended    AreaPhase = "Suspended"
	PhaseTerminating  AreaPhase = "Terminating"
)

// Subject is a Kubernetes user or group, as the cluster's authentication
// names them (for example an OIDC group of the integrated care board).
type Subject struct {
	// kind is User or Group.
	// +required
	Kind SubjectKind `json:"kind"`
	// name is the user or group name exactly as the cluster authenticates it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[^\r\n]+$`
	Name string `json:"name"`
}

// BoardMember is one member of the local governance board, which agrees how
// the teams' time is allocated to schools and colleges. Board members get
// read access to their area: its teams, allocations, coverage report and events.
type BoardMember struct {
	// kind is User or Group.
	// +required
	Kind SubjectKind `json:"kind"`
	// name is the user or group name exactly as the cluster authenticates it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[^\r\n]+$`
	Name string `json:"name"`
	// sector is the part of local life the member represents: Health (the
	// NHS, CAMHS, the integrated care board), Education (schools, colleges),
	// LocalAuthority, VoluntarySector, YoungPeople or ParentsCarers. The board
	// must involve both Health and Education.
	// +required
	Sector Sector `json:"sector"`
	// role is Chair or Member.
	// +optional
	// +kubebuilder:default=Member
	Role BoardRole `json:"role,omitempty"`
}

// Governance is the area's local governance: the board that agrees the
// allocation of team time, and the leads who manage teams and allocations.
type Governance struct {
	// board lists the members of the local governance board. Local
	// governance must involve both health and education: a board without a
	// Health or an Education member is reported by the GovernanceReady
	// condition. Members get read access to the area.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +listType=map
	// +listMapKey=kind
	// +listMapKey=name
	Board []BoardMember `json:"board"`
	// leads are the people who manage the area's SupportTeams and
	// SchoolCoverages day to day (for example the regional lead and the
	// area's MHST manager). They get write access to those in the area's
	// namespace.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=map
	// +listMapKey=kind
	// +listMapKey=name
	Leads []Subject `json:"leads,omitempty"`
}

// Tenancy tunes the isolation of the area's namespace.
type Tenancy struct {
	// resourceQuota is the hard limit on what the area's namespace may use
	// (cpu, memory, pods, ...). When absent, the operator's configured default
	// applies.
	// +optional
	ResourceQuota corev1.ResourceList `json:"resourceQuota,omitempty"`
	// allowIngressFrom lists namespace label selectors whose pods may reach
	// the area's pods, for example the cluster's ingress controller. Every
	// other namespace is denied.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	AllowIngressFrom []metav1.LabelSelector `json:"allowIngressFrom,omitempty"`
	// allowEgressTo lists the destinations the area's pods may connect to
	// besides their own namespace and the cluster DNS: for example the
	// address range of an NHS trust's referral system outside the cluster,
	// or the namespace of a shared service inside it. Where the operator
	// restricts egress (its default) every other destination is denied;
	// where it leaves egress open, every destination is reachable anyway
	// and this list changes nothing.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	AllowEgressTo []EgressDestination `json:"allowEgressTo,omitempty"`
}

// EgressDestination is one place the area's pods may connect to: the pods
// of some namespaces of the cluster, or a range of IP addresses outside it.
// Exactly one of namespaceSelector and ipBlock is set.
// +kubebuilder:validation:XValidation:rule="has(self.namespaceSelector) != has(self.ipBlock)",message="set exactly one of namespaceSelector (namespaces of the cluster) and ipBlock (addresses outside it)"
type EgressDestination struct {
	// namespaceSelector selects namespaces of the cluster by their labels,
	// for example {matchLabels: {kubernetes.io/metadata.name: nhs-spine-gateway}};
	// every pod in them may be reached. An empty selector selects every
	// namespace.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// ipBlock is a range of IP addresses, usually outside the cluster: an
	// NHS trust's system, a local authority's case management API, an SMTP
	// relay. Pod IPs are not stable; use namespaceSelector for destinations
	// inside the cluster.
	// +optional
	IPBlock *EgressIPBlock `json:"ipBlock,omitempty"`
	// ports limits the destination to these ports; empty means every port.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=port
	// +listMapKey=protocol
	Ports []EgressPort `json:"ports,omitempty"`
}

// EgressIPBlock is a range of IP addresses in CIDR notation, less the
// ranges in except.
// +kubebuilder:validation:XValidation:rule="!isCIDR(self.cidr) || !has(self.except) || self.except.all(e, !isCIDR(e) || (cidr(self.cidr).containsCIDR(e) && cidr(e).prefixLength() > cidr(self.cidr).prefixLength()))",message="every range in except must lie inside cidr and be smaller than it",fieldPath=".except"
type EgressIPBlock struct {
	// cidr is the range, for example "192.0.2.0/24" or "2001:db8:10::/48";
	// one address is "192.0.2.10/32". It is written with the bits after the
	// prefix zero ("192.0.2.0/24", not "192.0.2.10/24").
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="cidr must be an IPv4 or IPv6 range in CIDR notation, such as 192.0.2.0/24 or 2001:db8::/48"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",messageExpression="'cidr ' + self + ' has bits set after its prefix length: set them to zero, as in 192.0.2.0/24 (not 192.0.2.10/24)'"
	CIDR string `json:"cidr"`
	// except lists ranges inside cidr that stay out of reach, for example
	// a trust's internal subnet within the range of its public services.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self)",message="every range in except must be an IPv4 or IPv6 range in CIDR notation, such as 192.0.2.128/25"
	Except []string `json:"except,omitempty"`
}

// EgressPort is a port of a destination, and its protocol.
type EgressPort struct {
	// port is the destination's port number, for example 443 for an HTTPS
	// API.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
	// protocol is TCP (the default), UDP or SCTP.
	// +optional
	// +kubebuilder:default=TCP
	// +kubebuilder:validation:Enum=TCP;UDP;SCTP
	Protocol corev1.Protocol `json:"protocol,omitempty"`
}

// LocalAreaSpec is the desired state of a local area.
type LocalAreaSpec struct {
	// displayName is the area's name as people say it, for example
	// "Leeds and Wakefield".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	DisplayName string `json:"displayName"`
	// localAuthorityCode is the ONS code of the (lead) local authority in
	// England, for example E08000035 (Leeds): E06 unitary authorities, E07
	// non-metropolitan districts, E08 metropolitan districts, E09 London
	// boroughs, E10 counties.
	// +required
	// +kubebuilder:validation:Pattern=`^E(06|07|08|09|10)[0-9]{6}$`
	LocalAuthorityCode string `json:"localAuthorityCode"`
	// region is the English region, for example "Yorkshire and The Humber".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	Region string `json:"region"`
	// integratedCareBoard is the NHS integrated care board that commissions
	// the area's teams.
	// +optional
	// +kubebuilder:validation:MaxLength=200
	IntegratedCareBoard string `json:"integratedCareBoard,omitempty"`
	// wave is the rollout wave the area joined in; 0 is the 2019
	// "trailblazer" wave.
	// +required
	// +kubebuilder:validation:Minimum=0
	Wave int32 `json:"wave"`
	// activateAt schedules the area: nothing is provisioned before this
	// moment, and the area is Scheduled until then.
	// +optional
	ActivateAt *metav1.Time `json:"activateAt,omitempty"`
	// suspend pauses the operator for this area: the tenant is left exactly
	// as it is, and nothing is written until suspend is false again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// namespace is the area's own namespace, where its teams and allocations
	// live. Defaults to mhst-<name>; it cannot change once set. The operator
	// never takes over a namespace it does not own: naming one that exists
	// without this area's mhst.io/area label (kube-system, default, another
	// area's) stalls the area with reason NamespaceConflict.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
	// governance is the area's governance board and leads.
	// +required
	Governance Governance `json:"governance"`
	// tenancy tunes the isolation of the area's namespace.
	// +optional
	Tenancy Tenancy `json:"tenancy,omitempty"`
	// coverageTarget is the share of the area's pupils, in percent, that
	// should be able to reach a Mental Health Support Team (the national
	// ambition is 100).
	// +optional
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	CoverageTarget *int32 `json:"coverageTarget,omitempty"`
	// targets are the area's dated steps towards coverageTarget, for example
	// 50 percent of pupils by 2025-03-31 and 100 by 2026-03-31, listed in
	// date order. The current target is the first whose date is today or
	// later (the date in UTC);
	// after the last one, or with none, it is coverageTarget. A target
	// applies through the whole of its date and passes at 00:00 UTC of the
	// day after, when the next one applies. status.plan measures the area
	// against the current target.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=by
	// +kubebuilder:validation:XValidation:rule="self.map(t, t.by).isSorted()",message="spec.targets must be in date order, earliest first: the current target is the first whose date is today or later"
	Targets []DatedTarget `json:"targets,omitempty"`
	// deletionPolicy says what happens to the namespace and everything in it
	// when the LocalArea is deleted: Retain (the default) keeps them and only
	// drops the operator's claim; Delete deletes the namespace, but only one
	// the operator created for this area.
	// +optional
	// +kubebuilder:default=Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// DatedTarget is a share of the area's pupils to cover by a date.
type DatedTarget struct {
	// by is the date, as YYYY-MM-DD (for example 2025-03-31, the end of
	// the programme's reporting year). The target applies until the end of
	// that day in UTC.
	// +required
	// +kubebuilder:validation:Format=date
	// +kubebuilder:validation:MaxLength=10
	By string `json:"by"`
	// percent is the share of the area's pupils, in percent, that should be
	// able to reach a Mental Health Support Team by then.
	// +required
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Percent int32 `json:"percent"`
}

// TeamCounts counts the SupportTeams in an area.
type TeamCounts struct {
	// total is the number of SupportTeams in the area's namespace.
	// +optional
	Total int32 `json:"total"`
	// ready is the number of those that are Ready.
	// +optional
	Ready int32 `json:"ready"`
}

// AreaCoverage is the area's coverage: which of the settings (schools and
// colleges) listed by its SchoolCoverages, and which of their pupils, can
// reach a Mental Health Support Team. A setting is counted once.
type AreaCoverage struct {
	// settings is the number of distinct settings listed in the area.
	// +optional
	Settings int64 `json:"settings"`
	// settingsCovered is the number of those covered by an agreed allocation
	// of a team that exists and is not suspended.
	// +optional
	SettingsCovered int64 `json:"settingsCovered"`
	// pupils is the number of pupils in the listed settings.
	// +optional
	Pupils int64 `json:"pupils"`
	// pupilsCovered is the number of pupils in covered settings.
	// +optional
	PupilsCovered int64 `json:"pupilsCovered"`
	// disadvantagedPupils is the number of pupils eligible for free school
	// meals in the listed settings.
	// +optional
	DisadvantagedPupils int64 `json:"disadvantagedPupils"`
	// disadvantagedPupilsCovered is the number of those in covered settings.
	// +optional
	DisadvantagedPupilsCovered int64 `json:"disadvantagedPupilsCovered"`
	// pupilsCoveredPercent is pupilsCovered/pupils in percent, rounded half
	// up to one decimal ("0.0" when there are no pupils).
	// +optional
	PupilsCoveredPercent string `json:"pupilsCoveredPercent"`
	// targetMet is true when pupilsCovered × 100 ≥ coverageTarget × pupils.
	// It measures coverageTarget, the area's final ambition; status.plan
	// measures the current dated target.
	// +optional
	TargetMet bool `json:"targetMet"`
	// settingsCoveredPercent is settingsCovered/settings in percent,
	// rounded half up to one decimal ("0.0" when there are no settings):
	// the share of the area's schools and colleges a team reaches, which
	// the national programme also reports ("25% of schools").
	// +optional
	SettingsCoveredPercent string `json:"settingsCoveredPercent"`
	// disadvantagedPupilsCoveredPercent is
	// disadvantagedPupilsCovered/disadvantagedPupils in percent, rounded
	// half up to one decimal ("0.0" when there are none).
	// +optional
	DisadvantagedPupilsCoveredPercent string `json:"disadvantagedPupilsCoveredPercent"`
	// equityIndexPermille says whether disadvantaged pupils are reached in
	// proportion (operating principle 7: reduce health inequalities). It is
	// the share of disadvantaged pupils covered divided by the share of all
	// pupils covered, in thousandths:
	// 1000 × disadvantagedPupilsCovered × pupils ÷ (disadvantagedPupils ×
	// pupilsCovered), rounded half up. 1000 means disadvantaged pupils are
	// covered in the same proportion as all pupils; below 1000 they are
	// covered less (800: a fifth less than their share), above 1000 more.
	// It is absent when it means nothing: when the area has no
	// disadvantaged pupils, or covers no pupils. Settings whose
	// disadvantaged pupils are not known count as having none.
	// +optional
	EquityIndexPermille *int32 `json:"equityIndexPermille,omitempty"`
	// pupilsCoveredByTeamsInTraining is the part of pupilsCovered whose
	// team is still in training (before its spec.operationalFrom). Those
	// pupils count as covered, as the programme's published figures count
	// them; this says how much of the coverage depends on teams that are
	// not yet fully operational.
	// +optional
	PupilsCoveredByTeamsInTraining int64 `json:"pupilsCoveredByTeamsInTraining"`
}

// PlanTarget is the target the area is measured against now.
type PlanTarget struct {
	// by is the date of the current spec.targets entry; absent when the
	// current target is spec.coverageTarget (no dated target is left).
	// +optional
	By string `json:"by,omitempty"`
	// percent is the current target in percent of pupils.
	// +optional
	Percent int32 `json:"percent"`
}

// AreaPlan says what it takes to reach the area's current target: whether
// its teams could get there by being allocated more settings, or whether the
// area needs more teams.
type AreaPlan struct {
	// target is the current target: the first of spec.targets whose date is
	// today or later, else spec.coverageTarget.
	// +optional
	Target PlanTarget `json:"target"`
	// pupilsShort is how many more pupils must be covered to reach the
	// target: max(0, ⌈percent × pupils ÷ 100⌉ − pupilsCovered).
	// +optional
	PupilsShort int64 `json:"pupilsShort"`
	// spareCapacityPupils is how many more pupils the area's teams could
	// take on: the sum, over the teams that are not suspended (teams in
	// training included), of max(0, capacity.maxPupils −
	// status.allocation.pupils).
	// +optional
	SpareCapacityPupils int64 `json:"spareCapacityPupils"`
	// additionalTeamsNeeded is how many more teams the area needs to reach
	// the target once its teams' spare capacity is used, at a typical
	// team's 8500 pupils: ⌈max(0, pupilsShort − spareCapacityPupils) ÷
	// 8500⌉. 0 when allocating more settings to the existing teams is
	// enough.
	// +optional
	AdditionalTeamsNeeded int32 `json:"additionalTeamsNeeded"`
}

// LocalAreaStatus is the observed state of a local area.
type LocalAreaStatus struct {
	// observedGeneration is the generation of the spec last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready, GovernanceReady, OnTrack, Reconciling, Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// phase is Scheduled (activateAt is in the future), Provisioning,
	// Active, Suspended or Terminating.
	// +optional
	Phase AreaPhase `json:"phase,omitempty"`
	// namespace is the area's namespace, once claimed.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// activatedAt is when the area was first provisioned.
	// +optional
	ActivatedAt *metav1.Time `json:"activatedAt,omitempty"`
	// teams counts the area's SupportTeams.
	// +optional
	Teams TeamCounts `json:"teams,omitempty"`
	// coverage is the area's coverage, computed from its SchoolCoverages.
	// +optional
	Coverage *AreaCoverage `json:"coverage,omitempty"`
	// plan measures the coverage against the current target (see the
	// OnTrack condition). Absent until the area is Active.
	// +optional
	Plan *AreaPlan `json:"plan,omitempty"`
}

// LocalArea is one local area (a local authority, or a group of them) taking
// part in the Mental Health Support Team rollout. It is a tenant: it owns a
// namespace, isolated from every other area, in which its SupportTeams and
// SchoolCoverages live, and the access of its governance board and leads.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=localareas,scope=Cluster,shortName=area,categories=mhst
// +kubebuilder:printcolumn:name="Wave",type=integer,JSONPath=`.spec.wave`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.namespace`
// +kubebuilder:printcolumn:name="Teams",type=integer,JSONPath=`.status.teams.total`
// +kubebuilder:printcolumn:name="Coverage",type=string,JSONPath=`.status.coverage.pupilsCoveredPercent`,description="Percent of pupils covered"
// +kubebuilder:printcolumn:name="Target",type=integer,JSONPath=`.status.plan.target.percent`,description="The current target in percent of pupils"
// +kubebuilder:printcolumn:name="OnTrack",type=string,JSONPath=`.status.conditions[?(@.type=="OnTrack")].status`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 58 || has(self.spec.__namespace__)",message="a LocalArea whose name is longer than 58 characters must set spec.namespace (the default mhst-<name> would be too long)",fieldPath=".spec.namespace",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="has(oldSelf.spec.__namespace__) ? (has(self.spec.__namespace__) && self.spec.__namespace__ == oldSelf.spec.__namespace__) : (!has(self.spec.__namespace__) || self.spec.__namespace__ == 'mhst-' + self.metadata.name)",message="spec.namespace is immutable: an area's namespace cannot change once set (it defaults to mhst-<name>)",fieldPath=".spec.namespace"
type LocalArea struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec LocalAreaSpec `json:"spec"`
	// +optional
	Status LocalAreaStatus `json:"status,omitempty"`
}

// EffectiveNamespace is the namespace the area owns: spec.namespace, or
// mhst-<name> when that is empty.
func (a *LocalArea) EffectiveNamespace() string {
	if a.Spec.Namespace != "" {
		return a.Spec.Namespace
	}
	return "mhst-" + a.Name
}

// LocalAreaList is a list of LocalAreas.
//
// +kubebuilder:object:root=true
type LocalAreaList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LocalArea `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LocalArea{}, &LocalAreaList{})
}
