import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunctionResource } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../definitions';
import { ALLOCATION_FUNCTIONS, ALLOCATION_SCHEDULE, ALLOCATION_SERVICE } from '../definitions/allocation';
import { acknowledgeFinding } from '../nag';
import type { CapabilityProps } from './capability-props';
import { createDeadLetterQueue } from './dead-letter-queue';
import { BundledFunctionFactory } from './function-factory';

export interface AllocationProps extends CapabilityProps {
  /**
   * Minutes between runs; match the guardrails' `intervalMinutes` (the job plans one interval at a time).
   *
   * @default ALLOCATION_SCHEDULE.rateMinutes
   */
  readonly rateMinutes?: number;
}

/**
 * Resource allocation on AWS: the allocation job (one Lambda, lambdas/allocation/handler.ts)
 * started by an EventBridge schedule once per forecast interval, with exactly the table and bus
 * access its definition in lib/definitions/allocation.ts declares, encrypted logs, a dead-letter
 * queue for runs that keep failing, and alarms on failed runs and on that queue.
 */
export class Allocation extends Construct {
  readonly fn: LambdaFunctionResource;
  readonly schedule: Rule;
  /** Failed asynchronous invocations (runs), after Lambda's retries. */
  readonly asyncFailureQueue: Queue;
  readonly failedRunsAlarm: Alarm;
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: AllocationProps) {
    super(scope, id);
    const { storage, ingest } = props;
    const definition = ALLOCATION_FUNCTIONS[ALLOCATION_SCHEDULE.target];
    const factory = props.functionFactory ?? new BundledFunctionFactory();
    const rateMinutes = props.rateMinutes ?? ALLOCATION_SCHEDULE.rateMinutes;
    if (!Number.isInteger(rateMinutes) || rateMinutes < 1) {
      throw new Error(`Allocation rateMinutes must be a whole number of minutes ≥ 1; got ${rateMinutes}.`);
    }

    this.asyncFailureQueue = createDeadLetterQueue(this, 'AllocationAsyncFailureQueue', {
      fifo: false,
      retentionPeriod: Duration.days(14),
      ...(ingest.key === undefined ? {} : { encryptionKey: ingest.key }),
    });

    const role = new Role(this, `${definition.id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Flowtune ${definition.id}: exactly the access its definition in lib/definitions/allocation.ts declares`,
    });
    const logGroup = new LogGroup(this, `${definition.id}Logs`, {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      encryptionKey: props.logsKey,
    });
    logGroup.grantWrite(role);
    const environment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: ALLOCATION_SERVICE,
      POWERTOOLS_METRICS_NAMESPACE: 'Flowtune',
      [ENV.eventBusName]: ingest.bus.eventBusName,
    };
    for (const { table, access } of definition.tables) {
      environment[table.envVar] = storage.table(table).tableName;
      storage.grantAccess(role, table, access);
    }
    ingest.grantPutEvents(role);

    this.fn = factory.createFunction(this, definition.id, {
      description: definition.description,
      entry: definition.entry,
      role,
      memorySize: definition.memorySize,
      timeout: Duration.seconds(definition.timeoutSeconds),
      logGroup,
      environment,
      environmentKey: storage.configKey,
      concurrency: definition.concurrency,
      deadLetterQueue: this.asyncFailureQueue,
    });
    // Lambda sends failed asynchronous invocations to the DLQ with the function's role.
    ingest.grantQueueKey(role);
    acknowledgeFinding(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'Resource "*" is only on xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing), which support no resource-level permissions.',
    );

    // A run that cannot be delivered within one interval is superseded by the next one.
    const interval = Duration.minutes(rateMinutes);
    this.schedule = new Rule(this, ALLOCATION_SCHEDULE.id, {
      ruleName: `${Stack.of(this).stackName}-${ALLOCATION_SCHEDULE.id}`,
      description: ALLOCATION_SCHEDULE.description,
      schedule: Schedule.rate(interval),
      targets: [
        new LambdaFunction(this.fn, {
          deadLetterQueue: ingest.deliveryDeadLetterQueue,
          retryAttempts: 2,
          maxEventAge: interval,
        }),
      ],
    });

    this.failedRunsAlarm = new Alarm(this, 'FailedRunsAlarm', {
      alarmDescription:
        'Allocation runs are failing: staffing is not being re-planned (see the AllocationRun logs; invalid settings fail every run).',
      metric: this.fn.metricErrors({
        period: Duration.minutes(Math.max(15, 2 * rateMinutes)),
        statistic: 'Sum',
      }),
      threshold: 2,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'An allocation run failed after every retry and waits in its dead-letter queue.',
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
      this.failedRunsAlarm.addAlarmAction(new SnsAction(props.alarmTopic));
      this.deadLetterAlarm.addAlarmAction(new SnsAction(props.alarmTopic));
    }
  }
}
