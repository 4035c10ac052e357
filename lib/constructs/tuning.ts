import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type EventPattern as CdkEventPattern, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunctionResource } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENV, type EventPattern, type FunctionDefinition, PROJECT_ROOT } from '../definitions';
import {
  type AnyOfEventPattern,
  DRIFT_METRIC,
  TUNING_FUNCTIONS,
  TUNING_RULES,
  TUNING_SCHEDULE,
  TUNING_STATE_MACHINE,
  type TuningFunctionName,
} from '../definitions/tuning';
import { acknowledgeFinding } from '../nag';
import type { CapabilityProps } from './capability-props';
import { createDeadLetterQueue } from './dead-letter-queue';
import { BundledFunctionFactory } from './function-factory';

export interface TuningProps extends CapabilityProps {
  /**
   * Minutes between tuning cycles.
   *
   * @default TUNING_SCHEDULE.rateMinutes
   */
  readonly cycleMinutes?: number;
}

/**
 * Continuous tuning: the observation feed (a rule on the bus to the observe function), the tuning
 * workflow (Standard state machine from statemachines/tuning.asl.json, started every few minutes
 * by a schedule) with its three task functions, and alarms on drift and on failed cycles. Every
 * function gets exactly the table access its definition in lib/definitions/tuning.ts declares.
 */
export class Tuning extends Construct {
  readonly functions: Readonly<Record<TuningFunctionName, LambdaFunctionResource>>;
  readonly stateMachine: StateMachine;
  readonly schedule: Rule;
  readonly observationRule: Rule;
  /** Failed asynchronous invocations of the observe function, after Lambda's retries. */
  readonly asyncFailureQueue: Queue;
  readonly driftAlarm: Alarm;
  readonly failedCyclesAlarm: Alarm;
  /** Observations the observe function failed to take after Lambda's retries (redrive: `npm run redrive -- --dlq tuning-async`). */
  readonly asyncFailureAlarm: Alarm;
  /** The ASL as loaded, placeholders intact. */
  readonly definitionText: string;

  constructor(scope: Construct, id: string, props: TuningProps) {
    super(scope, id);
    const { storage, ingest } = props;
    const factory = props.functionFactory ?? new BundledFunctionFactory();
    const retention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const stackName = Stack.of(this).stackName;

    this.asyncFailureQueue = createDeadLetterQueue(this, 'TuningAsyncFailureQueue', {
      fifo: false,
      retentionPeriod: Duration.days(14),
      ...(ingest.key === undefined ? {} : { encryptionKey: ingest.key }),
    });

    const functions = {} as Record<TuningFunctionName, LambdaFunctionResource>;
    for (const [name, definition] of Object.entries(TUNING_FUNCTIONS) as [
      TuningFunctionName,
      FunctionDefinition,
    ][]) {
      const asynchronous = Object.values(TUNING_RULES).some((rule) => rule.target.fn === name);
      const role = new Role(this, `${definition.id}Role`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `Flowtune ${definition.id}: exactly the access its definition in lib/definitions/tuning.ts declares`,
      });
      const logGroup = new LogGroup(this, `${definition.id}Logs`, {
        retention,
        encryptionKey: props.logsKey,
      });
      logGroup.grantWrite(role);
      const environment: Record<string, string> = {
        // The name the handler's Powertools use: flowtune-tuning-<handler folder>.
        POWERTOOLS_SERVICE_NAME: `flowtune-tuning-${definition.entry.split('/').at(-2) ?? definition.id}`,
        POWERTOOLS_METRICS_NAMESPACE: DRIFT_METRIC.namespace,
      };
      for (const { table, access } of definition.tables) {
        environment[table.envVar] = storage.table(table).tableName;
        storage.grantAccess(role, table, access);
      }
      if (definition.putsEvents) {
        environment[ENV.eventBusName] = ingest.bus.eventBusName;
        ingest.grantPutEvents(role);
      }
      const fn = factory.createFunction(this, definition.id, {
        description: definition.description,
        entry: definition.entry,
        role,
        memorySize: definition.memorySize,
        timeout: Duration.seconds(definition.timeoutSeconds),
        logGroup,
        environment,
        environmentKey: storage.configKey,
        concurrency: definition.concurrency,
        ...(asynchronous
          ? { deadLetterQueue: this.asyncFailureQueue }
          : {
              withoutDeadLetterQueue: `${definition.id} is invoked synchronously by the Tuning state machine, whose Retry and Catch handle every failure; a Lambda DLQ only receives failed asynchronous invocations.`,
            }),
      });
      // Lambda sends failed asynchronous invocations to the DLQ with the function's role.
      if (asynchronous) ingest.grantQueueKey(role);
      acknowledgeFinding(
        role,
        'AwsSolutions-IAM5[Resource::*]',
        'Resource "*" is only on xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing), which support no resource-level permissions.',
      );
      functions[name] = fn;
    }
    this.functions = functions;

