package rotor

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsconfig"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// MonitoringProps configure an environment's alarms and dashboard.
type MonitoringProps struct {
	// EnvironmentName names the dashboard, the log groups and the metric
	// namespace (Rotor/<name>). Required.
	EnvironmentName string
	// Bus is the environment's rotor bus, which carries rotor's events and
	// Secrets Manager's (see [NewRotationEvents]). Required.
	Bus awsevents.IEventBus
	// Functions get an errors alarm and a duration alarm each.
	Functions []*RotatorFunction
	// AcknowledgedSecrets are the names of secrets with consumers: each gets
	// an alarm on MetricUnacknowledgedConsumers.
	AcknowledgedSecrets []string
	// Consumers get an alarm on their dead-letter queue.
	Consumers []*ConsumerSubscription
	// AlarmTopic is notified by every alarm. Optional.
	AlarmTopic awssns.ITopic
	// RotationWindowCheck deploys the AWS Config rule
	// SECRETSMANAGER_SCHEDULED_ROTATION_SUCCESS_CHECK (it needs a recorder in
	// the account) and alarms when a secret becomes NON_COMPLIANT.
	RotationWindowCheck bool
	// LogRetention of the failure and window log groups; default one year.
	LogRetention awslogs.RetentionDays
}

// Monitoring is an environment's alarms and dashboard.
//
// Alarms:
//   - RotationFailures: rotor's "Rotation Failed" events and Secrets Manager's
//     RotationFailed events (CloudTrail service events), written by two rules
//     to a log group whose metric filter counts them into
//     Rotor/<environment> RotationFailures;
//   - per function: Lambda Errors, and Duration (maximum) above 80% of the
//     timeout;
//   - per secret with consumers: UnacknowledgedConsumers (namespace Rotor,
//     dimension SecretName), which the deactivation gate publishes: the
//     number of registered consumers that have not acknowledged the current
//     version;
//   - per consumer: messages in its dead-letter queue;
//   - with RotationWindowCheck: Rotor/<environment> SecretsPastRotationWindow,
//     counting AWS Config's NON_COMPLIANT results for secrets whose scheduled
//     rotation did not succeed in its window. Without it, a secret past its
//     window is seen only when its rotation fails (RotationFailures).
type Monitoring struct {
	alarms        []awscloudwatch.Alarm
	failures      awslogs.LogGroup
	failuresRules []awsevents.Rule
	pastWindow    awslogs.LogGroup
	configRule    awsconfig.ManagedRule
	dashboard     awscloudwatch.Dashboard
}

