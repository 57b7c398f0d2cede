package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/password"
	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
	"github.com/rotorhq/rotor/test/faults"
)

// fakeRotator is a rotator of function fields; it records its calls.
type fakeRotator struct {
	info   rotators.Info
	create func(rotators.CreateRequest) (rotators.CreateResponse, error)
	set    func(rotators.SetRequest) error
	test   func(rotators.TestRequest) error
	config func(rotators.ConfigTestRequest) error
	calls  []string
}

func (f *fakeRotator) TestConfiguration(_ context.Context, r rotators.ConfigTestRequest) (rotators.ConfigTestResponse, error) {
	f.calls = append(f.calls, "config")
	if f.config != nil {
		return rotators.ConfigTestResponse{}, f.config(r)
	}
	return rotators.ConfigTestResponse{}, nil
}

func (f *fakeRotator) Info() rotators.Info { return f.info }

func (f *fakeRotator) Create(_ context.Context, r rotators.CreateRequest) (rotators.CreateResponse, error) {
	f.calls = append(f.calls, "create")
	if f.create != nil {
		return f.create(r)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.Current, &doc); err != nil {
		return rotators.CreateResponse{}, &rotators.InputError{Secret: "current", Field: "(secret)", Reason: "not JSON"}
	}
	doc["password"] = r.Password
	out, _ := json.Marshal(doc)
	return rotators.CreateResponse{Pending: out}, nil
}

func (f *fakeRotator) Set(_ context.Context, r rotators.SetRequest) (rotators.SetResponse, error) {
	f.calls = append(f.calls, "set")
	if f.set != nil {
		return rotators.SetResponse{}, f.set(r)
	}
	return rotators.SetResponse{}, nil
}

func (f *fakeRotator) Test(_ context.Context, r rotators.TestRequest) (rotators.TestResponse, error) {
	f.calls = append(f.calls, "test")
	if f.test != nil {
		return rotators.TestResponse{}, f.test(r)
	}
	return rotators.TestResponse{}, nil
}

const currentValue = `{"username":"app","password":"old-Secret-Value-1"}`

type fixture struct {
	store  *memstore.Store
	inj    *faults.Injector
	rot    *fakeRotator
	eng    *lifecycle.Engine
	arn    string
	first  string // the first version, AWSCURRENT
	logs   *bytes.Buffer
	ctx    context.Context
	config lifecycle.Config
}

