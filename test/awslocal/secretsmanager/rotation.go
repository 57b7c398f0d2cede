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

// rotations tracks the rotations of each secret, which never overlap: a
// rotation of another version requested while one runs begins once that
// one has ended. The run in progress is poked, so that it looks at the
// secret again at once instead of sitting out its retry wait: a RotateSecret
// after AWS's documented recovery from a failed rotation (AWSPENDING removed
// from the failed version) must run now, not when the old run's retries are
// spent, and CancelRotateSecret must stop the retries.
type rotations struct {
	mu     sync.Mutex
	latest map[string]*run // by secret ARN: the run begun last, until it ends
	active inflight.Tracker
}

// run is the rotation of one version, or one configuration test.
type run struct {
	token string
	// poke, with room for one, asks the run to look at the secret again now.
	poke chan struct{}
	// closing is set under rotations.mu once the run will make no further
	// attempt; a RotateSecret for its version then begins a new run.
	closing bool
	done    chan struct{} // closed when the run has ended
}

func (r *run) wake() {
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

// drain forgets pokes: the attempt about to begin answers them.
func (r *run) drain() {
	select {
	case <-r.poke:
	default:
	}
}

// begin registers a run of version token and pokes the run in progress.
// With join, a run in progress of the same version that will attempt again
// is the run asked for: begin returns nil, and the poke makes it retry at
// once. Otherwise begin returns the new run and the run it must wait for
// (nil: none).
func (rs *rotations) begin(arn, token string, join bool) (r, after *run) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	after = rs.latest[arn]
	if after != nil {
		after.wake()
		if join && after.token == token && !after.closing {
			return nil, nil
		}
	}
	r = &run{token: token, poke: make(chan struct{}, 1), done: make(chan struct{})}
	rs.latest[arn] = r
	rs.active.Add()
	return r, after
}

// giveUp is asked by a run whose attempts are spent: it ends unless it was
// poked since its last attempt began (a RotateSecret asked for its version,
// or the secret changed), in which case it attempts once more.
func (rs *rotations) giveUp(r *run) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	select {
	case <-r.poke:
		return false
	default:
		r.closing = true
		return true
	}
}

func (rs *rotations) end(arn string, r *run) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r.closing = true
	if rs.latest[arn] == r {
		delete(rs.latest, arn)
	}
	close(r.done)
	rs.active.Done()
}

// wake pokes the secret's run in progress, if any.
func (rs *rotations) wake(arn string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r := rs.latest[arn]; r != nil {
		r.wake()
	}
}

