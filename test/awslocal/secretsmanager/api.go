package secretsmanager

import (
	"context"
	"strconv"
	"time"

	"github.com/rotorhq/rotor/shared/secretstore/memstore"
)

// The wire shapes of the API reference. Timestamps are epoch seconds, as
// the JSON 1.1 protocol sends them.

type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(time.Time(t).UnixMilli())/1000, 'f', 3, 64), nil
}

func stamp(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

type tag struct {
	Key   string
	Value string
}

func toTags(in []tag) []memstore.Tag {
	out := make([]memstore.Tag, len(in))
	for i, t := range in {
		out[i] = memstore.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func fromTags(in []memstore.Tag) []tag {
	if len(in) == 0 {
		return nil
	}
	out := make([]tag, len(in))
	for i, t := range in {
		out[i] = tag{Key: t.Key, Value: t.Value}
	}
	return out
}

type rotationRules struct {
	AutomaticallyAfterDays int64  `json:",omitempty"`
	Duration               string `json:",omitempty"`
	ScheduleExpression     string `json:",omitempty"`
}

type filter struct {
	Key    string
	Values []string
}

func toFilters(in []filter) []memstore.Filter {
	out := make([]memstore.Filter, len(in))
	for i, f := range in {
		out[i] = memstore.Filter{Key: f.Key, Values: f.Values}
	}
	return out
}

type createSecretInput struct {
	Name               string
	ClientRequestToken string
	Description        string
	KmsKeyId           string
	SecretString       *string
	SecretBinary       []byte
	Tags               []tag
}

type createSecretOutput struct {
	ARN       string
	Name      string
	VersionId string `json:",omitempty"`
}

// createSecret sends no "Secret Label Updated": the first version's
// AWSCURRENT does not move from another version.
func (s *Service) createSecret(ctx context.Context, in *createSecretInput) (*createSecretOutput, error) {
	out, err := s.caller(ctx).store.CreateSecret(ctx, memstore.CreateSecretInput{
		Name: in.Name, Description: in.Description, ClientRequestToken: in.ClientRequestToken,
		SecretString: in.SecretString, SecretBinary: in.SecretBinary, KmsKeyID: in.KmsKeyId, Tags: toTags(in.Tags),
	})
	if err != nil {
		return nil, apiError(err)
	}
	return &createSecretOutput{ARN: out.ARN, Name: out.Name, VersionId: out.VersionID}, nil
}

type secretIDInput struct {
	SecretId string
}

type describeSecretOutput struct {
	ARN                string
	Name               string
	Description        string `json:",omitempty"`
	KmsKeyId           string `json:",omitempty"`
	RotationEnabled    bool   `json:",omitempty"`
	RotationLambdaARN  string `json:",omitempty"`
	RotationRules      *rotationRules
	LastRotatedDate    *epoch              `json:",omitempty"`
	LastChangedDate    *epoch              `json:",omitempty"`
	DeletedDate        *epoch              `json:",omitempty"`
	NextRotationDate   *epoch              `json:",omitempty"`
	CreatedDate        *epoch              `json:",omitempty"`
	Tags               []tag               `json:",omitempty"`
	VersionIdsToStages map[string][]string `json:",omitempty"`
	// SecretVersionsToStages is ListSecrets' name for VersionIdsToStages.
	SecretVersionsToStages map[string][]string `json:",omitempty"`
}

func describe(d memstore.DescribeSecretOutput) describeSecretOutput {
	out := describeSecretOutput{
		ARN: d.ARN, Name: d.Name, Description: d.Description, KmsKeyId: d.KmsKeyID,
		RotationEnabled: d.RotationEnabled, RotationLambdaARN: d.Rotation.LambdaARN,
		LastRotatedDate: stamp(d.Rotation.LastRotated), LastChangedDate: stamp(d.LastChangedDate),
		NextRotationDate: stamp(d.Rotation.NextRotation), CreatedDate: stamp(d.CreatedDate),
		Tags: fromTags(d.Tags), VersionIdsToStages: d.VersionIDsToStages,
	}
	if d.DeletedDate != nil {
		out.DeletedDate = stamp(*d.DeletedDate)
	}
	if rr := d.Rotation.Rules; rr != (memstore.RotationRules{}) {
		out.RotationRules = &rotationRules{AutomaticallyAfterDays: rr.AutomaticallyAfterDays, Duration: rr.Duration, ScheduleExpression: rr.ScheduleExpression}
	}
	return out
}

func (s *Service) describeSecret(ctx context.Context, in *secretIDInput) (*describeSecretOutput, error) {
	d, err := s.caller(ctx).store.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: in.SecretId})
	if err != nil {
		return nil, apiError(err)
	}
	out := describe(d)
	return &out, nil
}

type getSecretValueInput struct {
	SecretId     string
	VersionId    string
	VersionStage string
}

type secretValue struct {
	ARN           string
	Name          string
	VersionId     string
	SecretString  *string `json:",omitempty"`
	SecretBinary  []byte  `json:",omitempty"`
	VersionStages []string
	CreatedDate   *epoch
}

func value(v memstore.GetSecretValueOutput) *secretValue {
	return &secretValue{ARN: v.ARN, Name: v.Name, VersionId: v.VersionID, SecretString: v.SecretString,
		SecretBinary: v.SecretBinary, VersionStages: v.VersionStages, CreatedDate: stamp(v.CreatedDate)}
}

func (s *Service) getSecretValue(ctx context.Context, in *getSecretValueInput) (*secretValue, error) {
	v, err := s.caller(ctx).store.GetSecretValue(ctx, memstore.GetSecretValueInput{
		SecretID: in.SecretId, VersionID: in.VersionId, VersionStage: in.VersionStage})
	if err != nil {
		return nil, apiError(err)
	}
	return value(v), nil
}

type batchGetSecretValueInput struct {
	SecretIdList []string
	Filters      []filter
	MaxResults   int
	NextToken    string
}

type batchError struct {
	SecretId  string
	ErrorCode string
	Message   string
}

type batchGetSecretValueOutput struct {
	SecretValues []*secretValue
	Errors       []batchError `json:",omitempty"`
	NextToken    string       `json:",omitempty"`
}

// batchGetSecretValue reads the AWSCURRENT value of up to 20 secrets, named
// or filtered; a secret that cannot be read is an entry of Errors, not a
// failure of the call.
func (s *Service) batchGetSecretValue(ctx context.Context, in *batchGetSecretValueInput) (*batchGetSecretValueOutput, error) {
	r := s.caller(ctx)
	switch {
	case len(in.SecretIdList) > 0 && len(in.Filters) > 0:
		return nil, errInvalidParameter("Either 'SecretIdList' or 'Filters' must be provided, but not both.")
	case len(in.SecretIdList) == 0 && len(in.Filters) == 0:
		return nil, errInvalidParameter("Either 'SecretIdList' or 'Filters' must be provided.")
	case len(in.SecretIdList) > 20:
		return nil, errInvalidParameter("SecretIdList can contain at most 20 secrets.")
	case in.MaxResults != 0 && len(in.Filters) == 0:
		return nil, errInvalidParameter("MaxResults can be used only with Filters.")
	case in.MaxResults < 0 || in.MaxResults > 20:
		return nil, errInvalidParameter("MaxResults must be between 1 and 20.")
	}
	ids := in.SecretIdList
	out := &batchGetSecretValueOutput{SecretValues: []*secretValue{}}
	if len(in.Filters) > 0 {
		limit := in.MaxResults
		if limit == 0 {
			limit = 20
		}
		list, err := r.store.ListSecrets(ctx, memstore.ListSecretsInput{Filters: toFilters(in.Filters), MaxResults: limit, NextToken: in.NextToken})
		if err != nil {
			return nil, apiError(err)
		}
		for _, d := range list.Secrets {
			ids = append(ids, d.ARN)
		}
		out.NextToken = list.NextToken
	}
	for _, id := range ids {
		v, err := r.store.GetSecretValue(ctx, memstore.GetSecretValueInput{SecretID: id})
		if err != nil {
			e := &memstore.APIError{Code: memstore.CodeInternal, Message: "internal error"}
			if ae, ok := err.(*memstore.APIError); ok {
				e = ae
			}
			out.Errors = append(out.Errors, batchError{SecretId: id, ErrorCode: e.Code, Message: e.Message})
			continue
		}
		out.SecretValues = append(out.SecretValues, value(v))
	}
	return out, nil
}

type putSecretValueInput struct {
	SecretId           string
	ClientRequestToken string
	SecretString       *string
	SecretBinary       []byte
	VersionStages      []string
	RotationToken      string
}

type putSecretValueOutput struct {
	ARN           string
	Name          string
	VersionId     string
	VersionStages []string
}

func (s *Service) putSecretValue(ctx context.Context, in *putSecretValueInput) (*putSecretValueOutput, error) {
	r := s.caller(ctx)
	var out memstore.PutSecretValueOutput
	err := s.writeVersion(ctx, r, in.SecretId, func() string { return out.VersionID }, func() (err error) {
		out, err = r.store.PutSecretValue(ctx, memstore.PutSecretValueInput{
			SecretID: in.SecretId, ClientRequestToken: in.ClientRequestToken, SecretString: in.SecretString,
			SecretBinary: in.SecretBinary, VersionStages: in.VersionStages, RotationToken: in.RotationToken})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &putSecretValueOutput{ARN: out.ARN, Name: out.Name, VersionId: out.VersionID, VersionStages: out.VersionStages}, nil
}

type updateSecretInput struct {
	SecretId           string
	ClientRequestToken string
	Description        *string
	KmsKeyId           *string
	SecretString       *string
	SecretBinary       []byte
}

func (s *Service) updateSecret(ctx context.Context, in *updateSecretInput) (*createSecretOutput, error) {
	r := s.caller(ctx)
	var out memstore.UpdateSecretOutput
	err := s.writeVersion(ctx, r, in.SecretId, func() string { return out.VersionID }, func() (err error) {
		out, err = r.store.UpdateSecret(ctx, memstore.UpdateSecretInput{
			SecretID: in.SecretId, Description: in.Description, KmsKeyID: in.KmsKeyId,
			ClientRequestToken: in.ClientRequestToken, SecretString: in.SecretString, SecretBinary: in.SecretBinary})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &createSecretOutput{ARN: out.ARN, Name: out.Name, VersionId: out.VersionID}, nil
}

type updateSecretVersionStageInput struct {
	SecretId            string
	VersionStage        string
	MoveToVersionId     string
	RemoveFromVersionId string
}

type arnName struct {
	ARN  string
	Name string
}

func (s *Service) updateSecretVersionStage(ctx context.Context, in *updateSecretVersionStageInput) (*arnName, error) {
	r := s.caller(ctx)
	var out memstore.UpdateSecretVersionStageOutput
	err := s.write(ctx, r, in.SecretId, func() (err error) {
		out, err = r.store.UpdateSecretVersionStage(ctx, memstore.UpdateSecretVersionStageInput{
			SecretID: in.SecretId, VersionStage: in.VersionStage,
			MoveToVersionID: in.MoveToVersionId, RemoveFromVersionID: in.RemoveFromVersionId})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arnName{ARN: out.ARN, Name: out.Name}, nil
}

type listSecretsInput struct {
	Filters                []filter
	IncludePlannedDeletion bool
	MaxResults             int
	NextToken              string
	SortOrder              string
}

type listSecretsOutput struct {
	SecretList []describeSecretOutput
	NextToken  string `json:",omitempty"`
}

func (s *Service) listSecrets(ctx context.Context, in *listSecretsInput) (*listSecretsOutput, error) {
	list, err := s.caller(ctx).store.ListSecrets(ctx, memstore.ListSecretsInput{
		Filters: toFilters(in.Filters), IncludePlannedDeletion: in.IncludePlannedDeletion,
		MaxResults: in.MaxResults, NextToken: in.NextToken, SortOrder: in.SortOrder})
	if err != nil {
		return nil, apiError(err)
	}
	out := &listSecretsOutput{SecretList: []describeSecretOutput{}, NextToken: list.NextToken}
	for _, d := range list.Secrets {
		e := describe(d)
		e.SecretVersionsToStages, e.VersionIdsToStages = e.VersionIdsToStages, nil
		out.SecretList = append(out.SecretList, e)
	}
	return out, nil
}

type listSecretVersionIDsInput struct {
	SecretId          string
	IncludeDeprecated bool
	MaxResults        int
	NextToken         string
}

type versionEntry struct {
	VersionId     string
	VersionStages []string `json:",omitempty"`
	CreatedDate   *epoch
}

type listSecretVersionIDsOutput struct {
	ARN      string
	Name     string
	Versions []versionEntry
}

func (s *Service) listSecretVersionIDs(ctx context.Context, in *listSecretVersionIDsInput) (*listSecretVersionIDsOutput, error) {
	if in.MaxResults < 0 || in.MaxResults > 100 {
		return nil, errInvalidParameter("MaxResults must be between 1 and 100.")
	}
	list, err := s.caller(ctx).store.ListSecretVersionIDs(ctx, memstore.ListSecretVersionIDsInput{
		SecretID: in.SecretId, IncludeDeprecated: in.IncludeDeprecated})
	if err != nil {
		return nil, apiError(err)
	}
	out := &listSecretVersionIDsOutput{ARN: list.ARN, Name: list.Name, Versions: []versionEntry{}}
	for _, v := range list.Versions {
		out.Versions = append(out.Versions, versionEntry{VersionId: v.VersionID, VersionStages: v.VersionStages, CreatedDate: stamp(v.CreatedDate)})
	}
	return out, nil
}

type tagResourceInput struct {
	SecretId string
	Tags     []tag
}

type empty struct{}

func (s *Service) tagResource(ctx context.Context, in *tagResourceInput) (*empty, error) {
	if err := s.caller(ctx).store.TagResource(ctx, in.SecretId, toTags(in.Tags)); err != nil {
		return nil, apiError(err)
	}
	return &empty{}, nil
}

type untagResourceInput struct {
	SecretId string
	TagKeys  []string
}

func (s *Service) untagResource(ctx context.Context, in *untagResourceInput) (*empty, error) {
	if err := s.caller(ctx).store.UntagResource(ctx, in.SecretId, in.TagKeys); err != nil {
		return nil, apiError(err)
	}
	return &empty{}, nil
}

type deleteSecretInput struct {
	SecretId                   string
	RecoveryWindowInDays       int
	ForceDeleteWithoutRecovery bool
}

type deleteSecretOutput struct {
	ARN          string
	Name         string
	DeletionDate *epoch
}

func (s *Service) deleteSecret(ctx context.Context, in *deleteSecretInput) (*deleteSecretOutput, error) {
	out, err := s.caller(ctx).store.DeleteSecret(ctx, memstore.DeleteSecretInput{
		SecretID: in.SecretId, RecoveryWindowInDays: in.RecoveryWindowInDays, ForceDeleteWithoutRecovery: in.ForceDeleteWithoutRecovery})
	if err != nil {
		return nil, apiError(err)
	}
	s.rotations.wake(out.ARN)
	return &deleteSecretOutput{ARN: out.ARN, Name: out.Name, DeletionDate: stamp(out.DeletionDate)}, nil
}

func (s *Service) restoreSecret(ctx context.Context, in *secretIDInput) (*arnName, error) {
	out, err := s.caller(ctx).store.RestoreSecret(ctx, in.SecretId)
	if err != nil {
		return nil, apiError(err)
	}
	return &arnName{ARN: out.ARN, Name: out.Name}, nil
}

type getRandomPasswordInput struct {
	PasswordLength          *int
	ExcludeCharacters       string
	ExcludeNumbers          bool
	ExcludePunctuation      bool
	ExcludeUppercase        bool
	ExcludeLowercase        bool
	IncludeSpace            bool
	RequireEachIncludedType *bool
}

type getRandomPasswordOutput struct {
	RandomPassword string
}

func (s *Service) getRandomPassword(ctx context.Context, in *getRandomPasswordInput) (*getRandomPasswordOutput, error) {
	out, err := s.caller(ctx).store.GetRandomPassword(ctx, memstore.GetRandomPasswordInput{
		PasswordLength: in.PasswordLength, ExcludeCharacters: in.ExcludeCharacters, ExcludeNumbers: in.ExcludeNumbers,
		ExcludePunctuation: in.ExcludePunctuation, ExcludeUppercase: in.ExcludeUppercase, ExcludeLowercase: in.ExcludeLowercase,
		IncludeSpace: in.IncludeSpace, RequireEachIncludedType: in.RequireEachIncludedType})
	if err != nil {
		return nil, apiError(err)
	}
	return &getRandomPasswordOutput{RandomPassword: out.RandomPassword}, nil
}
