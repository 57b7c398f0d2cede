package awslocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/clock"
	"github.com/rotorhq/rotor/test/awslocal/eventbridge"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
	"github.com/rotorhq/rotor/test/awslocal/secretsmanager"
	"github.com/rotorhq/rotor/test/awslocal/sqs"
)

// Defaults: the account and region of AWS's documentation examples.
const (
	DefaultAccount = "123456789012"
	DefaultRegion  = "us-east-1"
)

// Options configures a [Server]. The zero value serves on a random loopback
// port with real time.
type Options struct {
	// Addr is the listen address; it must be a loopback address (default
	// 127.0.0.1:0, a random port).
	Addr string
	// Account and Region are those of requests whose access key names no
	// account, and of requests without a credential scope.
	Account string
	Region  string
	// Accounts maps access key ids to account ids.
	Accounts map[string]string
	// Clock is the services' time; [clock.Scaled] makes rotation schedules
	// of days pass in seconds.
	Clock clock.Clock
	// StatePath, when set, is loaded at start (if it exists) and written by
	// [Server.Close].
	StatePath string
	Logger    *slog.Logger

	// Rotation retries (see secretsmanager.Options).
	RotationRetries int
	RotationBackoff time.Duration
	SchedulerTick   time.Duration
	// Event delivery retries (see eventbridge.Options).
	DeliveryRetries int
	DeliveryBackoff time.Duration

	// OnInvoke, when set, observes every synchronous invocation of a
	// rotation function: the demo times the steps with it.
	OnInvoke func(functionARN string, payload []byte, took time.Duration, err error)
	// OnCall, when set, observes every API request (its X-Amz-Target, or
	// "" for Lambda's REST API) once answered.
	OnCall func(c awsjson.Caller, target string, status int)
}

// Server is the running endpoint.
type Server struct {
	SecretsManager *secretsmanager.Service
	EventBridge    *eventbridge.Service
	SQS            *sqs.Service
	Lambda         *lambda.Registry

	// URL is the endpoint URL to give SDKs ("http://127.0.0.1:port").
	URL string

	opts     Options
	listener net.Listener
	http     *http.Server
	served   chan error
}

// Start starts the endpoint.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("awslocal: address %q: %w", opts.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("awslocal: address %q: the endpoint serves loopback only", opts.Addr)
	}

	s := &Server{opts: opts}
	s.Lambda = lambda.NewRegistry(lambda.RegistryOptions{Clock: opts.Clock, Logger: opts.Logger.With("service", "lambda")})
	s.SQS = sqs.New(sqs.Options{Clock: opts.Clock, Logger: opts.Logger.With("service", "sqs")})
	s.EventBridge = eventbridge.New(eventbridge.Options{
		Clock: opts.Clock, Logger: opts.Logger.With("service", "events"),
		Lambda: s.Lambda, Queues: s.SQS,
		RetryAttempts: opts.DeliveryRetries, RetryBackoff: opts.DeliveryBackoff,
	})
	s.SecretsManager = secretsmanager.New(secretsmanager.Options{
		Clock: opts.Clock, Logger: opts.Logger.With("service", "secretsmanager"),
		Functions: functions{s.Lambda, opts.OnInvoke}, Events: events{s.EventBridge},
		Retries: opts.RotationRetries, RetryBackoff: opts.RotationBackoff, SchedulerTick: opts.SchedulerTick,
	})
	if err := s.load(); err != nil {
		s.stopServices()
		return nil, err
	}

	router := awsjson.NewRouter(awsjson.Identity{
		DefaultAccount: opts.Account, DefaultRegion: opts.Region, Accounts: opts.Accounts,
	}, opts.Logger.With("service", "http"))
	router.OnCall = opts.OnCall
	router.Register(s.SecretsManager.JSONService())
	router.Register(s.EventBridge.JSONService())
	router.Register(s.SQS.JSONService())
	s.Lambda.Routes(router)

	s.listener, err = net.Listen("tcp", opts.Addr)
	if err != nil {
		s.stopServices()
		return nil, fmt.Errorf("awslocal: listen: %w", err)
	}
	s.URL = "http://" + s.listener.Addr().String()
	s.http = &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	s.served = make(chan error, 1)
	go func() { s.served <- s.http.Serve(s.listener) }()
	return s, nil
}

