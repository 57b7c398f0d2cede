package sqs_test

import (
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/test/awslocal/sqs"
)

// The conformance scenarios run, through the real SDK over HTTP, against
// the local service and against moto_server, and their outcomes are
// compared step by step. Each step states what the SQS API reference (or a
// recorded response of the real service) says happens; where moto does
// otherwise, MotoDiffers says how, and moto's outcome of that step is
// logged, not checked.

// target is one implementation.
type target struct {
	name   string
	client *awssqs.Client
	moto   bool
}

// env is what a scenario's steps act on. Queue names are unique to the run
// (moto's server is shared by the package) and written symbolically in
// results, so the two targets' results compare.
type env struct {
	t       *testing.T
	c       *awssqs.Client
	target  target
	prefix  string
	urls    map[string]string // symbolic queue name → QueueUrl
	ids     map[string]string // message body → MessageId from SendMessage
	handles map[string]string // name → receipt handle
}

func (e *env) name(sym string) string { return e.prefix + sym }

func (e *env) url(sym string) string {
	if u, ok := e.urls[sym]; ok {
		return u
	}
	return "http://127.0.0.1:1/" + account + "/" + e.name(sym) // a queue never created
}

func (e *env) arn(sym string) string {
	return "arn:aws:sqs:" + region + ":" + account + ":" + e.name(sym)
}

// sym writes a string with the run's prefix removed.
func (e *env) sym(s string) string { return strings.ReplaceAll(s, e.prefix, "") }

// step is one call and what SQS gives for it.
type step struct {
	name string
	do   func(e *env) (any, error)
	// wantErr is the error: the SDK's modelled type name
	// ("QueueDoesNotExist") or, for errors without one, the code
	// ("InvalidParameterValue"). Empty means success.
	wantErr string
	// want, when not nil, is the result (reflect.DeepEqual).
	want any
	// motoDiffers says how moto departs from SQS on this step.
	motoDiffers string
}

type scenario struct {
	name  string
	steps []step
}

type outcome struct {
	step      string
	err       string
	result    any
	unchecked bool
}

// modelled are the SDK's error types the scenarios meet; errorName matches
// them with errors.As, which is what a client does.
func errorName(err error) string {
	if err == nil {
		return ""
	}
	var (
		qdne *types.QueueDoesNotExist
		qne  *types.QueueNameExists
		rhi  *types.ReceiptHandleIsInvalid
		ebr  *types.EmptyBatchRequest
		tme  *types.TooManyEntriesInBatchRequest
		bnd  *types.BatchEntryIdsNotDistinct
		ibe  *types.InvalidBatchEntryId
		btl  *types.BatchRequestTooLong
		ian  *types.InvalidAttributeName
		iav  *types.InvalidAttributeValue
		imc  *types.InvalidMessageContents
		ia   *types.InvalidAddress
		uo   *types.UnsupportedOperation
		pqip *types.PurgeQueueInProgress
		qdr  *types.QueueDeletedRecently
	)
	switch {
	case errors.As(err, &qdne):
		return "QueueDoesNotExist"
	case errors.As(err, &qne):
		return "QueueNameExists"
	case errors.As(err, &rhi):
		return "ReceiptHandleIsInvalid"
	case errors.As(err, &ebr):
		return "EmptyBatchRequest"
	case errors.As(err, &tme):
		return "TooManyEntriesInBatchRequest"
	case errors.As(err, &bnd):
		return "BatchEntryIdsNotDistinct"
	case errors.As(err, &ibe):
		return "InvalidBatchEntryId"
	case errors.As(err, &btl):
		return "BatchRequestTooLong"
	case errors.As(err, &ian):
		return "InvalidAttributeName"
	case errors.As(err, &iav):
		return "InvalidAttributeValue"
	case errors.As(err, &imc):
		return "InvalidMessageContents"
	case errors.As(err, &ia):
		return "InvalidAddress"
	case errors.As(err, &uo):
		return "UnsupportedOperation"
	case errors.As(err, &pqip):
		return "PurgeQueueInProgress"
	case errors.As(err, &qdr):
		return "QueueDeletedRecently"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "error: " + err.Error()
}

func runScenarios(t *testing.T, scenarios []scenario, targets ...target) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			var first []outcome
			for i, tg := range targets {
				var got []outcome
				t.Run(tg.name, func(t *testing.T) { got = runScenario(t, sc, tg) })
				if i == 0 {
					first = got
					continue
				}
				compareOutcomes(t, targets[0].name, first, tg.name, got)
			}
		})
	}
}

