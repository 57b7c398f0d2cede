package audit_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/events/audit"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 25, 10, 0, 2, 500, time.UTC) }

const fixedReceivedAt = `"receivedAt":"2026-11-25T10:00:02.0000005Z"`

// fixture returns an event of events/testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withID returns an envelope with its id replaced.
func withID(t testing.TB, body []byte, id string) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	env["id"] = id
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readLines returns the file's lines, failing on one that is not a JSON
// object.
func readLines(t testing.TB, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("want the file to end with a newline, got %q", data[max(0, len(data)-40):])
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("want every line a JSON object, got %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func openT(t testing.TB, path string, opts audit.Options) *audit.Writer {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	w, err := audit.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func appendT(t testing.TB, w *audit.Writer, m audit.Message) audit.Result {
	t.Helper()
	res, err := w.Append(m)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestLineIsTheEnvelopeAsReceived: each fixture's line is the envelope,
// compacted, byte for byte, with receivedAt added.
func TestLineIsTheEnvelopeAsReceived(t *testing.T) {
	names := []string{"rotation-started", "rotation-pending-set", "rotation-tested", "rotation-completed",
		"consumer-acknowledged", "credential-deactivated", "rotation-failed", "rotation-rolled-back"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			// A writer each: the fixtures share their id.
			var buf bytes.Buffer
			w := audit.New(&buf, audit.Options{Now: fixedNow})
			body := fixture(t, name)
			res := appendT(t, w, audit.Message{ID: "m-" + name, Body: body})
			if res.Invalid != "" || res.Duplicate {
				t.Fatalf("want a valid new event, got %+v", res)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, body); err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(compact.String(), "}") + "," + fixedReceivedAt + "}\n"
			if got := buf.String(); got != want {
				t.Fatalf("want the line\n%s\ngot\n%s", want, got)
			}
			var env struct{ ID string }
			json.Unmarshal(body, &env)
			if res.Key != env.ID {
				t.Fatalf("want the key %s, got %s", env.ID, res.Key)
			}
		})
	}
}

// smEvent is Secrets Manager's event as the local endpoint emits it.
const smEvent = `{"version":"0","id":"4b6f6d1a-0000-4000-8000-000000000001","detail-type":"AWS Service Event via CloudTrail",` +
	`"source":"aws.secretsmanager","account":"111122223333","time":"2026-11-25T10:00:00Z","region":"eu-west-1","resources":[],` +
	`"detail":{"eventName":"RotationSucceeded","additionalEventData":{"SecretId":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:x"}}}`

