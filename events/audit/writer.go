package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rotorhq/rotor/events"
)

// SecretsManagerSource is the EventBridge source of Secrets Manager's own
// events.
const SecretsManagerSource = "aws.secretsmanager"

// DefaultRecentIDs is how many event ids a [Writer] remembers by default.
const DefaultRecentIDs = 10_000

// Fields the writer adds to an envelope, and those of a message that is
// no envelope.
const (
	fieldReceivedAt = "receivedAt"
	fieldInvalid    = "invalid"
	fieldMessageID  = "messageId"
	fieldBody       = "body"
)

// Errors of a [Writer].
var (
	// ErrClosed: the writer was closed.
	ErrClosed = errors.New("audit: writer closed")
	// ErrFailed: a write or an fsync failed before; the file may end in a
	// torn line or lost lines, so the writer refuses to go on. Reopen it
	// ([Open] cuts a torn line off) once the cause is fixed.
	ErrFailed = errors.New("audit: an earlier write failed")
)

// Options configures a [Writer]. The zero value is usable.
type Options struct {
	// RecentIDs bounds the ids remembered to drop redeliveries (default
	// [DefaultRecentIDs]); see the package documentation.
	RecentIDs int
	// Now stamps receivedAt (default time.Now).
	Now func() time.Time
	// Logger reports repairs at Open (default: discard). It never logs a
	// line's content.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.RecentIDs <= 0 {
		o.RecentIDs = DefaultRecentIDs
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Message is one message as the queue delivered it.
type Message struct {
	// ID is the queue's message id: the key of a body that has no event id.
	ID   string
	Body []byte
}

// Result says what [Writer.Append] did with a message.
type Result struct {
	// Key is what the message is deduplicated by: the event's id, or
	// "sqs:" and the message id for a body that is no envelope with an id
	// ("" when it has no message id either: never deduplicated).
	Key string
	// Duplicate: a line with this key was written already; nothing was
	// written now.
	Duplicate bool
	// Invalid is the "invalid" flag of the line ("" when valid).
	Invalid string
}

// Writer appends audit lines to a file or an io.Writer. It is safe for
// concurrent use.
type Writer struct {
	mu     sync.Mutex
	out    io.Writer
	file   *os.File
	opts   Options
	recent *recentSet
	failed error
	closed bool
}

// syncer is an io.Writer that can flush to stable storage.
type syncer interface{ Sync() error }

// New returns a writer that appends to w; it remembers only the ids it
// writes itself. Each line is a single w.Write call; [Writer.Sync] calls
// w.Sync when w has one.
func New(w io.Writer, opts Options) *Writer {
	opts = opts.withDefaults()
	return &Writer{out: w, opts: opts, recent: newRecentSet(opts.RecentIDs)}
}

// Open opens (creating it, mode 0600) the audit file at path for
// appending, cuts off a torn last line, and remembers the ids of the file's
// last [Options.RecentIDs] lines.
func Open(path string, opts Options) (*Writer, error) {
	opts = opts.withDefaults()
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	w := &Writer{out: f, file: f, opts: opts, recent: newRecentSet(opts.RecentIDs)}
	if err := w.load(created); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	if created {
		// The file's name must survive a crash as well as its lines.
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit: open %s: %w", path, err)
		}
	}
	return w, nil
}

// load repairs the file's end and reads the ids of its tail.
func (w *Writer) load(created bool) error {
	fi, err := w.file.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if created || size == 0 {
		return nil
	}
	whole, err := lastNewline(w.file, size)
	if err != nil {
		return err
	}
	if whole < size {
		// A write torn by a crash: never fsynced-and-acknowledged, so the
		// message is still on the queue and comes back.
		if err := w.file.Truncate(whole); err != nil {
			return fmt.Errorf("cut off a torn last line: %w", err)
		}
		if err := w.file.Sync(); err != nil {
			return err
		}
		w.opts.Logger.Warn("audit: cut off a torn last line", "file", w.file.Name(), "bytes", size-whole)
	}
	keys, err := tailKeys(w.file, whole, w.opts.RecentIDs)
	if err != nil {
		return err
	}
	for i := len(keys) - 1; i >= 0; i-- { // oldest first
		w.recent.add(keys[i])
	}
	return nil
}

// Append writes the message as one line, unless a line with its key was
// written already. The line is not durable until [Writer.Sync].
func (w *Writer) Append(m Message) (Result, error) {
	line, res := w.line(m)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return res, err
	}
	if res.Key != "" && w.recent.has(res.Key) {
		res.Duplicate = true
		return res, nil
	}
	if _, err := w.out.Write(line); err != nil {
		w.failed = err
		return res, fmt.Errorf("audit: write: %w", err)
	}
	if res.Key != "" {
		w.recent.add(res.Key)
	}
	return res, nil
}

// Sync flushes the lines written so far to stable storage (fsync).
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	s, ok := w.out.(syncer)
	if !ok {
		return nil
	}
	if err := s.Sync(); err != nil {
		// After a failed fsync the kernel may have dropped the dirty
		// pages: nothing written since the last good one can be trusted.
		w.failed = err
		return fmt.Errorf("audit: fsync: %w", err)
	}
	return nil
}

// Close syncs and closes the file (for [New], the io.Writer is left open).
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var err error
	if w.file != nil {
		if w.failed == nil {
			err = w.file.Sync()
		}
		err = errors.Join(err, w.file.Close())
	}
	return err
}

func (w *Writer) usable() error {
	switch {
	case w.closed:
		return ErrClosed
	case w.failed != nil:
		return fmt.Errorf("%w: %w", ErrFailed, w.failed)
	}
	return nil
}

// envelope is what the writer reads of an EventBridge envelope.
type envelope struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Detail     json.RawMessage `json:"detail"`
}

