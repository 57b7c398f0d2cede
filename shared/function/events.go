package function

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/events/publish"
	"github.com/rotorhq/rotor/shared/metrics"
)

// The variables of the event configuration.
const (
	// EventBusEnv names the EventBridge bus (name or ARN) rotation events
	// go to; unset or empty turns events off.
	EventBusEnv = "ROTOR_EVENT_BUS"
	// FingerprintKeySecretEnv names the secret whose AWSCURRENT value is
	// the deployment's fingerprint key (HMAC-SHA-256, at least
	// events.MinFingerprintKeyLen bytes, taken as stored).
	FingerprintKeySecretEnv = "ROTOR_FINGERPRINT_KEY_SECRET"
)

// Events is a function's event configuration. Publisher is nil when events
// are off; Fingerprinter is nil when events go out without fingerprints.
type Events struct {
	Publisher     *publish.Publisher
	Fingerprinter *events.Fingerprinter
}

// LoadEvents reads the event configuration, once, at cold start:
// ROTOR_EVENT_BUS and ROTOR_FINGERPRINT_KEY_SECRET, whose secret it reads
// through the function's store. With the bus set and no key secret, events
// go out without fingerprints, and a warning says so. An error names the
// variable at fault.
//
// The EventBridge client is built from the same AWS configuration as the
// store, so AWS_ENDPOINT_URL_EVENTBRIDGE (or AWS_ENDPOINT_URL) points it
// at another endpoint. Its own retries are off: the publisher retries,
// failed entries only, within the engine's publish timeout.
func (e Env) LoadEvents(ctx context.Context, logger *slog.Logger) (Events, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bus := os.Getenv(EventBusEnv)
	if bus == "" {
		return Events{}, nil
	}
	client := eventbridge.NewFromConfig(e.AWS, func(o *eventbridge.Options) { o.RetryMaxAttempts = 1 })
	p, err := publish.New(client, publish.Options{
		BusName: bus, Logger: logger, Metrics: metrics.New(os.Stdout, metrics.Namespace),
	})
	if err != nil {
		return Events{}, fmt.Errorf("%s: %w", EventBusEnv, err)
	}
	keySecret := os.Getenv(FingerprintKeySecretEnv)
	if keySecret == "" {
		logger.Warn(FingerprintKeySecretEnv+" is not set: rotation events carry no fingerprints", "event_bus", bus)
		return Events{Publisher: p}, nil
	}
	if e.Store == nil {
		return Events{}, fmt.Errorf("%s: no secret store to read the key from", FingerprintKeySecretEnv)
	}
	key, err := e.Store.CurrentValue(ctx, keySecret)
	if err != nil {
		return Events{}, fmt.Errorf("%s: read the fingerprint key: %w", FingerprintKeySecretEnv, err)
	}
	fp, err := events.NewFingerprinter(key)
	clear(key)
	if err != nil {
		return Events{}, fmt.Errorf("%s: %w", FingerprintKeySecretEnv, err)
	}
	return Events{Publisher: p, Fingerprinter: fp}, nil
}
