import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { preferAssignedQueues } from '../../domain/allocation/queue-preference';
import type { AgentState, WaitingItem } from '../../domain/model';
import type { Policy } from '../../domain/policy';
import { AssignmentResult, DispatchMessage } from '../../domain/process';
import type { Assignment, DispatchRound, RoutingPolicy } from '../../domain/routing';
import { HANDLING_MODEL_VERSION } from '../../domain/scoring';
import {
  createRoundPlanner,
  type Experiment,
  type RoundPlan,
  type RoundPlanProblem,
  routingPolicyFor,
  type ShadowPlan,
} from '../../domain/tuning';
import type { AllocationStore } from '../shared/allocation-store';
import { sharedDocumentClient } from '../shared/aws-clients';
import { DynamoDbAllocationStore } from '../shared/dynamodb-allocation-store';
import { loadEnv } from '../shared/env';
import {
  builtOnFirstCall,
  liveAuditLog,
  liveEventPublisher,
  liveExecutionControl,
  liveFeatureStore,
  liveInstanceStore,
} from '../shared/live-ports';
import { emitMetric, METRICS } from '../shared/metrics-names';
import {
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import { lastGoodPolicyReader } from '../shared/policy';
import {
  type AuditLog,
  type Clock,
  type EventPublisher,
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
import { liveTuningStore } from '../shared/tuning-live';
import type { TuningStore } from '../shared/tuning-store';
import { recoverStuckAssignments, STUCK_ASSIGNMENT_MS } from './stuck-assignments';
import { answerUnclaimedFinishes, UNCLAIMED_FINISH_MS } from './unclaimed-finishes';

/** The domain's routing factory, re-exported for callers that wrap it (tests). */
export { routingPolicyFor };

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
  /**
   * Where the current experiment is read (the tuning store). While an A/B experiment runs, the
   * items of its treatment arm are routed by the candidate policy; while a shadow experiment runs,
   * the candidate decides each round on paper and every live decision gets a SHADOW_DECISION
   * audit record beside it.
   * @default no experiments: every item is routed by the active policy
   */
  readonly experiments?: Pick<TuningStore, 'readExperiment'>;
  /**
   * Where the allocation settings (the queues) are read. With settings stored, an agent the
   * allocation job moved to queue Q takes Q's items first (preferAssignedQueues).
   * @default no queues: routing by skills alone
   */
  readonly queues?: Pick<AllocationStore, 'readSettings'>;
  /** Told what each round did (the local runtime and tests listen). */
  readonly onRound?: (report: RoundReport) => void;
  /**
   * An item ASSIGNED for longer than this is an assignment the execution never got: the round
   * undoes its claim and assigns it again (see recoverStuckAssignments).
   * @default STUCK_ASSIGNMENT_MS
   */
  readonly stuckAssignmentMs?: number;
  /**
   * Where the round announces finish events it refuses because their creation never came
   * (answerUnclaimedFinishes). Without it those are left for a dispatcher that has one.
   */
  readonly events?: EventPublisher;
  /** @default UNCLAIMED_FINISH_MS */
  readonly unclaimedFinishMs?: number;
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
  /** SHADOW_DECISION records written: live decisions of a round a shadow candidate also decided. */
  readonly shadowDecisions?: number;
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
  /** One per container: counts split rounds (the arms alternate first pick) and caches routings by version. */
  const planner = createRoundPlanner({ routingFor });
  // A policy that turns unreadable must not stop dispatch: the last good one keeps running.
  const readPolicy = lastGoodPolicyReader(deps.features, telemetry);

  /**
   * How the round is reshaped for the queues the allocation job moved agents to (identity when
   * there are no settings or no moves), read alongside the roster; never at the cost of routing.
   */
  const queuePreference = async (): Promise<(round: DispatchRound) => DispatchRound> => {
    const asIs = (round: DispatchRound) => round;
    if (deps.queues === undefined) return asIs;
    try {
      const settings = await deps.queues.readSettings();
      if (settings === undefined) return asIs;
      const assignments = await deps.features.listQueueAssignments();
      if (assignments.length === 0) return asIs;
      const byAgent = Object.fromEntries(
        assignments.map((assignment) => [assignment.agentId, assignment.queueId]),
      );
      return (round) => preferAssignedQueues(round, settings.queues, byAgent);
    } catch (error) {
      logger.error('allocation settings or queue assignments unreadable; this round routes by skills alone', {
        error,
      });
      return asIs;
    }
  };

  /** The experiment to run this round: only a running one, and never at the cost of routing. */
  const runningExperiment = async (): Promise<Experiment | undefined> => {
    if (deps.experiments === undefined) return undefined;
    try {
      const experiment = await deps.experiments.readExperiment();
      return experiment?.status === 'running' ? experiment : undefined;
    } catch (error) {
      logger.error('current experiment unreadable; this round routes every item by the active policy', {
        error,
      });
      emitMetric(metrics, METRICS.experimentReadFailures, 1);
      return undefined;
    }
  };

  /**
   * Who decides which items this round: the domain's round plan (the simulator runs the same
   * one). Its problems are the experiment's only, never the live decisions': log and count them.
   */
  const planRound = (round: DispatchRound, policy: Policy, experiment: Experiment | undefined): RoundPlan => {
    const plan = planner.plan(round, policy, experiment);
    for (const problem of plan.problems) {
      logger.error(PROBLEM_LOGS[problem.stage], { experimentId: problem.experimentId, error: problem.error });
      emitMetric(metrics, METRICS.experimentRoutingFailures, 1);
    }
    return plan;
  };

  const handleMessage = async (record: SQSRecord): Promise<InstanceRecord | undefined> => {
    let message: DispatchMessage;
    try {
      message = DispatchMessage.parse(JSON.parse(record.body));
    } catch (error) {
      // A malformed message would block the single FIFO group until it reached the DLQ: keep it
      // in the audit trail instead, and move on.
      logger.error('malformed dispatch message recorded and skipped', { messageId: record.messageId, error });
      emitMetric(metrics, METRICS.malformedDispatchMessages, 1);
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
      ...(message.customerTier === undefined ? {} : { customerTier: message.customerTier }),
      enqueuedAt: toEpochMs(message.enqueuedAt),
      at: clock.now(),
    };
    const written = await deps.instances.enqueue(request);
    if (written.ok) {
      emitMetric(metrics, METRICS.itemsEnqueued, 1);
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
      emitMetric(metrics, METRICS.supersededEnqueues, 1);
      return undefined;
    }
    // The item was cancelled (or finished) before it joined the waiting set: end the wait now.
    const cancelled = current?.stage === 'CANCELLED' || current?.cancellation !== undefined;
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
    const recovered = await recoverStuckAssignments(
      { ...deps, logger, actor: ACTOR },
      now,
      deps.stuckAssignmentMs ?? STUCK_ASSIGNMENT_MS,
    );
    if (recovered > 0) emitMetric(metrics, METRICS.recoveredAssignments, recovered);
    if (deps.events !== undefined) {
      await answerUnclaimedFinishes(
        { instances: deps.instances, audit: deps.audit, events: deps.events, logger, actor: ACTOR },
        now,
        deps.unclaimedFinishMs ?? UNCLAIMED_FINISH_MS,
      );
    }
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
    const [roster, features, policy, experiment, preferQueues] = await Promise.all([
      deps.features.listAgents(),
      deps.features.readHandlingFeatures(),
      readPolicy(),
      runningExperiment(),
      queuePreference(),
    ]);
    const agents = roster.filter(
      (agent) => agent.status === 'available' && agent.activeCount < agent.capacity,
    );
    const report = { waiting: waitingRecords.length, agentsWithCapacity: agents.length };
    if (agents.length === 0) return { ...report, assigned: [], conflicts: 0, stale: 0, reverted: 0 };

    const waiting = waitingRecords.map(toWaitingItem);
    // The whole roster, busy agents included, as the simulator passes it: the policy places work on
    // free slots only, but weighs each item against everyone who could do it (fastest on shift).
    const plan = planRound(preferQueues({ now, waiting, agents: roster, features }), policy, experiment);
    const byItem = new Map(waitingRecords.map((record) => [record.itemId, record]));
    const byAgent = new Map(agents.map((agent) => [agent.agentId, agent]));

    const assigned: { itemId: string; agentId: string }[] = [];
    let conflicts = 0;
    let stale = 0;
    let reverted = 0;
    let shadowDecisions = 0;
    for (const { assignment, arm, by } of plan.decisions) {
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
        policyVersion: by.policy.version,
        modelVersion: HANDLING_MODEL_VERSION,
        experimentArm: arm,
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
      // The dashboard's experiment-arms widget: items routed per arm while an experiment runs.
      if (experiment !== undefined && arm !== 'none') {
        emitMetric(metrics, METRICS.experimentAssignments, 1, { experiment: experiment.experimentId, arm });
      }
      await deps.audit.append(
        assignedRecord(record, agent, assignment, result, by.routing.name, report, now, experiment),
      );
      if (plan.shadow !== undefined) {
        const paper = plan.shadow.assignments.get(record.itemId);
        await deps.audit.append(shadowRecord(record, agent, result, paper, plan.shadow, now));
        shadowDecisions++;
        emitMetric(metrics, METRICS.shadowDecisions, 1);
        emitMetric(metrics, METRICS.shadowAgreements, paper?.agentId === agent.agentId ? 1 : 0);
      }
    }
    return {
      ...report,
      assigned,
      conflicts,
      stale,
      reverted,
      ...(plan.shadow === undefined ? {} : { shadowDecisions }),
    };
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
        emitMetric(metrics, METRICS.dispatchRoundFailures, 1);
        return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
      }
      logger.info('dispatch round', { ...round, assigned: round.assigned.length });
      emitMetric(metrics, METRICS.itemsAssigned, round.assigned.length);
      emitMetric(metrics, METRICS.waitingItems, round.waiting);
      emitMetric(metrics, METRICS.claimConflicts, round.conflicts);
      emitMetric(metrics, METRICS.staleAssignments, round.stale);
      emitMetric(metrics, METRICS.revertedAssignments, round.reverted);
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
    ...(record.customerTier === undefined ? {} : { customerTier: record.customerTier }),
  };
}

