// Package register reads the Department for Education's register of schools
// in England ("Schools, pupils and their characteristics", school-level
// underlying data) and the local authority lookup, and turns the schools of
// a local authority into LocalArea and SchoolCoverage manifests.
//
// The data is published under the Open Government Licence v3.0; anything
// derived from it must carry Attribution.
package register

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Attribution is the notice the Open Government Licence v3.0 asks for
// wherever the register's data, or anything derived from it, is shipped.
const Attribution = "Contains public sector information licensed under the Open Government Licence v3.0."

// Column names of the schools file, as the DfE publishes them.
const (
	colURN                 = "urn"
	colName                = "school_name"
	colLACode              = "new_la_code"
	colOldLACode           = "old_la_code"
	colLAName              = "la_name"
	colRegionCode          = "region_code"
	colRegionName          = "region_name"
	colPhaseTypeGrouping   = "phase_type_grouping"
	colTypeOfEstablishment = "typeofestablishment_name"
	colPupils              = "headcount of pupils"
	// colPostcode is optional: the samples order a team's schools by it.
	colPostcode = "school_postcode"
	colFSM      = "number of pupils known to be eligible for free school meals"
)

// schoolColumns are the columns ReadSchools needs; the file may have more, in
// any order.
var schoolColumns = []string{
	colURN, colName, colLACode, colOldLACode, colLAName, colRegionCode,
	colRegionName, colPhaseTypeGrouping, colTypeOfEstablishment, colPupils, colFSM,
}

// Values of phase_type_grouping in the 2022/23 file.
const (
	groupingPrimary              = "State-funded primary"
	groupingSecondary            = "State-funded secondary"
	groupingNursery              = "State-funded nursery"
	groupingSpecial              = "State-funded special school"
	groupingNonMaintainedSpecial = "Non-maintained special school"
	groupingAP                   = "State-funded AP school"
	groupingIndependent          = "Independent school"
)

// statePhases maps the phase groupings of state-funded settings to the API's
// phases. Non-maintained special schools are charities, but almost all their
// pupils are placed and paid for by local authorities, so the programme
// treats them like state-funded special schools.
var statePhases = map[string]mhstv1alpha1.SettingPhase{
	groupingPrimary:              mhstv1alpha1.PhasePrimary,
	groupingSecondary:            mhstv1alpha1.PhaseSecondary,
	groupingNursery:              mhstv1alpha1.PhaseNursery,
	groupingSpecial:              mhstv1alpha1.PhaseSpecial,
	groupingNonMaintainedSpecial: mhstv1alpha1.PhaseSpecial,
	groupingAP:                   mhstv1alpha1.PhaseAlternativeProvision,
}

// independentSpecial is the typeofestablishment_name of independent special
// schools; every other independent school is mapped to AllThrough because the
// school-level file gives no age range for independent schools.
const independentSpecial = "Other independent special school"

// MaxPupils is the largest headcount the SchoolCoverage API accepts for one
// setting; a larger figure in the register is a data error.
const MaxPupils = 100000

// urnPattern is the shape of a DfE Unique Reference Number.
var urnPattern = regexp.MustCompile(`^[0-9]{6,7}$`)

// School is one school of the register.
type School struct {
	// URN is the DfE Unique Reference Number.
	URN string
	// Name is the school's name as registered.
	Name string
	// LACode is the ONS code of the school's local authority in 2022/23
	// (new_la_code); some authorities have been reorganised since.
	LACode string
	// OldLACode is the 3-digit DfE number of the local authority.
	OldLACode string
	// LAName is the local authority's name in 2022/23.
	LAName string
	// RegionCode and RegionName are the ONS region.
	RegionCode string
	RegionName string
	// Phase is the API phase the school's phase_type_grouping maps to.
	Phase mhstv1alpha1.SettingPhase
	// Pupils is the headcount of pupils.
	Pupils int32
	// DisadvantagedPupils is the number of pupils known to be eligible for
	// free school meals; nil when the register suppresses it ("z").
	DisadvantagedPupils *int32
	// PhaseTypeGrouping is the register's own phase grouping, for example
	// "State-funded primary" or "Independent school".
	PhaseTypeGrouping string
	// Postcode is the school's postcode, where the file has the column.
	Postcode string
}

// StateFunded reports whether the school is one the national programme is
// for: every grouping but independent schools (see statePhases for why
// non-maintained special schools count).
func (s School) StateFunded() bool {
	return s.PhaseTypeGrouping != groupingIndependent
}

