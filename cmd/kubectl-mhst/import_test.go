package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/register"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// schoolsFile is the DfE register kept in the repository, relative to this package.
const schoolsFile = "../../hack/data/schools-england-2022-23.csv"

func requireRegister(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(schoolsFile); err != nil {
		t.Fatalf("the DfE register: %v", err)
	}
}

// TestImportGolden compares the manifests of two real authorities with the
// files in testdata/: the Isles of Scilly (one school) and Rutland (22
// state-funded schools, 6 independent ones skipped). Run with -update to
// rewrite them after an intended change, and review the diff.
func TestImportGolden(t *testing.T) {
	requireRegister(t)
	tests := []struct {
		golden string
		args   []string
	}{
		{
			golden: "isles-of-scilly.yaml",
			args: []string{"--la", "E06000053", "--wave", "1",
				"--board", "Group:cornwall-ios-icb:Health:Chair", "--board", "Group:ios-schools:Education"},
		},
		{
			golden: "rutland.yaml",
			args: []string{"--la", "E06000017", "--wave", "2",
				"--board", "Group:llr-icb:Health", "--board", "Group:oidc:rutland-schools:Education:Chair",
				"--board", "User:youth.council@rutland.gov.uk:YoungPeople", "--lead", "User:mhst.lead@rutland.gov.uk"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"import", "--file", schoolsFile}, tt.args...)
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(stdout.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update after an intended change):\n%s", path, stdout.String())
			}
			if !strings.Contains(stdout.String(), register.Attribution) {
				t.Errorf("output lacks the licence attribution")
			}
		})
	}
}

func TestImportOutDir(t *testing.T) {
	requireRegister(t)
	dir := filepath.Join(t.TempDir(), "areas")
	var stdout, stderr bytes.Buffer
	args := []string{"import", "--file", schoolsFile, "--la", "E06000053,E06000017", "--wave", "1",
		"--board", "Group:icb:Health", "--board", "Group:schools:Education", "--out", dir}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing with --out", stdout.String())
	}
	for _, name := range []string{"isles-of-scilly.yaml", "rutland.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("# LocalArea ")) || !bytes.Contains(data, []byte(register.Attribution)) {
			t.Errorf("%s does not start with the area's comment and attribution", name)
		}
	}
}

