package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestScrubberMasksRegisteredValues(t *testing.T) {
	const pw = `p"a\ss/w@rd`
	s := New()
	s.AddSecretJSON([]byte(`{"username":"app","password":"p\"a\\ss/w@rd","nested":{"api_key":"k-123456"},"host":"db"}`))
	cases := []struct {
		name, in, want string
	}{
		{"raw password", "login failed for " + pw, "login failed for " + Mask},
		{"json-escaped password", `body {"password":"p\"a\\ss/w@rd"}`, `body {"password":"` + Mask + `"}`},
		{"nested key", "key k-123456 rejected", "key " + Mask + " rejected"},
		{"non-secret fields stay", "user app on db", "user app on db"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := s.String(c.in); got != c.want {
				t.Errorf("want %q, got %q", c.want, got)
			}
		})
	}
}

var errBase = errors.New("base")

type typedErr struct{ msg string }

func (e *typedErr) Error() string { return e.msg }

func TestErrorKeepsTypeWhenClean(t *testing.T) {
	s := New()
	s.Add("hunter2-secret")
	clean := &typedErr{"nothing secret"}
	if got := s.Error(clean); got != error(clean) {
		t.Errorf("want the same error back, got %T", got)
	}
	dirty := fmt.Errorf("wrap: %w: password hunter2-secret", errBase)
	got := s.Error(dirty)
	if strings.Contains(got.Error(), "hunter2-secret") {
		t.Errorf("want the value masked, got %q", got)
	}
	if !errors.Is(got, errBase) {
		t.Errorf("want errors.Is to see through the mask, got false")
	}
	if s.Error(nil) != nil {
		t.Errorf("want nil for nil")
	}
}

func TestHandlerScrubsMessageAndAttrs(t *testing.T) {
	s := New()
	s.Add("topsecret-value")
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil), s)).With("pre", "topsecret-value")
	log.Info("saw topsecret-value", "err", errors.New("bad topsecret-value"),
		slog.Group("g", "inner", "topsecret-value"), "n", 3,
		"any", struct{ P string }{"topsecret-value"})
	out := buf.String()
	if strings.Contains(out, "topsecret-value") {
		t.Errorf("want no secret in %s", out)
	}
	if got := strings.Count(out, Mask); got != 5 {
		t.Errorf("want 5 masks, got %d in %s", got, out)
	}
	if !strings.Contains(out, `"n":3`) {
		t.Errorf("want non-string attrs kept, got %s", out)
	}
}
