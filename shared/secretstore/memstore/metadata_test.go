package memstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
)

// The rules checked here are those of the Secrets Manager API reference:
// UpdateSecret, TagResource, UntagResource, Tag, ListSecrets, Filter,
// RotateSecret and CancelRotateSecret.

// checkErr fails unless err matches wantErr (nil: no error) and, when
// wantCode is set, carries that exception name.
func checkErr(t *testing.T, err, wantErr error, wantCode string) {
	t.Helper()
	if !errors.Is(err, wantErr) {
		t.Fatalf("want error %v, got %v", wantErr, err)
	}
	var ae *memstore.APIError
	if wantCode != "" && (!errors.As(err, &ae) || ae.Code != wantCode) {
		t.Fatalf("want exception %s, got %v", wantCode, err)
	}
}

// unchanged fails when the store's state differs from before, naming the
// secrets that changed.
func unchanged(t *testing.T, s *memstore.Store, before memstore.State) {
	t.Helper()
	after := s.Snapshot()
	if reflect.DeepEqual(before, after) {
		return
	}
	if len(before.Secrets) != len(after.Secrets) {
		t.Fatalf("want the state unchanged, got %d secrets then %d", len(before.Secrets), len(after.Secrets))
	}
	for i := range before.Secrets {
		b, a := reflect.ValueOf(before.Secrets[i]), reflect.ValueOf(after.Secrets[i])
		for f := range b.NumField() {
			if bf, af := b.Field(f).Interface(), a.Field(f).Interface(); !reflect.DeepEqual(bf, af) {
				t.Errorf("want the state unchanged, got secret %s's %s %+v then %+v", before.Secrets[i].Name, b.Type().Field(f).Name, bf, af)
			}
		}
	}
	t.FailNow()
}

func describe(t *testing.T, s *memstore.Store, secretID string) memstore.DescribeSecretOutput {
	t.Helper()
	d, err := s.DescribeSecret(t.Context(), memstore.DescribeSecretInput{SecretID: secretID})
	if err != nil {
		t.Fatalf("DescribeSecret %s: %v", secretID, err)
	}
	return d
}

func scheduleDeletion(t *testing.T, s *memstore.Store, secretID string) {
	t.Helper()
	if _, err := s.DeleteSecret(t.Context(), memstore.DeleteSecretInput{SecretID: secretID}); err != nil {
		t.Fatalf("DeleteSecret %s: %v", secretID, err)
	}
}

func versionCount(t *testing.T, s *memstore.Store) int {
	t.Helper()
	out, err := s.ListSecretVersionIDs(t.Context(), memstore.ListSecretVersionIDsInput{SecretID: name, IncludeDeprecated: true})
	if err != nil {
		t.Fatalf("ListSecretVersionIDs: %v", err)
	}
	return len(out.Versions)
}