// line builds the line of a message.
func (w *Writer) line(m Message) ([]byte, Result) {
	receivedAt := strconv.Quote(w.opts.Now().UTC().Format(time.RFC3339Nano))
	var compact bytes.Buffer
	var fields map[string]json.RawMessage
	if json.Compact(&compact, m.Body) != nil || json.Unmarshal(compact.Bytes(), &fields) != nil || fields == nil {
		return w.wrapped(m, receivedAt, "body: not a JSON object")
	}
	for _, reserved := range []string{fieldReceivedAt, fieldInvalid} {
		if _, ok := fields[reserved]; ok {
			return w.wrapped(m, receivedAt, reserved+": the envelope has a field the audit log adds")
		}
	}
	var env envelope
	if err := json.Unmarshal(compact.Bytes(), &env); err != nil {
		return w.wrapped(m, receivedAt, "envelope: "+err.Error())
	}
	if env.ID == "" {
		// Nothing to deduplicate it by but the message id, which the
		// line must then carry: record it as a body.
		return w.wrapped(m, receivedAt, "id: missing")
	}
	res := Result{Key: env.ID, Invalid: check(env, compact.Bytes())}
	// The envelope as it came, then the writer's fields before its "}".
	b := compact.Bytes()
	line := make([]byte, 0, len(b)+len(receivedAt)+len(res.Invalid)+64)
	line = append(line, b[:len(b)-1]...)
	if len(fields) > 0 {
		line = append(line, ',')
	}
	line = append(line, `"`+fieldReceivedAt+`":`...)
	line = append(line, receivedAt...)
	if res.Invalid != "" {
		line = append(line, `,"`+fieldInvalid+`":`...)
		line = appendJSONString(line, res.Invalid)
	}
	return append(line, "}\n"...), res
}

// wrapped is the line of a message that is no envelope: its body as a
// JSON string.
func (w *Writer) wrapped(m Message, receivedAt, invalid string) ([]byte, Result) {
	line := []byte(`{"` + fieldReceivedAt + `":` + receivedAt + `,"` + fieldInvalid + `":`)
	line = appendJSONString(line, invalid)
	line = append(line, `,"`+fieldMessageID+`":`...)
	line = appendJSONString(line, m.ID)
	line = append(line, `,"`+fieldBody+`":`...)
	line = appendJSONString(line, string(m.Body))
	res := Result{Invalid: invalid}
	if m.ID != "" {
		res.Key = "sqs:" + m.ID
	}
	return append(line, "}\n"...), res
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// check returns the "invalid" flag of an envelope: "" when it is a valid
// event of a source the audit log records.
func check(env envelope, body []byte) string {
	switch {
	case env.DetailType == "":
		return "detail-type: missing"
	case len(env.Detail) == 0 || env.Detail[0] != '{':
		return "detail: not a JSON object"
	}
	_, fromConsumer := events.ConsumerOfSource(env.Source)
	switch {
	case env.Source == events.Source || fromConsumer:
		_, err := events.Parse(body)
		var verr *events.ValidationError
		switch {
		case err == nil:
			return ""
		case errors.As(err, &verr):
			return verr.Field + ": " + verr.Reason
		default:
			return "envelope: " + err.Error()
		}
	case env.Source == SecretsManagerSource:
		return ""
	case env.Source == "":
		return "source: missing"
	default:
		return fmt.Sprintf("source: want %q, %q or %q, got %q", events.Source, events.ConsumerSourcePrefix+"<consumer>", SecretsManagerSource, env.Source)
	}
}

// lastNewline returns the size of the file up to and including its last
// newline (0 when it has none).
func lastNewline(f *os.File, size int64) (int64, error) {
	const chunk = 4096
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(end-chunk, 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !(errors.Is(err, io.EOF) && int64(n) == end-start) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// tailKeys returns the keys of the last n lines of the file's first size
// bytes, newest first. Lines that do not parse are skipped.
func tailKeys(f *os.File, size int64, n int) ([]string, error) {
	const chunk = 64 << 10
	var keys []string
	var carry []byte // the start of a line whose end was read already
	for end := size; end > 0 && len(keys) < n; {
		start := max(end-chunk, 0)
		buf := make([]byte, end-start+int64(len(carry)))
		if _, err := f.ReadAt(buf[:end-start], start); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		copy(buf[end-start:], carry)
		lines := bytes.Split(buf, []byte{'\n'})
		first := 0
		if start > 0 {
			carry, first = lines[0], 1 // may continue in the previous chunk
		}
		for i := len(lines) - 1; i >= first && len(keys) < n; i-- {
			if k := lineKey(lines[i]); k != "" {
				keys = append(keys, k)
			}
		}
		end = start
	}
	return keys, nil
}

// lineKey is the dedupe key of a written line.
func lineKey(line []byte) string {
	if len(line) == 0 {
		return ""
	}
	var l struct {
		ID        string `json:"id"`
		MessageID string `json:"messageId"`
	}
	if json.Unmarshal(line, &l) != nil {
		return ""
	}
	if l.ID != "" {
		return l.ID
	}
	if l.MessageID != "" {
		return "sqs:" + l.MessageID
	}
	return ""
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// recentSet is a set of at most n keys that forgets the oldest first.
type recentSet struct {
	keys map[string]struct{}
	ring []string
	next int
}

func newRecentSet(n int) *recentSet {
	return &recentSet{keys: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (s *recentSet) has(k string) bool {
	_, ok := s.keys[k]
	return ok
}

func (s *recentSet) add(k string) {
	if s.has(k) {
		return
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.keys, old)
	}
	s.ring[s.next] = k
	s.keys[k] = struct{}{}
	s.next = (s.next + 1) % len(s.ring)
}