// RowError is a row of a file that could not be read.
type RowError struct {
	// Line is the row's line in the file, the header being line 1.
	Line int
	// Reason says what is wrong with it.
	Reason string
}

func (e RowError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// maxListedRowErrors bounds how many row errors an error message lists: a
// file in the wrong format would otherwise print one line per row.
const maxListedRowErrors = 20

// RowErrors are the rows of a file that could not be read.
type RowErrors []RowError

func (errs RowErrors) Error() string {
	var b strings.Builder
	b.WriteString(count(len(errs), "invalid row"))
	for i, e := range errs {
		if i == maxListedRowErrors {
			fmt.Fprintf(&b, "\n  ... and %d more", len(errs)-maxListedRowErrors)
			break
		}
		fmt.Fprintf(&b, "\n  %s", e.Error())
	}
	return b.String()
}

// ReadOptions tune ReadSchools.
type ReadOptions struct {
	// SkipInvalid keeps the valid rows when some are invalid, and reports
	// the invalid ones in SchoolFile.Invalid, instead of failing.
	SkipInvalid bool
}

// SchoolFile is what ReadSchools read.
type SchoolFile struct {
	// Schools are the valid rows, in file order.
	Schools []School
	// Invalid are the rows left out, when ReadOptions.SkipInvalid is set.
	Invalid RowErrors
}

// ReadSchools reads the DfE school-level CSV. The header must name every
// column the importer needs, in any order; a missing column is an error
// naming it. Every row is checked (URN of 6 or 7 digits, numeric pupil
// counts, free school meals not above pupils, a known phase grouping, the
// header's number of columns, no URN twice). By default any invalid row
// fails the whole read, with a RowErrors listing them; with SkipInvalid the
// valid rows are returned and the invalid ones reported.
func ReadSchools(r io.Reader, opts ReadOptions) (SchoolFile, error) {
	reader := newCSVReader(r)
	columns, err := readHeader(reader, schoolColumns)
	if err != nil {
		return SchoolFile{}, fmt.Errorf("read schools: %w", err)
	}
	var file SchoolFile
	seen := map[string]int{}
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := recordLine(reader, err)
		if err != nil {
			file.Invalid = append(file.Invalid, RowError{Line: line, Reason: csvReason(err)})
			continue
		}
		school, reason := parseSchool(record, columns)
		if reason == "" && seen[school.URN] != 0 {
			reason = fmt.Sprintf("urn %s is also on line %d", school.URN, seen[school.URN])
		}
		if reason != "" {
			file.Invalid = append(file.Invalid, RowError{Line: line, Reason: reason})
			continue
		}
		seen[school.URN] = line
		file.Schools = append(file.Schools, school)
	}
	if len(file.Invalid) > 0 && !opts.SkipInvalid {
		return SchoolFile{}, fmt.Errorf("read schools: %w", file.Invalid)
	}
	return file, nil
}

// utf8BOM is the byte order mark spreadsheet programs put at the start of
// the CSV files they save.
const utf8BOM = "\ufeff"

// newCSVReader returns a reader that skips a byte order mark (which would
// otherwise make the quoted first header field malformed) and leaves the
// column count to the caller, so that a short row is reported with its line
// like any other invalid row.
func newCSVReader(r io.Reader) *csv.Reader {
	buffered := bufio.NewReader(r)
	if start, err := buffered.Peek(len(utf8BOM)); err == nil && string(start) == utf8BOM {
		_, _ = buffered.Discard(len(utf8BOM))
	}
	reader := csv.NewReader(buffered)
	reader.FieldsPerRecord = -1
	return reader
}

// recordLine is the line the record just read (or failed to read) starts on.
func recordLine(reader *csv.Reader, err error) int {
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		return parseErr.StartLine
	}
	line, _ := reader.FieldPos(0)
	return line
}

// csvReason describes a CSV syntax error without repeating its position,
// which RowError already gives.
func csvReason(err error) string {
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		return "malformed CSV: " + parseErr.Err.Error()
	}
	return err.Error()
}

// header maps the columns a reader needs to their index in the file.
type header struct {
	index map[string]int
	width int
}

