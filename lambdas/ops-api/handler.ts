import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { BacklogSnapshotRequest } from '../../domain/ops/api';
import { LIVE_STAGES, type LiveStage } from '../../domain/ops/bottleneck';
import { METRICS } from '../../domain/ops/metrics';
import type { AllocationStore } from '../shared/allocation-store';
import { sharedDocumentClient } from '../shared/aws-clients';
import { DynamoDbAllocationStore } from '../shared/dynamodb-allocation-store';
import { loadEnv } from '../shared/env';
import { InvalidTaskInputError } from '../shared/errors';
import {
  builtOnFirstCall,
  liveAuditLog,
  liveExecutionControl,
  liveFeatureStore,
  liveInstanceStore,
} from '../shared/live-ports';
import { emitMetric } from '../shared/metrics-names';
import {
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import type { PolicyStore } from '../shared/policy-store';
import {
  type AuditLog,
  type Clock,
  type ExecutionControl,
  type FeatureStore,
  type InstanceStore,
  systemClock,
} from '../shared/ports';
import { livePolicyStore, liveTuningStore } from '../shared/tuning-live';
import { DynamoDbOpsStore } from './dynamodb-ops-store';
import { createOpsHttpHandler } from './http';
import { createOpsOperations, type OpsTuningStore } from './operations';
import type { OpsStore } from './ports';

const FUNCTION = 'ops-api';

export interface OpsApiDeps {
  readonly features: FeatureStore;
  /** The one way the active policy changes (approvals, rollbacks). */
  readonly policies: PolicyStore;
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
  readonly executions: ExecutionControl;
  readonly store: OpsStore;
  /** The tuning loop's approval requests and experiments (/tuning/approvals, /experiments). @default none: those routes answer 404 */
  readonly tuning?: OpsTuningStore;
  /** The allocation job's approvals (GET /allocation/approvals and their decisions). @default none: those routes answer 404 */
  readonly allocation?: Pick<AllocationStore, 'listApprovals' | 'transitionApproval'>;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export interface BacklogSnapshot {
  readonly kind: 'backlog-snapshot';
  readonly stages: readonly {
    readonly stage: LiveStage;
    readonly items: number;
    readonly oldestAgeSeconds: number;
  }[];
}

export type OpsApiHandler = (
  event: unknown,
  context?: InvocationContext,
) => Promise<APIGatewayProxyResult | BacklogSnapshot>;

/** The two faces of the ops function, for callers that know which one they want (local server, tests). */
export interface OpsApi {
  readonly http: (event: APIGatewayProxyEvent, context?: InvocationContext) => Promise<APIGatewayProxyResult>;
  readonly snapshot: (context?: InvocationContext) => Promise<BacklogSnapshot>;
  readonly handler: OpsApiHandler;
}

/** What tells an API Gateway proxy event apart from the schedule's input. */
function isApiGatewayEvent(event: unknown): event is APIGatewayProxyEvent {
  return (
    typeof event === 'object' &&
    event !== null &&
    typeof (event as { httpMethod?: unknown }).httpMethod === 'string' &&
    typeof (event as { path?: unknown }).path === 'string'
  );
}

/**
 * The ops function: the operations API behind API Gateway (Lambda proxy integration) and, on its
 * schedule, the backlog snapshot that feeds the dashboard's backlog-by-stage widgets
 * (BacklogItems and BacklogOldestAge per stage, as EMF).
 *
 * @example
 * const api = createOpsApi({ features, policies, instances, audit, executions, store });
 * const answer = await api.http(apiGatewayEvent); // { statusCode: 200, body: '{"headlines":[...]}' }
 */
export function createOpsApi(deps: OpsApiDeps): OpsApi {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const operations = createOpsOperations({ ...deps, clock, telemetry });
  const http = createOpsHttpHandler(operations, telemetry);

  const snapshot = async (): Promise<BacklogSnapshot> => {
    const { entries } = await operations.readBacklog();
    const now = clock.now();
    const stages = LIVE_STAGES.map((stage) => {
      const inStage = entries.filter((entry) => entry.stage === stage);
      const oldest = inStage.reduce((min, entry) => Math.min(min, entry.stageEnteredAt), now);
      return {
        stage,
        items: inStage.length,
        oldestAgeSeconds: Math.max(0, Math.floor((now - oldest) / 1000)),
      };
    });
    for (const { stage, items, oldestAgeSeconds } of stages) {
      emitMetric(telemetry.metrics, METRICS.backlogItems, items, { stage });
      emitMetric(telemetry.metrics, METRICS.backlogOldestAge, oldestAgeSeconds, { stage });
    }
    telemetry.logger.info('backlog snapshot', { stages });
    return { kind: 'backlog-snapshot', stages };
  };

  return {
    http: (event, context) => withInvocation(telemetry, context, () => http(event, context?.awsRequestId)),
    snapshot: (context) => withInvocation(telemetry, context, snapshot),
    handler: (event, context) =>
      withInvocation(telemetry, context, async () => {
        if (isApiGatewayEvent(event)) return http(event, context?.awsRequestId);
        const request = BacklogSnapshotRequest.safeParse(event);
        if (!request.success) throw InvalidTaskInputError.from('Ops function', request.error);
        return snapshot();
      }),
  };
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable', 'instancesTable', 'auditTable', 'eventBusName'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: OpsApiHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createOpsApi({
    features: liveFeatureStore(env, telemetry.tracer),
    policies: livePolicyStore(env, telemetry.tracer),
    instances: liveInstanceStore(env, telemetry.tracer),
    audit: liveAuditLog(env, telemetry.tracer),
    executions: liveExecutionControl({}, telemetry.tracer),
    store: new DynamoDbOpsStore({ client: sharedDocumentClient(telemetry.tracer), ...env }),
    tuning: liveTuningStore(env, telemetry.tracer),
    allocation: new DynamoDbAllocationStore({
      client: sharedDocumentClient(telemetry.tracer),
      featuresTable: env.featuresTable,
    }),
    telemetry,
  }).handler;
});