// TestInvalidEventsAreFlagged: from one valid baseline, each broken event is
// recorded all the same, flagged with the field that is wrong.
func TestInvalidEventsAreFlagged(t *testing.T) {
	baseline := func(t *testing.T) map[string]any {
		var env map[string]any
		if err := json.Unmarshal(fixture(t, "rotation-completed"), &env); err != nil {
			t.Fatal(err)
		}
		return env
	}
	detail := func(env map[string]any) map[string]any { return env["detail"].(map[string]any) }
	tests := []struct {
		name        string
		tweak       func(map[string]any)
		raw         string // instead of the baseline
		wantInvalid string // "" means valid
		wantWrapped bool   // recorded as a body
	}{
		{name: "valid"},
		{name: "secrets manager event", raw: smEvent},
		{name: "unknown detail type", tweak: func(e map[string]any) { e["detail-type"] = "Rotation Exploded" }, wantInvalid: `detail-type: unknown detail type "Rotation Exploded"`},
		{name: "no secret name", tweak: func(e map[string]any) { delete(detail(e), "secretName") }, wantInvalid: "secretName: missing"},
		{name: "wrong phase", tweak: func(e map[string]any) { detail(e)["phase"] = "prepare" }, wantInvalid: "phase: "},
		{name: "newer schema", tweak: func(e map[string]any) { detail(e)["schemaVersion"] = 2 }, wantInvalid: "schemaVersion: version 2 is newer"},
		{name: "detail of the wrong type", tweak: func(e map[string]any) { detail(e)["durationMs"] = "slow" }, wantInvalid: "detail: "},
		{name: "detail not an object", tweak: func(e map[string]any) { e["detail"] = "text" }, wantInvalid: "detail: not a JSON object"},
		{name: "no detail type", tweak: func(e map[string]any) { delete(e, "detail-type") }, wantInvalid: "detail-type: missing"},
		{name: "other source", tweak: func(e map[string]any) { e["source"] = "billing" }, wantInvalid: `source: want "rotor", "rotor.consumer.<consumer>" or "aws.secretsmanager", got "billing"`},
		{name: "no source", tweak: func(e map[string]any) { delete(e, "source") }, wantInvalid: "source: missing"},
		{name: "no id", tweak: func(e map[string]any) { delete(e, "id") }, wantInvalid: "id: missing", wantWrapped: true},
		{name: "id not a string", tweak: func(e map[string]any) { e["id"] = 7 }, wantInvalid: "envelope: ", wantWrapped: true},
		{name: "field the log adds", tweak: func(e map[string]any) { e["receivedAt"] = "yesterday" }, wantInvalid: "receivedAt: ", wantWrapped: true},
		{name: "not JSON", raw: "hello {", wantInvalid: "body: not a JSON object", wantWrapped: true},
		{name: "JSON array", raw: "[1,2]", wantInvalid: "body: not a JSON object", wantWrapped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.raw)
			if tt.raw == "" {
				env := baseline(t)
				if tt.tweak != nil {
					tt.tweak(env)
				}
				body, _ = json.Marshal(env)
			}
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			w := openT(t, path, audit.Options{})
			res := appendT(t, w, audit.Message{ID: "msg-1", Body: body})
			if !strings.HasPrefix(res.Invalid, tt.wantInvalid) || (tt.wantInvalid == "") != (res.Invalid == "") {
				t.Fatalf("want invalid %q, got %q", tt.wantInvalid, res.Invalid)
			}
			lines := readLines(t, path)
			if len(lines) != 1 {
				t.Fatalf("want the event recorded as one line, got %d", len(lines))
			}
			line := lines[0]
			if got, _ := line["invalid"].(string); got != res.Invalid {
				t.Fatalf("want the line flagged %q, got %q", res.Invalid, got)
			}
			if line["receivedAt"] != "2026-11-25T10:00:02.0000005Z" {
				t.Fatalf("want receivedAt on the line, got %v", line["receivedAt"])
			}
			if tt.wantWrapped {
				if line["body"] != string(body) || line["messageId"] != "msg-1" || res.Key != "sqs:msg-1" {
					t.Fatalf("want the body kept whole under its message id, got line %v, key %q", line, res.Key)
				}
				return
			}
			var sent map[string]any
			json.Unmarshal(body, &sent)
			for k, v := range sent {
				if fmt.Sprint(line[k]) != fmt.Sprint(v) {
					t.Fatalf("want %s as sent (%v), got %v", k, v, line[k])
				}
			}
		})
	}
}

// TestDedupeAcrossReopen: an id written before the writer was reopened is
// not written again; a new one is.
func TestDedupeAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	body := fixture(t, "rotation-started")
	w := openT(t, path, audit.Options{})
	for _, id := range []string{"a", "b"} {
		appendT(t, w, audit.Message{ID: "m-" + id, Body: withID(t, body, id)})
	}
	if res := appendT(t, w, audit.Message{ID: "m-a2", Body: withID(t, body, "a")}); !res.Duplicate {
		t.Fatalf("want a duplicate in the same run, got %+v", res)
	}
	appendT(t, w, audit.Message{ID: "garbage-1", Body: []byte("not json")})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w = openT(t, path, audit.Options{})
	for _, m := range []audit.Message{{ID: "m-a3", Body: withID(t, body, "a")}, {ID: "m-b2", Body: withID(t, body, "b")}, {ID: "garbage-1", Body: []byte("not json")}} {
		if res := appendT(t, w, m); !res.Duplicate {
			t.Fatalf("want %s deduplicated after the reopen, got %+v", res.Key, res)
		}
	}
	if res := appendT(t, w, audit.Message{ID: "m-c", Body: withID(t, body, "c")}); res.Duplicate {
		t.Fatalf("want a new id written, got %+v", res)
	}
	var ids []string
	for _, l := range readLines(t, path) {
		ids = append(ids, fmt.Sprint(l["id"]))
	}
	if got := strings.Join(ids, ","); got != "a,b,<nil>,c" {
		t.Fatalf("want the lines a,b,<nil>,c, got %s", got)
	}
}