// FunctionARN returns the ARN of a function named name in the default
// account and region.
func (s *Server) FunctionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.opts.Region, s.opts.Account, name)
}

// Close stops serving, stops rotations and deliveries, saves the state when
// StatePath is set, and stops the functions the registry runs.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if serr := <-s.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	s.SecretsManager.Close()
	s.EventBridge.Close()
	err = errors.Join(err, s.Save())
	s.SQS.Close()
	s.Lambda.Close()
	return err
}

func (s *Server) stopServices() {
	s.SecretsManager.Close()
	s.EventBridge.Close()
	s.SQS.Close()
	s.Lambda.Close()
}

// state is the state file: each service's own snapshot.
type state struct {
	SecretsManager json.RawMessage `json:"secretsmanager"`
	EventBridge    json.RawMessage `json:"eventbridge"`
	SQS            json.RawMessage `json:"sqs"`
}

// Save writes the state to StatePath (nothing when it is empty), through a
// temporary file so that a crash never leaves half a state.
func (s *Server) Save() error {
	if s.opts.StatePath == "" {
		return nil
	}
	var st state
	var err error
	if st.SecretsManager, err = s.SecretsManager.Snapshot(); err != nil {
		return err
	}
	if st.EventBridge, err = s.EventBridge.Snapshot(); err != nil {
		return err
	}
	if st.SQS, err = s.SQS.Snapshot(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.opts.StatePath + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("awslocal: save state: %w", err)
	}
	return os.Rename(tmp, s.opts.StatePath)
}

func (s *Server) load() error {
	if s.opts.StatePath == "" {
		return nil
	}
	data, err := os.ReadFile(s.opts.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("awslocal: load state: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("awslocal: load state %s: %w", s.opts.StatePath, err)
	}
	for _, part := range []struct {
		name    string
		data    json.RawMessage
		restore func([]byte) error
	}{
		{"secretsmanager", st.SecretsManager, s.SecretsManager.Restore},
		{"eventbridge", st.EventBridge, s.EventBridge.Restore},
		{"sqs", st.SQS, s.SQS.Restore},
	} {
		if len(part.data) == 0 {
			continue
		}
		if err := part.restore(part.data); err != nil {
			return fmt.Errorf("awslocal: load state %s (%s): %w", s.opts.StatePath, part.name, err)
		}
	}
	return nil
}

// functions lets Secrets Manager invoke rotation functions through the
// registry.
type functions struct {
	reg      *lambda.Registry
	onInvoke func(string, []byte, time.Duration, error)
}

func (f functions) Invoke(ctx context.Context, arn string, payload []byte) ([]byte, error) {
	start := time.Now()
	out, err := f.reg.Invoke(ctx, arn, payload)
	if f.onInvoke != nil {
		f.onInvoke(arn, payload, time.Since(start), err)
	}
	return out, err
}

func (f functions) Exists(ctx context.Context, arn string) bool {
	_, err := f.reg.Lookup(ctx, arn)
	return err == nil
}

// events sends Secrets Manager's events to the account's default bus.
type events struct{ eb *eventbridge.Service }

func (e events) Emit(ctx context.Context, account, region string, ev secretsmanager.Event) error {
	detail, err := json.Marshal(ev.Detail)
	if err != nil {
		return err
	}
	return e.eb.Emit(ctx, account, region, eventbridge.Event{
		Source: ev.Source, DetailType: ev.DetailType, Detail: detail, Resources: ev.Resources, Time: ev.Time,
	})
}
