// Command rotor-local runs rotor's local AWS endpoint: Secrets Manager,
// EventBridge and SQS on AWS's JSON protocols and Lambda's Invoke API, on
// loopback, rotating secrets as AWS does with the real function binaries
// under aws-lambda-rie.
//
//	go run ./cmd/rotor-local -function rotor-postgres=dist/local/postgres/bootstrap
//	aws --endpoint-url http://127.0.0.1:4566 secretsmanager list-secrets
//
// Ctrl-C stops it, saving the state to -state when set.
//
// With -audit-log, it also records every rotation event: a rule on each
// -audit-bus (Secrets Manager's events are on "default"; rotor's functions
// publish to the bus named by their ROTOR_EVENT_BUS) sends rotor's and
// Secrets Manager's events to the queue "rotor-audit", and a consumer
// appends them to the file as JSON lines (package events/audit):
//
//	go run ./cmd/rotor-local -audit-log audit.jsonl -audit-bus default,rotor-events
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotorhq/rotor/events/audit"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/clock"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
)

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// commaList is a repeatable flag whose values may also be comma lists.
type commaList []string

func (l *commaList) String() string { return strings.Join(*l, ",") }
func (l *commaList) Set(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return fmt.Errorf("empty name in %q", v)
		}
		*l = append(*l, item)
	}
	return nil
}

type options struct {
	addr, account, region, state string
	speed                        float64
	functions, env               list
	timeout                      time.Duration
	retries                      int
	backoff                      time.Duration
	logLevel                     string
	auditLog                     string
	auditBuses                   commaList

	// onReady, when set, is called once the endpoint serves and the audit
	// sink (if any) is subscribed: the tests learn the endpoint's URL.
	onReady func(*awslocal.Server)
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2) // the flag package has printed the error and the usage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "rotor-local:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, output io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("rotor-local", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:4566", "listen address (loopback only)")
	fs.StringVar(&o.account, "account", awslocal.DefaultAccount, "account of access keys that name none (a 12-digit access key id is its own account)")
	fs.StringVar(&o.region, "region", awslocal.DefaultRegion, "region of requests without a credential scope, and of -function")
	fs.StringVar(&o.state, "state", "", "state file: loaded at start, saved at exit")
	fs.Float64Var(&o.speed, "clock-speed", 1, "how much faster than real time schedules and retries run (86400: a day a second)")
	fs.Var(&o.functions, "function", "name=path/to/bootstrap: run a function under aws-lambda-rie (repeatable)")
	fs.Var(&o.env, "env", "KEY=VALUE for every -function (repeatable)")
	fs.DurationVar(&o.timeout, "function-timeout", 30*time.Second, "functions' timeout")
	fs.IntVar(&o.retries, "rotation-retries", 3, "times Secrets Manager tries a failed rotation again")
	fs.DurationVar(&o.backoff, "rotation-backoff", time.Minute, "wait before the first rotation retry, doubled each time (on the clock)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.auditLog, "audit-log", "", "append every rotation event (rotor's and Secrets Manager's) to this file as JSON lines")
	fs.Var(&o.auditBuses, "audit-bus", "event bus whose events -audit-log records, created if missing (repeatable or a comma list; default: default)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(output, err)
		return options{}, err
	}
	return o, nil
}

