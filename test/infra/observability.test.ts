import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { Observability, type ObservabilityProps } from '../../lib/constructs/observability';
import { RULES } from '../../lib/definitions';
import { logicalIdOf, resourcesOfType, synthFlowtune } from './support';

const { stack, template } = synthFlowtune();
const observability = stack.observability;
const ref = (construct: IConstruct) => ({ Ref: logicalIdOf(stack, construct) });
const queueNameOf = (construct: IConstruct) => ({
  'Fn::GetAtt': [logicalIdOf(stack, construct), 'QueueName'],
});

const deadLetterQueues = [
  stack.ingest.deliveryDeadLetterQueue,
  stack.ingest.queues.intake.deadLetterQueue,
  stack.ingest.queues.dispatch.deadLetterQueue,
  stack.orchestration.asyncFailureQueue,
];

/** A CloudFormation token inside the dashboard body, rendered as a plain marker string. */
const token = (value: unknown) => `<<${JSON.stringify(value)}>>`;

/**
 * Every metric line of the dashboard as [namespace, metric name, ...dimension names and values],
 * with the CloudFormation tokens of the body replaced by markers (see `token`).
 */
function dashboardMetrics(): string[][] {
  const [entry] = resourcesOfType(template, 'AWS::CloudWatch::Dashboard');
  const body = entry?.[1].Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] } | undefined;
  if (body === undefined) throw new Error('no dashboard in the template');
  const text = body['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : token(part).replace(/"/g, '\\"')))
    .join('');
  const dashboard = JSON.parse(text) as { widgets: { properties: { metrics?: unknown[][] } }[] };
  return dashboard.widgets.flatMap((widget) =>
    (widget.properties.metrics ?? []).map((line) =>
      line.filter((part): part is string => typeof part === 'string'),
    ),
  );
}

describe('Observability', () => {
  it('alarms on failed process executions', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: ref(stack.orchestration.stateMachine) }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [ref(observability.alarmTopic)],
    });
  });

  it.each(deadLetterQueues.map((queue) => [queue.node.path, queue] as const))(
    'alarms as soon as a message waits in dead-letter queue %s',
    (_, queue) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: queueNameOf(queue) }],
        Threshold: 1,
        AlarmActions: [ref(observability.alarmTopic)],
      });
    },
  );

  it('sends every alarm to the alarm topic', () => {
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm');

    expect(alarms.length).toBeGreaterThanOrEqual(1 + deadLetterQueues.length);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties?.AlarmActions).toEqual([ref(observability.alarmTopic)]);
    }
  });

  it('encrypts the alarm topic with a key CloudWatch may use, and refuses publishing without TLS', () => {
    const topicKey = observability.alarmTopic.masterKey;
    if (topicKey === undefined) throw new Error('the alarm topic has no key');
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(stack, topicKey), 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(observability.alarmTopic)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
  });

  it('charts executions started, succeeded, failed and timed out', () => {
    const metrics = dashboardMetrics();
    const stateMachine = token(ref(stack.orchestration.stateMachine));

    for (const metric of [
      'ExecutionsStarted',
      'ExecutionsSucceeded',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
    ]) {
      expect(metrics).toContainEqual(['AWS/States', metric, 'StateMachineArn', stateMachine]);
    }
  });

  it('charts errors and duration of every function', () => {
    const metrics = dashboardMetrics();

    for (const fn of Object.values(stack.orchestration.functions)) {
      expect(metrics).toContainEqual(['AWS/Lambda', 'Errors', 'FunctionName', token(ref(fn))]);
      expect(metrics).toContainEqual(['AWS/Lambda', 'Duration', 'FunctionName', token(ref(fn))]);
    }
  });

  it('charts the depth of every work queue and every dead-letter queue', () => {
    const metrics = dashboardMetrics();

    for (const queue of [
      stack.ingest.queues.intake.queue,
      stack.ingest.queues.dispatch.queue,
      ...deadLetterQueues,
    ]) {
      expect(metrics).toContainEqual([
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        token(queueNameOf(queue)),
      ]);
    }
  });

  it('charts failed deliveries of every rule, keyed by its name (and the bus name on the custom bus)', () => {
    const metrics = dashboardMetrics();
    const bus = token(ref(stack.ingest.bus));

    for (const rule of Object.values(RULES)) {
      expect(metrics).toContainEqual([
        'AWS/Events',
        'FailedInvocations',
        'EventBusName',
        bus,
        'RuleName',
        `Flowtune-${rule.id}`,
      ]);
    }
    expect(metrics).toContainEqual(['AWS/Events', 'FailedInvocations', 'RuleName', 'Flowtune-DispatchTick']);
  });
});

describe('Observability on its own', () => {
  /** An Observability in a bare stack, over a one-state machine and nothing else. */
  function observabilityWith(props: Partial<ObservabilityProps>): {
    construct: Observability;
    template: Template;
  } {
    const bare = new Stack(new App(), 'Bare');
    const machine = new StateMachine(bare, 'Machine', {
      definitionBody: DefinitionBody.fromChainable(new Pass(bare, 'Nothing')),
    });
    const construct = new Observability(bare, 'Observability', {
      stateMachine: machine,
      functions: [],
      queues: [],
      deadLetterQueues: [],
      rules: [],
      anomalyDetectionAlarms: false,
      ...props,
    });
    return { construct, template: Template.fromStack(bare) };
  }

  it('sets the forecast-error alarm at the allocation guardrail it is given', () => {
    const { construct, template } = observabilityWith({ forecastWapeThreshold: 0.45 });

    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ForecastWape',
      Threshold: 45,
    });
    expect(construct.alarms).toContain(construct.forecastErrorAlarm);
    expect(construct.alarms).toContain(construct.staffingApprovalAlarm);
  });

  it('refuses a forecast-error threshold that is not above 0, showing the value and an example', () => {
    expect(() => observabilityWith({ forecastWapeThreshold: 0 })).toThrow(
      /forecastWapeThreshold must be above 0, e\.g\. 0\.3 for 30%.*got 0$/,
    );
  });
});
