import { ParkRequest } from '../../domain/process';
import type { Stage } from '../../lib/definitions/tables';
import { loadEnv } from '../shared/env';
import { AGENT_OFFLINE_ERROR, InvalidTaskInputError, TransientFailureError } from '../shared/errors';
import {
  builtOnFirstCall,
  liveAuditLog,
  liveExecutionControl,
  liveFeatureStore,
  liveInstanceStore,
} from '../shared/live-ports';
import { emitMetric, METRICS } from '../shared/metrics-names';
import {
  correlate,
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import {
  type AuditKind,
  type AuditLog,
  type Clock,
  type ExecutionControl,
  type FeatureStore,
  type InstanceStore,
  type PendingHandover,
  systemClock,
  TERMINAL_STAGES,
} from '../shared/ports';
import { isTransientError } from '../shared/retry';
import { auditRecord } from '../shared/table-layout';

const FUNCTION = 'park';
const ACTOR = `flowtune:${FUNCTION}`;

/** Error names the parked execution sees when its item ended before the wait began. */
export const CANCELLED_ERROR = 'WorkItemCancelled';
export const FINISHED_ERROR = 'WorkItemAlreadyFinished';

export interface ParkDeps {
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
  readonly executions: ExecutionControl;
  /**
   * Where the assignee's status is read once their completion wait is parked: an agent who went
   * offline before the wait began (their release found no token to fail) has it released here.
   * @default none: the assignee is not checked
   */
  readonly features?: Pick<FeatureStore, 'getAgent'>;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

/**
 * What the park did. The state machine ignores a `.waitForTaskToken` Lambda's return value (the
 * task ends only by SendTaskSuccess/Failure); this is for logs, the local runtime and tests.
 */
export interface ParkResponse {
  readonly itemId: string;
  readonly waitingFor: ParkRequest['waitingFor'];
  /**
   * parked: the token is stored for the awaited event; resumed-early: a completion had already
   * arrived and was handed over at once; cancelled / finished: the wait was failed at once;
   * stale: the wait was already gone; released-agent-offline: parked, but the assignee was already
   * offline, so the wait was failed with AgentWentOffline (re-routed per the policy).
   */
  readonly status: 'parked' | 'resumed-early' | 'cancelled' | 'finished' | 'stale' | 'released-agent-offline';
}

export type ParkHandler = (event: unknown, context?: InvocationContext) => Promise<ParkResponse>;

const STAGE_FOR: Readonly<Record<ParkRequest['waitingFor'], Stage>> = {
  completion: 'IN_PROGRESS',
  'human-review': 'HUMAN_REVIEW',
  exception: 'EXCEPTION',
};

const AUDIT_KIND_FOR: Readonly<Record<ParkRequest['waitingFor'], AuditKind>> = {
  completion: 'COMPLETION_WAIT',
  'human-review': 'HUMAN_REVIEW_REQUESTED',
  exception: 'EXCEPTION',
};

/** Tries before giving up on a record that keeps changing under us (a completion racing the park). */
const MAX_ATTEMPTS = 4;

/**
 * The park Lambda behind every `.waitForTaskToken` wait except assignment: stores the token on
 * the instance with what it waits for (completion → IN_PROGRESS, human review → HUMAN_REVIEW,
 * exception → EXCEPTION) and writes an audit record. Completions can overtake the park: if one is
 * already stored on the instance, the execution is resumed with it at once.
 *
 * @example
 * await handler({ waitingFor: 'completion', taskToken, itemId: 'T-1', attempt: 1, agentId: 'a-7' });
 */
export function createParkHandler(deps: ParkDeps): ParkHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;

  /**
   * Resumes this wait with a completion that came first: a stored early completion (taken as a
   * pending hand-over for this token in one write), or a pending hand-over whose earlier resume was
   * never confirmed. A failed send leaves the hand-over pending: the park's retry sends it again.
   */
  const resumeWithEarlyCompletion = async (
    request: ParkRequest,
    now: number,
    pending: PendingHandover | undefined,
  ): Promise<ParkResponse | undefined> => {
    const early =
      pending?.completion ??
      (await deps.instances.consumeEarlyCompletion(request.itemId, now, request.taskToken));
    if (early === undefined) return undefined;
    const outcome = await deps.executions.sendTaskSuccess(request.taskToken, early);
    if (outcome === 'stale') {
      // This wait is already gone: keep the completion for the next one.
      await deps.instances.storeEarlyCompletion(request.itemId, early, { replacesReceived: true });
      return { itemId: request.itemId, waitingFor: request.waitingFor, status: 'stale' };
    }
    await deps.instances.confirmHandover(request.itemId, pending?.taskToken ?? request.taskToken);
    await deps.audit.append(
      auditRecord({
        itemId: request.itemId,
        kind: 'COMPLETION_RECEIVED',
        at: now,
        attempt: request.attempt,
        actor: ACTOR,
        details: {
          note:
            pending === undefined
              ? 'the completion arrived before the wait; resumed at once'
              : 'an unconfirmed hand-over, sent to this wait',
          outcome: early.outcome,
          handledBy: early.handledBy,
          completedAt: early.completedAt,
        },
      }),
    );
    emitMetric(metrics, METRICS.earlyCompletionsResumed, 1);
    logger.info('completion had arrived first; execution resumed at once');
    return { itemId: request.itemId, waitingFor: request.waitingFor, status: 'resumed-early' };
  };

  /**
   * The agent-status handler releases the waits it finds when an agent goes offline; a wait
   * stored after that scan would hold the item for an agent who is gone. So once a completion
   * wait is stored, the assignee is read: offline means the wait is failed here, the same way.
   */
  const releasedForOfflineAssignee = async (
    request: ParkRequest,
    now: number,
  ): Promise<ParkResponse | undefined> => {
    if (deps.features === undefined || request.waitingFor !== 'completion' || request.agentId === undefined) {
      return undefined;
    }
    const agent = await deps.features.getAgent(request.agentId);
    if (agent?.status !== 'offline') return undefined;
    const seenOfflineAt = new Date(now).toISOString();
    const outcome = await deps.executions.sendTaskFailure(
      request.taskToken,
      AGENT_OFFLINE_ERROR,
      JSON.stringify({ agentId: request.agentId, seenOfflineAt }),
    );
    await deps.audit.append(
      auditRecord({
        itemId: request.itemId,
        kind: 'RELEASED_AGENT_OFFLINE',
        at: now,
        attempt: request.attempt,
        actor: ACTOR,
        details: {
          agentId: request.agentId,
          resumed: outcome,
          note:
            outcome === 'sent'
              ? 'the assignee was already offline when the completion wait began: the wait was ended; the item is re-routed per the policy (or escalated)'
              : 'the assignee was already offline, but the wait had already moved on',
        },
      }),
    );
    logger.info('assignee already offline; completion wait released', { agentId: request.agentId });
    return { itemId: request.itemId, waitingFor: request.waitingFor, status: 'released-agent-offline' };
  };

  const park = async (request: ParkRequest): Promise<ParkResponse> => {
    const now = clock.now();

    let pending: PendingHandover | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (request.waitingFor === 'completion') {
        const resumed = await resumeWithEarlyCompletion(request, now, pending);
        if (resumed !== undefined) return resumed;
      }
      const stored = await deps.instances.storeTaskToken({
        itemId: request.itemId,
        taskToken: request.taskToken,
        waitingFor: request.waitingFor,
        stage: STAGE_FOR[request.waitingFor],
        attempt: request.attempt,
        at: now,
        ...(request.agentId === undefined ? {} : { assignee: request.agentId }),
      });
      if (stored.ok) {
        await deps.audit.append(
          auditRecord({
            itemId: request.itemId,
            kind: AUDIT_KIND_FOR[request.waitingFor],
            at: now,
            attempt: request.attempt,
            actor: ACTOR,
            details: {
              waitingFor: request.waitingFor,
              ...(request.agentId === undefined ? {} : { agentId: request.agentId }),
              context: request.context,
            },
          }),
        );
        emitMetric(metrics, METRICS.waitsParked, 1);
        logger.info('wait parked', { waitingFor: request.waitingFor });
        const released = await releasedForOfflineAssignee(request, now);
        if (released !== undefined) return released;
        return { itemId: request.itemId, waitingFor: request.waitingFor, status: 'parked' };
      }
      const current = stored.current;
      if (current?.stage === 'CANCELLED' || current?.cancellation !== undefined) {
        await deps.executions.sendTaskFailure(
          request.taskToken,
          CANCELLED_ERROR,
          JSON.stringify(current.cancellation ?? { reason: 'cancelled' }),
        );
        logger.info('item was cancelled before the wait; failed it at once');
        return { itemId: request.itemId, waitingFor: request.waitingFor, status: 'cancelled' };
      }
      if (
        request.waitingFor === 'completion' &&
        current?.pendingHandover !== undefined &&
        !TERMINAL_STAGES.includes(current.stage)
      ) {
        // An earlier resume with a completion was never confirmed: this wait gets it.
        pending = current.pendingHandover;
        continue;
      }
      if (current !== undefined && current.earlyCompletion === undefined) {
        await deps.executions.sendTaskFailure(
          request.taskToken,
          FINISHED_ERROR,
          `item ${request.itemId} is already ${current.stage}; nothing to wait for`,
        );
        return { itemId: request.itemId, waitingFor: request.waitingFor, status: 'finished' };
      }
      // A completion landed between our read and our write: go round and hand it over.
    }
    throw new TransientFailureError(
      `item ${request.itemId} kept changing while parking; Step Functions retries`,
    );
  };

  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const parsed = ParkRequest.safeParse(event);
      if (!parsed.success) throw InvalidTaskInputError.from('Park', parsed.error);
      const request = parsed.data;
      correlate(telemetry, request.itemId);
      try {
        return await park(request);
      } catch (error) {
        // The waits retry only TransientFailureError (and Lambda's own errors): a throttled or
        // failed AWS call surfaces as one, so it is retried instead of sending the item to the
        // exception queue. Parking again is safe: every write is conditional and repeatable.
        if (error instanceof TransientFailureError || !isTransientError(error)) throw error;
        const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        throw new TransientFailureError(`parking item ${request.itemId} failed transiently (${cause})`, {
          cause: error,
        });
      }
    });
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable', 'instancesTable', 'auditTable'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: ParkHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createParkHandler({
    instances: liveInstanceStore(env, telemetry.tracer),
    audit: liveAuditLog(env, telemetry.tracer),
    executions: liveExecutionControl({}, telemetry.tracer),
    features: liveFeatureStore(env, telemetry.tracer),
    telemetry,
  });
});
