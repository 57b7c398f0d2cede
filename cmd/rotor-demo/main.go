// Command rotor-demo runs rotations of a PostgreSQL secret end to end on one
// machine: a throwaway PostgreSQL server with password authentication and
// TLS, the in-memory store with Secrets Manager's staging semantics, the
// lifecycle engine and the real PostgreSQL rotator, while consumers query
// the database with whatever AWSCURRENT holds. It prints each rotation's
// steps and a summary, and leaves no process or temp dir behind, also on
// Ctrl-C. It is `make demo`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
	"github.com/rotorhq/rotor/test/pgserver"
)

type options struct {
	rotations int
	interval  time.Duration
	consumers int
	strategy  string
	verbose   bool
}

func main() {
	var o options
	flag.IntVar(&o.rotations, "rotations", 5, "rotations to run")
	flag.DurationVar(&o.interval, "interval", 2*time.Second, "time between rotations (the compressed schedule)")
	flag.IntVar(&o.consumers, "consumers", 4, "consumers querying the database meanwhile")
	flag.StringVar(&o.strategy, "strategy", string(postgres.AlternatingUsers), "alternating-users or single-user")
	flag.BoolVar(&o.verbose, "v", false, "print the engine's JSON log lines")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rotor-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	fmt.Fprintf(out, "rotor demo: %d rotations of a PostgreSQL secret (%s), one every %s, %d consumers\n\n", o.rotations, o.strategy, o.interval, o.consumers)
	server, err := pgserver.Start(pgserver.Options{TLS: true})
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	defer server.Stop()
	fmt.Fprintf(out, "  database  throwaway PostgreSQL on %s:%d: TLS verify-full, scram-sha-256, log_statement=all\n", server.Host, server.Port)
	fmt.Fprintf(out, "  store     in-memory Secrets Manager (AWSPENDING -> AWSCURRENT -> AWSPREVIOUS)\n")

	setup, err := prepare(ctx, server)
	if err != nil {
		return err
	}
	logOut := io.Discard
	if o.verbose {
		logOut = os.Stderr
	}
	rotator, err := postgres.New(postgres.Options{Strategy: postgres.Strategy(o.strategy), RootCAs: server.RootCAs()})
	if err != nil {
		return err
	}
	engine, err := lifecycle.New(setup.store, rotator, lifecycle.DefaultConfig(), slog.New(slog.NewJSONHandler(logOut, nil)))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  secret    %s (user %s, master %s)\n\n", setup.arn, setup.user, masterUser)

	work, cancelWork := context.WithCancel(ctx)
	defer cancelWork()
	load := startConsumers(work, o.consumers, setup.store, setup.arn, server)

	var results []rotation
	ticker := time.NewTicker(o.interval)
	defer ticker.Stop()
	for i := 1; i <= o.rotations; i++ {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "\ninterrupted: stopping cleanly")
			cancelWork()
			load.wait()
			return nil
		case <-ticker.C:
		}
		r := rotate(ctx, engine, setup.store, setup.arn)
		r.n = i
		results = append(results, r)
		fmt.Fprintln(out, r)
	}
	// Let consumers run on the last credential for a moment.
	time.Sleep(min(o.interval, time.Second))
	cancelWork()
	stats := load.wait()
	return summary(out, results, stats, setup, server, postgres.Strategy(o.strategy))
}

const masterUser = "rotor_master"

type setup struct {
	store     *memstore.Store
	arn, user string
}

// prepare creates the master role (CREATEROLE, as an RDS master user is not
// a superuser), the application role with a table it can use, and the two
// secrets in the AWS format.
func prepare(ctx context.Context, server *pgserver.Server) (setup, error) {
	conn, err := server.Admin(ctx)
	if err != nil {
		return setup{}, err
	}
	defer conn.Close(ctx)
	masterPW, appPW := "M-"+uuid.NewString(), "A-"+uuid.NewString()
	for _, sql := range []string{
		`CREATE ROLE ` + masterUser + ` WITH LOGIN CREATEROLE PASSWORD '` + masterPW + `'`,
		`CREATE ROLE app_rw NOLOGIN`,
		`GRANT app_rw TO ` + masterUser + ` WITH ADMIN OPTION`,
		`CREATE TABLE orders (id serial PRIMARY KEY, item text, at timestamptz DEFAULT now())`,
		`GRANT SELECT, INSERT ON orders TO app_rw`,
		`GRANT USAGE ON SEQUENCE orders_id_seq TO app_rw`,
		`CREATE ROLE app WITH LOGIN PASSWORD '` + appPW + `' IN ROLE app_rw`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return setup{}, fmt.Errorf("prepare database: %w", err)
		}
	}
	store := memstore.New()
	put := func(name string, doc map[string]any) (string, error) {
		raw, _ := json.Marshal(doc)
		s := string(raw)
		o, err := store.CreateSecret(ctx, memstore.CreateSecretInput{Name: name, SecretString: &s})
		return o.ARN, err
	}
	base := map[string]any{"engine": "postgres", "host": server.Host, "port": server.Port, "dbname": "postgres"}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	masterARN, err := put("demo/postgres/master", with(map[string]any{"username": masterUser, "password": masterPW}))
	if err != nil {
		return setup{}, err
	}
	arn, err := put("demo/postgres/app", with(map[string]any{"username": "app", "password": appPW, "masterarn": masterARN}))
	if err != nil {
		return setup{}, err
	}
	return setup{store: store, arn: arn, user: "app"}, nil
}

