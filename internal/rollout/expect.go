package rollout

import (
	"fmt"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// ExpectedCoverage is the coverage of an area made of coverages, by plain
// sums: every listed setting counts, and a setting is covered when its list
// names a team and has an agreement. That is the whole of the coverage rules
// only under what Generate guarantees, and callers that change a generated
// area must keep it: every URN is listed once in the area, and every team a
// list names exists and is not suspended.
func ExpectedCoverage(coverages []mhstv1alpha1.SchoolCoverage, target int32) mhstv1alpha1.AreaCoverage {
	var c mhstv1alpha1.AreaCoverage
	for _, list := range coverages {
		covering := list.Spec.TeamRef != nil && list.Spec.Agreement != nil
		for _, s := range list.Spec.Settings {
			disadvantaged := int64(0)
			if s.DisadvantagedPupils != nil {
				disadvantaged = int64(*s.DisadvantagedPupils)
			}
			c.Settings++
			c.Pupils += int64(s.Pupils)
			c.DisadvantagedPupils += disadvantaged
			if covering {
				c.SettingsCovered++
				c.PupilsCovered += int64(s.Pupils)
				c.DisadvantagedPupilsCovered += disadvantaged
			}
		}
	}
	c.PupilsCoveredPercent = Percent(c.PupilsCovered, c.Pupils)
	c.TargetMet = c.PupilsCovered*100 >= int64(target)*c.Pupils
	return c
}

// Percent is part/whole in percent, rounded half up to one decimal, in
// integer arithmetic ("0.0" when whole is 0), as the API reports it.
func Percent(part, whole int64) string {
	if whole <= 0 {
		return "0.0"
	}
	tenths := (part*2000 + whole) / (2 * whole)
	return fmt.Sprintf("%d.%d", tenths/10, tenths%10)
}
