package postgres_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/dbsecret"
	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/test/pgserver"
)

// testQueries is the number of statements Test runs with alternating users,
// whatever the number of objects: the privilege comparison, which is also
// the query that proves the pending user works.
const testQueries = 1

// dropInDB sets up, in a database of its own, an application user as a user
// of AWS's function would have it: it owns some tables and a sequence, and
// holds direct grants on a schema, another owner's table, a column, a
// function, a procedure, a large object, a row-level security policy, and
// per-role settings (for every database and for this one) and a connection
// limit. It returns the user's password.
func dropInDB(t *testing.T, s *pgserver.Server, db, user string) string {
	t.Helper()
	exec(t, s, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, ident(db))) // left by an earlier run (-count=2)
	pw := newUser(t, s, user)
	u := ident(user)
	exec(t, s, fmt.Sprintf(`CREATE DATABASE %s`, ident(db)))
	exec(t, s, fmt.Sprintf(`GRANT CONNECT, TEMPORARY ON DATABASE %s TO %s, rotor_master; REVOKE ALL ON DATABASE %s FROM PUBLIC;
		ALTER ROLE %s SET search_path = '$user', 'data', 'public';
		ALTER ROLE %s IN DATABASE %s SET work_mem = '3MB';
		ALTER ROLE %s CONNECTION LIMIT 40`, ident(db), u, ident(db), u, u, ident(db), u))
	inDB(t, s, db, fmt.Sprintf(`
		REVOKE ALL ON SCHEMA public FROM PUBLIC;
		CREATE SCHEMA data;
		GRANT USAGE, CREATE ON SCHEMA data TO %[1]s;
		CREATE TABLE data.orders (id bigint PRIMARY KEY, item text);
		ALTER TABLE data.orders OWNER TO %[1]s;
		CREATE SEQUENCE data.order_ids;
		ALTER SEQUENCE data.order_ids OWNER TO %[1]s;
		CREATE TABLE public.ledger (id bigint, amount numeric);
		GRANT USAGE ON SCHEMA public TO %[1]s;
		GRANT SELECT, INSERT ON public.ledger TO %[1]s;
		CREATE SEQUENCE public.ledger_ids;
		GRANT USAGE ON SEQUENCE public.ledger_ids TO %[1]s;
		CREATE TABLE public.salaries (id bigint, amount numeric);
		GRANT SELECT (id) ON public.salaries TO %[1]s;
		CREATE FUNCTION public.total() RETURNS numeric LANGUAGE sql AS 'SELECT coalesce(sum(amount), 0) FROM public.ledger';
		REVOKE EXECUTE ON FUNCTION public.total() FROM PUBLIC;
		GRANT EXECUTE ON FUNCTION public.total() TO %[1]s;
		CREATE PROCEDURE public.book(n numeric) LANGUAGE sql AS 'INSERT INTO public.ledger VALUES (0, n)';
		REVOKE EXECUTE ON PROCEDURE public.book(numeric) FROM PUBLIC;
		GRANT EXECUTE ON PROCEDURE public.book(numeric) TO %[1]s;
		SELECT lo_create(424242);
		ALTER LARGE OBJECT 424242 OWNER TO %[1]s;
		CREATE TABLE public.docs (owner text, body text);
		ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
		GRANT SELECT, INSERT ON public.docs TO %[1]s;
		CREATE POLICY app_docs ON public.docs TO %[1]s USING (true) WITH CHECK (true);`, u))
	return pw
}

// inDB runs statements as the superuser in database db.
func inDB(t *testing.T, s *pgserver.Server, db, sql string) {
	t.Helper()
	ctx := ctxT(t)
	cfg := s.ConnConfig(s.SuperUser, s.SuperPassword, false)
	cfg.Host = s.Dir
	cfg.Database = db
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("set-up in %s: %v", db, err)
	}
}

