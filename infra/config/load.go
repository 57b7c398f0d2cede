package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
)

// Errors is every problem found in a file, each naming its field.
type Errors []*FieldError

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// FieldError is one problem, at Path (for example
// "environments[1].secrets[0].rotation.scheduleExpression").
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Load reads, decodes, validates and completes (defaults) the file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("environments file: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("environments file %s:\n%w", path, err)
	}
	return f, nil
}

// Parse decodes, validates and completes an environments file. The error, when
// not nil, is an [Errors].
func Parse(data []byte) (*File, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, Errors{{Msg: "not valid JSON: " + err.Error()}}
	}
	if dec.More() {
		return nil, Errors{{Msg: "not valid JSON: more than one value"}}
	}
	// Check the shape first, so that an unknown field or a wrong type is
	// reported with its full path (encoding/json reports neither).
	if errs := checkShape(raw, reflect.TypeFor[File](), ""); len(errs) > 0 {
		return nil, errs
	}
	var f File
	strict := json.NewDecoder(bytes.NewReader(data))
	strict.DisallowUnknownFields()
	if err := strict.Decode(&f); err != nil {
		// checkShape accepts only what decodes; this is a backstop.
		return nil, Errors{{Msg: err.Error()}}
	}
	if errs := f.validate(); len(errs) > 0 {
		return nil, errs
	}
	f.applyDefaults()
	return &f, nil
}

// checkShape walks the decoded JSON beside the Go type it must fill and
// reports unknown fields and values of the wrong JSON type, by path.
func checkShape(v any, t reflect.Type, path string) Errors {
	if v == nil {
		if t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			return nil
		}
		return Errors{{Path: path, Msg: "must not be null"}}
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return Errors{{Path: path, Msg: "want an object, got " + jsonKind(v)}}
		}
		fields := map[string]reflect.StructField{}
		for i := range t.NumField() {
			sf := t.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			fields[name] = sf
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var errs Errors
		for _, k := range keys {
			sf, ok := fields[k]
			if !ok {
				errs = append(errs, &FieldError{Path: join(path, k), Msg: "unknown field (known: " + knownFields(fields) + ")"})
				continue
			}
			errs = append(errs, checkShape(obj[k], sf.Type, join(path, k))...)
		}
		return errs
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return Errors{{Path: path, Msg: "want an array, got " + jsonKind(v)}}
		}
		var errs Errors
		for i, e := range arr {
			errs = append(errs, checkShape(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	case reflect.String:
		if _, ok := v.(string); !ok {
			return Errors{{Path: path, Msg: "want a string, got " + jsonKind(v)}}
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return Errors{{Path: path, Msg: "want true or false, got " + jsonKind(v)}}
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			return Errors{{Path: path, Msg: "want an integer, got " + jsonKind(v)}}
		}
		if _, err := n.Int64(); err != nil {
			return Errors{{Path: path, Msg: "want an integer, got " + n.String()}}
		}
	default:
		panic("config: no shape check for " + t.String())
	}
	return nil
}

func knownFields(fields map[string]reflect.StructField) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return "null"
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// AsErrors returns the field errors in err, if it holds any.
func AsErrors(err error) Errors {
	var errs Errors
	if errors.As(err, &errs) {
		return errs
	}
	return nil
}
