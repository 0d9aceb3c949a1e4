package blueprint

import (
	"slices"
	"strconv"
	"strings"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// The CRD's defaults, used when a spec reaches Render without them (for
// example in tests, or from a client that bypasses the API server).
const (
	defaultReplicas    int32 = 2
	defaultPort        int32 = 8080
	defaultMaxSettings int32 = 20
	defaultMaxPupils   int32 = 8500
)

// configMapName is the name (before prefix and hash) of the ConfigMap the
// overlay generates with the team's configuration. A blueprint's Deployment
// refers to it by this name; kustomize rewrites the reference to the hashed
// name, so a change of configuration rolls the pods.
const configMapName = "config"

// teamConfig is the team's configuration as the service sees it: the keys of
// the generated ConfigMap, named as environment variables because the
// built-in Deployment reads them with envFrom.
func teamConfig(in Input) map[string]string {
	s := in.Spec
	return map[string]string{
		"MHST_TEAM":          in.TeamName,
		"MHST_NAMESPACE":     in.Namespace,
		"MHST_AREA":          in.AreaName,
		"MHST_WAVE":          strconv.Itoa(int(in.Wave)),
		"MHST_DISPLAY_NAME":  s.DisplayName,
		"MHST_YEAR_ROUND":    strconv.FormatBool(s.YearRound == nil || *s.YearRound),
		"MHST_INTERVENTIONS": strings.Join(sortedInterventions(s.Interventions), ","),
		"MHST_EDUCATION_MENTAL_HEALTH_PRACTITIONERS": itoa(s.Staffing.EducationMentalHealthPractitioners),
		"MHST_SENIOR_CLINICIANS":                     itoa(s.Staffing.SeniorClinicians),
		"MHST_HIGHER_LEVEL_THERAPISTS":               itoa(s.Staffing.HigherLevelTherapists),
		"MHST_VACANCIES":                             itoa(s.Staffing.Vacancies),
		"MHST_MAX_SETTINGS":                          itoa(orDefault(s.Capacity.MaxSettings, defaultMaxSettings)),
		"MHST_MAX_PUPILS":                            itoa(orDefault(s.Capacity.MaxPupils, defaultMaxPupils)),
		// PORT is the conventional name a service reads to know where to
		// listen.
		"PORT": itoa(servicePort(s)),
	}
}

// sortedInterventions sorts the interventions: they are a set, and the order
// they were written in must not change the ConfigMap's hash.
func sortedInterventions(in []mhstv1alpha1.Intervention) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func replicas(s mhstv1alpha1.SupportTeamSpec) int32 {
	if s.Service.Replicas == nil {
		return defaultReplicas
	}
	return *s.Service.Replicas
}

func servicePort(s mhstv1alpha1.SupportTeamSpec) int32 {
	return orDefault(s.Service.Port, defaultPort)
}

func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}

func itoa(v int32) string {
	return strconv.Itoa(int(v))
}
