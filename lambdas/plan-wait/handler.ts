import { assignmentWait, completionWait, decideReroute, reviewWait } from '../../domain/policy';
import { PlanWaitRequest, type RerouteResult, type WaitBound } from '../../domain/process';
import { InvalidTaskInputError } from '../shared/errors';
import {
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import { type Clock, systemClock } from '../shared/ports';

const FUNCTION = 'planWait';

export interface PlanWaitDeps {
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export type PlanWaitHandler = (
  event: unknown,
  context?: InvocationContext,
) => Promise<WaitBound | RerouteResult>;

/**
 * Plan Wait: the bound of the next wait from the item's own clock (`$.scoring.sla`, fixed when it
 * was scored) and now — Step Functions has no date arithmetic, so the seconds left are computed
 * here — or, after a missed completion window, whether to re-route (attempts left and the due
 * time ahead) with every agent who timed out so far excluded. No tables: the plan is in the state.
 *
 * @example
 * await handler({ wait: 'completion', sla, attempt: 1 }); // { seconds: 2700, until: '…', reason: 're-route of attempt 1 at …' }
 */
export function createPlanWaitHandler(deps: PlanWaitDeps = {}): PlanWaitHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);

  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const parsed = PlanWaitRequest.safeParse(event);
      if (!parsed.success) throw InvalidTaskInputError.from('Plan Wait', parsed.error);
      const request = parsed.data;
      const now = clock.now();
      switch (request.wait) {
        case 'assignment':
          return assignmentWait(request.sla, now);
        case 'review':
          return reviewWait(request.sla, now);
        case 'completion':
          return completionWait(request.sla, request.attempt, now);
        case 'reroute': {
          const decision = decideReroute(request.sla, request.routing, request.agentId, now);
          telemetry.logger.info('missed completion window', {
            reroute: decision.reroute,
            reason: decision.reason,
          });
          return {
            ...decision,
            routing: { ...decision.routing, excludedAgents: [...decision.routing.excludedAgents] },
          };
        }
      }
    });
}

/** Environment this function reads: none (the plan travels in the execution state). */
export const requiredEnv = [] as const;

let live: PlanWaitHandler | undefined;

/** The deployed entry point: built once, at the first invocation. */
export const handler: PlanWaitHandler = async (event, context) => {
  live ??= createPlanWaitHandler({ telemetry: telemetryFor(FUNCTION) });
  return live(event, context);
};
