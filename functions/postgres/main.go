// Command postgres is the Lambda rotation function for PostgreSQL secrets in
// AWS Secrets Manager, a drop-in for AWS's SecretsManagerRDSPostgreSQL
// rotation functions. Configuration (environment):
//
//	ROTATION_STRATEGY        alternating-users (default) or single-user
//	PASSWORD_LENGTH          default 32
//	EXCLUDE_CHARACTERS       default /@"'\ and white space
//	REQUIRE_EACH_INCLUDED_TYPE  default true
//	PASSWORD_SOURCE          local (default) or secretsmanager
//	SECRETS_MANAGER_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL
//	ROTOR_CA_BUNDLE          PEM file of extra CAs; default: rds-ca-bundle.pem
//	                         beside the binary, when the zip carries one
//	ROTOR_EVENT_BUS          EventBridge bus (name or ARN) for rotation events;
//	                         unset or empty: no events
//	ROTOR_FINGERPRINT_KEY_SECRET  secret whose AWSCURRENT value (at least 32
//	                         bytes) keys the events' fingerprints; read once
//	                         at start; unset: events without fingerprints
//	AWS_ENDPOINT_URL_EVENTBRIDGE, AWS_ENDPOINT_URL  EventBridge endpoint
//	ROTOR_LOCK_IDLE_USER     true: the deactivation gate locks the idle user
//	                         of alternating users (NOLOGIN) once every
//	                         registered consumer acknowledged; default false
//	ROTOR_GRACE_PERIOD       the grace policy (Go duration, longer than 330s;
//	                         default 24h): how long after a rotation the
//	                         gate waits for acknowledgements and for the
//	                         previous user's sessions to end before it
//	                         revokes anyway, and during which Set refuses
//	                         (retried) to change the password of an
//	                         alternating user that still has sessions
//	                         (Set applies it only when this variable is set
//	                         or ROTOR_LOCK_IDLE_USER is true)
//	ROTOR_GATE_SECRETS       secrets the hourly sweep evaluates (comma list);
//	                         default: every secret with a registration
//	                         that this function rotates
//	LOG_LEVEL                debug, info (default), warn, error
//
// The function also takes EventBridge events (when ROTOR_EVENT_BUS is set):
// rotor's Rotation Completed, consumers' Consumer Acknowledged (source
// rotor.consumer.<name>), and the scheduled sweep, which it hands to the
// deactivation gate (shared/deactivation), and an operator's emergency
// rotation payload (Action "emergency-rotation", Confirm "revoke-now", a
// Reason), which needs the gate and ROTOR_LOCK_IDLE_USER.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/deactivation"
	"github.com/rotorhq/rotor/shared/function"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/metrics"
)

func main() {
	logger := function.Logger()
	engine, gate, err := wire(context.Background(), logger)
	if err != nil {
		logger.Error("configuration", "error", err)
		os.Exit(1)
	}
	var events function.EventHandler
	if gate != nil {
		events = gate
	}
	lambda.Start(function.Handler(engine, events))
}

// wire builds the engine, and the gate when events are on (nil otherwise).
func wire(ctx context.Context, logger *slog.Logger) (*lifecycle.Engine, *deactivation.Gate, error) {
	env, err := function.LoadEnv(ctx)
	if err != nil {
		return nil, nil, err
	}
	strategy := postgres.Strategy(function.Getenv("ROTATION_STRATEGY", string(postgres.AlternatingUsers)))
	lockIdle, err := strconv.ParseBool(function.Getenv("ROTOR_LOCK_IDLE_USER", "false"))
	if err != nil {
		return nil, nil, fmt.Errorf("ROTOR_LOCK_IDLE_USER: %q is not true or false", os.Getenv("ROTOR_LOCK_IDLE_USER"))
	}
	// The grace policy is one setting for the gate and for Set, which ends
	// the previous credential of alternating users too.
	settings, err := deactivation.SettingsFromEnv(os.LookupEnv)
	if err != nil {
		return nil, nil, err
	}
	rotator, err := postgres.New(postgres.Options{Strategy: strategy, Roots: env.Roots, LockIdleUser: lockIdle, GracePeriod: setGrace(lockIdle, settings)})
	if err != nil {
		return nil, nil, fmt.Errorf("ROTATION_STRATEGY: %w", err)
	}
	ev, err := env.LoadEvents(ctx, logger)
	if err != nil {
		return nil, nil, err
	}
	engine, err := lifecycle.New(env.Store, rotator, env.Config, logger)
	if err != nil {
		return nil, nil, err
	}
	if ev.Publisher == nil {
		return engine, nil, nil
	}
	engine = engine.WithEvents(ev.Publisher, ev.Fingerprinter)
	cfg := deactivation.Config{
		Store: env.Store, Publisher: ev.Publisher, Info: rotator.Info(),
		GracePeriod: settings.GracePeriod, Secrets: settings.Secrets,
		// Set by Lambda: the sweep by tag keeps to this function's secrets.
		FunctionName: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		Metrics:      metrics.New(os.Stdout, metrics.Namespace), Logger: logger,
	}
	if d := rotator.Deactivator(); d != nil {
		cfg.Deactivator = d
	}
	gate, err := deactivation.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return engine, gate, nil
}

// setGrace is the grace policy Set applies to the previous credential of
// alternating users: the deployment's, once it opted into revocation
// (ROTOR_LOCK_IDLE_USER=true) or set ROTOR_GRACE_PERIOD itself. A function
// swapped in for AWS's with neither behaves as AWS's does: the next
// rotation changes the previous user's password whatever sessions it has
// (and logs them), so back-to-back rotations never fail on a consumer's
// open connection.
func setGrace(lockIdle bool, settings deactivation.Settings) time.Duration {
	if lockIdle || settings.GracePeriodSet {
		return settings.GracePeriod
	}
	return 0
}