// connectSecret logs in with a secret's credential to its database.
func connectSecret(ctx context.Context, s *pgserver.Server, secret []byte) (*pgx.Conn, error) {
	p, err := dbsecret.Parse(secret, dbsecret.Rules{DefaultPort: 5432, DefaultDBName: "postgres"})
	if err != nil {
		return nil, err
	}
	cfg := s.ConnConfig(p.Username, p.Password, p.SSL)
	cfg.Database = p.DBName
	return pgx.ConnectConfig(ctx, cfg)
}

// useEverything does, as the secret's user, what the application of
// dropInDB does: it fails on the first permission denied.
func useEverything(ctx context.Context, s *pgserver.Server, secret []byte, round int) error {
	conn, err := connectSecret(ctx, s, secret)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var searchPath, workMem string
	if err := conn.QueryRow(ctx, `SELECT current_setting('search_path'), current_setting('work_mem')`).Scan(&searchPath, &workMem); err != nil {
		return err
	}
	if searchPath != `"$user", data, public` || workMem != "3MB" {
		return fmt.Errorf("want the per-role settings search_path and work_mem, got %q and %q", searchPath, workMem)
	}
	for _, sql := range []string{
		fmt.Sprintf(`INSERT INTO orders VALUES (nextval('data.order_ids'), 'round %d')`, round),
		`UPDATE data.orders SET item = item WHERE id > 0`,
		`SELECT count(*) FROM data.orders`,
		fmt.Sprintf(`INSERT INTO public.ledger VALUES (nextval('public.ledger_ids'), %d)`, round),
		`SELECT public.total()`,
		`CALL public.book(1)`,
		`SELECT id FROM public.salaries`,
		`SELECT lo_get(424242)`,
		`SELECT lo_put(424242, 0, '\x01')`,
		`INSERT INTO public.docs VALUES ('app', 'x')`,
		`SELECT count(*) FROM public.docs`,
		// What an earlier round created, whichever user created it.
		fmt.Sprintf(`CREATE TABLE data.made_in_round_%d (id int)`, round),
		`CREATE TEMP TABLE scratch (id int)`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	for r := 1; r < round; r++ {
		sql := fmt.Sprintf(`INSERT INTO data.made_in_round_%d VALUES (%d); ALTER TABLE data.made_in_round_%d ADD COLUMN IF NOT EXISTS c%d int`, r, round, r, round)
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("use the table made in round %d: %w", r, err)
		}
	}
	return nil
}

