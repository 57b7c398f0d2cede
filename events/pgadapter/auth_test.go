package pgadapter_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotorhq/rotor/events/consumer"
	"github.com/rotorhq/rotor/events/pgadapter"
)

// adapter is one of the two adapters, as the scenarios use them.
type adapter struct {
	name string
	// openWith returns a function that runs SELECT current_user on a
	// connection of the pool (a new one when the pool is cold), and the
	// adapter's stats. hook, if not nil, is the caller's BeforeConnect.
	openWith func(t *testing.T, creds pgadapter.Credentials, hook func(context.Context, *pgx.ConnConfig) error, opts ...pgadapter.Option) (query func(context.Context) (string, error), stats func() pgadapter.Stats)
}

func (a adapter) open(t *testing.T, creds pgadapter.Credentials, opts ...pgadapter.Option) (func(context.Context) (string, error), func() pgadapter.Stats) {
	return a.openWith(t, creds, nil, opts...)
}

var adapters = []adapter{
	{
		name: "pgxpool",
		openWith: func(t *testing.T, creds pgadapter.Credentials, hook func(context.Context, *pgx.ConnConfig) error, opts ...pgadapter.Option) (func(context.Context) (string, error), func() pgadapter.Stats) {
			cfg := poolConfig(t)
			cfg.MaxConns = 20
			cfg.BeforeConnect = hook
			pool, err := pgadapter.NewPool(context.Background(), creds, cfg, opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			return func(ctx context.Context) (string, error) {
				var u string
				err := pool.QueryRow(ctx, `SELECT current_user::text`).Scan(&u)
				return u, err
			}, pool.Stats
		},
	},
	{
		name: "database/sql",
		openWith: func(t *testing.T, creds pgadapter.Credentials, hook func(context.Context, *pgx.ConnConfig) error, opts ...pgadapter.Option) (func(context.Context) (string, error), func() pgadapter.Stats) {
			if hook != nil {
				opts = append(opts, pgadapter.WithBeforeConnect(hook))
			}
			c, err := pgadapter.NewConnector(creds, connConfig(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(c)
			t.Cleanup(func() { db.Close() })
			return func(ctx context.Context) (string, error) {
				var u string
				err := db.QueryRowContext(ctx, `SELECT current_user::text`).Scan(&u)
				return u, err
			}, c.Stats
		},
	},
}

// TestSingleUserWindow: the password changed in the database before the
// cache knows; a burst of 20 queries on a cold pool all succeed, each
// refused login is retried once with the pending version.
func TestSingleUserWindow(t *testing.T) {
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			ctx := context.Background()
			user, pw1 := newRole(t)
			v1 := version(t, user, pw1)
			creds := newFakeCreds(v1)
			log, logs := newLogger()
			query, stats := a.open(t, creds, pgadapter.WithLogger(log))

			pw2 := newPassword(t)
			setPassword(t, user, pw2)
			v2 := version(t, user, pw2)
			creds.offer(v2)

			const burst = 20
			var wg sync.WaitGroup
			errs := make(chan error, burst)
			for range burst {
				wg.Go(func() {
					got, err := query(ctx)
					if err == nil && got != user {
						err = errors.New("want user " + user + ", got " + got)
					}
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("query in the single-user window: %v", err)
				}
			}
			failed := creds.failures()
			if len(failed) == 0 {
				t.Fatal("want at least one AuthFailed call, got none")
			}
			for _, id := range failed {
				if id != v1.ID {
					t.Errorf("AuthFailed: want version %s, got %s", v1.ID, id)
				}
			}
			st := stats()
			if st.Retries != int64(len(failed)) || st.AuthFailures != int64(len(failed)) || st.RetryFailures != 0 {
				t.Errorf("stats: want %d refusals each retried once and no failed retry, got %+v", len(failed), st)
			}
			if max := int64(burst) + st.Retries; st.Logins > max {
				t.Errorf("logins: want at most one per query plus one per retry (%d), got %d", max, st.Logins)
			}
			noSecrets(t, "log", logs.String(), pw1, pw2)
		})
	}
}

// TestRetryRefusedToo: the version AuthFailed offers is refused as well;
// the refused retry is reported, nothing newer is offered, and the error
// surfaces after exactly one retry.
func TestRetryRefusedToo(t *testing.T) {
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			ctx := context.Background()
			user, pw1 := newRole(t)
			v1 := version(t, user, pw1)
			creds := newFakeCreds(v1)
			log, logs := newLogger()
			query, stats := a.open(t, creds, pgadapter.WithLogger(log))

			pw2, wrong := newPassword(t), newPassword(t)
			setPassword(t, user, pw2)
			v2 := version(t, user, wrong)
			creds.offer(v2)

			_, err := query(ctx)
			var ae *pgadapter.AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("want an *AuthError, got %v", err)
			}
			if !ae.Retried || ae.VersionID != v2.ID {
				t.Errorf("AuthError: want the retry with %s refused, got %+v", v2.ID, ae)
			}
			if !errors.Is(err, consumer.ErrNoNewerCredential) {
				t.Errorf("want the cache's ErrNoNewerCredential in the chain, got %v", err)
			}
			if got := creds.failures(); len(got) != 2 || got[0] != v1.ID || got[1] != v2.ID {
				t.Errorf("AuthFailed calls: want [%s %s], got %v", v1.ID, v2.ID, got)
			}
			st := stats()
			if st.Logins != 2 || st.Retries != 1 || st.RetryFailures != 1 || st.AuthFailures != 2 {
				t.Errorf("stats: want 2 logins, 1 retry refused, got %+v", st)
			}
			noSecrets(t, "error", err.Error(), pw1, pw2, wrong)
			noSecrets(t, "log", logs.String(), pw1, pw2, wrong)
		})
	}
}

