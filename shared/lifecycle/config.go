package lifecycle

import (
	"fmt"
	"strconv"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/password"
)

// PasswordSource says where new passwords come from.
type PasswordSource string

const (
	// PasswordLocal generates passwords in the function with crypto/rand.
	PasswordLocal PasswordSource = "local"
	// PasswordFromStore asks the store (GetRandomPassword).
	PasswordFromStore PasswordSource = "secretsmanager"
)

// DefaultExcludeCharacters are the characters that break connection strings
// and shells, as AWS's rotation functions exclude by default, plus white space.
const DefaultExcludeCharacters = "/@\"'\\ \t\r\n\v\f"

// DefaultPasswordLength is the length of new passwords unless configured.
const DefaultPasswordLength = 32

// Config tunes password generation. Start from [DefaultConfig].
type Config struct {
	PasswordLength          int
	ExcludeCharacters       string
	PasswordSource          PasswordSource
	RequireEachIncludedType bool
}

// DefaultConfig is the configuration of an unconfigured function.
func DefaultConfig() Config {
	return Config{
		PasswordLength:          DefaultPasswordLength,
		ExcludeCharacters:       DefaultExcludeCharacters,
		PasswordSource:          PasswordLocal,
		RequireEachIncludedType: true,
	}
}

// check validates what needs no rotator.
func (c Config) check() error {
	switch {
	case c.PasswordLength < 1 || c.PasswordLength > password.MaxLength:
		return fmt.Errorf("PASSWORD_LENGTH: %d is not between 1 and %d", c.PasswordLength, password.MaxLength)
	case c.PasswordSource != PasswordLocal && c.PasswordSource != PasswordFromStore:
		return fmt.Errorf("PASSWORD_SOURCE: %q is not %q or %q", c.PasswordSource, PasswordLocal, PasswordFromStore)
	}
	return nil
}

// validate checks the configuration against what the rotator's target
// accepts; allowed is the password characters left after the exclusions.
func (c Config) validate(info rotators.Info, allowed string) error {
	if err := c.check(); err != nil {
		return err
	}
	switch {
	case info.MaxPasswordLength > 0 && c.PasswordLength > info.MaxPasswordLength:
		return fmt.Errorf("PASSWORD_LENGTH: %d is longer than %s accepts (%d)", c.PasswordLength, info.Type, info.MaxPasswordLength)
	case allowed == "":
		return fmt.Errorf("EXCLUDE_CHARACTERS: excludes every character %s accepts", info.Type)
	}
	return nil
}

// ConfigFromEnv reads the configuration from the variables AWS's rotation
// functions use: PASSWORD_LENGTH, EXCLUDE_CHARACTERS (set but empty means
// exclude nothing), REQUIRE_EACH_INCLUDED_TYPE and PASSWORD_SOURCE. An
// error names the variable.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	c := DefaultConfig()
	if v, ok := lookup("PASSWORD_LENGTH"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("PASSWORD_LENGTH: %q is not a whole number", v)
		}
		c.PasswordLength = n
	}
	if v, ok := lookup("EXCLUDE_CHARACTERS"); ok {
		c.ExcludeCharacters = v
	}
	if v, ok := lookup("REQUIRE_EACH_INCLUDED_TYPE"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("REQUIRE_EACH_INCLUDED_TYPE: %q is not true or false", v)
		}
		c.RequireEachIncludedType = b
	}
	if v, ok := lookup("PASSWORD_SOURCE"); ok && v != "" {
		c.PasswordSource = PasswordSource(v)
	}
	return c, c.check()
}
