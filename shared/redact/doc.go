// Package redact keeps secret values out of errors and log lines by one
// mechanism instead of care at every call site: a [Scrubber] learns the
// values an invocation handles, and its [Scrubber.Error] and [NewHandler]
// replace them wherever they would leave the process. It is the same idea
// as the error-scrubbing middleware of Vault's database plugins.
package redact
