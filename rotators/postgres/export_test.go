package postgres

import "context"

// SetHooks installs the test hooks of serialize.go until the test ends.
func SetHooks(set, deactivate func(ctx context.Context)) (restore func()) {
	setLockedHook, deactivateLockedHook = set, deactivate
	return func() { setLockedHook, deactivateLockedHook = nil, nil }
}

// LockNamespace is the first key of the pair's advisory lock.
const LockNamespace = lockNamespace
