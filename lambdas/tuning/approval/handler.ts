import { ApprovalRequestInput } from '../../../domain/tuning';
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
import { type Clock, systemClock } from '../../shared/ports';
import { liveTuningStore } from '../../shared/tuning-live';
import type { TuningStore } from '../../shared/tuning-store';

const FUNCTION = 'tuning-approval';

export interface ApprovalDeps {
  readonly tuning: TuningStore;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export type ApprovalHandler = (
  event: unknown,
  context?: InvocationContext,
) => Promise<{ readonly approvalId: string }>;

/** The approval's id: the execution's name, one approval per tuning execution. */
export function approvalIdOf(executionId: string): string {
  return executionId.slice(executionId.lastIndexOf(':') + 1);
}

/**
 * Wait For Approval (lambda:invoke.waitForTaskToken): stores the high-impact change with the
 * task token, pending, where the operations API lists it; the execution waits until a person
 * sends SendTaskSuccess with an ApprovalDecision (approve or reject, who, why), or the wait times
 * out and nothing changes. A retried request replaces the stored token with the new one.
 *
 * @example
 * await handler({ taskToken, executionId: 'arn:...:execution:Tuning:abc', proposal });
 */
export function createApprovalHandler(deps: ApprovalDeps): ApprovalHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;
  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const parsed = ApprovalRequestInput.safeParse(event);
      if (!parsed.success) throw InvalidTaskInputError.from('Wait For Approval', parsed.error);
      const { taskToken, executionId, proposal } = parsed.data;
      const approvalId = approvalIdOf(executionId);
      await deps.tuning.putApprovalRequest({
        approvalId,
        taskToken,
        executionId,
        proposal,
        requestedAt: new Date(clock.now()).toISOString(),
        status: 'pending',
      });
      emitMetric(metrics, METRICS.tuningApprovalsRequested, 1);
      logger.info('policy change waits for approval', {
        approvalId,
        version: proposal.policy.version,
        reasons: proposal.approvalReasons,
      });
      return { approvalId };
    });
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: ApprovalHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createApprovalHandler({ tuning: liveTuningStore(env, telemetry.tracer), telemetry });
});
