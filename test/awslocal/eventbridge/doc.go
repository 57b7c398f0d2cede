// Package eventbridge is Amazon EventBridge for rotor's local AWS endpoint:
// the AWSEvents JSON protocol (X-Amz-Target AWSEvents.<Operation>,
// application/x-amz-json-1.1), served through an [awsjson.Router] by
// [Service.JSONService], with asynchronous delivery to Lambda functions,
// SQS queues and other event buses.
//
// It follows the EventBridge API reference
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/) and user
// guide. State is per account and region, and every account has its
// "default" bus in every region without creating it.
//
// # Operations
//
// CreateEventBus, DeleteEventBus (its rules go with it), DescribeEventBus,
// ListEventBuses; PutPermission and RemovePermission (a bus's resource
// policy, which decides cross-account delivery); PutRule (EventPattern
// and/or ScheduleExpression), DescribeRule, ListRules, DeleteRule (refused
// while the rule has targets), EnableRule, DisableRule; PutTargets,
// RemoveTargets, ListTargetsByRule, ListRuleNamesByTarget; TestEventPattern;
// PutEvents. Patterns are matched by package [eventpattern], whose doc
// lists what they support. Errors are EventBridge's: ResourceNotFoundException,
// ResourceAlreadyExistsException, ValidationException,
// InvalidEventPatternException, LimitExceededException.
//
// PutEvents takes up to 10 entries and 256 KB; an entry without Source,
// DetailType or Detail, with a Detail that is not a JSON object, or with an
// "aws." source fails alone (InvalidArgument, MalformedDetail,
// NotAuthorizedForSourceException); an unknown bus fails the call.
// Services of the endpoint put their events with [Service.Emit] instead
// (Secrets Manager's, on the account's default bus).
//
// # Delivery
//
// An accepted event is matched against the enabled rules of its bus at
// once; each target of each matching rule then gets it in its own
// goroutine: a Lambda function through [LambdaInvoker] (InvokeAsync), an
// SQS queue through [QueueSender], an event bus by putting the event, as
// it is, on that bus so that its rules apply. A bus of another account
// takes the event only if its policy allows the sender's account
// (PutPermission), as on AWS, with the policy's conditions on
// events:source and events:detail-type evaluated (StringEquals,
// StringLike); the event keeps the sender's account and region: the
// account is the caller's, whatever the detail says. Input, InputPath ($, .key, ['key'], [index]) and
// InputTransformer (InputPathsMap, InputTemplate, and the predefined
// aws.events.* variables) shape what Lambda functions and queues receive.
//
// A failed delivery is retried with doubling backoff on the service's
// clock: [Options.RetryAttempts] times (default [DefaultRetryAttempts]),
// or the target's RetryPolicy (MaximumRetryAttempts,
// MaximumEventAgeInSeconds). AWS retries for up to 24 hours and 185
// attempts; locally a failure should surface in seconds. Then the event
// goes to the target's DeadLetterConfig queue, if it has one, and is
// logged (never its detail). [Service.Drain] waits for deliveries in
// flight; [Service.Close] stops them.
//
// # Schedules
//
// An ENABLED rule with a ScheduleExpression (default buses only, as on
// AWS) runs on the service's clock, which may run fast: rate(N
// minute|minutes|hour|hours|day|days) one interval after PutRule and every
// interval after that, cron(minutes hours day-of-month month day-of-week
// year) at each match in UTC (parsed with gronx, weekdays 1-7 from Sunday as
// AWS numbers them). Each run sends AWS's Scheduled Event (source
// aws.events, detail-type "Scheduled Event", resources [the rule's ARN],
// detail {}, time the run's) to the rule's targets alone, through the same
// delivery, Input shaping and retries as a matched event. The scheduler
// looks every minute of the clock; a clock that skips several runs gives
// one event. A disabled rule keeps its phase and sends nothing; PutRule
// with an unchanged expression keeps the phase too; a restored rule starts
// afresh. The scheduler starts with the first schedule rule and stops on
// [Service.Close].
//
// # Not emulated
//
// Archives, replays, API destinations,
// connections, global endpoints, partner event sources, tags and
// ConcurrentModificationException are not served. Targets other than
// Lambda, SQS and event buses are accepted and fail delivery. Policy
// conditions (organizations) are not evaluated: a "*" principal allows
// every account. Delivery order is not guaranteed, as on AWS; nor is
// exactly-once, which AWS does not promise either, but the emulator does
// not duplicate events. An event is routed through at most five buses,
// a guard against loops that AWS does not document.
package eventbridge
