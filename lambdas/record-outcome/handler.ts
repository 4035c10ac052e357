import type { HandlingStats } from '../../domain/model';
import { ERRORED_OUTCOMES } from '../../domain/ops/metrics';
import { updateHandlingStats } from '../../domain/scoring';
import { loadEnv } from '../shared/env';
import { InvalidTaskInputError } from '../shared/errors';
import {
  builtOnFirstCall,
  liveAuditLog,
  liveDispatchTrigger,
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
  type AuditLog,
  type Clock,
  type DispatchTrigger,
  type FeatureStore,
  type InstanceStore,
  type StatsKey,
  systemClock,
} from '../shared/ports';
import { auditRecord, instanceExpiresAt, toEpochMs } from '../shared/table-layout';
import { RecordOutcomeInput } from '../shared/task-inputs';

const FUNCTION = 'record-outcome';
const ACTOR = `flowtune:${FUNCTION}`;

export interface RecordOutcomeDeps {
  readonly features: FeatureStore;
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
  readonly dispatch: DispatchTrigger;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

/** Returned into `$.outcome`: the item's times and what this step changed. */
export interface OutcomeSummary {
  readonly itemId: string;
  readonly outcome: string;
  readonly agentId: string;
  readonly handledBy: string;
  readonly attempt: number;
  /** Enqueued for assignment → routed (0 when it never waited, e.g. automation). */
  readonly waitSeconds: number;
  /** Started (or routed) → completed. */
  readonly handleSeconds: number;
  /** Created → completed. */
  readonly cycleSeconds: number;
  readonly slaMet: boolean;
  readonly predictedHandlingSeconds: number;
  /** handleSeconds − predicted: the residual drift detection and tuning read. */
  readonly predictionErrorSeconds: number;
  readonly quality: {
    readonly reopened: boolean;
    readonly firstTimeResolution: boolean;
    readonly rework: boolean;
  };
  /** True when this call freed the agent's slot (false on a retry, or for automation). */
  readonly capacityReleased: boolean;
  /** True when this call fed the handling-time statistics (once per item; never for abandoned items). */
  readonly statsUpdated: boolean;
}

export type RecordOutcomeHandler = (event: unknown, context?: InvocationContext) => Promise<OutcomeSummary>;

/** Abandoned work says nothing about how long handling takes. */
const OUTCOMES_WITHOUT_HANDLING_TIME = new Set(['abandoned']);

const round3 = (value: number) => Math.round(value * 1000) / 1000;

/**
 * Record Outcome: the item's wait, handle and cycle times and SLA result; the handling-time
 * statistics (global, category, category × agent) fed once with Welford's update; the agent's
 * slot released (once, whoever retries); the instance moved to COMPLETED; an audit COMPLETED
 * record; a dispatch round requested for the freed slot.
 *
 * @example
 * const summary = await handler({ itemId, item, scoring, assignment, completion, attempt: 1 });
 * summary.slaMet; // true
 */
export function createRecordOutcomeHandler(deps: RecordOutcomeDeps): RecordOutcomeHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;

  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const parsed = RecordOutcomeInput.safeParse(event);
      if (!parsed.success) throw InvalidTaskInputError.from('Record Outcome', parsed.error);
      const { itemId, item, scoring, assignment, completion, attempt } = parsed.data;
      correlate(telemetry, itemId);
      const now = clock.now();

      const instance = await deps.instances.get(itemId);
      const createdAt = toEpochMs(item.createdAt);
      const routedAt = toEpochMs(assignment.routedAt);
      const completedAt = toEpochMs(completion.completedAt);
      // Work cannot start before the item existed: an earlier startedAt (a producer's clock or a
      // stale start of another attempt) is measured from the creation instead, and noted.
      const reportedStart = completion.startedAt === undefined ? routedAt : toEpochMs(completion.startedAt);
      const startedAt = Math.max(reportedStart, createdAt);
      const enqueuedAt = instance?.enqueuedAt ?? routedAt;
      const seconds = (from: number, to: number) => round3(Math.max(0, (to - from) / 1000));
      const waitSeconds = seconds(enqueuedAt, routedAt);
      const handleSeconds = seconds(startedAt, completedAt);
      const cycleSeconds = seconds(createdAt, completedAt);
      const slaMet = completedAt <= toEpochMs(item.slaDueAt);

      // 1. Free the slot: only the agent the instance says holds one, and only once.
      const holder = instance?.capacityHeldBy;
      const capacityReleased =
        holder !== undefined &&
        (await deps.features.releaseCapacity({ itemId, agentId: holder, at: now })) === 'released';

