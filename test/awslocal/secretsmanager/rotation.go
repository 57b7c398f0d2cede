package secretsmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/inflight"
)

// The four steps, in the order Secrets Manager runs them.
var steps = []string{"createSecret", "setSecret", "testSecret", "finishSecret"}

// CloudTrail event names of rotation, as Secrets Manager sends them.
const (
	RotationStarted   = "RotationStarted"
	RotationSucceeded = "RotationSucceeded"
	RotationFailed    = "RotationFailed"
	RotationAbandoned = "RotationAbandoned"
)

// rotations tracks the rotation running for each secret: one at a time.
type rotations struct {
	mu      sync.Mutex
	running map[string]*run // by secret ARN
	active  inflight.Tracker
}

type run struct {
	token  string
	cancel context.CancelFunc
}

func (rs *rotations) begin(arn, token string, cancel context.CancelFunc) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.running[arn] != nil {
		return false
	}
	rs.running[arn] = &run{token: token, cancel: cancel}
	rs.active.Add()
	return true
}

func (rs *rotations) end(arn string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	delete(rs.running, arn)
	rs.active.Done()
}

func (rs *rotations) cancel(arn string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r := rs.running[arn]; r != nil {
		r.cancel()
	}
}

func (rs *rotations) busy(arn string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.running[arn] != nil
}

// WaitRotations waits until no rotation is running, or ctx ends: tests call
// it after RotateSecret instead of polling.
func (s *Service) WaitRotations(ctx context.Context) error {
	return s.rotations.active.Wait(ctx)
}

type rotateSecretInput struct {
	SecretId           string
	ClientRequestToken string
	RotationLambdaARN  string
	RotationRules      *rotationRules
	RotateImmediately  *bool
}

type rotateSecretOutput struct {
	ARN       string
	Name      string
	VersionId string `json:",omitempty"`
}

func (s *Service) rotateSecret(ctx context.Context, in *rotateSecretInput) (*rotateSecretOutput, error) {
	r := s.caller(ctx)
	if t := in.ClientRequestToken; t != "" && (len(t) < 32 || len(t) > 64) {
		return nil, awsjson.ClientError(memstore.CodeValidation, "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64")
	}
	d, err := r.store.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: in.SecretId})
	if err != nil {
		return nil, apiError(err)
	}
	if d.DeletedDate != nil {
		return nil, errInvalidRequest("You can't perform this operation on the secret because it was marked for deletion.")
	}
	var rules *memstore.RotationRules
	if in.RotationRules != nil {
		rules = &memstore.RotationRules{AutomaticallyAfterDays: in.RotationRules.AutomaticallyAfterDays,
			Duration: in.RotationRules.Duration, ScheduleExpression: in.RotationRules.ScheduleExpression}
	}
	var sched *schedule
	switch {
	case rules != nil:
		sc, err := parseRules(*rules)
		if err != nil {
			return nil, err
		}
		sched = &sc
	case d.Rotation.Rules != (memstore.RotationRules{}):
		sc, err := parseRules(d.Rotation.Rules)
		if err == nil {
			sched = &sc
		}
	}
	lambdaARN := in.RotationLambdaARN
	if lambdaARN == "" {
		lambdaARN = d.Rotation.LambdaARN
	}
	if lambdaARN == "" {
		return nil, errInvalidRequest("No Lambda rotation function ARN is associated with this secret.")
	}
	if s.opts.Functions == nil || !s.opts.Functions.Exists(ctx, lambdaARN) {
		return nil, awsjson.Errorf(http.StatusBadRequest, "AccessDeniedException",
			"Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.")
	}
	if pending := stageHolder(d, secretstore.Pending); pending != "" && pending != stageHolder(d, secretstore.Current) && pending != in.ClientRequestToken {
		return nil, errInvalidRequest("A previous rotation isn't complete. That rotation will be reattempted.")
	}
	if stageHolder(d, secretstore.Current) == "" {
		return nil, errInvalidRequest("You can't rotate secret %s because it has no AWSCURRENT version.", d.Name)
	}
	now := s.opts.Clock.Now()
	var next time.Time
	if sched != nil {
		if next, err = sched.next(now); err != nil {
			return nil, errInvalidParameter("%v", err)
		}
	}
	if err := r.store.ConfigureRotation(ctx, d.ARN, lambdaARN, rules, next); err != nil {
		return nil, apiError(err)
	}
	versionID, err := r.store.StartRotation(ctx, d.ARN, in.ClientRequestToken)
	if err != nil {
		return nil, apiError(err)
	}
	out := &rotateSecretOutput{ARN: d.ARN, Name: d.Name, VersionId: versionID}
	if in.RotateImmediately != nil && !*in.RotateImmediately {
		return out, s.testConfiguration(ctx, r, d.ARN, versionID, lambdaARN)
	}
	s.launch(r, d.ARN, versionID, lambdaARN)
	return out, nil
}

