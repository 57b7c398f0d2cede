package password

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Character classes, as GetRandomPassword defines them.
const (
	Lowercase   = "abcdefghijklmnopqrstuvwxyz"
	Uppercase   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	Digits      = "0123456789"
	Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	Space       = " "
	// Printable is every printable ASCII character but the space.
	Printable = Lowercase + Uppercase + Digits + Punctuation
)

// Classes lists the character classes in GetRandomPassword's order.
var Classes = []string{Lowercase, Uppercase, Digits, Punctuation, Space}

// MaxLength is GetRandomPassword's upper bound on PasswordLength.
const MaxLength = 4096

// Spec says what password to generate.
type Spec struct {
	// Length of the password, 1 to [MaxLength].
	Length int
	// Allowed lists the characters the password may hold.
	Allowed string
	// RequireEachClass asks for at least one character of every class of
	// [Classes] that Allowed has a character of.
	RequireEachClass bool
}

// ErrSpec is matched by every error about a [Spec].
var ErrSpec = errors.New("invalid password spec")

// Generate returns a random password for the spec.
func Generate(spec Spec) (string, error) {
	if spec.Length < 1 || spec.Length > MaxLength {
		return "", fmt.Errorf("%w: length %d is not between 1 and %d", ErrSpec, spec.Length, MaxLength)
	}
	allowed := unique(spec.Allowed)
	if allowed == "" {
		return "", fmt.Errorf("%w: no character is allowed", ErrSpec)
	}
	var required []string
	if spec.RequireEachClass {
		for _, class := range Classes {
			if in := Intersect(class, allowed); in != "" {
				required = append(required, in)
			}
		}
		if len(required) > spec.Length {
			return "", fmt.Errorf("%w: length %d is shorter than the %d character classes required", ErrSpec, spec.Length, len(required))
		}
	}
	out := make([]byte, spec.Length)
	for i := range out {
		set := allowed
		if i < len(required) {
			set = required[i]
		}
		c, err := pick(set)
		if err != nil {
			return "", err
		}
		out[i] = c
	}
	// The required characters sit at the front; shuffle them in.
	for i := len(out) - 1; i > 0; i-- {
		j, err := randInt(i + 1)
		if err != nil {
			return "", err
		}
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

// Without returns the characters of set that are not in exclude.
func Without(set, exclude string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(exclude, r) {
			return -1
		}
		return r
	}, set)
}

// Intersect returns the characters of a that are also in b.
func Intersect(a, b string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(b, r) {
			return r
		}
		return -1
	}, a)
}

func unique(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			continue // only printable ASCII; anything else is not a password character here
		}
		if !strings.ContainsRune(b.String(), r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func pick(set string) (byte, error) {
	i, err := randInt(len(set))
	if err != nil {
		return 0, err
	}
	return set[i], nil
}

func randInt(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("read random: %w", err)
	}
	return int(v.Int64()), nil
}
