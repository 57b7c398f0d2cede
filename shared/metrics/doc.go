// Package metrics writes CloudWatch metrics in the Embedded Metric Format:
// one JSON log line per observation, which Lambda's log pipeline turns into
// metrics without a PutMetricData call (no extra latency, no extra IAM, and
// nothing lost when the function times out after logging).
//
// Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
//
// A metric carries a name, a number and dimensions; dimension values are
// names of secrets and consumers, never their values.
package metrics