func TestImportErrors(t *testing.T) {
	board := []string{"--board", "Group:icb:Health"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
		realData bool
	}{
		{name: "no file", args: append([]string{"--la", "E06000053", "--wave", "1"}, board...), wantCode: 2, wantErr: "--file is required"},
		{name: "no area", args: append([]string{"--file", "x.csv", "--wave", "1"}, board...), wantCode: 2, wantErr: "--la is required"},
		{name: "no wave", args: append([]string{"--file", "x.csv", "--la", "E06000053"}, board...), wantCode: 2, wantErr: "--wave is required"},
		{name: "negative wave", args: append([]string{"--file", "x.csv", "--la", "E06000053", "--wave", "-1"}, board...), wantCode: 2, wantErr: "--wave -1 is not 0 or more"},
		{name: "no board", args: []string{"--file", "x.csv", "--la", "E06000053", "--wave", "1"}, wantCode: 2, wantErr: "at least one --board"},
		{name: "bad board", args: []string{"--file", "x.csv", "--la", "E06000053", "--wave", "1", "--board", "Team:x:Health"}, wantCode: 2, wantErr: `kind "Team" is not User or Group`},
		{name: "json output", args: append([]string{"--file", "x.csv", "--la", "E06000053", "--wave", "1", "-o", "json"}, board...), wantCode: 2, wantErr: "only yaml"},
		{name: "missing file", args: append([]string{"--file", "does-not-exist.csv", "--la", "E06000053", "--wave", "1"}, board...), wantCode: 1, wantErr: "open schools file"},
		{name: "same area twice", args: append([]string{"--file", schoolsFile, "--la", "E10000023,E06000065", "--wave", "1"}, board...), wantCode: 1, wantErr: "are the same area, north-yorkshire", realData: true},
		{name: "unknown authority", args: append([]string{"--file", schoolsFile, "--la", "E06999999", "--wave", "1"}, board...), wantCode: 1, wantErr: "no local authority has the code E06999999", realData: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.realData {
				requireRegister(t)
			}
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"import"}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestImportSkipInvalid(t *testing.T) {
	dir := t.TempDir()
	schools := filepath.Join(dir, "schools.csv")
	authorities := filepath.Join(dir, "local-authorities-england.csv")
	header := `"urn","school_name","phase_type_grouping","typeofestablishment_name","new_la_code","old_la_code","la_name","region_code","region_name","headcount of pupils","number of pupils known to be eligible for free school meals"`
	rows := []string{
		header,
		`"100000","The Aldgate School","State-funded primary","Voluntary aided school","E09000001","201","City of London","E12000007","London",271,"49"`,
		`"10000","Short URN","State-funded primary","Voluntary aided school","E09000001","201","City of London","E12000007","London",10,"1"`,
	}
	writeFile(t, schools, strings.Join(rows, "\n")+"\n")
	writeFile(t, authorities, `"old_la_code","new_la_code","la_name","region_code","region_name"`+"\n"+
		`"201","E09000001","City of London","E12000007","London"`+"\n")
	base := []string{"import", "--file", schools, "--la", "E09000001", "--wave", "1", "--board", "Group:icb:Health", "--board", "Group:s:Education"}

	var stdout, stderr bytes.Buffer
	if code := run(base, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), `line 3: urn "10000" is not 6 or 7 digits`) {
		t.Errorf("without --skip-invalid: exit %d, stderr %q; want exit 1 naming line 3", code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(append(base, "--skip-invalid"), &stdout, &stderr); code != 0 {
		t.Fatalf("with --skip-invalid: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "line 3:") || !strings.Contains(stdout.String(), `urn: "100000"`) ||
		strings.Contains(stdout.String(), "Short URN") {
		t.Errorf("with --skip-invalid: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBoardFlag(t *testing.T) {
	tests := []struct {
		value   string
		want    mhstv1alpha1.BoardMember
		wantErr string
	}{
		{value: "Group:leeds-icb:Health", want: mhstv1alpha1.BoardMember{Kind: "Group", Name: "leeds-icb", Sector: "Health"}},
		{value: "User:chair@leeds.gov.uk:LocalAuthority:Chair", want: mhstv1alpha1.BoardMember{Kind: "User", Name: "chair@leeds.gov.uk", Sector: "LocalAuthority", Role: "Chair"}},
		{value: "Group:oidc:leeds-schools:Education", want: mhstv1alpha1.BoardMember{Kind: "Group", Name: "oidc:leeds-schools", Sector: "Education"}},
		{value: "Group:Chair:Health", want: mhstv1alpha1.BoardMember{Kind: "Group", Name: "Chair", Sector: "Health"}},
		{value: "Group:leeds-icb", wantErr: "want Kind:name:Sector[:Role]"},
		{value: "group:leeds-icb:Health", wantErr: `kind "group" is not User or Group`},
		{value: "Group:leeds-icb:NHS", wantErr: `sector "NHS" is not one of`},
		{value: "Group::Health", wantErr: "the name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			var b boardFlag
			err := b.Set(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != 1 || b[0] != tt.want {
				t.Errorf("board = %+v, want %+v", b, tt.want)
			}
		})
	}
}

func TestLeadAndCodesFlags(t *testing.T) {
	var leads leadFlag
	if err := leads.Set("User:oidc:jo@nhs.net"); err != nil || leads[0] != (mhstv1alpha1.Subject{Kind: "User", Name: "oidc:jo@nhs.net"}) {
		t.Errorf("lead = %+v, %v", leads, err)
	}
	if err := leads.Set("User"); err == nil {
		t.Error("a lead without a name was accepted")
	}
	var codes codesFlag
	if err := codes.Set("E06000001, E06000002"); err != nil || codes.String() != "E06000001,E06000002" {
		t.Errorf("codes = %v, %v", codes, err)
	}
	if err := codes.Set("E06000003,E06000001"); err == nil || !strings.Contains(err.Error(), "E06000001 is given twice") {
		t.Errorf("a code given twice: %v", err)
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{args: nil, wantCode: 2, wantStderr: "a command is required"},
		{args: []string{"frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{args: []string{"-h"}, wantCode: 0, wantStdout: "Commands:"},
		{args: []string{"version"}, wantCode: 0, wantStdout: "kubectl-mhst dev ("},
		{args: []string{"import", "-h"}, wantCode: 0, wantStderr: "--board"},
		{args: []string{"coverage", "-h"}, wantCode: 0, wantStderr: "-kubeconfig"},
		{args: []string{"coverage", "-o", "xml"}, wantCode: 2, wantStderr: `-o "xml" is not one of table, json, csv, markdown`},
		{args: []string{"coverage", "extra"}, wantCode: 2, wantStderr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantStdout) || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

// TestImportTargets imports Rutland from the real register with dated
// targets, given out of order, and reads the LocalArea back.
func TestImportTargets(t *testing.T) {
	requireRegister(t)
	var stdout, stderr bytes.Buffer
	args := []string{"import", "--file", schoolsFile, "--la", "E06000017", "--wave", "2",
		"--board", "Group:llr-icb:Health", "--board", "Group:rutland-schools:Education",
		"--target", "2026-03-31=100", "--target", "2025-03-31=50"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	first, _, _ := strings.Cut(stdout.String(), "\n---\n")
	var area mhstv1alpha1.LocalArea
	if err := yaml.UnmarshalStrict([]byte(first), &area); err != nil {
		t.Fatalf("the LocalArea does not parse: %v\n%s", err, first)
	}
	want := []mhstv1alpha1.DatedTarget{{By: "2025-03-31", Percent: 50}, {By: "2026-03-31", Percent: 100}}
	if area.Kind != "LocalArea" || !reflect.DeepEqual(area.Spec.Targets, want) {
		t.Errorf("LocalArea %s has targets %+v, want %+v in date order", area.Name, area.Spec.Targets, want)
	}
	if n := strings.Count(stdout.String(), "kind: SchoolCoverage"); n != 1 {
		t.Errorf("%d SchoolCoverages, want Rutland's one list", n)
	}
}

func TestImportTargetErrors(t *testing.T) {
	requireRegister(t)
	base := []string{"import", "--file", schoolsFile, "--la", "E06000017", "--wave", "2", "--board", "Group:icb:Health"}
	tests := []struct {
		targets  []string
		wantCode int
		wantErr  string
	}{
		{[]string{"2025-03-31"}, 2, "want YYYY-MM-DD=PERCENT"},
		{[]string{"2025-03-31=half"}, 2, `the percentage "half" is not a whole number`},
		{[]string{"31/03/2025=50"}, 1, `target date "31/03/2025" is not a date written YYYY-MM-DD`},
		{[]string{"2025-02-30=50"}, 1, `target date "2025-02-30" is not a date`},
		{[]string{"2025-03-31=101"}, 1, "101 is not a percentage from 0 to 100"},
		{[]string{"2025-03-31=50", "2025-03-31=60"}, 1, "two targets for 2025-03-31"},
	}
	for _, tt := range tests {
		args := slices.Clone(base)
		for _, target := range tt.targets {
			args = append(args, "--target", target)
		}
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("--target %v: exit %d, stderr %q; want exit %d and %q", tt.targets, code, stderr.String(), tt.wantCode, tt.wantErr)
		}
	}
}