func TestUpdateSecret(t *testing.T) {
	deleted := func(t *testing.T, s *memstore.Store) { scheduleDeletion(t, s, name) }
	// The baseline: v1 AWSPREVIOUS "one", v2 AWSCURRENT "two", v3
	// AWSPENDING "three", no description, no KMS key id.
	same := map[string][]string{"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}, "v3": {"AWSPENDING"}}
	tests := []struct {
		name     string
		prepare  func(t *testing.T, s *memstore.Store)
		in       memstore.UpdateSecretInput
		wantErr  error
		wantCode string
		// wantStages nil: the state must be unchanged.
		wantStages      map[string][]string
		wantVersion     string // the response's VersionID, by version name
		wantVersions    int    // number of versions, deprecated ones included
		wantCurrent     string
		wantDescription string
		wantKmsKeyID    string
	}{
		{name: "description only: no new version",
			in:         memstore.UpdateSecretInput{Description: str("orders database")},
			wantStages: same, wantVersions: 3, wantCurrent: "two", wantDescription: "orders database"},
		{name: "KMS key id only: no new version",
			in:         memstore.UpdateSecretInput{KmsKeyID: str("alias/rotor")},
			wantStages: same, wantVersions: 3, wantCurrent: "two", wantKmsKeyID: "alias/rotor"},
		{name: "value: the new version gets AWSCURRENT, the old one AWSPREVIOUS",
			in:          memstore.UpdateSecretInput{ClientRequestToken: tok("v4"), SecretString: str("four")},
			wantStages:  map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSPENDING"}, "v4": {"AWSCURRENT"}},
			wantVersion: "v4", wantVersions: 4, wantCurrent: "four"},
		{name: "value and description in one request",
			in:          memstore.UpdateSecretInput{ClientRequestToken: tok("v4"), SecretString: str("four"), Description: str("rotated by hand")},
			wantStages:  map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSPENDING"}, "v4": {"AWSCURRENT"}},
			wantVersion: "v4", wantVersions: 4, wantCurrent: "four", wantDescription: "rotated by hand"},
		{name: "binary value",
			in:          memstore.UpdateSecretInput{ClientRequestToken: tok("v4"), SecretBinary: []byte{0, 1, 2}},
			wantStages:  map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSPENDING"}, "v4": {"AWSCURRENT"}},
			wantVersion: "v4", wantVersions: 4, wantCurrent: "\x00\x01\x02"},
		{name: "value without a token: a generated version id",
			in:          memstore.UpdateSecretInput{SecretString: str("four")},
			wantStages:  map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSPENDING"}, "gen1": {"AWSCURRENT"}},
			wantVersion: "gen1", wantVersions: 4, wantCurrent: "four"},
		{name: "value of exactly 65,536 bytes",
			in:          memstore.UpdateSecretInput{ClientRequestToken: tok("v4"), SecretString: str(strings.Repeat("x", memstore.MaxValueSize))},
			wantStages:  map[string][]string{"v2": {"AWSPREVIOUS"}, "v3": {"AWSPENDING"}, "v4": {"AWSCURRENT"}},
			wantVersion: "v4", wantVersions: 4, wantCurrent: strings.Repeat("x", memstore.MaxValueSize)},
		// "If a version with this value already exists and that version's
		// SecretString and SecretBinary values are the same as those in
		// the request, then the request is ignored."
		{name: "retry: same token, same value is ignored (AWSCURRENT does not move, nothing changes)",
			in: memstore.UpdateSecretInput{ClientRequestToken: tok("v3"), SecretString: str("three")}, wantVersion: "v3"},
		{name: "same token, another value",
			in:      memstore.UpdateSecretInput{ClientRequestToken: tok("v2"), SecretString: str("other"), Description: str("not applied")},
			wantErr: secretstore.ErrVersionExists, wantCode: memstore.CodeResourceExists},
		{name: "same token, same bytes as binary",
			in:      memstore.UpdateSecretInput{ClientRequestToken: tok("v2"), SecretBinary: []byte("two")},
			wantErr: secretstore.ErrVersionExists, wantCode: memstore.CodeResourceExists},
		{name: "value over 65,536 bytes",
			in:      memstore.UpdateSecretInput{ClientRequestToken: tok("v4"), SecretString: str(strings.Repeat("x", memstore.MaxValueSize+1)), Description: str("not applied")},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "binary value over 65,536 bytes",
			in:      memstore.UpdateSecretInput{ClientRequestToken: tok("v4"), SecretBinary: make([]byte, memstore.MaxValueSize+1)},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "both values",
			in:      memstore.UpdateSecretInput{ClientRequestToken: tok("v4"), SecretString: str("four"), SecretBinary: []byte("four")},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidParameter},
		{name: "description over 2,048 characters",
			in:      memstore.UpdateSecretInput{Description: str(strings.Repeat("d", 2049))},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "token too short",
			in:      memstore.UpdateSecretInput{ClientRequestToken: "v4", SecretString: str("four")},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "secret scheduled for deletion: description",
			prepare: deleted, in: memstore.UpdateSecretInput{Description: str("late")},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidRequest},
		{name: "secret scheduled for deletion: value",
			prepare: deleted, in: memstore.UpdateSecretInput{ClientRequestToken: tok("v4"), SecretString: str("four")},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidRequest},
		{name: "unknown secret",
			in:      memstore.UpdateSecretInput{SecretID: "nope", Description: str("x")},
			wantErr: secretstore.ErrNotFound, wantCode: memstore.CodeResourceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := baseline(t)
			if tt.prepare != nil {
				tt.prepare(t, s)
			}
			before := s.Snapshot()
			in := tt.in
			if in.SecretID == "" {
				in.SecretID = name
			}
			out, err := s.UpdateSecret(t.Context(), in)
			checkErr(t, err, tt.wantErr, tt.wantCode)
			if err != nil && in.SecretString != nil && *in.SecretString != "" && strings.Contains(err.Error(), *in.SecretString) {
				t.Fatalf("want an error without the value, got %q", err)
			}
			if got := strings.TrimSpace(out.VersionID); got != tt.wantVersion {
				t.Fatalf("want VersionId %q in the response, got %q", tt.wantVersion, got)
			}
			if tt.wantStages == nil {
				unchanged(t, s, before)
				return
			}
			if got := stages(t, s); !reflect.DeepEqual(got, tt.wantStages) {
				t.Fatalf("want stages %v, got %v", tt.wantStages, got)
			}
			if got := versionCount(t, s); got != tt.wantVersions {
				t.Fatalf("want %d versions, got %d", tt.wantVersions, got)
			}
			if got, err := s.CurrentValue(t.Context(), name); err != nil || string(got) != tt.wantCurrent {
				t.Fatalf("want the AWSCURRENT value %.20q, got %.20q, %v", tt.wantCurrent, got, err)
			}
			d := describe(t, s, name)
			if d.Description != tt.wantDescription || d.KmsKeyID != tt.wantKmsKeyID {
				t.Fatalf("want description %q and KMS key id %q, got %q and %q", tt.wantDescription, tt.wantKmsKeyID, d.Description, d.KmsKeyID)
			}
			if !d.LastChangedDate.After(before.Secrets[0].LastChangedDate) {
				t.Fatalf("want LastChangedDate after %v, got %v", before.Secrets[0].LastChangedDate, d.LastChangedDate)
			}
		})
	}
}

