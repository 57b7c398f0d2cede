// Package audit is rotor's local audit sink: every event of a rotation is
// also a durable audit record (DESIGN.md, "The rotation workflow", the
// Record row). In AWS the CDK app routes rotor's and Secrets Manager's
// events to CloudWatch Logs; locally, [Subscribe] routes them from one or
// more EventBridge buses to an SQS queue, and [Consume] appends each to a
// file of JSON lines through a [Writer].
//
// # What a line is
//
// One line per event: the EventBridge envelope exactly as the queue
// delivered it (version, id, detail-type, source, account, time, region,
// resources, detail; compacted onto one line, nothing else changed), with
// "receivedAt" added, and "invalid": "<field>: <reason>" when the event is
// not what it claims to be. Rotor events (source "rotor", and the
// consumers' acknowledgements of source "rotor.consumer.<name>") are
// checked with
// [events.Parse]; Secrets Manager's own events (source
// "aws.secretsmanager", see
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-eventbridge.html)
// must have an envelope. An event that fails its check, or has another
// source, is recorded all the same, flagged: an audit log drops nothing it
// was given. A message that is no envelope with an id (not JSON, not an
// object, no "id", or a field the writer adds) is recorded as
// {"receivedAt","invalid","messageId","body"}, the body as a JSON string,
// and deduplicated by its SQS message id.
//
// The writer cannot tell a secret value from any other string, so it does
// not try: it writes what the bus carried, and the rule that events carry
// no secret value (package events) is what keeps values out. The tests scan
// the log of a real rotation for the secret's values.
//
// # Durability
//
// Each line is one write(2) on a file opened with O_APPEND, so concurrent
// appenders never interleave inside a line. [Consume] fsyncs the file
// after writing a batch and only then deletes the batch from the queue
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessageBatch.html):
// a crash before the fsync loses nothing (the messages come back once their
// visibility timeout ends), a crash between the fsync and the delete
// delivers them again, and the writer drops an event whose id it has
// already written. A line torn by a crash in the middle of a write is
// never acknowledged, so [Open] cuts it off the end of the file.
//
// # Dedupe: a bounded set seeded from the file's tail
//
// The writer remembers the ids of the last [Options.RecentIDs] lines: at
// [Open] it reads them from the end of the file, backwards, and it adds
// each id it writes, forgetting the oldest. The alternatives: reading the
// whole file at every start remembers every id, but costs time and memory
// that grow with the log forever; remembering only the ids written since
// the process started forgets exactly the ones a restart redelivers. A
// redelivery comes within the queue's visibility timeout of the first
// receive (or, after a crash, of the restart), so it is among the most
// recent lines unless more than RecentIDs other events arrived meanwhile:
// only then is a duplicate line written, which readers must tolerate in
// any case, since EventBridge itself delivers at least once.
package audit
