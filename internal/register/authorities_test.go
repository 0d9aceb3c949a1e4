package register

import (
	"strings"
	"testing"
)

func TestReadAuthorities(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []Authority
		wantErr string
	}{
		{
			name: "DfE number z is none",
			input: csvOf(`"old_la_code","new_la_code","la_name","region_code","region_name"`,
				`"805","E06000001","Hartlepool","E12000001","North East"`,
				`"z","E08000039","Sheffield","E12000003","Yorkshire and The Humber"`),
			want: []Authority{
				{Code: "E06000001", OldCode: "805", Name: "Hartlepool", RegionCode: "E12000001", RegionName: "North East"},
				{Code: "E08000039", Name: "Sheffield", RegionCode: "E12000003", RegionName: "Yorkshire and The Humber"},
			},
		},
		{
			name:    "missing region",
			input:   csvOf(`"old_la_code","new_la_code","la_name","region_code"`),
			wantErr: `missing column "region_name"`,
		},
		{
			name: "code twice",
			input: csvOf(`"old_la_code","new_la_code","la_name","region_code","region_name"`,
				`"805","E06000001","Hartlepool","E12000001","North East"`,
				`"806","E06000001","Middlesbrough","E12000001","North East"`),
			wantErr: "line 3: new_la_code E06000001 is also on line 2",
		},
		{
			name: "no code",
			input: csvOf(`"old_la_code","new_la_code","la_name","region_code","region_name"`,
				`"805","","Hartlepool","E12000001","North East"`),
			wantErr: "line 2: needs both new_la_code and la_name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadAuthorities(strings.NewReader(tt.input))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("authority %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestDirectoryResolve(t *testing.T) {
	dir := NewDirectory([]Authority{
		{Code: "E06000065", OldCode: "815", Name: "North Yorkshire"},
		{Code: "E08000035", OldCode: "383", Name: "Leeds"},
		{Code: "E08000039", Name: "Sheffield"},
	})
	tests := []struct {
		name   string
		school School
		want   string // the resolved code, empty when unresolved
	}{
		{name: "same code", school: School{LACode: "E08000035", OldLACode: "383"}, want: "E08000035"},
		{name: "code changed, DfE number kept", school: School{LACode: "E10000023", OldLACode: "815"}, want: "E06000065"},
		{name: "code changed, no DfE number in the lookup", school: School{LACode: "E08000019", OldLACode: "373"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := dir.Resolve(tt.school)
			if ok != (tt.want != "") || got.Code != tt.want {
				t.Errorf("Resolve = %q, %v; want %q", got.Code, ok, tt.want)
			}
		})
	}
}

// TestUnmatchedAuthoritiesRealFiles checks the join on the real files: of the
// five 2022/23 codes the lookup no longer has, North Yorkshire and Somerset
// join on their DfE number; Cumbria (split in two) and Sheffield and
// Barnsley (whose lookup rows have no DfE number) still miss.
func TestUnmatchedAuthoritiesRealFiles(t *testing.T) {
	file, err := ReadSchools(openReal(t, "schools-england-2022-23.csv"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	authorities, err := ReadAuthorities(openReal(t, "local-authorities-england.csv"))
	if err != nil {
		t.Fatal(err)
	}
	unmatched := NewDirectory(authorities).UnmatchedAuthorities(file.Schools)
	var got []string
	for _, u := range unmatched {
		got = append(got, u.Code+" "+u.Name)
	}
	want := "E08000016 Barnsley,E08000019 Sheffield,E10000006 Cumbria"
	if strings.Join(got, ",") != want {
		t.Errorf("unmatched = %v, want %s", got, want)
	}
}
