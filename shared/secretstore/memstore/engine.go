package memstore

import (
	"context"
	"fmt"

	"github.com/rotorhq/rotor/shared/secretstore"
)

// This file holds the engine's view of the store: the six methods the
// lifecycle engine calls, with the contract of the awssm adapter.

// Describe returns the secret's ARN, name, rotation flag and labelled
// versions. A secret scheduled for deletion is [secretstore.ErrNotFound].
func (s *Store) Describe(ctx context.Context, secretID string) (secretstore.Description, error) {
	out, err := s.DescribeSecret(ctx, DescribeSecretInput{SecretID: secretID})
	if err != nil {
		return secretstore.Description{}, err
	}
	if out.DeletedDate != nil {
		return secretstore.Description{}, fmt.Errorf("%w: secret %s is scheduled for deletion", secretstore.ErrNotFound, out.Name)
	}
	return secretstore.Description{
		ARN:             out.ARN,
		Name:            out.Name,
		RotationEnabled: out.RotationEnabled,
		Versions:        out.VersionIDsToStages,
		LastRotated:     out.Rotation.LastRotated,
	}, nil
}

// Value returns the value of the version. It fails with
// [secretstore.ErrVersionNotFound] when the version does not exist or has no
// value yet, and with [secretstore.ErrNotFound] when the secret does not
// exist.
func (s *Store) Value(ctx context.Context, secretID, versionID string) ([]byte, error) {
	if versionID == "" {
		return nil, errValidation("Value(%s): the version id is empty", secretID)
	}
	out, err := s.GetSecretValue(ctx, GetSecretValueInput{SecretID: secretID, VersionID: versionID})
	if err != nil {
		return nil, err
	}
	return out.Value(), nil
}

// CurrentValue returns the AWSCURRENT value; [secretstore.ErrNotFound] when
// the secret does not exist.
func (s *Store) CurrentValue(ctx context.Context, secretID string) ([]byte, error) {
	out, err := s.GetSecretValue(ctx, GetSecretValueInput{SecretID: secretID, VersionStage: secretstore.Current})
	if err != nil {
		return nil, err
	}
	return out.Value(), nil
}

// Version reads the version by id with its labels, with the errors of
// [Store.Value].
func (s *Store) Version(ctx context.Context, secretID, versionID string) (secretstore.Version, error) {
	if versionID == "" {
		return secretstore.Version{}, errValidation("Version(%s): the version id is empty", secretID)
	}
	out, err := s.GetSecretValue(ctx, GetSecretValueInput{SecretID: secretID, VersionID: versionID})
	if err != nil {
		return secretstore.Version{}, err
	}
	return engineVersion(out), nil
}

// Current reads the AWSCURRENT version with its id and labels, with the
// errors of [Store.CurrentValue].
func (s *Store) Current(ctx context.Context, secretID string) (secretstore.Version, error) {
	out, err := s.GetSecretValue(ctx, GetSecretValueInput{SecretID: secretID, VersionStage: secretstore.Current})
	if err != nil {
		return secretstore.Version{}, err
	}
	return engineVersion(out), nil
}

func engineVersion(out GetSecretValueOutput) secretstore.Version {
	return secretstore.Version{ARN: out.ARN, Name: out.Name, ID: out.VersionID, Stages: out.VersionStages, Value: out.Value()}
}

// PutPending stores the value as version p.VersionID with AWSPENDING
// (PutSecretValue). The same value again succeeds; another value fails with
// [secretstore.ErrVersionExists].
func (s *Store) PutPending(ctx context.Context, p secretstore.PendingValue) error {
	if p.VersionID == "" {
		return errValidation("PutPending(%s): the version id (the rotation's ClientRequestToken) is empty", p.SecretID)
	}
	str := string(p.Value)
	_, err := s.PutSecretValue(ctx, PutSecretValueInput{
		SecretID:           p.SecretID,
		ClientRequestToken: p.VersionID,
		SecretString:       &str,
		VersionStages:      []string{secretstore.Pending},
		RotationToken:      p.RotationToken,
	})
	return err
}

// MoveStage moves the label to m.ToVersion (UpdateSecretVersionStage),
// naming m.FromVersion as the version to take it from when it is another
// one; with no ToVersion, it removes the label from m.FromVersion.
func (s *Store) MoveStage(ctx context.Context, m secretstore.StageMove) error {
	in := UpdateSecretVersionStageInput{SecretID: m.SecretID, VersionStage: m.Stage, MoveToVersionID: m.ToVersion}
	if m.FromVersion != "" && m.FromVersion != m.ToVersion {
		in.RemoveFromVersionID = m.FromVersion
	}
	_, err := s.UpdateSecretVersionStage(ctx, in)
	return err
}

// RandomPassword generates a password as GetRandomPassword does: from every
// printable ASCII character but the space, less spec.ExcludeCharacters.
// A zero Length means GetRandomPassword's default, 32.
func (s *Store) RandomPassword(ctx context.Context, spec secretstore.PasswordSpec) (string, error) {
	in := GetRandomPasswordInput{ExcludeCharacters: spec.ExcludeCharacters, RequireEachIncludedType: &spec.RequireEachIncludedType}
	if spec.Length != 0 {
		in.PasswordLength = &spec.Length
	}
	out, err := s.GetRandomPassword(ctx, in)
	if err != nil {
		return "", err
	}
	return out.RandomPassword, nil
}
