import type { AgentState } from '../../../domain/model';
import { HANDLING_MODEL_VERSION } from '../../../domain/scoring';
import {
  initialTuningState,
  runTuningCycle,
  statisticsSince,
  type TuningCycleOutput,
} from '../../../domain/tuning';
import { loadEnv } from '../../shared/env';
import { builtOnFirstCall, liveFeatureStore } from '../../shared/live-ports';
import { emitMetric, METRICS } from '../../shared/metrics-names';
import {
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../../shared/observability';
import { activePolicyOrDefault } from '../../shared/policy';
import { type Clock, type FeatureStore, systemClock } from '../../shared/ports';
import { liveTuningStore } from '../../shared/tuning-live';
import type { TuningStore } from '../../shared/tuning-store';

const FUNCTION = 'tuning-cycle';
const HOUR = 3_600_000;
/** A cycle never reads further back than this, however long the loop was stopped. */
const MAX_LOOKBACK = 6 * HOUR;
/** How long after its end a bucket is taken as complete. */
const SETTLE_MS = 60_000;

/** Another cycle saved the state first; the state machine retries this one from the new state. */
export class TuningStateConflictError extends Error {
  override readonly name = 'TuningStateConflictError';
}

export interface CycleDeps {
  readonly tuning: TuningStore;
  readonly features: FeatureStore;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export type CycleHandler = (event: unknown, context?: InvocationContext) => Promise<TuningCycleOutput>;

const iso = (at: number) => new Date(at).toISOString();
const finiteOrNull = (value: number) => (Number.isFinite(value) ? Math.round(value * 10_000) / 10_000 : null);

/**
 * Run Tuning Cycle: reads the buckets observed since the last cycle, the items still running at
 * the end of the last of them, the detector state, the active policy, the handling statistics and
 * the roster; runs the pure cycle (window KPIs, drift
 * tests, capacity check, thresholds, experiment decision); restarts the statistics of categories
 * whose residuals drifted; saves the state (optimistic, by revision) and returns what the state
 * machine emits and whether a policy change waits for approval.
 *
 * @example
 * const output = await handler({});
 * output.drift.length; // DriftDetected details to emit
 */
export function createCycleHandler(deps: CycleDeps): CycleHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;

  return (_event, context) =>
    withInvocation(telemetry, context, async () => {
      const now = clock.now();
      const config = await deps.tuning.readConfig();
      const stored = await deps.tuning.readState();
      const state = stored?.state ?? initialTuningState(now);
      const experiment = await deps.tuning.readExperiment();
      const policy = await activePolicyOrDefault(deps.features, telemetry);
      const features = await deps.features.readHandlingFeatures();
      const agents = await deps.features.listAgents();
      const standbyIds = new Set(config.capacity.standbyAgentIds);
      const roster: AgentState[] = agents.filter((agent) => !standbyIds.has(agent.agentId));
      const standby = agents.filter((agent) => standbyIds.has(agent.agentId) && agent.status === 'offline');
      // Events reach the observe function seconds late: a bucket is read only once it has settled.
      const settled = now - SETTLE_MS;
      const buckets = (
        await deps.tuning.readBuckets(Math.max(state.processedUntil, now - MAX_LOOKBACK), settled)
      ).filter((bucket) => bucket.start + bucket.seconds * 1000 <= settled);
      // The work in progress as of the end of the last bucket read (the loop ignores any other
      // time): every item then counts once, as a completion in the buckets or as running here.
      const asOf = buckets.reduce(
        (end, bucket) => Math.max(end, bucket.start + bucket.seconds * 1000),
        state.processedUntil,
      );
      const running = asOf > 0 ? await deps.tuning.listRunning(asOf) : [];

      const result = runTuningCycle(state, {
        now,
        ...(asOf > 0
          ? {
              inProgress: {
                asOf,
                items: running.map(({ category, startedAt, predictedSeconds }) => ({
                  category,
                  startedAt,
                  predictedSeconds,
                })),
              },
            }
          : {}),
        config,
        policy,
        modelVersion: HANDLING_MODEL_VERSION,
        buckets,
        features,
        roster,
        standby,
        ...(experiment === undefined ? {} : { experiment }),
      });

      // Re-estimation: the drifted category's statistics restart from its change point.
      for (const reestimation of result.reestimations) {
        const since = Math.max(reestimation.since, now - MAX_LOOKBACK);
        const statistics = statisticsSince(
          await deps.tuning.readBuckets(since, now),
          reestimation.category,
          since,
        );
        await deps.features.updateHandlingStats(
          { scope: 'category', category: reestimation.category },
          () => statistics.stats,
        );
        for (const [agentId, stats] of Object.entries(statistics.byAgent)) {
          await deps.features.updateHandlingStats(
            { scope: 'category-agent', category: reestimation.category, agentId },
            () => stats,
          );
        }
      }
      // Only a running experiment changes in a cycle; it is saved on condition that it still runs,
      // so a person's stop (or a new experiment) since the read is never overwritten, and a
      // decision on an experiment stopped meanwhile is dropped.
      let experimentLost = false;
      if (experiment?.status === 'running' && result.experiment !== undefined) {
        experimentLost = (await deps.tuning.updateExperiment(result.experiment, 'running')) === 'conflict';
        if (experimentLost) {
          logger.warn('experiment changed during the cycle; its decision is dropped', {
            experimentId: experiment.experimentId,
          });
        }
      }
      if ((await deps.tuning.saveState(result.state, stored?.revision)) === 'conflict') {
        throw new TuningStateConflictError(
          `tuning state changed since revision ${stored?.revision ?? 'none'}: another cycle ran at the same time`,
        );
      }

      // DriftDetected (service dimension only) is what the alarm watches; the per-kind copy is for dashboards.
      emitMetric(metrics, METRICS.driftDetected, result.drift.length);
      for (const event of result.drift) {
        emitMetric(metrics, METRICS.driftDetectedByKind, 1, { kind: event.kind });
      }
      for (const [kind, ratio] of Object.entries(result.driftRatios))
        emitMetric(metrics, METRICS.driftRatio, ratio, { kind });
      emitMetric(metrics, METRICS.tuningCycles, 1);
      if (Number.isFinite(result.kpis.occupancy))
        emitMetric(metrics, METRICS.occupancy, result.kpis.occupancy * 100);
      const change =
        experimentLost && result.policyChange?.experimentId !== undefined ? undefined : result.policyChange;
      logger.info('tuning cycle', {
        buckets: buckets.length,
        running: running.length,
        drift: result.drift.map((event) => event.driftId),
        reestimated: result.reestimations.map((entry) => entry.category),
        policyChange: change?.kind,
        needsApproval: change?.needsApproval,
      });
      return {
        cycleAt: iso(now),
        drift: [...result.drift],
        reestimated: result.reestimations.map((entry) => ({
          category: entry.category,
          since: iso(entry.since),
        })),
        standbyCalls: result.standby.map((call) => ({ agentId: call.agentId, decision: call.decision })),
        hasPolicyChange: change !== undefined,
        ...(change === undefined
          ? {}
          : {
              policyChange: {
                kind: change.kind,
                policy: change.policy,
                previousVersion: change.previousVersion,
                changes: [...change.changes],
                reason: change.reason,
                needsApproval: change.needsApproval,
                approvalReasons: [...change.approvalReasons],
                ...(change.experimentId === undefined ? {} : { experimentId: change.experimentId }),
                evidence: { ...change.evidence },
              },
            }),
        kpis: {
          arrivalsPerHour: finiteOrNull(result.kpis.arrivalsPerHour),
          completions: result.kpis.completions,
          slaAttainment: finiteOrNull(result.kpis.slaAttainment),
          largeErrorRate: finiteOrNull(result.kpis.largeErrorRate),
          reopenRate: finiteOrNull(result.kpis.reopenRate),
          meanConfidence: finiteOrNull(result.kpis.meanConfidence),
          occupancy: finiteOrNull(result.kpis.occupancy),
        },
        ...(result.experiment === undefined || experimentLost
          ? {}
          : {
              experiment: {
                experimentId: result.experiment.experimentId,
                status: result.experiment.status,
                ...(result.experimentDecision === undefined
                  ? {}
                  : { decision: result.experimentDecision.decision }),
              },
            }),
      };
    });
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: CycleHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createCycleHandler({
    tuning: liveTuningStore(env, telemetry.tracer),
    features: liveFeatureStore(env, telemetry.tracer),
    telemetry,
  });
});
