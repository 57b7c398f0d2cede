package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore"
)

// ErrInjected is the error of every injected failure.
var ErrInjected = errors.New("injected fault")

// Mode says when an armed call fails.
type Mode int

const (
	// Before fails the call without making it.
	Before Mode = iota
	// After makes the call and then fails it, losing its answer. Only store
	// calls honour After; a database call cannot be failed after it took
	// effect from inside the driver, and a step that fails right after its
	// last database call is the same as a step that runs twice.
	After
)

func (m Mode) String() string {
	if m == After {
		return "after"
	}
	return "before"
}

// Injector counts calls and fails the armed one. It is safe for concurrent use.
type Injector struct {
	mu     sync.Mutex
	count  int
	armed  int // fail the call with this count; 0 means none
	mode   Mode
	fired  string
	counts map[string]int
}

// Arm makes the k-th call from now fail (k from 1), once, and resets the counts.
func (i *Injector) Arm(k int, mode Mode) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.count, i.armed, i.mode, i.fired, i.counts = 0, k, mode, "", nil
}

// Reset disarms the injector and clears the counts.
func (i *Injector) Reset() { i.Arm(0, Before) }

// Fired names the call that failed, or is empty.
func (i *Injector) Fired() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.fired
}

// Count returns the number of calls since the last Arm or Reset.
func (i *Injector) Count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.count
}

// Counts returns the calls by operation since the last Arm or Reset.
func (i *Injector) Counts() map[string]int {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := make(map[string]int, len(i.counts))
	for k, v := range i.counts {
		out[k] = v
	}
	return out
}

// CountOf sums the counts of operations whose name starts with prefix.
func (i *Injector) CountOf(prefix string) int {
	n := 0
	for op, c := range i.Counts() {
		if strings.HasPrefix(op, prefix) {
			n += c
		}
	}
	return n
}

// hit counts a call and says whether it must fail, and when.
func (i *Injector) hit(op string, canFailAfter bool) (before, after bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.count++
	if i.counts == nil {
		i.counts = map[string]int{}
	}
	i.counts[op]++
	if i.armed == 0 || i.count != i.armed || i.fired != "" {
		return false, false
	}
	if i.mode == After && !canFailAfter {
		return false, false
	}
	i.fired = fmt.Sprintf("%s #%d (%s)", op, i.count, i.mode)
	return i.mode == Before, i.mode == After
}

// Store wraps a store so that the injector sees and can fail every call.
type Store struct {
	Next lifecycle.Store
	Inj  *Injector
}

var _ lifecycle.Store = (*Store)(nil)

func call[T any](s *Store, op string, f func() (T, error)) (T, error) {
	var zero T
	before, after := s.Inj.hit("store "+op, true)
	if before {
		return zero, fmt.Errorf("store %s: %w", op, ErrInjected)
	}
	v, err := f()
	if after && err == nil {
		return zero, fmt.Errorf("store %s (answer lost): %w", op, ErrInjected)
	}
	return v, err
}

func (s *Store) Describe(ctx context.Context, id string) (secretstore.Description, error) {
	return call(s, "DescribeSecret", func() (secretstore.Description, error) { return s.Next.Describe(ctx, id) })
}

func (s *Store) Value(ctx context.Context, id, version string) ([]byte, error) {
	return call(s, "GetSecretValue", func() ([]byte, error) { return s.Next.Value(ctx, id, version) })
}

func (s *Store) CurrentValue(ctx context.Context, id string) ([]byte, error) {
	return call(s, "GetSecretValue", func() ([]byte, error) { return s.Next.CurrentValue(ctx, id) })
}

func (s *Store) Version(ctx context.Context, id, version string) (secretstore.Version, error) {
	return call(s, "GetSecretValue", func() (secretstore.Version, error) { return s.Next.Version(ctx, id, version) })
}

func (s *Store) Current(ctx context.Context, id string) (secretstore.Version, error) {
	return call(s, "GetSecretValue", func() (secretstore.Version, error) { return s.Next.Current(ctx, id) })
}

func (s *Store) PutPending(ctx context.Context, p secretstore.PendingValue) error {
	_, err := call(s, "PutSecretValue", func() (struct{}, error) { return struct{}{}, s.Next.PutPending(ctx, p) })
	return err
}

func (s *Store) MoveStage(ctx context.Context, m secretstore.StageMove) error {
	_, err := call(s, "UpdateSecretVersionStage", func() (struct{}, error) { return struct{}{}, s.Next.MoveStage(ctx, m) })
	return err
}

func (s *Store) RandomPassword(ctx context.Context, spec secretstore.PasswordSpec) (string, error) {
	return call(s, "GetRandomPassword", func() (string, error) { return s.Next.RandomPassword(ctx, spec) })
}

// Tracer is a pgx tracer through which the injector sees and can fail every
// connect and every statement.
type Tracer struct{ Inj *Injector }

var (
	_ pgx.QueryTracer   = Tracer{}
	_ pgx.ConnectTracer = Tracer{}
)

func (t Tracer) fail(ctx context.Context, op string) context.Context {
	if before, _ := t.Inj.hit("db "+op, false); before {
		cctx, cancel := context.WithCancelCause(ctx)
		cancel(fmt.Errorf("db %s: %w", op, ErrInjected))
		return cctx
	}
	return ctx
}

func (t Tracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return t.fail(ctx, "connect")
}

func (t Tracer) TraceConnectEnd(context.Context, pgx.TraceConnectEndData) {}

func (t Tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return t.fail(ctx, firstWord(data.SQL))
}

func (t Tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func firstWord(sql string) string {
	f := strings.Fields(sql)
	if len(f) == 0 {
		return "query"
	}
	return strings.ToLower(f[0])
}
