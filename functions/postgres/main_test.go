package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/deactivation"
)

// TestWire checks the function's configuration: each bad variable fails the
// start with an error naming it; a good environment wires the engine.
func TestWire(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "bundle.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"SECRETS_MANAGER_ENDPOINT": "http://127.0.0.1:1",
	}
	cases := []struct {
		name     string
		env      map[string]string
		wantErr  string
		strategy postgres.Strategy
		gate     bool
	}{
		{"defaults", nil, "", postgres.AlternatingUsers, false},
		{"single user", map[string]string{"ROTATION_STRATEGY": "single-user"}, "", postgres.SingleUser, false},
		{"unknown strategy", map[string]string{"ROTATION_STRATEGY": "round-robin"}, "ROTATION_STRATEGY", "", false},
		{"bad length", map[string]string{"PASSWORD_LENGTH": "many"}, "PASSWORD_LENGTH", "", false},
		{"bad source", map[string]string{"PASSWORD_SOURCE": "dice"}, "PASSWORD_SOURCE", "", false},
		{"missing CA bundle", map[string]string{"ROTOR_CA_BUNDLE": "/nonexistent/bundle.pem"}, "ROTOR_CA_BUNDLE", "", false},
		{"CA bundle without a certificate", map[string]string{"ROTOR_CA_BUNDLE": notPEM}, "ROTOR_CA_BUNDLE", "", false},
		{"events without fingerprints", map[string]string{"ROTOR_EVENT_BUS": "rotor-events"}, "", postgres.AlternatingUsers, true},
		{"bad event bus", map[string]string{"ROTOR_EVENT_BUS": "rotor events"}, "ROTOR_EVENT_BUS", "", false},
		{"gate locks idle users", map[string]string{"ROTOR_EVENT_BUS": "rotor-events", "ROTOR_LOCK_IDLE_USER": "true", "ROTOR_GRACE_PERIOD": "2h"}, "", postgres.AlternatingUsers, true},
		{"bad lock flag", map[string]string{"ROTOR_LOCK_IDLE_USER": "sometimes"}, "ROTOR_LOCK_IDLE_USER", "", false},
		{"bad grace period", map[string]string{"ROTOR_EVENT_BUS": "rotor-events", "ROTOR_GRACE_PERIOD": "a while"}, "ROTOR_GRACE_PERIOD", "", false},
		{"grace period within a consumer cache's lifetime", map[string]string{"ROTOR_EVENT_BUS": "rotor-events", "ROTOR_GRACE_PERIOD": "5m"}, "ROTOR_GRACE_PERIOD", "", false},
		{"grace period checked without events too (Set applies it)", map[string]string{"ROTOR_GRACE_PERIOD": "300s"}, "ROTOR_GRACE_PERIOD", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range base {
				t.Setenv(k, v)
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			engine, gate, err := wire(context.Background(), slog.New(slog.DiscardHandler))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("want an error naming %s, got %v", c.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if (gate != nil) != c.gate {
				t.Errorf("want a gate %v, got %v (the gate runs when events are on)", c.gate, gate != nil)
			}
			if got := engine.Info(); got.Type != postgres.Type || got.Strategy != string(c.strategy) {
				t.Errorf("want %s/%s, got %s/%s", postgres.Type, c.strategy, got.Type, got.Strategy)
			}
		})
	}
}

// Set applies the grace policy only once the deployment asked for one: a
// function swapped in for AWS's changes the previous user's password as
// AWS's does.
func TestSetGrace(t *testing.T) {
	settings := deactivation.Settings{GracePeriod: 2 * time.Hour}
	if got := setGrace(false, settings); got != 0 {
		t.Errorf("neither variable set: want no grace policy for Set, got %v", got)
	}
	if got := setGrace(true, settings); got != 2*time.Hour {
		t.Errorf("ROTOR_LOCK_IDLE_USER=true: want the grace period, got %v", got)
	}
	settings.GracePeriodSet = true
	if got := setGrace(false, settings); got != 2*time.Hour {
		t.Errorf("ROTOR_GRACE_PERIOD set: want the grace period, got %v", got)
	}
}