// readHeader reads the header row and finds every required column in it,
// ignoring case and surrounding spaces.
func readHeader(reader *csv.Reader, required []string) (header, error) {
	names, err := reader.Read()
	if errors.Is(err, io.EOF) {
		return header{}, errors.New("the file is empty: expected a header row")
	}
	if err != nil {
		return header{}, fmt.Errorf("header: %w", err)
	}
	found := map[string]int{}
	for i, name := range names {
		name = strings.ToLower(strings.TrimSpace(name))
		found[name] = i
	}
	h := header{index: map[string]int{}, width: len(names)}
	if i, ok := found[colPostcode]; ok {
		h.index[colPostcode] = i
	}
	var missing []string
	for _, name := range required {
		i, ok := found[name]
		if !ok {
			missing = append(missing, strconv.Quote(name))
			continue
		}
		h.index[name] = i
	}
	if len(missing) > 0 {
		return header{}, fmt.Errorf("header: missing column %s", strings.Join(missing, ", "))
	}
	return h, nil
}

// value is the trimmed value of a column of the record.
func (h header) value(record []string, column string) string {
	return strings.TrimSpace(record[h.index[column]])
}

// parseSchool turns one record into a School, or says why it cannot.
func parseSchool(record []string, h header) (School, string) {
	if len(record) != h.width {
		return School{}, fmt.Sprintf("has %d columns, the header has %d", len(record), h.width)
	}
	s := School{
		URN:               h.value(record, colURN),
		Name:              h.value(record, colName),
		LACode:            h.value(record, colLACode),
		OldLACode:         h.value(record, colOldLACode),
		LAName:            h.value(record, colLAName),
		RegionCode:        h.value(record, colRegionCode),
		RegionName:        h.value(record, colRegionName),
		PhaseTypeGrouping: h.value(record, colPhaseTypeGrouping),
	}
	if _, ok := h.index[colPostcode]; ok {
		s.Postcode = h.value(record, colPostcode)
	}
	if !urnPattern.MatchString(s.URN) {
		return School{}, fmt.Sprintf("urn %q is not 6 or 7 digits", s.URN)
	}
	if s.Name == "" {
		return School{}, fmt.Sprintf("urn %s has no school_name", s.URN)
	}
	if s.LACode == "" {
		return School{}, fmt.Sprintf("urn %s has no new_la_code", s.URN)
	}
	phase, ok := phaseOf(s.PhaseTypeGrouping, h.value(record, colTypeOfEstablishment))
	if !ok {
		return School{}, fmt.Sprintf("urn %s has unknown phase_type_grouping %q", s.URN, s.PhaseTypeGrouping)
	}
	s.Phase = phase
	pupils, err := parseCount(h.value(record, colPupils))
	if err != nil {
		return School{}, fmt.Sprintf("urn %s: %s %s", s.URN, colPupils, err)
	}
	s.Pupils = pupils
	fsm, reason := parseFSM(h.value(record, colFSM), pupils)
	if reason != "" {
		return School{}, fmt.Sprintf("urn %s: %s", s.URN, reason)
	}
	s.DisadvantagedPupils = fsm
	return s, ""
}

// phaseOf maps a phase grouping to the API's phase. Independent schools have
// no phase in the file beyond "special" or not.
func phaseOf(grouping, establishmentType string) (mhstv1alpha1.SettingPhase, bool) {
	if grouping == groupingIndependent {
		if establishmentType == independentSpecial {
			return mhstv1alpha1.PhaseSpecial, true
		}
		return mhstv1alpha1.PhaseAllThrough, true
	}
	phase, ok := statePhases[grouping]
	return phase, ok
}

// parseCount parses a pupil count: a whole number from 0 to MaxPupils.
func parseCount(value string) (int32, error) {
	n, err := strconv.ParseInt(value, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", value)
	}
	if n < 0 || n > MaxPupils {
		return 0, fmt.Errorf("%d is outside 0 to %d", n, MaxPupils)
	}
	return int32(n), nil
}

// parseFSM parses the free school meals count, nil when the register
// suppresses it ("z") or leaves it empty.
func parseFSM(value string, pupils int32) (*int32, string) {
	if value == "" || strings.EqualFold(value, "z") {
		return nil, ""
	}
	n, err := parseCount(value)
	if err != nil {
		return nil, fmt.Sprintf("free school meals %s", err)
	}
	if n > pupils {
		return nil, fmt.Sprintf("free school meals %d is more than the %d pupils", n, pupils)
	}
	return &n, ""
}