func runScenario(t *testing.T, sc scenario, tg target) []outcome {
	t.Helper()
	e := &env{
		t: t, c: tg.client, target: tg,
		prefix:  "ct" + uuid.NewString()[:8] + "-",
		urls:    map[string]string{},
		ids:     map[string]string{},
		handles: map[string]string{},
	}
	var outs []outcome
	for _, st := range sc.steps {
		got, err := st.do(e)
		o := outcome{step: st.name, err: errorName(err), result: got, unchecked: tg.moto && st.motoDiffers != ""}
		outs = append(outs, o)
		if o.unchecked {
			t.Logf("step %q: moto differs from SQS, not checked: %s (moto: error %q, result %#v)", st.name, st.motoDiffers, o.err, got)
			continue
		}
		switch {
		case st.wantErr == "" && err != nil:
			t.Fatalf("step %q: want success, got %s (%v)", st.name, o.err, err)
		case st.wantErr != "" && o.err != st.wantErr:
			t.Fatalf("step %q: want error %s, got %q (%v)", st.name, st.wantErr, o.err, err)
		case st.want != nil && !reflect.DeepEqual(got, st.want):
			t.Fatalf("step %q: want %#v, got %#v", st.name, st.want, got)
		}
	}
	return outs
}

func compareOutcomes(t *testing.T, nameA string, a []outcome, nameB string, b []outcome) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s ran %d steps, %s ran %d: a failure above stopped one of them", nameA, len(a), nameB, len(b))
	}
	for i := range min(len(a), len(b)) {
		if a[i].unchecked || b[i].unchecked {
			continue
		}
		if a[i].err != b[i].err || !reflect.DeepEqual(a[i].result, b[i].result) {
			t.Errorf("step %q: %s gave (%q, %#v), %s gave (%q, %#v): want the same", a[i].step, nameA, a[i].err, a[i].result, nameB, b[i].err, b[i].result)
		}
	}
}

// TestConformance runs the scenarios on the local service and on moto.
func TestConformance(t *testing.T) {
	l := startLocal(t, sqs.Options{})
	runScenarios(t, scenarios(),
		target{name: "local", client: l.client("testing")},
		target{name: "moto", client: motoClient(), moto: true},
	)
}

// ---- steps ----

func create(sym string, attrs map[string]string) step {
	return step{name: "create " + sym, do: func(e *env) (any, error) {
		out, err := e.c.CreateQueue(e.t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(e.name(sym)), Attributes: attrs})
		if err != nil {
			return nil, err
		}
		e.urls[sym] = *out.QueueUrl
		return urlPath(e, *out.QueueUrl), nil
	}, want: "/" + account + "/" + sym}
}

func urlPath(e *env, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "unparsable " + raw
	}
	return e.sym(u.Path)
}

func send(sym, body string, attrs map[string]types.MessageAttributeValue) step {
	return step{name: "send " + body, do: func(e *env) (any, error) {
		out, err := e.c.SendMessage(e.t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(e.url(sym)), MessageBody: aws.String(body), MessageAttributes: attrs})
		if err != nil {
			return nil, err
		}
		e.ids[body] = *out.MessageId
		return [2]string{aws.ToString(out.MD5OfMessageBody), aws.ToString(out.MD5OfMessageAttributes)}, nil
	}}
}

// received is a received message, comparable across targets: the id is
// "sent" when it is the id SendMessage gave for that body.
type received struct {
	Body       string
	ID         string
	MD5        string
	Attributes string // the requested system attributes, timestamps as "set"
	MsgAttrs   string
}

