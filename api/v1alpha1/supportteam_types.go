package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Intervention is an evidence-based intervention a team offers.
// +kubebuilder:validation:Enum=GuidedSelfHelp;GroupWork;ParentLed;WholeSchoolApproach;Consultation;StaffTraining;Signposting
type Intervention string

const (
	// GuidedSelfHelp: low-intensity CBT-based self-help for mild to moderate
	// anxiety or low mood, guided by a practitioner.
	InterventionGuidedSelfHelp Intervention = "GuidedSelfHelp"
	// GroupWork: the same approaches delivered to small groups.
	InterventionGroupWork Intervention = "GroupWork"
	// ParentLed: parents and carers supported to help their child.
	InterventionParentLed Intervention = "ParentLed"
	// WholeSchoolApproach: helping the setting's senior mental health lead
	// build a whole-school or whole-college approach.
	InterventionWholeSchoolApproach Intervention = "WholeSchoolApproach"
	// Consultation: timely advice to staff about a child.
	InterventionConsultation Intervention = "Consultation"
	// StaffTraining: training school or college staff.
	InterventionStaffTraining Intervention = "StaffTraining"
	// Signposting: liaison with specialist services (CAMHS, counselling,
	// educational psychology) so children get the right help.
	InterventionSignposting Intervention = "Signposting"
)

// Staffing is who is in the team. Recruitment and retention are the
// programme's hardest problem, so vacancies are part of the record.
type Staffing struct {
	// educationMentalHealthPractitioners (EMHPs) are practitioners newly
	// trained to deliver guided self-help, group work and parent-led
	// interventions for mild to moderate problems. A team with none in post
	// cannot see children and is not Ready.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	EducationMentalHealthPractitioners int32 `json:"educationMentalHealthPractitioners,omitempty"`
	// seniorClinicians supervise the practitioners and lead on cases above
	// mild to moderate.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	SeniorClinicians int32 `json:"seniorClinicians,omitempty"`
	// higherLevelTherapists are qualified therapists (for example CBT or
	// systemic therapists) working with the team.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	HigherLevelTherapists int32 `json:"higherLevelTherapists,omitempty"`
	// vacancies is the number of funded posts not filled.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	Vacancies int32 `json:"vacancies,omitempty"`
}

// Capacity is how much a team can take on. A typical team serves about 20
// schools and colleges and about 8,000 pupils.
type Capacity struct {
	// maxSettings is the most schools and colleges the team can serve.
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=500
	MaxSettings int32 `json:"maxSettings,omitempty"`
	// maxPupils is the most pupils the team's settings may have in all.
	// +optional
	// +kubebuilder:default=8500
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	MaxPupils int32 `json:"maxPupils,omitempty"`
}

