package events

import _ "embed"

// JSONSchema is the JSON Schema (draft 2020-12) of a rotor event as
// EventBridge delivers it, for consumers not written in Go.
//
//go:embed schema/rotation-event.v1.json
var JSONSchema []byte