/** What the log says when an experiment's part of a round could not run (the live decisions stand). */
const PROBLEM_LOGS: Readonly<Record<RoundPlanProblem['stage'], string>> = {
  candidate: 'candidate policy cannot route; the experiment is skipped this round',
  shadow: 'shadow candidate failed to decide; live decisions unaffected',
  split: 'split round failed; this round routes every item by the active policy',
};

function assignedRecord(
  record: InstanceRecord,
  agent: AgentState,
  assignment: Assignment,
  result: AssignmentResult,
  routingName: string,
  round: { readonly waiting: number; readonly agentsWithCapacity: number },
  now: number,
  experiment: Experiment | undefined,
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
      experimentArm: result.experimentArm,
      ...(experiment === undefined
        ? {}
        : { experimentId: experiment.experimentId, experimentMode: experiment.mode }),
    },
    policyVersion: result.policyVersion,
    modelVersion: result.modelVersion,
  });
}

/**
 * What the shadow candidate would have done with an item the live policy just assigned: its agent
 * (null when it would have left the item waiting) beside the live one. Never acted on.
 */
function shadowRecord(
  record: InstanceRecord,
  agent: AgentState,
  result: AssignmentResult,
  paper: Assignment | undefined,
  shadow: ShadowPlan,
  now: number,
) {
  return auditRecord({
    itemId: record.itemId,
    kind: 'SHADOW_DECISION',
    at: now,
    attempt: record.attempt,
    actor: ACTOR,
    details: {
      experimentId: shadow.experiment.experimentId,
      candidateVersion: shadow.by.policy.version,
      candidateRoutingPolicy: shadow.by.routing.name,
      candidateAgentId: paper?.agentId ?? null,
      liveAgentId: agent.agentId,
      liveVersion: result.policyVersion,
      agreed: paper?.agentId === agent.agentId,
      ...(paper === undefined
        ? {}
        : {
            candidateCost: paper.cost,
            candidatePredictedHandlingSeconds: paper.predictedHandlingSeconds,
            candidateExplanation: paper.explanation,
          }),
      routedAt: result.routedAt,
    },
    policyVersion: shadow.by.policy.version,
    modelVersion: result.modelVersion,
  });
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable', 'instancesTable', 'auditTable', 'eventBusName'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: DispatcherHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createDispatcherHandler({
    features: liveFeatureStore(env, telemetry.tracer),
    instances: liveInstanceStore(env, telemetry.tracer),
    audit: liveAuditLog(env, telemetry.tracer),
    executions: liveExecutionControl({}, telemetry.tracer),
    events: liveEventPublisher(env, telemetry.tracer),
    experiments: liveTuningStore(env, telemetry.tracer),
    queues: new DynamoDbAllocationStore({
      client: sharedDocumentClient(telemetry.tracer),
      featuresTable: env.featuresTable,
    }),
    telemetry,
  });
});
