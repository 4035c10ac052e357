import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';

/**
 * Idempotency for calls whose effect lies outside Flowtune's tables. Everything Flowtune writes
 * itself is made idempotent by conditional writes on the record it changes (the instance's stage
 * and tokens, the agent's activeCount, the audit key): the condition IS the state, so there is no
 * second record to keep in step. An external call has no such record: Powertools idempotency
 * keeps one (IN_PROGRESS while the call runs, COMPLETED with its result), so a duplicate event
 * returns the stored result instead of calling again, and a failed call leaves no record, so its
 * retry calls again.
 */

export interface IdempotencyOptions {
  /** Table of lib/definitions/connectors.ts IDEMPOTENCY_TABLE (partition key `id`). */
  readonly tableName: string;
  /** JMESPath over the payload that identifies one logical operation. */
  readonly eventKeyJmesPath: string;
  /** Prefix of every key, so two functions sharing a table never collide. */
  readonly keyPrefix: string;
  /** How long a COMPLETED record answers duplicates. */
  readonly expiresAfterSeconds: number;
  /** A client for a local endpoint (DynamoDB Local); the default client otherwise. */
  readonly client?: DynamoDBClient;
}

/**
 * `operation` made idempotent on `eventKeyJmesPath` of its first argument, with records in DynamoDB.
 * A duplicate that arrives while the first call still runs fails with
 * IdempotencyAlreadyInProgressError (so it is retried later and then gets the stored result).
 * Pass the Lambda context as the second argument: the IN_PROGRESS record then expires with the
 * invocation, so an invocation that timed out mid-call does not block its own retries.
 *
 * @example
 * const deliverOnce = idempotent(deliver, { tableName, eventKeyJmesPath: '[detail.id, detail.attempt]',
 *   keyPrefix: 'connector', expiresAfterSeconds: 14 * 86_400 });
 * await deliverOnce(event, context);
 */
export function idempotent<Input, Output>(
  operation: (input: Input, context?: Context) => Promise<Output>,
  options: IdempotencyOptions,
): (input: Input, context?: Context) => Promise<Output> {
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.tableName,
    ...(options.client === undefined ? {} : { awsSdkV3Client: options.client }),
  });
  const config = new IdempotencyConfig({
    eventKeyJmesPath: options.eventKeyJmesPath,
    // No key means the event is not what we think it is: refuse rather than run unprotected.
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: options.expiresAfterSeconds,
  });
  return makeIdempotent(operation, { persistenceStore, config, keyPrefix: options.keyPrefix });
}
