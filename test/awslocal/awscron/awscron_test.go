package awscron

import (
	"testing"
	"time"
)

func TestGronx(t *testing.T) {
	tests := []struct {
		fields []string
		want   string
		ok     bool
	}{
		{[]string{"0", "16", "?", "*", "1", "*"}, "0 0 16 ? * 0 *", true},   // Sundays
		{[]string{"0", "8", "?", "*", "2-6", "*"}, "0 0 8 ? * 1-5 *", true}, // Monday to Friday
		{[]string{"0", "8", "?", "*", "7,1", "*"}, "0 0 8 ? * 6,0 *", true}, // weekends
		{[]string{"0", "8", "?", "*", "*", "*"}, "0 0 8 ? * * *", true},     // no weekday number
		{[]string{"0", "8", "?", "*", "*"}, "", false},                      // five fields
		{[]string{"99", "8", "?", "*", "*", "*"}, "0 99 8 ? * * *", false},  // minute out of range
	}
	for _, tt := range tests {
		got, ok := Gronx(tt.fields)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("Gronx(%q): want %q %v, got %q %v", tt.fields, tt.want, tt.ok, got, ok)
		}
	}
	expr, _ := Gronx([]string{"0", "16", "?", "*", "1", "*"})
	from := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) // a Sunday
	next, err := Next(expr, from)
	if want := time.Date(2026, 12, 6, 16, 0, 0, 0, time.UTC); err != nil || !next.Equal(want) {
		t.Errorf("Next: want %v, got %v (%v)", want, next, err)
	}
}