// rotation is the record of one rotation.
type rotation struct {
	n        int
	version  string
	from, to string
	steps    [4]time.Duration
	err      error
}

func (r rotation) total() time.Duration {
	var t time.Duration
	for _, d := range r.steps {
		t += d
	}
	return t
}

func (r rotation) String() string {
	if r.err != nil {
		return fmt.Sprintf("rotation %d  version %s  FAILED: %v", r.n, short(r.version), r.err)
	}
	return fmt.Sprintf("rotation %d  version %s  user %-9s -> %-9s  create %-7s set %-7s test %-7s finish %-7s total %s",
		r.n, short(r.version), r.from, r.to, ms(r.steps[0]), ms(r.steps[1]), ms(r.steps[2]), ms(r.steps[3]), ms(r.total()))
}

// rotate does what Secrets Manager does: start the rotation (AWSPENDING on
// a new version with no value), then invoke the four steps in order.
func rotate(ctx context.Context, engine *lifecycle.Engine, store *memstore.Store, arn string) rotation {
	r := rotation{from: userOf(ctx, store, arn, secretstore.Current)}
	token, err := store.StartRotation(ctx, arn, uuid.NewString())
	if err != nil {
		r.err = err
		return r
	}
	r.version = token
	for i, step := range lifecycle.Steps {
		start := time.Now()
		err := engine.Run(ctx, lifecycle.Request{SecretID: arn, Token: token, Step: step})
		r.steps[i] = time.Since(start)
		if err != nil {
			r.err = err
			return r
		}
	}
	r.to = userOf(ctx, store, arn, secretstore.Current)
	return r
}

func userOf(ctx context.Context, store *memstore.Store, arn, stage string) string {
	out, err := store.GetSecretValue(ctx, memstore.GetSecretValueInput{SecretID: arn, VersionStage: stage})
	if err != nil {
		return "?"
	}
	var c struct{ Username string }
	_ = json.Unmarshal(out.Value(), &c)
	return c.Username
}

func summary(out io.Writer, results []rotation, stats loadStats, s setup, server *pgserver.Server, strategy postgres.Strategy) error {
	var ok int
	var sum [4]time.Duration
	for _, r := range results {
		if r.err == nil {
			ok++
			for i, d := range r.steps {
				sum[i] += d
			}
		}
	}
	leaked, checked, err := passwordsInLog(s.store, server)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\nsummary")
	fmt.Fprintf(w, "  rotations\t%d completed, %d failed\n", ok, len(results)-ok)
	if ok > 0 {
		avg := func(d time.Duration) string { return ms(d / time.Duration(ok)) }
		fmt.Fprintf(w, "  mean step time\tcreateSecret %s, setSecret %s, testSecret %s, finishSecret %s\n", avg(sum[0]), avg(sum[1]), avg(sum[2]), avg(sum[3]))
	}
	fmt.Fprintf(w, "  consumer queries\t%d ok, %d failed (%d reconnects with the credential AWSCURRENT held, %d refreshed after an authentication failure)\n",
		stats.ok, stats.failed, stats.reconnects, stats.authRetries)
	if strategy == postgres.SingleUser && stats.failed > 0 {
		fmt.Fprintln(w, "  \tsingle user: between setSecret and finishSecret only the new password works and AWSCURRENT still holds the old one; alternating users have no such window")
	}
	fmt.Fprintf(w, "  server log\t%d of the %d generated passwords found in PostgreSQL's statement log (log_statement=all)\n", leaked, checked)
	fmt.Fprintln(w, "\nwhere to look next")
	fmt.Fprintln(w, "  make test\tthe rotation, crash-at-every-call, bad-input and redaction tests")
	fmt.Fprintln(w, "  make bench\tSecrets Manager calls and time per rotation")
	fmt.Fprintln(w, "  make build\tdist/postgres.zip; README.md says how to use it in place of AWS's function")
	fmt.Fprintln(w, "  go run ./cmd/rotor-demo -h\tmore rotations, consumers, -strategy single-user, -v for the engine's log")
	if err := w.Flush(); err != nil {
		return err
	}
	consumersFailed := stats.failed > 0 && strategy != postgres.SingleUser
	if consumersFailed || ok < len(results) || leaked > 0 {
		return errors.New("the demo saw failures (see the summary)")
	}
	return nil
}

// passwordsInLog greps the server's statement log for every password a
// rotation generated (the first version of each secret was set by the demo
// in plain SQL, so it is in the log by design).
func passwordsInLog(store *memstore.Store, server *pgserver.Server) (found, checked int, err error) {
	log, err := server.Log()
	if err != nil {
		return 0, 0, err
	}
	for _, sec := range store.Snapshot().Secrets {
		for i, v := range sec.Versions {
			if i == 0 {
				continue
			}
			var c struct{ Password string }
			if json.Unmarshal(v.Value, &c) != nil || c.Password == "" {
				continue
			}
			checked++
			if strings.Contains(string(log), c.Password) {
				found++
			}
		}
	}
	return found, checked, nil
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