func receiveIn(sym string, tweak func(*awssqs.ReceiveMessageInput)) func(e *env) (any, error) {
	return func(e *env) (any, error) {
		in := &awssqs.ReceiveMessageInput{QueueUrl: aws.String(e.url(sym)), MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}}
		if tweak != nil {
			tweak(in)
		}
		out, err := e.c.ReceiveMessage(e.t.Context(), in)
		if err != nil {
			return nil, err
		}
		res := []received{}
		for _, m := range out.Messages {
			r := received{Body: aws.ToString(m.Body), ID: "other", MD5: aws.ToString(m.MD5OfBody)}
			if e.ids[r.Body] == aws.ToString(m.MessageId) {
				r.ID = "sent"
			}
			var attrs []string
			for k, v := range m.Attributes {
				if (strings.HasSuffix(k, "Timestamp") || k == "SenderId") && v != "" {
					v = "set"
				}
				attrs = append(attrs, k+"="+e.sym(v))
			}
			sort.Strings(attrs)
			r.Attributes = strings.Join(attrs, ",")
			var mattrs []string
			for k, v := range m.MessageAttributes {
				mattrs = append(mattrs, k+"="+aws.ToString(v.DataType)+":"+aws.ToString(v.StringValue)+string(v.BinaryValue))
			}
			sort.Strings(mattrs)
			r.MsgAttrs = strings.Join(mattrs, ",")
			if len(mattrs) > 0 {
				r.MsgAttrs += " md5=" + aws.ToString(m.MD5OfMessageAttributes)
			}
			if prev, ok := e.handles[r.Body]; ok && prev == aws.ToString(m.ReceiptHandle) {
				e.t.Errorf("receive of %q: want a new receipt handle, got the previous one again", r.Body)
			}
			if prev, ok := e.handles[r.Body]; ok {
				e.handles[r.Body+"#old"] = prev
			}
			e.handles[r.Body] = aws.ToString(m.ReceiptHandle)
			res = append(res, r)
		}
		slices.SortFunc(res, func(a, b received) int { return strings.Compare(a.Body, b.Body) })
		return res, nil
	}
}

func receive(name, sym string, want ...received) step {
	if want == nil {
		want = []received{}
	}
	return step{name: name, do: receiveIn(sym, nil), want: want}
}