func newFixture(t testing.TB, tweak func(*fixture)) *fixture {
	t.Helper()
	f := &fixture{
		store:  memstore.New(),
		inj:    &faults.Injector{},
		rot:    &fakeRotator{info: rotators.Info{Type: "fake", Strategy: "single-user", PasswordChars: password.Printable}},
		logs:   &bytes.Buffer{},
		ctx:    context.Background(),
		config: lifecycle.DefaultConfig(),
	}
	if tweak != nil {
		tweak(f)
	}
	v := currentValue
	out, err := f.store.CreateSecret(f.ctx, memstore.CreateSecretInput{Name: "app/db", SecretString: &v})
	if err != nil {
		t.Fatal(err)
	}
	f.arn, f.first = out.ARN, out.VersionID
	f.eng, err = lifecycle.New(&faults.Store{Next: f.store, Inj: f.inj}, f.rot, f.config, loggerTo(f))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func loggerTo(f *fixture) *slog.Logger {
	return slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// start begins a rotation as RotateSecret does and returns its token.
func (f *fixture) start(t testing.TB) string {
	t.Helper()
	token, err := f.store.StartRotation(f.ctx, f.arn, uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func (f *fixture) run(step lifecycle.Step, token string) error {
	return f.eng.Run(f.ctx, lifecycle.Request{SecretID: f.arn, Token: token, Step: step, RotationToken: "rot-token"})
}

func (f *fixture) rotate(t *testing.T) string {
	t.Helper()
	token := f.start(t)
	for _, step := range lifecycle.Steps {
		if err := f.run(step, token); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	return token
}

func (f *fixture) stages(t *testing.T) map[string][]string {
	t.Helper()
	d, err := f.store.Describe(f.ctx, f.arn)
	if err != nil {
		t.Fatal(err)
	}
	return d.Versions
}

func TestFullRotationMovesLabels(t *testing.T) {
	f := newFixture(t, nil)
	token := f.rotate(t)
	got := f.stages(t)
	if !slicesHave(got[token], secretstore.Current) {
		t.Errorf("want AWSCURRENT on %s, got %v", token, got)
	}
	if !slicesHave(got[f.first], secretstore.Previous) || slicesHave(got[f.first], secretstore.Current) {
		t.Errorf("want AWSPREVIOUS (only) on the first version, got %v", got[f.first])
	}
	if want := []string{"create", "set", "test"}; !reflect.DeepEqual(f.rot.calls, want) {
		t.Errorf("want rotator calls %v, got %v", want, f.rot.calls)
	}
	v, err := f.store.CurrentValue(f.ctx, f.arn)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Password string }
	if err := json.Unmarshal(v, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Password) != lifecycle.DefaultPasswordLength {
		t.Errorf("want a %d-character password, got %d", lifecycle.DefaultPasswordLength, len(doc.Password))
	}
	if bad := password.Intersect(doc.Password, lifecycle.DefaultExcludeCharacters); bad != "" {
		t.Errorf("want no excluded character in the password, got %d of them", len(bad))
	}
}

func TestRefusedStepsChangeNothing(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, f *fixture) lifecycle.Request
		want    error
		field   string // for an InputError
	}{
		{name: "rotation disabled", want: lifecycle.ErrRotationDisabled, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			token := f.start(t)
			if err := f.store.SetRotationEnabled(f.ctx, f.arn, false); err != nil {
				t.Fatal(err)
			}
			return lifecycle.Request{SecretID: f.arn, Token: token, Step: lifecycle.CreateSecret}
		}},
		{name: "token not a version", want: lifecycle.ErrUnknownVersion, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			f.start(t)
			return lifecycle.Request{SecretID: f.arn, Token: uuid.NewString(), Step: lifecycle.CreateSecret}
		}},
		{name: "token is AWSPREVIOUS", want: lifecycle.ErrNotPending, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			f.rotate(t)
			f.start(t)
			return lifecycle.Request{SecretID: f.arn, Token: f.first, Step: lifecycle.SetSecret}
		}},
		{name: "finish with a version that is not pending", want: lifecycle.ErrNotPending, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			f.rotate(t)
			f.start(t)
			return lifecycle.Request{SecretID: f.arn, Token: f.first, Step: lifecycle.FinishSecret}
		}},
		{name: "unknown secret", want: secretstore.ErrNotFound, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			return lifecycle.Request{SecretID: "no/such/secret", Token: uuid.NewString(), Step: lifecycle.CreateSecret}
		}},
		{name: "set before create", want: lifecycle.ErrNoPendingValue, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			return lifecycle.Request{SecretID: f.arn, Token: f.start(t), Step: lifecycle.SetSecret}
		}},
		{name: "finish before create", want: lifecycle.ErrNoPendingValue, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			return lifecycle.Request{SecretID: f.arn, Token: f.start(t), Step: lifecycle.FinishSecret}
		}},
		// A cold setSecret or testSecret reads instead of describing
		// (reads.go); every refusal stays.
		{name: "set with a token that is not a version", want: lifecycle.ErrUnknownVersion, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			f.start(t)
			return lifecycle.Request{SecretID: f.arn, Token: uuid.NewString(), Step: lifecycle.SetSecret}
		}},
		{name: "test with a token that is AWSPREVIOUS", want: lifecycle.ErrNotPending, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			f.rotate(t)
			f.start(t)
			return lifecycle.Request{SecretID: f.arn, Token: f.first, Step: lifecycle.TestSecret}
		}},
		{name: "set of an unknown secret", want: secretstore.ErrNotFound, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			return lifecycle.Request{SecretID: "no/such/secret", Token: uuid.NewString(), Step: lifecycle.SetSecret}
		}},
		{name: "rotation disabled before finish", want: lifecycle.ErrRotationDisabled, prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			token := f.start(t)
			for _, step := range []lifecycle.Step{lifecycle.CreateSecret, lifecycle.SetSecret, lifecycle.TestSecret} {
				if err := f.run(step, token); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			if err := f.store.SetRotationEnabled(f.ctx, f.arn, false); err != nil {
				t.Fatal(err)
			}
			return lifecycle.Request{SecretID: f.arn, Token: token, Step: lifecycle.FinishSecret}
		}},
		{name: "unknown step", field: "Step", prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			return lifecycle.Request{SecretID: f.arn, Token: f.start(t), Step: "deleteSecret"}
		}},
		{name: "missing secret id", field: "SecretId", prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			return lifecycle.Request{Token: f.start(t), Step: lifecycle.CreateSecret}
		}},
		{name: "missing token", field: "ClientRequestToken", prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			f.start(t)
			return lifecycle.Request{SecretID: f.arn, Step: lifecycle.CreateSecret}
		}},
		{name: "rotator refuses the secret", field: "host", prepare: func(t *testing.T, f *fixture) lifecycle.Request {
			f.rot.create = func(rotators.CreateRequest) (rotators.CreateResponse, error) {
				return rotators.CreateResponse{}, &rotators.InputError{Secret: "current", Field: "host", Reason: "missing"}
			}
			return lifecycle.Request{SecretID: f.arn, Token: f.start(t), Step: lifecycle.CreateSecret}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			req := c.prepare(t, f)
			f.rot.calls = nil
			before := f.store.Snapshot()
			err := f.eng.Run(f.ctx, req)
			if err == nil {
				t.Fatalf("want an error, got nil")
			}
			var stepErr *lifecycle.StepError
			if !errors.As(err, &stepErr) {
				t.Errorf("want a *StepError, got %T", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("want errors.Is(%v), got %v", c.want, err)
			}
			if c.field != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", c.field)) {
				t.Errorf("want the error to name %q, got %v", c.field, err)
			}
			if after := f.store.Snapshot(); !reflect.DeepEqual(before, after) {
				t.Errorf("want the store unchanged, got\n%+v\nwant\n%+v", after, before)
			}
			if c.field != "host" && len(f.rot.calls) != 0 {
				t.Errorf("want no rotator call, got %v", f.rot.calls)
			}
		})
	}
}

func TestFinishedRotationSucceedsAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	token := f.rotate(t)
	f.rot.calls = nil
	before := f.store.Snapshot()
	for _, step := range lifecycle.Steps {
		f.inj.Reset()
		if err := f.run(step, token); err != nil {
			t.Errorf("%s: want nil for a finished rotation, got %v", step, err)
		}
		// testSecret on the AWSCURRENT version is a configuration test:
		// it needs the current value, which this engine has kept.
		want := map[string]int{"store DescribeSecret": 1}
		if got := f.inj.Counts(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: want calls %v, got %v", step, want, got)
		}
	}
	if want := []string{"config"}; !reflect.DeepEqual(f.rot.calls, want) {
		t.Errorf("want rotator calls %v (the configuration test of testSecret), got %v", want, f.rot.calls)
	}
	if !reflect.DeepEqual(before, f.store.Snapshot()) {
		t.Errorf("want the store unchanged")
	}
}

func TestFinishedRotationWithPendingLeftOnCurrent(t *testing.T) {
	// AWS may leave AWSPENDING on the version that became AWSCURRENT.
	f := newFixture(t, nil)
	token := f.rotate(t)
	if !slicesHave(f.stages(t)[token], secretstore.Pending) {
		t.Fatalf("want AWSPENDING still on the finished version (the engine leaves it), got %v", f.stages(t)[token])
	}
	if err := f.run(lifecycle.SetSecret, token); err != nil {
		t.Errorf("want nil, got %v", err)
	}
}

