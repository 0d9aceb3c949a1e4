package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

var (
	subjectKinds = []mhstv1alpha1.SubjectKind{mhstv1alpha1.SubjectUser, mhstv1alpha1.SubjectGroup}
	sectors      = []mhstv1alpha1.Sector{
		mhstv1alpha1.SectorHealth, mhstv1alpha1.SectorEducation, mhstv1alpha1.SectorLocalAuthority,
		mhstv1alpha1.SectorVoluntarySector, mhstv1alpha1.SectorYoungPeople, mhstv1alpha1.SectorParentsCarers,
	}
	boardRoles = []mhstv1alpha1.BoardRole{mhstv1alpha1.RoleChair, mhstv1alpha1.RoleMember}
)

// boardFlag collects --board Kind:name:Sector[:Role] flags. The name may
// itself contain colons (OIDC groups such as "oidc:leeds-icb"): the kind is
// the first field and the sector (and role) the last.
type boardFlag []mhstv1alpha1.BoardMember

func (b *boardFlag) String() string { return fmt.Sprint(len(*b), " members") }

func (b *boardFlag) Set(value string) error {
	fields := strings.Split(value, ":")
	if len(fields) < 3 {
		return fmt.Errorf("%q: want Kind:name:Sector[:Role], for example Group:leeds-icb:Health", value)
	}
	kind, err := parseKind(fields[0])
	if err != nil {
		return fmt.Errorf("%q: %w", value, err)
	}
	rest := fields[1:]
	var role mhstv1alpha1.BoardRole
	if last := mhstv1alpha1.BoardRole(rest[len(rest)-1]); len(rest) >= 3 && slices.Contains(boardRoles, last) {
		role = last
		rest = rest[:len(rest)-1]
	}
	sector := mhstv1alpha1.Sector(rest[len(rest)-1])
	if !slices.Contains(sectors, sector) {
		return fmt.Errorf("%q: sector %q is not one of %v", value, sector, sectors)
	}
	name := strings.Join(rest[:len(rest)-1], ":")
	if name == "" {
		return fmt.Errorf("%q: the name is empty", value)
	}
	*b = append(*b, mhstv1alpha1.BoardMember{Kind: kind, Name: name, Sector: sector, Role: role})
	return nil
}

// leadFlag collects --lead Kind:name flags; the name may contain colons.
type leadFlag []mhstv1alpha1.Subject

func (l *leadFlag) String() string { return fmt.Sprint(len(*l), " leads") }

func (l *leadFlag) Set(value string) error {
	kind, name, ok := strings.Cut(value, ":")
	if !ok || name == "" {
		return fmt.Errorf("%q: want Kind:name, for example User:jo.bloggs@nhs.net", value)
	}
	k, err := parseKind(kind)
	if err != nil {
		return fmt.Errorf("%q: %w", value, err)
	}
	*l = append(*l, mhstv1alpha1.Subject{Kind: k, Name: name})
	return nil
}

func parseKind(value string) (mhstv1alpha1.SubjectKind, error) {
	kind := mhstv1alpha1.SubjectKind(value)
	if !slices.Contains(subjectKinds, kind) {
		return "", fmt.Errorf("kind %q is not User or Group", value)
	}
	return kind, nil
}

// codesFlag collects ONS codes from repeated or comma-separated flags.
type codesFlag []string

func (c *codesFlag) String() string { return strings.Join(*c, ",") }

func (c *codesFlag) Set(value string) error {
	for code := range strings.SplitSeq(value, ",") {
		code = strings.TrimSpace(code)
		if code == "" {
			continue
		}
		if slices.Contains(*c, code) {
			return fmt.Errorf("local authority %s is given twice", code)
		}
		*c = append(*c, code)
	}
	return nil
}

// targetFlag collects --target YYYY-MM-DD=PERCENT flags. The dates and
// percentages are checked when the manifests are built
// (register.BuildManifests), which also puts them in date order.
type targetFlag []mhstv1alpha1.DatedTarget

func (f *targetFlag) String() string { return fmt.Sprint(len(*f), " targets") }

func (f *targetFlag) Set(value string) error {
	by, percent, ok := strings.Cut(value, "=")
	if !ok || by == "" {
		return fmt.Errorf("%q: want YYYY-MM-DD=PERCENT, for example 2025-03-31=50", value)
	}
	p, err := strconv.ParseInt(strings.TrimSuffix(percent, "%"), 10, 32)
	if err != nil {
		return fmt.Errorf("%q: the percentage %q is not a whole number", value, percent)
	}
	*f = append(*f, mhstv1alpha1.DatedTarget{By: by, Percent: int32(p)})
	return nil
}
