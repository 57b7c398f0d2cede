package secretstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/redact"
	"github.com/rotorhq/rotor/shared/secretstore"
)

// valuer is a function-field store.
type valuer func(ctx context.Context, secretID string) ([]byte, error)

func (f valuer) CurrentValue(ctx context.Context, secretID string) ([]byte, error) {
	return f(ctx, secretID)
}

func TestReader(t *testing.T) {
	store := valuer(func(_ context.Context, id string) ([]byte, error) {
		if id != "master" {
			return nil, fmt.Errorf("secret %s: %w", id, secretstore.ErrNotFound)
		}
		return []byte(`{"username":"postgres","password":"Pw-master-1"}`), nil
	})
	scrub := redact.New()
	r := secretstore.Reader{Store: store, Scrub: scrub}

	v, err := r.CurrentValue(context.Background(), "master")
	if err != nil || !strings.Contains(string(v), "Pw-master-1") {
		t.Fatalf("want the master value, got %q, %v", v, err)
	}
	if got := scrub.String("login failed for Pw-master-1"); strings.Contains(got, "Pw-master-1") {
		t.Errorf("want the value read registered for scrubbing, got %q", got)
	}

	_, err = r.CurrentValue(context.Background(), "gone")
	if !errors.Is(err, rotators.ErrSecretNotFound) || !errors.Is(err, secretstore.ErrNotFound) {
		t.Errorf("want an error matching rotators.ErrSecretNotFound and secretstore.ErrNotFound, got %v", err)
	}
}
