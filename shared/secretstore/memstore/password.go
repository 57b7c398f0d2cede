package memstore

import (
	"context"
	"strings"

	"github.com/rotorhq/rotor/shared/password"
)

// DefaultPasswordLength is GetRandomPassword's PasswordLength when the
// request has none.
const DefaultPasswordLength = 32

// GetRandomPasswordInput is GetRandomPassword's request. Pointers are
// parameters with a default: nil means the default.
type GetRandomPasswordInput struct {
	// PasswordLength is 1 to 4096; nil means [DefaultPasswordLength].
	PasswordLength     *int
	ExcludeCharacters  string
	ExcludeNumbers     bool
	ExcludePunctuation bool
	ExcludeUppercase   bool
	ExcludeLowercase   bool
	IncludeSpace       bool
	// RequireEachIncludedType asks for one character at least of every
	// class left in; nil means true.
	RequireEachIncludedType *bool
}

// GetRandomPasswordOutput is GetRandomPassword's response.
type GetRandomPasswordOutput struct {
	RandomPassword string
}

// GetRandomPassword generates a random password with crypto/rand.
func (s *Store) GetRandomPassword(ctx context.Context, in GetRandomPasswordInput) (GetRandomPasswordOutput, error) {
	if err := ctx.Err(); err != nil {
		return GetRandomPasswordOutput{}, err
	}
	length := DefaultPasswordLength
	if in.PasswordLength != nil {
		length = *in.PasswordLength
	}
	if length < 1 || length > password.MaxLength {
		return GetRandomPasswordOutput{}, errValidation("Value '%d' at 'passwordLength' failed to satisfy constraint: Member must have value between 1 and %d", length, password.MaxLength)
	}
	if len(in.ExcludeCharacters) > 4096 {
		return GetRandomPasswordOutput{}, errValidation("Value at 'excludeCharacters' failed to satisfy constraint: Member must have length less than or equal to 4096")
	}
	require := in.RequireEachIncludedType == nil || *in.RequireEachIncludedType
	var classes []string
	for _, c := range []struct {
		chars   string
		include bool
	}{
		{password.Lowercase, !in.ExcludeLowercase},
		{password.Uppercase, !in.ExcludeUppercase},
		{password.Digits, !in.ExcludeNumbers},
		{password.Punctuation, !in.ExcludePunctuation},
		{password.Space, in.IncludeSpace},
	} {
		if left := password.Without(c.chars, in.ExcludeCharacters); c.include && left != "" {
			classes = append(classes, left)
		}
	}
	if len(classes) == 0 {
		return GetRandomPasswordOutput{}, errInvalidParameter("The password can't be generated: every character type is excluded.")
	}
	if require && len(classes) > length {
		return GetRandomPasswordOutput{}, errInvalidParameter(msgPasswordTooShort)
	}
	pw, err := password.Generate(password.Spec{Length: length, Allowed: strings.Join(classes, ""), RequireEachClass: require})
	if err != nil {
		return GetRandomPasswordOutput{}, &APIError{Code: CodeInternal, Message: "generate password: " + err.Error(), Err: err}
	}
	return GetRandomPasswordOutput{RandomPassword: pw}, nil
}