// TestWrongPasswordNothingNewer: a refused login with nothing newer
// surfaces as an authentication error, after one AuthFailed call per
// failed connect and no retry.
func TestWrongPasswordNothingNewer(t *testing.T) {
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			ctx := context.Background()
			user, pw := newRole(t)
			wrong := newPassword(t)
			v := version(t, user, wrong)
			creds := newFakeCreds(v)
			log, logs := newLogger()
			query, stats := a.open(t, creds, pgadapter.WithLogger(log))

			for i := 1; i <= 3; i++ {
				_, err := query(ctx)
				if !errors.Is(err, pgadapter.ErrLoginRefused) {
					t.Fatalf("query %d: want ErrLoginRefused, got %v", i, err)
				}
				if !errors.Is(err, consumer.ErrNoNewerCredential) {
					t.Errorf("query %d: want the cache's ErrNoNewerCredential in the chain, got %v", i, err)
				}
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != "28P01" {
					t.Errorf("query %d: want a *pgconn.PgError 28P01, got %v", i, err)
				}
				var ae *pgadapter.AuthError
				if errors.As(err, &ae) && (ae.Retried || ae.VersionID != v.ID) {
					t.Errorf("query %d: want no retry of %s, got %+v", i, v.ID, ae)
				}
				if !strings.Contains(err.Error(), v.ID) {
					t.Errorf("query %d: want the version id in %q", i, err)
				}
				noSecrets(t, "error", err.Error(), pw, wrong)
				if got := len(creds.failures()); got != i {
					t.Errorf("after query %d: want %d AuthFailed calls, got %d", i, i, got)
				}
			}
			st := stats()
			if st.Logins != 3 || st.Retries != 0 || st.AuthFailures != 3 {
				t.Errorf("stats: want 3 logins, 3 refusals, no retry, got %+v", st)
			}
			noSecrets(t, "log", logs.String(), pw, wrong)
		})
	}
}

// TestRetryOvertakenByTheNextRotation: the single-user window's retry
// logs in with AWSPENDING, but before its login completes the next
// rotation's setSecret changes the password again (the load benchmark
// starts a rotation as soon as every consumer hands out the new version,
// and a login on a busy machine can take longer than that). The refused
// retry is reported too, and retried once more with the version the
// credentials now offer; the query succeeds. It failed the query before
// (1 in about 5,000 retries in the load benchmark).
func TestRetryOvertakenByTheNextRotation(t *testing.T) {
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			ctx := context.Background()
			user, pw1 := newRole(t)
			v1 := version(t, user, pw1)
			creds := newFakeCreds(v1)
			pw2, pw3 := newPassword(t), newPassword(t)
			v2, v3 := version(t, user, pw2), version(t, user, pw3)
			// The caller's BeforeConnect runs after the adapter set the
			// credential: the retry's login (with pw2) finds the password
			// moved on to pw3, and v3 pending.
			var once sync.Once
			hook := func(_ context.Context, cc *pgx.ConnConfig) error {
				if cc.Password == pw2 {
					once.Do(func() {
						setPassword(t, user, pw3)
						creds.offer(v3)
					})
				}
				return nil
			}
			log, logs := newLogger()
			query, stats := a.openWith(t, creds, hook, pgadapter.WithLogger(log))

			setPassword(t, user, pw2)
			creds.offer(v2)
			got, err := query(ctx)
			if err != nil {
				t.Fatalf("query: want it to succeed on a second retry, got %v", err)
			}
			if got != user {
				t.Errorf("query: want user %s, got %s", user, got)
			}
			if f := creds.failures(); len(f) != 2 || f[0] != v1.ID || f[1] != v2.ID {
				t.Errorf("AuthFailed calls: want [%s %s], got %v", v1.ID, v2.ID, f)
			}
			if st := stats(); st.Logins != 3 || st.Retries != 2 || st.RetryFailures != 1 || st.AuthFailures != 2 {
				t.Errorf("stats: want 3 logins, 2 retries of which 1 refused, got %+v", st)
			}
			noSecrets(t, "log", logs.String(), pw1, pw2, pw3)
		})
	}
}

// TestRetriesBounded: each retry is refused because the password keeps
// moving, and the credentials keep offering the next version: the call
// stops after two retries.
func TestRetriesBounded(t *testing.T) {
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			ctx := context.Background()
			user, pw := newRole(t)
			creds := newFakeCreds(version(t, user, newPassword(t)))
			var mu sync.Mutex
			var pws []string
			// Every login finds the password moved on and a newer version
			// offered.
			hook := func(context.Context, *pgx.ConnConfig) error {
				mu.Lock()
				defer mu.Unlock()
				next := newPassword(t)
				pws = append(pws, next)
				setPassword(t, user, next)
				creds.offer(version(t, user, newPassword(t)))
				return nil
			}
			query, stats := a.openWith(t, creds, hook)
			_, err := query(ctx)
			var ae *pgadapter.AuthError
			if !errors.As(err, &ae) || !ae.Retried || !errors.Is(err, pgadapter.ErrTooManyRetries) {
				t.Fatalf("want an *AuthError after retries (ErrTooManyRetries), got %v", err)
			}
			if st := stats(); st.Logins != 3 || st.Retries != 2 || st.RetryFailures != 2 {
				t.Errorf("stats: want 3 logins, 2 retries refused, got %+v", st)
			}
			if got := len(creds.failures()); got != 3 {
				t.Errorf("AuthFailed calls: want 3, got %d", got)
			}
			mu.Lock()
			noSecrets(t, "error", err.Error(), append(pws, pw)...)
			mu.Unlock()
		})
	}
}
