package lambda

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/clock"
	"github.com/rotorhq/rotor/test/awslocal/inflight"
)

// Lambda's retry policy for asynchronous (Event) invocations: two more
// attempts after a failure, one minute and then two minutes later.
const (
	DefaultAsyncRetries    = 2
	DefaultAsyncRetryDelay = time.Minute
)

// ErrRegistryClosed is returned for invocations after [Registry.Close].
var ErrRegistryClosed = errors.New("lambda: registry is closed")

// NotFoundError is Lambda's ResourceNotFoundException: no function has the
// ARN (with its qualifier, when one was given).
type NotFoundError struct{ ARN string }

func (e *NotFoundError) Error() string { return "lambda: function not found: " + e.ARN }

// RegistryOptions configures a [Registry].
type RegistryOptions struct {
	// Clock times the waits between asynchronous retries; default the wall
	// clock. A scaled clock makes Lambda's minutes pass in moments.
	Clock clock.Clock
	// AsyncRetries is how many times a failed Event invocation is tried
	// again (Lambda's MaximumRetryAttempts): 0 means Lambda's default, 2;
	// negative means none.
	AsyncRetries int
	// AsyncRetryDelay is the wait before the first retry; the nth retry
	// waits n times as long, as Lambda waits one then two minutes. Default
	// one minute.
	AsyncRetryDelay time.Duration
	// OnAsyncFailure, when set, receives an Event invocation whose every
	// attempt failed: Lambda's on-failure destination or dead-letter queue.
	OnAsyncFailure func(functionARN string, payload []byte, err error)
	// Logger reports failed attempts (never a payload); default none.
	Logger *slog.Logger
}

// Registry maps function ARNs (arn:aws:lambda:<region>:<account>:function:<name>)
// to functions, and invokes them as Lambda does: synchronously, as Secrets
// Manager invokes a rotation function, or asynchronously with retries, as
// EventBridge invokes a target.
type Registry struct {
	opts  RegistryOptions
	life  context.Context
	stop  context.CancelFunc
	async inflight.Tracker

	mu     sync.RWMutex
	fns    map[string]Function
	owned  []io.Closer
	closed bool
}

