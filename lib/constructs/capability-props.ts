import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { EventIngest } from './event-ingest';
import type { FunctionFactory } from './function-factory';
import type { Storage } from './storage';

/**
 * What every capability composed beside the process (tuning, allocation, the connector) is
 * built on: the stack's tables and bus, its logs key, the function factory, log retention and
 * the alarm topic.
 */
export interface CapabilityProps {
  readonly storage: Storage;
  /** The bus the capability listens on or publishes to; its delivery DLQ catches what a rule could not hand over. */
  readonly ingest: EventIngest;
  /** Encrypts the capability's log groups (the process's logs key fits). */
  readonly logsKey: IKey;
  /**
   * Builds the Lambda functions; tests pass a `TestFunctionFactory` to skip bundling.
   *
   * @default new BundledFunctionFactory()
   */
  readonly functionFactory?: FunctionFactory;
  /**
   * Retention of the capability's logs.
   *
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Where the capability's alarms notify.
   *
   * @default - alarms without actions (they still show on dashboards)
   */
  readonly alarmTopic?: ITopic;
}