// baseTags are the tags of tagged's secret.
var baseTags = []memstore.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "db"}}

// tagged is the baseline with baseTags.
func tagged(t *testing.T) *memstore.Store {
	t.Helper()
	s, _ := baseline(t)
	if err := s.TagResource(t.Context(), name, baseTags); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	return s
}

// many returns n tags k00=v00, k01=v01, ...
func many(n int) []memstore.Tag {
	out := make([]memstore.Tag, n)
	for i := range out {
		out[i] = memstore.Tag{Key: fmt.Sprintf("k%02d", i), Value: fmt.Sprintf("v%02d", i)}
	}
	return out
}

func tags(ts ...[]memstore.Tag) []memstore.Tag {
	out := []memstore.Tag{}
	for _, t := range ts {
		out = append(out, t...)
	}
	return out
}

// sortedTags: AWS documents no order for a secret's tags.
func sortedTags(ts []memstore.Tag) []memstore.Tag {
	out := slices.Clone(ts)
	slices.SortFunc(out, func(a, b memstore.Tag) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func checkTags(t *testing.T, s *memstore.Store, want []memstore.Tag) {
	t.Helper()
	if got := sortedTags(describe(t, s, name).Tags); !slices.Equal(got, sortedTags(want)) {
		t.Fatalf("want tags %v, got %v", sortedTags(want), got)
	}
}

func TestTagResource(t *testing.T) {
	tests := []struct {
		name     string
		secretID string
		tags     []memstore.Tag
		wantErr  error
		wantCode string
		wantTags []memstore.Tag // nil: state unchanged
	}{
		{name: "add a tag",
			tags:     []memstore.Tag{{Key: "owner", Value: "ana"}},
			wantTags: tags(baseTags, []memstore.Tag{{Key: "owner", Value: "ana"}})},
		{name: "replace a value",
			tags:     []memstore.Tag{{Key: "env", Value: "staging"}},
			wantTags: []memstore.Tag{{Key: "env", Value: "staging"}, {Key: "team", Value: "db"}}},
		{name: "keys are case-sensitive",
			tags:     []memstore.Tag{{Key: "Env", Value: "x"}},
			wantTags: tags(baseTags, []memstore.Tag{{Key: "Env", Value: "x"}})},
		{name: "empty value",
			tags:     []memstore.Tag{{Key: "note", Value: ""}},
			wantTags: tags(baseTags, []memstore.Tag{{Key: "note", Value: ""}})},
		{name: "50 tags in all",
			tags: many(48), wantTags: tags(baseTags, many(48))},
		{name: "replacing a value does not count as a new tag",
			tags:     tags(many(48), []memstore.Tag{{Key: "env", Value: "staging"}}),
			wantTags: tags([]memstore.Tag{{Key: "env", Value: "staging"}, {Key: "team", Value: "db"}}, many(48))},
		{name: "51 tags",
			tags: many(49), wantErr: secretstore.ErrInvalidRequest},
		{name: "key of 128 characters",
			tags:     []memstore.Tag{{Key: strings.Repeat("k", 128), Value: "v"}},
			wantTags: tags(baseTags, []memstore.Tag{{Key: strings.Repeat("k", 128), Value: "v"}})},
		{name: "key of 129 characters",
			tags: []memstore.Tag{{Key: strings.Repeat("k", 129), Value: "v"}}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		// TagResource: "Maximum key length: 127 Unicode characters in
		// UTF-8", "Maximum value length: 255 Unicode characters in UTF-8";
		// lengths count characters, not bytes.
		{name: "key of 127 two-byte characters",
			tags:     []memstore.Tag{{Key: strings.Repeat("é", 127), Value: "v"}},
			wantTags: tags(baseTags, []memstore.Tag{{Key: strings.Repeat("é", 127), Value: "v"}})},
		{name: "value of 255 two-byte characters",
			tags:     []memstore.Tag{{Key: "note", Value: strings.Repeat("é", 255)}},
			wantTags: tags(baseTags, []memstore.Tag{{Key: "note", Value: strings.Repeat("é", 255)}})},
		{name: "empty key",
			tags: []memstore.Tag{{Key: "", Value: "v"}}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "value of 256 characters",
			tags:     []memstore.Tag{{Key: "note", Value: strings.Repeat("v", 256)}},
			wantTags: tags(baseTags, []memstore.Tag{{Key: "note", Value: strings.Repeat("v", 256)}})},
		{name: "value of 257 characters",
			tags: []memstore.Tag{{Key: "note", Value: strings.Repeat("v", 257)}}, wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "aws: prefix",
			tags: []memstore.Tag{{Key: "aws:createdBy", Value: "me"}}, wantErr: secretstore.ErrInvalidRequest},
		{name: "AWS: prefix in capitals",
			tags: []memstore.Tag{{Key: "AWS:createdBy", Value: "me"}}, wantErr: secretstore.ErrInvalidRequest},
		{name: "one bad tag among good ones: none is added",
			tags:    []memstore.Tag{{Key: "owner", Value: "ana"}, {Key: "env", Value: "staging"}, {Key: "aws:x", Value: "y"}},
			wantErr: secretstore.ErrInvalidRequest},
		{name: "unknown secret",
			secretID: "nope", tags: []memstore.Tag{{Key: "owner", Value: "ana"}},
			wantErr: secretstore.ErrNotFound, wantCode: memstore.CodeResourceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tagged(t)
			before := s.Snapshot()
			id := tt.secretID
			if id == "" {
				id = name
			}
			err := s.TagResource(t.Context(), id, tt.tags)
			checkErr(t, err, tt.wantErr, tt.wantCode)
			if tt.wantTags == nil {
				unchanged(t, s, before)
				return
			}
			checkTags(t, s, tt.wantTags)
		})
	}
}

func TestUntagResource(t *testing.T) {
	tests := []struct {
		name     string
		secretID string
		keys     []string
		wantErr  error
		wantTags []memstore.Tag // nil: state unchanged
	}{
		{name: "remove a tag",
			keys: []string{"team"}, wantTags: []memstore.Tag{{Key: "env", Value: "prod"}}},
		{name: "remove every tag",
			keys: []string{"team", "env"}, wantTags: []memstore.Tag{}},
		{name: "known and unknown keys: the unknown ones are ignored",
			keys: []string{"owner", "team"}, wantTags: []memstore.Tag{{Key: "env", Value: "prod"}}},
		{name: "keys are case-sensitive",
			keys: []string{"ENV"}, wantTags: baseTags},
		// UntagResource: "If a requested tag is not attached to the secret,
		// no error is returned and the secret metadata is unchanged."
		{name: "only unknown keys: no error, nothing changes",
			keys: []string{"owner"}},
		{name: "unknown secret",
			secretID: "nope", keys: []string{"env"}, wantErr: secretstore.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tagged(t)
			before := s.Snapshot()
			id := tt.secretID
			if id == "" {
				id = name
			}
			err := s.UntagResource(t.Context(), id, tt.keys)
			checkErr(t, err, tt.wantErr, "")
			if tt.wantTags == nil {
				unchanged(t, s, before)
				return
			}
			checkTags(t, s, tt.wantTags)
		})
	}
}

// listFixture holds, in the order they were created:
//
//	DatabaseSecret   "Primary database"       env=prod, team=data
//	databaseSecret   "PRIMARY replica"        env=staging
//	MyApp/api-key    "Stripe key"             Env=prod, owner=payments
//	svc              (no description)         build=892
//	legacy           "creds for the old app"  team=ops, scheduled for deletion
func listFixture(t *testing.T) *memstore.Store {
	t.Helper()
	s, _ := newStore(t)
	for _, in := range []memstore.CreateSecretInput{
		{Name: "DatabaseSecret", Description: "Primary database", Tags: []memstore.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "data"}}},
		{Name: "databaseSecret", Description: "PRIMARY replica", Tags: []memstore.Tag{{Key: "env", Value: "staging"}}},
		{Name: "MyApp/api-key", Description: "Stripe key", Tags: []memstore.Tag{{Key: "Env", Value: "prod"}, {Key: "owner", Value: "payments"}}},
		{Name: "svc", Tags: []memstore.Tag{{Key: "build", Value: "892"}}},
		{Name: "legacy", Description: "creds for the old app", Tags: []memstore.Tag{{Key: "team", Value: "ops"}}},
	} {
		in.SecretString = str("x")
		if _, err := s.CreateSecret(t.Context(), in); err != nil {
			t.Fatalf("CreateSecret %s: %v", in.Name, err)
		}
	}
	scheduleDeletion(t, s, "legacy")
	return s
}

