package dbsecret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rotorhq/rotor/rotators"
)

// JSON field names of a database secret.
const (
	FieldEngine    = "engine"
	FieldHost      = "host"
	FieldPort      = "port"
	FieldUsername  = "username"
	FieldPassword  = "password"
	FieldDBName    = "dbname"
	FieldMasterARN = "masterarn"
	FieldSSL       = "ssl"
	// FieldSecret is the Field of an error about the secret as a whole (not
	// a JSON object, not UTF-8): Secrets Manager's name for the value.
	FieldSecret = "SecretString"
)

// Reasons given in errors. None of them carries a value from the secret.
const (
	reasonNotObject = "not a JSON object"
	reasonNotUTF8   = "not valid UTF-8"
	reasonMissing   = "missing"
	reasonNotString = "not a string"
	reasonEmpty     = "empty"
	reasonNUL       = "contains a NUL character"
	reasonBadHost   = "contains a space or a control character"
	reasonPort      = "not a port number from 1 to 65535"
	reasonSSL       = "neither true nor false"
	reasonNoBase    = "has nothing before the alternate-user suffix"
)

// Rules says what a valid secret is for one use.
type Rules struct {
	// Secret names the secret in errors ("current", "pending", "master").
	Secret string
	// Engines lists the accepted values of "engine". An absent engine is
	// accepted, as AWS's rotation functions accept it; a present one must be
	// in the list. Empty: any engine.
	Engines []string
	// DefaultPort is the port of a secret without "port".
	DefaultPort int
	// DefaultDBName is the database of a secret without "dbname".
	DefaultDBName string
	// RequireMasterARN refuses a secret without "masterarn" (alternating
	// users need the master secret).
	RequireMasterARN bool
	// MaxUsernameLength is the longest username in bytes; 0 means no limit.
	// PostgreSQL's is 63 (NAMEDATALEN-1).
	MaxUsernameLength int
	// CloneSuffix, when set, is the suffix of the alternate user ("_clone"):
	// the username with the suffix added (or taken off) must be a valid
	// username too.
	CloneSuffix string
}

// Secret is a parsed database secret.
type Secret struct {
	// Engine is "engine" as given; empty when the secret has none.
	Engine   string
	Host     string
	Port     int
	Username string
	Password string
	// DBName is "dbname", or Rules.DefaultDBName.
	DBName string
	// MasterARN is "masterarn"; empty when the secret has none.
	MasterARN string
	// SSL is false only when the secret says "ssl": false (or "false");
	// otherwise connections use TLS with full verification.
	SSL bool

	// fields holds every field as given (compacted), so that the pending
	// secret keeps the fields a user added.
	fields map[string]json.RawMessage
}

// Parse reads a database secret and checks it against rules. Its errors are
// [*rotators.InputError] values that name the field but never quote a value.
func Parse(raw []byte, rules Rules) (Secret, error) {
	p := parser{rules: rules}
	return p.parse(raw)
}

type parser struct {
	rules Rules
}

func (p parser) fail(field, reason string) error {
	return &rotators.InputError{Secret: p.rules.Secret, Field: field, Reason: reason}
}

func (p parser) parse(raw []byte) (Secret, error) {
	if !utf8.Valid(raw) {
		return Secret{}, p.fail(FieldSecret, reasonNotUTF8)
	}
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Secret{}, p.fail(FieldSecret, reasonNotObject)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Secret{}, p.fail(FieldSecret, reasonNotObject)
	}
	for k, v := range fields {
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return Secret{}, p.fail(FieldSecret, reasonNotObject)
		}
		fields[k] = buf.Bytes()
	}
	s := Secret{fields: fields, SSL: true}
	var err error

	if s.Engine, err = p.optionalString(fields, FieldEngine); err != nil {
		return Secret{}, err
	}
	if s.Engine != "" && len(p.rules.Engines) > 0 && !slices.Contains(p.rules.Engines, s.Engine) {
		return Secret{}, p.fail(FieldEngine, p.engineReason())
	}

	if s.Host, err = p.requiredString(fields, FieldHost); err != nil {
		return Secret{}, err
	}
	if strings.ContainsFunc(s.Host, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Secret{}, p.fail(FieldHost, reasonBadHost)
	}

	if s.Port, err = p.port(fields); err != nil {
		return Secret{}, err
	}

	if s.Username, err = p.requiredString(fields, FieldUsername); err != nil {
		return Secret{}, err
	}
	if err := p.checkUsername(s.Username); err != nil {
		return Secret{}, err
	}

	if s.Password, err = p.requiredString(fields, FieldPassword); err != nil {
		return Secret{}, err
	}
	if strings.ContainsRune(s.Password, 0) {
		return Secret{}, p.fail(FieldPassword, reasonNUL)
	}

	if s.DBName, err = p.optionalString(fields, FieldDBName); err != nil {
		return Secret{}, err
	}
	if strings.ContainsRune(s.DBName, 0) {
		return Secret{}, p.fail(FieldDBName, reasonNUL)
	}
	if s.DBName == "" {
		s.DBName = p.rules.DefaultDBName
	}

	if s.MasterARN, err = p.optionalString(fields, FieldMasterARN); err != nil {
		return Secret{}, err
	}
	if s.MasterARN == "" && p.rules.RequireMasterARN {
		return Secret{}, p.fail(FieldMasterARN, reasonMissing)
	}

	if s.SSL, err = p.ssl(fields); err != nil {
		return Secret{}, err
	}
	return s, nil
}

