import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { AgentState, WaitingItem } from '../../domain/model';
import type { Policy } from '../../domain/policy';
import { AssignmentResult, DispatchMessage } from '../../domain/process';
import { type Assignment, createPolicy, flowtunePolicy, type RoutingPolicy } from '../../domain/routing';
import { HANDLING_MODEL_VERSION } from '../../domain/scoring';
import { loadEnv } from '../shared/env';
import {
  builtOnFirstCall,
  liveAuditLog,
  liveExecutionControl,
  liveFeatureStore,
  liveInstanceStore,
} from '../shared/live-ports';
import {
  type InvocationContext,
  MetricUnit,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import { activePolicyOrDefault } from '../shared/policy';
import {
  type AuditLog,
  type Clock,
  type ExecutionControl,
  type FeatureStore,
  type InstanceRecord,
  type InstanceStore,
  SUPERSEDED_ENQUEUE_MARGIN_MS,
  systemClock,
  TERMINAL_STAGES,
} from '../shared/ports';
import { processBatch } from '../shared/sqs-batch';
import { auditRecord, toEpochMs, unidentifiedItemId } from '../shared/table-layout';

const FUNCTION = 'dispatcher';
const ACTOR = `flowtune:${FUNCTION}`;

export interface DispatcherDeps {
  readonly features: FeatureStore;
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
  readonly executions: ExecutionControl;
  /**
   * The routing policy for a decision policy: Flowtune's joint assignment with the policy's
   * weights unless the policy names another registered strategy.
   * @default routingPolicyFor
   */
  readonly routing?: (policy: Policy) => RoutingPolicy;
  /** Told what each round did (the local runtime and tests listen). */
  readonly onRound?: (report: RoundReport) => void;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export type DispatcherHandler = (event: SQSEvent, context?: InvocationContext) => Promise<SQSBatchResponse>;

/** What one round did, for logs, metrics and tests. */
export interface RoundReport {
  readonly waiting: number;
  readonly agentsWithCapacity: number;
  readonly assigned: readonly { readonly itemId: string; readonly agentId: string }[];
  /** A claim lost its condition (agent full or item moved on): retried next round. */
  readonly conflicts: number;
  /** The execution was gone: the slot was released at once. */
  readonly stale: number;
  /** The resume failed transiently: the claim was undone, the item waits for the next round. */
  readonly reverted: number;
}

/**
 * Most waiting items one round considers, oldest first: bounds the round's solve time under the
 * function's timeout during a backlog; the rest are considered as the oldest are assigned.
 */
export const MAX_WAITING_PER_ROUND = 500;

/** Error name the waiting execution sees when its item was cancelled before assignment. */
export const CANCELLED_ERROR = 'WorkItemCancelled';
/** Error name for a wait that outlived its item (a redelivered message of a finished item). */
export const FINISHED_ERROR = 'WorkItemAlreadyFinished';

/**
 * Flowtune's joint assignment with the policy's numeric weights, or the registered strategy the
 * policy names (the baselines, for experiments).
 */
export function routingPolicyFor(policy: Policy): RoutingPolicy {
  if (policy.routing.strategy === 'flowtune') return flowtunePolicy({ weights: policy.routing.weights });
  return createPolicy(policy.routing.strategy);
}

/**
 * The dispatcher: drains a batch of the FIFO dispatch queue (one message group, so one round at
 * a time), records every `enqueue` in the waiting set, then runs ONE round: all waiting items ×
 * all agents with free capacity solved as one problem by the routing policy. Each assignment
 * claims the agent's slot and moves the item to ASSIGNED in one transaction (so capacity is never
 * exceeded and an item is never assigned twice), then resumes the execution with the assignment
 * and its explanation.
 *
 * @example
 * const handler = createDispatcherHandler({ features, instances, audit, executions });
 * await handler({ Records: [{ messageId: 'm1', body: JSON.stringify({ kind: 'tick', reason: 'timer', at }) }] });
 */
export function createDispatcherHandler(deps: DispatcherDeps): DispatcherHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const routingFor = deps.routing ?? routingPolicyFor;
  const { logger, metrics } = telemetry;

  const handleMessage = async (record: SQSRecord): Promise<InstanceRecord | undefined> => {
    let message: DispatchMessage;
    try {
      message = DispatchMessage.parse(JSON.parse(record.body));
    } catch (error) {
      // A malformed message would block the single FIFO group until it reached the DLQ: keep it
      // in the audit trail instead, and move on.
      logger.error('malformed dispatch message recorded and skipped', { messageId: record.messageId, error });
      metrics.addMetric('MalformedDispatchMessages', MetricUnit.Count, 1);
      await deps.audit.append(
        auditRecord({
          itemId: unidentifiedItemId(record.messageId),
          kind: 'EXCEPTION',
          at: clock.now(),
          actor: ACTOR,
          inputs: record.body.slice(0, 4096),
          details: {
            reason: `malformed dispatch message: ${error instanceof Error ? error.message : String(error)}`,
          },
        }),
      );
      return undefined;
    }
    if (message.kind === 'tick') return undefined;
    return enqueue(message);
  };

  /** Records the item in the waiting set; returns it as now waiting, or undefined when it no longer waits. */
  const enqueue = async (
    message: Extract<DispatchMessage, { kind: 'enqueue' }>,
  ): Promise<InstanceRecord | undefined> => {
    const request = {
      itemId: message.itemId,
      taskToken: message.taskToken,
      category: message.category,
      priority: message.priority,
      requiredSkills: message.requiredSkills,
      createdAt: toEpochMs(message.createdAt),
      slaDueAt: toEpochMs(message.slaDueAt),
      attempt: message.attempt,
      excludedAgents: message.excludedAgents,
      enqueuedAt: toEpochMs(message.enqueuedAt),
      at: clock.now(),
    };
    const written = await deps.instances.enqueue(request);
    if (written.ok) {
      metrics.addMetric('ItemsEnqueued', MetricUnit.Count, 1);
      return {
        ...request,
        stage: 'WAITING_ASSIGNMENT',
        stageEnteredAt: request.enqueuedAt,
        waitingFor: 'assignment',
        expiresAt: 0,
      };
    }
    const current = written.current;
    if (current?.lastAssignmentToken === message.taskToken) {
      logger.info('redelivered enqueue of an item already assigned; ignored', { itemId: message.itemId });
      return undefined;
    }
    if (
      current !== undefined &&
      !TERMINAL_STAGES.includes(current.stage) &&
      (current.enqueuedAt ?? 0) > request.enqueuedAt + SUPERSEDED_ENQUEUE_MARGIN_MS
    ) {
      // An old wait's message (redelivered or redriven): that wait is over and a later one is live.
      logger.info('enqueue of a superseded wait ignored', { itemId: message.itemId, stage: current.stage });
      metrics.addMetric('SupersededEnqueues', MetricUnit.Count, 1);
      return undefined;
    }
    // The item was cancelled (or finished) before it joined the waiting set: end the wait now.
    const cancelled = current?.stage === 'CANCELLED';
    const outcome = await deps.executions.sendTaskFailure(
      message.taskToken,
      cancelled ? CANCELLED_ERROR : FINISHED_ERROR,
      cancelled
        ? JSON.stringify(current?.cancellation ?? { reason: 'cancelled' })
        : `item ${message.itemId} is already ${current?.stage ?? 'gone'}`,
    );
    logger.info('enqueue refused: item no longer waits', {
      itemId: message.itemId,
      stage: current?.stage,
      outcome,
    });
    return undefined;
  };

  /**
   * One round. The byStage index is eventually consistent, so items enqueued by this very batch
   * are added from the messages themselves; every claim re-checks the item anyway.
   */
  const runRound = async (justEnqueued: readonly InstanceRecord[]): Promise<RoundReport> => {
    const now = clock.now();
    const listed = await deps.instances.listByStage('WAITING_ASSIGNMENT', MAX_WAITING_PER_ROUND);
    const merged = new Map(listed.map((record) => [record.itemId, record]));
    for (const record of justEnqueued) merged.set(record.itemId, record);
    const waitingRecords = [...merged.values()]
      .filter((record): record is InstanceRecord & { taskToken: string } => record.taskToken !== undefined)
      .sort((a, b) => a.stageEnteredAt - b.stageEnteredAt)
      .slice(0, MAX_WAITING_PER_ROUND);
    if (waitingRecords.length === 0) {
      return { waiting: 0, agentsWithCapacity: 0, assigned: [], conflicts: 0, stale: 0, reverted: 0 };
    }
    const [roster, features, policy] = await Promise.all([
      deps.features.listAgents(),
      deps.features.readHandlingFeatures(),
      activePolicyOrDefault(deps.features, telemetry),
    ]);
    const agents = roster.filter(
      (agent) => agent.status === 'available' && agent.activeCount < agent.capacity,
    );
    const report = { waiting: waitingRecords.length, agentsWithCapacity: agents.length };
    if (agents.length === 0) return { ...report, assigned: [], conflicts: 0, stale: 0, reverted: 0 };

    const routing = routingFor(policy);
    const waiting = waitingRecords.map(toWaitingItem);
    const assignments = routing.assign({ now, waiting, agents, features });
    const byItem = new Map(waitingRecords.map((record) => [record.itemId, record]));
    const byAgent = new Map(agents.map((agent) => [agent.agentId, agent]));

    const assigned: { itemId: string; agentId: string }[] = [];
    let conflicts = 0;
    let stale = 0;
    let reverted = 0;
    for (const assignment of assignments) {
      const record = byItem.get(assignment.itemId);
      const agent = byAgent.get(assignment.agentId);
      if (record === undefined || agent === undefined) continue;
      const claim = { agentId: agent.agentId, itemId: record.itemId, taskToken: record.taskToken, at: now };
      const claimed = await deps.features.claimCapacity(claim);
      if (claimed.outcome === 'conflict') {
        conflicts++;
        logger.info('claim lost its condition; the item stays for the next round', {
          itemId: record.itemId,
          agentId: agent.agentId,
          reason: claimed.reason,
        });
        continue;
      }
      const result = AssignmentResult.parse({
        agentId: agent.agentId,
        agentKind: agent.kind,
        predictedHandlingSeconds: assignment.predictedHandlingSeconds,
        explanation: assignment.explanation,
        policyVersion: policy.version,
        modelVersion: HANDLING_MODEL_VERSION,
        experimentArm: 'none',
        routedAt: new Date(now).toISOString(),
      });
      let resumed: 'sent' | 'stale';
      try {
        resumed = await deps.executions.sendTaskSuccess(record.taskToken, result);
      } catch (error) {
        // Unknown whether the execution got it: undo the claim; a stale token next round releases it.
        await deps.features.revertClaim(claim);
        reverted++;
        logger.error('resume failed; claim undone, item waits for the next round', {
          itemId: record.itemId,
          error,
        });
        continue;
      }
      if (resumed === 'stale') {
        await deps.features.releaseCapacity({ itemId: record.itemId, agentId: agent.agentId, at: now });
        stale++;
        await deps.audit.append(
          auditRecord({
            itemId: record.itemId,
            kind: 'ASSIGNMENT_STALE',
            at: now,
            attempt: record.attempt,
            actor: ACTOR,
            details: {
              agentId: agent.agentId,
              note: 'the waiting execution was gone; the slot was released',
            },
          }),
        );
        continue;
      }
      assigned.push({ itemId: record.itemId, agentId: agent.agentId });
      await deps.audit.append(assignedRecord(record, agent, assignment, result, routing.name, report, now));
    }
    return { ...report, assigned, conflicts, stale, reverted };
  };

  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const enqueued = new Map<string, InstanceRecord>();
      const response = await processBatch(
        event.Records,
        {
          fifo: true,
          onFailure: (record, error) =>
            logger.error('dispatch message failed; it and the rest of the batch will be redelivered', {
              messageId: record.messageId,
              error,
            }),
        },
        async (record) => {
          const waiting = await handleMessage(record);
          if (waiting !== undefined) enqueued.set(waiting.itemId, waiting);
        },
      );
      let round: RoundReport;
      try {
        round = await runRound([...enqueued.values()]);
      } catch (error) {
        // Nothing of the round is half-done (each claim is atomic): redeliver the batch to run it again.
        logger.error('dispatch round failed; batch will be redelivered', { error });
        metrics.addMetric('DispatchRoundFailures', MetricUnit.Count, 1);
        return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
      }
      logger.info('dispatch round', { ...round, assigned: round.assigned.length });
      metrics.addMetric('ItemsAssigned', MetricUnit.Count, round.assigned.length);
      metrics.addMetric('WaitingItems', MetricUnit.Count, round.waiting);
      metrics.addMetric('ClaimConflicts', MetricUnit.Count, round.conflicts);
      metrics.addMetric('StaleAssignments', MetricUnit.Count, round.stale);
      metrics.addMetric('RevertedAssignments', MetricUnit.Count, round.reverted);
      deps.onRound?.(round);
      return response;
    });
}