func names(secrets []memstore.DescribeSecretOutput) []string {
	out := []string{}
	for _, d := range secrets {
		out = append(out, d.Name)
	}
	return out
}

func TestListSecrets(t *testing.T) {
	all := []string{"DatabaseSecret", "databaseSecret", "MyApp/api-key", "svc"}
	f := func(key string, values ...string) memstore.Filter { return memstore.Filter{Key: key, Values: values} }
	tests := []struct {
		name     string
		in       memstore.ListSecretsInput
		want     []string // names, in order
		wantErr  error
		wantCode string
	}{
		{name: "no filter: every secret not scheduled for deletion, oldest first",
			want: all},
		{name: "IncludePlannedDeletion",
			in:   memstore.ListSecretsInput{IncludePlannedDeletion: true},
			want: append(slices.Clone(all), "legacy")},
		{name: "SortOrder asc",
			in: memstore.ListSecretsInput{SortOrder: "asc"}, want: all},
		{name: "SortOrder desc: newest first",
			in: memstore.ListSecretsInput{SortOrder: "desc"}, want: []string{"svc", "MyApp/api-key", "databaseSecret", "DatabaseSecret"}},

		{name: "name: prefix, case-sensitive",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "Data")}}, want: []string{"DatabaseSecret"}},
		{name: "name: lower case",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "data")}}, want: []string{"databaseSecret"}},
		{name: "name: the beginning only",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "Secret")}}, want: []string{}},
		{name: "name: a secret scheduled for deletion is left out",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "legacy")}}, want: []string{}},
		{name: "name: a secret scheduled for deletion with IncludePlannedDeletion",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "legacy")}, IncludePlannedDeletion: true}, want: []string{"legacy"}},
		{name: "description: prefix, not case-sensitive",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("description", "primary")}}, want: []string{"DatabaseSecret", "databaseSecret"}},
		{name: "description: prefix with a space, in capitals",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("description", "PRIMARY DATA")}}, want: []string{"DatabaseSecret"}},
		{name: "tag-key: case-sensitive",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("tag-key", "env")}}, want: []string{"DatabaseSecret", "databaseSecret"}},
		{name: "tag-key: capital",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("tag-key", "Env")}}, want: []string{"MyApp/api-key"}},
		{name: "tag-key: prefix",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("tag-key", "te")}}, want: []string{"DatabaseSecret"}},
		{name: "tag-value: case-sensitive",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("tag-value", "prod")}}, want: []string{"DatabaseSecret", "MyApp/api-key"}},
		{name: "tag-value: other case matches nothing",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("tag-value", "Prod")}}, want: []string{}},
		{name: "tag-value: prefix",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("tag-value", "stag")}}, want: []string{"databaseSecret"}},
		// The user guide's example is credsDatabase#892, but '#' is outside
		// Filter.Values' pattern; camel case and letter-to-digit changes
		// split words just the same.
		{name: "all: words split at case and digit changes, not case-sensitive",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("all", "credsDatabase892")}}, want: []string{"DatabaseSecret", "databaseSecret", "svc"}},
		{name: "all: words split at punctuation",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("all", "nothing/PAYMENTS")}}, want: []string{"MyApp/api-key"}},
		{name: "all: description word in capitals",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("all", "STRIPE")}}, want: []string{"MyApp/api-key"}},
		{name: "all: with IncludePlannedDeletion",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("all", "credsDatabase892")}, IncludePlannedDeletion: true}, want: []string{"DatabaseSecret", "databaseSecret", "svc", "legacy"}},
		{name: "negation: name",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "!Data")}}, want: []string{"databaseSecret", "MyApp/api-key", "svc"}},
		{name: "negation: tag-key, secrets without the key included",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("tag-key", "!env")}}, want: []string{"MyApp/api-key", "svc"}},
		{name: "negation: description, not case-sensitive",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("description", "!primary")}}, want: []string{"MyApp/api-key", "svc"}},
		{name: "several values are ORed",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "Data", "svc")}}, want: []string{"DatabaseSecret", "svc"}},
		{name: "several filters are ANDed",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "Data", "data"), f("tag-value", "staging")}}, want: []string{"databaseSecret"}},
		{name: "several filters are ANDed: no secret passes both",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("tag-key", "env"), f("tag-key", "owner")}}, want: []string{}},
		{name: "filters and SortOrder desc",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("description", "primary")}, SortOrder: "desc"}, want: []string{"databaseSecret", "DatabaseSecret"}},
		{name: "every character of the value pattern",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "!aZ09 :_@/+=.-!")}}, want: all},
		{name: "10 values and 512 characters",
			in: memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", append(slices.Repeat([]string{"x"}, 9), strings.Repeat("y", 512))...)}}, want: []string{}},

		{name: "invalid key",
			in:      memstore.ListSecretsInput{Filters: []memstore.Filter{f("owner", "ana")}},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "key in capitals",
			in:      memstore.ListSecretsInput{Filters: []memstore.Filter{f("Name", "Data")}},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "value outside the pattern: #",
			in:      memstore.ListSecretsInput{Filters: []memstore.Filter{f("all", "credsDatabase#892")}},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "value outside the pattern: a letter that is not ASCII",
			in:      memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "café")}},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "a valid value beside an invalid one",
			in:      memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", "Data"), f("tag-key", "a*")}},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "value of 513 characters",
			in:      memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", strings.Repeat("y", 513))}},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "11 values",
			in:      memstore.ListSecretsInput{Filters: []memstore.Filter{f("name", slices.Repeat([]string{"x"}, 11)...)}},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "no value",
			in:      memstore.ListSecretsInput{Filters: []memstore.Filter{f("name")}},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "SortOrder neither asc nor desc",
			in:      memstore.ListSecretsInput{SortOrder: "newest"},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "MaxResults 101",
			in:      memstore.ListSecretsInput{MaxResults: 101},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
		{name: "negative MaxResults",
			in:      memstore.ListSecretsInput{MaxResults: -1},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := listFixture(t)
			out, err := s.ListSecrets(t.Context(), tt.in)
			checkErr(t, err, tt.wantErr, tt.wantCode)
			if err != nil {
				return
			}
			if got := names(out.Secrets); !slices.Equal(got, tt.want) {
				t.Fatalf("want %v, got %v", tt.want, got)
			}
			if out.NextToken != "" {
				t.Fatalf("want no NextToken on the only page, got %q", out.NextToken)
			}
		})
	}
}

