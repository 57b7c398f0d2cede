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
//	LOG_LEVEL                debug, info (default), warn, error
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/function"
	"github.com/rotorhq/rotor/shared/lifecycle"
)

func main() {
	logger := function.Logger()
	engine, err := wire(context.Background(), logger)
	if err != nil {
		logger.Error("configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(engine.HandleRotationEvent)
}

func wire(ctx context.Context, logger *slog.Logger) (*lifecycle.Engine, error) {
	env, err := function.LoadEnv(ctx)
	if err != nil {
		return nil, err
	}
	strategy := postgres.Strategy(function.Getenv("ROTATION_STRATEGY", string(postgres.AlternatingUsers)))
	rotator, err := postgres.New(postgres.Options{Strategy: strategy, RootCAs: env.RootCAs})
	if err != nil {
		return nil, fmt.Errorf("ROTATION_STRATEGY: %w", err)
	}
	ev, err := env.LoadEvents(ctx, logger)
	if err != nil {
		return nil, err
	}
	engine, err := lifecycle.New(env.Store, rotator, env.Config, logger)
	if err != nil {
		return nil, err
	}
	if ev.Publisher != nil {
		engine = engine.WithEvents(ev.Publisher, ev.Fingerprinter)
	}
	return engine, nil
}