// NewRegistry returns an empty registry.
func NewRegistry(opts RegistryOptions) *Registry {
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	switch {
	case opts.AsyncRetries == 0:
		opts.AsyncRetries = DefaultAsyncRetries
	case opts.AsyncRetries < 0:
		opts.AsyncRetries = 0
	}
	if opts.AsyncRetryDelay == 0 {
		opts.AsyncRetryDelay = DefaultAsyncRetryDelay
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{opts: opts, fns: map[string]Function{}}
	r.life, r.stop = context.WithCancel(context.Background())
	return r
}

// Register makes f the function with this ARN, replacing any other. It
// panics on an ARN that is not an unqualified function ARN, as
// http.HandleFunc panics on a bad pattern: it is a mistake in the caller.
// The registry owns f from now: a function with a Close method (an [*RIE])
// is closed by [Registry.Close], or at once when the registry is closed.
func (r *Registry) Register(arn string, f Function) {
	ref, err := parseFunctionName(arn)
	if err != nil || ref.region == "" || ref.account == "" || ref.qualifier != "" || !ref.full {
		panic(fmt.Sprintf("lambda: Register: %q is not an unqualified function ARN (arn:aws:lambda:<region>:<account>:function:<name>)", arn))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		if c, ok := f.(io.Closer); ok {
			_ = c.Close()
		}
		return
	}
	r.fns[ref.arn()] = f
	if c, ok := f.(io.Closer); ok && !slices.ContainsFunc(r.owned, func(o io.Closer) bool { return sameValue(o, c) }) {
		r.owned = append(r.owned, c)
	}
}

func sameValue(a, b any) bool {
	return reflect.TypeOf(a) == reflect.TypeOf(b) && reflect.TypeOf(a).Comparable() && a == b
}

// StartFunction starts a function under aws-lambda-rie ([StartRIE]) and
// registers it under arn. The name and region default to the ARN's, and
// the function's access key to the ARN's account id, so that its calls to
// the local endpoint act in its own account, as its role would.
func (r *Registry) StartFunction(ctx context.Context, arn string, opts RIEOptions) (*RIE, error) {
	opts, err := optionsFor(arn, opts)
	if err != nil {
		return nil, err
	}
	fn, err := StartRIE(ctx, opts)
	if err != nil {
		return nil, err
	}
	r.Register(arn, fn)
	r.mu.RLock()
	closed := r.closed
	r.mu.RUnlock()
	if closed {
		return nil, ErrRegistryClosed
	}
	return fn, nil
}

// optionsFor fills in the name, region and access key a function's ARN
// implies, where opts leaves them empty.
func optionsFor(arn string, opts RIEOptions) (RIEOptions, error) {
	ref, err := parseFunctionName(arn)
	if err != nil || !ref.full || ref.qualifier != "" {
		return opts, fmt.Errorf("lambda: %q is not an unqualified function ARN", arn)
	}
	if opts.FunctionName == "" {
		opts.FunctionName = ref.name
	}
	if opts.Region == "" {
		opts.Region = ref.region
	}
	if opts.AccessKeyID == "" {
		opts.AccessKeyID = ref.account
	}
	return opts, nil
}

// Lookup finds a function by any name Lambda's Invoke accepts: a name
// ("rotor-postgres"), a partial ARN ("111122223333:function:rotor-postgres")
// or a full ARN, optionally qualified with $LATEST. What the name leaves
// out is the caller's ([awsjson.CallerFrom]): its account and region.
// Versions and aliases other than $LATEST do not exist here.
func (r *Registry) Lookup(ctx context.Context, nameOrARN string) (Function, error) {
	_, f, err := r.resolve(ctx, nameOrARN)
	return f, err
}

func (r *Registry) resolve(ctx context.Context, nameOrARN string) (string, Function, error) {
	ref, err := parseFunctionName(nameOrARN)
	if err != nil {
		return "", nil, err
	}
	caller := awsjson.CallerFrom(ctx)
	if ref.region == "" {
		ref.region = caller.Region
	}
	if ref.account == "" {
		ref.account = caller.AccountID
	}
	arn := ref.arn()
	if ref.qualifier != "" && ref.qualifier != "$LATEST" {
		return "", nil, &NotFoundError{ARN: arn + ":" + ref.qualifier}
	}
	r.mu.RLock()
	f, ok := r.fns[arn]
	r.mu.RUnlock()
	if !ok {
		return "", nil, &NotFoundError{ARN: arn}
	}
	return arn, f, nil
}

// Invoke runs the function synchronously (RequestResponse) and returns its
// response; an error it reported is a [*FunctionError].
func (r *Registry) Invoke(ctx context.Context, arn string, payload []byte) ([]byte, error) {
	arn, f, err := r.resolve(ctx, arn)
	if err != nil {
		return nil, err
	}
	r.mu.RLock()
	closed := r.closed
	r.mu.RUnlock()
	if closed {
		return nil, ErrRegistryClosed
	}
	inv := invocationFrom(ctx)
	if inv.RequestID == "" {
		inv.RequestID = uuid.NewString()
	}
	inv.FunctionARN = arn
	return f.Invoke(withInvocation(ctx, inv), payload)
}

// InvokeAsync queues an Event invocation and returns at once; only a
// function that does not exist is an error here. The invocation runs in the
// background; when it fails (a function error or any other), it is tried
// again [RegistryOptions.AsyncRetries] times, after the retry delays, with
// the same request id, and then handed to OnAsyncFailure. The response is
// dropped, as Lambda drops it.
func (r *Registry) InvokeAsync(ctx context.Context, functionARN string, payload []byte) error {
	_, err := r.invokeAsync(ctx, functionARN, payload)
	return err
}

func (r *Registry) invokeAsync(ctx context.Context, functionARN string, payload []byte) (string, error) {
	arn, f, err := r.resolve(ctx, functionARN)
	if err != nil {
		return "", err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return "", ErrRegistryClosed
	}
	inv := invocationFrom(ctx)
	if inv.RequestID == "" {
		inv.RequestID = uuid.NewString()
	}
	inv.FunctionARN = arn
	payload = slices.Clone(payload)
	r.async.Add()
	go r.deliver(f, inv, payload)
	return inv.RequestID, nil
}

func (r *Registry) deliver(f Function, inv invocation, payload []byte) {
	defer r.async.Done()
	// Attempts are not cut short by Close, which waits for them; the waits
	// between attempts are.
	ctx := withInvocation(context.Background(), inv)
	var err error
	for attempt := 0; attempt <= r.opts.AsyncRetries; attempt++ {
		if attempt > 0 {
			if werr := r.opts.Clock.Sleep(r.life, time.Duration(attempt)*r.opts.AsyncRetryDelay); werr != nil {
				err = fmt.Errorf("%w before retry %d; last attempt: %w", ErrRegistryClosed, attempt, err)
				break
			}
		}
		if _, err = f.Invoke(ctx, payload); err == nil {
			return
		}
		r.opts.Logger.Warn("asynchronous invocation failed",
			"function", inv.FunctionARN, "request_id", inv.RequestID, "attempt", attempt+1, "error", errorKind(err))
	}
	if r.opts.OnAsyncFailure != nil {
		r.opts.OnAsyncFailure(inv.FunctionARN, payload, err)
	}
}

// errorKind names an error for a log line without its message, which a
// function may have filled with anything.
func errorKind(err error) string {
	var fe *FunctionError
	if errors.As(err, &fe) {
		return "function error " + fe.Type
	}
	return err.Error()
}

// Drain waits until every asynchronous invocation has ended, retries
// included, or ctx ends.
func (r *Registry) Drain(ctx context.Context) error { return r.async.Wait(ctx) }

// Close refuses new invocations, cancels the waits before asynchronous
// retries (those invocations go to OnAsyncFailure), waits for the attempts
// in flight, and closes the functions the registry owns.
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	owned := r.owned
	r.mu.Unlock()
	r.stop()
	_ = r.async.Wait(context.Background())
	var errs []error
	for _, c := range owned {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// functions lists the ARNs in an account and region, sorted.
func (r *Registry) functions(account, region string) []functionRef {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []functionRef
	for arn := range r.fns {
		ref, _ := parseFunctionName(arn)
		if ref.account == account && ref.region == region {
			out = append(out, ref)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// functionName is the pattern of Invoke's FunctionName, from Lambda's API
// reference, with its parts named.
var functionName = regexp.MustCompile(`^(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:)?` +
	`(?:(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1}):)?` +
	`(?:(?P<account>\d{12}):)?(?P<function>function:)?(?P<name>[a-zA-Z0-9_.-]+)` +
	`(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9_-]+))?$`)

type functionRef struct {
	partition, region, account, name, qualifier string
	full                                        bool // an ARN, arn:...
}

func (f functionRef) arn() string {
	return "arn:" + f.partition + ":lambda:" + f.region + ":" + f.account + ":function:" + f.name
}

func parseFunctionName(s string) (functionRef, error) {
	m := functionName.FindStringSubmatch(s)
	if m == nil || len(s) > 256 {
		return functionRef{}, awsjson.ClientError("ValidationException",
			"1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: "+
				"Member must satisfy regular expression pattern: %s", s, functionNamePattern)
	}
	g := func(name string) string { return m[functionName.SubexpIndex(name)] }
	ref := functionRef{partition: g("partition"), region: g("region"), account: g("account"),
		name: g("name"), qualifier: g("qualifier"), full: len(s) > 4 && s[:4] == "arn:"}
	if ref.partition == "" {
		ref.partition = "aws"
	}
	if ref.full && (ref.region == "" || ref.account == "" || g("function") == "") {
		return functionRef{}, awsjson.ClientError("ValidationException",
			"1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: "+
				"Member must satisfy regular expression pattern: %s", s, functionNamePattern)
	}
	return ref, nil
}

// functionNamePattern is the pattern as Lambda's validation message quotes it.
const functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