func run(ctx context.Context, o options) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if len(o.auditBuses) > 0 && o.auditLog == "" {
		return errors.New("-audit-bus: needs -audit-log")
	}
	env := map[string]string{}
	for _, kv := range o.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("-env %q: want KEY=VALUE", kv)
		}
		env[k] = v
	}
	clk := clock.Real()
	if o.speed != 1 {
		clk = clock.Scaled(o.speed)
	}
	srv, err := awslocal.Start(awslocal.Options{
		Addr: o.addr, Account: o.account, Region: o.region, StatePath: o.state, Clock: clk, Logger: logger,
		RotationRetries: o.retries, RotationBackoff: o.backoff,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			logger.Error("stop", "error", err)
		}
	}()
	for _, fn := range o.functions {
		name, path, ok := strings.Cut(fn, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("-function %q: want name=path/to/bootstrap", fn)
		}
		fenv := map[string]string{"SECRETS_MANAGER_ENDPOINT": srv.URL, "AWS_ENDPOINT_URL": srv.URL}
		for k, v := range env {
			fenv[k] = v
		}
		arn := srv.FunctionARN(name)
		if _, err := srv.Lambda.StartFunction(ctx, arn, lambda.RIEOptions{
			Bootstrap: path, Env: fenv, Timeout: o.timeout, Stdout: os.Stderr, Stderr: os.Stderr,
		}); err != nil {
			return fmt.Errorf("-function %s: %w", name, err)
		}
		fmt.Printf("function %s (%s) under aws-lambda-rie\n", arn, path)
	}
	var sink *auditSink
	var sinkStopped <-chan struct{} // nil, never ready, without -audit-log
	if o.auditLog != "" {
		if sink, err = startAudit(ctx, srv, o, logger); err != nil {
			return err
		}
		// Deferred after srv.Close, so run before it: the consumer stops
		// while the endpoint still answers its last delete.
		defer func() {
			if err := sink.stop(); err != nil {
				logger.Error("stop the audit sink", "error", err)
			}
		}()
		sinkStopped = sink.stopped
		fmt.Printf("audit log %s: rotation events of %s\n", o.auditLog, strings.Join(sink.buses, ", "))
	}
	fmt.Printf("endpoint %s (account %s, region %s)\n", srv.URL, o.account, o.region)
	fmt.Printf("  try: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=x aws --region %s --endpoint-url %s secretsmanager list-secrets\n", o.account, o.region, srv.URL)
	if o.onReady != nil {
		o.onReady(srv)
	}
	select {
	case <-ctx.Done():
	case <-sinkStopped:
		// Only an error stops the consumer before ctx ends.
		return fmt.Errorf("-audit-log: the audit sink stopped: %w", sink.err)
	}
	if errors.Is(context.Cause(ctx), context.Canceled) {
		fmt.Println("stopping")
	}
	return nil
}

// auditSink is the consumer that -audit-log runs in the background.
type auditSink struct {
	buses   []string
	w       *audit.Writer
	cancel  context.CancelFunc
	stopped chan struct{}
	err     error // set before stopped is closed
}

// startAudit subscribes the buses' events to the audit queue, and consumes
// it into the file.
func startAudit(ctx context.Context, srv *awslocal.Server, o options, logger *slog.Logger) (*auditSink, error) {
	buses := []string(o.auditBuses)
	if len(buses) == 0 {
		buses = []string{audit.DefaultBus}
	}
	cfg := aws.Config{
		Region: o.region, BaseEndpoint: aws.String(srv.URL),
		// A 12-digit access key id is its own account.
		Credentials: credentials.NewStaticCredentialsProvider(o.account, "local", ""),
	}
	w, err := audit.Open(o.auditLog, audit.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("-audit-log: %w", err)
	}
	sqsc := sqs.NewFromConfig(cfg)
	queueURL, err := audit.Subscribe(ctx, eventbridge.NewFromConfig(cfg), sqsc, audit.Subscription{Buses: buses, CreateBuses: true})
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("-audit-bus %s: %w", strings.Join(buses, ","), err)
	}
	cctx, cancel := context.WithCancel(ctx)
	s := &auditSink{buses: buses, w: w, cancel: cancel, stopped: make(chan struct{})}
	c := &audit.Consumer{API: sqsc, QueueURL: queueURL, Writer: w, Logger: logger}
	go func() {
		defer close(s.stopped)
		s.err = c.Run(cctx)
	}()
	return s, nil
}

// stop stops the consumer (a batch being written is finished and deleted)
// and closes the file.
func (s *auditSink) stop() error {
	s.cancel()
	<-s.stopped
	return errors.Join(s.err, s.w.Close())
}