// NewMonitoring creates the alarms and the dashboard.
func NewMonitoring(scope constructs.Construct, id string, props *MonitoringProps) *Monitoring {
	if props == nil || props.EnvironmentName == "" || props.Bus == nil {
		panic("rotor: NewMonitoring: EnvironmentName and Bus are required")
	}
	s := constructs.NewConstruct(scope, jsii.String(id))
	m := &Monitoring{}
	retention := props.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_ONE_YEAR
	}
	ns := EnvironmentNamespace(props.EnvironmentName)
	delivery := newLogDelivery(s, "LogDelivery")
	five := awscdk.Duration_Minutes(jsii.Number(5))

	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64, periods int) awscloudwatch.Alarm {
		a := awscloudwatch.NewAlarm(s, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(float64(periods)),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if props.AlarmTopic != nil {
			a.AddAlarmAction(awscloudwatchactions.NewSnsAction(props.AlarmTopic))
		}
		m.alarms = append(m.alarms, a)
		return a
	}

	// Rotation failures: rotor's and Secrets Manager's.
	failuresName := "/rotor/" + props.EnvironmentName + "/rotation-failures"
	m.failures = awslogs.NewLogGroup(s, jsii.String("RotationFailures"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(failuresName),
		Retention:     retention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	patterns := map[string]*awsevents.EventPattern{
		"RotorFailedRule": {
			Source:     jsii.Strings(EventSource),
			DetailType: jsii.Strings(DetailRotationFailed),
		},
		"SecretsManagerFailedRule": {
			Source:     jsii.Strings(SecretsManagerSource),
			DetailType: jsii.Strings(DetailCloudTrailService),
			Detail:     &map[string]any{"eventName": []string{EventNameRotationFailed}},
		},
	}
	for _, rid := range []string{"RotorFailedRule", "SecretsManagerFailedRule"} {
		rule := awsevents.NewRule(s, jsii.String(rid), &awsevents.RuleProps{
			Description:  jsii.String("rotation failures to " + failuresName),
			EventBus:     props.Bus,
			EventPattern: patterns[rid],
		})
		delivery.route(rule, m.failures)
		m.failuresRules = append(m.failuresRules, rule)
	}
	failures := awslogs.NewMetricFilter(s, jsii.String("RotationFailuresMetric"), &awslogs.MetricFilterProps{
		LogGroup:        m.failures,
		FilterPattern:   awslogs.FilterPattern_AllEvents(),
		MetricNamespace: jsii.String(ns),
		MetricName:      jsii.String(MetricRotationFailures),
		MetricValue:     jsii.String("1"),
		Unit:            awscloudwatch.Unit_COUNT,
	}).Metric(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: five})
	alarm("RotationFailuresAlarm", "a rotation failed (rotor's Rotation Failed or Secrets Manager's RotationFailed); see log group "+failuresName, failures, 1, 1)

	var errorMetrics, durationMetrics []awscloudwatch.IMetric
	for i, fn := range props.Functions {
		errs := fn.Function().MetricErrors(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: five})
		alarm(fmt.Sprintf("Function%dErrorsAlarm", i), "a rotation step of function "+*fn.Function().Node().Path()+" returned an error", errs, 1, 1)
		dur := fn.Function().MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: five})
		limit := *fn.Timeout().ToMilliseconds(nil) * 0.8
		alarm(fmt.Sprintf("Function%dDurationAlarm", i), "a rotation step of function "+*fn.Function().Node().Path()+" ran longer than 80% of its timeout", dur, limit, 1)
		errorMetrics = append(errorMetrics, errs)
		durationMetrics = append(durationMetrics, dur)
	}

	var unacked []awscloudwatch.IMetric
	for i, name := range props.AcknowledgedSecrets {
		metric := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(MetricNamespace),
			MetricName:    jsii.String(MetricUnacknowledgedConsumers),
			DimensionsMap: &map[string]*string{DimensionSecretName: jsii.String(name)},
			Statistic:     jsii.String("Maximum"),
			Period:        awscdk.Duration_Hours(jsii.Number(1)),
		})
		alarm(fmt.Sprintf("Unacknowledged%dAlarm", i), "consumers of "+name+" have not acknowledged its current version for two hours", metric, 1, 2)
		unacked = append(unacked, metric)
	}

	var dlqs []awscloudwatch.IMetric
	for i, c := range props.Consumers {
		metric := c.DeadLetterQueue().MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("Maximum"), Period: five,
		})
		alarm(fmt.Sprintf("Consumer%dDeadLettersAlarm", i), "events for consumer "+c.Name()+" are in its dead-letter queue", metric, 1, 1)
		dlqs = append(dlqs, metric)
	}

	var pastWindow awscloudwatch.IMetric
	if props.RotationWindowCheck {
		m.configRule = awsconfig.NewManagedRule(s, jsii.String("RotationWindowCheck"), &awsconfig.ManagedRuleProps{
			Identifier:  awsconfig.ManagedRuleIdentifiers_SECRETSMANAGER_SCHEDULED_ROTATION_SUCCESS_CHECK(),
			Description: jsii.String("secrets whose scheduled rotation did not succeed in its window"),
			RuleScope:   awsconfig.RuleScope_FromResources(&[]awsconfig.ResourceType{awsconfig.ResourceType_SECRETS_MANAGER_SECRET()}),
		})
		pastName := "/rotor/" + props.EnvironmentName + "/past-rotation-window"
		m.pastWindow = awslogs.NewLogGroup(s, jsii.String("PastRotationWindow"), &awslogs.LogGroupProps{
			LogGroupName:  jsii.String(pastName),
			Retention:     retention,
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		// AWS Config publishes on the default bus.
		rule := m.configRule.OnComplianceChange(jsii.String("NonCompliantRule"), &awsevents.OnEventOptions{
			Description: jsii.String("secrets past their rotation window to " + pastName),
			EventPattern: &awsevents.EventPattern{
				Detail: &map[string]any{"newEvaluationResult": map[string]any{"complianceType": []string{ComplianceNonCompliant}}},
			},
		})
		delivery.route(rule, m.pastWindow)
		pastWindow = awslogs.NewMetricFilter(s, jsii.String("PastRotationWindowMetric"), &awslogs.MetricFilterProps{
			LogGroup:        m.pastWindow,
			FilterPattern:   awslogs.FilterPattern_AllEvents(),
			MetricNamespace: jsii.String(ns),
			MetricName:      jsii.String(MetricSecretsPastWindow),
			MetricValue:     jsii.String("1"),
			Unit:            awscloudwatch.Unit_COUNT,
		}).Metric(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1))})
		alarm("PastRotationWindowAlarm", "a secret's scheduled rotation did not succeed in its window (AWS Config: NON_COMPLIANT); see log group "+pastName, pastWindow, 1, 1)
	}

	m.dashboard = awscloudwatch.NewDashboard(s, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String("rotor-" + props.EnvironmentName),
	})
	alarmRefs := make([]interfacesawscloudwatch.IAlarmRef, len(m.alarms))
	for i, a := range m.alarms {
		alarmRefs[i] = a
	}
	graph := func(title string, left []awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &left, Width: jsii.Number(12)})
	}
	m.dashboard.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String("rotor " + props.EnvironmentName + " alarms"), Alarms: &alarmRefs, Width: jsii.Number(24),
	}))
	failureWidgets := []awscloudwatch.IMetric{failures}
	if pastWindow != nil {
		failureWidgets = append(failureWidgets, pastWindow)
	}
	m.dashboard.AddWidgets(graph("Rotation failures and secrets past their window", failureWidgets), graph("Function errors", errorMetrics))
	m.dashboard.AddWidgets(graph("Rotation step duration (maximum)", durationMetrics), graph("Unacknowledged consumers", unacked))
	if len(dlqs) > 0 {
		m.dashboard.AddWidgets(graph("Consumer dead-letter queues", dlqs))
	}
	return m
}

// Alarms are every alarm, in creation order.
func (m *Monitoring) Alarms() []awscloudwatch.Alarm { return m.alarms }

// FailuresLogGroup holds every rotation failure event.
func (m *Monitoring) FailuresLogGroup() awslogs.LogGroup { return m.failures }

// FailureRules are the rules that feed FailuresLogGroup.
func (m *Monitoring) FailureRules() []awsevents.Rule { return m.failuresRules }

// ConfigRule is the rotation window check; nil without RotationWindowCheck.
func (m *Monitoring) ConfigRule() awsconfig.ManagedRule { return m.configRule }

// Dashboard is the environment's dashboard.
func (m *Monitoring) Dashboard() awscloudwatch.Dashboard { return m.dashboard }
