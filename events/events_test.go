package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rotorhq/rotor/events"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(events.JSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("rotation-event.v1.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("rotation-event.v1.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fixtures(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// Every fixture parses, passes the JSON Schema, and round-trips through the
// Go type without losing or adding a field.
func TestFixtures(t *testing.T) {
	schema := compileSchema(t)
	seen := map[events.DetailType]bool{}
	for name, body := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			ev, err := events.Parse(body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			seen[ev.DetailType] = true
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Fatalf("JSON Schema: %v", err)
			}
			var raw struct {
				Detail json.RawMessage `json:"detail"`
			}
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(ev.Detail)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			_ = json.Unmarshal(raw.Detail, &want)
			_ = json.Unmarshal(again, &got)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round trip:\nwant %s\ngot  %s", raw.Detail, again)
			}
		})
	}
	for _, dt := range events.DetailTypes {
		if !seen[dt] {
			t.Errorf("no fixture for %q", dt)
		}
	}
}

// The Go type and the JSON Schema describe the same fields.
func TestSchemaMatchesGoType(t *testing.T) {
	var doc struct {
		Defs struct {
			Detail struct {
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"detail"`
			DetailType struct {
				Enum []string `json:"enum"`
			} `json:"detailType"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(events.JSONSchema, &doc); err != nil {
		t.Fatal(err)
	}
	var goFields, goRequired []string
	typ := reflect.TypeFor[events.Detail]()
	for i := range typ.NumField() {
		tag := typ.Field(i).Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		goFields = append(goFields, name)
		if opts != "omitempty" {
			goRequired = append(goRequired, name)
		}
	}
	var schemaFields []string
	for k := range doc.Defs.Detail.Properties {
		schemaFields = append(schemaFields, k)
	}
	for _, l := range [][]string{goFields, goRequired, schemaFields, doc.Defs.Detail.Required} {
		sort.Strings(l)
	}
	if !slices.Equal(goFields, schemaFields) {
		t.Errorf("detail fields: want (schema) %v, got (Go) %v", schemaFields, goFields)
	}
	if !slices.Equal(goRequired, doc.Defs.Detail.Required) {
		t.Errorf("required fields: want (schema) %v, got (Go, not omitempty) %v", doc.Defs.Detail.Required, goRequired)
	}
	var types []string
	for _, dt := range events.DetailTypes {
		types = append(types, string(dt))
	}
	if !slices.Equal(types, doc.Defs.DetailType.Enum) {
		t.Errorf("detail types: want (schema) %v, got (Go) %v", doc.Defs.DetailType.Enum, types)
	}
}

// Bad events are refused with an error that names the field; each case
// tweaks one valid baseline.
func TestParseRefuses(t *testing.T) {
	baseline := fixtures(t)["rotation-completed.json"]
	schema := compileSchema(t)
	tweak := func(f func(ev, d map[string]any)) []byte {
		var ev map[string]any
		if err := json.Unmarshal(baseline, &ev); err != nil {
			t.Fatal(err)
		}
		f(ev, ev["detail"].(map[string]any))
		b, _ := json.Marshal(ev)
		return b
	}
	cases := []struct {
		name  string
		body  []byte
		field string
	}{
		{"unknown detail type", tweak(func(ev, _ map[string]any) { ev["detail-type"] = "Rotation Exploded" }), "detail-type"},
		{"no schema version", tweak(func(_, d map[string]any) { delete(d, "schemaVersion") }), "schemaVersion"},
		{"newer schema version", tweak(func(_, d map[string]any) { d["schemaVersion"] = 2 }), "schemaVersion"},
		{"arn is a name", tweak(func(_, d map[string]any) { d["secretArn"] = "prod/orders/db" }), "secretArn"},
		{"no secret name", tweak(func(_, d map[string]any) { delete(d, "secretName") }), "secretName"},
		{"no version", tweak(func(_, d map[string]any) { delete(d, "versionId") }), "versionId"},
		{"no outcome", tweak(func(_, d map[string]any) { delete(d, "outcome") }), "outcome"},
		{"no time", tweak(func(_, d map[string]any) { delete(d, "time") }), "time"},
		{"wrong phase", tweak(func(_, d map[string]any) { d["phase"] = "prepare" }), "phase"},
		{"unknown error class", tweak(func(_, d map[string]any) { d["errorClass"] = "oops" }), "errorClass"},
		{"ack without consumer", tweak(func(ev, d map[string]any) { ev["detail-type"] = "Consumer Acknowledged"; d["phase"] = "acknowledge" }), "consumer"},
		{"ack without instance", tweak(func(ev, d map[string]any) {
			ev["detail-type"], ev["source"], d["phase"], d["consumer"] = "Consumer Acknowledged", "rotor.consumer.orders-api", "acknowledge", "orders-api"
		}), "instance"},
		{"ack with a bad instance", tweak(func(ev, d map[string]any) {
			ev["detail-type"], ev["source"], d["phase"], d["consumer"], d["instance"] = "Consumer Acknowledged", "rotor.consumer.orders-api", "acknowledge", "orders-api", "pod 1"
		}), "instance"},
		{"a consumer's source on another detail type", tweak(func(ev, _ map[string]any) { ev["source"] = "rotor.consumer.orders-api" }), "source"},
		{"failure without class", tweak(func(ev, d map[string]any) { ev["detail-type"] = "Rotation Failed"; d["outcome"] = "failed" }), "errorClass"},
		{"detail not an object", tweak(func(ev, _ map[string]any) { ev["detail"] = "x" }), "detail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := events.Parse(c.body)
			var ve *events.ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field {
				t.Fatalf("want a ValidationError on %q, got %v", c.field, err)
			}
			inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(c.body))
			if schema.Validate(inst) == nil {
				// The Go check and the schema refuse the same events.
				t.Errorf("the JSON Schema accepts what Parse refuses")
			}
		})
	}
	t.Run("other source", func(t *testing.T) {
		body := tweak(func(ev, _ map[string]any) { ev["source"] = "aws.secretsmanager" })
		if _, err := events.Parse(body); !errors.Is(err, events.ErrNotRotorEvent) {
			t.Fatalf("want ErrNotRotorEvent, got %v", err)
		}
	})
}

// A consumer's source is "rotor.consumer.<name>", and Parse keeps it.
func TestConsumerSource(t *testing.T) {
	if got := events.ConsumerSource("orders-api"); got != "rotor.consumer.orders-api" {
		t.Errorf("want rotor.consumer.orders-api, got %q", got)
	}
	for _, src := range []string{"rotor", "rotor.consumer.", "rotor.consumerx", "other.consumer.a"} {
		if name, ok := events.ConsumerOfSource(src); ok {
			t.Errorf("%q: want no consumer, got %q", src, name)
		}
	}
	if name, ok := events.ConsumerOfSource("rotor.consumer.team/orders:eu"); !ok || name != "team/orders:eu" {
		t.Errorf("want team/orders:eu, got %q (%v)", name, ok)
	}
	ev, err := events.Parse(fixtures(t)["consumer-acknowledged.json"])
	if err != nil {
		t.Fatal(err)
	}
	if ev.Source != events.ConsumerSource(ev.Detail.Consumer) || ev.EventSource() != ev.Source || ev.Detail.Instance == "" {
		t.Errorf("want source %q and an instance, got %q, %q", events.ConsumerSource(ev.Detail.Consumer), ev.Source, ev.Detail.Instance)
	}
	if (&events.Event{}).EventSource() != events.Source {
		t.Errorf("want an event without a source to be rotor's")
	}
}

func TestFingerprint(t *testing.T) {
	key := bytes.Repeat([]byte{7}, events.MinFingerprintKeyLen)
	f, err := events.NewFingerprinter(key)
	if err != nil {
		t.Fatal(err)
	}
	value := []byte(`{"username":"app","password":"s3cr3t-Value"}`)
	fp := f.Fingerprint(value)
	if fp != f.Fingerprint(value) {
		t.Errorf("not stable")
	}
	if !strings.HasPrefix(fp, events.FingerprintPrefix) || len(fp) != len(events.FingerprintPrefix)+64 {
		t.Errorf("want %s + 64 hex digits, got %q", events.FingerprintPrefix, fp)
	}
	if strings.Contains(fp, "s3cr3t") || !f.Matches(fp, value) || f.Matches(fp, []byte("other")) {
		t.Errorf("Matches wrong for %q", fp)
	}
	other, _ := events.NewFingerprinter(bytes.Repeat([]byte{8}, events.MinFingerprintKeyLen))
	if other.Fingerprint(value) == fp {
		t.Errorf("two keys give the same fingerprint")
	}
	if _, err := events.NewFingerprinter(key[:31]); err == nil {
		t.Errorf("want a short key refused")
	}
}

// infra/rotor/events.go repeats the names (infra imports only the CDK);
// this keeps the two in step.
func TestInfraMirror(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../infra/rotor/events.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			v, _ := strconv.Unquote(lit.Value)
			consts[vs.Names[0].Name] = v
		}
		return true
	})
	var infraTypes []string
	for name, v := range consts {
		if strings.HasPrefix(name, "Detail") && name != "DetailCloudTrailService" && name != "DetailComplianceChange" {
			infraTypes = append(infraTypes, v)
		}
	}
	var types []string
	for _, dt := range events.DetailTypes {
		types = append(types, string(dt))
	}
	sort.Strings(infraTypes)
	sort.Strings(types)
	if !slices.Equal(types, infraTypes) {
		t.Errorf("detail types: want (events) %v, got (infra) %v", types, infraTypes)
	}
	if consts["EventSource"] != events.Source {
		t.Errorf("source: want %q, got %q", events.Source, consts["EventSource"])
	}
	if consts["ConsumerSourcePrefix"] != events.ConsumerSourcePrefix {
		t.Errorf("consumer source prefix: want %q, got %q", events.ConsumerSourcePrefix, consts["ConsumerSourcePrefix"])
	}
	fields := map[string]bool{}
	typ := reflect.TypeFor[events.Detail]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	for name, v := range consts {
		if strings.HasPrefix(name, "Field") && !fields[v] {
			t.Errorf("infra's %s = %q is not a detail field", name, v)
		}
	}
}
