import type { Tracer } from '@aws-lambda-powertools/tracer';
import {
  sharedDocumentClient,
  sharedEventBridgeClient,
  sharedSfnClient,
  sharedSqsClient,
} from './aws-clients';
import { DynamoDbAuditLog } from './dynamodb-audit-log';
import { DynamoDbFeatureStore } from './dynamodb-feature-store';
import { DynamoDbInstanceStore } from './dynamodb-instance-store';
import { EventBridgeEventPublisher } from './eventbridge-event-publisher';
import { SfnExecutionControl } from './sfn-execution-control';
import { SqsDispatchTrigger } from './sqs-dispatch-trigger';

/**
 * The AWS-backed ports a deployed function uses, built from its parsed environment at cold
 * start. Each handler module asks only for the ports its definition grants it.
 */

export const liveFeatureStore = (env: { featuresTable: string; instancesTable?: string }, tracer: Tracer) =>
  new DynamoDbFeatureStore({
    client: sharedDocumentClient(tracer),
    featuresTable: env.featuresTable,
    ...(env.instancesTable === undefined ? {} : { instancesTable: env.instancesTable }),
  });

export const liveInstanceStore = (env: { instancesTable: string }, tracer: Tracer) =>
  new DynamoDbInstanceStore({ client: sharedDocumentClient(tracer), instancesTable: env.instancesTable });

export const liveAuditLog = (env: { auditTable: string }, tracer: Tracer) =>
  new DynamoDbAuditLog({ client: sharedDocumentClient(tracer), auditTable: env.auditTable });

export const liveEventPublisher = (env: { eventBusName: string }, tracer: Tracer) =>
  new EventBridgeEventPublisher({ client: sharedEventBridgeClient(tracer), eventBusName: env.eventBusName });

/** Resuming executions needs no state machine ARN; starting them does. */
export const liveExecutionControl = (env: { stateMachineArn?: string }, tracer: Tracer) =>
  new SfnExecutionControl({ client: sharedSfnClient(tracer), stateMachineArn: env.stateMachineArn ?? '' });

export const liveDispatchTrigger = (env: { dispatchQueueUrl: string }, tracer: Tracer) =>
  new SqsDispatchTrigger({ client: sharedSqsClient(tracer), dispatchQueueUrl: env.dispatchQueueUrl });

/**
 * A Lambda entry point whose handler (clients, env parsing, ports) is built at the first
 * invocation and reused by every later one in the same execution environment.
 *
 * @example
 * export const handler = builtOnFirstCall(() => createScoreHandler({ ...livePorts }));
 */
export function builtOnFirstCall<A extends unknown[], R>(
  build: () => (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  let live: ((...args: A) => Promise<R>) | undefined;
  // async, so a failed build (e.g. a missing env variable) rejects like any other invocation error.
  return async (...args) => {
    live ??= build();
    return live(...args);
  };
}