// TestRecentIDsIsABound: past RecentIDs newer lines an id is forgotten, in
// memory and when reading the tail (the trade-off of the package doc); the
// tail is read across chunk boundaries.
func TestRecentIDsIsABound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	body := fixture(t, "rotation-tested")
	// Lines of about 5 KB, so that the tail spans several 64 KiB chunks.
	var env map[string]any
	json.Unmarshal(body, &env)
	env["detail"].(map[string]any)["consumer"] = strings.Repeat("c", 5000)
	big, _ := json.Marshal(env)
	const n = 60
	w := openT(t, path, audit.Options{RecentIDs: n})
	for i := range n {
		appendT(t, w, audit.Message{Body: withID(t, big, fmt.Sprint("id-", i))})
	}
	w.Close()

	w = openT(t, path, audit.Options{RecentIDs: n})
	for i := range n {
		if res := appendT(t, w, audit.Message{Body: withID(t, big, fmt.Sprint("id-", i))}); !res.Duplicate {
			t.Fatalf("want id-%d remembered from the tail, got %+v", i, res)
		}
	}
	w.Close()

	w = openT(t, path, audit.Options{RecentIDs: 2})
	if res := appendT(t, w, audit.Message{Body: withID(t, big, "id-58")}); !res.Duplicate {
		t.Fatalf("want id-58 (second to last) remembered, got %+v", res)
	}
	if res := appendT(t, w, audit.Message{Body: withID(t, big, "id-57")}); res.Duplicate {
		t.Fatalf("want id-57 forgotten with RecentIDs 2, got %+v", res)
	}
	// Remembered now: id-59 and id-57; id-58 was the oldest, so it went.
	if res := appendT(t, w, audit.Message{Body: withID(t, big, "id-59")}); !res.Duplicate {
		t.Fatalf("want id-59 still remembered, got %+v", res)
	}
	if res := appendT(t, w, audit.Message{Body: withID(t, big, "id-58")}); res.Duplicate {
		t.Fatalf("want id-58 forgotten once a newer id was written, got %+v", res)
	}
	if got := len(readLines(t, path)); got != n+2 {
		t.Fatalf("want %d lines, got %d", n+2, got)
	}
}

// TestTornLineIsCutAtOpen: a crash in the middle of a write leaves a line
// without its newline; Open cuts it off and the redelivered event is
// written whole.
func TestTornLineIsCutAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	body := fixture(t, "rotation-started")
	w := openT(t, path, audit.Options{})
	appendT(t, w, audit.Message{Body: withID(t, body, "whole")})
	w.Close()
	torn := withID(t, body, "torn")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(torn[:len(torn)/2])
	f.Close()

	w = openT(t, path, audit.Options{})
	if res := appendT(t, w, audit.Message{Body: torn}); res.Duplicate {
		t.Fatalf("want the torn event written again, got %+v", res)
	}
	lines := readLines(t, path)
	if len(lines) != 2 || lines[0]["id"] != "whole" || lines[1]["id"] != "torn" {
		t.Fatalf("want the lines whole and torn, got %v", lines)
	}
}

func TestOpenRefusesADirectory(t *testing.T) {
	if _, err := audit.Open(t.TempDir(), audit.Options{}); err == nil {
		t.Fatal("want an error opening a directory, got none")
	}
}

type failingWriter struct {
	writeErr, syncErr error
	writes            int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	f.writes++
	if f.writeErr != nil {
		return len(p) / 2, f.writeErr
	}
	return len(p), nil
}

func (f *failingWriter) Sync() error { return f.syncErr }

// TestFailureStopsTheWriter: after a failed write or fsync the writer
// refuses to go on (the file may be torn, or lines lost).
func TestFailureStopsTheWriter(t *testing.T) {
	body := fixture(t, "rotation-started")
	disk := errors.New("disk full")
	for _, tt := range []struct {
		name string
		out  *failingWriter
	}{
		{"write", &failingWriter{writeErr: disk}},
		{"fsync", &failingWriter{syncErr: disk}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := audit.New(tt.out, audit.Options{})
			_, err := w.Append(audit.Message{Body: withID(t, body, "1")})
			if err == nil {
				err = w.Sync()
			}
			if !errors.Is(err, disk) {
				t.Fatalf("want the %s error, got %v", tt.name, err)
			}
			writes := tt.out.writes
			if _, err := w.Append(audit.Message{Body: withID(t, body, "2")}); !errors.Is(err, audit.ErrFailed) || !errors.Is(err, disk) {
				t.Fatalf("want ErrFailed wrapping the cause, got %v", err)
			}
			if err := w.Sync(); !errors.Is(err, audit.ErrFailed) {
				t.Fatalf("want ErrFailed from Sync, got %v", err)
			}
			if tt.out.writes != writes {
				t.Fatalf("want no write after the failure, got %d more", tt.out.writes-writes)
			}
		})
	}
}

func TestClosedWriter(t *testing.T) {
	w := openT(t, filepath.Join(t.TempDir(), "audit.jsonl"), audit.Options{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(audit.Message{Body: fixture(t, "rotation-started")}); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("want ErrClosed, got %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("want a second Close to do nothing, got %v", err)
	}
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	openT(t, path, audit.Options{})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("want mode 0600, got %v", fi.Mode().Perm())
	}
}
