package rotation_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
)

// TestBadInput rotates secrets that are wrong in one way each, built by
// tweaking one valid baseline. Each rotation must fail with an error that
// names the field and holds no password, and change neither the store nor
// the database: in createSecret, or for a bad master secret, which
// createSecret does not read, in setSecret before its first change (the
// pending version may then hold a value; nothing else changed).
func TestBadInput(t *testing.T) {
	str := func(s string) *string { return &s }
	app := func(k string, v any) envOption {
		return func(s *envSpec) {
			if s.secret == nil {
				s.secret = map[string]any{}
			}
			s.secret[k] = v
		}
	}
	master := func(k string, v any) envOption {
		return func(s *envSpec) {
			if s.master == nil {
				s.master = map[string]any{}
			}
			s.master[k] = v
		}
	}
	rawApp := func(raw string) envOption { return func(s *envSpec) { s.rawSecret = str(raw) } }
	rawMaster := func(raw string) envOption { return func(s *envSpec) { s.rawMaster = str(raw) } }
	del := func(k string) envOption { return app(k, nil) }

	cases := []struct {
		name     string
		strategy postgres.Strategy
		opt      envOption
		secret   string // "current" or "master"
		field    string
	}{
		{"not JSON", "", rawApp(`host=db password=Sup3r-S3cret!`), "current", "SecretString"},
		{"JSON array", "", rawApp(`["postgres"]`), "current", "SecretString"},
		{"JSON string", "", rawApp(`"just a string"`), "current", "SecretString"},
		{"missing host", "", del("host"), "current", "host"},
		{"empty host", "", app("host", ""), "current", "host"},
		{"host not a string", "", app("host", 42), "current", "host"},
		{"missing username", "", del("username"), "current", "username"},
		{"empty username", "", app("username", ""), "current", "username"},
		{"username with NUL", "", app("username", "app\x00x"), "current", "username"},
		{"username too long", "", app("username", strings.Repeat("u", 64)), "current", "username"},
		{"clone name too long", postgres.AlternatingUsers, app("username", strings.Repeat("u", 60)), "current", "username"},
		{"missing password", "", del("password"), "current", "password"},
		{"password not a string", "", app("password", 12345), "current", "password"},
		{"missing masterarn", postgres.AlternatingUsers, del("masterarn"), "current", "masterarn"},
		{"wrong engine", "", app("engine", "mysql"), "current", "engine"},
		{"port zero", "", app("port", 0), "current", "port"},
		{"port out of range", "", app("port", 70000), "current", "port"},
		{"port not a number", "", app("port", "abc"), "current", "port"},
		{"port negative", "", app("port", -1), "current", "port"},
		{"port fractional", "", app("port", 5432.5), "current", "port"},
		{"ssl not a boolean", "", app("ssl", "maybe"), "current", "ssl"},
		{"dbname not a string", "", app("dbname", 7), "current", "dbname"},
		{"master secret missing", postgres.AlternatingUsers, app("masterarn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"), "current", "masterarn"},
		{"master for another host", postgres.AlternatingUsers, master("host", "other.example.com"), "master", "host"},
		{"master for another port", postgres.AlternatingUsers, master("port", 6543), "master", "port"},
		{"master of another engine", postgres.AlternatingUsers, master("engine", "mysql"), "master", "engine"},
		{"master without password", postgres.AlternatingUsers, master("password", nil), "master", "password"},
		{"master not JSON", postgres.AlternatingUsers, rawMaster(`password: hunter2hunter2`), "master", "SecretString"},
	}
	for _, c := range cases {
		strategies := []postgres.Strategy{postgres.AlternatingUsers, postgres.SingleUser}
		if c.strategy != "" {
			strategies = []postgres.Strategy{c.strategy}
		}
		for _, strategy := range strategies {
			t.Run(c.name+"/"+string(strategy), func(t *testing.T) {
				e := newEnv(t, strategy, c.opt)
				token := e.start()
				store, db := e.store.Snapshot(), e.dbState()
				err := e.steps(token)
				if err == nil {
					t.Fatalf("want an error, got nil")
				}
				var in *rotators.InputError
				if !errors.As(err, &in) {
					t.Fatalf("want a *rotators.InputError, got %T: %v", err, err)
				}
				if in.Field != c.field || in.Secret != c.secret {
					t.Errorf("want field %q of the %s secret, got %q of %q: %v", c.field, c.secret, in.Field, in.Secret, err)
				}
				if !strings.Contains(err.Error(), `"`+c.field+`"`) {
					t.Errorf("want the message to name %q, got %v", c.field, err)
				}
				for _, secret := range append(e.passwords(), masterPassword, "Sup3r-S3cret!", "hunter2hunter2") {
					if strings.Contains(err.Error(), secret) || strings.Contains(e.logs.String(), secret) {
						t.Errorf("want no password in the error or the logs, found one")
					}
				}
				after := e.store.Snapshot()
				if strings.HasPrefix(c.name, "master") {
					// createSecret reads no master secret (it saves a
					// call per rotation): setSecret refuses it, before
					// any change to the database. The pending version
					// may then hold a value, which the next attempt
					// keeps; every label and AWSCURRENT are unchanged.
					after = withoutValueOf(after, token)
					store = withoutValueOf(store, token)
				}
				if !reflect.DeepEqual(store, after) {
					t.Errorf("want the store unchanged")
				}
				if got := e.dbState(); got != db {
					t.Errorf("want the database unchanged")
				}
			})
		}
	}
}

// withoutValueOf is st with the value of version id taken out, and the
// secrets' LastChangedDate, which storing it moved.
func withoutValueOf(st memstore.State, id string) memstore.State {
	for i := range st.Secrets {
		st.Secrets[i].LastChangedDate = time.Time{}
		for j, v := range st.Secrets[i].Versions {
			if v.VersionID == id {
				v.HasValue, v.Binary, v.Value = false, false, nil
				st.Secrets[i].Versions[j] = v
			}
		}
	}
	return st
}
