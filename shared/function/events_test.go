package function

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
)

// TestLoadEvents reads the event configuration against the local endpoint:
// each case tweaks one valid environment (bus and key secret set).
func TestLoadEvents(t *testing.T) {
	calls := &awstest.Calls{}
	srv, err := awslocal.Start(awslocal.Options{OnCall: calls.Observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cfg := awstest.Config(srv.URL)
	cfg.RetryMaxAttempts = 1
	smc := sm.NewFromConfig(cfg)
	key := "Fingerprint-Key-" + strings.Repeat("k", 32)
	for name, value := range map[string]string{"rotor/fingerprint-key": key, "rotor/short-key": "Short-Key-16-Byt"} {
		if _, err := smc.CreateSecret(t.Context(), &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String("rotor-events")}); err != nil {
		t.Fatal(err)
	}

	base := map[string]string{
		"AWS_REGION": awslocal.DefaultRegion, "AWS_ACCESS_KEY_ID": awslocal.DefaultAccount, "AWS_SECRET_ACCESS_KEY": "x",
		"SECRETS_MANAGER_ENDPOINT": srv.URL, "AWS_ENDPOINT_URL_EVENTBRIDGE": srv.URL,
		EventBusEnv: "rotor-events", FingerprintKeySecretEnv: "rotor/fingerprint-key",
	}
	cases := []struct {
		name      string
		env       map[string]string // "" unsets
		wantErr   string
		publisher bool
		fp        bool
		warning   bool
	}{
		{name: "events with fingerprints", publisher: true, fp: true},
		{name: "endpoint from AWS_ENDPOINT_URL", env: map[string]string{"AWS_ENDPOINT_URL_EVENTBRIDGE": "", "AWS_ENDPOINT_URL": srv.URL}, publisher: true, fp: true},
		{name: "events off", env: map[string]string{EventBusEnv: ""}},
		{name: "no key secret", env: map[string]string{FingerprintKeySecretEnv: ""}, publisher: true, warning: true},
		{name: "bad bus name", env: map[string]string{EventBusEnv: "rotor events!"}, wantErr: EventBusEnv},
		{name: "key secret missing", env: map[string]string{FingerprintKeySecretEnv: "rotor/no-such-key"}, wantErr: FingerprintKeySecretEnv},
		{name: "key too short", env: map[string]string{FingerprintKeySecretEnv: "rotor/short-key"}, wantErr: FingerprintKeySecretEnv},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range base {
				t.Setenv(k, v)
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			env, err := LoadEnv(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			logs := &bytes.Buffer{}
			reads := calls.Get("secretsmanager.GetSecretValue")
			ev, err := env.LoadEvents(t.Context(), slog.New(slog.NewJSONHandler(logs, nil)))
			for _, text := range []string{logs.String(), errText(err)} {
				if strings.Contains(text, key) || strings.Contains(text, "Short-Key-16-Byt") {
					t.Errorf("want no key in logs or errors, got %s", text)
				}
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("want an error naming %s, got %v", c.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if (ev.Publisher != nil) != c.publisher || (ev.Fingerprinter != nil) != c.fp {
				t.Fatalf("want publisher %v and fingerprinter %v, got %v and %v", c.publisher, c.fp, ev.Publisher != nil, ev.Fingerprinter != nil)
			}
			wantReads := 0
			if c.fp {
				wantReads = 1
			}
			if got := calls.Get("secretsmanager.GetSecretValue") - reads; got != wantReads {
				t.Errorf("want %d read of the key secret, got %d", wantReads, got)
			}
			if got := strings.Count(logs.String(), FingerprintKeySecretEnv+" is not set"); (got == 1) != c.warning || got > 1 {
				t.Errorf("want the missing key warned about once: %v, got %d warnings", c.warning, got)
			}
			if c.fp {
				want, _ := events.NewFingerprinter([]byte(key))
				if got := ev.Fingerprinter.Fingerprint([]byte("v")); got != want.Fingerprint([]byte("v")) {
					t.Errorf("want fingerprints under the secret's key, got %s", got)
				}
			}
			if ev.Publisher == nil {
				return
			}
			before := calls.Get("AWSEvents.PutEvents")
			if err := ev.Publisher.Publish(t.Context(), testEvent()); err != nil {
				t.Fatalf("want the event published on the endpoint, got %v", err)
			}
			if got := calls.Get("AWSEvents.PutEvents") - before; got != 1 {
				t.Errorf("want 1 PutEvents call at the endpoint, got %d", got)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func testEvent() events.Event {
	return events.Event{DetailType: events.Completed, Detail: events.Detail{
		SchemaVersion: events.SchemaVersion, SecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbC123",
		SecretName: "app", Phase: events.PhasePropagate, VersionID: "v2", Outcome: events.OutcomeSucceeded,
		Time: time.Now().UTC(),
	}}
}