func (rs *rotations) busy(arn string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.latest[arn] != nil
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
	testOnly := in.RotateImmediately != nil && !*in.RotateImmediately
	// A rotation is incomplete while AWSPENDING is on a version other than
	// the AWSCURRENT one. A RotateSecret naming that version resumes it; a
	// configuration test cannot run until it is finished or its label
	// removed.
	if pending := stageHolder(d, secretstore.Pending); pending != "" && pending != stageHolder(d, secretstore.Current) &&
		(pending != in.ClientRequestToken || testOnly) {
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
	if testOnly {
		versionID, err := s.testConfiguration(ctx, r, d.ARN, in.ClientRequestToken, lambdaARN)
		if versionID == "" {
			return nil, err
		}
		return &rotateSecretOutput{ARN: d.ARN, Name: d.Name, VersionId: versionID}, err
	}
	versionID, err := r.store.StartRotation(ctx, d.ARN, in.ClientRequestToken)
	if err != nil {
		return nil, apiError(err)
	}
	s.launch(r, d.ARN, versionID, lambdaARN)
	return &rotateSecretOutput{ARN: d.ARN, Name: d.Name, VersionId: versionID}, nil
}

// testConfiguration is RotateSecret with RotateImmediately=false: "The test
// creates an AWSPENDING version of the secret and then removes it". The
// version (token, or a new UUID) holds a copy of the AWSCURRENT value, so
// that the function's testSecret, which reads the AWSPENDING version of its
// token as AWS's own functions do, tests the credential in use; an empty
// version would fail every one of AWS's functions. Only testSecret runs,
// and the label is removed whatever the outcome. The test counts as a run
// of the secret's rotations, so that no scheduled rotation starts on its
// version meanwhile. It returns the version, "" when none was made.
func (s *Service) testConfiguration(ctx context.Context, r *region, arn, token, lambdaARN string) (string, error) {
	if token == "" {
		token = uuid.NewString()
	}
	run, after := s.rotations.begin(arn, token, false)
	defer s.rotations.end(arn, run)
	if after != nil {
		select {
		case <-after.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	versionID, err := r.store.StartConfigurationTest(ctx, arn, token)
	if err != nil {
		return "", apiError(err)
	}
	invokeErr := s.invoke(ctx, lambdaARN, "testSecret", arn, versionID, uuid.NewString())
	d, err := r.store.DescribeSecret(context.WithoutCancel(ctx), memstore.DescribeSecretInput{SecretID: arn})
	if err == nil && slices.Contains(d.VersionIDsToStages[versionID], secretstore.Pending) {
		_, err = r.store.UpdateSecretVersionStage(context.WithoutCancel(ctx), memstore.UpdateSecretVersionStageInput{
			SecretID: arn, VersionStage: secretstore.Pending, RemoveFromVersionID: versionID})
	}
	if err != nil {
		return versionID, apiError(err)
	}
	if invokeErr != nil {
		return versionID, errInvalidRequest("The rotation function failed the testSecret step of the rotation configuration test: %s", errorType(invokeErr))
	}
	return versionID, nil
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
	// The run in progress stops before its next step or retry; a step
	// being invoked finishes, as a Lambda invocation does.
	s.rotations.wake(d.ARN)
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

// launch runs the rotation of version token in the background: at once, or
// once the secret's rotation in progress has ended. A rotation of the same
// version in progress is asked to attempt now instead.
func (s *Service) launch(r *region, arn, token, lambdaARN string) {
	run, after := s.rotations.begin(arn, token, true)
	if run == nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.rotations.end(arn, run)
		if after != nil {
			select {
			case <-after.done:
			case <-s.ctx.Done():
				return
			}
		}
		s.rotate(s.ctx, r, arn, run, lambdaARN)
	}()
}

var (
	errAbandoned = errors.New("the version is no longer AWSPENDING")
	errCancelled = errors.New("rotation was cancelled, or the secret deleted")
)

// rotate runs attempts until one succeeds, the version stops being pending,
// rotation is cancelled, or the retries are spent.
func (s *Service) rotate(ctx context.Context, r *region, arn string, run *run, lambdaARN string) {
	token := run.token
	log := s.log.With("secret", arn, "version", token)
	backoff := s.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		run.drain()
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
		case errors.Is(err, errCancelled), ctx.Err() != nil:
			log.Info("rotation cancelled")
			return
		}
		s.cloudTrail(r.scope, RotationFailed, arn)
		if attempt >= s.opts.Retries {
			if !s.rotations.giveUp(run) {
				log.Info("rotation failed; asked again meanwhile, attempting once more", "attempt", attempt+1, "error", err)
				continue
			}
			s.postpone(ctx, r, arn)
			log.Warn("rotation failed; AWSPENDING stays until a later RotateSecret or the schedule retries it",
				"attempts", attempt+1, "error", err)
			return
		}
		log.Info("rotation failed; retrying", "attempt", attempt+1, "backoff", backoff, "error", err)
		if s.pause(ctx, run, backoff) != nil {
			return
		}
		backoff *= 2
	}
}

// pause waits d on the clock before a retry, or until the run is poked.
func (s *Service) pause(ctx context.Context, run *run, d time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slept := make(chan error, 1)
	go func() { slept <- s.opts.Clock.Sleep(ctx, d) }()
	select {
	case err := <-slept:
		return err
	case <-run.poke:
		return nil
	}
}

// attempt runs the four steps once. Before each step, and after a step
// failed, it looks at the secret again: the rotation stops when the version
// has lost AWSPENDING (the user removed it), when rotation was cancelled or
// the secret deleted, and succeeds when the version is AWSCURRENT already.
func (s *Service) attempt(ctx context.Context, r *region, arn, token, lambdaARN string) error {
	rotationToken := uuid.NewString()
	for i, step := range steps {
		done, err := s.stillPending(ctx, r, arn, token)
		if err != nil || done {
			return err
		}
		if i == 0 {
			s.cloudTrail(r.scope, RotationStarted, arn)
		}
		if err := s.invoke(ctx, lambdaARN, step, arn, token, rotationToken); err != nil {
			// A step fails when the secret changed under it (AWS's
			// functions refuse a version that is not AWSPENDING, or a
			// secret whose rotation is off): that is the change's outcome,
			// not a failure to retry.
			if done, why := s.stillPending(ctx, r, arn, token); why != nil || done {
				return why
			}
			return fmt.Errorf("%s: %w", step, err)
		}
	}
	done, err := s.stillPending(ctx, r, arn, token)
	if err != nil {
		return err
	}
	if !done {
		return errors.New("finishSecret returned without moving AWSCURRENT to the pending version")
	}
	return nil
}

// stillPending reports whether version token is AWSCURRENT already (done),
// or why its rotation cannot go on ([errCancelled], [errAbandoned]).
func (s *Service) stillPending(ctx context.Context, r *region, arn, token string) (done bool, err error) {
	d, err := r.store.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: arn})
	switch {
	case ctx.Err() != nil:
		return false, ctx.Err()
	case err != nil, d.DeletedDate != nil, !d.RotationEnabled:
		return false, errCancelled
	}
	stages := d.VersionIDsToStages[token]
	switch {
	case slices.Contains(stages, secretstore.Current):
		return true, nil
	case !slices.Contains(stages, secretstore.Pending):
		return false, errAbandoned
	}
	return false, nil
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
