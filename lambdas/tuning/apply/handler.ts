import { ApplyPolicyChangeInput, type ApplyPolicyChangeOutput } from '../../../domain/tuning';
import { loadEnv } from '../../shared/env';
import { InvalidTaskInputError } from '../../shared/errors';
import { builtOnFirstCall } from '../../shared/live-ports';
import { emitMetric, METRICS } from '../../shared/metrics-names';
import {
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../../shared/observability';
import type { PolicyStore } from '../../shared/policy-store';
import { type Clock, systemClock } from '../../shared/ports';
import { livePolicyStore, liveTuningStore } from '../../shared/tuning-live';
import type { TuningStore } from '../../shared/tuning-store';

const FUNCTION = 'tuning-apply';
const ACTOR = 'flowtune:tuning';

/** The active policy moved on since the change was proposed: the next cycle proposes from the new one. */
export { PolicyConflictError } from '../../shared/policy-store';

export interface ApplyDeps {
  /** The experiment's status lives here. */
  readonly tuning: TuningStore;
  /** The one way the active policy changes (versions, conditional activation, audit, PolicyChanged). */
  readonly policies: PolicyStore;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export type ApplyHandler = (event: unknown, context?: InvocationContext) => Promise<ApplyPolicyChangeOutput>;

/**
 * Apply Policy Change: a promotion or a threshold adaptation becomes a new immutable version
 * (POLICY / V#<version>) and the active policy, only if the active one is still the version the
 * change was computed from; a rollback ends the candidate's trial (the control stays active); a
 * rejected approval changes nothing but the experiment's status. Every outcome goes through the
 * PolicyStore, which audits it and publishes PolicyChanged; the detail is also returned into the
 * workflow's state. Safe to retry: a version already active is not applied twice.
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
      const about = {
        changes: proposal.changes,
        evidence: proposal.evidence,
        ...(proposal.experimentId === undefined ? {} : { experimentId: proposal.experimentId }),
      };
      const experiment = await deps.tuning.readExperiment();
      const ownExperiment = experiment !== undefined && experiment.experimentId === proposal.experimentId;

      if (proposal.kind === 'rolled-back') {
        emitMetric(metrics, METRICS.policyRollbacks, 1);
        const event = await deps.policies.announce({
          kind: 'rolled-back',
          policyVersion: proposal.policy.version,
          previousVersion: proposal.previousVersion,
          reason: proposal.reason,
          actor: ACTOR,
          ...about,
        });
        return { outcome: 'rolled-back', event };
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
        emitMetric(metrics, METRICS.policyChangesRejected, 1);
        const event = await deps.policies.announce({
          kind: 'rejected',
          policyVersion: proposal.previousVersion,
          previousVersion: proposal.previousVersion,
          reason: `${approval.actor} rejected ${proposal.policy.version}: ${approval.reason}`,
          actor: approval.actor,
          approvedBy: approval.actor,
          ...about,
        });
        return { outcome: 'rejected', event };
      }

      // Through the one policy store: a new immutable version, activated only if the active one
      // is still the version the change was computed from; audited and announced (PolicyChanged).
      const result = await deps.policies.change({
        policy: proposal.policy,
        baseVersion: proposal.previousVersion,
        kind: proposal.kind,
        reason: proposal.reason,
        actor: approval?.actor ?? ACTOR,
        ...(approval === undefined ? {} : { approvedBy: approval.actor }),
        ...(proposal.experimentId === undefined ? {} : { experimentId: proposal.experimentId }),
        evidence: proposal.evidence,
      });
      const outcome = result.outcome;
      if (ownExperiment && experiment !== undefined && experiment.status !== 'promoted') {
        await deps.tuning.saveExperiment({
          ...experiment,
          status: 'promoted',
          decidedAt: experiment.decidedAt ?? now,
        });
      }
      emitMetric(metrics, METRICS.policyChangesApplied, 1);
      logger.info('policy change applied', {
        version: proposal.policy.version,
        kind: proposal.kind,
        outcome,
      });
      return { outcome, event: result.event };
    });
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable', 'auditTable', 'eventBusName'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: ApplyHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createApplyHandler({
    tuning: liveTuningStore(env, telemetry.tracer),
    policies: livePolicyStore(env, telemetry.tracer),
    telemetry,
  });
});
