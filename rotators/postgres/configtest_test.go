package postgres_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/postgres"
)

// TestConfigurationTest: the configuration test of RotateSecret with
// RotateImmediately=false passes for a correct configuration of either
// strategy, before the first rotation (no clone yet) and after it, and
// fails with an error that says what is wrong for a wrong one; it changes
// nothing on the server either way. Each case tweaks one valid baseline.
func TestConfigurationTest(t *testing.T) {
	const user, clone = "cfg_app", "cfg_app_clone"
	pw := newUser(t, srv, user)
	weakPW := newUser(t, srv, "cfg_weak_master") // logs in, may not create roles
	newUser(t, srv, "cfg_super")
	exec(t, srv, `CREATE ROLE cfg_super_clone LOGIN SUPERUSER`)
	state := roleState(srv, user, clone, "cfg_super", "cfg_super_clone")

	type tc struct {
		name     string
		strategy postgres.Strategy
		tweak    func(secret, master map[string]any)
		secrets  func(master map[string]any) rotators.SecretReader
		want     error  // errors.Is
		wantText string // in the error
	}
	withMaster := func(master map[string]any) rotators.SecretReader {
		return secretMap{masterARN: encode(t, master)}
	}
	cases := []tc{
		{name: "single user", strategy: postgres.SingleUser},
		{name: "alternating users, no clone yet", strategy: postgres.AlternatingUsers},
		{name: "single user, wrong password", strategy: postgres.SingleUser,
			tweak: func(s, _ map[string]any) { s["password"] = "not-the-password" }, want: postgres.ErrLoginFailed, wantText: "current user"},
		{name: "single user, user missing", strategy: postgres.SingleUser,
			tweak: func(s, _ map[string]any) { s["username"] = "cfg_nobody" }, want: postgres.ErrLoginFailed, wantText: "current user"},
		{name: "alternating users, master cannot log in", strategy: postgres.AlternatingUsers,
			tweak: func(_, m map[string]any) { m["password"] = "not-the-master-password" }, want: postgres.ErrLoginFailed, wantText: "master user"},
		{name: "alternating users, master secret missing", strategy: postgres.AlternatingUsers,
			secrets: func(map[string]any) rotators.SecretReader { return secretMap{} }, wantText: `"masterarn"`},
		{name: "alternating users, master without CREATEROLE", strategy: postgres.AlternatingUsers,
			tweak: func(_, m map[string]any) { m["username"], m["password"] = "cfg_weak_master", weakPW }, want: postgres.ErrConfiguration, wantText: "CREATEROLE"},
		{name: "alternating users, current user missing", strategy: postgres.AlternatingUsers,
			tweak: func(s, _ map[string]any) { s["username"] = "cfg_nobody" }, want: postgres.ErrConfiguration, wantText: "current user does not exist"},
		{name: "alternating users, current password wrong", strategy: postgres.AlternatingUsers,
			tweak: func(s, _ map[string]any) { s["password"] = "not-the-password" }, want: postgres.ErrLoginFailed, wantText: "current user"},
		{name: "alternating users, alternate is a superuser", strategy: postgres.AlternatingUsers,
			tweak: func(s, _ map[string]any) { s["username"] = "cfg_super" }, wantText: "superuser"},
		{name: "alternating users, secret without masterarn", strategy: postgres.AlternatingUsers,
			tweak: func(s, _ map[string]any) { delete(s, "masterarn") }, wantText: `"masterarn"`},
	}
	run := func(t *testing.T, c tc) {
		ctx := ctxT(t)
		secret := baseSecret(srv, user, pw)
		master := baseSecret(srv, masterUser, masterPassword)
		delete(master, "masterarn")
		if c.tweak != nil {
			c.tweak(secret, master)
		}
		secrets := withMaster(master)
		if c.secrets != nil {
			secrets = c.secrets(master)
		}
		before, err := state(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := newRotator(t, postgres.Options{Strategy: c.strategy})
		_, err = r.TestConfiguration(ctx, rotators.ConfigTestRequest{SecretID: "s", Current: encode(t, secret), Secrets: secrets})
		switch {
		case c.want == nil && c.wantText == "" && err != nil:
			t.Fatalf("want the configuration test to pass, got %v", err)
		case c.want != nil && !errors.Is(err, c.want):
			t.Fatalf("want errors.Is(%v), got %v", c.want, err)
		case c.wantText != "" && (err == nil || !strings.Contains(err.Error(), c.wantText)):
			t.Fatalf("want an error saying %q, got %v", c.wantText, err)
		}
		if err != nil {
			for _, v := range []string{pw, masterPassword, weakPW} {
				if strings.Contains(err.Error(), v) {
					t.Fatal("want no password in the error, got one")
				}
			}
		}
		after, err := state(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Fatalf("want nothing changed, got\n%s\nafter\n%s", after, before)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { run(t, c) })
	}
	// After a rotation the clone exists and is current: the test passes
	// from it, and for the other user.
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers})
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	second := rotation(t, r, encode(t, baseSecret(srv, user, pw)), secrets)
	if _, err := r.TestConfiguration(ctxT(t), rotators.ConfigTestRequest{Current: second, Secrets: secrets}); err != nil {
		t.Fatalf("after a rotation, from the clone: want the configuration test to pass, got %v", err)
	}
	t.Run("alternating users, clone exists", func(t *testing.T) { run(t, tc{strategy: postgres.AlternatingUsers}) })
	noConnectionsLeft(t, user, clone, masterUser)
	checkLog(t)
}

// TestConfigurationTestWithoutAdminOption: on PostgreSQL 16 and later a
// CREATEROLE master needs ADMIN OPTION on the users of the pair when it did
// not create them; on 15 CREATEROLE is enough. The test asks the server
// which it is.
func TestConfigurationTestWithoutAdminOption(t *testing.T) {
	ctx := ctxT(t)
	const user, clone = "cfg16_app", "cfg16_app_clone"
	pw := newUser(t, srv, user)
	newUser(t, srv, clone) // created by the superuser: no ADMIN OPTION for the master
	conn, err := srv.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var version int
	err = conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers})
	_, err = r.TestConfiguration(ctx, rotators.ConfigTestRequest{
		Current: encode(t, baseSecret(srv, user, pw)), Secrets: masterSecrets(t, srv, masterUser, masterPassword),
	})
	if version < 160000 {
		if err != nil {
			t.Fatalf("PostgreSQL %d: want CREATEROLE to be enough, got %v", version, err)
		}
		return
	}
	if !errors.Is(err, postgres.ErrConfiguration) || !strings.Contains(err.Error(), "ADMIN OPTION") || !strings.Contains(err.Error(), clone) {
		t.Fatalf("PostgreSQL %d: want an error naming ADMIN OPTION and the clone, got %v", version, err)
	}
	exec(t, srv, fmt.Sprintf(`GRANT %s, %s TO %s WITH ADMIN OPTION`, user, clone, masterUser))
	if _, err := r.TestConfiguration(ctx, rotators.ConfigTestRequest{
		Current: encode(t, baseSecret(srv, user, pw)), Secrets: masterSecrets(t, srv, masterUser, masterPassword),
	}); err != nil {
		t.Fatalf("with ADMIN OPTION: want the configuration test to pass, got %v", err)
	}
}
