package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/events"
)

// SecretsManagerAPI is the part of the Secrets Manager client the cache
// uses; *secretsmanager.Client satisfies it.
type SecretsManagerAPI interface {
	DescribeSecret(ctx context.Context, params *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Publisher puts rotor events on a bus; events/publish.Publisher
// satisfies it.
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
}

// Defaults of [Options].
const (
	DefaultTTL               = 5 * time.Minute
	DefaultJitter            = 0.1
	DefaultAuthRetryInterval = time.Second
	DefaultRefreshTimeout    = 30 * time.Second
)

// Options configures a [Cache].
type Options struct {
	// SecretID is the secret's name or ARN (required).
	SecretID string
	// Consumer names this service in its acknowledgements: a tag-safe name
	// (letters, digits, + - = . _ : / @; at most 113 characters; not
	// "aws:..."), because the deactivation gate records it as a tag.
	// Required when Publisher is set.
	Consumer string
	// Instance names this process among the consumer's replicas in its
	// acknowledgements (a task id, a pod name): the deactivation gate waits
	// for as many instances as the consumer's registration declares, so
	// one replica does not speak for the others. Tag-safe like Consumer, at
	// most 64 characters. Default: the host name and the process id
	// ([DefaultInstance]); give a stable id when there is one, so that a
	// restarted process is not counted twice.
	Instance string
	// Publisher receives one "Consumer Acknowledged" event per swap, and
	// one for the version [New] loads; nil sends none.
	Publisher Publisher
	// SkipAcknowledgeOnStart leaves out the acknowledgement of the version
	// New loads. By default it is sent, so that a consumer that (re)started
	// after a rotation is counted by the deactivation gate instead of
	// holding the previous credential's revocation to the grace period.
	SkipAcknowledgeOnStart bool
	// TTL is the poll interval of [Cache.Run], the fallback when events are
	// lost (default [DefaultTTL]); it also bounds how long a pending version
	// is preferred after [Cache.AuthFailed].
	TTL time.Duration
	// Jitter spreads polls over TTL ± Jitter·TTL so that a fleet does not
	// poll in step (default [DefaultJitter]; must be in [0, 1), and 0 means
	// the default).
	Jitter float64
	// AuthRetryInterval is the shortest time between two refreshes caused
	// by failures of the same version (default [DefaultAuthRetryInterval]).
	AuthRetryInterval time.Duration
	// RefreshTimeout bounds one refresh, which runs on behalf of every
	// caller waiting for it and so does not end with the first caller's
	// context (default [DefaultRefreshTimeout]).
	RefreshTimeout time.Duration
	// Logger receives the cache's log lines (default slog.Default()). Every
	// line passes through a scrubber that masks the values the cache holds.
	Logger *slog.Logger
	// Now is the clock of preferences and rate limits (default time.Now).
	Now func() time.Time
}

// OptionError names the option (or argument) at fault.
type OptionError struct {
	Field  string
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("consumer: option %s: %s", e.Field, e.Reason)
}

// Errors, matched with errors.Is.
var (
	// ErrNoNewerCredential: [Cache.AuthFailed] found no version other than
	// the failed one (and those that failed recently) to try.
	ErrNoNewerCredential = errors.New("consumer: no newer credential to retry with")
	// ErrSecretNotFound: Secrets Manager has no such secret.
	ErrSecretNotFound = errors.New("consumer: secret not found")
	// ErrNoCurrentVersion: the secret has no version labelled AWSCURRENT.
	ErrNoCurrentVersion = errors.New("consumer: the secret has no AWSCURRENT version")
	// ErrNoValue: a version has neither SecretString nor SecretBinary.
	ErrNoValue = errors.New("consumer: the version has no value")
)

// withDefaults validates opts and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	bad := func(field, reason string) (Options, error) {
		return Options{}, &OptionError{Field: field, Reason: reason}
	}
	switch {
	case strings.TrimSpace(o.SecretID) == "":
		return bad("SecretID", "missing")
	case o.Publisher != nil && o.Consumer == "":
		return bad("Consumer", "missing (required when Publisher is set)")
	case o.TTL < 0:
		return bad("TTL", fmt.Sprintf("want a positive duration, got %v", o.TTL))
	case o.Jitter < 0 || o.Jitter >= 1:
		return bad("Jitter", fmt.Sprintf("want a fraction in [0, 1), got %v", o.Jitter))
	case o.AuthRetryInterval < 0:
		return bad("AuthRetryInterval", fmt.Sprintf("want a positive duration, got %v", o.AuthRetryInterval))
	case o.RefreshTimeout < 0:
		return bad("RefreshTimeout", fmt.Sprintf("want a positive duration, got %v", o.RefreshTimeout))
	}
	if o.Consumer != "" {
		if err := events.CheckConsumerName(o.Consumer); err != nil {
			return bad("Consumer", err.Error())
		}
	}
	if o.Instance == "" {
		o.Instance = DefaultInstance()
	} else if err := events.CheckInstance(o.Instance); err != nil {
		return bad("Instance", err.Error())
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.Jitter == 0 {
		o.Jitter = DefaultJitter
	}
	if o.AuthRetryInterval == 0 {
		o.AuthRetryInterval = DefaultAuthRetryInterval
	}
	if o.RefreshTimeout == 0 {
		o.RefreshTimeout = DefaultRefreshTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// DefaultInstance is the instance id of a process that names none: its
// host name (a container's is its task or pod) and process id, with the
// characters a tag may not hold replaced by "-", within
// [events.MaxInstanceLen].
func DefaultInstance() string {
	host, _ := os.Hostname()
	id := []rune(fmt.Sprintf("%s/%d", host, os.Getpid()))
	for i, r := range id {
		if events.CheckTagChars(string(r)) != nil {
			id[i] = '-'
		}
	}
	s := string(id)
	if len(s) > events.MaxInstanceLen {
		s = s[len(s)-events.MaxInstanceLen:]
	}
	return s
}