    // The feed: producers' arrivals, completions and cancellations, and Flowtune's routings and
    // escalations, on the bus, to the observe function.
    const feed = TUNING_RULES.observations;
    const targetProps = {
      deadLetterQueue: ingest.deliveryDeadLetterQueue,
      retryAttempts: 10,
      maxEventAge: Duration.hours(24),
    };
    this.observationRule = new Rule(this, feed.id, {
      ruleName: `${stackName}-${feed.id}`,
      eventBus: ingest.bus,
      description: feed.description,
      // Verbatim from lib/definitions/tuning.ts: CDK renders keys as given ('detail-type', 'anything-but').
      eventPattern: asCdkPattern(feed.pattern),
      targets: [new LambdaFunction(functions[feed.target.fn], targetProps)],
    });

    // The workflow.
    this.definitionText = readFileSync(join(PROJECT_ROOT, TUNING_STATE_MACHINE.file), 'utf8');
    const stateMachineName = `${stackName}-${TUNING_STATE_MACHINE.id}`;
    const logs = new LogGroup(this, `${TUNING_STATE_MACHINE.id}Logs`, {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention,
      encryptionKey: props.logsKey,
      // Its name is fixed: a group kept after `cdk destroy` would block the next deploy.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, TUNING_STATE_MACHINE.id, {
      stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      comment:
        'Continuous tuning: drift, thresholds, experiments, promotion within guardrails or by approval',
      definitionBody: DefinitionBody.fromString(this.definitionText),
      definitionSubstitutions: {
        [TUNING_FUNCTIONS.tuningCycle.placeholder]: functions.tuningCycle.functionArn,
        [TUNING_FUNCTIONS.tuningApproval.placeholder]: functions.tuningApproval.functionArn,
        [TUNING_FUNCTIONS.tuningApply.placeholder]: functions.tuningApply.functionArn,
        EventBusName: ingest.bus.eventBusName,
      },
      timeout: Duration.days(TUNING_STATE_MACHINE.timeoutDays),
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [
          functions.tuningCycle.functionArn,
          functions.tuningApproval.functionArn,
          functions.tuningApply.functionArn,
        ],
      }),
    );
    ingest.grantPutEvents(this.stateMachine);
    acknowledgeFinding(
      this.stateMachine.role,
      'AwsSolutions-IAM5[Resource::*]',
      'Resource "*" is required by X-Ray (PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and by CloudWatch Logs log delivery (CreateLogDelivery and related), which support no resource-level permissions.',
    );

    this.schedule = new Rule(this, TUNING_SCHEDULE.id, {
      ruleName: `${stackName}-${TUNING_SCHEDULE.id}`,
      description: TUNING_SCHEDULE.description,
      schedule: Schedule.rate(Duration.minutes(props.cycleMinutes ?? TUNING_SCHEDULE.rateMinutes)),
      targets: [new SfnStateMachine(this.stateMachine, targetProps)],
    });

    // Alarms: drift found (someone should look, even when the loop acted), and cycles failing.
    this.driftAlarm = new Alarm(this, 'DriftAlarm', {
      alarmDescription:
        'Flowtune found drift (inputs, residuals, confidence or capacity); see the DriftDetected events.',
      metric: new Metric({
        namespace: DRIFT_METRIC.namespace,
        metricName: DRIFT_METRIC.name,
        dimensionsMap: { service: DRIFT_METRIC.service },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.failedCyclesAlarm = new Alarm(this, 'FailedCyclesAlarm', {
      alarmDescription: 'Tuning cycles are failing: drift detection and rollbacks are not running.',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(15), statistic: 'Sum' }),
      threshold: 2,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.asyncFailureAlarm = new Alarm(this, 'AsyncFailureAlarm', {
      alarmDescription:
        'Observations the tuning loop could not take (the observe function failed after its retries) are waiting in TuningAsyncFailureQueue: the loop is blind to them. Fix the cause, then redrive: npm run redrive -- --outputs <file> --dlq tuning-async.',
      metric: this.asyncFailureQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic !== undefined) {
      for (const alarm of [this.driftAlarm, this.failedCyclesAlarm, this.asyncFailureAlarm]) {
        alarm.addAlarmAction(new SnsAction(props.alarmTopic));
      }
    }
  }

  /** Every tuning function with a label, for dashboards. */
  functionList(): readonly { readonly label: string; readonly fn: LambdaFunctionResource }[] {
    return (Object.entries(this.functions) as [TuningFunctionName, LambdaFunctionResource][]).map(
      ([name, fn]) => ({
        label: TUNING_FUNCTIONS[name].id,
        fn,
      }),
    );
  }

  /** Lets `grantee` resume a waiting approval (the operations API's approve / reject of a policy change). */
  grantResumeApprovals(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [this.stateMachine.stateMachineArn],
      }),
    );
  }
}

/**
 * The definitions use the EventBridge pattern language itself; CDK's EventPattern type names only
 * plain string lists but renders any key verbatim (as EventIngest relies on too).
 */
function asCdkPattern(pattern: EventPattern | AnyOfEventPattern): CdkEventPattern {
  return pattern as CdkEventPattern;
}
