import type { PolicyChanged } from '../../../domain/events/tuning';
import { ApplyPolicyChangeInput, type ApplyPolicyChangeOutput } from '../../../domain/tuning';
import { loadEnv } from '../../shared/env';
import { InvalidTaskInputError } from '../../shared/errors';
import { builtOnFirstCall, liveFeatureStore } from '../../shared/live-ports';
import {
  type InvocationContext,
  MetricUnit,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../../shared/observability';
import { type Clock, type FeatureStore, systemClock } from '../../shared/ports';
import { liveTuningStore } from '../../shared/tuning-live';
import type { TuningStore } from '../../shared/tuning-store';

const FUNCTION = 'tuning-apply';
const ACTOR = 'flowtune:tuning';

/** The active policy moved on since the change was proposed: it must be proposed again, from the new one. */
export class PolicyConflictError extends Error {
  override readonly name = 'PolicyConflictError';
}

export interface ApplyDeps {
  readonly tuning: TuningStore;
  readonly features: FeatureStore;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export type ApplyHandler = (event: unknown, context?: InvocationContext) => Promise<ApplyPolicyChangeOutput>;

/**
 * Apply Policy Change: a promotion or a threshold adaptation becomes a new immutable version
 * (POLICY / V#<version>) and the active policy, only if the active one is still the version the
 * change was computed from; a rollback ends the candidate's trial (the control stays active); a
 * rejected approval changes nothing but the experiment's status. Returns the PolicyChanged detail
 * the state machine puts on the bus. Safe to retry: a version already active is not applied twice.
 *
 * @example
 * const { event } = await handler({ proposal, approval: { decision: 'approve', actor: 'ops:ana', reason: '…' } });
 */
export function createApplyHandler(deps: ApplyDeps): ApplyHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;
  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const parsed = ApplyPolicyChangeInput.safeParse(event);
      if (!parsed.success) throw InvalidTaskInputError.from('Apply Policy Change', parsed.error);
      const { proposal, approval } = parsed.data;
      const now = clock.now();
      const changedAt = new Date(now).toISOString();
      const base: Omit<PolicyChanged, 'policyVersion' | 'previousVersion' | 'kind' | 'approval'> = {
        schemaVersion: '1',
        changes: proposal.changes,
        reason: proposal.reason,
        actor: approval?.actor ?? ACTOR,
        ...(proposal.experimentId === undefined ? {} : { experimentId: proposal.experimentId }),
        evidence: proposal.evidence,
        changedAt,
      };
      const experiment = await deps.tuning.readExperiment();
      const ownExperiment = experiment !== undefined && experiment.experimentId === proposal.experimentId;

      if (proposal.kind === 'rolled-back') {
        metrics.addMetric('PolicyRollbacks', MetricUnit.Count, 1);
        return {
          outcome: 'rolled-back',
          event: {
            ...base,
            policyVersion: proposal.policy.version,
            previousVersion: proposal.previousVersion,
            kind: 'rolled-back',
            approval: 'automatic',
          },
        };
      }

      if (approval?.decision === 'reject') {
        if (ownExperiment && experiment !== undefined) {
          await deps.tuning.saveExperiment({
            ...experiment,
            status: 'rejected',
            reason: approval.reason,
            decidedAt: now,
          });
        }
        metrics.addMetric('PolicyChangesRejected', MetricUnit.Count, 1);
        return {
          outcome: 'rejected',
          event: {
            ...base,
            reason: `${approval.actor} rejected ${proposal.policy.version}: ${approval.reason}`,
            policyVersion: proposal.previousVersion,
            previousVersion: proposal.previousVersion,
            kind: 'rejected',
            approval: 'approved',
            approvedBy: approval.actor,
          },
        };
      }

      await deps.tuning.putPolicyVersion({
        version: proposal.policy.version,
        policy: proposal.policy,
        parentVersion: proposal.previousVersion,
        kind: proposal.kind,
        reason: proposal.reason,
        createdAt: changedAt,
        createdBy: approval?.actor ?? ACTOR,
        ...(proposal.experimentId === undefined ? {} : { experimentId: proposal.experimentId }),
      });
      let outcome: 'activated' | 'already-active' = 'activated';
      if ((await deps.tuning.activatePolicy(proposal.policy, proposal.previousVersion)) === 'conflict') {
        const active = await deps.features.getActivePolicy();
        if (active.version !== proposal.policy.version) {
          throw new PolicyConflictError(
            `the active policy is ${active.version}, not ${proposal.previousVersion} as when ${proposal.policy.version} was proposed; the next cycle proposes from the new version`,
          );
        }
        outcome = 'already-active';
      }
      if (ownExperiment && experiment !== undefined && experiment.status !== 'promoted') {
        await deps.tuning.saveExperiment({
          ...experiment,
          status: 'promoted',
          decidedAt: experiment.decidedAt ?? now,
        });
      }
      metrics.addMetric('PolicyChangesApplied', MetricUnit.Count, 1);
      logger.info('policy change applied', {
        version: proposal.policy.version,
        kind: proposal.kind,
        outcome,
      });
      return {
        outcome,
        event: {
          ...base,
          policyVersion: proposal.policy.version,
          previousVersion: proposal.previousVersion,
          kind: proposal.kind,
          approval: approval === undefined ? 'automatic' : 'approved',
          ...(approval === undefined ? {} : { approvedBy: approval.actor }),
        },
      };
    });
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: ApplyHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createApplyHandler({
    tuning: liveTuningStore(env, telemetry.tracer),
    features: liveFeatureStore(env, telemetry.tracer),
    telemetry,
  });
});
