import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** Something shown on the dashboard under a human label. */
export interface Labelled<T> {
  readonly label: string;
  readonly resource: T;
}

/** An EventBridge rule by the names its metrics are keyed by. */
export interface ObservedRule {
  readonly label: string;
  readonly ruleName: string;
  /**
   * The bus of a rule on a custom bus (its metrics carry the bus name as well).
   *
   * @default - the default bus
   */
  readonly busName?: string;
}

export interface ObservabilityProps {
  readonly stateMachine: IStateMachine;
  readonly functions: readonly Labelled<IFunction>[];
  /** Work queues: depth and age of the oldest message. */
  readonly queues: readonly Labelled<IQueue>[];
  /** Dead-letter queues: each gets a depth alarm. */
  readonly deadLetterQueues: readonly Labelled<IQueue>[];
  readonly rules: readonly ObservedRule[];
  /**
   * Period over which alarms evaluate.
   *
   * @default Duration.minutes(5)
   */
  readonly alarmPeriod?: Duration;
}

/**
 * A first operations view: the dashboard (executions, functions, queues, dead letters, rule
 * deliveries) and alarms on failed or timed-out executions and on every dead-letter queue's depth,
 * all notifying one encrypted, TLS-only SNS topic.
 */
export class Observability extends Construct {
  readonly dashboard: Dashboard;
  /** Subscribe on-call channels here. */
  readonly alarmTopic: Topic;
  readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const period = props.alarmPeriod ?? Duration.minutes(5);

    const topicKey = new Key(this, 'AlarmTopicKey', {
      description: 'Flowtune: encryption of the alarm notification topic',
      enableKeyRotation: true,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic with its own principal.
    topicKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'Flowtune alarms',
      masterKey: topicKey,
      enforceSSL: true,
    });
    const notify = new SnsAction(this.alarmTopic);

    const executions = {
      started: props.stateMachine.metricStarted({ period }),
      succeeded: props.stateMachine.metricSucceeded({ period }),
      failed: props.stateMachine.metricFailed({ period }),
      timedOut: props.stateMachine.metricTimedOut({ period }),
    };
    const alarms: Alarm[] = [
      new Alarm(this, 'ExecutionsFailedAlarm', {
        alarmDescription:
          'Process-instance executions failed: a work item left the process without an outcome.',
        metric: executions.failed,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'ExecutionsTimedOutAlarm', {
        alarmDescription: 'Process-instance executions hit the state machine timeout.',
        metric: executions.timedOut,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      ...props.deadLetterQueues.map(
        ({ label, resource }) =>
          new Alarm(this, `${pascal(label)}DepthAlarm`, {
            alarmDescription: `Messages are waiting in the ${label} dead-letter queue: inspect and redrive them.`,
            metric: resource.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
            threshold: 1,
            evaluationPeriods: 1,
            comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treatMissingData: TreatMissingData.NOT_BREACHING,
          }),
      ),
    ];
    for (const alarm of alarms) alarm.addAlarmAction(notify);
    this.alarms = alarms;

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const wide = 12;
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: '# Flowtune\nExecutions, functions, queues and event deliveries of the work-item process.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Executions',
        left: [executions.started, executions.succeeded, executions.failed, executions.timedOut],
        width: wide,
      }),
      new GraphWidget({
        title: 'Rule deliveries that failed',
        left: props.rules.map((rule) => ruleFailedInvocations(rule, period)),
        width: wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Function errors',
        left: props.functions.map(({ label, resource }) => resource.metricErrors({ period, label })),
        width: wide,
      }),
      new GraphWidget({
        title: 'Function duration (p90)',
        left: props.functions.map(({ label, resource }) =>
          resource.metricDuration({ period, label, statistic: 'p90' }),
        ),
        width: wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Queue depth',
        left: props.queues.map(({ label, resource }) => queueDepth(label, resource, period)),
        right: props.queues.map(({ label, resource }) =>
          resource.metricApproximateAgeOfOldestMessage({
            period,
            label: `${label} oldest (s)`,
            statistic: 'Maximum',
          }),
        ),
        width: wide,
      }),
      new GraphWidget({
        title: 'Dead-letter queue depth',
        left: props.deadLetterQueues.map(({ label, resource }) => queueDepth(label, resource, period)),
        width: wide,
      }),
    );
  }
}

function queueDepth(label: string, queue: IQueue, period: Duration): IMetric {
  return queue.metricApproximateNumberOfMessagesVisible({ period, label, statistic: 'Maximum' });
}

/** AWS/Events FailedInvocations of one rule. */
function ruleFailedInvocations({ label, ruleName, busName }: ObservedRule, period: Duration): IMetric {
  return new Metric({
    namespace: 'AWS/Events',
    metricName: 'FailedInvocations',
    dimensionsMap:
      busName === undefined ? { RuleName: ruleName } : { EventBusName: busName, RuleName: ruleName },
    statistic: 'Sum',
    period,
    label,
  });
}

function pascal(label: string): string {
  return label
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word.length > 0)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}
