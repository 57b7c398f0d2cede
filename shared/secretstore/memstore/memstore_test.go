package memstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/password"
	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
	"github.com/rotorhq/rotor/shared/secretstore/storetest"
)

// The engine's view of a store.
var _ lifecycle.Store = (*memstore.Store)(nil)

const name = "app/db"

// tok returns a ClientRequestToken (32 to 64 characters) named after s.
func tok(s string) string { return fmt.Sprintf("%-32s", s) }

// clock is a deterministic clock that moves one second a reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newStore(t *testing.T) (*memstore.Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	n := 0
	s := memstore.New(
		memstore.WithClock(c.now),
		memstore.WithVersionIDs(func() string { n++; return tok(fmt.Sprintf("gen%d", n)) }),
		memstore.WithARNSuffixes(func() string { return "AbC123" }),
	)
	return s, c
}

func str(s string) *string { return &s }

// baseline: v1 AWSPREVIOUS, v2 AWSCURRENT, v3 AWSPENDING.
func baseline(t *testing.T) (*memstore.Store, *clock) {
	t.Helper()
	s, c := newStore(t)
	ctx := t.Context()
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: name, ClientRequestToken: tok("v1"), SecretString: str("one")}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	for _, p := range []memstore.PutSecretValueInput{
		{SecretID: name, ClientRequestToken: tok("v2"), SecretString: str("two")},
		{SecretID: name, ClientRequestToken: tok("v3"), SecretString: str("three"), VersionStages: []string{secretstore.Pending}},
	} {
		if _, err := s.PutSecretValue(ctx, p); err != nil {
			t.Fatalf("PutSecretValue %s: %v", p.ClientRequestToken, err)
		}
	}
	return s, c
}

// stages returns the labelled versions, by version name ("v1" for tok("v1")).
func stages(t *testing.T, s *memstore.Store) map[string][]string {
	t.Helper()
	d, err := s.Describe(t.Context(), name)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	out := map[string][]string{}
	for id, st := range d.Versions {
		out[strings.TrimSpace(id)] = st
	}
	return out
}

func TestScenarios(t *testing.T) {
	storetest.Run(t, storetest.Scenarios(), storetest.MemTarget("memstore", memstore.New()))
}

