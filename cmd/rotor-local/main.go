// Command rotor-local runs rotor's local AWS endpoint: Secrets Manager,
// EventBridge and SQS on AWS's JSON protocols and Lambda's Invoke API, on
// loopback, rotating secrets as AWS does with the real function binaries
// under aws-lambda-rie.
//
//	go run ./cmd/rotor-local -function rotor-postgres=dist/local/postgres/bootstrap
//	aws --endpoint-url http://127.0.0.1:4566 secretsmanager list-secrets
//
// Ctrl-C stops it, saving the state to -state when set.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/clock"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
)

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	addr, account, region, state string
	speed                        float64
	functions, env               list
	timeout                      time.Duration
	retries                      int
	backoff                      time.Duration
	logLevel                     string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:4566", "listen address (loopback only)")
	flag.StringVar(&o.account, "account", awslocal.DefaultAccount, "account of access keys that name none (a 12-digit access key id is its own account)")
	flag.StringVar(&o.region, "region", awslocal.DefaultRegion, "region of requests without a credential scope, and of -function")
	flag.StringVar(&o.state, "state", "", "state file: loaded at start, saved at exit")
	flag.Float64Var(&o.speed, "clock-speed", 1, "how much faster than real time schedules and retries run (86400: a day a second)")
	flag.Var(&o.functions, "function", "name=path/to/bootstrap: run a function under aws-lambda-rie (repeatable)")
	flag.Var(&o.env, "env", "KEY=VALUE for every -function (repeatable)")
	flag.DurationVar(&o.timeout, "function-timeout", 30*time.Second, "functions' timeout")
	flag.IntVar(&o.retries, "rotation-retries", 3, "times Secrets Manager tries a failed rotation again")
	flag.DurationVar(&o.backoff, "rotation-backoff", time.Minute, "wait before the first rotation retry, doubled each time (on the clock)")
	flag.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "rotor-local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
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
	fmt.Printf("endpoint %s (account %s, region %s)\n", srv.URL, o.account, o.region)
	fmt.Printf("  try: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=x aws --region %s --endpoint-url %s secretsmanager list-secrets\n", o.account, o.region, srv.URL)
	<-ctx.Done()
	if errors.Is(context.Cause(ctx), context.Canceled) {
		fmt.Println("stopping")
	}
	return nil
}
