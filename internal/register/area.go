package register

import (
	"fmt"
	"sort"
)

// Area is the register's schools in one local authority, chosen to be
// onboarded as a LocalArea.
type Area struct {
	// Authority is the local authority as it is today, or as the schools
	// file has it when the directory cannot resolve it.
	Authority Authority
	// Schools are the settings the area lists, sorted by URN.
	Schools []School
	// SkippedIndependent is the number of the authority's independent
	// schools left out.
	SkippedIndependent int
}

// SelectOptions tune SelectArea.
type SelectOptions struct {
	// IncludeIndependent lists independent schools too. The national
	// programme is for state-funded schools and colleges, so by default they
	// are left out and counted in Area.SkippedIndependent.
	IncludeIndependent bool
}

// SelectArea gathers the schools of the local authority with the ONS code.
// The code may be today's (a school belongs when the directory resolves it to
// that authority) or the 2022/23 one the schools file uses. It fails when no
// school, or no school the options keep, belongs to the authority.
func SelectArea(schools []School, dir Directory, code string, opts SelectOptions) (Area, error) {
	var area Area
	var inAuthority []School
	for _, s := range schools {
		resolved, ok := dir.Resolve(s)
		if s.LACode != code && (!ok || resolved.Code != code) {
			continue
		}
		inAuthority = append(inAuthority, s)
		if !s.StateFunded() && !opts.IncludeIndependent {
			area.SkippedIndependent++
			continue
		}
		area.Schools = append(area.Schools, s)
	}
	if len(inAuthority) == 0 {
		return Area{}, noSchoolsError(schools, dir, code)
	}
	area.Authority = authorityOf(inAuthority[0], dir, code)
	if len(area.Schools) == 0 {
		return Area{}, fmt.Errorf("%s (%s) has no state-funded schools, only %s",
			area.Authority.Name, code, count(area.SkippedIndependent, "independent school"))
	}
	sort.Slice(area.Schools, func(i, j int) bool { return area.Schools[i].URN < area.Schools[j].URN })
	return area, nil
}

// authorityOf is the authority an area is named after: the one with the
// requested code, else today's authority of its schools, else the 2022/23
// authority the schools file names.
func authorityOf(s School, dir Directory, code string) Authority {
	if a, ok := dir.Authority(code); ok {
		return a
	}
	if a, ok := dir.Resolve(s); ok {
		return a
	}
	return Authority{
		Code: s.LACode, OldCode: s.OldLACode, Name: s.LAName,
		RegionCode: s.RegionCode, RegionName: s.RegionName,
	}
}

// noSchoolsError explains why no school belongs to code, and when the
// authority exists today but the 2022/23 register lists its schools under
// another code (with the same name), which code to use instead.
func noSchoolsError(schools []School, dir Directory, code string) error {
	a, ok := dir.Authority(code)
	if !ok {
		return fmt.Errorf("no local authority has the code %s in the schools or the authorities file", code)
	}
	for _, s := range schools {
		if s.LAName == a.Name && s.LACode != code {
			return fmt.Errorf("no school of the register belongs to %s (%s): the register lists it under its 2022/23 code %s, use that",
				a.Name, code, s.LACode)
		}
	}
	return fmt.Errorf("no school of the register belongs to %s (%s)", a.Name, code)
}