func counts(sym string, visible, inFlight, delayed string) step {
	return step{name: "counts of " + sym, do: func(e *env) (any, error) {
		out, err := e.c.GetQueueAttributes(e.t.Context(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(e.url(sym)),
			AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"}})
		if err != nil {
			return nil, err
		}
		return out.Attributes, nil
	}, want: map[string]string{"ApproximateNumberOfMessages": visible, "ApproximateNumberOfMessagesNotVisible": inFlight, "ApproximateNumberOfMessagesDelayed": delayed}}
}

func deleteMsg(name, sym, handle string) step {
	return step{name: name, do: func(e *env) (any, error) {
		h, ok := e.handles[handle]
		if !ok {
			h = handle
		}
		_, err := e.c.DeleteMessage(e.t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(e.url(sym)), ReceiptHandle: aws.String(h)})
		return nil, err
	}}
}

func sleep(d time.Duration) step {
	return step{name: "wait " + d.String(), do: func(*env) (any, error) { time.Sleep(d); return nil, nil }}
}

// queueAttrs reads attributes, without the timestamps (moto writes them as
// floats, SQS as whole seconds; a local test checks the format) and with
// RedrivePolicy parsed (moto spaces its JSON).
func queueAttrs(sym string, names ...types.QueueAttributeName) func(e *env) (any, error) {
	return func(e *env) (any, error) {
		out, err := e.c.GetQueueAttributes(e.t.Context(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(e.url(sym)), AttributeNames: names})
		if err != nil {
			return nil, err
		}
		res := map[string]string{}
		for k, v := range out.Attributes {
			switch k {
			case "CreatedTimestamp", "LastModifiedTimestamp":
				continue
			case "RedrivePolicy":
				var p map[string]any
				if err := json.Unmarshal([]byte(v), &p); err != nil {
					return nil, fmt.Errorf("RedrivePolicy %q: %w", v, err)
				}
				v = fmt.Sprintf("dlq=%s max=%v", e.sym(fmt.Sprint(p["deadLetterTargetArn"])), p["maxReceiveCount"])
			}
			res[k] = e.sym(v)
		}
		return res, nil
	}
}

func setAttrs(sym string, attrs map[string]string) func(e *env) (any, error) {
	return func(e *env) (any, error) {
		_, err := e.c.SetQueueAttributes(e.t.Context(), &awssqs.SetQueueAttributesInput{QueueUrl: aws.String(e.url(sym)), Attributes: attrs})
		return nil, err
	}
}

// bigBody is a body one byte over SQS's 1 MiB limit.
var bigBody = strings.Repeat("x", 1<<20+1)

func scenarios() []scenario {
	const (
		md5Hello = "5d41402abc4b2a76b9719d911017c592" // md5("hello")
		// From a recorded response of the real service: MD5OfMessageAttributes
		// of {"Foo": String "Bar"}.
		md5FooBar = "ae7155c6026991b6d54b11589678bf9c"
	)
	fooBar := map[string]types.MessageAttributeValue{"Foo": {DataType: aws.String("String"), StringValue: aws.String("Bar")}}
	return []scenario{
		{name: "queue lifecycle", steps: []step{
			create("q", nil),
			{name: "create again, no attributes: the same queue", do: func(e *env) (any, error) {
				out, err := e.c.CreateQueue(e.t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(e.name("q"))})
				if err != nil {
					return nil, err
				}
				return *out.QueueUrl == e.urls["q"], nil
			}, want: true},
			{name: "create again with the default visibility: the same queue", do: func(e *env) (any, error) {
				_, err := e.c.CreateQueue(e.t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(e.name("q")), Attributes: map[string]string{"VisibilityTimeout": "30"}})
				return nil, err
			}},
			{name: "create again with another visibility: QueueAlreadyExists", do: func(e *env) (any, error) {
				_, err := e.c.CreateQueue(e.t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(e.name("q")), Attributes: map[string]string{"VisibilityTimeout": "31"}})
				return nil, err
			}, wantErr: "QueueNameExists"},
			{name: "GetQueueUrl", do: func(e *env) (any, error) {
				out, err := e.c.GetQueueUrl(e.t.Context(), &awssqs.GetQueueUrlInput{QueueName: aws.String(e.name("q"))})
				if err != nil {
					return nil, err
				}
				return *out.QueueUrl == e.urls["q"], nil
			}, want: true},
			create("q2", nil),
			{name: "ListQueues by prefix", do: func(e *env) (any, error) {
				out, err := e.c.ListQueues(e.t.Context(), &awssqs.ListQueuesInput{QueueNamePrefix: aws.String(e.prefix)})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, u := range out.QueueUrls {
					got = append(got, urlPath(e, u))
				}
				sort.Strings(got)
				return got, nil
			}, want: []string{"/" + account + "/q", "/" + account + "/q2"}},
			{name: "delete q", do: func(e *env) (any, error) {
				_, err := e.c.DeleteQueue(e.t.Context(), &awssqs.DeleteQueueInput{QueueUrl: aws.String(e.url("q"))})
				return nil, err
			}},
			{name: "GetQueueUrl of the deleted queue", do: func(e *env) (any, error) {
				_, err := e.c.GetQueueUrl(e.t.Context(), &awssqs.GetQueueUrlInput{QueueName: aws.String(e.name("q"))})
				return nil, err
			}, wantErr: "QueueDoesNotExist"},
			{name: "send to the deleted queue", do: func(e *env) (any, error) {
				_, err := e.c.SendMessage(e.t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(e.url("q")), MessageBody: aws.String("x")})
				return nil, err
			}, wantErr: "QueueDoesNotExist"},
			{name: "ListQueues after the delete", do: func(e *env) (any, error) {
				out, err := e.c.ListQueues(e.t.Context(), &awssqs.ListQueuesInput{QueueNamePrefix: aws.String(e.prefix)})
				if err != nil {
					return nil, err
				}
				return len(out.QueueUrls), nil
			}, want: 1},
		}},
		{name: "send, receive, delete", steps: []step{
			create("q", nil),
			{name: "send with an attribute", do: send("q", "hello", fooBar).do, want: [2]string{md5Hello, md5FooBar}},
			{name: "receive with every attribute", do: receiveIn("q", func(in *awssqs.ReceiveMessageInput) {
				in.MessageSystemAttributeNames = []types.MessageSystemAttributeName{"All"}
				in.MessageAttributeNames = []string{"All"}
			}), want: []received{{Body: "hello", ID: "sent", MD5: md5Hello,
				Attributes: "ApproximateFirstReceiveTimestamp=set,ApproximateReceiveCount=1,SenderId=set,SentTimestamp=set",
				MsgAttrs:   "Foo=String:Bar md5=" + md5FooBar}}},
			receive("in flight: nothing to receive", "q"),
			counts("q", "0", "1", "0"),
			deleteMsg("delete with the handle", "q", "hello"),
			counts("q", "0", "0", "0"),
			deleteMsg("delete again: SQS lets a consumer delete twice", "q", "hello"),
			receive("nothing left", "q"),
		}},
		{name: "visibility timeout expiry", steps: []step{
			create("q", map[string]string{"VisibilityTimeout": "1"}),
			send("q", "a", nil),
			receive("first receive", "q", received{Body: "a", ID: "sent", MD5: md5Of("a"), Attributes: "ApproximateReceiveCount=1"}),
			receive("hidden for the visibility timeout", "q"),
			sleep(1500 * time.Millisecond),
			receive("visible again, with a new handle", "q", received{Body: "a", ID: "sent", MD5: md5Of("a"), Attributes: "ApproximateReceiveCount=2"}),
			{name: "extend the visibility with the latest handle", do: func(e *env) (any, error) {
				_, err := e.c.ChangeMessageVisibility(e.t.Context(), &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(e.url("q")), ReceiptHandle: aws.String(e.handles["a"]), VisibilityTimeout: 60})
				return nil, err
			}},
			sleep(1500 * time.Millisecond),
			receive("still hidden after the queue's timeout", "q"),
			{name: "make it visible now", do: func(e *env) (any, error) {
				_, err := e.c.ChangeMessageVisibility(e.t.Context(), &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(e.url("q")), ReceiptHandle: aws.String(e.handles["a"]), VisibilityTimeout: 0})
				return nil, err
			}},
			// moto makes a message visible only once its visibility time is
			// strictly past, in milliseconds.
			sleep(20 * time.Millisecond),
			receive("received a third time", "q", received{Body: "a", ID: "sent", MD5: md5Of("a"), Attributes: "ApproximateReceiveCount=3"}),
			deleteMsg("delete with the latest handle", "q", "a"),
			counts("q", "0", "0", "0"),
		}},
		{name: "batches", steps: []step{
			create("q", nil),
			{name: "send a batch with one bad delay: partial failure", do: func(e *env) (any, error) {
				out, err := e.c.SendMessageBatch(e.t.Context(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(e.url("q")), Entries: []types.SendMessageBatchRequestEntry{
					{Id: aws.String("one"), MessageBody: aws.String("b1")},
					{Id: aws.String("two"), MessageBody: aws.String("b2"), DelaySeconds: 1800},
					{Id: aws.String("three"), MessageBody: aws.String("b3")},
				}})
				if err != nil {
					return nil, err
				}
				bodies := map[string]string{"one": "b1", "three": "b3"}
				var ok, failed []string
				for _, s := range out.Successful {
					ok = append(ok, aws.ToString(s.Id)+":"+aws.ToString(s.MD5OfMessageBody))
					e.ids[bodies[aws.ToString(s.Id)]] = aws.ToString(s.MessageId)
				}
				for _, f := range out.Failed {
					failed = append(failed, fmt.Sprintf("%s:%s:%v", aws.ToString(f.Id), aws.ToString(f.Code), f.SenderFault))
				}
				sort.Strings(ok)
				return [2][]string{ok, failed}, nil
			}, want: [2][]string{{"one:" + md5Of("b1"), "three:" + md5Of("b3")}, {"two:InvalidParameterValue:true"}},
				motoDiffers: "moto sends SenderFault as the string \"true\", which the SDK cannot parse (the model's type is boolean)"},
			counts("q", "2", "0", "0"),
			{name: "receive both", do: func(e *env) (any, error) {
				got, err := receiveIn("q", nil)(e)
				if err != nil {
					return nil, err
				}
				var bodies []string
				for _, r := range got.([]received) {
					bodies = append(bodies, r.Body)
				}
				return bodies, nil
			}, want: []string{"b1", "b3"}},
			{name: "delete a batch with one made-up handle: partial failure", do: func(e *env) (any, error) {
				out, err := e.c.DeleteMessageBatch(e.t.Context(), &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(e.url("q")), Entries: []types.DeleteMessageBatchRequestEntry{
					{Id: aws.String("good"), ReceiptHandle: aws.String(e.handles["b1"])},
					{Id: aws.String("bad"), ReceiptHandle: aws.String("made-up")},
				}})
				if err != nil {
					return nil, err
				}
				var ok, failed []string
				for _, s := range out.Successful {
					ok = append(ok, aws.ToString(s.Id))
				}
				for _, f := range out.Failed {
					failed = append(failed, aws.ToString(f.Id)+":"+aws.ToString(f.Code))
				}
				return [2][]string{ok, failed}, nil
			}, want: [2][]string{{"good"}, {"bad:ReceiptHandleIsInvalid"}}},
			counts("q", "0", "1", "0"),
			{name: "empty batch", do: func(e *env) (any, error) {
				_, err := e.c.SendMessageBatch(e.t.Context(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(e.url("q")), Entries: []types.SendMessageBatchRequestEntry{}})
				return nil, err
			}, wantErr: "EmptyBatchRequest"},
			{name: "eleven entries", do: func(e *env) (any, error) {
				var entries []types.SendMessageBatchRequestEntry
				for i := range 11 {
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), MessageBody: aws.String("x")})
				}
				_, err := e.c.SendMessageBatch(e.t.Context(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(e.url("q")), Entries: entries})
				return nil, err
			}, wantErr: "TooManyEntriesInBatchRequest"},
			{name: "ids not distinct", do: func(e *env) (any, error) {
				_, err := e.c.SendMessageBatch(e.t.Context(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(e.url("q")), Entries: []types.SendMessageBatchRequestEntry{
					{Id: aws.String("same"), MessageBody: aws.String("x")}, {Id: aws.String("same"), MessageBody: aws.String("y")}}})
				return nil, err
			}, wantErr: "BatchEntryIdsNotDistinct"},
			{name: "an invalid id", do: func(e *env) (any, error) {
				_, err := e.c.SendMessageBatch(e.t.Context(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(e.url("q")), Entries: []types.SendMessageBatchRequestEntry{
					{Id: aws.String("not valid!"), MessageBody: aws.String("x")}}})
				return nil, err
			}, wantErr: "InvalidBatchEntryId"},
			{name: "a batch over 1 MiB", do: func(e *env) (any, error) {
				half := strings.Repeat("x", 600*1024)
				_, err := e.c.SendMessageBatch(e.t.Context(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(e.url("q")), Entries: []types.SendMessageBatchRequestEntry{
					{Id: aws.String("a"), MessageBody: aws.String(half)}, {Id: aws.String("b"), MessageBody: aws.String(half)}}})
				return nil, err
			}, wantErr: "BatchRequestTooLong"},
			counts("q", "0", "1", "0"),
		}},
		{name: "attributes", steps: []step{
			create("q", map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "2", "MessageRetentionPeriod": "3600"}),
			{name: "All", do: queueAttrs("q", "All"), want: map[string]string{
				"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesDelayed": "0", "ApproximateNumberOfMessagesNotVisible": "0",
				"DelaySeconds": "2", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "3600",
				"QueueArn": "arn:aws:sqs:" + region + ":" + account + ":q", "ReceiveMessageWaitTimeSeconds": "0",
				"SqsManagedSseEnabled": "true", "VisibilityTimeout": "45"}},
			{name: "no names: nothing", do: queueAttrs("q"), want: map[string]string{}},
			send("q", "delayed", nil),
			counts("q", "0", "0", "1"),
			{name: "set VisibilityTimeout and MaximumMessageSize", do: setAttrs("q", map[string]string{"VisibilityTimeout": "60", "MaximumMessageSize": "2048"})},
			{name: "read them back", do: queueAttrs("q", "VisibilityTimeout", "MaximumMessageSize"), want: map[string]string{"VisibilityTimeout": "60", "MaximumMessageSize": "2048"}},
			{name: "a body over MaximumMessageSize", do: func(e *env) (any, error) {
				_, err := e.c.SendMessage(e.t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(e.url("q")), MessageBody: aws.String(strings.Repeat("x", 2049))})
				return nil, err
			}, wantErr: "InvalidParameterValue"},
			{name: "an unknown attribute name", do: queueAttrs("q", "Colour"), wantErr: "InvalidAttributeName"},
			{name: "set a VisibilityTimeout over 12 hours", do: setAttrs("q", map[string]string{"VisibilityTimeout": "43201"}), wantErr: "InvalidAttributeValue",
				motoDiffers: "moto stores any integer; SQS allows 0 to 43,200 (InvalidAttributeValue)"},
			{name: "set a read-only attribute", do: setAttrs("q", map[string]string{"QueueArn": "arn:aws:sqs:x:y:z"}), wantErr: "InvalidAttributeName",
				motoDiffers: "moto sets any attribute; SQS answers InvalidAttributeName (Unknown Attribute QueueArn.)"},
			{name: "unchanged", do: queueAttrs("q", "VisibilityTimeout", "QueueArn"), want: map[string]string{"VisibilityTimeout": "60", "QueueArn": "arn:aws:sqs:" + region + ":" + account + ":q"},
				motoDiffers: "follows from the steps before"},
			{name: "PurgeQueue", do: func(e *env) (any, error) {
				_, err := e.c.PurgeQueue(e.t.Context(), &awssqs.PurgeQueueInput{QueueUrl: aws.String(e.url("q"))})
				return nil, err
			}},
			counts("q", "0", "0", "0"),
		}},
		{name: "dead-letter queue after maxReceiveCount", steps: []step{
			create("dlq", nil),
			{name: "create the source with a RedrivePolicy", do: func(e *env) (any, error) {
				policy := fmt.Sprintf(`{"deadLetterTargetArn":"%s","maxReceiveCount":"2"}`, e.arn("dlq"))
				out, err := e.c.CreateQueue(e.t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(e.name("src")),
					Attributes: map[string]string{"RedrivePolicy": policy, "VisibilityTimeout": "0"}})
				if err != nil {
					return nil, err
				}
				e.urls["src"] = *out.QueueUrl
				return nil, nil
			}},
			{name: "RedrivePolicy as SQS returns it", do: queueAttrs("src", "RedrivePolicy"), want: map[string]string{"RedrivePolicy": "dlq=arn:aws:sqs:" + region + ":" + account + ":dlq max=2"}},
			send("src", "poison", nil),
			receive("first receive", "src", received{Body: "poison", ID: "sent", MD5: md5Of("poison"), Attributes: "ApproximateReceiveCount=1"}),
			receive("second receive: maxReceiveCount reached", "src", received{Body: "poison", ID: "sent", MD5: md5Of("poison"), Attributes: "ApproximateReceiveCount=2"}),
			receive("a third receive moves it instead", "src"),
			counts("src", "0", "0", "0"),
			{name: "in the dead-letter queue, same id, count kept", do: receiveIn("dlq", nil),
				// The count continues across queues and the receive that moved the
				// message does not count: a recorded SQS response with
				// maxReceiveCount 1 shows ApproximateReceiveCount 2 on the
				// first receive from the dead-letter queue.
				want: []received{{Body: "poison", ID: "sent", MD5: md5Of("poison"), Attributes: "ApproximateReceiveCount=3"}}},
			{name: "DeadLetterQueueSourceArn", do: func(e *env) (any, error) {
				_, _ = e.c.ChangeMessageVisibility(e.t.Context(), &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(e.url("dlq")), ReceiptHandle: aws.String(e.handles["poison"]), VisibilityTimeout: 0})
				got, err := receiveIn("dlq", func(in *awssqs.ReceiveMessageInput) {
					in.MessageSystemAttributeNames = []types.MessageSystemAttributeName{"DeadLetterQueueSourceArn"}
				})(e)
				return got, err
			}, want: []received{{Body: "poison", ID: "sent", MD5: md5Of("poison"), Attributes: "DeadLetterQueueSourceArn=arn:aws:sqs:" + region + ":" + account + ":src"}},
				motoDiffers: "moto does not set DeadLetterQueueSourceArn"},
			{name: "ListDeadLetterSourceQueues", do: func(e *env) (any, error) {
				out, err := e.c.ListDeadLetterSourceQueues(e.t.Context(), &awssqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(e.url("dlq"))})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, u := range out.QueueUrls {
					got = append(got, urlPath(e, u))
				}
				return got, nil
			}, want: []string{"/" + account + "/src"}},
			{name: "a RedrivePolicy naming a queue that does not exist", do: setAttrs("src", map[string]string{
				"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:` + region + `:` + account + `:nowhere","maxReceiveCount":"2"}`}),
				wantErr:     "InvalidParameterValue",
				motoDiffers: "moto answers AWS.SimpleQueueService.NonExistentQueue; SQS answers InvalidParameterValue (Dead letter target does not exist)"},
			{name: "maxReceiveCount 0", do: func(e *env) (any, error) {
				return setAttrs("src", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + e.arn("dlq") + `","maxReceiveCount":0}`})(e)
			},
				wantErr:     "InvalidParameterValue",
				motoDiffers: "moto accepts any maxReceiveCount; SQS allows 1 to 1,000"},
		}},
		{name: "errors and bad parameters", steps: []step{
			create("q", nil),
			{name: "receive from a queue that does not exist", do: func(e *env) (any, error) {
				_, err := e.c.ReceiveMessage(e.t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(e.url("missing"))})
				return nil, err
			}, wantErr: "QueueDoesNotExist"},
			{name: "GetQueueAttributes of a queue that does not exist", do: queueAttrs("missing", "All"), wantErr: "QueueDoesNotExist"},
			{name: "MaxNumberOfMessages 11", do: receiveIn("q", func(in *awssqs.ReceiveMessageInput) { in.MaxNumberOfMessages = 11 }), wantErr: "InvalidParameterValue"},
			{name: "WaitTimeSeconds 21", do: receiveIn("q", func(in *awssqs.ReceiveMessageInput) { in.WaitTimeSeconds = 21 }), wantErr: "InvalidParameterValue"},
			{name: "a body over 1 MiB", do: func(e *env) (any, error) {
				_, err := e.c.SendMessage(e.t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(e.url("q")), MessageBody: aws.String(bigBody)})
				return nil, err
			}, wantErr: "InvalidParameterValue"},
			{name: "DelaySeconds 901", do: func(e *env) (any, error) {
				_, err := e.c.SendMessage(e.t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(e.url("q")), MessageBody: aws.String("x"), DelaySeconds: 901})
				return nil, err
			}, wantErr: "InvalidParameterValue"},
			{name: "an empty body", do: func(e *env) (any, error) {
				_, err := e.c.SendMessage(e.t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(e.url("q")), MessageBody: aws.String("")})
				return nil, err
			}, wantErr: "MissingParameter", motoDiffers: "moto stores an empty body; SQS answers MissingParameter (The request must contain the parameter MessageBody.)"},
			{name: "a body with a character outside the allowed set", do: func(e *env) (any, error) {
				_, err := e.c.SendMessage(e.t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(e.url("q")), MessageBody: aws.String("bell\u0007")})
				return nil, err
			}, wantErr: "InvalidMessageContents", motoDiffers: "moto stores any character; SQS refuses those outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF with InvalidMessageContents"},
			{name: "a message attribute without a value", do: func(e *env) (any, error) {
				_, err := e.c.SendMessage(e.t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(e.url("q")), MessageBody: aws.String("x"),
					MessageAttributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String"), StringValue: aws.String("")}}})
				return nil, err
			}, wantErr: "InvalidParameterValue", motoDiffers: "moto stores it; the recorded SQS response is InvalidParameterValue " +
				"(Message (user) attribute 'a' must contain a non-empty value of type 'String'.)"},
			{name: "delete with a made-up handle", do: func(e *env) (any, error) {
				_, err := e.c.DeleteMessage(e.t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(e.url("q")), ReceiptHandle: aws.String("garbage")})
				return nil, err
			}, wantErr: "ReceiptHandleIsInvalid"},
			{name: "a queue name with a space", do: func(e *env) (any, error) {
				_, err := e.c.CreateQueue(e.t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(e.name("bad name"))})
				return nil, err
			}, wantErr: "InvalidParameterValue"},
			{name: "a FIFO attribute on a standard queue", do: func(e *env) (any, error) {
				_, err := e.c.CreateQueue(e.t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(e.name("std")), Attributes: map[string]string{"ContentBasedDeduplication": "true"}})
				return nil, err
			}, wantErr: "InvalidAttributeName", motoDiffers: "moto ignores it; SQS answers InvalidAttributeName (Unknown Attribute ContentBasedDeduplication.)"},
			{name: "change the visibility of a deleted message", do: func(e *env) (any, error) {
				if _, err := e.c.SendMessage(e.t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(e.url("q")), MessageBody: aws.String("gone")}); err != nil {
					return nil, err
				}
				if _, err := receiveIn("q", nil)(e); err != nil {
					return nil, err
				}
				if _, err := e.c.DeleteMessage(e.t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(e.url("q")), ReceiptHandle: aws.String(e.handles["gone"])}); err != nil {
					return nil, err
				}
				_, err := e.c.ChangeMessageVisibility(e.t.Context(), &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(e.url("q")), ReceiptHandle: aws.String(e.handles["gone"]), VisibilityTimeout: 10})
				return nil, err
			}, wantErr: "InvalidParameterValue", motoDiffers: "moto answers ReceiptHandleIsInvalid; SQS answers InvalidParameterValue " +
				"(Message does not exist or is not available for visibility timeout change.)"},
			{name: "nothing was stored", do: queueAttrs("q", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"),
				want:        map[string]string{"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0"},
				motoDiffers: "moto stored the messages refused above"},
			{name: "no queue was created", do: func(e *env) (any, error) {
				out, err := e.c.ListQueues(e.t.Context(), &awssqs.ListQueuesInput{QueueNamePrefix: aws.String(e.prefix)})
				if err != nil {
					return nil, err
				}
				return len(out.QueueUrls), nil
			}, want: 1, motoDiffers: "moto created the queue with a FIFO attribute"},
		}},
	}
}

func md5Of(s string) string {
	return fmt.Sprintf("%x", md5.Sum([]byte(s)))
}
