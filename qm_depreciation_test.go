package qm_test

import (
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

func TestBookValue(t *testing.T) {
	cost := int64(120000)
	day := time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		purchased string
		months    int
		want      int64
		none      bool
	}{
		{"2026-07-15", 36, 120000, false}, // bought today
		{"2025-07-15", 36, 80000, false},  // a third gone
		{"2025-07-16", 36, 83333, false},  // 11 whole months
		{"2020-01-01", 36, 0, false},      // fully written off
		{"2027-01-01", 36, 120000, false}, // bought later: nothing gone
		{"", 36, 0, true},
		{"someday", 36, 0, true},
	} {
		got := qm.BookValue(&cost, tc.purchased, tc.months, day)
		if tc.none {
			if got != nil {
				t.Errorf("%s: got %d, want none", tc.purchased, *got)
			}
			continue
		}
		if got == nil || *got != tc.want {
			t.Errorf("%s over %d months: got %v, want %d", tc.purchased, tc.months, got, tc.want)
		}
	}
	if qm.BookValue(nil, "2025-01-01", 12, day) != nil {
		t.Error("no cost: got a value")
	}
}
