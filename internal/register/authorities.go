package register

import (
	"errors"
	"fmt"
	"io"
	"sort"
)

// Column names of the local authority file.
const (
	colAuthorityCode    = "new_la_code"
	colAuthorityOldCode = "old_la_code"
	colAuthorityName    = "la_name"
)

var authorityColumns = []string{
	colAuthorityOldCode, colAuthorityCode, colAuthorityName, colRegionCode, colRegionName,
}

// noCode is how the DfE lookup writes a missing DfE number.
const noCode = "z"

// Authority is a local authority in England as it is today.
type Authority struct {
	// Code is the ONS code, for example E08000035.
	Code string
	// OldCode is the 3-digit DfE number, empty when the lookup has none.
	OldCode string
	// Name is the authority's name, for example "Leeds".
	Name string
	// RegionCode and RegionName are the ONS region.
	RegionCode string
	RegionName string
}

// ReadAuthorities reads the local authority file (old_la_code, new_la_code,
// la_name, region_code, region_name, in any order). Every row must have an
// ONS code and a name, and no code may appear twice.
func ReadAuthorities(r io.Reader) ([]Authority, error) {
	reader := newCSVReader(r)
	h, err := readHeader(reader, authorityColumns)
	if err != nil {
		return nil, fmt.Errorf("read authorities: %w", err)
	}
	var (
		authorities []Authority
		invalid     RowErrors
		seen        = map[string]int{}
	)
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := recordLine(reader, err)
		if err != nil {
			invalid = append(invalid, RowError{Line: line, Reason: csvReason(err)})
			continue
		}
		a, reason := parseAuthority(record, h)
		if reason == "" && seen[a.Code] != 0 {
			reason = fmt.Sprintf("new_la_code %s is also on line %d", a.Code, seen[a.Code])
		}
		if reason != "" {
			invalid = append(invalid, RowError{Line: line, Reason: reason})
			continue
		}
		seen[a.Code] = line
		authorities = append(authorities, a)
	}
	if len(invalid) > 0 {
		return nil, fmt.Errorf("read authorities: %w", invalid)
	}
	return authorities, nil
}

// parseAuthority turns one record into an Authority, or says why it cannot.
func parseAuthority(record []string, h header) (Authority, string) {
	if len(record) != h.width {
		return Authority{}, fmt.Sprintf("has %d columns, the header has %d", len(record), h.width)
	}
	a := Authority{
		Code:       h.value(record, colAuthorityCode),
		OldCode:    h.value(record, colAuthorityOldCode),
		Name:       h.value(record, colAuthorityName),
		RegionCode: h.value(record, colRegionCode),
		RegionName: h.value(record, colRegionName),
	}
	if a.OldCode == noCode {
		a.OldCode = ""
	}
	if a.Code == "" || a.Name == "" {
		return Authority{}, "needs both new_la_code and la_name"
	}
	return a, ""
}

// Directory finds today's local authority of a school of the register.
type Directory struct {
	byCode    map[string]Authority
	byOldCode map[string]Authority
}

// NewDirectory indexes authorities by ONS code and by DfE number.
func NewDirectory(authorities []Authority) Directory {
	d := Directory{byCode: map[string]Authority{}, byOldCode: map[string]Authority{}}
	for _, a := range authorities {
		d.byCode[a.Code] = a
		if a.OldCode != "" {
			d.byOldCode[a.OldCode] = a
		}
	}
	return d
}

// Authority returns the authority with the ONS code.
func (d Directory) Authority(code string) (Authority, bool) {
	a, ok := d.byCode[code]
	return a, ok
}

// Resolve returns today's authority of a school: the one with the school's
// 2022/23 ONS code, else (for authorities reorganised since, whose ONS code
// changed but whose DfE number was kept) the one with its DfE number.
func (d Directory) Resolve(s School) (Authority, bool) {
	if a, ok := d.byCode[s.LACode]; ok {
		return a, true
	}
	a, ok := d.byOldCode[s.OldLACode]
	return a, ok
}

// Unmatched is a 2022/23 authority of the schools file that the directory
// cannot resolve by ONS code or DfE number (an authority that was split, or
// whose lookup row has no DfE number).
type Unmatched struct {
	Code    string
	OldCode string
	Name    string
	// Schools is the number of the register's schools in it.
	Schools int
}

// UnmatchedAuthorities lists, by code, the authorities of the schools that
// the directory cannot resolve.
func (d Directory) UnmatchedAuthorities(schools []School) []Unmatched {
	byCode := map[string]*Unmatched{}
	for _, s := range schools {
		if _, ok := d.Resolve(s); ok {
			continue
		}
		u, ok := byCode[s.LACode]
		if !ok {
			u = &Unmatched{Code: s.LACode, OldCode: s.OldLACode, Name: s.LAName}
			byCode[s.LACode] = u
		}
		u.Schools++
	}
	unmatched := make([]Unmatched, 0, len(byCode))
	for _, u := range byCode {
		unmatched = append(unmatched, *u)
	}
	sort.Slice(unmatched, func(i, j int) bool { return unmatched[i].Code < unmatched[j].Code })
	return unmatched
}