// TestDropInUser is the user of AWS's multi-user function swapping rotor's
// in: an application user that owns its tables and holds direct grants
// rotates three times, and after each rotation the current user uses
// everything, including what the other user created while it was current.
func TestDropInUser(t *testing.T) {
	ctx := ctxT(t)
	const db, user = "dropin", "dropin_app"
	pw := dropInDB(t, srv, db, user)
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers})
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	current := secretIn(t, db, user, pw)
	if err := useEverything(ctx, srv, current, 0); err != nil {
		t.Fatalf("set-up: want the base user to use everything, got %v", err)
	}
	for round := 1; round <= 3; round++ {
		pending := rotation(t, r, current, secrets)
		if err := useEverything(ctx, srv, pending, round); err != nil {
			t.Fatalf("rotation %d: want the new current user (%s) to use everything, got %v", round, field(t, pending, "username"), err)
		}
		// The previous user still works until the next rotation.
		if err := secretLogin(ctx, srv, current); err != nil {
			t.Errorf("rotation %d: want the previous user to log in, got %v", round, err)
		}
		current = pending
	}
	// Nothing is owned by the clone: what it created belongs to the base.
	var owned int
	conn := adminIn(t, srv, db)
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relowner = $1::regrole`, user+postgres.CloneSuffix).Scan(&owned); err != nil {
		t.Fatal(err)
	}
	if owned != 0 {
		t.Errorf("want no relation owned by the clone, got %d", owned)
	}
	// Nothing grew across rotations: one membership, the settings of the
	// base plus role.
	if want, got := []string{user}, memberships(t, srv, user+postgres.CloneSuffix); strings.Join(want, ",") != strings.Join(got, ",") {
		t.Errorf("clone memberships: want %v, got %v", want, got)
	}
	var settings []string
	if err := conn.QueryRow(ctx, `SELECT array_agg(x ORDER BY x) FROM pg_db_role_setting s, unnest(s.setconfig) x
		WHERE s.setrole = $1::regrole`, user+postgres.CloneSuffix).Scan(&settings); err != nil {
		t.Fatal(err)
	}
	if want := `role=dropin_app,search_path="$user", data, public,work_mem=3MB`; strings.Join(settings, ",") != want {
		t.Errorf("clone settings: want %s, got %s", want, strings.Join(settings, ","))
	}
	checkLog(t)
}

// secretIn is the application secret of user with password pw in the
// database db of srv.
func secretIn(t *testing.T, db, user, pw string) []byte {
	t.Helper()
	m := baseSecret(srv, user, pw)
	m["dbname"] = db
	return encode(t, m)
}

func adminIn(t *testing.T, s *pgserver.Server, db string) *pgx.Conn {
	t.Helper()
	ctx := ctxT(t)
	cfg := s.ConnConfig(s.SuperUser, s.SuperPassword, false)
	cfg.Host = s.Dir
	cfg.Database = db
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestPrivilegeTakenBehindItsBack: once Set made the pending user whole,
// privileges taken from it one kind at a time make Test fail with an error
// that names each kind, object and privilege, and no password.
func TestPrivilegeTakenBehindItsBack(t *testing.T) {
	ctx := ctxT(t)
	const db, user = "behind", "behind_app"
	pw := dropInDB(t, srv, db, user)
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers})
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	current := secretIn(t, db, user, pw)
	newPW := genPassword(t)
	created, err := r.Create(ctx, rotators.CreateRequest{Current: current, Password: newPW, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	set := rotators.SetRequest{Current: current, Pending: created.Pending, Secrets: secrets}
	test := rotators.TestRequest{Current: current, Pending: created.Pending, Secrets: secrets}

	tests := []struct {
		name  string
		sql   string // as the superuser, in db
		wants []string
	}{
		{name: "membership in the base", sql: `GRANT CONNECT ON DATABASE behind TO behind_app_clone; REVOKE behind_app FROM behind_app_clone`, wants: []string{
			"role membership behind_app", // not reported: the base is the pending's own pair
			"table data.orders SELECT", "sequence data.order_ids USAGE", "table public.ledger INSERT",
			"column public.salaries.id SELECT", "function public.total() EXECUTE", "procedure public.book(IN n numeric) EXECUTE",
			"schema data CREATE", "database behind TEMPORARY", "large object 424242 UPDATE",
			"row-level security policy app_docs on public.docs APPLIES",
		}},
		{name: "per-role setting", sql: `ALTER ROLE behind_app_clone RESET search_path`, wants: []string{"per-role setting search_path (all databases) SET"}},
		{name: "per-database setting", sql: `ALTER ROLE behind_app_clone IN DATABASE behind RESET work_mem`, wants: []string{"per-role setting work_mem (database behind) SET"}},
		{name: "connection limit", sql: `ALTER ROLE behind_app_clone CONNECTION LIMIT 1`, wants: []string{"role attribute behind_app_clone CONNECTION LIMIT"}},
		{name: "login", sql: `ALTER ROLE behind_app_clone NOLOGIN`, wants: []string{"log in as the pending user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.Set(ctx, set); err != nil {
				t.Fatalf("Set: want no error, got %v", err)
			}
			if _, err := r.Test(ctx, test); err != nil {
				t.Fatalf("Test after Set: want no error, got %v", err)
			}
			inDB(t, srv, db, tt.sql)
			_, err := r.Test(ctx, test)
			if err == nil {
				t.Fatal("Test: want an error, got none")
			}
			named := err.Error()
			var pe *postgres.PrivilegeError
			if errors.As(err, &pe) {
				named = ""
				for _, m := range pe.Missing {
					named += m.String() + "\n"
				}
			}
			for _, w := range tt.wants {
				if w == "role membership behind_app" {
					if strings.Contains(named, w) {
						t.Errorf("want no membership of the pending user in itself reported, got %v", err)
					}
					continue
				}
				if !strings.Contains(named, w) {
					t.Errorf("want an error naming %q, got %s", w, named)
				}
			}
			for _, p := range []string{pw, newPW, masterPassword} {
				if strings.Contains(err.Error(), p) {
					t.Errorf("want an error without passwords, got one with a password")
				}
			}
			// Set repairs it (logging in again too).
			if _, err := r.Set(ctx, set); err != nil {
				t.Fatalf("Set: want no error, got %v", err)
			}
			if _, err := r.Test(ctx, test); err != nil {
				t.Errorf("Test after the repairing Set: want no error, got %v", err)
			}
		})
	}
	if err := useEverything(ctx, srv, created.Pending, 1); err != nil {
		t.Errorf("want the clone to use everything, got %v", err)
	}
	var pe *postgres.PrivilegeError
	inDB(t, srv, db, `REVOKE behind_app FROM behind_app_clone`)
	if _, err := r.Test(ctx, test); !errors.As(err, &pe) || len(pe.Missing) < 10 {
		t.Errorf("want a *PrivilegeError listing what is missing, got %v", err)
	}
}

// TestAWSLeftPair: a pair left by AWS's multi-user function (the clone a
// member of the base and no more; AWSCURRENT the clone, which created a
// table of its own) keeps working: the next rotation goes to the base,
// which can use the clone's table, and the one after back to the clone.
func TestAWSLeftPair(t *testing.T) {
	ctx := ctxT(t)
	const db, user = "awsleft", "awsleft_app"
	clone := user + postgres.CloneSuffix
	dropInDB(t, srv, db, user)
	clonePW := newUser(t, srv, clone)
	exec(t, srv, fmt.Sprintf(`GRANT %s TO %s`, ident(user), ident(clone)))
	current := secretIn(t, db, clone, clonePW)
	// The clone, current under AWS's function, created a table (owned by
	// itself) and uses the base's tables through its membership.
	conn, err := connectSecret(ctx, srv, current)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE data.clone_made (id int); INSERT INTO data.clone_made VALUES (1); SELECT count(*) FROM data.orders`); err != nil {
		t.Fatalf("set-up as the clone: %v", err)
	}
	conn.Close(ctx)
	// The clone has no per-role settings under AWS's function; the
	// application reads what the base has.
	exec(t, srv, fmt.Sprintf(`ALTER ROLE %s SET search_path = '$user', 'data', 'public'; ALTER ROLE %s IN DATABASE %s SET work_mem = '3MB'`, ident(clone), ident(clone), ident(db)))

	// The first Set fails where it reassigns the clone's table, as a crash
	// there would: Test then names the table the base cannot use, and the
	// retried Set finishes the job.
	tracer := &tlsRecorder{failOn: "REASSIGN"}
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers, Tracer: tracer})
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	created, err := r.Create(ctx, rotators.CreateRequest{Current: current, Password: genPassword(t), Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	set := rotators.SetRequest{Current: current, Pending: created.Pending, Secrets: secrets}
	test := rotators.TestRequest{Current: current, Pending: created.Pending, Secrets: secrets}
	if _, err := r.Set(ctx, set); err == nil || !tracer.failed {
		t.Fatalf("Set failing at REASSIGN: want an error, got %v (failed: %v)", err, tracer.failed)
	}
	if _, err := r.Test(ctx, test); err == nil || !strings.Contains(err.Error(), "table data.clone_made SELECT") {
		t.Errorf("Test before the clone's table is reassigned: want an error naming it, got %v", err)
	}
	if _, err := r.Set(ctx, set); err != nil {
		t.Fatalf("retried Set: want no error, got %v", err)
	}
	if _, err := r.Test(ctx, test); err != nil {
		t.Fatalf("Test: want no error, got %v", err)
	}
	for round := 1; round <= 2; round++ {
		pending := created.Pending
		if round > 1 {
			pending = rotation(t, r, current, secrets)
		}
		if err := useEverything(ctx, srv, pending, round); err != nil {
			t.Fatalf("rotation %d: want %s to use everything, got %v", round, field(t, pending, "username"), err)
		}
		conn, err := connectSecret(ctx, srv, pending)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO data.clone_made VALUES (2)`); err != nil {
			t.Errorf("rotation %d: want the clone's table usable by %s, got %v", round, field(t, pending, "username"), err)
		}
		conn.Close(ctx)
		current = pending
	}
	// The master's temporary membership (to reassign) is gone.
	for _, role := range memberships(t, srv, masterUser) {
		if role == user || role == clone {
			t.Errorf("want the master a member of neither user, got a member of %s", role)
		}
	}
}

// queryCounter counts the statements run on connections, by user.
type queryCounter struct {
	mu     sync.Mutex
	counts map[string]int
	tls    map[string][]bool
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, conn *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[conn.Config().User]++
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *queryCounter) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return ctx
}

func (c *queryCounter) TraceConnectEnd(_ context.Context, data pgx.TraceConnectEndData) {
	if data.Conn == nil {
		return
	}
	_, isTLS := data.Conn.PgConn().Conn().(*tls.Conn)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tls == nil {
		c.tls = map[string][]bool{}
	}
	user := data.Conn.Config().User
	c.tls[user] = append(c.tls[user], isTLS)
}

func (c *queryCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts, c.tls = nil, nil
}

func (c *queryCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

// TestTestQueryCount: Test makes the same number of queries with few
// objects and with many more.
func TestTestQueryCount(t *testing.T) {
	ctx := ctxT(t)
	const db, user = "qcount", "qcount_app"
	pw := dropInDB(t, srv, db, user)
	counter := &queryCounter{}
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers, Tracer: counter})
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	current := secretIn(t, db, user, pw)
	pending := rotation(t, r, current, secrets)
	test := rotators.TestRequest{Current: current, Pending: pending, Secrets: secrets}
	for _, extra := range []int{0, 300} {
		inDB(t, srv, db, fmt.Sprintf(`DO $$ BEGIN FOR i IN 1..%d LOOP
			EXECUTE format('CREATE TABLE data.extra_%%s_%%s (id int)', %d, i);
			EXECUTE format('GRANT SELECT ON data.extra_%%s_%%s TO qcount_app', %d, i);
			EXECUTE format('CREATE FUNCTION data.f_%%s_%%s() RETURNS int LANGUAGE sql AS ''SELECT 1''', %d, i);
		END LOOP; END $$`, extra, extra, extra, extra))
		counter.reset()
		if _, err := r.Test(ctx, test); err != nil {
			t.Fatalf("Test with %d more tables: want no error, got %v", extra, err)
		}
		if got := counter.total(); got != testQueries {
			t.Errorf("Test with %d more tables: want %d queries, got %d", extra, testQueries, got)
		}
	}
}

// TestMasterUsesItsOwnSSL: the master logs in with its own secret's ssl,
// whatever the application secret says.
func TestMasterUsesItsOwnSSL(t *testing.T) {
	tests := []struct {
		name              string
		appSSL, masterSSL bool
		wantAppTLS        bool
		wantMasterTLS     bool
	}{
		{name: "app secret says plain, master says TLS", appSSL: false, masterSSL: true, wantAppTLS: false, wantMasterTLS: true},
		{name: "app secret says TLS, master says plain", appSSL: true, masterSSL: false, wantAppTLS: true, wantMasterTLS: false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxT(t)
			user := fmt.Sprintf("ssl_app_%d", i)
			pw := newUser(t, srv, user)
			counter := &queryCounter{}
			r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers, Tracer: counter, LockIdleUser: true})
			app := baseSecret(srv, user, pw)
			app["ssl"] = tt.appSSL
			master := baseSecret(srv, masterUser, masterPassword)
			delete(master, "masterarn")
			master["ssl"] = tt.masterSSL
			secrets := secretMap{masterARN: encode(t, master)}
			current := encode(t, app)
			pending := rotation(t, r, current, secrets)
			// The deactivator's master session too.
			if _, err := r.Deactivator().Deactivate(ctx, rotators.DeactivateRequest{Current: pending, Previous: current, Secrets: secrets}); err != nil {
				t.Fatalf("Deactivate: want no error, got %v", err)
			}
			counter.mu.Lock()
			defer counter.mu.Unlock()
			if len(counter.tls[masterUser]) < 2 {
				t.Fatalf("want master sessions from Set and Deactivate, got %d", len(counter.tls[masterUser]))
			}
			for u, conns := range counter.tls {
				want := tt.wantAppTLS
				if u == masterUser {
					want = tt.wantMasterTLS
				}
				for j, isTLS := range conns {
					if isTLS != want {
						t.Errorf("%s connection %d: want TLS %v, got %v", u, j, want, isTLS)
					}
				}
			}
		})
	}
}

// bench10k is the set-up of BenchmarkTestPrivileges, made once per test
// binary (the benchmark function runs once per b.N tried).
var bench10k = sync.OnceValues(func() (*benchPair, error) {
	ctx := context.Background()
	const db, user = "bench10k", "bench10k_app"
	pw := mustPassword()
	if err := srv.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD %s`, ident(user), literal(pw))); err != nil {
		return nil, err
	}
	if err := srv.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, ident(db))); err != nil {
		return nil, err
	}
	cfg := srv.ConnConfig(srv.SuperUser, srv.SuperPassword, false)
	cfg.Host = srv.Dir
	cfg.Database = db
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE SCHEMA data; GRANT USAGE ON SCHEMA data TO %s`, ident(user))); err != nil {
		return nil, err
	}
	// Half the tables owned by the user, half granted to it; in batches,
	// as one transaction would run out of locks.
	const tables, batch = 10000, 1000
	for from := 1; from <= tables; from += batch {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN FOR i IN %[2]d..%[3]d LOOP
			EXECUTE format('CREATE TABLE data.t%%s (id int, v text)', i);
			IF i %% 2 = 0 THEN EXECUTE format('ALTER TABLE data.t%%s OWNER TO %[1]s', i);
			ELSE EXECUTE format('GRANT SELECT, INSERT ON data.t%%s TO %[1]s', i); END IF;
		END LOOP; END $$`, ident(user), from, from+batch-1)); err != nil {
			return nil, err
		}
	}
	counter := &queryCounter{}
	r, err := postgres.New(postgres.Options{Strategy: postgres.AlternatingUsers, RootCAs: srv.RootCAs(), Tracer: counter})
	if err != nil {
		return nil, err
	}
	m := baseSecret(srv, user, pw)
	m["dbname"] = db
	current, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	mm := baseSecret(srv, masterUser, masterPassword)
	delete(mm, "masterarn")
	masterJSON, err := json.Marshal(mm)
	if err != nil {
		return nil, err
	}
	secrets := secretMap{masterARN: masterJSON}
	newPW, err := newPassword()
	if err != nil {
		return nil, err
	}
	created, err := r.Create(ctx, rotators.CreateRequest{Current: current, Password: newPW, Secrets: secrets})
	if err != nil {
		return nil, err
	}
	if _, err := r.Set(ctx, rotators.SetRequest{Current: current, Pending: created.Pending, Secrets: secrets}); err != nil {
		return nil, err
	}
	return &benchPair{r: r, counter: counter, test: rotators.TestRequest{Current: current, Pending: created.Pending, Secrets: secrets}}, nil
})

