package eventbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// PutEvents' limits: ten entries a call, and 256 KB for all of them,
// counted as AWS's "Calculating PutEvents event entry size" counts.
const (
	maxEntries    = 10
	maxEntriesLen = 256 * 1024
)

// Event is an event a local service sends to a bus with [Service.Emit].
type Event struct {
	Source     string
	DetailType string
	// Detail is a JSON object.
	Detail    json.RawMessage
	Resources []string
	// Time is when it happened; zero means now, on the service's clock.
	Time time.Time
}

// eventJSON is an event as EventBridge delivers it, fields in AWS's order.
type eventJSON struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Emit puts an event on the default bus of an account and region, as AWS
// services put theirs (Secrets Manager's "AWS Service Event via
// CloudTrail", for one): no caller, no permission check, sources "aws.*"
// allowed. The service fills id, version "0", account, region, and time if
// it is zero.
func (s *Service) Emit(_ context.Context, account, region string, e Event) error {
	if e.Source == "" || e.DetailType == "" {
		return errors.New("eventbridge: Emit: Source and DetailType are required")
	}
	detail, err := compactObject(e.Detail)
	if err != nil {
		return fmt.Errorf("eventbridge: Emit: Detail: %w", err)
	}
	sc := scope{account: account, region: region}
	data, _ := s.newEvent(sc, e.Source, e.DetailType, detail, e.Resources, e.Time)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regionLocked(sc)
	s.dispatchLocked(sc, defaultBus, data, 0)
	return nil
}

// newEvent returns an event as EventBridge delivers it, and its id.
func (s *Service) newEvent(sc scope, source, detailType string, detail json.RawMessage, resources []string, t time.Time) (data []byte, id string) {
	if t.IsZero() {
		t = s.clock.Now()
	}
	if resources == nil {
		resources = []string{}
	}
	id = uuid.NewString()
	return marshal(eventJSON{
		Version: "0", ID: id, DetailType: detailType, Source: source,
		Account: sc.account, Time: t.UTC().Format("2006-01-02T15:04:05Z"), Region: sc.region,
		Resources: resources, Detail: detail,
	}), id
}

var errNotObject = errors.New("not a JSON object")

// compactObject checks that data is one JSON object and compacts it.
func compactObject(data []byte) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errNotObject
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// eventTime is PutEvents' Time: awsJson sends epoch seconds; an ISO 8601
// string is taken too.
type eventTime struct{ time.Time }

func (t *eventTime) UnmarshalJSON(data []byte) error {
	if n, err := strconv.ParseFloat(string(data), 64); err == nil {
		sec := int64(n)
		t.Time = time.Unix(sec, int64((n-float64(sec))*1e9)).UTC()
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	parsed, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

type putEventsEntry struct {
	Time         *eventTime
	Source       *string
	Resources    []string
	DetailType   *string
	Detail       *string
	EventBusName string
	TraceHeader  string
}

type putEventsInput struct {
	Entries    []putEventsEntry
	EndpointId string
}

type putEventsResult struct {
	EventId      string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

type putEventsOutput struct {
	FailedEntryCount int
	Entries          []putEventsResult
}

// size is an entry's size as AWS counts it for the 256 KB limit.
func (e *putEventsEntry) size() int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	for _, s := range []*string{e.Source, e.DetailType, e.Detail} {
		if s != nil {
			n += len(*s)
		}
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// putEvents validates every entry, then accepts the good ones: each gets an
// id and is matched against the rules of its bus now; delivery runs after
// the call returns. A bad entry fails alone (ErrorCode, ErrorMessage);
// a bad request (too many entries, too large, an unknown bus) accepts none.
func (s *Service) putEvents(ctx context.Context, in *putEventsInput) (*putEventsOutput, error) {
	switch {
	case in.Entries == nil:
		return nil, required("entries")
	case len(in.Entries) == 0:
		return nil, constraint("[]", "entries", "Member must have length greater than or equal to 1")
	case len(in.Entries) > maxEntries:
		return nil, constraint("[PutEventsRequestEntry]", "entries", "Member must have length less than or equal to 10")
	}
	total := 0
	for i := range in.Entries {
		total += in.Entries[i].size()
	}
	if total > maxEntriesLen {
		return nil, validation("Total size of the entries in the request is over the limit.")
	}
	caller := callerScope(ctx)
	type accepted struct {
		sc   scope
		bus  string
		data []byte
	}
	var todo []accepted
	out := &putEventsOutput{Entries: make([]putEventsResult, len(in.Entries))}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range in.Entries {
		e := &in.Entries[i]
		sc, name := busRef(caller, e.EventBusName)
		if _, ok := s.regionLocked(sc).buses[name]; !ok {
			return nil, busNotFound(name)
		}
		res := &out.Entries[i]
		detail, code, msg := checkEntry(e)
		if code == "" && sc.account != caller.account && !s.scopes[sc].buses[name].Policy.allows(caller.account, putFacts{source: *e.Source, detailType: *e.DetailType}) {
			code, msg = "AccessDeniedException", fmt.Sprintf("User: arn:aws:iam::%s:root is not authorized to perform: events:PutEvents on resource: %s", caller.account, busARN(sc, name))
		}
		if code != "" {
			res.ErrorCode, res.ErrorMessage = code, msg
			out.FailedEntryCount++
			continue
		}
		var t time.Time
		if e.Time != nil {
			t = e.Time.Time
		}
		// The event carries the sender's account and region, also on a bus
		// of another account: that is how the receiver's rules tell senders
		// apart.
		data, id := s.newEvent(caller, *e.Source, *e.DetailType, detail, e.Resources, t)
		res.EventId = id
		todo = append(todo, accepted{sc, name, data})
	}
	for _, a := range todo {
		s.dispatchLocked(a.sc, a.bus, a.data, 0)
	}
	return out, nil
}

// checkEntry returns the entry's compacted detail, or the per-entry error
// PutEvents reports for it.
func checkEntry(e *putEventsEntry) (detail json.RawMessage, code, msg string) {
	switch {
	case e.Source == nil || *e.Source == "":
		return nil, "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case e.DetailType == nil || *e.DetailType == "":
		return nil, "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case e.Detail == nil || *e.Detail == "":
		return nil, "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	}
	detail, err := compactObject([]byte(*e.Detail))
	if err != nil {
		return nil, "MalformedDetail", "Detail is malformed."
	}
	// Only AWS services publish "aws." sources; they use Emit here.
	if strings.HasPrefix(*e.Source, "aws.") {
		return nil, "NotAuthorizedForSourceException", "Not authorized for the source."
	}
	return detail, "", ""
}