func TestEveryStepTwiceGivesTheSameResult(t *testing.T) {
	f := newFixture(t, nil)
	token := f.start(t)
	for _, step := range lifecycle.Steps {
		if err := f.run(step, token); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		once := f.store.Snapshot()
		if err := f.run(step, token); err != nil {
			t.Fatalf("%s again: %v", step, err)
		}
		if twice := f.store.Snapshot(); !reflect.DeepEqual(once, twice) {
			t.Errorf("%s: want the same state after a second run", step)
		}
	}
	if want := []string{"create", "set", "set", "test", "test"}; !reflect.DeepEqual(f.rot.calls, want) {
		t.Errorf("want rotator calls %v (create once: the value is stored), got %v", want, f.rot.calls)
	}
}

// recorder keeps the last PendingValue and PasswordSpec the engine sent.
type recorder struct {
	lifecycle.Store
	put  secretstore.PendingValue
	spec *secretstore.PasswordSpec
}

func (r *recorder) PutPending(ctx context.Context, p secretstore.PendingValue) error {
	r.put = p
	return r.Store.PutPending(ctx, p)
}

func (r *recorder) RandomPassword(ctx context.Context, s secretstore.PasswordSpec) (string, error) {
	r.spec = &s
	return r.Store.RandomPassword(ctx, s)
}

func TestCreatePassesRotationTokenAndUsesStorePasswords(t *testing.T) {
	f := newFixture(t, nil)
	rec := &recorder{Store: f.store}
	cfg := lifecycle.DefaultConfig()
	cfg.PasswordSource = lifecycle.PasswordFromStore
	cfg.PasswordLength = 20
	f.rot.info.PasswordChars = password.Lowercase + password.Digits + "!#"
	eng, err := lifecycle.New(rec, f.rot, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	token := f.start(t)
	if err := eng.Run(f.ctx, lifecycle.Request{SecretID: f.arn, Token: token, Step: lifecycle.CreateSecret, RotationToken: "rot-token"}); err != nil {
		t.Fatal(err)
	}
	if rec.put.RotationToken != "rot-token" || rec.put.VersionID != token {
		t.Errorf("want RotationToken and version passed on, got token %q version %q", rec.put.RotationToken, rec.put.VersionID)
	}
	if rec.spec == nil {
		t.Fatalf("want GetRandomPassword called with PASSWORD_SOURCE=secretsmanager")
	}
	if rec.spec.Length != 20 {
		t.Errorf("want length 20, got %d", rec.spec.Length)
	}
	if strings.ContainsAny(rec.spec.ExcludeCharacters, "ab09!#") || !strings.ContainsAny(rec.spec.ExcludeCharacters, "A$ ") {
		t.Errorf("want every character but the rotator's excluded, got %q", rec.spec.ExcludeCharacters)
	}
	var doc struct{ Password string }
	v, _ := f.store.Value(f.ctx, f.arn, token)
	_ = json.Unmarshal(v, &doc)
	if len(doc.Password) != 20 || password.Without(doc.Password, password.Lowercase+password.Digits+"!#") != "" {
		t.Errorf("want 20 characters within the rotator's set, got %d characters", len(doc.Password))
	}
}

// TestStoreCallsPerStep counts the store calls of each step, each in a
// cold container (an engine of its own) and all four in one warm one,
// where the versions read or written by one step serve the next.
func TestStoreCallsPerStep(t *testing.T) {
	cold := map[lifecycle.Step]map[string]int{
		lifecycle.CreateSecret: {"store DescribeSecret": 1, "store GetSecretValue": 1, "store PutSecretValue": 1},
		// The labels come with the two values (GetSecretValue answers
		// VersionStages and VersionId): no DescribeSecret.
		lifecycle.SetSecret:    {"store GetSecretValue": 2},
		lifecycle.TestSecret:   {"store GetSecretValue": 2},
		lifecycle.FinishSecret: {"store DescribeSecret": 1, "store GetSecretValue": 1, "store UpdateSecretVersionStage": 1},
	}
	warm := map[lifecycle.Step]map[string]int{
		lifecycle.CreateSecret: {"store DescribeSecret": 1, "store GetSecretValue": 1, "store PutSecretValue": 1},
		lifecycle.SetSecret:    {"store DescribeSecret": 1},
		lifecycle.TestSecret:   {"store DescribeSecret": 1},
		lifecycle.FinishSecret: {"store DescribeSecret": 1, "store UpdateSecretVersionStage": 1},
	}
	for name, want := range map[string]map[lifecycle.Step]map[string]int{"cold": cold, "warm": warm} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			token := f.start(t)
			for _, step := range lifecycle.Steps {
				eng := f.eng
				if name == "cold" {
					var err error
					if eng, err = lifecycle.New(&faults.Store{Next: f.store, Inj: f.inj}, f.rot, f.config, nil); err != nil {
						t.Fatal(err)
					}
				}
				f.inj.Reset()
				if err := eng.Run(f.ctx, lifecycle.Request{SecretID: f.arn, Token: token, Step: step}); err != nil {
					t.Fatal(err)
				}
				if got := f.inj.Counts(); !reflect.DeepEqual(got, want[step]) {
					t.Errorf("%s: want calls %v, got %v", step, want[step], got)
				}
			}
		})
	}
}

