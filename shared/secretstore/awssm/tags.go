package awssm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotorhq/rotor/shared/secretstore"
)

// TagAPI is the part of *secretsmanager.Client that [Store.Tag] and
// [Store.ListTagged] use beyond [API], with the SDK's signatures. It is
// separate from API so that a rotation function's client (and the fakes of
// its tests) need not have it; *secretsmanager.Client has both.
type TagAPI interface {
	TagResource(ctx context.Context, params *secretsmanager.TagResourceInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.TagResourceOutput, error)
	ListSecrets(ctx context.Context, params *secretsmanager.ListSecretsInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}

var _ TagAPI = (*secretsmanager.Client)(nil)

// ErrNoTagAPI is returned by [Store.Tag] and [Store.ListTagged] when the
// store's client does not implement [TagAPI].
var ErrNoTagAPI = errors.New("awssm: the client does not implement TagResource and ListSecrets")

// Details is [secretstore.Details]: DescribeSecret's answer with the tags.
type Details = secretstore.Details

// Details describes the secret (DescribeSecret) with its tags and
// LastRotatedDate. A secret that does not exist, or is scheduled for
// deletion, is [secretstore.ErrNotFound].
func (s *Store) Details(ctx context.Context, secretID string) (Details, error) {
	out, err := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		return Details{}, wrap(err, "describe secret %s", secretID)
	}
	if out.DeletedDate != nil {
		return Details{}, fmt.Errorf("awssm: describe secret %s: %w: scheduled for deletion", secretID, secretstore.ErrNotFound)
	}
	d := Details{Description: description(out), Tags: make(map[string]string, len(out.Tags))}
	for _, t := range out.Tags {
		d.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return d, nil
}

// Tag adds tags to the secret, or changes the values of keys it has
// (TagResource, which is idempotent). Keys are sent in sorted order.
func (s *Store) Tag(ctx context.Context, secretID string, tags map[string]string) error {
	api, ok := s.api.(TagAPI)
	if !ok {
		return ErrNoTagAPI
	}
	in := &secretsmanager.TagResourceInput{SecretId: aws.String(secretID)}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	if _, err := api.TagResource(ctx, in); err != nil {
		return wrap(err, "tag secret %s", secretID)
	}
	return nil
}

// TaggedSecret is a secret [Store.ListTagged] found; its Rotation is the
// RotationLambdaARN.
type TaggedSecret = secretstore.TaggedSecret

// ListTagged returns the secrets that have a tag whose key starts with
// keyPrefix (ListSecrets, filter tag-key, every page), except those
// scheduled for deletion.
func (s *Store) ListTagged(ctx context.Context, keyPrefix string) ([]TaggedSecret, error) {
	api, ok := s.api.(TagAPI)
	if !ok {
		return nil, ErrNoTagAPI
	}
	in := &secretsmanager.ListSecretsInput{
		Filters: []types.Filter{{Key: types.FilterNameStringTypeTagKey, Values: []string{keyPrefix}}},
	}
	var found []TaggedSecret
	for {
		out, err := api.ListSecrets(ctx, in)
		if err != nil {
			return nil, wrap(err, "list secrets with tag key %s", keyPrefix)
		}
		for _, e := range out.SecretList {
			if e.DeletedDate == nil {
				found = append(found, TaggedSecret{ARN: aws.ToString(e.ARN), Rotation: aws.ToString(e.RotationLambdaARN)})
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return found, nil
		}
		in.NextToken = out.NextToken
	}
}

// RotateAPI is the part of *secretsmanager.Client that [Store.Rotate] uses,
// with the SDK's signature; separate from [API] for the same reason as
// [TagAPI].
type RotateAPI interface {
	RotateSecret(ctx context.Context, params *secretsmanager.RotateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error)
}

var _ RotateAPI = (*secretsmanager.Client)(nil)

// Rotate starts a rotation of the secret with its configured rotation
// function and schedule (RotateSecret with RotateImmediately) and returns
// the new version's id. Secrets Manager refuses it
// ([secretstore.ErrInvalidRequest]) while another rotation is in progress.
func (s *Store) Rotate(ctx context.Context, secretID string) (string, error) {
	api, ok := s.api.(RotateAPI)
	if !ok {
		return "", errors.New("awssm: the client does not implement RotateSecret")
	}
	out, err := api.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(secretID), RotateImmediately: aws.Bool(true)})
	if err != nil {
		return "", wrap(err, "rotate secret %s", secretID)
	}
	return aws.ToString(out.VersionId), nil
}

// UntagAPI is the part of *secretsmanager.Client that [Store.Untag] uses,
// apart from [TagAPI] so that clients and fakes that only tag need not
// have it.
type UntagAPI interface {
	UntagResource(ctx context.Context, params *secretsmanager.UntagResourceInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.UntagResourceOutput, error)
}

var _ UntagAPI = (*secretsmanager.Client)(nil)

// Untag removes tag keys from the secret (UntagResource; a key the secret
// does not have is no error). Keys are sent in sorted order.
func (s *Store) Untag(ctx context.Context, secretID string, keys []string) error {
	api, ok := s.api.(UntagAPI)
	if !ok {
		return ErrNoTagAPI
	}
	in := &secretsmanager.UntagResourceInput{SecretId: aws.String(secretID), TagKeys: slices.Sorted(slices.Values(keys))}
	if _, err := api.UntagResource(ctx, in); err != nil {
		return wrap(err, "untag secret %s", secretID)
	}
	return nil
}
