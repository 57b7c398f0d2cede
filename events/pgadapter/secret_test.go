package pgadapter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/events/consumer"
	"github.com/rotorhq/rotor/events/pgadapter"
	"github.com/rotorhq/rotor/rotators"
)

const badSecretPassword = "PWbadsecret-0123456789"

// badSecrets are tweaks of one valid secret; each names the field at fault.
var badSecrets = []struct {
	name  string
	tweak func(m map[string]any)
	raw   string // the value instead of the map, when set
	field string
}{
	{name: "missing username", tweak: func(m map[string]any) { delete(m, "username") }, field: "username"},
	{name: "empty username", tweak: func(m map[string]any) { m["username"] = "" }, field: "username"},
	{name: "username not a string", tweak: func(m map[string]any) { m["username"] = 42 }, field: "username"},
	{name: "missing password", tweak: func(m map[string]any) { delete(m, "password") }, field: "password"},
	{name: "password not a string", tweak: func(m map[string]any) { m["password"] = []string{badSecretPassword} }, field: "password"},
	{name: "another engine", tweak: func(m map[string]any) { m["engine"] = "mysql" }, field: "engine"},
	{name: "password in the engine field", tweak: func(m map[string]any) { m["engine"] = badSecretPassword }, field: "engine"},
	{name: "not JSON", raw: `{"username": "app", "password": "` + badSecretPassword + `"`, field: "SecretString"},
	{name: "a JSON string", raw: `"` + badSecretPassword + `"`, field: "SecretString"},
}

func badVersion(t *testing.T, tweak func(map[string]any), raw string) consumer.Version {
	t.Helper()
	m := secretFields("app", badSecretPassword)
	value := []byte(raw)
	if raw == "" {
		tweak(m)
		value = secretValue(t, m)
	}
	return consumer.Version{ID: fmt.Sprintf("bad-%d", seq.Add(1)), Value: value}
}

func checkSecretError(t *testing.T, err error, id, field string) {
	t.Helper()
	var se *pgadapter.SecretError
	if !errors.As(err, &se) || se.VersionID != id {
		t.Fatalf("want a *SecretError of version %s, got %v", id, err)
	}
	var ie *rotators.InputError
	if !errors.As(err, &ie) || ie.Field != field {
		t.Fatalf("want an *rotators.InputError naming %q, got %v", field, err)
	}
	if !strings.Contains(err.Error(), `"`+field+`"`) {
		t.Errorf("want the field %q named in %q", field, err)
	}
	noSecrets(t, "error", err.Error(), badSecretPassword)
}

// TestBadSecret: NewPool and NewConnector refuse a current version that is
// not a database secret, naming the field; OpenDB reports it on use.
func TestBadSecret(t *testing.T) {
	ctx := context.Background()
	for _, tc := range badSecrets {
		t.Run(tc.name, func(t *testing.T) {
			v := badVersion(t, tc.tweak, tc.raw)
			creds := newFakeCreds(v)

			pool, err := pgadapter.NewPool(ctx, creds, poolConfig(t))
			if pool != nil {
				pool.Close()
				t.Error("NewPool: want no pool")
			}
			checkSecretError(t, err, v.ID, tc.field)

			c, err := pgadapter.NewConnector(creds, connConfig())
			if c != nil {
				t.Error("NewConnector: want no connector")
			}
			checkSecretError(t, err, v.ID, tc.field)

			db := pgadapter.OpenDB(creds, connConfig())
			defer db.Close()
			checkSecretError(t, db.PingContext(ctx), v.ID, tc.field)

			if len(creds.hooks) != 0 {
				t.Errorf("want no OnSwap hook registered, got %d", len(creds.hooks))
			}
		})
	}
}

// TestSwapToBadSecret: a swap to a version that is not a database secret
// makes new connections fail with an error naming the field (no login,
// no AuthFailed call); connections of the old version keep working.
func TestSwapToBadSecret(t *testing.T) {
	ctx := context.Background()
	user, pw := newRole(t)
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			creds := newFakeCreds(version(t, user, pw))
			// A zero retire window: the query after the swap must log in.
			query, stats := a.open(t, creds, pgadapter.WithRetireWindow(0))
			if _, err := query(ctx); err != nil {
				t.Fatal(err)
			}
			bad := badVersion(t, func(m map[string]any) { delete(m, "username") }, "")
			creds.swap(bad)
			_, err := query(ctx)
			checkSecretError(t, err, bad.ID, "username")
			if got := creds.failures(); len(got) != 0 {
				t.Errorf("want no AuthFailed call, got %v", got)
			}
			if st := stats(); st.Logins != 1 || st.AuthFailures != 0 {
				t.Errorf("stats: want 1 login, no refusal, got %+v", st)
			}
		})
	}
}

// TestArguments: missing arguments and options that do not apply are
// refused, naming them.
func TestArguments(t *testing.T) {
	ctx := context.Background()
	creds := newFakeCreds(version(t, "app", "pw"))
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"pool without creds", func() error { _, err := pgadapter.NewPool(ctx, nil, poolConfig(t)); return err }, "creds"},
		{"pool without config", func() error { _, err := pgadapter.NewPool(ctx, creds, nil); return err }, "cfg"},
		{"pool with a database/sql option", func() error {
			_, err := pgadapter.NewPool(ctx, creds, poolConfig(t), pgadapter.WithStdlibOptions())
			return err
		}, "WithStdlibOptions"},
		{"connector without creds", func() error { _, err := pgadapter.NewConnector(nil, connConfig()); return err }, "creds"},
		{"connector without config", func() error { _, err := pgadapter.NewConnector(creds, nil); return err }, "connConfig"},
		{"pool with a negative retire window", func() error {
			_, err := pgadapter.NewPool(ctx, creds, poolConfig(t), pgadapter.WithRetireWindow(-time.Second))
			return err
		}, "WithRetireWindow"},
		{"connector with a negative retire window", func() error {
			_, err := pgadapter.NewConnector(creds, connConfig(), pgadapter.WithRetireWindow(-time.Second))
			return err
		}, "WithRetireWindow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ae *pgadapter.ArgumentError
			if err := tc.call(); !errors.As(err, &ae) || ae.Field != tc.field {
				t.Errorf("want an *ArgumentError naming %s, got %v", tc.field, err)
			}
		})
	}
	if len(creds.hooks) != 0 {
		t.Errorf("want no OnSwap hook registered, got %d", len(creds.hooks))
	}
}