func TestListSecretsEntries(t *testing.T) {
	s := listFixture(t)
	out, err := s.ListSecrets(t.Context(), memstore.ListSecretsInput{Filters: []memstore.Filter{{Key: "name", Values: []string{"MyApp/", "legacy"}}}, IncludePlannedDeletion: true})
	if err != nil {
		t.Fatalf("ListSecrets: %v", err)
	}
	for _, d := range out.Secrets {
		if want := describe(t, s, d.Name); !reflect.DeepEqual(d, want) {
			t.Fatalf("want the entry of %s to be its DescribeSecret\n%+v\ngot\n%+v", d.Name, want, d)
		}
	}
	if len(out.Secrets) != 2 || out.Secrets[1].DeletedDate == nil {
		t.Fatalf("want MyApp/api-key then legacy with its DeletedDate, got %v", names(out.Secrets))
	}
}

func TestListSecretsPagination(t *testing.T) {
	s, _ := newStore(t)
	var asc []string
	for i := range 7 {
		n := fmt.Sprintf("s%d", i)
		if _, err := s.CreateSecret(t.Context(), memstore.CreateSecretInput{Name: n}); err != nil {
			t.Fatalf("CreateSecret %s: %v", n, err)
		}
		asc = append(asc, n)
	}
	if _, err := s.CreateSecret(t.Context(), memstore.CreateSecretInput{Name: "other"}); err != nil {
		t.Fatalf("CreateSecret other: %v", err)
	}
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	for _, order := range []string{"asc", "desc"} {
		want := asc
		if order == "desc" {
			want = desc
		}
		for _, size := range []int{1, 2, 3, 6, 7, 8} {
			t.Run(fmt.Sprintf("%s by %d", order, size), func(t *testing.T) {
				var got []string
				token := ""
				for page := 0; ; page++ {
					if page > len(want) {
						t.Fatalf("want at most %d pages, got more", len(want))
					}
					out, err := s.ListSecrets(t.Context(), memstore.ListSecretsInput{
						Filters:    []memstore.Filter{{Key: "name", Values: []string{"s"}}},
						MaxResults: size, NextToken: token, SortOrder: order,
					})
					if err != nil {
						t.Fatalf("page %d: %v", page, err)
					}
					if len(out.Secrets) == 0 || len(out.Secrets) > size {
						t.Fatalf("page %d: want 1 to %d secrets, got %d", page, size, len(out.Secrets))
					}
					got = append(got, names(out.Secrets)...)
					if token = out.NextToken; token == "" {
						break
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("want every secret once, in order %v, got %v", want, got)
				}
			})
		}
	}
}

func TestListSecretsInvalidNextToken(t *testing.T) {
	s := listFixture(t)
	for _, token := range []string{"not a token", "%%%", "AAAA"} {
		_, err := s.ListSecrets(t.Context(), memstore.ListSecretsInput{NextToken: token})
		var ae *memstore.APIError
		if !errors.As(err, &ae) || ae.Code != "InvalidNextTokenException" || !errors.Is(err, secretstore.ErrInvalidRequest) {
			t.Fatalf("NextToken %q: want InvalidNextTokenException, got %v", token, err)
		}
	}
}

const lambdaARN = "arn:aws:lambda:us-east-1:123456789012:function:rotate-db"

func TestConfigureRotation(t *testing.T) {
	ctx := t.Context()
	s, _ := baseline(t)
	next := time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)

	// RotateSecret: InvalidRequestException when "you tried to enable
	// rotation on a secret that doesn't already have a Lambda function ARN
	// configured and you didn't include such an ARN".
	before := s.Snapshot()
	err := s.ConfigureRotation(ctx, name, "", &memstore.RotationRules{AutomaticallyAfterDays: 30}, next)
	checkErr(t, err, secretstore.ErrInvalidRequest, memstore.CodeInvalidRequest)
	unchanged(t, s, before)

	rules := memstore.RotationRules{AutomaticallyAfterDays: 30, Duration: "2h"}
	if err := s.ConfigureRotation(ctx, name, lambdaARN, &rules, next); err != nil {
		t.Fatalf("ConfigureRotation: want success, got %v", err)
	}
	d := describe(t, s, name)
	want := memstore.Rotation{LambdaARN: lambdaARN, Rules: rules, NextRotation: next}
	if !d.RotationEnabled || !reflect.DeepEqual(d.Rotation, want) {
		t.Fatalf("want rotation enabled with %+v, got %v with %+v", want, d.RotationEnabled, d.Rotation)
	}

	// No ARN and no rules: the recorded ones are kept.
	next2 := next.Add(30 * 24 * time.Hour)
	if err := s.ConfigureRotation(ctx, name, "", nil, next2); err != nil {
		t.Fatalf("ConfigureRotation without ARN: want success, got %v", err)
	}
	want.NextRotation = next2
	if got := describe(t, s, name).Rotation; !reflect.DeepEqual(got, want) {
		t.Fatalf("want %+v, got %+v", want, got)
	}

	// New rules replace the old ones.
	rules2 := memstore.RotationRules{ScheduleExpression: "rate(10 days)"}
	if err := s.ConfigureRotation(ctx, name, "", &rules2, next2); err != nil {
		t.Fatalf("ConfigureRotation with new rules: want success, got %v", err)
	}
	want.Rules = rules2
	if got := describe(t, s, name).Rotation; !reflect.DeepEqual(got, want) {
		t.Fatalf("want %+v, got %+v", want, got)
	}

	// RecordRotation notes a finished rotation and the next one.
	finished, next3 := next.Add(time.Hour), next.Add(11*24*time.Hour)
	if err := s.RecordRotation(ctx, name, finished, next3); err != nil {
		t.Fatalf("RecordRotation: %v", err)
	}
	want.LastRotated, want.NextRotation = finished, next3
	if got := describe(t, s, name).Rotation; !reflect.DeepEqual(got, want) {
		t.Fatalf("want %+v, got %+v", want, got)
	}

	// A secret scheduled for deletion.
	scheduleDeletion(t, s, name)
	before = s.Snapshot()
	err = s.ConfigureRotation(ctx, name, lambdaARN, nil, next)
	checkErr(t, err, secretstore.ErrInvalidRequest, memstore.CodeInvalidRequest)
	unchanged(t, s, before)

	err = s.ConfigureRotation(ctx, "nope", lambdaARN, nil, next)
	checkErr(t, err, secretstore.ErrNotFound, memstore.CodeResourceNotFound)
}

