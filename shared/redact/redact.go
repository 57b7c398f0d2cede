package redact

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

// Mask replaces a secret value.
const Mask = "[REDACTED]"

// secretKeys are the JSON keys whose string values are secrets. Other
// fields (host, username, engine) are not secret and stay readable.
var secretKeys = []string{"password", "secret", "token", "key", "passphrase", "credential"}

// Scrubber holds the secret values of one invocation. The zero value is
// not usable; call [New].
type Scrubber struct {
	mu     sync.RWMutex
	values []string // longest first, so that a value inside another is masked whole
}

// New returns an empty Scrubber.
func New() *Scrubber { return &Scrubber{} }

// Add registers secret values. Empty values are ignored.
func (s *Scrubber) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if v == "" {
			continue
		}
		forms := []string{v}
		// A value quoted inside JSON (an error echoing a document) is escaped.
		if b, err := json.Marshal(v); err == nil {
			if esc := string(b[1 : len(b)-1]); esc != v {
				forms = append(forms, esc)
			}
		}
		for _, f := range forms {
			if !slices.Contains(s.values, f) {
				s.values = append(s.values, f)
			}
		}
	}
	slices.SortFunc(s.values, func(a, b string) int { return len(b) - len(a) })
}

// AddSecretJSON registers a secret value as stored: the whole document, and
// every string under a key that names a secret (password, key, token, ...),
// at any depth. A value that is not JSON is registered whole.
func (s *Scrubber) AddSecretJSON(raw []byte) {
	if len(raw) == 0 {
		return
	}
	s.Add(string(raw))
	var doc any
	if json.Unmarshal(raw, &doc) != nil {
		return
	}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, child := range t {
				walk(k, child)
			}
		case []any:
			for _, child := range t {
				walk(key, child)
			}
		case string:
			if isSecretKey(key) {
				s.Add(t)
			}
		}
	}
	walk("", doc)
}

func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, word := range secretKeys {
		if strings.Contains(k, word) {
			return true
		}
	}
	return false
}

// String returns text with every registered value masked.
func (s *Scrubber) String(text string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, v := range s.values {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Mask)
		}
	}
	return text
}

// Error returns err unchanged when its message holds no registered value,
// so that its type (which Lambda reports as errorType) survives; otherwise
// an [*Error] with the masked message.
func (s *Scrubber) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := s.String(msg); clean != msg {
		return &Error{msg: clean, err: err}
	}
	return err
}

// Error is an error whose message had secret values masked. It unwraps to
// the original error so that errors.Is and errors.As still work; code that
// prints the unwrapped error again is what this type exists to prevent.
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }
