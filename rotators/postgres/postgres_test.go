package postgres_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/dbsecret"
	"github.com/rotorhq/rotor/rotators/dbtls"
	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/rotators/rotatortest"
	"github.com/rotorhq/rotor/test/pgserver"
)

// rotatedOnce creates user and rotates it once with a rotator of opts
// (alternating users): v1 is the user's first secret, whose password is pw
// (AWSPREVIOUS after the rotation), and v2 the clone's (AWSCURRENT).
func rotatedOnce(t *testing.T, user string, opts postgres.Options) (r *postgres.Rotator, secrets secretMap, pw string, v1, v2 []byte) {
	t.Helper()
	pw = newUser(t, srv, user)
	opts.Strategy = postgres.AlternatingUsers
	r = newRotator(t, opts)
	secrets = masterSecrets(t, srv, masterUser, masterPassword)
	v1 = encode(t, baseSecret(srv, user, pw))
	return r, secrets, pw, v1, rotation(t, r, v1, secrets)
}

// rotation runs Create, Set and Test and returns the pending secret.
func rotation(t *testing.T, r *postgres.Rotator, current []byte, secrets rotators.SecretReader) []byte {
	t.Helper()
	ctx := ctxT(t)
	created, err := r.Create(ctx, rotators.CreateRequest{SecretID: "s", Current: current, Password: genPassword(t), Secrets: secrets})
	if err != nil {
		t.Fatalf("Create: want no error, got %v", err)
	}
	if _, err := r.Set(ctx, rotators.SetRequest{SecretID: "s", Current: current, Pending: created.Pending, Secrets: secrets}); err != nil {
		t.Fatalf("Set: want no error, got %v", err)
	}
	if _, err := r.Test(ctx, rotators.TestRequest{SecretID: "s", Current: current, Pending: created.Pending, Secrets: secrets}); err != nil {
		t.Fatalf("Test: want no error, got %v", err)
	}
	return created.Pending
}

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		strategy postgres.Strategy
		want     string // strategy in Info; empty: New fails
	}{
		{name: "single user", strategy: postgres.SingleUser, want: "single-user"},
		{name: "alternating users", strategy: postgres.AlternatingUsers, want: "alternating-users"},
		{name: "default", strategy: "", want: "alternating-users"},
		{name: "unknown", strategy: "dual-keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := postgres.New(postgres.Options{Strategy: tt.strategy})
			if tt.want == "" {
				if err == nil {
					t.Fatalf("want an error, got none")
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			info := r.Info()
			if info.Type != "postgres" || info.Strategy != tt.want || info.MaxPasswordLength != 0 {
				t.Errorf("want postgres/%s/0, got %+v", tt.want, info)
			}
			if len(info.PasswordChars) != 94 || strings.Contains(info.PasswordChars, " ") {
				t.Errorf("want the 94 printable ASCII characters but space, got %q", info.PasswordChars)
			}
		})
	}
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts postgres.Options
	}{
		{"single-user", postgres.Options{Strategy: postgres.SingleUser}},
		{"alternating-users", postgres.Options{Strategy: postgres.AlternatingUsers}},
		{"alternating-users-locking", postgres.Options{Strategy: postgres.AlternatingUsers, LockIdleUser: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := "conf_" + strings.ReplaceAll(tc.name, "-", "_")
			group := user + "_readers"
			pw := newUser(t, srv, user)
			newRole(t, srv, group, "NOLOGIN")
			exec(t, srv, fmt.Sprintf(`GRANT %s TO %s`, group, user))
			// What the application uses: a table it owns, one granted to
			// it directly, and a per-role setting.
			exec(t, srv, fmt.Sprintf(`CREATE TABLE %[1]s_owned (id int); ALTER TABLE %[1]s_owned OWNER TO %[1]s;
				DROP TABLE IF EXISTS %[1]s_granted; CREATE TABLE %[1]s_granted (id int); GRANT SELECT, INSERT ON %[1]s_granted TO %[1]s;
				ALTER ROLE %[1]s SET statement_timeout = '42s'`, user))
			canUse := func(ctx context.Context, secret []byte) error {
				conn, err := connectSecret(ctx, srv, secret)
				if err != nil {
					return err
				}
				defer conn.Close(ctx)
				var timeout string
				if err := conn.QueryRow(ctx, `SHOW statement_timeout`).Scan(&timeout); err != nil {
					return err
				}
				if timeout != "42s" {
					return fmt.Errorf("want the per-role statement_timeout 42s, got %s", timeout)
				}
				_, err = conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s_owned VALUES (1); INSERT INTO %[1]s_granted SELECT count(*) FROM %[1]s_owned`, user))
				return err
			}
			if tc.opts.Strategy == postgres.SingleUser {
				canUse = nil
			}
			r := newRotator(t, tc.opts)
			rotatortest.Run(t, rotatortest.Harness{
				Rotator:     r,
				Deactivator: r.Deactivator(),
				Current:     encode(t, baseSecret(srv, user, pw)),
				Secrets:     masterSecrets(t, srv, masterUser, masterPassword),
				CanLogin:    func(ctx context.Context, s []byte) error { return secretLogin(ctx, srv, s) },
				State:       roleState(srv, user, user+postgres.CloneSuffix),
				CanUse:      canUse,
				NewPassword: newPassword,
			})
			checkLog(t)
			noConnectionsLeft(t, user, user+postgres.CloneSuffix, masterUser)
		})
	}
}

func TestAlternatingMemberships(t *testing.T) {
	ctx := ctxT(t)
	user, clone := "memb_app", "memb_app_clone"
	pw := newUser(t, srv, user)
	newRole(t, srv, "memb_readers", "NOLOGIN")
	newRole(t, srv, "memb_writers", "NOLOGIN")
	exec(t, srv, `GRANT memb_readers TO memb_app; GRANT memb_writers TO memb_app`)
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers})
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	current := encode(t, baseSecret(srv, user, pw))

	pending := rotation(t, r, current, secrets)
	if got := field(t, pending, "username"); got != clone {
		t.Fatalf("want the pending user %q, got %q", clone, got)
	}
	if err := secretLogin(ctx, srv, current); err != nil {
		t.Errorf("want the current user to keep working, got %v", err)
	}
	// The clone mirrors the base's memberships and is a member of the
	// base itself (the anchor of the pair).
	if want, got := []string{"memb_app", "memb_readers", "memb_writers"}, memberships(t, srv, clone); !slices.Equal(want, got) {
		t.Errorf("clone memberships: want %v, got %v", want, got)
	}

	// The base user loses a role: the next Set takes it from the clone too.
	exec(t, srv, `REVOKE memb_writers FROM memb_app`)
	set := rotators.SetRequest{Current: current, Pending: pending, Secrets: secrets}
	if _, err := r.Set(ctx, set); err != nil {
		t.Fatalf("Set: want no error, got %v", err)
	}
	if want, got := []string{"memb_app", "memb_readers"}, memberships(t, srv, clone); !slices.Equal(want, got) {
		t.Errorf("clone memberships after the revoke: want %v, got %v", want, got)
	}
	// Behind its back, the clone loses a role the base has (directly and
	// through the base): Test names it.
	exec(t, srv, `REVOKE memb_readers FROM memb_app_clone; REVOKE memb_app FROM memb_app_clone`)
	_, err := r.Test(ctx, rotators.TestRequest{Current: current, Pending: pending, Secrets: secrets})
	var pe *postgres.PrivilegeError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "role membership memb_readers MEMBER") {
		t.Errorf("Test with a lost membership: want a PrivilegeError naming memb_readers, got %v", err)
	}
	if _, err := r.Set(ctx, set); err != nil {
		t.Fatalf("Set: want no error, got %v", err)
	}
	// Set twice: the same state.
	state := roleState(srv, user, clone)
	before, err := state(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Set(ctx, set); err != nil {
		t.Fatalf("second Set: want no error, got %v", err)
	}
	if after, _ := state(ctx); string(after) != string(before) {
		t.Errorf("second Set: want the same state, got\n%s\nthen\n%s", before, after)
	}

	// The next rotation goes back to the base user and syncs it from the
	// clone.
	newRole(t, srv, "memb_auditors", "NOLOGIN")
	exec(t, srv, `GRANT memb_auditors TO memb_app_clone`)
	back := rotation(t, r, pending, secrets)
	if got := field(t, back, "username"); got != user {
		t.Fatalf("want the pending user %q, got %q", user, got)
	}
	if want, got := []string{"memb_auditors", "memb_readers"}, memberships(t, srv, user); !slices.Equal(want, got) {
		t.Errorf("base memberships: want %v, got %v", want, got)
	}
	checkLog(t)
}

func TestSingleUser(t *testing.T) {
	ctx := ctxT(t)
	user := "single_app"
	pw := newUser(t, srv, user)
	r := newRotator(t, postgres.Options{Strategy: postgres.SingleUser})
	current := encode(t, baseSecret(srv, user, pw))
	pending := rotation(t, r, current, nil)

	if got := field(t, pending, "username"); got != user {
		t.Errorf("want the same user %q, got %q", user, got)
	}
	err := srv.CanLogin(ctx, user, pw, true)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("old password: want a 28P01 login failure, got %v", err)
	}
	if roleExists(t, srv, user+postgres.CloneSuffix) {
		t.Errorf("want no clone user with a single user, got one")
	}
	// The old current can no longer log in; Set with the pending already
	// valid succeeds.
	if _, err := r.Set(ctx, rotators.SetRequest{Current: current, Pending: pending}); err != nil {
		t.Errorf("Set again: want no error, got %v", err)
	}
	checkLog(t)
}

func TestLoginFailed(t *testing.T) {
	ctx := ctxT(t)
	user := "lost_app"
	newUser(t, srv, user)
	wrong := "wrong-password-" + genPassword(t)
	r := newRotator(t, postgres.Options{Strategy: postgres.SingleUser})
	current := encode(t, baseSecret(srv, user, wrong))
	created, err := r.Create(ctx, rotators.CreateRequest{Current: current, Password: genPassword(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Set(ctx, rotators.SetRequest{Current: current, Pending: created.Pending})
	if !errors.Is(err, postgres.ErrLoginFailed) {
		t.Fatalf("want ErrLoginFailed, got %v", err)
	}
	for _, pw := range []string{wrong, field(t, created.Pending, "password")} {
		if strings.Contains(err.Error(), pw) {
			t.Errorf("want an error without the password, got one with it")
		}
	}
	if !strings.Contains(err.Error(), "current") || !strings.Contains(err.Error(), "localhost") {
		t.Errorf("want an error naming the current user's role and the host, got %v", err)
	}
	_, err = r.Test(ctx, rotators.TestRequest{Current: current, Pending: created.Pending})
	if !errors.Is(err, postgres.ErrLoginFailed) || !strings.Contains(err.Error(), "pending") {
		t.Errorf("Test: want ErrLoginFailed for the pending user, got %v", err)
	}
}

// TestCrashInsideSet fails a statement in the middle of the alternating
// Set transaction: nothing of it may remain, and a retry must work.
func TestCrashInsideSet(t *testing.T) {
	ctx := ctxT(t)
	user, clone := "crash_app", "crash_app_clone"
	pw := newUser(t, srv, user)
	newRole(t, srv, "crash_readers", "NOLOGIN")
	exec(t, srv, `GRANT crash_readers TO crash_app`)
	tracer := &tlsRecorder{failOn: "GRANT"}
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers, Tracer: tracer})
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	current := encode(t, baseSecret(srv, user, pw))
	created, err := r.Create(ctx, rotators.CreateRequest{Current: current, Password: genPassword(t), Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	set := rotators.SetRequest{Current: current, Pending: created.Pending, Secrets: secrets}
	if _, err := r.Set(ctx, set); err == nil {
		t.Fatal("Set with a failing GRANT: want an error, got none")
	}
	if !tracer.failed {
		t.Fatal("want the tracer to have failed a GRANT, got none run")
	}
	if roleExists(t, srv, clone) {
		t.Errorf("want the clone not created after a failed transaction, got it")
	}
	if err := secretLogin(ctx, srv, current); err != nil {
		t.Errorf("want the current user working, got %v", err)
	}
	if _, err := r.Set(ctx, set); err != nil {
		t.Fatalf("retried Set: want no error, got %v", err)
	}
	if _, err := r.Test(ctx, rotators.TestRequest{Current: current, Pending: created.Pending, Secrets: secrets}); err != nil {
		t.Fatalf("Test: want no error, got %v", err)
	}
	for i, isTLS := range tracer.connections() {
		if !isTLS {
			t.Errorf("connection %d: want TLS, got plain", i)
		}
	}
	noConnectionsLeft(t, user, clone)
}

func TestTLS(t *testing.T) {
	// A server that accepts only TLS, with a certificate for another name.
	strict := pgserver.StartT(t, pgserver.Options{RequireTLS: true, CertHosts: []string{"db.invalid"}})

	tests := []struct {
		name    string
		server  *pgserver.Server
		roots   func() *x509.CertPool
		caFile  func() string // set: Options.Roots from this CA file
		ssl     any           // nil: absent
		wantErr string
		wantTLS bool
		wantSQL string // SQLSTATE of the failure
	}{
		{name: "verify-full with the test CA", server: srv, roots: srv.RootCAs, wantTLS: true},
		{name: "ssl true as a string", server: srv, roots: srv.RootCAs, ssl: "true", wantTLS: true},
		{name: "ssl false against a server accepting plain", server: srv, roots: srv.RootCAs, ssl: false, wantTLS: false},
		{name: "unknown CA (system roots), no fallback", server: srv, roots: func() *x509.CertPool { return nil }, wantErr: "certificate"},
		{name: "another server's CA", server: srv, roots: strict.RootCAs, wantErr: "certificate"},
		{name: "certificate for another name", server: strict, roots: strict.RootCAs, wantErr: "certificate"},
		{name: "ssl false against a TLS-only server", server: strict, roots: strict.RootCAs, ssl: false, wantSQL: "28000"},
		{name: "Roots: the test CA's file", server: srv, roots: strict.RootCAs, caFile: func() string { return srv.CAFile }, wantTLS: true},
		{name: "Roots: another server's CA file", server: srv, roots: srv.RootCAs, caFile: func() string { return strict.CAFile }, wantErr: "certificate"},
		{name: "Roots: certificate for another name", server: strict, roots: strict.RootCAs, caFile: func() string { return strict.CAFile }, wantErr: "certificate"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxT(t)
			user := fmt.Sprintf("tls_app_%d", i)
			pw := newUser(t, tt.server, user)
			m := baseSecret(tt.server, user, pw)
			if tt.ssl != nil {
				m["ssl"] = tt.ssl
			}
			tracer := &tlsRecorder{}
			var err error
			opts := postgres.Options{Strategy: postgres.SingleUser, RootCAs: tt.roots(), Tracer: tracer}
			if tt.caFile != nil {
				// Roots wins over RootCAs, which each such case sets wrong.
				if opts.Roots, err = dbtls.LoadRoots(tt.caFile()); err != nil {
					t.Fatal(err)
				}
			}
			r, err := postgres.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			current := encode(t, m)
			created, err := r.Create(ctx, rotators.CreateRequest{Current: current, Password: genPassword(t)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Set(ctx, rotators.SetRequest{Current: current, Pending: created.Pending})
			if tt.wantErr == "" && tt.wantSQL == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				if _, err := r.Test(ctx, rotators.TestRequest{Current: current, Pending: created.Pending}); err != nil {
					t.Fatalf("Test: want no error, got %v", err)
				}
				conns := tracer.connections()
				if len(conns) == 0 {
					t.Fatal("want traced connections, got none")
				}
				for j, isTLS := range conns {
					if isTLS != tt.wantTLS {
						t.Errorf("connection %d: want TLS %v, got %v", j, tt.wantTLS, isTLS)
					}
				}
				return
			}
			if err == nil {
				t.Fatal("want an error, got none")
			}
			if errors.Is(err, postgres.ErrLoginFailed) {
				t.Errorf("want a failure other than a wrong password, got %v", err)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("want an error with %q, got %v", tt.wantErr, err)
			}
			var pgErr *pgconn.PgError
			if tt.wantSQL != "" && (!errors.As(err, &pgErr) || pgErr.Code != tt.wantSQL) {
				t.Errorf("want SQLSTATE %s, got %v", tt.wantSQL, err)
			}
			if n := len(tracer.connections()); n != 0 {
				t.Errorf("want no connection established, got %d", n)
			}
			// Nothing changed: the old password still works (over TLS, the
			// strict server's name aside).
			if err := tt.server.CanLogin(ctx, user, pw, tt.server == srv); tt.server == srv && err != nil {
				t.Errorf("want the current password unchanged, got %v", err)
			}
		})
	}
}

func TestHostileUsernames(t *testing.T) {
	newRole(t, srv, "x", "NOLOGIN")
	newRole(t, srv, "hostile_sentinel", "NOLOGIN")
	names := []string{
		`a"; DROP ROLE x; --`,
		`b'; DROP ROLE hostile_sentinel; --`,
		`name with spaces`,
		`"quoted"`,
		`back\slash$1`,
		`UPPER_lower`,
		`ünïcödé`,
	}
	for _, strategy := range []postgres.Strategy{postgres.SingleUser, postgres.AlternatingUsers} {
		for i, name := range names {
			t.Run(fmt.Sprintf("%s/%d", strategy, i), func(t *testing.T) {
				ctx := ctxT(t)
				user := fmt.Sprintf("%s%d %s", strategy[:1], i, name)
				pw := newUser(t, srv, user)
				exec(t, srv, fmt.Sprintf(`GRANT x TO %s`, ident(user)))
				r := newRotator(t, postgres.Options{Strategy: strategy})
				secrets := masterSecrets(t, srv, masterUser, masterPassword)
				pending := rotation(t, r, encode(t, baseSecret(srv, user, pw)), secrets)
				if err := secretLogin(ctx, srv, pending); err != nil {
					t.Errorf("want the pending user to log in, got %v", err)
				}
				for _, role := range []string{"x", "hostile_sentinel"} {
					if !roleExists(t, srv, role) {
						t.Fatalf("want role %q to survive, got it dropped", role)
					}
				}
				if strategy == postgres.AlternatingUsers {
					want := []string{"x", user}
					slices.Sort(want)
					if got := memberships(t, srv, user+postgres.CloneSuffix); !slices.Equal(want, got) {
						t.Errorf("clone memberships: want %v, got %v", want, got)
					}
				}
			})
		}
	}
	checkLog(t)
}

// TestCreateBadInput: Create refuses a current secret it cannot act on, and
// Set refuses a bad master secret (Create reads none) before it changes
// anything; no error names a password.
func TestCreateBadInput(t *testing.T) {
	ctx := ctxT(t)
	const user = "bad_input_app"
	currentPW := "current-" + genPassword(t)
	masterPW := "master-" + genPassword(t)
	newPW := genPassword(t)
	validMaster := func() map[string]any {
		m := baseSecret(srv, "bad_input_master", masterPW)
		delete(m, "masterarn")
		return m
	}
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers})

	tests := []struct {
		name       string
		current    func(m map[string]any) // tweak of the valid current secret
		raw        string                 // the current secret as given, when set
		master     func(m map[string]any) // tweak of the valid master secret
		masterRaw  string                 // the master secret as given, when set
		noMaster   bool
		wantSecret string
		wantField  string
	}{
		{name: "not JSON", raw: "password=" + currentPW, wantSecret: "current", wantField: "SecretString"},
		{name: "JSON array", raw: `["` + currentPW + `"]`, wantSecret: "current", wantField: "SecretString"},
		{name: "missing host", current: func(m map[string]any) { delete(m, "host") }, wantSecret: "current", wantField: "host"},
		{name: "empty host", current: func(m map[string]any) { m["host"] = "" }, wantSecret: "current", wantField: "host"},
		{name: "missing username", current: func(m map[string]any) { delete(m, "username") }, wantSecret: "current", wantField: "username"},
		{name: "missing password", current: func(m map[string]any) { delete(m, "password") }, wantSecret: "current", wantField: "password"},
		{name: "missing masterarn", current: func(m map[string]any) { delete(m, "masterarn") }, wantSecret: "current", wantField: "masterarn"},
		{name: "wrong engine", current: func(m map[string]any) { m["engine"] = "mysql" }, wantSecret: "current", wantField: "engine"},
		{name: "port 0", current: func(m map[string]any) { m["port"] = 0 }, wantSecret: "current", wantField: "port"},
		{name: "port 70000", current: func(m map[string]any) { m["port"] = 70000 }, wantSecret: "current", wantField: "port"},
		{name: "port abc", current: func(m map[string]any) { m["port"] = "abc" }, wantSecret: "current", wantField: "port"},
		{name: "username too long", current: func(m map[string]any) { m["username"] = strings.Repeat("u", 60) }, wantSecret: "current", wantField: "username"},
		{name: "username with NUL", current: func(m map[string]any) { m["username"] = "app\x00" }, wantSecret: "current", wantField: "username"},
		{name: "ssl maybe", current: func(m map[string]any) { m["ssl"] = "maybe" }, wantSecret: "current", wantField: "ssl"},
		{name: "master missing", noMaster: true, wantSecret: "current", wantField: "masterarn"},
		{name: "master not JSON", masterRaw: "password: " + masterPW, wantSecret: "master", wantField: "SecretString"},
		{name: "master empty object", master: func(m map[string]any) { clear(m) }, wantSecret: "master", wantField: "host"},
		{name: "master for another host", master: func(m map[string]any) { m["host"] = "other.example.com" }, wantSecret: "master", wantField: "host"},
		{name: "master for another port", master: func(m map[string]any) { m["port"] = 1 }, wantSecret: "master", wantField: "port"},
		{name: "master wrong engine", master: func(m map[string]any) { m["engine"] = "mariadb" }, wantSecret: "master", wantField: "engine"},
		{name: "master without password", master: func(m map[string]any) { delete(m, "password") }, wantSecret: "master", wantField: "password"},
		{name: "master is the rotated user", master: func(m map[string]any) { m["username"] = user + "_clone" }, wantSecret: "master", wantField: "username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := baseSecret(srv, user, currentPW)
			if tt.current != nil {
				tt.current(cur)
			}
			raw := encode(t, cur)
			if tt.raw != "" {
				raw = []byte(tt.raw)
			}
			master := validMaster()
			if tt.master != nil {
				tt.master(master)
			}
			secrets := secretMap{masterARN: encode(t, master)}
			if tt.masterRaw != "" {
				secrets[masterARN] = []byte(tt.masterRaw)
			}
			if tt.noMaster {
				secrets = secretMap{}
			}
			var err error
			if tt.noMaster || tt.master != nil || tt.masterRaw != "" {
				// Create reads no master secret (a nil reader would fail
				// it): Set, the first step that changes the database,
				// checks it before it changes anything.
				created, cerr := r.Create(ctx, rotators.CreateRequest{Current: raw, Password: newPW})
				if cerr != nil {
					t.Fatalf("create: want no master read, got %v", cerr)
				}
				_, err = r.Set(ctx, rotators.SetRequest{Current: raw, Pending: created.Pending, Secrets: secrets})
			} else {
				_, err = r.Create(ctx, rotators.CreateRequest{Current: raw, Password: newPW, Secrets: secrets})
			}
			var ie *rotators.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want *rotators.InputError, got %T %v", err, err)
			}
			if ie.Secret != tt.wantSecret || ie.Field != tt.wantField {
				t.Errorf("want %s/%q, got %s/%q (%v)", tt.wantSecret, tt.wantField, ie.Secret, ie.Field, err)
			}
			for _, pw := range []string{currentPW, masterPW, newPW} {
				if strings.Contains(err.Error(), pw) {
					t.Errorf("want an error without passwords, got one with a password")
				}
			}
		})
	}
	if roleExists(t, srv, user+"_clone") || roleExists(t, srv, user) {
		t.Errorf("want no role created by a refused Create, got one")
	}
}

