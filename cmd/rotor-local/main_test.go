package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/rotorhq/rotor/test/awslocal"
)

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := run(ctx, options{addr: "127.0.0.1:0", account: "123456789012", region: "us-east-1", speed: 1, logLevel: "info"}); err != nil {
		t.Fatalf("want a clean stop, got %v", err)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantBuses string
		wantLog   string
		wantErr   string
	}{
		{name: "defaults", args: nil},
		{name: "audit log", args: []string{"-audit-log", "a.jsonl"}, wantLog: "a.jsonl"},
		{name: "repeated bus", args: []string{"-audit-log", "a.jsonl", "-audit-bus", "default", "-audit-bus", "rotor-events"}, wantLog: "a.jsonl", wantBuses: "default,rotor-events"},
		{name: "comma list", args: []string{"-audit-log", "a.jsonl", "-audit-bus", "default, rotor-events", "-audit-bus", "other"}, wantLog: "a.jsonl", wantBuses: "default,rotor-events,other"},
		{name: "empty bus", args: []string{"-audit-bus", "default,,x"}, wantErr: "-audit-bus"},
		{name: "stray argument", args: []string{"-audit-log", "a.jsonl", "extra"}, wantErr: "unexpected argument"},
		{name: "unknown flag", args: []string{"-audit-logs", "a.jsonl"}, wantErr: "audit-logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			o, err := parseFlags(tt.args, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error()+out.String(), tt.wantErr) {
					t.Fatalf("want an error naming %s, got %v (%s)", tt.wantErr, err, out.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.auditLog != tt.wantLog || o.auditBuses.String() != tt.wantBuses {
				t.Fatalf("want -audit-log %q and buses %q, got %q and %q", tt.wantLog, tt.wantBuses, o.auditLog, o.auditBuses.String())
			}
			if o.addr != "127.0.0.1:4566" || o.logLevel != "info" || o.retries != 3 {
				t.Fatalf("want the other defaults kept, got %+v", o)
			}
		})
	}
}

// TestAuditLog: with -audit-log, an event put on an -audit-bus after the
// endpoint is up reaches the file, and a stop leaves it whole.
func TestAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	ready := make(chan *awslocal.Server, 1)
	o := options{addr: "127.0.0.1:0", account: "123456789012", region: "us-east-1", speed: 1, logLevel: "warn",
		auditLog: path, auditBuses: commaList{"default", "rotor-events"}, onReady: func(s *awslocal.Server) { ready <- s }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, o) }()
	var srv *awslocal.Server
	select {
	case srv = <-ready:
	case err := <-done:
		t.Fatalf("want rotor-local running, got %v", err)
	}

	body, err := os.ReadFile("../../events/testdata/rotation-completed.json")
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	json.Unmarshal(body, &env)
	eb := eventbridge.NewFromConfig(aws.Config{
		Region: o.region, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(o.account, "x", ""),
	})
	out, err := eb.PutEvents(t.Context(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String("rotor-events"), Source: aws.String("rotor"),
		DetailType: aws.String(env.DetailType), Detail: aws.String(string(env.Detail)),
	}}})
	if err != nil || out.FailedEntryCount > 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	id := aws.ToString(out.Entries[0].EventId)

	// Wait (bounded) for the line; the assertions follow the stop.
	wait, stopWaiting := context.WithTimeout(t.Context(), time.Minute)
	defer stopWaiting()
	for {
		data, _ := os.ReadFile(path)
		if bytes.Contains(data, []byte(id)) {
			break
		}
		select {
		case <-wait.Done():
			t.Fatalf("want the event %s in %s, got %q", id, path, data)
		case err := <-done:
			t.Fatalf("rotor-local stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("want a clean stop, got %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line, got %d: %s", len(lines), data)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("want a JSON line, got %q: %v", lines[0], err)
	}
	if line["id"] != id || line["source"] != "rotor" || line["detail-type"] != env.DetailType || line["receivedAt"] == nil || line["invalid"] != nil {
		t.Fatalf("want the valid event %s with receivedAt, got %v", id, line)
	}
}

func TestBadFlags(t *testing.T) {
	base := options{addr: "127.0.0.1:0", account: "123456789012", region: "us-east-1", speed: 1, logLevel: "info"}
	tests := []struct {
		name  string
		tweak func(*options)
		want  string
	}{
		{"log level", func(o *options) { o.logLevel = "loud" }, "-log-level"},
		{"env", func(o *options) { o.env = list{"NOVALUE"} }, "-env"},
		{"function", func(o *options) { o.functions = list{"no-path"} }, "-function"},
		{"missing bootstrap", func(o *options) { o.functions = list{"f=/nonexistent/bootstrap"} }, "-function f"},
		{"not loopback", func(o *options) { o.addr = "0.0.0.0:0" }, "loopback"},
		{"audit bus without a log", func(o *options) { o.auditBuses = commaList{"rotor-events"} }, "-audit-bus: needs -audit-log"},
		{"audit log in no directory", func(o *options) { o.auditLog = "/nonexistent/dir/audit.jsonl" }, "-audit-log"},
		{"audit bus of a bad name", func(o *options) {
			o.auditLog = filepath.Join(t.TempDir(), "audit.jsonl")
			o.auditBuses = commaList{"no/slashes"}
		}, "-audit-bus no/slashes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.tweak(&o)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error naming %s, got %v", tt.want, err)
			}
		})
	}
}
