package memstore

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rotorhq/rotor/shared/secretstore"
)

// This file holds what Secrets Manager keeps about a secret besides its
// versions: tags, the KMS key id, the rotation configuration, and the
// operations that read and change them (UpdateSecret, TagResource,
// UntagResource, ListSecrets, and the bookkeeping of RotateSecret and
// CancelRotateSecret).

// Tag is a secret's tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Limits of tags, from the TagResource API reference.
const (
	MaxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// RotationRules is a secret's rotation schedule, as RotateSecret takes it.
// The store records it; the caller checks it (the local endpoint's scheduler
// parses ScheduleExpression and Duration).
type RotationRules struct {
	AutomaticallyAfterDays int64  `json:"automaticallyAfterDays,omitempty"`
	Duration               string `json:"duration,omitempty"`
	ScheduleExpression     string `json:"scheduleExpression,omitempty"`
}

// Rotation is a secret's rotation configuration and history.
type Rotation struct {
	LambdaARN string        `json:"lambdaArn,omitempty"`
	Rules     RotationRules `json:"rules"`
	// LastRotated is when a rotation last finished; zero means never.
	LastRotated time.Time `json:"lastRotated"`
	// NextRotation is when the next scheduled rotation is due; zero means
	// none is scheduled.
	NextRotation time.Time `json:"nextRotation"`
}

// mergeTags returns tags with add applied: a key that exists gets the new
// value. It checks AWS's limits and changes nothing when one is broken.
func mergeTags(tags, add []Tag) ([]Tag, error) {
	out := slices.Clone(tags)
	for _, t := range add {
		// AWS counts Unicode characters, not bytes.
		if t.Key == "" || utf8.RuneCountInString(t.Key) > maxTagKeyLen {
			return nil, errValidation("Value at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and %d", maxTagKeyLen)
		}
		if utf8.RuneCountInString(t.Value) > maxTagValueLen {
			return nil, errValidation("Value at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to %d", maxTagValueLen)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, errInvalidParameter("Tag keys beginning with aws: are reserved for AWS use.")
		}
		if i := slices.IndexFunc(out, func(o Tag) bool { return o.Key == t.Key }); i >= 0 {
			out[i].Value = t.Value
		} else {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, errValidation("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", MaxTags)
	}
	return out, nil
}

// UpdateSecretInput is UpdateSecret's request. Nil fields are left as they
// are.
type UpdateSecretInput struct {
	SecretID    string
	Description *string
	KmsKeyID    *string
	// A value, with its version id (empty: a generated one), becomes a new
	// version with AWSCURRENT, with PutSecretValue's idempotency rules.
	ClientRequestToken string
	SecretString       *string
	SecretBinary       []byte
}

// UpdateSecretOutput is UpdateSecret's response; VersionID is set when a
// value was given.
type UpdateSecretOutput struct {
	ARN       string
	Name      string
	VersionID string
}

// UpdateSecret changes a secret's description, KMS key id or value.
func (s *Store) UpdateSecret(ctx context.Context, in UpdateSecretInput) (UpdateSecretOutput, error) {
	if err := ctx.Err(); err != nil {
		return UpdateSecretOutput{}, err
	}
	if err := validToken(in.ClientRequestToken); err != nil {
		return UpdateSecretOutput{}, err
	}
	value, binary, hasValue, err := secretValue(in.SecretString, in.SecretBinary)
	if err != nil {
		return UpdateSecretOutput{}, err
	}
	if in.Description != nil && len(*in.Description) > 2048 {
		return UpdateSecretOutput{}, errValidation("Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 2048")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(in.SecretID)
	if err != nil {
		return UpdateSecretOutput{}, err
	}
	out := UpdateSecretOutput{ARN: sec.arn, Name: sec.name}
	changed := in.Description != nil || in.KmsKeyID != nil
	if hasValue {
		// put updates lastChanged itself, and leaves it on a retry.
		put, err := s.put(sec, in.ClientRequestToken, value, binary, []string{secretstore.Current})
		if err != nil {
			return UpdateSecretOutput{}, err
		}
		out.VersionID = put.VersionID
	}
	if in.Description != nil {
		sec.description = *in.Description
	}
	if in.KmsKeyID != nil {
		sec.kmsKeyID = *in.KmsKeyID
	}
	if changed {
		sec.lastChanged = s.stamp()
	}
	return out, nil
}

// TagResource adds tags to a secret, replacing the values of keys it has.
func (s *Store) TagResource(ctx context.Context, secretID string, tags []Tag) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(secretID)
	if err != nil {
		return err
	}
	merged, err := mergeTags(sec.tags, tags)
	if err != nil {
		return err
	}
	sec.tags = merged
	sec.lastChanged = s.stamp()
	return nil
}

// UntagResource removes tags by key; keys the secret does not have are
// ignored, as in AWS.
func (s *Store) UntagResource(ctx context.Context, secretID string, keys []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(secretID)
	if err != nil {
		return err
	}
	kept := slices.DeleteFunc(slices.Clone(sec.tags), func(t Tag) bool { return slices.Contains(keys, t.Key) })
	if len(kept) == len(sec.tags) {
		return nil // "the secret metadata is unchanged"
	}
	if len(kept) == 0 {
		kept = nil // as after a Save and Load
	}
	sec.tags = kept
	sec.lastChanged = s.stamp()
	return nil
}

// ConfigureRotation records what RotateSecret was given: the rotation
// function (empty keeps the one recorded) and the rules (nil keeps them),
// enables rotation and sets the next scheduled rotation. A secret with no
// rotation function recorded and none given is InvalidRequestException.
func (s *Store) ConfigureRotation(ctx context.Context, secretID, lambdaARN string, rules *RotationRules, next time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(secretID)
	if err != nil {
		return err
	}
	if lambdaARN == "" && sec.rotation.LambdaARN == "" {
		return errInvalidRequest("No Lambda rotation function ARN is associated with this secret.")
	}
	if lambdaARN != "" {
		sec.rotation.LambdaARN = lambdaARN
	}
	if rules != nil {
		sec.rotation.Rules = *rules
	}
	sec.rotation.NextRotation = next.UTC().Round(0)
	sec.rotationEnabled = true
	sec.lastChanged = s.stamp()
	return nil
}

// RecordRotation notes a finished rotation and the next one due (zero: none).
func (s *Store) RecordRotation(ctx context.Context, secretID string, finished, next time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(secretID)
	if err != nil {
		return err
	}
	sec.rotation.LastRotated = finished.UTC().Round(0)
	sec.rotation.NextRotation = next.UTC().Round(0)
	return nil
}

// CancelRotation is CancelRotateSecret: it turns rotation off and returns the
// version a rotation in progress created (AWSPENDING on a version that is not
// AWSCURRENT), or "" when none is in progress. The labels are left as they
// are: AWS leaves the clean-up to the caller.
func (s *Store) CancelRotation(ctx context.Context, secretID string) (pendingVersionID string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(secretID)
	if err != nil {
		return "", err
	}
	if !sec.rotationEnabled {
		return "", errInvalidRequest("Secret %s does not have rotation enabled.", sec.name)
	}
	sec.rotationEnabled = false
	sec.rotation.NextRotation = time.Time{}
	sec.lastChanged = s.stamp()
	if p := sec.withStage(secretstore.Pending); p != nil && !p.has(secretstore.Current) {
		return p.id, nil
	}
	return "", nil
}

// Filter is one of ListSecrets' filters: Key is description, name, tag-key,
// tag-value, primary-region, owning-service or all; a secret matches when
// any of Values matches (a value starting with "!" matches when the rest
// does not).
type Filter struct {
	Key    string
	Values []string
}

// ListSecretsInput is ListSecrets' request.
type ListSecretsInput struct {
	Filters                []Filter
	IncludePlannedDeletion bool
	// MaxResults is 1 to 100; 0 means 100.
	MaxResults int
	NextToken  string
	// SortOrder is "asc" (default) or "desc", by creation date.
	SortOrder string
}

// ListSecretsOutput is ListSecrets' response.
type ListSecretsOutput struct {
	Secrets   []DescribeSecretOutput
	NextToken string
}

// ListSecrets lists the secrets that pass every filter, a page at a time.
func (s *Store) ListSecrets(ctx context.Context, in ListSecretsInput) (ListSecretsOutput, error) {
	if err := ctx.Err(); err != nil {
		return ListSecretsOutput{}, err
	}
	limit := in.MaxResults
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 100 {
		return ListSecretsOutput{}, errValidation("Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100")
	}
	if in.SortOrder != "" && in.SortOrder != "asc" && in.SortOrder != "desc" {
		return ListSecretsOutput{}, errValidation("Value '%s' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]", in.SortOrder)
	}
	for _, f := range in.Filters {
		if err := validFilter(f); err != nil {
			return ListSecretsOutput{}, err
		}
	}
	start := 0
	if in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, convErr := strconv.Atoi(string(raw))
		if err != nil || convErr != nil || n < 0 {
			return ListSecretsOutput{}, &APIError{Code: "InvalidNextTokenException", Message: "The NextToken value is invalid.", Err: secretstore.ErrInvalidRequest}
		}
		start = n
	}
	s.mu.Lock()
	names := make([]string, 0, len(s.secrets))
	for name := range s.secrets {
		names = append(names, name)
	}
	s.mu.Unlock()
	var all []DescribeSecretOutput
	for _, name := range names {
		d, err := s.DescribeSecret(ctx, DescribeSecretInput{SecretID: name})
		if err != nil {
			continue // deleted meanwhile, or its recovery window passed
		}
		if d.DeletedDate != nil && !in.IncludePlannedDeletion {
			continue
		}
		if matchesAll(d, in.Filters) {
			all = append(all, d)
		}
	}
	slices.SortFunc(all, func(a, b DescribeSecretOutput) int {
		if c := a.CreatedDate.Compare(b.CreatedDate); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if in.SortOrder == "desc" {
		slices.Reverse(all)
	}
	out := ListSecretsOutput{Secrets: []DescribeSecretOutput{}}
	if start < len(all) {
		end := min(start+limit, len(all))
		out.Secrets = all[start:end]
		if end < len(all) {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
		}
	}
	return out, nil
}

var filterKeys = []string{"description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"}

func validFilter(f Filter) error {
	if !slices.Contains(filterKeys, f.Key) {
		return errValidation("Value '%s' at 'filters.member.key' failed to satisfy constraint: Member must satisfy enum value set: [%s]", f.Key, strings.Join(filterKeys, ", "))
	}
	if len(f.Values) < 1 || len(f.Values) > 10 {
		return errValidation("Value at 'filters.member.values' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	for _, v := range f.Values {
		if len(v) > 512 {
			return errValidation("Value at 'filters.member.values' failed to satisfy constraint: Member must have length less than or equal to 512")
		}
		for _, r := range v {
			ok := r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(" :_@/+=.-!", r))
			if !ok {
				return errValidation("Value at 'filters.member.values' failed to satisfy constraint: Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$")
			}
		}
	}
	return nil
}

// matchesAll: every filter must match (filters are ANDed).
func matchesAll(d DescribeSecretOutput, filters []Filter) bool {
	for _, f := range filters {
		if !matches(d, f) {
			return false
		}
	}
	return true
}

// matches: any value may match (values are ORed).
func matches(d DescribeSecretOutput, f Filter) bool {
	var attrs []string
	fold := false
	switch f.Key {
	case "name":
		attrs = []string{d.Name}
	case "description":
		attrs, fold = []string{d.Description}, true
	case "tag-key":
		for _, t := range d.Tags {
			attrs = append(attrs, t.Key)
		}
	case "tag-value":
		for _, t := range d.Tags {
			attrs = append(attrs, t.Value)
		}
	case "all":
		attrs = append(attrs, words(d.Name)...)
		attrs = append(attrs, words(d.Description)...)
		for _, t := range d.Tags {
			attrs = append(attrs, words(t.Key)...)
			attrs = append(attrs, words(t.Value)...)
		}
		fold = true
	default: // primary-region, owning-service: no replica or managing service here
	}
	for _, v := range f.Values {
		negate := strings.HasPrefix(v, "!")
		v = strings.TrimPrefix(v, "!")
		needles := []string{v}
		if f.Key == "all" {
			needles = words(v)
		}
		found := false
		for _, n := range needles {
			for _, a := range attrs {
				if fold && strings.HasPrefix(strings.ToLower(a), strings.ToLower(n)) || !fold && strings.HasPrefix(a, n) {
					found = true
				}
			}
		}
		if found != negate {
			return true
		}
	}
	return false
}

// words splits s as the console's search does: at every change from upper
// to lower case, from letter to digit, and at punctuation.
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range s {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case len(cur) > 0 && (unicode.IsDigit(r) != unicode.IsDigit(prev) ||
			unicode.IsUpper(r) && unicode.IsLower(prev)):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}