// TestCachedMasterRefreshedOnFailure: a warm engine keeps the master
// secret it read; when the rotator fails after being served the kept
// value (the master was rotated since), the call runs once more with the
// master read afresh.
func TestCachedMasterRefreshedOnFailure(t *testing.T) {
	f := newFixture(t, nil)
	master := `{"username":"master","password":"master-Secret-1"}`
	out, err := f.store.CreateSecret(f.ctx, memstore.CreateSecretInput{Name: "master", SecretString: &master})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	f.rot.set = func(r rotators.SetRequest) error {
		v, err := r.Secrets.CurrentValue(context.Background(), out.ARN)
		if err != nil {
			return err
		}
		seen = append(seen, string(v))
		if string(v) == master {
			return errors.New("login as the master user failed")
		}
		return nil
	}
	token := f.start(t)
	if err := f.run(lifecycle.CreateSecret, token); err != nil {
		t.Fatal(err)
	}
	if err := f.run(lifecycle.SetSecret, token); err == nil {
		t.Fatal("set-up: want the first Set to fail with the old master")
	}
	rotated := `{"username":"master","password":"master-Secret-2"}`
	if _, err := f.store.PutSecretValue(f.ctx, memstore.PutSecretValueInput{SecretID: out.ARN, ClientRequestToken: uuid.NewString(), SecretString: &rotated}); err != nil {
		t.Fatal(err)
	}
	f.inj.Reset()
	if err := f.run(lifecycle.SetSecret, token); err != nil {
		t.Fatalf("want Set to succeed with the master read afresh, got %v", err)
	}
	if want := []string{master, master, rotated}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("want the master read, kept, then read afresh after the failure; got %d reads", len(seen))
	}
	if strings.Contains(f.logs.String(), "master-Secret") {
		t.Fatal("want no master value in the log")
	}
}

func TestMasterSecretReader(t *testing.T) {
	var gotErr error
	f := newFixture(t, func(f *fixture) {
		f.rot.create = func(r rotators.CreateRequest) (rotators.CreateResponse, error) {
			_, gotErr = r.Secrets.CurrentValue(context.Background(), "no/such/master")
			return rotators.CreateResponse{}, &rotators.InputError{Secret: "current", Field: "masterarn", Reason: "master secret not found"}
		}
	})
	err := f.run(lifecycle.CreateSecret, f.start(t))
	if !errors.Is(gotErr, rotators.ErrSecretNotFound) {
		t.Errorf("want rotators.ErrSecretNotFound from the reader, got %v", gotErr)
	}
	if err == nil || !strings.Contains(err.Error(), `"masterarn"`) {
		t.Errorf("want an error naming masterarn, got %v", err)
	}
}

