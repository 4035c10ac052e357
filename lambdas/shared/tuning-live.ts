import type { Tracer } from '@aws-lambda-powertools/tracer';
import { sharedDocumentClient } from './aws-clients';
import { DynamoDbTuningStore } from './dynamodb-tuning-store';
import { liveAuditLog, liveEventPublisher, liveFeatureStore } from './live-ports';
import { PolicyStore } from './policy-store';
import { systemClock } from './ports';

/** The DynamoDB-backed TuningStore of a deployed tuning function, built at cold start. */
export const liveTuningStore = (env: { featuresTable: string }, tracer: Tracer) =>
  new DynamoDbTuningStore({ client: sharedDocumentClient(tracer), featuresTable: env.featuresTable });

/** The PolicyStore of a deployed function: versions and the active pointer in Features, history in Audit, PolicyChanged on the bus. */
export const livePolicyStore = (
  env: { featuresTable: string; auditTable: string; eventBusName: string },
  tracer: Tracer,
) =>
  new PolicyStore({
    versions: liveTuningStore(env, tracer),
    features: liveFeatureStore(env, tracer),
    audit: liveAuditLog(env, tracer),
    events: liveEventPublisher(env, tracer),
    clock: systemClock,
  });