func TestCancelRotation(t *testing.T) {
	next := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	configure := func(t *testing.T, s *memstore.Store) {
		t.Helper()
		if err := s.ConfigureRotation(t.Context(), name, lambdaARN, &memstore.RotationRules{AutomaticallyAfterDays: 7}, next); err != nil {
			t.Fatalf("ConfigureRotation: %v", err)
		}
	}
	start := func(token string) func(t *testing.T, s *memstore.Store) {
		return func(t *testing.T, s *memstore.Store) {
			t.Helper()
			if _, err := s.StartRotation(t.Context(), name, token); err != nil {
				t.Fatalf("StartRotation: %v", err)
			}
		}
	}
	cancel := func(t *testing.T, s *memstore.Store) {
		t.Helper()
		if _, err := s.CancelRotation(t.Context(), name); err != nil {
			t.Fatalf("CancelRotation: %v", err)
		}
	}
	tests := []struct {
		name string
		// prepare runs on the baseline (v1 AWSPREVIOUS, v2 AWSCURRENT, v3
		// AWSPENDING, rotation not enabled).
		prepare     []func(t *testing.T, s *memstore.Store)
		wantPending string // by version name
		wantErr     error
		wantCode    string
	}{
		{name: "rotation started and in progress: its version",
			prepare:     []func(*testing.T, *memstore.Store){move("AWSPENDING", "", tok("v3")), configure, start(tok("r1"))},
			wantPending: "r1"},
		{name: "StartRotation alone enables rotation: its version",
			prepare:     []func(*testing.T, *memstore.Store){move("AWSPENDING", "", tok("v3")), start(tok("r1"))},
			wantPending: "r1"},
		{name: "AWSPENDING on a version that has a value (createSecret done): that version",
			prepare:     []func(*testing.T, *memstore.Store){configure},
			wantPending: "v3"},
		{name: "no rotation in progress: empty",
			prepare: []func(*testing.T, *memstore.Store){finish(tok("v3"), tok("v2")), configure}},
		{name: "AWSPENDING left on the AWSCURRENT version: empty",
			prepare: []func(*testing.T, *memstore.Store){move("AWSCURRENT", tok("v3"), tok("v2")), configure}},
		{name: "rotation not enabled",
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidRequest},
		{name: "rotation cancelled already",
			prepare: []func(*testing.T, *memstore.Store){configure, cancel},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidRequest},
		{name: "secret scheduled for deletion",
			prepare: []func(*testing.T, *memstore.Store){configure, func(t *testing.T, s *memstore.Store) { scheduleDeletion(t, s, name) }},
			wantErr: secretstore.ErrInvalidRequest, wantCode: memstore.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := baseline(t)
			for _, p := range tt.prepare {
				p(t, s)
			}
			before := s.Snapshot()
			beforeRotation := describe(t, s, name).Rotation
			id, err := s.CancelRotation(t.Context(), name)
			checkErr(t, err, tt.wantErr, tt.wantCode)
			if err != nil {
				unchanged(t, s, before)
				return
			}
			if got := strings.TrimSpace(id); got != tt.wantPending {
				t.Fatalf("want pending version %q, got %q", tt.wantPending, got)
			}
			d := describe(t, s, name)
			if d.RotationEnabled {
				t.Fatalf("want rotation disabled, got enabled")
			}
			// CancelRotateSecret leaves the labels to the caller.
			want := before.Secrets[0].Versions
			got := s.Snapshot().Secrets[0].Versions
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("want the versions and labels unchanged\n%+v\ngot\n%+v", want, got)
			}
			// The configuration stays for the next RotateSecret; no
			// rotation is scheduled any more.
			wantRotation := beforeRotation
			wantRotation.NextRotation = time.Time{}
			if !reflect.DeepEqual(d.Rotation, wantRotation) {
				t.Fatalf("want rotation configuration %+v, got %+v", wantRotation, d.Rotation)
			}
		})
	}
}