func (p parser) engineReason() string {
	return "not a supported engine; want " + strings.Join(p.rules.Engines, " or ")
}

func (p parser) tooLongReason() string {
	return fmt.Sprintf("longer than %d bytes", p.rules.MaxUsernameLength)
}

func (p parser) cloneTooLongReason() string {
	return fmt.Sprintf("too long: with the %q suffix it would be longer than %d bytes", p.rules.CloneSuffix, p.rules.MaxUsernameLength)
}

// reasons lists every reason p can give; the fuzz test uses it.
func (p parser) reasons() []string {
	return []string{
		reasonNotObject, reasonNotUTF8, reasonMissing, reasonNotString, reasonEmpty,
		reasonNUL, reasonBadHost, reasonPort, reasonSSL, reasonNoBase,
		p.engineReason(), p.tooLongReason(), p.cloneTooLongReason(),
	}
}

// value returns the field, treating JSON null as absent.
func value(fields map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	v, ok := fields[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

func (p parser) optionalString(fields map[string]json.RawMessage, name string) (string, error) {
	v, ok := value(fields, name)
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", p.fail(name, reasonNotString)
	}
	return s, nil
}

func (p parser) requiredString(fields map[string]json.RawMessage, name string) (string, error) {
	if _, ok := value(fields, name); !ok {
		return "", p.fail(name, reasonMissing)
	}
	s, err := p.optionalString(fields, name)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", p.fail(name, reasonEmpty)
	}
	return s, nil
}

func (p parser) port(fields map[string]json.RawMessage) (int, error) {
	v, ok := value(fields, FieldPort)
	if !ok {
		return p.rules.DefaultPort, nil
	}
	text := string(v)
	if v[0] == '"' {
		if err := json.Unmarshal(v, &text); err != nil {
			return 0, p.fail(FieldPort, reasonPort)
		}
	}
	if text == "" || len(text) > 5 || strings.ContainsFunc(text, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, p.fail(FieldPort, reasonPort)
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > 65535 {
		return 0, p.fail(FieldPort, reasonPort)
	}
	return n, nil
}

func (p parser) ssl(fields map[string]json.RawMessage) (bool, error) {
	v, ok := value(fields, FieldSSL)
	if !ok {
		return true, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		switch strings.ToLower(s) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, p.fail(FieldSSL, reasonSSL)
}

func (p parser) checkUsername(u string) error {
	if !utf8.ValidString(u) {
		return p.fail(FieldUsername, reasonNotUTF8)
	}
	if strings.ContainsRune(u, 0) {
		return p.fail(FieldUsername, reasonNUL)
	}
	limit := p.rules.MaxUsernameLength
	if limit > 0 && len(u) > limit {
		return p.fail(FieldUsername, p.tooLongReason())
	}
	if suffix := p.rules.CloneSuffix; suffix != "" {
		if strings.HasSuffix(u, suffix) {
			if len(u) == len(suffix) {
				return p.fail(FieldUsername, reasonNoBase)
			}
		} else if limit > 0 && len(u)+len(suffix) > limit {
			return p.fail(FieldUsername, p.cloneTooLongReason())
		}
	}
	return nil
}

// Alternate returns the other user of an alternating pair: "app" gives
// "app_clone" and "app_clone" gives "app" for the suffix "_clone".
func Alternate(username, suffix string) string {
	if base, ok := strings.CutSuffix(username, suffix); ok {
		return base
	}
	return username + suffix
}

// WithCredentials returns the secret's JSON with username and password
// replaced; every other field is kept as given (only insignificant
// whitespace and the order of fields may change).
func (s Secret) WithCredentials(username, password string) ([]byte, error) {
	fields := maps.Clone(s.fields)
	if fields == nil {
		fields = map[string]json.RawMessage{}
	}
	var err error
	if fields[FieldUsername], err = marshal(username); err != nil {
		return nil, err
	}
	if fields[FieldPassword], err = marshal(password); err != nil {
		return nil, err
	}
	return marshal(fields)
}

// Field returns a field of the secret as given (compacted), and whether the
// secret has it.
func (s Secret) Field(name string) (json.RawMessage, bool) {
	v, ok := s.fields[name]
	return bytes.Clone(v), ok
}

// marshal encodes v without escaping <, > and &, so that kept fields stay as
// the user wrote them.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("dbsecret: encode secret: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
