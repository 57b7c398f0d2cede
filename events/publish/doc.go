// Package publish puts rotor events on an EventBridge bus: the publisher
// the rotation engine, the deactivation gate and the consumer SDK's
// acknowledgements share.
//
// It implements PutEvents as its reference describes it
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html):
//
//   - at most ten entries a call, and at most 256 KB for all of them,
//     counted as "Calculating PutEvents event entry size" counts
//     (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html);
//     more events are split into as many calls as needed;
//   - PutEvents can partly fail: the call succeeds and FailedEntryCount
//     says how many entries did not go out, each with its ErrorCode. Only
//     those entries are sent again, on the same bus, with jittered
//     exponential backoff, up to [Options.MaxAttempts] attempts; so are all
//     of a call's entries when the call itself fails in a way the SDK deems
//     retryable (connection refused, timeouts, throttling, 5xx). A call the
//     service refuses for good (an unknown bus, access denied) is not
//     repeated.
//
// Nothing is dropped silently (STYLE.md, habit 9): an event that is not
// published after the last attempt is logged (detail type, secret name,
// version id, error code; never a value), counted in [Publisher.Stats] and
// in the EventsNotPublished metric, and [Publisher.Publish] returns an
// error matching [ErrNotPublished].
//
// Every event is validated ([events.Detail.Validate]) before it is sent; an
// invalid one is not sent and is reported like an event the service
// refused. The entry's Source is the event's ([events.Event.EventSource]:
// [events.Source], or a consumer's own for an acknowledgement), its DetailType the
// event's, its Detail the JSON of [events.Detail], its Resources the
// secret's ARN, its Time the event's.
//
// A nil *Publisher publishes nothing and returns nil: it is what a function
// configured with events off holds.
package publish