function toWaitingItem(record: InstanceRecord): WaitingItem {
  return {
    itemId: record.itemId,
    category: record.category,
    requiredSkills: record.requiredSkills,
    priority: record.priority,
    createdAt: record.createdAt,
    enqueuedAt: record.enqueuedAt ?? record.stageEnteredAt,
    slaDueAt: record.slaDueAt,
    excludedAgents: record.excludedAgents,
  };
}

function assignedRecord(
  record: InstanceRecord,
  agent: AgentState,
  assignment: Assignment,
  result: AssignmentResult,
  routingName: string,
  round: { readonly waiting: number; readonly agentsWithCapacity: number },
  now: number,
) {
  return auditRecord({
    itemId: record.itemId,
    kind: 'ASSIGNED',
    at: now,
    attempt: record.attempt,
    actor: ACTOR,
    inputs: {
      item: {
        category: record.category,
        priority: record.priority,
        requiredSkills: record.requiredSkills,
        slaDueAt: new Date(record.slaDueAt).toISOString(),
        enqueuedAt: record.enqueuedAt === undefined ? undefined : new Date(record.enqueuedAt).toISOString(),
        excludedAgents: record.excludedAgents,
      },
      agent: {
        agentId: agent.agentId,
        capacity: agent.capacity,
        activeCount: agent.activeCount,
        skills: agent.skills,
      },
      round,
    },
    details: {
      agentId: agent.agentId,
      runnerUp: assignment.explanation.runnerUp,
      cost: assignment.cost,
      terms: assignment.terms,
      explanation: assignment.explanation,
      predictedHandlingSeconds: assignment.predictedHandlingSeconds,
      routingPolicy: routingName,
      routedAt: result.routedAt,
    },
    policyVersion: result.policyVersion,
    modelVersion: result.modelVersion,
  });
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable', 'instancesTable', 'auditTable'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: DispatcherHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createDispatcherHandler({
    features: liveFeatureStore(env, telemetry.tracer),
    instances: liveInstanceStore(env, telemetry.tracer),
    audit: liveAuditLog(env, telemetry.tracer),
    executions: liveExecutionControl({}, telemetry.tracer),
    telemetry,
  });
});
