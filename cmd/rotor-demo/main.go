// Command rotor-demo is `make demo`: rotor's local AWS endpoint rotates a
// PostgreSQL secret on a schedule compressed to seconds, running the real
// PostgreSQL rotation function (dist/local/postgres/bootstrap) under AWS's
// Lambda Runtime Interface Emulator, against a throwaway PostgreSQL server
// with password authentication and TLS, while services query the database
// through the consumer SDK: each has its own SQS queue on rotor's bus, a
// cache of the secret and a pgx pool that takes the cache's credential.
// Each service swaps and acknowledges every rotation, and its pool retires
// the previous credential's connections within half a second; the
// function, as the deactivation gate, locks the previous user (alternating
// users) once no session uses it, on an acknowledgement or on its hourly
// sweep (an EventBridge schedule rule the endpoint runs on its fast clock).
// Every rotor and Secrets Manager event is kept in an audit trail. It
// prints each rotation's steps and a summary (queries, propagation times,
// acknowledgements, a scan for leaked values), and leaves no process or
// temp dir behind, also on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rotorhq/rotor/rotators/postgres"
)

type options struct {
	rotations int
	interval  time.Duration
	consumers int
	strategy  string
	bootstrap string
	logDir    string // keeps the function's and the endpoint's logs
	verbose   bool
}

func main() {
	var o options
	flag.IntVar(&o.rotations, "rotations", 5, "rotations to run")
	flag.DurationVar(&o.interval, "interval", 3*time.Second, "real time between scheduled rotations: the schedule is rate(4 hours), on a clock running fast")
	flag.IntVar(&o.consumers, "consumers", 4, "services querying the database meanwhile, each with its own queue, cache and pool")
	flag.StringVar(&o.strategy, "strategy", string(postgres.AlternatingUsers), "alternating-users or single-user")
	flag.StringVar(&o.bootstrap, "bootstrap", "dist/local/postgres/bootstrap", "the PostgreSQL function built for this machine (make local-build)")
	flag.StringVar(&o.logDir, "log-dir", "dist/demo", "where the function's and the endpoint's logs are kept")
	flag.BoolVar(&o.verbose, "v", false, "print the function's log lines and the endpoint's")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rotor-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	if o.rotations < 1 || o.consumers < 0 || o.interval <= 0 {
		return fmt.Errorf("-rotations must be 1 or more, -consumers 0 or more, -interval positive")
	}
	if s := postgres.Strategy(o.strategy); s != postgres.AlternatingUsers && s != postgres.SingleUser {
		return fmt.Errorf("-strategy %q: want %s or %s", o.strategy, postgres.AlternatingUsers, postgres.SingleUser)
	}
	if _, err := os.Stat(o.bootstrap); err != nil {
		return fmt.Errorf("-bootstrap %s: %w (make demo builds it)", o.bootstrap, err)
	}
	fmt.Fprintf(out, "rotor demo: %d rotations of a PostgreSQL secret (%s), one every %s, %d consumers\n\n",
		o.rotations, o.strategy, o.interval, o.consumers)
	st, err := startStack(ctx, o, out)
	if err != nil {
		return err
	}
	defer st.close()
	return st.run(ctx, o, out)
}
