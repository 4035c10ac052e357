import type { Tracer } from '@aws-lambda-powertools/tracer';
import { sharedDocumentClient } from './aws-clients';
import { DynamoDbTuningStore } from './dynamodb-tuning-store';

/** The DynamoDB-backed TuningStore of a deployed tuning function, built at cold start. */
export const liveTuningStore = (env: { featuresTable: string }, tracer: Tracer) =>
  new DynamoDbTuningStore({ client: sharedDocumentClient(tracer), featuresTable: env.featuresTable });