func TestSecretValuesNeverInErrorsOrLogs(t *testing.T) {
	var seen []string
	f := newFixture(t, func(f *fixture) {
		leak := func(current, pending []byte) error {
			seen = append(seen, string(pending))
			return fmt.Errorf("driver said: bad login with %s (current %s)", pending, current)
		}
		f.rot.set = func(r rotators.SetRequest) error { return leak(r.Current, r.Pending) }
		f.rot.test = func(r rotators.TestRequest) error { return leak(r.Current, r.Pending) }
	})
	token := f.start(t)
	if err := f.run(lifecycle.CreateSecret, token); err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, step := range []lifecycle.Step{lifecycle.SetSecret, lifecycle.TestSecret} {
		err := f.run(step, token)
		if err == nil {
			t.Fatalf("%s: want an error", step)
		}
		errs = append(errs, err.Error())
	}
	var pending struct{ Password string }
	_ = json.Unmarshal([]byte(seen[0]), &pending)
	out := strings.Join(errs, "\n") + f.logs.String()
	for _, secret := range []string{pending.Password, "old-Secret-Value-1"} {
		if strings.Contains(out, secret) {
			t.Errorf("want no secret value in errors or logs, found one in:\n%s", out)
		}
	}
	if !strings.Contains(out, "[REDACTED]") {
		t.Errorf("want the values masked, got:\n%s", out)
	}
}

