package rotatortest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/password"
)

// Fake is a rotator without a target system, for tests of what surrounds
// rotators (the engine, the local endpoint): Create puts the new password in
// the secret's "password" field, and a step fails while [Fake.Fail] names
// it. It is safe for concurrent use.
type Fake struct {
	mu     sync.Mutex
	failAt string
	calls  []string
}

var _ rotators.Rotator = (*Fake)(nil)

// Info implements rotators.Rotator.
func (f *Fake) Info() rotators.Info {
	return rotators.Info{Type: "fake", Strategy: "single-user", PasswordChars: password.Printable}
}

// Fail makes the step ("create", "set", "test" or "config") fail from now on; ""
// makes every step succeed again.
func (f *Fake) Fail(step string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt = step
}

// Calls lists the steps called, in order.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *Fake) record(step string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, step)
	if f.failAt == step {
		return fmt.Errorf("%s refused by the test", step)
	}
	return nil
}

// Create implements rotators.Rotator.
func (f *Fake) Create(_ context.Context, req rotators.CreateRequest) (rotators.CreateResponse, error) {
	if err := f.record("create"); err != nil {
		return rotators.CreateResponse{}, err
	}
	var doc map[string]any
	if err := json.Unmarshal(req.Current, &doc); err != nil {
		return rotators.CreateResponse{}, &rotators.InputError{Secret: "current", Field: "(secret)", Reason: "not a JSON object"}
	}
	doc["password"] = req.Password
	out, err := json.Marshal(doc)
	return rotators.CreateResponse{Pending: out}, err
}

// Set implements rotators.Rotator.
func (f *Fake) Set(context.Context, rotators.SetRequest) (rotators.SetResponse, error) {
	return rotators.SetResponse{}, f.record("set")
}

// Test implements rotators.Rotator.
func (f *Fake) Test(context.Context, rotators.TestRequest) (rotators.TestResponse, error) {
	return rotators.TestResponse{}, f.record("test")
}

// TestConfiguration implements rotators.Rotator; it records "config".
func (f *Fake) TestConfiguration(context.Context, rotators.ConfigTestRequest) (rotators.ConfigTestResponse, error) {
	return rotators.ConfigTestResponse{}, f.record("config")
}