func TestPutSecretValue(t *testing.T) {
	tests := []struct {
		name       string
		in         memstore.PutSecretValueInput
		wantErr    error
		wantCode   string
		wantStages map[string][]string // nil: state unchanged
	}{
		{name: "default stages: AWSCURRENT moves, AWSPREVIOUS follows",
			in:         memstore.PutSecretValueInput{ClientRequestToken: tok("v4"), SecretString: str("four")},
			wantStages: map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSPENDING"}, "v4": {"AWSCURRENT"}}},
		{name: "AWSPENDING moves off the version that had it",
			in:         memstore.PutSecretValueInput{ClientRequestToken: tok("v4"), SecretString: str("four"), VersionStages: []string{"AWSPENDING"}},
			wantStages: map[string][]string{"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}, "v4": {"AWSPENDING"}}},
		{name: "several stages",
			in:         memstore.PutSecretValueInput{ClientRequestToken: tok("v4"), SecretString: str("four"), VersionStages: []string{"AWSCURRENT", "AWSPENDING", "blue"}},
			wantStages: map[string][]string{"v2": {"AWSPREVIOUS"}, "v4": {"AWSCURRENT", "AWSPENDING", "blue"}}},
		{name: "AWSPREVIOUS given explicitly",
			in:         memstore.PutSecretValueInput{ClientRequestToken: tok("v4"), SecretString: str("four"), VersionStages: []string{"AWSPREVIOUS"}},
			wantStages: map[string][]string{"v2": {"AWSCURRENT"}, "v3": {"AWSPENDING"}, "v4": {"AWSPREVIOUS"}}},
		{name: "binary value",
			in:         memstore.PutSecretValueInput{ClientRequestToken: tok("v4"), SecretBinary: []byte{0, 1, 2}},
			wantStages: map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSPENDING"}, "v4": {"AWSCURRENT"}}},
		{name: "generated token",
			in:         memstore.PutSecretValueInput{SecretString: str("four")},
			wantStages: map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSPENDING"}, "gen1": {"AWSCURRENT"}}},
		{name: "retry: same token, same value",
			in: memstore.PutSecretValueInput{ClientRequestToken: tok("v3"), SecretString: str("three"), VersionStages: []string{"AWSPENDING"}}},
		{name: "retry with other stages is still ignored",
			in: memstore.PutSecretValueInput{ClientRequestToken: tok("v3"), SecretString: str("three")}},
		{name: "same token, another value",
			in:      memstore.PutSecretValueInput{ClientRequestToken: tok("v3"), SecretString: str("other"), VersionStages: []string{"AWSPENDING"}},
			wantErr: secretstore.ErrVersionExists, wantCode: memstore.CodeResourceExists},
		{name: "same token, same bytes as binary",
			in:      memstore.PutSecretValueInput{ClientRequestToken: tok("v3"), SecretBinary: []byte("three"), VersionStages: []string{"AWSPENDING"}},
			wantErr: secretstore.ErrVersionExists, wantCode: memstore.CodeResourceExists},
		{name: "no value",
			in:      memstore.PutSecretValueInput{ClientRequestToken: tok("v4")},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidParameter},
		{name: "both values",
			in:      memstore.PutSecretValueInput{ClientRequestToken: tok("v4"), SecretString: str("value-a-7f3"), SecretBinary: []byte("value-b-7f3")},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidParameter},
		{name: "token too short",
			in:      memstore.PutSecretValueInput{ClientRequestToken: "v4", SecretString: str("four")},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "empty stage",
			in:      memstore.PutSecretValueInput{ClientRequestToken: tok("v4"), SecretString: str("four"), VersionStages: []string{""}},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "value too large",
			in:      memstore.PutSecretValueInput{ClientRequestToken: tok("v4"), SecretString: str(strings.Repeat("x", memstore.MaxValueSize+1))},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "unknown secret",
			in:      memstore.PutSecretValueInput{SecretID: "nope", ClientRequestToken: tok("v4"), SecretString: str("four")},
			wantErr: secretstore.ErrNotFound, wantCode: memstore.CodeResourceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := baseline(t)
			before := s.Snapshot()
			in := tt.in
			if in.SecretID == "" {
				in.SecretID = name
			}
			_, err := s.PutSecretValue(t.Context(), in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("want error %v, got %v", tt.wantErr, err)
			}
			if tt.wantCode != "" {
				var ae *memstore.APIError
				if !errors.As(err, &ae) || ae.Code != tt.wantCode {
					t.Fatalf("want exception %s, got %v", tt.wantCode, err)
				}
			}
			if err != nil && in.SecretString != nil && strings.Contains(err.Error(), *in.SecretString) && *in.SecretString != "" {
				t.Fatalf("want an error without the value, got %q", err)
			}
			if tt.wantStages == nil {
				if after := s.Snapshot(); !reflect.DeepEqual(before, after) {
					t.Fatalf("want the state unchanged, got\n%+v\nthen\n%+v", before, after)
				}
				return
			}
			if got := stages(t, s); !reflect.DeepEqual(got, tt.wantStages) {
				t.Fatalf("want stages %v, got %v", tt.wantStages, got)
			}
			got, err := s.GetSecretValue(t.Context(), memstore.GetSecretValueInput{SecretID: name, VersionID: in.ClientRequestToken})
			if in.ClientRequestToken != "" && (err != nil || !bytes.Equal(got.Value(), valueOf(in))) {
				t.Fatalf("want the new version's value back, got error %v", err)
			}
			if in.SecretBinary != nil && got.SecretString != nil {
				t.Fatalf("want a binary value as SecretBinary, got SecretString")
			}
		})
	}
}

func valueOf(in memstore.PutSecretValueInput) []byte {
	if in.SecretString != nil {
		return []byte(*in.SecretString)
	}
	return in.SecretBinary
}

func TestUpdateSecretVersionStage(t *testing.T) {
	tests := []struct {
		name       string
		in         memstore.UpdateSecretVersionStageInput
		wantErr    error
		wantStages map[string][]string // nil: state unchanged
	}{
		{name: "move AWSCURRENT: AWSPREVIOUS follows",
			in:         memstore.UpdateSecretVersionStageInput{VersionStage: "AWSCURRENT", MoveToVersionID: "v3", RemoveFromVersionID: "v2"},
			wantStages: map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSCURRENT", "AWSPENDING"}}},
		{name: "roll back AWSCURRENT to AWSPREVIOUS: they swap",
			in:         memstore.UpdateSecretVersionStageInput{VersionStage: "AWSCURRENT", MoveToVersionID: "v1", RemoveFromVersionID: "v2"},
			wantStages: map[string][]string{"v1": {"AWSCURRENT"}, "v2": {"AWSPREVIOUS"}, "v3": {"AWSPENDING"}}},
		{name: "move AWSCURRENT without RemoveFromVersionId",
			in:      memstore.UpdateSecretVersionStageInput{VersionStage: "AWSCURRENT", MoveToVersionID: "v3"},
			wantErr: secretstore.ErrInvalidRequest},
		{name: "move AWSCURRENT from the wrong version",
			in:      memstore.UpdateSecretVersionStageInput{VersionStage: "AWSCURRENT", MoveToVersionID: "v3", RemoveFromVersionID: "v1"},
			wantErr: secretstore.ErrInvalidRequest},
		{name: "move AWSPENDING without RemoveFromVersionId",
			in:      memstore.UpdateSecretVersionStageInput{VersionStage: "AWSPENDING", MoveToVersionID: "v2"},
			wantErr: secretstore.ErrInvalidRequest},
		{name: "move AWSCURRENT where it is",
			in:         memstore.UpdateSecretVersionStageInput{VersionStage: "AWSCURRENT", MoveToVersionID: "v2"},
			wantStages: map[string][]string{"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}, "v3": {"AWSPENDING"}}},
		{name: "move AWSCURRENT where it is, naming it as RemoveFromVersionId too",
			in:         memstore.UpdateSecretVersionStageInput{VersionStage: "AWSCURRENT", MoveToVersionID: "v2", RemoveFromVersionID: "v2"},
			wantStages: map[string][]string{"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}, "v3": {"AWSPENDING"}}},
		{name: "remove AWSPENDING only",
			in:         memstore.UpdateSecretVersionStageInput{VersionStage: "AWSPENDING", RemoveFromVersionID: "v3"},
			wantStages: map[string][]string{"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}}},
		{name: "remove AWSCURRENT only",
			in:      memstore.UpdateSecretVersionStageInput{VersionStage: "AWSCURRENT", RemoveFromVersionID: "v2"},
			wantErr: secretstore.ErrInvalidRequest},
		{name: "move AWSPREVIOUS",
			in:         memstore.UpdateSecretVersionStageInput{VersionStage: "AWSPREVIOUS", MoveToVersionID: "v3", RemoveFromVersionID: "v1"},
			wantStages: map[string][]string{"v2": {"AWSCURRENT"}, "v3": {"AWSPENDING", "AWSPREVIOUS"}}},
		{name: "attach a new label",
			in:         memstore.UpdateSecretVersionStageInput{VersionStage: "blue", MoveToVersionID: "v1"},
			wantStages: map[string][]string{"v1": {"AWSPREVIOUS", "blue"}, "v2": {"AWSCURRENT"}, "v3": {"AWSPENDING"}}},
		{name: "to an unknown version",
			in:      memstore.UpdateSecretVersionStageInput{VersionStage: "AWSPENDING", MoveToVersionID: "v9", RemoveFromVersionID: "v3"},
			wantErr: secretstore.ErrInvalidRequest},
		{name: "from a version without the label",
			in:      memstore.UpdateSecretVersionStageInput{VersionStage: "AWSPENDING", MoveToVersionID: "v1", RemoveFromVersionID: "v2"},
			wantErr: secretstore.ErrInvalidRequest},
		{name: "neither version",
			in:      memstore.UpdateSecretVersionStageInput{VersionStage: "AWSPENDING"},
			wantErr: secretstore.ErrInvalidRequest},
		{name: "no label",
			in:      memstore.UpdateSecretVersionStageInput{MoveToVersionID: "v1"},
			wantErr: secretstore.ErrInvalidRequest},
		{name: "unknown secret",
			in:      memstore.UpdateSecretVersionStageInput{SecretID: "nope", VersionStage: "AWSPENDING", RemoveFromVersionID: "v3"},
			wantErr: secretstore.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := baseline(t)
			before := s.Snapshot()
			in := tt.in
			if in.SecretID == "" {
				in.SecretID = name
			}
			if in.MoveToVersionID != "" {
				in.MoveToVersionID = tok(in.MoveToVersionID)
			}
			if in.RemoveFromVersionID != "" {
				in.RemoveFromVersionID = tok(in.RemoveFromVersionID)
			}
			_, err := s.UpdateSecretVersionStage(t.Context(), in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("want error %v, got %v", tt.wantErr, err)
			}
			if tt.wantStages == nil {
				if after := s.Snapshot(); !reflect.DeepEqual(before, after) {
					t.Fatalf("want the state unchanged, got\n%+v\nthen\n%+v", before, after)
				}
				return
			}
			if got := stages(t, s); !reflect.DeepEqual(got, tt.wantStages) {
				t.Fatalf("want stages %v, got %v", tt.wantStages, got)
			}
		})
	}
}

func TestGetSecretValue(t *testing.T) {
	tests := []struct {
		name     string
		in       memstore.GetSecretValueInput
		want     string
		wantErr  error
		wantCode string
	}{
		{name: "default: AWSCURRENT", in: memstore.GetSecretValueInput{}, want: "two"},
		{name: "by stage", in: memstore.GetSecretValueInput{VersionStage: "AWSPREVIOUS"}, want: "one"},
		{name: "by version", in: memstore.GetSecretValueInput{VersionID: tok("v3")}, want: "three"},
		{name: "by version and its stage", in: memstore.GetSecretValueInput{VersionID: tok("v3"), VersionStage: "AWSPENDING"}, want: "three"},
		{name: "by version and another stage", in: memstore.GetSecretValueInput{VersionID: tok("v3"), VersionStage: "AWSCURRENT"}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidRequest},
		{name: "unknown version", in: memstore.GetSecretValueInput{VersionID: tok("v9")}, wantErr: secretstore.ErrVersionNotFound, wantCode: memstore.CodeResourceNotFound},
		{name: "unknown stage", in: memstore.GetSecretValueInput{VersionStage: "blue"}, wantErr: secretstore.ErrVersionNotFound, wantCode: memstore.CodeResourceNotFound},
		{name: "by ARN", in: memstore.GetSecretValueInput{SecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbC123"}, want: "two"},
		{name: "by partial ARN", in: memstore.GetSecretValueInput{SecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db"}, want: "two"},
		{name: "by ARN of another suffix", in: memstore.GetSecretValueInput{SecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-XyZ789"}, wantErr: secretstore.ErrNotFound, wantCode: memstore.CodeResourceNotFound},
		{name: "by ARN of another region", in: memstore.GetSecretValueInput{SecretID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db"}, wantErr: secretstore.ErrNotFound, wantCode: memstore.CodeResourceNotFound},
		{name: "unknown secret", in: memstore.GetSecretValueInput{SecretID: "nope"}, wantErr: secretstore.ErrNotFound, wantCode: memstore.CodeResourceNotFound},
		{name: "empty secret id", in: memstore.GetSecretValueInput{SecretID: ""}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := baseline(t)
			in := tt.in
			if in.SecretID == "" && tt.name != "empty secret id" {
				in.SecretID = name
			}
			got, err := s.GetSecretValue(t.Context(), in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("want error %v, got %v", tt.wantErr, err)
			}
			var ae *memstore.APIError
			if tt.wantCode != "" && (!errors.As(err, &ae) || ae.Code != tt.wantCode) {
				t.Fatalf("want exception %s, got %v", tt.wantCode, err)
			}
			if err == nil && string(got.Value()) != tt.want {
				t.Fatalf("want value %q, got %q", tt.want, got.Value())
			}
		})
	}
}

func TestStartRotation(t *testing.T) {
	tests := []struct {
		name string
		// prepare changes the baseline (v1 AWSPREVIOUS, v2 AWSCURRENT, v3
		// AWSPENDING) before the rotation starts.
		prepare    func(t *testing.T, s *memstore.Store)
		token      string
		wantID     string
		wantErr    error
		wantMsg    string
		wantStages map[string][]string // nil: state unchanged
	}{
		{name: "incomplete rotation: AWSPENDING on another version than AWSCURRENT",
			token: tok("v4"), wantErr: secretstore.ErrInvalidRequest, wantMsg: "A previous rotation isn't complete. That rotation will be reattempted."},
		{name: "retry of the incomplete rotation itself",
			token: tok("v3"), wantID: tok("v3")},
		{name: "after a completed rotation",
			prepare: finish(tok("v3"), tok("v2")), token: tok("v4"), wantID: tok("v4"),
			wantStages: map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSCURRENT"}, "v4": {"AWSPENDING"}}},
		{name: "AWSPENDING left on the AWSCURRENT version counts as complete",
			prepare: move("AWSCURRENT", tok("v3"), tok("v2")), token: tok("v4"), wantID: tok("v4"),
			wantStages: map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSCURRENT"}, "v4": {"AWSPENDING"}}},
		{name: "no pending version: generated token",
			prepare: move("AWSPENDING", "", tok("v3")), wantID: tok("gen1"),
			wantStages: map[string][]string{"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}, "gen1": {"AWSPENDING"}}},
		{name: "token of a version that is not pending",
			prepare: move("AWSPENDING", "", tok("v3")), token: tok("v1"), wantErr: secretstore.ErrVersionExists},
		{name: "token too short",
			token: "v4", wantErr: secretstore.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := baseline(t)
			if tt.prepare != nil {
				tt.prepare(t, s)
			}
			before := s.Snapshot()
			id, err := s.StartRotation(t.Context(), name, tt.token)
			if tt.wantMsg != "" && (err == nil || !strings.HasSuffix(err.Error(), tt.wantMsg)) {
				t.Fatalf("want message %q, got %v", tt.wantMsg, err)
			}
			if !checkStart(t, s, before, id, err, tt.wantID, tt.wantErr, tt.wantStages) {
				return
			}
			// The new version has no value until createSecret stores one.
			if _, err := s.Value(t.Context(), name, id); !errors.Is(err, secretstore.ErrVersionNotFound) {
				t.Fatalf("Value of the new pending version: want ErrVersionNotFound, got %v", err)
			}
			if _, err := s.GetSecretValue(t.Context(), memstore.GetSecretValueInput{SecretID: name, VersionStage: "AWSPENDING"}); !errors.Is(err, secretstore.ErrVersionNotFound) {
				t.Fatalf("GetSecretValue AWSPENDING: want ErrVersionNotFound, got %v", err)
			}
			if d, _ := s.Describe(t.Context(), name); !d.RotationEnabled {
				t.Fatalf("want rotation enabled, got disabled")
			}
		})
	}
}

// checkStart checks what StartRotation or StartConfigurationTest returned:
// the error, the version id, and the stages afterwards (wantStages nil: the
// state as it was before). It reports whether a version was started, for
// the caller's further checks.
func checkStart(t *testing.T, s *memstore.Store, before memstore.State, id string, err error, wantID string, wantErr error, wantStages map[string][]string) bool {
	t.Helper()
	if !errors.Is(err, wantErr) {
		t.Fatalf("want error %v, got %v", wantErr, err)
	}
	if id != wantID {
		t.Fatalf("want version %q, got %q", wantID, id)
	}
	if wantStages == nil {
		if after := s.Snapshot(); !reflect.DeepEqual(before, after) {
			t.Fatalf("want the state unchanged, got\n%+v\nthen\n%+v", before, after)
		}
		return false
	}
	if got := stages(t, s); !reflect.DeepEqual(got, wantStages) {
		t.Fatalf("want stages %v, got %v", wantStages, got)
	}
	return true
}

func move(stage, to, from string) func(t *testing.T, s *memstore.Store) {
	return func(t *testing.T, s *memstore.Store) {
		t.Helper()
		if _, err := s.UpdateSecretVersionStage(t.Context(), memstore.UpdateSecretVersionStageInput{SecretID: name, VersionStage: stage, MoveToVersionID: to, RemoveFromVersionID: from}); err != nil {
			t.Fatalf("UpdateSecretVersionStage %s: %v", stage, err)
		}
	}
}

// finish does what finishSecret does: AWSCURRENT to the pending version,
// AWSPENDING removed.
func finish(pending, current string) func(t *testing.T, s *memstore.Store) {
	return func(t *testing.T, s *memstore.Store) {
		move("AWSCURRENT", pending, current)(t, s)
		move("AWSPENDING", "", pending)(t, s)
	}
}

func TestStartConfigurationTest(t *testing.T) {
	tests := []struct {
		name string
		// prepare changes the baseline (v1 AWSPREVIOUS, v2 AWSCURRENT "two",
		// v3 AWSPENDING) before the test starts.
		prepare    func(t *testing.T, s *memstore.Store)
		token      string
		wantID     string
		wantErr    error
		wantStages map[string][]string // nil: state unchanged
	}{
		{name: "incomplete rotation", token: tok("t1"), wantErr: secretstore.ErrInvalidRequest},
		{name: "incomplete rotation, its own token", token: tok("v3"), wantErr: secretstore.ErrInvalidRequest},
		{name: "no rotation pending",
			prepare: move("AWSPENDING", "", tok("v3")), token: tok("t1"), wantID: tok("t1"),
			wantStages: map[string][]string{"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}, "t1": {"AWSPENDING"}}},
		{name: "AWSPENDING on the AWSCURRENT version, generated token",
			prepare: finish(tok("v3"), tok("v2")), wantID: tok("gen1"),
			wantStages: map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSCURRENT"}, "gen1": {"AWSPENDING"}}},
		{name: "retry of a finished test: the label goes back",
			prepare: func(t *testing.T, s *memstore.Store) {
				move("AWSPENDING", "", tok("v3"))(t, s)
				if _, err := s.StartConfigurationTest(t.Context(), name, tok("t1")); err != nil {
					t.Fatal(err)
				}
				move("AWSPENDING", "", tok("t1"))(t, s)
			},
			token: tok("t1"), wantID: tok("t1"),
			wantStages: map[string][]string{"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}, "t1": {"AWSPENDING"}}},
		{name: "token of a version with another value",
			prepare: move("AWSPENDING", "", tok("v3")), token: tok("v1"), wantErr: secretstore.ErrVersionExists},
		{name: "token of the current version",
			prepare: move("AWSPENDING", "", tok("v3")), token: tok("v2"), wantErr: secretstore.ErrVersionExists},
		{name: "token too short", prepare: move("AWSPENDING", "", tok("v3")), token: "t1", wantErr: secretstore.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := baseline(t)
			if tt.prepare != nil {
				tt.prepare(t, s)
			}
			before := s.Snapshot()
			id, err := s.StartConfigurationTest(t.Context(), name, tt.token)
			if !checkStart(t, s, before, id, err, tt.wantID, tt.wantErr, tt.wantStages) {
				return
			}
			// The test version holds the current value: a function's
			// testSecret reads it by token and stage, as AWS's do.
			cur, err := s.CurrentValue(t.Context(), name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.GetSecretValue(t.Context(), memstore.GetSecretValueInput{SecretID: name, VersionID: id, VersionStage: "AWSPENDING"})
			if err != nil || string(got.Value()) != string(cur) {
				t.Fatalf("want the AWSPENDING version to hold the current value, got %v", err)
			}
			if d, _ := s.Describe(t.Context(), name); !d.RotationEnabled {
				t.Fatalf("want rotation enabled, got disabled")
			}
		})
	}
}

func TestStartRotationRefusals(t *testing.T) {
	ctx := t.Context()
	s, _ := newStore(t)
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: "empty"}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if _, err := s.StartRotation(ctx, "empty", tok("r1")); !errors.Is(err, secretstore.ErrInvalidRequest) {
		t.Fatalf("a secret without AWSCURRENT: want ErrInvalidRequest, got %v", err)
	}
	if _, err := s.StartRotation(ctx, "nope", tok("r1")); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("unknown secret: want ErrNotFound, got %v", err)
	}
	if _, err := s.DeleteSecret(ctx, memstore.DeleteSecretInput{SecretID: "empty"}); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	if _, err := s.StartRotation(ctx, "empty", tok("r1")); !errors.Is(err, secretstore.ErrInvalidRequest) {
		t.Fatalf("a secret marked for deletion: want ErrInvalidRequest, got %v", err)
	}
}

// TestRotation runs a rotation as the engine does, step by step, with the
// retries Secrets Manager may make.
func TestRotation(t *testing.T) {
	ctx := t.Context()
	s, _ := newStore(t)
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: name, ClientRequestToken: tok("v1"), SecretString: str("old")}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	token := tok("r1")
	if id, err := s.StartRotation(ctx, name, token); err != nil || id != token {
		t.Fatalf("StartRotation: want %q, got %q, %v", token, id, err)
	}
	// createSecret: nothing stored yet, then the value, then a retry.
	if _, err := s.Value(ctx, name, token); !errors.Is(err, secretstore.ErrVersionNotFound) {
		t.Fatalf("Value before createSecret: want ErrVersionNotFound, got %v", err)
	}
	for range 2 {
		if err := s.PutPending(ctx, secretstore.PendingValue{SecretID: name, VersionID: token, Value: []byte("new"), RotationToken: "rt"}); err != nil {
			t.Fatalf("PutPending: want success, got %v", err)
		}
	}
	if got, err := s.Value(ctx, name, token); err != nil || string(got) != "new" {
		t.Fatalf("Value after createSecret: want %q, got %q, %v", "new", got, err)
	}
	// finishSecret, twice.
	for range 2 {
		d, err := s.Describe(ctx, name)
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		from, _ := d.VersionWithStage(secretstore.Current)
		if err := s.MoveStage(ctx, secretstore.StageMove{SecretID: name, Stage: secretstore.Current, ToVersion: token, FromVersion: from}); err != nil {
			t.Fatalf("MoveStage: want success, got %v", err)
		}
	}
	if got, err := s.CurrentValue(ctx, name); err != nil || string(got) != "new" {
		t.Fatalf("CurrentValue: want %q, got %q, %v", "new", got, err)
	}
	want := map[string][]string{"v1": {"AWSPREVIOUS"}, "r1": {"AWSCURRENT", "AWSPENDING"}}
	if got := stages(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("want stages %v, got %v", want, got)
	}
	// AWSPENDING is still on the current version: the next rotation may
	// start.
	if _, err := s.StartRotation(ctx, name, tok("r2")); err != nil {
		t.Fatalf("next StartRotation: want success, got %v", err)
	}
}

func TestGetRandomPassword(t *testing.T) {
	f := false
	tests := []struct {
		name     string
		in       memstore.GetRandomPasswordInput
		wantLen  int
		allowed  string
		wantErr  error
		wantCode string
	}{
		{name: "defaults", wantLen: 32, allowed: password.Printable},
		{name: "length 1 without requirement", in: memstore.GetRandomPasswordInput{PasswordLength: ptr(1), RequireEachIncludedType: &f}, wantLen: 1, allowed: password.Printable},
		{name: "digits only, length 1", in: memstore.GetRandomPasswordInput{PasswordLength: ptr(1), ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true}, wantLen: 1, allowed: password.Digits},
		{name: "length 0", in: memstore.GetRandomPasswordInput{PasswordLength: ptr(0)}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "negative length", in: memstore.GetRandomPasswordInput{PasswordLength: ptr(-1)}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "length 4097", in: memstore.GetRandomPasswordInput{PasswordLength: ptr(4097)}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "shorter than the required classes", in: memstore.GetRandomPasswordInput{PasswordLength: ptr(3)}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidParameter},
		{name: "every class excluded", in: memstore.GetRandomPasswordInput{ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidParameter},
		{name: "every character excluded", in: memstore.GetRandomPasswordInput{ExcludeCharacters: password.Printable}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidParameter},
		{name: "ExcludeCharacters too long", in: memstore.GetRandomPasswordInput{ExcludeCharacters: strings.Repeat("a", 4097)}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			out, err := s.GetRandomPassword(t.Context(), tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("want error %v, got %v", tt.wantErr, err)
			}
			var ae *memstore.APIError
			if tt.wantCode != "" && (!errors.As(err, &ae) || ae.Code != tt.wantCode) {
				t.Fatalf("want exception %s, got %v", tt.wantCode, err)
			}
			if err != nil {
				return
			}
			if len(out.RandomPassword) != tt.wantLen {
				t.Fatalf("want length %d, got %d", tt.wantLen, len(out.RandomPassword))
			}
			if bad := password.Without(out.RandomPassword, tt.allowed); bad != "" {
				t.Fatalf("want only allowed characters, got %q outside them", bad)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRandomPasswordSpec(t *testing.T) {
	s, _ := newStore(t)
	pw, err := s.RandomPassword(t.Context(), secretstore.PasswordSpec{ExcludeCharacters: "abc", RequireEachIncludedType: true})
	if err != nil {
		t.Fatalf("RandomPassword: want success, got %v", err)
	}
	if len(pw) != memstore.DefaultPasswordLength {
		t.Fatalf("zero Length: want %d characters, got %d", memstore.DefaultPasswordLength, len(pw))
	}
	if strings.ContainsAny(pw, "abc") {
		t.Fatalf("want no excluded character, got one")
	}
	if _, err := s.RandomPassword(t.Context(), secretstore.PasswordSpec{Length: 4097}); !errors.Is(err, secretstore.ErrInvalidRequest) {
		t.Fatalf("Length 4097: want ErrInvalidRequest, got %v", err)
	}
}

func TestCreateSecret(t *testing.T) {
	ctx := t.Context()
	s, _ := newStore(t)
	out, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: name, ClientRequestToken: tok("v1"), SecretString: str("one"), Description: "db"})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	wantARN := "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbC123"
	if out.ARN != wantARN || out.VersionID != tok("v1") {
		t.Fatalf("want ARN %q and version %q, got %q and %q", wantARN, tok("v1"), out.ARN, out.VersionID)
	}
	before := s.Snapshot()
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: name, ClientRequestToken: tok("v1"), SecretString: str("one")}); err != nil {
		t.Fatalf("retry of CreateSecret: want success, got %v", err)
	}
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: name, ClientRequestToken: tok("v2"), SecretString: str("one")}); !errors.Is(err, memstore.ErrSecretExists) {
		t.Fatalf("CreateSecret of an existing name: want ErrSecretExists, got %v", err)
	}
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: "bad name!"}); !errors.Is(err, secretstore.ErrInvalidRequest) {
		t.Fatalf("CreateSecret with an invalid name: want ErrInvalidRequest, got %v", err)
	}
	if after := s.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Fatalf("want the state unchanged, got\n%+v\nthen\n%+v", before, after)
	}
	other := memstore.New(memstore.WithAccountID("111122223333"), memstore.WithRegion("eu-west-1"))
	o, err := other.CreateSecret(ctx, memstore.CreateSecretInput{Name: "x"})
	if err != nil || !strings.HasPrefix(o.ARN, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-") || len(o.ARN) != len("arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-")+6 {
		t.Fatalf("want an ARN of eu-west-1, 111122223333 and a six-character suffix, got %q, %v", o.ARN, err)
	}
}

func TestListSecretVersionIDs(t *testing.T) {
	s, _ := baseline(t)
	if _, err := s.PutSecretValue(t.Context(), memstore.PutSecretValueInput{SecretID: name, ClientRequestToken: tok("v4"), SecretString: str("four")}); err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	for _, tt := range []struct {
		deprecated bool
		want       []string
	}{{false, []string{"v2", "v3", "v4"}}, {true, []string{"v1", "v2", "v3", "v4"}}} {
		out, err := s.ListSecretVersionIDs(t.Context(), memstore.ListSecretVersionIDsInput{SecretID: name, IncludeDeprecated: tt.deprecated})
		if err != nil {
			t.Fatalf("ListSecretVersionIDs: %v", err)
		}
		var got []string
		for _, v := range out.Versions {
			got = append(got, strings.TrimSpace(v.VersionID))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("IncludeDeprecated=%v: want %v, got %v", tt.deprecated, tt.want, got)
		}
	}
}

func TestDeleteAndRestore(t *testing.T) {
	ctx := t.Context()
	s, c := baseline(t)
	if _, err := s.DeleteSecret(ctx, memstore.DeleteSecretInput{SecretID: name, RecoveryWindowInDays: 3}); !errors.Is(err, secretstore.ErrInvalidRequest) {
		t.Fatalf("a 3-day window: want ErrInvalidRequest, got %v", err)
	}
	if _, err := s.DeleteSecret(ctx, memstore.DeleteSecretInput{SecretID: name, RecoveryWindowInDays: 7}); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	if _, err := s.CurrentValue(ctx, name); !errors.Is(err, secretstore.ErrInvalidRequest) {
		t.Fatalf("CurrentValue of a deleted secret: want ErrInvalidRequest, got %v", err)
	}
	if _, err := s.Describe(ctx, name); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("Describe of a deleted secret: want ErrNotFound, got %v", err)
	}
	if d, err := s.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: name}); err != nil || d.DeletedDate == nil {
		t.Fatalf("DescribeSecret of a deleted secret: want DeletedDate, got %v, %v", d.DeletedDate, err)
	}
	if _, err := s.RestoreSecret(ctx, name); err != nil {
		t.Fatalf("RestoreSecret: %v", err)
	}
	if got, err := s.CurrentValue(ctx, name); err != nil || string(got) != "two" {
		t.Fatalf("CurrentValue after restore: want %q, got %q, %v", "two", got, err)
	}
	if _, err := s.DeleteSecret(ctx, memstore.DeleteSecretInput{SecretID: name}); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	c.advance(31 * 24 * time.Hour)
	if _, err := s.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: name}); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("after the recovery window: want ErrNotFound, got %v", err)
	}
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: name}); err != nil {
		t.Fatalf("CreateSecret after deletion: want success, got %v", err)
	}
	if _, err := s.DeleteSecret(ctx, memstore.DeleteSecretInput{SecretID: name, ForceDeleteWithoutRecovery: true}); err != nil {
		t.Fatalf("forced DeleteSecret: %v", err)
	}
	if _, err := s.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: name}); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("after forced deletion: want ErrNotFound, got %v", err)
	}
}

func TestDeprecatedVersionsArePruned(t *testing.T) {
	ctx := t.Context()
	s, c := baseline(t)
	put := func(i int) {
		t.Helper()
		if _, err := s.PutSecretValue(ctx, memstore.PutSecretValueInput{SecretID: name, ClientRequestToken: tok(fmt.Sprintf("p%d", i)), SecretString: str("x")}); err != nil {
			t.Fatalf("PutSecretValue %d: %v", i, err)
		}
	}
	for i := range memstore.MaxVersions {
		put(i)
	}
	list := func() int {
		out, err := s.ListSecretVersionIDs(ctx, memstore.ListSecretVersionIDsInput{SecretID: name, IncludeDeprecated: true})
		if err != nil {
			t.Fatalf("ListSecretVersionIDs: %v", err)
		}
		return len(out.Versions)
	}
	// Young deprecated versions are kept, beyond the limit.
	if got := list(); got != memstore.MaxVersions+3 {
		t.Fatalf("want %d versions, got %d", memstore.MaxVersions+3, got)
	}
	c.advance(25 * time.Hour)
	put(1000)
	if got := list(); got != memstore.MaxVersions {
		t.Fatalf("after a day: want %d versions, got %d", memstore.MaxVersions, got)
	}
	if got := stages(t, s)["v3"]; !reflect.DeepEqual(got, []string{"AWSPENDING"}) {
		t.Fatalf("want the labelled v3 kept, got %v", got)
	}
}

func TestSaveLoad(t *testing.T) {
	ctx := t.Context()
	s, _ := baseline(t)
	if _, err := s.StartRotation(ctx, name, tok("v3")); err != nil {
		t.Fatalf("StartRotation: %v", err)
	}
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: "bin", SecretBinary: []byte{0, 255}, Description: "binary"}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: "empty-string", SecretString: str("")}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if _, err := s.DeleteSecret(ctx, memstore.DeleteSecretInput{SecretID: "bin"}); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatalf("Save: %v", err)
	}
	saved := buf.String()
	loaded := memstore.New()
	if err := loaded.Load(&buf); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want, got := s.Snapshot(), loaded.Snapshot(); !reflect.DeepEqual(want, got) {
		t.Fatalf("want the saved state back\n%+v\ngot\n%+v", want, got)
	}
	if got, err := loaded.CurrentValue(ctx, name); err != nil || string(got) != "two" {
		t.Fatalf("CurrentValue after Load: want %q, got %q, %v", "two", got, err)
	}
	if s := fmt.Sprint(loaded.Snapshot()); strings.Contains(s, "two") || !strings.Contains(s, "[redacted]") {
		t.Fatalf("want a printed State without values, got %s", s)
	}

	before := loaded.Snapshot()
	bad := strings.Replace(saved, `"AWSPREVIOUS"`, `"AWSCURRENT"`, 1)
	if err := loaded.Load(strings.NewReader(bad)); !errors.Is(err, secretstore.ErrInvalidRequest) {
		t.Fatalf("Load of AWSCURRENT on two versions: want ErrInvalidRequest, got %v", err)
	}
	if err := loaded.Load(strings.NewReader("{")); err == nil {
		t.Fatalf("Load of broken JSON: want an error, got nil")
	}
	if after := loaded.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Fatalf("want the state unchanged by a failed Load")
	}
}

func TestCanceledContext(t *testing.T) {
	s, _ := baseline(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.CurrentValue(ctx, name); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

// TestConcurrentRotations runs rotations of many secrets, and readers, at
// once; go test -race checks the locking, and each secret must end up with
// its last value current.
func TestConcurrentRotations(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	const secrets, rounds = 8, 20
	var wg sync.WaitGroup
	for i := range secrets {
		id := fmt.Sprintf("s%d", i)
		if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: id, SecretString: str("0")}); err != nil {
			t.Fatalf("CreateSecret: %v", err)
		}
		wg.Go(func() {
			for r := 1; r <= rounds; r++ {
				token, err := s.StartRotation(ctx, id, "")
				if err != nil {
					t.Errorf("%s StartRotation: %v", id, err)
					return
				}
				if err := s.PutPending(ctx, secretstore.PendingValue{SecretID: id, VersionID: token, Value: fmt.Appendf(nil, "%d", r)}); err != nil {
					t.Errorf("%s PutPending: %v", id, err)
					return
				}
				d, err := s.Describe(ctx, id)
				if err != nil {
					t.Errorf("%s Describe: %v", id, err)
					return
				}
				from, _ := d.VersionWithStage(secretstore.Current)
				if err := s.MoveStage(ctx, secretstore.StageMove{SecretID: id, Stage: secretstore.Current, ToVersion: token, FromVersion: from}); err != nil {
					t.Errorf("%s MoveStage: %v", id, err)
					return
				}
			}
		})
		wg.Go(func() {
			for range rounds {
				if _, err := s.CurrentValue(ctx, id); err != nil {
					t.Errorf("%s CurrentValue: %v", id, err)
				}
				_ = s.Snapshot()
			}
		})
	}
	wg.Wait()
	for i := range secrets {
		got, err := s.CurrentValue(ctx, fmt.Sprintf("s%d", i))
		if err != nil || string(got) != fmt.Sprint(rounds) {
			t.Fatalf("s%d: want current value %d, got %q, %v", i, rounds, got, err)
		}
	}
}