func TestConfig(t *testing.T) {
	rot := &fakeRotator{info: rotators.Info{Type: "fake", PasswordChars: "abc", MaxPasswordLength: 40}}
	cases := []struct {
		name  string
		env   map[string]string
		field string
	}{
		{"defaults", map[string]string{}, ""},
		{"length not a number", map[string]string{"PASSWORD_LENGTH": "long"}, "PASSWORD_LENGTH"},
		{"length zero", map[string]string{"PASSWORD_LENGTH": "0"}, "PASSWORD_LENGTH"},
		{"length over the target's limit", map[string]string{"PASSWORD_LENGTH": "41"}, "PASSWORD_LENGTH"},
		{"length over GetRandomPassword's", map[string]string{"PASSWORD_LENGTH": "5000"}, "PASSWORD_LENGTH"},
		{"exclude everything", map[string]string{"EXCLUDE_CHARACTERS": "cba"}, "EXCLUDE_CHARACTERS"},
		{"unknown source", map[string]string{"PASSWORD_SOURCE": "vault"}, "PASSWORD_SOURCE"},
		{"require each not a bool", map[string]string{"REQUIRE_EACH_INCLUDED_TYPE": "yes please"}, "REQUIRE_EACH_INCLUDED_TYPE"},
		{"empty exclude means none", map[string]string{"EXCLUDE_CHARACTERS": "", "PASSWORD_LENGTH": "16"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := lifecycle.ConfigFromEnv(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if err == nil {
				_, err = lifecycle.New(memstore.New(), rot, cfg, nil)
			}
			switch {
			case c.field == "" && err != nil:
				t.Errorf("want no error, got %v", err)
			case c.field != "" && (err == nil || !strings.Contains(err.Error(), c.field)):
				t.Errorf("want an error naming %s, got %v", c.field, err)
			}
		})
	}
}

func slicesHave(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestConfigurationTest: RotateSecret with RotateImmediately=false runs
// testSecret alone on a version AWS does not document the value of. Every
// shape it may take is recognised as the configuration test: the rotator's
// TestConfiguration gets the current value, Test is not called, nothing
// changes, no event; and a failing configuration fails the step.
func TestConfigurationTest(t *testing.T) {
	cases := []struct {
		name  string
		token func(t *testing.T, f *fixture) string
	}{
		{"pending version holding a copy of the current value", func(t *testing.T, f *fixture) string {
			token := f.start(t)
			v := currentValue
			if _, err := f.store.PutSecretValue(f.ctx, memstore.PutSecretValueInput{
				SecretID: f.arn, ClientRequestToken: token, SecretString: &v, VersionStages: []string{secretstore.Pending},
			}); err != nil {
				t.Fatal(err)
			}
			return token
		}},
		{"pending version with no value", func(t *testing.T, f *fixture) string { return f.start(t) }},
		{"AWSPENDING on the current version", func(t *testing.T, f *fixture) string {
			if err := f.store.SetRotationEnabled(f.ctx, f.arn, true); err != nil {
				t.Fatal(err)
			}
			if err := f.store.MoveStage(f.ctx, secretstore.StageMove{SecretID: f.arn, Stage: secretstore.Pending, ToVersion: f.first}); err != nil {
				t.Fatal(err)
			}
			return f.first
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			n := f.withEvents(t, nil)
			var got rotators.ConfigTestRequest
			f.rot.config = func(r rotators.ConfigTestRequest) error { got = r; return nil }
			token := c.token(t, f)
			before := f.store.Snapshot()
			if err := f.run(lifecycle.TestSecret, token); err != nil {
				t.Fatalf("want the configuration test to pass, got %v", err)
			}
			if string(got.Current) != currentValue || got.Secrets == nil || got.Log == nil {
				t.Fatalf("want the current value, a reader and a log handed to TestConfiguration, got %d bytes", len(got.Current))
			}
			if want := []string{"config"}; !reflect.DeepEqual(f.rot.calls, want) {
				t.Fatalf("want rotator calls %v, got %v", want, f.rot.calls)
			}
			if after := f.store.Snapshot(); !reflect.DeepEqual(before, after) {
				t.Fatal("want the configuration test to change nothing, got a changed store")
			}
			if evs := n.events(t); len(evs) != 0 {
				t.Fatalf("want no event for a configuration test, got %+v", evs)
			}
			f.rot.config = func(rotators.ConfigTestRequest) error {
				return &rotators.InputError{Secret: "master", Field: "password", Reason: "does not log in"}
			}
			err := f.run(lifecycle.TestSecret, token)
			if err == nil || !strings.Contains(err.Error(), `"password"`) {
				t.Fatalf("want the failing configuration test to fail the step naming the field, got %v", err)
			}
			if after := f.store.Snapshot(); !reflect.DeepEqual(before, after) {
				t.Fatal("want a failed configuration test to change nothing, got a changed store")
			}
		})
	}
}

// racingStore lets another createSecret store its pending value just
// before the engine's PutSecretValue, as when Secrets Manager delivers the
// step twice and the other delivery wins.
type racingStore struct {
	lifecycle.Store
	other []byte
}

func (r *racingStore) PutPending(ctx context.Context, p secretstore.PendingValue) error {
	if r.other != nil {
		first := p
		first.Value, r.other = r.other, nil
		if err := r.Store.PutPending(ctx, first); err != nil {
			return err
		}
	}
	return r.Store.PutPending(ctx, p)
}

// TestDuplicateCreateSecret: a createSecret whose PutSecretValue is refused
// (ResourceExists) because a duplicate delivery stored its value under the
// same token first has nothing left to do: it succeeds, keeps the stored
// value, and reports skipped, not a failed rotation.
func TestDuplicateCreateSecret(t *testing.T) {
	f := newFixture(t, nil)
	other := `{"username":"app","password":"other-Delivery-Value-2"}`
	race := &racingStore{Store: f.store, other: []byte(other)}
	eng, err := lifecycle.New(race, f.rot, f.config, loggerTo(f))
	if err != nil {
		t.Fatal(err)
	}
	n := &notifier{}
	eng = eng.WithEvents(n, nil)
	token := f.start(t)
	if err := eng.Run(f.ctx, lifecycle.Request{SecretID: f.arn, Token: token, Step: lifecycle.CreateSecret}); err != nil {
		t.Fatalf("want the duplicate createSecret to succeed, got %v", err)
	}
	if v, err := f.store.Value(f.ctx, f.arn, token); err != nil || string(v) != other {
		t.Fatalf("want the first delivery's value kept, got %d bytes, %v", len(v), err)
	}
	evs := n.events(t)
	if len(evs) != 1 || evs[0].DetailType != events.RotationStarted || evs[0].Detail.Outcome != events.OutcomeSkipped {
		t.Fatalf("want one Rotation Started with outcome skipped, got %+v", evs)
	}
	if strings.Contains(f.logs.String(), "other-Delivery-Value-2") {
		t.Fatal("want no secret value in the log")
	}
	// The rest of the rotation goes on from the stored value.
	for _, step := range lifecycle.Steps[1:] {
		if err := f.run(step, token); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
}

// TestColdSetLooksUpLastRotationOnDemand: a cold setSecret, which does not
// describe the secret, hands the rotator a lookup of LastRotatedDate
// instead of the date, and the lookup is the one DescribeSecret it makes;
// a warm one describes and hands the date.
func TestColdSetLooksUpLastRotationOnDemand(t *testing.T) {
	f := newFixture(t, nil)
	f.rotate(t)
	// As the local endpoint records it when a rotation finishes.
	if err := f.store.RecordRotation(f.ctx, f.arn, time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC), time.Time{}); err != nil {
		t.Fatal(err)
	}
	d, err := f.store.Describe(f.ctx, f.arn)
	if err != nil || d.LastRotated.IsZero() {
		t.Fatalf("want a last rotation, got %v (%v)", d.LastRotated, err)
	}
	var got []rotators.SetRequest
	f.rot.set = func(r rotators.SetRequest) error { got = append(got, r); return nil }
	token := f.start(t)
	if err := f.run(lifecycle.CreateSecret, token); err != nil {
		t.Fatal(err)
	}
	cold, err := lifecycle.New(&faults.Store{Next: f.store, Inj: f.inj}, f.rot, f.config, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.inj.Reset()
	if err := cold.Run(f.ctx, lifecycle.Request{SecretID: f.arn, Token: token, Step: lifecycle.SetSecret}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].LastRotatedFunc == nil || !got[0].LastRotated.IsZero() {
		t.Fatalf("want one Set with a lookup and no date, got %+v", got)
	}
	if n := f.inj.CountOf("store DescribeSecret"); n != 0 {
		t.Errorf("want no DescribeSecret before the lookup, got %d", n)
	}
	at, err := got[0].LastRotation(f.ctx)
	if err != nil || !at.Equal(d.LastRotated) {
		t.Errorf("want the lookup to answer %v, got %v (%v)", d.LastRotated, at, err)
	}
	if n := f.inj.CountOf("store DescribeSecret"); n != 1 {
		t.Errorf("want the lookup to be one DescribeSecret, got %d", n)
	}

	// Warm: the engine that ran createSecret describes and hands the date.
	got = nil
	if err := f.run(lifecycle.SetSecret, token); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].LastRotatedFunc != nil || !got[0].LastRotated.Equal(d.LastRotated) {
		t.Fatalf("want one Set with the date %v, got %+v", d.LastRotated, got)
	}
}

// TestColdSetAndTestLeaveTheRotationCheckToFinish: the rotation-enabled
// flag is only in DescribeSecret, which a cold setSecret or testSecret does
// not call; createSecret and finishSecret check it, so a rotation disabled
// after it started is stopped before AWSCURRENT moves.
func TestColdSetAndTestLeaveTheRotationCheckToFinish(t *testing.T) {
	f := newFixture(t, nil)
	token := f.start(t)
	if err := f.run(lifecycle.CreateSecret, token); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SetRotationEnabled(f.ctx, f.arn, false); err != nil {
		t.Fatal(err)
	}
	for _, step := range []lifecycle.Step{lifecycle.SetSecret, lifecycle.TestSecret} {
		cold, err := lifecycle.New(f.store, f.rot, f.config, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cold.Run(f.ctx, lifecycle.Request{SecretID: f.arn, Token: token, Step: step}); err != nil {
			t.Fatalf("%s: want it to run, got %v", step, err)
		}
	}
	if err := f.run(lifecycle.FinishSecret, token); !errors.Is(err, lifecycle.ErrRotationDisabled) {
		t.Fatalf("finishSecret: want ErrRotationDisabled, got %v", err)
	}
	if f.stages(t)[f.first][0] != secretstore.Current {
		t.Errorf("want AWSCURRENT left on the first version, got %v", f.stages(t))
	}
}
