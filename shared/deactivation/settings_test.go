package deactivation_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/shared/deactivation"
)

func TestSettingsFromEnv(t *testing.T) {
	base := map[string]string{deactivation.EnvGracePeriod: "90m", deactivation.EnvSecrets: "app/a, arn:aws:secretsmanager:us-east-1:123456789012:secret:app/b-x1,,"}
	tests := []struct {
		name      string
		tweak     func(env map[string]string)
		want      deactivation.Settings
		wantField string
	}{
		{name: "baseline", tweak: func(map[string]string) {},
			want: deactivation.Settings{GracePeriod: 90 * time.Minute, Secrets: []string{"app/a", "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/b-x1"}}},
		{name: "defaults", tweak: func(env map[string]string) { clear(env) }, want: deactivation.Settings{GracePeriod: deactivation.DefaultGracePeriod}},
		{name: "grace not a duration", tweak: func(env map[string]string) { env[deactivation.EnvGracePeriod] = "1 day" }, wantField: deactivation.EnvGracePeriod},
		{name: "grace negative", tweak: func(env map[string]string) { env[deactivation.EnvGracePeriod] = "-1h" }, wantField: deactivation.EnvGracePeriod},
		{name: "grace of AWS's agent cache", tweak: func(env map[string]string) { env[deactivation.EnvGracePeriod] = "300s" }, wantField: deactivation.EnvGracePeriod},
		{name: "grace of rotor's consumer cache", tweak: func(env map[string]string) { env[deactivation.EnvGracePeriod] = "5m30s" }, wantField: deactivation.EnvGracePeriod},
		{name: "grace just longer", tweak: func(env map[string]string) { env[deactivation.EnvGracePeriod] = "331s" },
			want: deactivation.Settings{GracePeriod: 331 * time.Second, Secrets: []string{"app/a", "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/b-x1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			tt.tweak(env)
			got, err := deactivation.SettingsFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if tt.wantField != "" {
				var fe *deactivation.FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("want a FieldError naming %s, got %v", tt.wantField, err)
				}
				return
			}
			if err != nil || got.GracePeriod != tt.want.GracePeriod || !slices.Equal(got.Secrets, tt.want.Secrets) {
				t.Fatalf("want %+v, got %+v (%v)", tt.want, got, err)
			}
		})
	}
}

// TestConfigGracePeriod: the gate's configuration refuses a grace period
// within the longest consumer cache lifetime, naming the field.
func TestConfigGracePeriod(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 300 * time.Second, deactivation.LongestCacheLifetime} {
		_, err := deactivation.New(deactivation.Config{Store: nopStore{}, Publisher: nopPublisher{}, GracePeriod: d})
		var fe *deactivation.FieldError
		if !errors.As(err, &fe) || fe.Field != "GracePeriod" {
			t.Errorf("grace period %s: want a FieldError naming GracePeriod, got %v", d, err)
		}
	}
	if _, err := deactivation.New(deactivation.Config{Store: nopStore{}, Publisher: nopPublisher{}, GracePeriod: time.Hour}); err != nil {
		t.Errorf("grace period 1h: want no error, got %v", err)
	}
}

type nopStore struct{ deactivation.Store }

type nopPublisher struct{ deactivation.Publisher }

// TestParseRegistration: the registration tag's value; each case tweaks a
// valid baseline.
func TestParseRegistration(t *testing.T) {
	tests := []struct {
		name, value   string
		wantAccount   string
		wantInstances int
		wantErr       bool
	}{
		{"free words only", "sqs queue-orders", "", 1, false},
		{"empty", "", "", 1, false},
		{"baseline", "bus account=111122223333 instances=3", "111122223333", 3, false},
		{"instances at the tag limit", "instances=50", "", 50, false},
		{"account of 11 digits", "account=11112222333", "", 0, true},
		{"account with a letter", "account=11112222333x", "", 0, true},
		{"instances zero", "instances=0", "", 0, true},
		{"instances above the tag limit", "instances=51", "", 0, true},
		{"instances not a number", "instances=three", "", 0, true},
		{"unknown key", "sqs instance=3", "", 0, true},
		{"key twice", "instances=2 instances=3", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := deactivation.ParseRegistration("orders-api", tt.value)
			if tt.wantErr {
				if r.Err == nil || !strings.Contains(r.Err.Error(), "orders-api") {
					t.Fatalf("want an error naming the consumer, got %+v", r)
				}
				return
			}
			if r.Err != nil || r.Account != tt.wantAccount || r.Instances != tt.wantInstances {
				t.Fatalf("want account %q, %d instances, got %+v", tt.wantAccount, tt.wantInstances, r)
			}
		})
	}
}

// GracePeriodSet tells a chosen grace policy from the default one.
func TestSettingsGracePeriodSet(t *testing.T) {
	for env, want := range map[string]bool{"": false, "2h": true} {
		lookup := func(k string) (string, bool) {
			if k == deactivation.EnvGracePeriod && env != "" {
				return env, true
			}
			return "", false
		}
		s, err := deactivation.SettingsFromEnv(lookup)
		if err != nil || s.GracePeriodSet != want {
			t.Errorf("ROTOR_GRACE_PERIOD %q: want GracePeriodSet %v, got %v (%v)", env, want, s.GracePeriodSet, err)
		}
	}
}
