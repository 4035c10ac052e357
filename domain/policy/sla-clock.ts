import { z } from 'zod';
import { isStorableNumber, NOT_STORABLE_MESSAGE } from './storable';

/**
 * The item's own clock: every wait of a process instance is bounded by the time left to the
 * item's SLA due time, never by a fixed timeout, and the bounds are fractions of the item's SLA
 * window (createdAt → slaDueAt), so a P1 and a P4 item escalate at the same share of their
 * promise. Pure: the caller passes `now`.
 */

/** Step Functions caps a Task's TimeoutSeconds(Path) at 99,999,999 s (about 3.2 years). */
export const MAX_TASK_TIMEOUT_SECONDS = 99_999_999;

/** The policy's part of the clock: when an item is re-routed and when an unassigned one goes to people. */
export const SlaClockPolicy = z.object({
  /**
   * Share of the SLA window after which the first assignee's completion wait ends and the item is
   * re-routed. Later attempts' re-route points are spread evenly between it and the due time; the
   * last attempt waits until the due time, then the item escalates.
   */
  rerouteAtSlaFraction: z.number().gt(0).max(1).refine(isStorableNumber, NOT_STORABLE_MESSAGE),
  /**
   * Share of the SLA window by which an item must be assigned; an item nobody takes by then goes
   * to people with the reason "no eligible agent", before its due time.
   */
  unassignedEscalationAtSlaFraction: z.number().gt(0).max(1).refine(isStorableNumber, NOT_STORABLE_MESSAGE),
});
export type SlaClockPolicy = z.infer<typeof SlaClockPolicy>;

export const DEFAULT_SLA_CLOCK: SlaClockPolicy = {
  rerouteAtSlaFraction: 0.75,
  unassignedEscalationAtSlaFraction: 0.9,
};

const IsoTimestamp = z.iso.datetime({ offset: true });

/**
 * An item's deadlines, fixed when it is scored (`$.scoring.sla`) and carried through the
 * execution, so every later wait is planned from the same clock and policy version.
 */
export const SlaPlan = z.object({
  createdAt: IsoTimestamp,
  dueAt: IsoTimestamp,
  /** Assigned by then, or escalated with "no eligible agent". */
  assignBy: IsoTimestamp,
  /** Completion deadline of each attempt (index 0 = attempt 1); the last one is the due time. */
  completeBy: z.array(IsoTimestamp).min(1),
  /** An item already late still gets this long a window (the policy's minCompletionWindowSeconds). */
  minWindowSeconds: z.number().int().min(1),
});
export type SlaPlan = z.infer<typeof SlaPlan>;

/** One wait's bound: the Task's TimeoutSecondsPath value, the instant it ends and why then. */
export const WaitBound = z.object({
  seconds: z.number().int().min(1).max(MAX_TASK_TIMEOUT_SECONDS),
  until: IsoTimestamp,
  reason: z.string(),
});
export type WaitBound = z.infer<typeof WaitBound>;