      // 2. Close the instance; the first caller to do so owns the statistics update.
      const closed = await deps.instances.markOutcomeRecorded(itemId, now, instanceExpiresAt(now));
      const firstRecording = closed.ok || closed.current === undefined;
      const statsUpdated = firstRecording && !OUTCOMES_WITHOUT_HANDLING_TIME.has(completion.outcome);
      // The rule for a completion whose handledBy is not the assignee: the item is done either way,
      // but the per-agent statistics are fed only for the agent Flowtune assigned and who reports
      // having handled it; a mismatch (another agent, even one never registered) feeds only the
      // global and category statistics, and is recorded on the COMPLETED record and counted.
      const handledByAssignee = completion.handledBy === assignment.agentId;
      if (statsUpdated) {
        const keys: StatsKey[] = [
          { scope: 'global' },
          { scope: 'category', category: item.category },
          ...(handledByAssignee
            ? [{ scope: 'category-agent' as const, category: item.category, agentId: assignment.agentId }]
            : []),
        ];
        const observe = (current: HandlingStats | undefined) => updateHandlingStats(current, handleSeconds);
        await Promise.all(keys.map((key) => deps.features.updateHandlingStats(key, observe)));
      }

      const predictedHandlingSeconds = assignment.predictedHandlingSeconds;
      const summary: OutcomeSummary = {
        itemId,
        outcome: completion.outcome,
        agentId: assignment.agentId,
        handledBy: completion.handledBy,
        attempt,
        waitSeconds,
        handleSeconds,
        cycleSeconds,
        slaMet,
        predictedHandlingSeconds,
        predictionErrorSeconds: round3(handleSeconds - predictedHandlingSeconds),
        quality: completion.quality,
        capacityReleased,
        statsUpdated,
      };

      await deps.audit.append(
        auditRecord({
          itemId,
          kind: 'COMPLETED',
          at: completedAt,
          attempt,
          actor: ACTOR,
          inputs: { completion, assignment: { agentId: assignment.agentId, routedAt: assignment.routedAt } },
          details: {
            ...summary,
            path: scoring.decision.path,
            ...(handledByAssignee
              ? {}
              : {
                  handledByMismatch: {
                    assignee: assignment.agentId,
                    handledBy: completion.handledBy,
                    rule: 'per-agent statistics not fed; global and category statistics fed',
                  },
                }),
            ...(reportedStart < createdAt
              ? { startedAtClamped: { reported: completion.startedAt ?? null, measuredFrom: item.createdAt } }
              : {}),
          },
          policyVersion: assignment.policyVersion,
          modelVersion: assignment.modelVersion,
        }),
        // A retry after a lost reply says capacityReleased: false; the first record stands.
        { keyIdentifiesFact: true },
      );
      if (capacityReleased) await deps.dispatch.tick(`completion:${itemId}`, now);

      if (firstRecording) {
        emitMetric(metrics, METRICS.outcomesRecorded, 1);
        if (!handledByAssignee) emitMetric(metrics, METRICS.completionHandlerMismatch, 1);
        emitMetric(metrics, METRICS.cycleTime, cycleSeconds);
        emitMetric(metrics, METRICS.waitTime, waitSeconds);
        emitMetric(metrics, METRICS.handleTime, handleSeconds);
        emitMetric(metrics, METRICS.slaMet, slaMet ? 1 : 0);
        emitMetric(metrics, METRICS.predictionAbsError, Math.abs(summary.predictionErrorSeconds));
        // Quality per queue (the item's category): averages of these 0/1 values are the rates.
        const queue = { queue: item.category };
        const quality = completion.quality;
        const firstTime = quality.firstTimeResolution && !quality.reopened ? 1 : 0;
        const errored = ERRORED_OUTCOMES.includes(completion.outcome) ? 1 : 0;
        emitMetric(metrics, METRICS.slaMetByQueue, slaMet ? 1 : 0, queue);
        emitMetric(metrics, METRICS.firstTimeResolved, firstTime);
        emitMetric(metrics, METRICS.firstTimeResolvedByQueue, firstTime, queue);
        emitMetric(metrics, METRICS.reworked, quality.rework ? 1 : 0);
        emitMetric(metrics, METRICS.reworkedByQueue, quality.rework ? 1 : 0, queue);
        emitMetric(metrics, METRICS.reopened, quality.reopened ? 1 : 0);
        emitMetric(metrics, METRICS.reopenedByQueue, quality.reopened ? 1 : 0, queue);
        emitMetric(metrics, METRICS.erroredOutcomes, errored);
        emitMetric(metrics, METRICS.erroredOutcomesByQueue, errored, queue);
      }
      logger.info('outcome recorded', { ...summary });
      return summary;
    });
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable', 'instancesTable', 'auditTable', 'dispatchQueueUrl'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: RecordOutcomeHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createRecordOutcomeHandler({
    features: liveFeatureStore(env, telemetry.tracer),
    instances: liveInstanceStore(env, telemetry.tracer),
    audit: liveAuditLog(env, telemetry.tracer),
    dispatch: liveDispatchTrigger(env, telemetry.tracer),
    telemetry,
  });
});