// testConfiguration is RotateSecret with RotateImmediately=false: testSecret
// alone, on the empty AWSPENDING version, whose label is removed afterwards
// whatever the outcome.
func (s *Service) testConfiguration(ctx context.Context, r *region, arn, versionID, lambdaARN string) error {
	invokeErr := s.invoke(ctx, lambdaARN, "testSecret", arn, versionID, uuid.NewString())
	_, err := r.store.UpdateSecretVersionStage(ctx, memstore.UpdateSecretVersionStageInput{
		SecretID: arn, VersionStage: secretstore.Pending, RemoveFromVersionID: versionID})
	if err != nil {
		return apiError(err)
	}
	if invokeErr != nil {
		return errInvalidRequest("The rotation function failed the testSecret step of the rotation configuration test: %s", errorType(invokeErr))
	}
	return nil
}

type cancelRotateSecretOutput struct {
	ARN       string
	Name      string
	VersionId string `json:",omitempty"`
}

func (s *Service) cancelRotateSecret(ctx context.Context, in *secretIDInput) (*cancelRotateSecretOutput, error) {
	r := s.caller(ctx)
	d, err := r.store.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: in.SecretId})
	if err != nil {
		return nil, apiError(err)
	}
	versionID, err := r.store.CancelRotation(ctx, d.ARN)
	if err != nil {
		return nil, apiError(err)
	}
	s.rotations.cancel(d.ARN)
	return &cancelRotateSecretOutput{ARN: d.ARN, Name: d.Name, VersionId: versionID}, nil
}

func stageHolder(d memstore.DescribeSecretOutput, stage string) string {
	for v, stages := range d.VersionIDsToStages {
		for _, st := range stages {
			if st == stage {
				return v
			}
		}
	}
	return ""
}

// launch runs the rotation of version token in the background, unless one
// is running for the secret already.
func (s *Service) launch(r *region, arn, token, lambdaARN string) {
	ctx, cancel := context.WithCancel(s.ctx)
	if !s.rotations.begin(arn, token, cancel) {
		cancel()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.rotations.end(arn)
		defer cancel()
		s.rotate(ctx, r, arn, token, lambdaARN)
	}()
}

var errAbandoned = errors.New("the version is no longer AWSPENDING")

// rotate runs attempts until one succeeds, the version stops being pending,
// or the retries are spent.
func (s *Service) rotate(ctx context.Context, r *region, arn, token, lambdaARN string) {
	log := s.log.With("secret", arn, "version", token)
	backoff := s.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		err := s.attempt(ctx, r, arn, token, lambdaARN)
		switch {
		case err == nil:
			s.succeeded(ctx, r, arn)
			s.cloudTrail(r.scope, RotationSucceeded, arn)
			log.Info("rotation succeeded", "attempt", attempt+1)
			return
		case errors.Is(err, errAbandoned):
			s.cloudTrail(r.scope, RotationAbandoned, arn)
			log.Info("rotation abandoned: the version is no longer AWSPENDING")
			return
		case ctx.Err() != nil:
			log.Info("rotation cancelled")
			return
		}
		s.cloudTrail(r.scope, RotationFailed, arn)
		if attempt >= s.opts.Retries {
			s.postpone(ctx, r, arn)
			log.Warn("rotation failed; AWSPENDING stays until a later RotateSecret or the schedule retries it",
				"attempts", attempt+1, "error", err)
			return
		}
		log.Info("rotation failed; retrying", "attempt", attempt+1, "backoff", backoff, "error", err)
		if s.opts.Clock.Sleep(ctx, backoff) != nil {
			return
		}
		backoff *= 2
	}
}

// attempt runs the four steps once.
func (s *Service) attempt(ctx context.Context, r *region, arn, token, lambdaARN string) error {
	d, err := r.store.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: arn})
	if err != nil {
		return err
	}
	if !d.RotationEnabled {
		return errAbandoned
	}
	stages := d.VersionIDsToStages[token]
	if slices.Contains(stages, secretstore.Current) {
		return nil
	}
	if !slices.Contains(stages, secretstore.Pending) {
		return errAbandoned
	}
	s.cloudTrail(r.scope, RotationStarted, arn)
	rotationToken := uuid.NewString()
	for _, step := range steps {
		if err := s.invoke(ctx, lambdaARN, step, arn, token, rotationToken); err != nil {
			return fmt.Errorf("%s: %w", step, err)
		}
	}
	d, err = r.store.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: arn})
	if err != nil {
		return err
	}
	if !slices.Contains(d.VersionIDsToStages[token], secretstore.Current) {
		return errors.New("finishSecret returned without moving AWSCURRENT to the pending version")
	}
	return nil
}

