package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of rotor's own metrics.
const Namespace = "Rotor"

// Unit is a CloudWatch unit.
type Unit string

// Units rotor uses.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Emitter writes metrics as EMF lines. The zero value is unusable; use
// [New]. It is safe for concurrent use.
type Emitter struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// New writes EMF lines to w (Lambda: standard output) under namespace.
func New(w io.Writer, namespace string) *Emitter {
	return &Emitter{w: w, namespace: namespace, now: time.Now}
}

// Discard is an emitter that writes nothing.
func Discard() *Emitter { return New(io.Discard, Namespace) }

// Emit writes one observation of a metric with its dimensions.
func (e *Emitter) Emit(name string, value float64, unit Unit, dims map[string]string) error {
	if e == nil {
		return nil
	}
	keys := slices.Sorted(maps.Keys(dims))
	doc := map[string]any{
		"_aws": map[string]any{
			"Timestamp": e.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  e.namespace,
				"Dimensions": [][]string{keys},
				"Metrics":    []any{map[string]any{"Name": name, "Unit": string(unit)}},
			}},
		},
		name: value,
	}
	for k, v := range dims {
		if k == name || k == "_aws" {
			return fmt.Errorf("metrics: dimension %q collides with a reserved key", k)
		}
		doc[k] = v
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = e.w.Write(append(line, '\n'))
	return err
}