// TeamService is the team's own digital service (referral, booking and
// self-help), deployed into the area's namespace.
type TeamService struct {
	// image is the container image of the service.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image"`
	// replicas is the number of pods; 0 takes the service down without
	// deleting it.
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=50
	Replicas *int32 `json:"replicas,omitempty"`
	// port is the container port the service listens on.
	// +optional
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// resources are the service container's requests and limits. When
	// absent, the blueprint's own apply.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// ConfigMapReference names a ConfigMap in the team's namespace.
type ConfigMapReference struct {
	// name of the ConfigMap.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// Blueprint selects a kustomize base for the team's service.
type Blueprint struct {
	// configMapRef names a ConfigMap in the team's namespace whose keys are
	// the files of a kustomize base (kustomization.yaml and its resources).
	// See docs/blueprints.md for what a blueprint may contain.
	// +required
	ConfigMapRef ConfigMapReference `json:"configMapRef"`
}

// SupportTeamSpec is the desired state of a Mental Health Support Team.
type SupportTeamSpec struct {
	// displayName is the team's name as people say it.
	// +optional
	// +kubebuilder:validation:MaxLength=200
	DisplayName string `json:"displayName,omitempty"`
	// staffing is who is in the team.
	// +optional
	Staffing Staffing `json:"staffing,omitempty"`
	// capacity is how many settings and pupils the team can serve.
	// +optional
	// +kubebuilder:default={}
	Capacity Capacity `json:"capacity,omitempty"`
	// yearRound is true when support continues outside term time, so that
	// children can get help all year.
	// +optional
	// +kubebuilder:default=true
	YearRound *bool `json:"yearRound,omitempty"`
	// interventions are the evidence-based interventions the team offers.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	Interventions []Intervention `json:"interventions,omitempty"`
	// service is the team's own service, deployed into the area's namespace.
	// +required
	Service TeamService `json:"service"`
	// blueprint renders the service from a kustomize base in a ConfigMap
	// instead of the built-in one.
	// +optional
	Blueprint *Blueprint `json:"blueprint,omitempty"`
	// suspend pauses the team: its service is left as it is, and its
	// allocations do not count as covered while it is suspended.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// operationalFrom is the date, as YYYY-MM-DD, from which the team is
	// fully operational; before it the team is in training (its
	// practitioners are still completing their year of training). A team in
	// training counts towards coverage, as the programme's published
	// figures count it, and its area's
	// status.coverage.pupilsCoveredByTeamsInTraining says how much depends
	// on it. The team is operational from 00:00 UTC of that date. Absent:
	// operational.
	// +optional
	// +kubebuilder:validation:Format=date
	// +kubebuilder:validation:MaxLength=10
	OperationalFrom string `json:"operationalFrom,omitempty"`
}

// TeamAllocation is what the area's agreed allocations give the team.
type TeamAllocation struct {
	// settings is the number of settings allocated to the team (the ones it
	// wins; a setting is counted once in an area).
	// +optional
	Settings int64 `json:"settings"`
	// pupils is the number of pupils in those settings.
	// +optional
	Pupils int64 `json:"pupils"`
	// capacityUsedPercent is the larger of settings/maxSettings and
	// pupils/maxPupils, in percent with one decimal.
	// +optional
	CapacityUsedPercent string `json:"capacityUsedPercent"`
}

// ServiceStatus is the state of the team's Deployment.
type ServiceStatus struct {
	// name of the team's Deployment.
	// +optional
	Name string `json:"name,omitempty"`
	// replicas is the Deployment's desired replicas.
	// +optional
	Replicas int32 `json:"replicas"`
	// readyReplicas is the number of ready pods.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`
}

// InventoryEntry is one object the team's service is made of.
type InventoryEntry struct {
	// apiVersion of the object.
	APIVersion string `json:"apiVersion"`
	// kind of the object.
	Kind string `json:"kind"`
	// name of the object, in the team's namespace.
	Name string `json:"name"`
}

// SupportTeamStatus is the observed state of a Mental Health Support Team.
type SupportTeamStatus struct {
	// observedGeneration is the generation of the spec last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready, ServiceAvailable, WithinCapacity, Operational,
	// Reconciling, Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// allocation is what the area's allocations give the team.
	// +optional
	Allocation *TeamAllocation `json:"allocation,omitempty"`
	// service is the state of the team's Deployment.
	// +optional
	Service *ServiceStatus `json:"service,omitempty"`
	// inventory lists the objects the team's service is made of; what the
	// blueprint stops producing is pruned.
	// +optional
	// +listType=atomic
	Inventory []InventoryEntry `json:"inventory,omitempty"`
}

// SupportTeam is one Mental Health Support Team: education mental health
// practitioners, senior clinicians and therapists working with about 20
// schools and colleges. It lives in its LocalArea's namespace and gets its
// own service there.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=team,categories=mhst
// +kubebuilder:printcolumn:name="Settings",type=integer,JSONPath=`.status.allocation.settings`
// +kubebuilder:printcolumn:name="Pupils",type=integer,JSONPath=`.status.allocation.pupils`
// +kubebuilder:printcolumn:name="Capacity",type=string,JSONPath=`.status.allocation.capacityUsedPercent`,description="Percent of capacity used"
// +kubebuilder:printcolumn:name="Operational",type=string,JSONPath=`.status.conditions[?(@.type=="Operational")].status`
// +kubebuilder:printcolumn:name="EMHPs",type=integer,JSONPath=`.spec.staffing.educationMentalHealthPractitioners`,priority=1
// +kubebuilder:printcolumn:name="Vacancies",type=integer,JSONPath=`.spec.staffing.vacancies`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!self.metadata.name.startsWith('mhst-')",message="a SupportTeam's name cannot begin with mhst-: those names are kept for what the operator makes for the area (its quota, network policies, access and reports), and a team's objects are named after the team"
type SupportTeam struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec SupportTeamSpec `json:"spec"`
	// +optional
	Status SupportTeamStatus `json:"status,omitempty"`
}

// SupportTeamList is a list of SupportTeams.
//
// +kubebuilder:object:root=true
type SupportTeamList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SupportTeam `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SupportTeam{}, &SupportTeamList{})
}