func (s *Service) invoke(ctx context.Context, lambdaARN, step, arn, token, rotationToken string) error {
	if s.opts.Functions == nil {
		return errors.New("no Lambda functions are registered")
	}
	payload, _ := json.Marshal(map[string]string{
		"Step": step, "SecretId": arn, "ClientRequestToken": token, "RotationToken": rotationToken,
	})
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	defer cancel()
	_, err := s.opts.Functions.Invoke(ctx, lambdaARN, payload)
	return err
}

// errorType names an invocation error without its message, which is the
// function's to word.
func errorType(err error) string {
	var typed interface{ ErrorType() string }
	if errors.As(err, &typed) {
		return typed.ErrorType()
	}
	return fmt.Sprintf("%T", err)
}

func (s *Service) succeeded(ctx context.Context, r *region, arn string) {
	d, err := r.store.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: arn})
	if err != nil {
		return
	}
	now := s.opts.Clock.Now()
	var next time.Time
	if sc, err := parseRules(d.Rotation.Rules); err == nil && d.RotationEnabled {
		next, _ = sc.next(now)
	}
	_ = r.store.RecordRotation(ctx, arn, now, next)
}

// postpone moves a failed scheduled rotation to the next window, so that
// the scheduler does not start it again at every tick.
func (s *Service) postpone(ctx context.Context, r *region, arn string) {
	d, err := r.store.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: arn})
	if err != nil || !d.RotationEnabled {
		return
	}
	if sc, err := parseRules(d.Rotation.Rules); err == nil {
		if next, err := sc.next(s.opts.Clock.Now()); err == nil {
			_ = r.store.ConfigureRotation(ctx, arn, "", nil, next)
		}
	}
}

// cloudTrail sends a rotation event in the shape of AWS's "AWS Service Event
// via CloudTrail", with the secret's ARN in additionalEventData.SecretId.
func (s *Service) cloudTrail(sc scope, eventName, arn string) {
	now := s.opts.Clock.Now().UTC()
	s.emit(sc, Event{
		Source: "aws.secretsmanager", DetailType: "AWS Service Event via CloudTrail", Time: now,
		Detail: map[string]any{
			"eventVersion":        "1.09",
			"userIdentity":        map[string]string{"accountId": sc.account, "invokedBy": "secretsmanager.amazonaws.com"},
			"eventTime":           now.Format(time.RFC3339),
			"eventSource":         "secretsmanager.amazonaws.com",
			"eventName":           eventName,
			"awsRegion":           sc.region,
			"sourceIPAddress":     "secretsmanager.amazonaws.com",
			"userAgent":           "secretsmanager.amazonaws.com",
			"requestParameters":   nil,
			"responseElements":    nil,
			"additionalEventData": map[string]string{"SecretId": arn},
			"requestID":           uuid.NewString(),
			"eventID":             uuid.NewString(),
			"readOnly":            false,
			"eventType":           "AwsServiceEvent",
			"managementEvent":     true,
			"recipientAccountId":  sc.account,
			"eventCategory":       "Management",
		},
	})
}

// runScheduler starts the rotations that are due, every SchedulerTick of the
// clock. A due secret whose last rotation did not complete is tried again
// with the same version ("That rotation will be reattempted").
func (s *Service) runScheduler() {
	defer s.wg.Done()
	for s.opts.Clock.Sleep(s.ctx, s.opts.SchedulerTick) == nil {
		s.startDue(s.ctx)
	}
}

func (s *Service) startDue(ctx context.Context) {
	now := s.opts.Clock.Now()
	for _, r := range s.regions() {
		var token string
		for {
			page, err := r.store.ListSecrets(ctx, memstore.ListSecretsInput{NextToken: token})
			if err != nil {
				break
			}
			for _, d := range page.Secrets {
				due := d.RotationEnabled && !d.Rotation.NextRotation.IsZero() && !d.Rotation.NextRotation.After(now)
				if !due || s.rotations.busy(d.ARN) || d.Rotation.LambdaARN == "" {
					continue
				}
				version := stageHolder(d, secretstore.Pending)
				if version == "" || version == stageHolder(d, secretstore.Current) {
					if version, err = r.store.StartRotation(ctx, d.ARN, ""); err != nil {
						s.log.Warn("scheduled rotation not started", "secret", d.ARN, "error", err)
						continue
					}
				}
				s.launch(r, d.ARN, version, d.Rotation.LambdaARN)
			}
			if token = page.NextToken; token == "" {
				break
			}
		}
	}
}
