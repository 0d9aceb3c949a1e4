package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParsePriorityClasses(t *testing.T) {
	tests := []struct {
		list    string
		want    []string
		wantErr string
	}{
		{list: "", want: nil},
		{list: " , ", want: nil},
		{list: "mhst-standard", want: []string{"mhst-standard"}},
		{list: "mhst-standard, mhst-high,mhst-standard", want: []string{"mhst-standard", "mhst-high"}},
		{list: "mhst-standard,Mhst_High", wantErr: `"Mhst_High" is not a PriorityClass name`},
	}
	for _, tt := range tests {
		got, err := parsePriorityClasses(tt.list)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: error %v, want one saying %s", tt.list, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tt.list, err)
		case !slices.Equal(got, tt.want):
			t.Errorf("%q: got %q, want %q", tt.list, got, tt.want)
		}
	}
}
