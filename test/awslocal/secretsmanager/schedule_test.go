package secretsmanager

import (
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/shared/secretstore/memstore"
)

func TestParseRules(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC) // a Wednesday
	tests := []struct {
		name    string
		rules   memstore.RotationRules
		want    time.Time
		wantErr string
	}{
		{name: "days", rules: memstore.RotationRules{AutomaticallyAfterDays: 30}, want: base.Add(30 * 24 * time.Hour)},
		{name: "rate hours", rules: memstore.RotationRules{ScheduleExpression: "rate(4 hours)"}, want: base.Add(4 * time.Hour)},
		{name: "rate days", rules: memstore.RotationRules{ScheduleExpression: "rate(10 days)", Duration: "2h"}, want: base.Add(240 * time.Hour)},
		{name: "cron daily", rules: memstore.RotationRules{ScheduleExpression: "cron(0 16 * * ? *)"}, want: time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)},
		{name: "cron weekday 1 is Sunday", rules: memstore.RotationRules{ScheduleExpression: "cron(0 8 ? * 1 *)"}, want: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)},
		{name: "cron weekday names", rules: memstore.RotationRules{ScheduleExpression: "cron(0 8 ? * MON *)"}, want: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)},
		{name: "both kinds", rules: memstore.RotationRules{AutomaticallyAfterDays: 1, ScheduleExpression: "rate(1 days)"}, wantErr: "both"},
		{name: "neither", rules: memstore.RotationRules{}, wantErr: "must contain"},
		{name: "too many days", rules: memstore.RotationRules{AutomaticallyAfterDays: 1001}, wantErr: "AutomaticallyAfterDays"},
		{name: "rate too fast", rules: memstore.RotationRules{ScheduleExpression: "rate(1 hours)"}, wantErr: "4 hours"},
		{name: "rate minutes", rules: memstore.RotationRules{ScheduleExpression: "rate(5 minutes)"}, wantErr: "not valid"},
		{name: "cron every hour", rules: memstore.RotationRules{ScheduleExpression: "cron(0 * * * ? *)"}, wantErr: "4 hours"},
		{name: "cron five fields", rules: memstore.RotationRules{ScheduleExpression: "cron(0 8 * * ?)"}, wantErr: "six fields"},
		{name: "cron both days", rules: memstore.RotationRules{ScheduleExpression: "cron(0 8 1 * MON *)"}, wantErr: "exactly one"},
		{name: "bad duration", rules: memstore.RotationRules{AutomaticallyAfterDays: 1, Duration: "90m"}, wantErr: "Duration"},
		{name: "duration too long", rules: memstore.RotationRules{AutomaticallyAfterDays: 1, Duration: "25h"}, wantErr: "Duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseRules(tt.rules)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			got, err := s.next(base)
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("want next rotation %v, got %v (%v)", tt.want, got, err)
			}
		})
	}
}