type benchPair struct {
	r       *postgres.Rotator
	counter *queryCounter
	test    rotators.TestRequest
}

// BenchmarkTestPrivileges measures Test (the privilege comparison) on a
// database with 10,000 tables owned by or granted to the application user,
// and reports the queries it makes.
func BenchmarkTestPrivileges(b *testing.B) {
	ctx := context.Background()
	p, err := bench10k()
	if err != nil {
		b.Fatal(err)
	}
	p.counter.reset()
	b.ResetTimer()
	for range b.N {
		if _, err := p.r.Test(ctx, p.test); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(p.counter.total())/float64(b.N), "queries/op")
}

// TestSettingsCopiedVerbatim: per-role settings with quotes, commas and
// backslashes in their values, list settings among them, reach the clone
// exactly as the base has them, and a second Set changes nothing.
func TestSettingsCopiedVerbatim(t *testing.T) {
	ctx := ctxT(t)
	const user = "verbatim_app"
	clone := user + postgres.CloneSuffix
	pw := newUser(t, srv, user)
	exec(t, srv, `ALTER ROLE verbatim_app SET search_path = 'a,b', 'q"x', '$user', public;
		ALTER ROLE verbatim_app SET application_name = 'it''s a \ and a "';
		ALTER ROLE verbatim_app IN DATABASE postgres SET temp_tablespaces = '';
		ALTER ROLE verbatim_app SET "DateStyle" = 'ISO, DMY'`)
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers})
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	pending := rotation(t, r, encode(t, baseSecret(srv, user, pw)), secrets)

	settings := func(role string) string {
		var out []string
		conn := adminIn(t, srv, "postgres")
		if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(s.setdatabase || ':' || x ORDER BY s.setdatabase || ':' || x), '{}') FROM pg_db_role_setting s, unnest(s.setconfig) x
			WHERE s.setrole = $1::regrole AND x NOT LIKE 'role=%'`, role).Scan(&out); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, "\n")
	}
	if want, got := settings(user), settings(clone); want != got {
		t.Errorf("clone settings: want\n%s\ngot\n%s", want, got)
	}
	state := roleState(srv, user, clone)
	before, err := state(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Set(ctx, rotators.SetRequest{Current: encode(t, baseSecret(srv, user, pw)), Pending: pending, Secrets: secrets}); err != nil {
		t.Fatal(err)
	}
	if after, _ := state(ctx); string(after) != string(before) {
		t.Errorf("second Set: want the same state, got\n%s\nthen\n%s", before, after)
	}
	conn, err := connectSecret(ctx, srv, pending)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var searchPath, appName string
	if err := conn.QueryRow(ctx, `SELECT current_setting('search_path'), current_setting('application_name')`).Scan(&searchPath, &appName); err != nil {
		t.Fatal(err)
	}
	if searchPath != `"a,b", "q""x", "$user", public` || appName != `it's a \ and a "` {
		t.Errorf("the clone's session: want the base's search_path and application_name, got %q and %q", searchPath, appName)
	}
}

// A setting the base user no longer has is taken from the clone too when
// the clone is pending: the pair's settings are the base's, not a union
// that grows across rotations.
func TestSettingDroppedFromTheBaseLeavesTheClone(t *testing.T) {
	ctx := ctxT(t)
	const user = "dropped_setting_app"
	pw := newUser(t, srv, user)
	exec(t, srv, `ALTER ROLE `+user+` SET search_path = public`)
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers})
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	current := encode(t, baseSecret(srv, user, pw))
	pending := rotation(t, r, current, secrets)
	exec(t, srv, `ALTER ROLE `+user+` RESET search_path`)
	if _, err := r.Set(ctx, rotators.SetRequest{Current: current, Pending: pending, Secrets: secrets}); err != nil {
		t.Fatal(err)
	}
	var n int
	conn := adminIn(t, srv, "postgres")
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_db_role_setting s, unnest(s.setconfig) x
		WHERE s.setrole = $1::regrole AND x LIKE 'search_path=%'`, user+postgres.CloneSuffix).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("want the clone's search_path reset with the base's, got %d settings of it", n)
	}
}
