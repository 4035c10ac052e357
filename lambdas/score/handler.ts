import { assignmentWait, decidePath, planSla, reviewWait } from '../../domain/policy';
import { instanceAttemptOf, type ScoringResult } from '../../domain/process';
import { scoreItem } from '../../domain/scoring';
import { loadEnv } from '../shared/env';
import { InvalidTaskInputError, TransientFailureError } from '../shared/errors';
import { builtOnFirstCall, liveAuditLog, liveFeatureStore, liveInstanceStore } from '../shared/live-ports';
import { emitMetric, METRICS } from '../shared/metrics-names';
import {
  correlate,
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import { activePolicyOrDefault } from '../shared/policy';
import {
  type AuditLog,
  type Clock,
  type FeatureStore,
  type InstanceStore,
  systemClock,
} from '../shared/ports';
import { auditRecord, toEpochMs } from '../shared/table-layout';
import { ScoreInput } from '../shared/task-inputs';

const FUNCTION = 'score';
const ACTOR = `flowtune:${FUNCTION}`;

export interface ScoreDeps {
  readonly features: FeatureStore;
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export type ScoreHandler = (event: unknown, context?: InvocationContext) => Promise<ScoringResult>;

/**
 * Score Item: features, roster and policy from the Features table → domain scoreItem and
 * decidePath → the instance record (stage SCORED) and a SCORED audit record with the model and
 * policy versions. Returns the ScoringResult the Decide Path choice reads, with the item's SLA
 * plan and the bounds of its first wait.
 *
 * @example
 * const scoring = await handler({ item, attempt: 1 });
 * scoring.decision.path; // 'routing'
 */
export function createScoreHandler(deps: ScoreDeps): ScoreHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);

  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const parsed = ScoreInput.safeParse(event);
      if (!parsed.success) throw InvalidTaskInputError.from('Score Item', parsed.error);
      const { item, attempt } = parsed.data;
      correlate(telemetry, item.id);
      const now = clock.now();

      const [features, agents, policy] = await Promise.all([
        deps.features.readHandlingFeatures(),
        deps.features.listAgents(),
        activePolicyOrDefault(deps.features, telemetry),
      ]);
      const createdAt = toEpochMs(item.createdAt);
      const slaDueAt = toEpochMs(item.slaDueAt);
      const score = scoreItem({
        item: {
          category: item.category,
          priority: item.priority,
          customerTier: item.customerTier,
          createdAt,
          slaDueAt,
          requiredSkills: item.requiredSkills,
          excludedAgents: [],
        },
        features,
        agents,
        now,
      });
      const decision = decidePath(item, score, policy);
      // The item's own clock, fixed now under this policy version: every wait is planned from it.
      const sla = planSla({
        createdAt,
        dueAt: slaDueAt,
        maxAttempts: policy.maxReroutes + 1,
        minWindowSeconds: policy.minCompletionWindowSeconds,
        clock: policy.slaClock,
      });
      const result: ScoringResult = {
        score,
        decision: { path: decision.path, reason: decision.reason },
        policyVersion: policy.version,
        sla,
        waits: { assignment: assignmentWait(sla, now), review: reviewWait(sla, now) },
      };

      const written = await deps.instances.recordScored({
        itemId: item.id,
        category: item.category,
        priority: item.priority,
        requiredSkills: item.requiredSkills,
        createdAt,
        slaDueAt,
        attempt,
        path: decision.path,
        predictedHandlingSeconds: score.predictedHandlingSeconds,
        modelVersion: score.modelVersion,
        policyVersion: policy.version,
        // The tuning loop's confidence-drift test reads it back when the item completes.
        confidence: score.confidence,
        ...(item.tenant === undefined ? {} : { tenant: item.tenant }),
        instanceAttempt: instanceAttemptOf(parsed.data.execution ?? item.id),
        at: now,
      });
      if (!written.ok) {
        const current = written.current;
        if (current?.cancellation !== undefined && current.stage !== 'CANCELLED') {
          // A cancellation that overtook the registration was kept on a bare record: the item is
          // cancelled now, so its first wait fails at once.
          const marked = await deps.instances.markCancelled(
            item.id,
            current.cancellation,
            current.taskToken,
            now,
          );
          if (!marked.ok && marked.current?.stage !== 'CANCELLED') {
            throw new TransientFailureError(
              `item ${item.id} changed while its kept cancellation was applied`,
            );
          }
        }
        // Cancelled or finished meanwhile: the next wait fails the execution with the reason.
        telemetry.logger.warn('instance already finished; scoring result returned but not stored', {
          stage: current?.stage,
        });
      }
      await deps.audit.append(
        auditRecord({
          itemId: item.id,
          kind: 'SCORED',
          at: now,
          attempt,
          actor: ACTOR,
          inputs: {
            item,
            agentsOnRoster: agents.length,
            categoryObservations: features.byCategory[item.category]?.count ?? 0,
          },
          details: result,
          policyVersion: policy.version,
          modelVersion: score.modelVersion,
        }),
      );
      telemetry.logger.info('item scored', { path: decision.path, confidence: score.confidence });
      emitMetric(telemetry.metrics, METRICS.itemsScored, 1, { path: decision.path });
      emitMetric(telemetry.metrics, METRICS.scoreConfidence, score.confidence, { path: decision.path });
      return result;
    });
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable', 'instancesTable', 'auditTable'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: ScoreHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createScoreHandler({
    features: liveFeatureStore(env, telemetry.tracer),
    instances: liveInstanceStore(env, telemetry.tracer),
    audit: liveAuditLog(env, telemetry.tracer),
    telemetry,
  });
});