func TestCancelThenConfigureAgain(t *testing.T) {
	ctx := t.Context()
	s, _ := baseline(t)
	next := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	if err := s.ConfigureRotation(ctx, name, lambdaARN, nil, next); err != nil {
		t.Fatalf("ConfigureRotation: %v", err)
	}
	if _, err := s.CancelRotation(ctx, name); err != nil {
		t.Fatalf("CancelRotation: %v", err)
	}
	// "To turn on automatic rotation again, call RotateSecret": the
	// recorded function is enough.
	if err := s.ConfigureRotation(ctx, name, "", nil, next); err != nil {
		t.Fatalf("ConfigureRotation after CancelRotation: want success, got %v", err)
	}
	if d := describe(t, s, name); !d.RotationEnabled || d.Rotation.LambdaARN != lambdaARN || !d.Rotation.NextRotation.Equal(next) {
		t.Fatalf("want rotation enabled with %s due %v, got %v with %q due %v", lambdaARN, next, d.RotationEnabled, d.Rotation.LambdaARN, d.Rotation.NextRotation)
	}
}

func TestSaveLoadMetadata(t *testing.T) {
	ctx := t.Context()
	s, c := newStore(t)
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{
		Name: name, ClientRequestToken: tok("v1"), SecretString: str("one"), Description: "db",
		KmsKeyID: "arn:aws:kms:us-east-1:123456789012:key/1234abcd", Tags: baseTags,
	}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if _, err := s.CreateSecret(ctx, memstore.CreateSecretInput{Name: "untouched"}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	next := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	rules := memstore.RotationRules{AutomaticallyAfterDays: 30, Duration: "3h", ScheduleExpression: "rate(30 days)"}
	if err := s.ConfigureRotation(ctx, name, lambdaARN, &rules, next); err != nil {
		t.Fatalf("ConfigureRotation: %v", err)
	}
	finished := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	if err := s.RecordRotation(ctx, name, finished, next); err != nil {
		t.Fatalf("RecordRotation: %v", err)
	}
	c.advance(36 * time.Hour)
	if _, err := s.CurrentValue(ctx, name); err != nil {
		t.Fatalf("CurrentValue: %v", err)
	}
	want := describe(t, s, name)

	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatalf("Save: %v", err)
	}
	saved := buf.String()
	loaded := memstore.New()
	if err := loaded.Load(&buf); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if w, g := s.Snapshot(), loaded.Snapshot(); !reflect.DeepEqual(w, g) {
		t.Fatalf("want the saved state back\n%+v\ngot\n%+v", w, g)
	}
	got := describe(t, loaded, name)
	if !slices.Equal(sortedTags(got.Tags), sortedTags(baseTags)) || got.KmsKeyID != want.KmsKeyID {
		t.Fatalf("want tags %v and KMS key id %q back, got %v and %q", baseTags, want.KmsKeyID, got.Tags, got.KmsKeyID)
	}
	wantRotation := memstore.Rotation{LambdaARN: lambdaARN, Rules: rules, LastRotated: finished, NextRotation: next}
	if !got.RotationEnabled || !reflect.DeepEqual(got.Rotation, wantRotation) {
		t.Fatalf("want rotation enabled with %+v back, got %v with %+v", wantRotation, got.RotationEnabled, got.Rotation)
	}
	if d := describe(t, loaded, "untouched"); len(d.Tags) != 0 || d.KmsKeyID != "" || d.RotationEnabled {
		t.Fatalf("want a secret without metadata to stay so, got %+v", d)
	}

	// A state whose tags break TagResource's rules is refused whole.
	before := loaded.Snapshot()
	bad := strings.Replace(saved, `"key": "team"`, `"key": "aws:team"`, 1)
	if bad == saved {
		t.Fatalf("want the saved JSON to hold the tag key team, got\n%s", saved)
	}
	if err := loaded.Load(strings.NewReader(bad)); !errors.Is(err, secretstore.ErrInvalidRequest) {
		t.Fatalf("Load of a tag key beginning aws:: want ErrInvalidRequest, got %v", err)
	}
	unchanged(t, loaded, before)
}

// TestSaveLoadAfterUntaggingEverything: the state of a secret whose tags
// were all removed must survive Save and Load like any other.
func TestSaveLoadAfterUntaggingEverything(t *testing.T) {
	s := tagged(t)
	if err := s.UntagResource(t.Context(), name, []string{"env", "team"}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatalf("Save: %v", err)
	}
	loaded := memstore.New()
	if err := loaded.Load(&buf); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if w, g := s.Snapshot().Secrets[0].Tags, loaded.Snapshot().Secrets[0].Tags; !reflect.DeepEqual(w, g) {
		t.Fatalf("want Snapshot's Tags equal after Save and Load, got %#v before and %#v after", w, g)
	}
}
