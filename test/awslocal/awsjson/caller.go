package awsjson

import (
	"context"
	"regexp"
	"strings"
)

// Caller is who sent a request, as the endpoint resolved it.
type Caller struct {
	AccessKeyID string
	AccountID   string
	Region      string
	RequestID   string
	// Host is the request's Host header: SQS builds queue URLs from it.
	Host string
}

type callerKey struct{}

// WithCaller returns ctx carrying c; services read it with [CallerFrom].
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller of the request being served, or a zero Caller.
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// Identity resolves a SigV4 request's access key to an account. The endpoint
// accepts any signature, as moto and LocalStack do: it cannot know the secret key.
type Identity struct {
	// DefaultAccount is used for access keys that neither Accounts nor the
	// twelve-digit convention resolves.
	DefaultAccount string
	// DefaultRegion is used when the request carries no credential scope.
	DefaultRegion string
	// Accounts maps access key ids to account ids.
	Accounts map[string]string
}

var (
	credentialScope = regexp.MustCompile(`Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request`)
	twelveDigits    = regexp.MustCompile(`^\d{12}$`)
)

// Resolve returns the caller named by an Authorization header value. An
// access key id of twelve digits is taken as the account id itself (the
// convention LocalStack uses), so tests reach a second account by changing
// only their credentials. ok is false when the header is not SigV4.
func (id Identity) Resolve(authorization string) (c Caller, ok bool) {
	m := credentialScope.FindStringSubmatch(authorization)
	if m == nil || !strings.HasPrefix(authorization, "AWS4-HMAC-SHA256") {
		return Caller{}, false
	}
	c = Caller{AccessKeyID: m[1], Region: m[2], AccountID: id.DefaultAccount}
	switch acct, known := id.Accounts[m[1]]; {
	case known:
		c.AccountID = acct
	case twelveDigits.MatchString(m[1]):
		c.AccountID = m[1]
	}
	if c.Region == "" {
		c.Region = id.DefaultRegion
	}
	return c, true
}
