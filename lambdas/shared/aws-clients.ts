import type { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * AWS SDK clients, built once per process (cold start) and captured by the tracer so every call
 * shows in X-Ray. The local runtime builds its own with `createDocumentClient({ endpoint })`.
 */

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8000 for DynamoDB Local. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** A DocumentClient that drops undefined attributes (optional fields are simply not written). */
export function createDocumentClient(options: ClientOptions = {}, tracer?: Tracer): DynamoDBDocumentClient {
  const base = new DynamoDBClient({ ...options });
  const client = DynamoDBDocumentClient.from(tracer === undefined ? base : tracer.captureAWSv3Client(base), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return client;
}

let documentClient: DynamoDBDocumentClient | undefined;
let eventBridgeClient: EventBridgeClient | undefined;
let sfnClient: SFNClient | undefined;
let sqsClient: SQSClient | undefined;

export function sharedDocumentClient(tracer: Tracer): DynamoDBDocumentClient {
  documentClient ??= createDocumentClient({}, tracer);
  return documentClient;
}

export function sharedEventBridgeClient(tracer: Tracer): EventBridgeClient {
  eventBridgeClient ??= tracer.captureAWSv3Client(new EventBridgeClient({}));
  return eventBridgeClient;
}

export function sharedSfnClient(tracer: Tracer): SFNClient {
  sfnClient ??= tracer.captureAWSv3Client(new SFNClient({}));
  return sfnClient;
}

export function sharedSqsClient(tracer: Tracer): SQSClient {
  sqsClient ??= tracer.captureAWSv3Client(new SQSClient({}));
  return sqsClient;
}
