package dbsecret

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/rotators"
)

var pgRules = Rules{
	Secret:            "current",
	Engines:           []string{"postgres"},
	DefaultPort:       5432,
	DefaultDBName:     "postgres",
	RequireMasterARN:  true,
	MaxUsernameLength: 63,
	CloneSuffix:       "_clone",
}

const testPassword = "s3cr3t-Pa55word!"

// baseline returns a valid secret as a map that a case may tweak.
func baseline() map[string]any {
	return map[string]any{
		"engine":    "postgres",
		"host":      "db.example.com",
		"port":      5432,
		"username":  "app_user",
		"password":  testPassword,
		"dbname":    "appdb",
		"masterarn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master",
		"ssl":       true,
		"team":      map[string]any{"owner": "payments", "tags": []any{"a<b", 1.5}},
	}
}

func encode(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		tweak func(m map[string]any)
		want  Secret
	}{
		{
			name:  "baseline",
			tweak: func(map[string]any) {},
			want:  Secret{Engine: "postgres", Host: "db.example.com", Port: 5432, Username: "app_user", Password: testPassword, DBName: "appdb", MasterARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master", SSL: true},
		},
		{
			name:  "defaults",
			tweak: func(m map[string]any) { delete(m, "port"); delete(m, "dbname"); delete(m, "ssl"); delete(m, "engine") },
			want:  Secret{Host: "db.example.com", Port: 5432, Username: "app_user", Password: testPassword, DBName: "postgres", MasterARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master", SSL: true},
		},
		{
			name:  "port as string, ssl as string false",
			tweak: func(m map[string]any) { m["port"] = "6543"; m["ssl"] = "false" },
			want:  Secret{Engine: "postgres", Host: "db.example.com", Port: 6543, Username: "app_user", Password: testPassword, DBName: "appdb", MasterARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master", SSL: false},
		},
		{
			name:  "ssl false, null dbname",
			tweak: func(m map[string]any) { m["ssl"] = false; m["dbname"] = nil },
			want:  Secret{Engine: "postgres", Host: "db.example.com", Port: 5432, Username: "app_user", Password: testPassword, DBName: "postgres", MasterARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master", SSL: false},
		},
		{
			name:  "clone user at the length limit",
			tweak: func(m map[string]any) { m["username"] = strings.Repeat("u", 57) + "_clone" },
			want:  Secret{Engine: "postgres", Host: "db.example.com", Port: 5432, Username: strings.Repeat("u", 57) + "_clone", Password: testPassword, DBName: "appdb", MasterARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master", SSL: true},
		},
		{
			name:  "username with quotes and spaces",
			tweak: func(m map[string]any) { m["username"] = `a"; DROP ROLE x; --` },
			want:  Secret{Engine: "postgres", Host: "db.example.com", Port: 5432, Username: `a"; DROP ROLE x; --`, Password: testPassword, DBName: "appdb", MasterARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master", SSL: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := baseline()
			tt.tweak(m)
			got, err := Parse(encode(t, m), pgRules)
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			got.fields = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("want %+v, got %+v", tt.want, got)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name      string
		raw       []byte // used instead of the tweaked baseline when set
		tweak     func(m map[string]any)
		rules     func(r *Rules)
		wantField string
	}{
		{name: "not JSON", raw: []byte("password=" + testPassword), wantField: FieldSecret},
		{name: "JSON array", raw: []byte(`["` + testPassword + `"]`), wantField: FieldSecret},
		{name: "JSON null", raw: []byte(`null`), wantField: FieldSecret},
		{name: "trailing garbage", raw: []byte(`{"password":"` + testPassword + `"} x`), wantField: FieldSecret},
		{name: "invalid UTF-8", raw: []byte("{\"password\":\"\xff" + testPassword + "\"}"), wantField: FieldSecret},
		{name: "missing host", tweak: func(m map[string]any) { delete(m, "host") }, wantField: "host"},
		{name: "empty host", tweak: func(m map[string]any) { m["host"] = "" }, wantField: "host"},
		{name: "host with space", tweak: func(m map[string]any) { m["host"] = "db example" }, wantField: "host"},
		{name: "host not a string", tweak: func(m map[string]any) { m["host"] = 12 }, wantField: "host"},
		{name: "missing username", tweak: func(m map[string]any) { delete(m, "username") }, wantField: "username"},
		{name: "empty username", tweak: func(m map[string]any) { m["username"] = "" }, wantField: "username"},
		{name: "username with NUL", tweak: func(m map[string]any) { m["username"] = "app\x00x" }, wantField: "username"},
		{name: "username too long", tweak: func(m map[string]any) { m["username"] = strings.Repeat("u", 64) }, wantField: "username"},
		{name: "username too long for its clone", tweak: func(m map[string]any) { m["username"] = strings.Repeat("u", 58) }, wantField: "username"},
		{name: "username is only the suffix", tweak: func(m map[string]any) { m["username"] = "_clone" }, wantField: "username"},
		{name: "missing password", tweak: func(m map[string]any) { delete(m, "password") }, wantField: "password"},
		{name: "null password", tweak: func(m map[string]any) { m["password"] = nil }, wantField: "password"},
		{name: "empty password", tweak: func(m map[string]any) { m["password"] = "" }, wantField: "password"},
		{name: "password not a string", tweak: func(m map[string]any) { m["password"] = 123456 }, wantField: "password"},
		{name: "password with NUL", tweak: func(m map[string]any) { m["password"] = testPassword + "\x00" }, wantField: "password"},
		{name: "missing masterarn", tweak: func(m map[string]any) { delete(m, "masterarn") }, wantField: "masterarn"},
		{name: "empty masterarn", tweak: func(m map[string]any) { m["masterarn"] = "" }, wantField: "masterarn"},
		{name: "wrong engine", tweak: func(m map[string]any) { m["engine"] = "mysql" }, wantField: "engine"},
		{name: "engine is the password", tweak: func(m map[string]any) { m["engine"] = testPassword }, wantField: "engine"},
		{name: "port 0", tweak: func(m map[string]any) { m["port"] = 0 }, wantField: "port"},
		{name: "port 70000", tweak: func(m map[string]any) { m["port"] = 70000 }, wantField: "port"},
		{name: "port abc", tweak: func(m map[string]any) { m["port"] = "abc" }, wantField: "port"},
		{name: "port fraction", tweak: func(m map[string]any) { m["port"] = 5432.5 }, wantField: "port"},
		{name: "port negative", tweak: func(m map[string]any) { m["port"] = -1 }, wantField: "port"},
		{name: "port bool", tweak: func(m map[string]any) { m["port"] = true }, wantField: "port"},
		{name: "ssl maybe", tweak: func(m map[string]any) { m["ssl"] = "maybe" }, wantField: "ssl"},
		{name: "ssl number", tweak: func(m map[string]any) { m["ssl"] = 1 }, wantField: "ssl"},
		{name: "dbname not a string", tweak: func(m map[string]any) { m["dbname"] = []any{} }, wantField: "dbname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw
			if raw == nil {
				m := baseline()
				tt.tweak(m)
				raw = encode(t, m)
			}
			rules := pgRules
			if tt.rules != nil {
				tt.rules(&rules)
			}
			_, err := Parse(raw, rules)
			var ie *rotators.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want *rotators.InputError, got %T %v", err, err)
			}
			if ie.Field != tt.wantField {
				t.Errorf("want field %q, got %q (%v)", tt.wantField, ie.Field, err)
			}
			if ie.Secret != "current" {
				t.Errorf("want secret %q, got %q", "current", ie.Secret)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("want an error without the password, got %q", err)
			}
		})
	}
}

func TestWithCredentialsKeepsFields(t *testing.T) {
	raw := []byte(`{"engine":"postgres","host":"db","port":"5432","username":"app","password":"old",
		"masterarn":"arn:m","extra": {"html": "<b>&</b>", "n": 1.50e3, "list": [1, "two", null]},"ssl":"true"}`)
	s, err := Parse(raw, pgRules)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.WithCredentials("app_clone", `new"pw\`)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"engine":    `"postgres"`,
		"host":      `"db"`,
		"port":      `"5432"`,
		"username":  `"app_clone"`,
		"password":  `"new\"pw\\"`,
		"masterarn": `"arn:m"`,
		"extra":     `{"html":"<b>&</b>","n":1.50e3,"list":[1,"two",null]}`,
		"ssl":       `"true"`,
	}
	if len(got) != len(want) {
		t.Errorf("want %d fields, got %d: %s", len(want), len(got), out)
	}
	for k, w := range want {
		if string(got[k]) != w {
			t.Errorf("field %s: want %s, got %s", k, w, got[k])
		}
	}
	// The original is untouched.
	if s.Username != "app" || s.Password != "old" {
		t.Errorf("want the parsed secret unchanged, got username %q", s.Username)
	}
}

func TestAlternate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"app", "app_clone"},
		{"app_clone", "app"},
		{"app_clone_clone", "app_clone"},
		{"clone", "clone_clone"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Alternate(tt.in, "_clone"); got != tt.want {
				t.Errorf("want %q, got %q", tt.want, got)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"engine":"postgres","host":"db.example.com","port":5432,"username":"app","password":"hunter2hunter2","dbname":"app","masterarn":"arn:aws:secretsmanager:us-east-1:1:secret:m","ssl":true}`))
	f.Add([]byte(`{"engine":"postgres","host":"h","port":"5432","username":"app_clone","password":"pw","masterarn":"m","ssl":"false","own":{"x":[1,2]}}`))
	f.Add([]byte(`{"host":"h","username":"u","password":"p","masterarn":"m","port":null,"ssl":null}`))
	f.Add([]byte(`{"engine":"mysql","host":"h","username":"u","password":"p","masterarn":"m"}`))
	f.Add([]byte(`{"host":"h","username":"u","password":"p","masterarn":"m","port":70000}`))
	f.Add([]byte(`{"host":"h","username":"_clone","password":"p","masterarn":"m"}`))
	f.Add([]byte(`{"host":"h","username":"u\u0000","password":"p","masterarn":"m"}`))
	f.Add([]byte(`{"host":"","username":"u","password":"p"}`))
	f.Add([]byte(`["not","an","object"]`))
	f.Add([]byte(`not json at all`))
	f.Add([]byte(`{"host":"h","username":"u","password":"p","masterarn":"m","ssl":"maybe"}`))
	f.Add([]byte(`{"host":"h","username":"u","password":"p","masterarn":"m","port":"abc"}`))
	f.Add([]byte("{\"host\":\"h\",\"username\":\"\xff\",\"password\":\"p\",\"masterarn\":\"m\"}"))

	// Regression: the username `"p` is a prefix of the quoted field name
	// `"password"` in the fixed text of the error (the password is empty);
	// the old oracle, which looked for the value anywhere in the error,
	// reported a leak that was not one.
	f.Add([]byte(`{"host":"h","username":"\"p","password":"","masterarn":"m"}`))
	f.Add([]byte(`{"host":"h","username":"invalid current secret: field ","password":"","masterarn":"m"}`))

	oracle := newLeakOracle(parser{rules: pgRules})
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := Parse(raw, pgRules)
		if err != nil {
			if msg := oracle.check(err); msg != "" {
				t.Fatal(msg)
			}
			return
		}
		out, err := s.WithCredentials(s.Username, s.Password)
		if err != nil {
			t.Fatalf("want no error writing, got %v", err)
		}
		again, err := Parse(out, pgRules)
		if err != nil {
			t.Fatalf("want the written secret to parse, got %v", err)
		}
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("want a round trip, got\n%+v\n%+v", s, again)
		}
		if !maps.EqualFunc(s.fields, again.fields, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Fatalf("want every field kept, got %s", out)
		}
	})
}