export interface SlaPlanInput {
  readonly createdAt: number;
  readonly dueAt: number;
  /** Attempts before escalation (the policy's maxReroutes + 1). */
  readonly maxAttempts: number;
  readonly minWindowSeconds: number;
  readonly clock: SlaClockPolicy;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The item's deadlines under the policy: attempt k of n ends at the re-route point
 * r + (k − 1)(1 − r)/(n − 1) of the window (r = rerouteAtSlaFraction), the last at the due time.
 *
 * @example
 * planSla({ createdAt: 0, dueAt: 3_600_000, maxAttempts: 2, minWindowSeconds: 60, clock: DEFAULT_SLA_CLOCK })
 * // completeBy: [45 min, 60 min], assignBy: 54 min
 */
export function planSla(input: SlaPlanInput): SlaPlan {
  const window = Math.max(0, input.dueAt - input.createdAt);
  const at = (fraction: number) => input.createdAt + Math.round(window * fraction);
  const attempts = Math.max(1, Math.floor(input.maxAttempts));
  const r = input.clock.rerouteAtSlaFraction;
  const completeBy = Array.from({ length: attempts }, (_, index) =>
    index === attempts - 1 ? input.dueAt : at(r + (index * (1 - r)) / (attempts - 1)),
  );
  return {
    createdAt: iso(input.createdAt),
    dueAt: iso(input.dueAt),
    assignBy: iso(at(input.clock.unassignedEscalationAtSlaFraction)),
    completeBy: completeBy.map(iso),
    minWindowSeconds: Math.min(MAX_TASK_TIMEOUT_SECONDS, Math.max(1, Math.ceil(input.minWindowSeconds))),
  };
}

/** Whole seconds from now to `until`, within what a Step Functions Task timeout accepts. */
function bound(now: number, until: number, reason: string): WaitBound {
  const seconds = Math.min(MAX_TASK_TIMEOUT_SECONDS, Math.max(1, Math.ceil((until - now) / 1000)));
  return { seconds, until: iso(now + seconds * 1000), reason };
}

/**
 * A wait that should end at `target`: until then when it is far enough ahead; otherwise a fair
 * window of minWindowSeconds that never runs past a due time still ahead (an item already past
 * due gets the whole window).
 */
function boundedBy(plan: SlaPlan, now: number, target: number, what: string): WaitBound {
  const floorMs = plan.minWindowSeconds * 1000;
  if (target - now >= floorMs) return bound(now, target, `${what} at ${iso(target)}`);
  const dueAt = Date.parse(plan.dueAt);
  if (dueAt > now && dueAt - now < floorMs) {
    return bound(now, dueAt, `${what} at ${iso(target)} is too close: until the due time ${plan.dueAt}`);
  }
  return bound(
    now,
    now + floorMs,
    dueAt > now
      ? `${what} at ${iso(target)} is too close: the policy's minimum window of ${plan.minWindowSeconds} s`
      : `past the due time ${plan.dueAt}: the policy's minimum window of ${plan.minWindowSeconds} s`,
  );
}

/**
 * Bound of Wait For Assignment: until assignBy (then "no eligible agent"); once that has passed
 * (a re-route or a review that ended later), until the due time; past due, a minimum window.
 */
export function assignmentWait(plan: SlaPlan, now: number): WaitBound {
  const assignBy = Date.parse(plan.assignBy);
  if (assignBy > now) return bound(now, assignBy, `assign by ${plan.assignBy}`);
  const dueAt = Date.parse(plan.dueAt);
  if (dueAt > now) return bound(now, dueAt, `assign-by time ${plan.assignBy} passed: until the due time`);
  return bound(
    now,
    now + plan.minWindowSeconds * 1000,
    `past the due time ${plan.dueAt}: the policy's minimum window of ${plan.minWindowSeconds} s`,
  );
}

/** Bound of Wait For Completion for an attempt: its re-route point (the last: the due time). */
export function completionWait(plan: SlaPlan, attempt: number, now: number): WaitBound {
  const index = Math.min(Math.max(1, Math.floor(attempt)), plan.completeBy.length) - 1;
  const target = Date.parse(plan.completeBy[index] ?? plan.dueAt);
  const last = index === plan.completeBy.length - 1;
  return boundedBy(plan, now, target, last ? 'escalation' : `re-route of attempt ${index + 1}`);
}

/** Bound of Human Review: a person decides before the due time (or within the minimum window). */
export function reviewWait(plan: SlaPlan, now: number): WaitBound {
  return boundedBy(plan, now, Date.parse(plan.dueAt), 'review deadline');
}

export interface RerouteDecision {
  readonly reroute: boolean;
  /** The next attempt's routing state: every agent who already timed out on the item excluded. */
  readonly routing: { readonly attempt: number; readonly excludedAgents: readonly string[] };
  readonly reason: string;
}

/**
 * After a missed completion window: re-route while attempts remain and the due time is ahead,
 * excluding every agent who timed out on the item so far; escalate otherwise.
 */
export function decideReroute(
  plan: SlaPlan,
  routing: { readonly attempt: number; readonly excludedAgents: readonly string[] },
  timedOutAgent: string,
  now: number,
): RerouteDecision {
  const excludedAgents = [...new Set([...routing.excludedAgents, timedOutAgent])];
  const next = { attempt: routing.attempt + 1, excludedAgents };
  if (routing.attempt >= plan.completeBy.length) {
    return {
      reroute: false,
      routing: next,
      reason: `no completion after ${routing.attempt} attempt(s), the policy's maximum, by ${iso(now)}`,
    };
  }
  if (now >= Date.parse(plan.dueAt)) {
    return {
      reroute: false,
      routing: next,
      reason: `no completion by the due time ${plan.dueAt} after ${routing.attempt} attempt(s)`,
    };
  }
  return {
    reroute: true,
    routing: next,
    reason: `${timedOutAgent} did not complete attempt ${routing.attempt} by ${plan.completeBy[routing.attempt - 1]}; re-routed away from ${excludedAgents.join(', ')}`,
  };
}
