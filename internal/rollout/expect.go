package rollout

import (
	"fmt"
	"math/big"

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
	Complete(&c, target)
	return c
}

// Complete works out the figures of c that follow from its counts: the
// percentages, whether the target is met and the equity index. The
// generated teams have no operationalFrom, so none is in training.
func Complete(c *mhstv1alpha1.AreaCoverage, target int32) {
	c.PupilsCoveredPercent = Percent(c.PupilsCovered, c.Pupils)
	c.TargetMet = c.PupilsCovered*100 >= int64(target)*c.Pupils
	c.SettingsCoveredPercent = Percent(c.SettingsCovered, c.Settings)
	c.DisadvantagedPupilsCoveredPercent = Percent(c.DisadvantagedPupilsCovered, c.DisadvantagedPupils)
	c.EquityIndexPermille = equityPermille(c.DisadvantagedPupilsCovered, c.Pupils, c.DisadvantagedPupils, c.PupilsCovered)
	c.PupilsCoveredByTeamsInTraining = 0
}

// equityPermille is 1000 × dc × p ÷ (d × pc) rounded half up, nil when d or
// pc is 0: the contract's definition, worked here on its own.
func equityPermille(dc, p, d, pc int64) *int32 {
	if d == 0 || pc == 0 {
		return nil
	}
	num := new(big.Int).Mul(big.NewInt(1000), big.NewInt(dc))
	num.Mul(num, big.NewInt(p))
	den := new(big.Int).Mul(big.NewInt(d), big.NewInt(pc))
	// round half up: floor((2·num + den) / (2·den))
	num.Mul(num, big.NewInt(2)).Add(num, den)
	den.Mul(den, big.NewInt(2))
	v := int32(new(big.Int).Quo(num, den).Int64())
	return &v
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
