package secretstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/redact"
)

// CurrentValuer reads a secret's AWSCURRENT value; every adapter is one.
type CurrentValuer interface {
	CurrentValue(ctx context.Context, secretID string) ([]byte, error)
}

// Reader is the [rotators.SecretReader] that the lifecycle engine and the
// deactivation gate hand a rotator, so that both read other secrets (the
// master secret) the same way: each value is registered with Scrub before
// the rotator sees it, so it cannot reach a log line or an error, and a
// missing secret matches [rotators.ErrSecretNotFound] as the contract
// says, besides [ErrNotFound].
type Reader struct {
	Store CurrentValuer
	Scrub *redact.Scrubber
}

var _ rotators.SecretReader = Reader{}

// CurrentValue reads the secret's AWSCURRENT value and registers it with
// r.Scrub.
func (r Reader) CurrentValue(ctx context.Context, secretID string) ([]byte, error) {
	v, err := r.Store.CurrentValue(ctx, secretID)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", rotators.ErrSecretNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	r.Scrub.AddSecretJSON(v)
	return v, nil
}