// TestSetRefusesForeignPending: a pending secret that is not what Create
// makes of the current one is refused before any change.
func TestSetRefusesForeignPending(t *testing.T) {
	ctx := ctxT(t)
	user := "foreign_app"
	pw := newUser(t, srv, user)
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	current := encode(t, baseSecret(srv, user, pw))
	newPW := genPassword(t)

	tests := []struct {
		name      string
		strategy  postgres.Strategy
		tweak     func(m map[string]any)
		wantField string
	}{
		{name: "alternating: another user", strategy: postgres.AlternatingUsers, tweak: func(m map[string]any) { m["username"] = srv.SuperUser }, wantField: "username"},
		{name: "alternating: the current user", strategy: postgres.AlternatingUsers, tweak: func(m map[string]any) { m["username"] = user }, wantField: "username"},
		{name: "single: another user", strategy: postgres.SingleUser, tweak: func(m map[string]any) { m["username"] = masterUser }, wantField: "username"},
		{name: "another host", strategy: postgres.SingleUser, tweak: func(m map[string]any) { m["host"] = "127.0.0.1" }, wantField: "host"},
		{name: "another port", strategy: postgres.SingleUser, tweak: func(m map[string]any) { m["port"] = 1 }, wantField: "port"},
		{name: "ssl switched off", strategy: postgres.SingleUser, tweak: func(m map[string]any) { m["ssl"] = false }, wantField: "ssl"},
		{name: "another master", strategy: postgres.AlternatingUsers, tweak: func(m map[string]any) { m["masterarn"] = "arn:other" }, wantField: "masterarn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRotator(t, postgres.Options{Strategy: tt.strategy})
			pending := baseSecret(srv, user+postgres.CloneSuffix, newPW)
			if tt.strategy == postgres.SingleUser {
				pending["username"] = user
			}
			tt.tweak(pending)
			_, err := r.Set(ctx, rotators.SetRequest{Current: current, Pending: encode(t, pending), Secrets: secrets})
			var ie *rotators.InputError
			if !errors.As(err, &ie) || ie.Secret != "pending" || ie.Field != tt.wantField {
				t.Fatalf("want an InputError for pending/%s, got %v", tt.wantField, err)
			}
			if strings.Contains(err.Error(), newPW) {
				t.Errorf("want an error without the password, got one with it")
			}
		})
	}
	if err := srv.CanLogin(ctx, srv.SuperUser, srv.SuperPassword, true); err != nil {
		t.Errorf("want the superuser's password unchanged, got %v", err)
	}
	if err := srv.CanLogin(ctx, masterUser, masterPassword, true); err != nil {
		t.Errorf("want the master's password unchanged, got %v", err)
	}
}

// TestSuperuserAlternateRefused: a current secret whose alternate user is a
// superuser must not get that user's password changed.
func TestSuperuserAlternateRefused(t *testing.T) {
	ctx := ctxT(t)
	newRole(t, srv, "boss", "SUPERUSER NOLOGIN")
	pw := newUser(t, srv, "boss_clone")
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers})
	secrets := masterSecrets(t, srv, srv.SuperUser, srv.SuperPassword)
	current := encode(t, baseSecret(srv, "boss_clone", pw))
	created, err := r.Create(ctx, rotators.CreateRequest{Current: current, Password: genPassword(t), Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Set(ctx, rotators.SetRequest{Current: current, Pending: created.Pending, Secrets: secrets})
	var ie *rotators.InputError
	if !errors.As(err, &ie) || ie.Field != dbsecret.FieldUsername {
		t.Fatalf("want an InputError about the username, got %v", err)
	}
	if err := secretLogin(ctx, srv, created.Pending); err == nil {
		t.Errorf("want the superuser's password unchanged, got a login with the pending one")
	}
}
