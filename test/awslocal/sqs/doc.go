// Package sqs is Amazon SQS for rotor's local AWS endpoint: standard queues
// on SQS's JSON protocol (awsJson1_0, X-Amz-Target AmazonSQS.<Operation>),
// so that aws-sdk-go-v2, the AWS CLI and boto3 use it unchanged. Rotation
// events reach long-running consumers through queues that EventBridge rules
// target; [Service.SendFromService] is that delivery.
//
// Register [Service.JSONService] on an awsjson.Router. State is kept per
// account and region (the caller's, from the SigV4 credential scope);
// [Service.Snapshot] and [Service.Restore] save and load it as JSON.
//
// What follows the API reference
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/):
//
//   - Operations: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue,
//     GetQueueAttributes, SetQueueAttributes, PurgeQueue,
//     ListDeadLetterSourceQueues, TagQueue, UntagQueue, ListQueueTags,
//     SendMessage, SendMessageBatch, ReceiveMessage, DeleteMessage,
//     DeleteMessageBatch, ChangeMessageVisibility, ChangeMessageVisibilityBatch.
//   - Errors: __type is the service model's shape (com.amazonaws.sqs#QueueDoesNotExist)
//     and x-amzn-query-error the legacy code (AWS.SimpleQueueService.NonExistentQueue;Sender),
//     which the SDKs report as the error code; HTTP statuses are the model's.
//     The SDKs' typed errors (*types.QueueDoesNotExist, ...) match.
//   - Limits: 1 MiB (1,048,576 bytes) per message and per batch, body
//     characters of the XML set, 10 entries per batch, 10 message attributes,
//     attribute ranges of CreateQueue.
//   - Time: delays, visibility timeouts and retention follow the service's
//     clock, so a fast clock runs them fast. A long poll's wait is wall time:
//     it is how long a connection stays open.
//   - Long polling returns as soon as a message can be received (a queue
//     signals its waiters; nothing sleeps in a loop).
//   - Receipt handles are new on every receive. DeleteMessage with any
//     handle the message was given deletes it, and deleting twice succeeds;
//     ChangeMessageVisibility takes only the latest handle.
//   - Dead-letter queues: a message already received maxReceiveCount times
//     moves to the RedrivePolicy's queue when a receive would return it
//     again, keeping its id, sent time and receive count, with
//     DeadLetterQueueSourceArn set.
//   - MD5OfMessageBody and MD5OfMessageAttributes as SQS computes them.
//
// What is not emulated: FIFO queues (CreateQueue refuses them with
// UnsupportedOperation), queue policies and RedriveAllowPolicy (stored, not
// enforced: any account may use any queue), KMS encryption (attributes
// stored only), message move tasks, permissions (AddPermission), the
// "at least once" duplicates and sampled short polls of standard queues
// (every receivable message is returned, oldest first), and attribute
// propagation delays. The 60-second cooldowns of PurgeQueue and of a
// deleted queue's name are off unless [Options.Cooldowns] is set.
package sqs