// leakOracle decides whether a Parse error can hold a value of the secret.
// Every part of a sound error comes from a fixed set that does not depend on
// the input: the secret's name from the rules, a field name the parser
// knows, a reason the parser knows, joined by [rotators.InputError.Error].
// An error that is exactly such a text holds no value, whatever substring
// of the input it happens to contain (a username `"p` is in `"password"`);
// an error that is anything else is a defect, whether or not the fuzzer's
// value shows in it. So a failure always means a real defect, and a real
// leak always fails.
type leakOracle struct {
	secret  string
	fields  map[string]bool
	reasons map[string]bool
}

func newLeakOracle(p parser) leakOracle {
	o := leakOracle{secret: p.rules.Secret, fields: map[string]bool{}, reasons: map[string]bool{}}
	for _, f := range []string{FieldSecret, FieldEngine, FieldHost, FieldPort, FieldUsername, FieldPassword, FieldDBName, FieldMasterARN, FieldSSL} {
		o.fields[f] = true
	}
	for _, r := range p.reasons() {
		o.reasons[r] = true
	}
	return o
}

// check returns "" for an error made of fixed parts only, else what is
// wrong with it.
func (o leakOracle) check(err error) string {
	var ie *rotators.InputError
	if !errors.As(err, &ie) {
		return fmt.Sprintf("want *rotators.InputError, got %T", err)
	}
	switch {
	case ie.Secret != o.secret:
		return fmt.Sprintf("want the secret named %q, got %q", o.secret, ie.Secret)
	case !o.fields[ie.Field]:
		return fmt.Sprintf("want a known field, got %q", ie.Field)
	case !o.reasons[ie.Reason]:
		return fmt.Sprintf("want a known reason, got %q", ie.Reason)
	}
	fixed := (&rotators.InputError{Secret: o.secret, Field: ie.Field, Reason: ie.Reason}).Error()
	if err.Error() != fixed {
		return fmt.Sprintf("want the error to be its fixed text %q, got %q", fixed, err.Error())
	}
	return ""
}

func TestLeakOracle(t *testing.T) {
	o := newLeakOracle(parser{rules: pgRules})
	tests := []struct {
		name string
		err  error
		want string // "" when the error is sound; else a part of the complaint
	}{
		{"fixed text", &rotators.InputError{Secret: "current", Field: FieldPassword, Reason: reasonEmpty}, ""},
		{"value in the reason", &rotators.InputError{Secret: "current", Field: FieldPassword, Reason: "is not " + testPassword}, "known reason"},
		{"value as the field", &rotators.InputError{Secret: "current", Field: testPassword, Reason: reasonEmpty}, "known field"},
		{"other secret name", &rotators.InputError{Secret: testPassword, Field: FieldPassword, Reason: reasonEmpty}, "secret named"},
		{"value wrapped around", fmt.Errorf("%s: %w", testPassword, &rotators.InputError{Secret: "current", Field: FieldPassword, Reason: reasonEmpty}), "fixed text"},
		{"not an InputError", errors.New(reasonEmpty), "InputError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := o.check(tt.err)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("want a complaint containing %q, got %q", tt.want, got)
			}
		})
	}
}
