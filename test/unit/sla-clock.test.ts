import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SLA_CLASS_TARGET_SECONDS } from '../../domain/events';
import {
  assignmentWait,
  completionWait,
  DEFAULT_SLA_CLOCK,
  decideReroute,
  MAX_TASK_TIMEOUT_SECONDS,
  planSla,
  reviewWait,
  type SlaPlan,
} from '../../domain/policy';

const T0 = Date.parse('2026-12-01T08:00:00.000Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function plan(windowMs: number, maxAttempts = 2, minWindowSeconds = 60): SlaPlan {
  return planSla({
    createdAt: T0,
    dueAt: T0 + windowMs,
    maxAttempts,
    minWindowSeconds,
    clock: DEFAULT_SLA_CLOCK,
  });
}

describe('the SLA plan', () => {
  it.each(Object.entries(SLA_CLASS_TARGET_SECONDS))(
    'puts the %s re-route at 75 %% of the window, the assign-by time at 90 %% and the escalation at the due time',
    (_slaClass, seconds) => {
      const window = seconds * 1000;
      expect(plan(window)).toEqual({
        createdAt: iso(T0),
        dueAt: iso(T0 + window),
        assignBy: iso(T0 + 0.9 * window),
        completeBy: [iso(T0 + 0.75 * window), iso(T0 + window)],
        minWindowSeconds: 60,
      });
    },
  );

  it('spreads later re-route points evenly between the first and the due time', () => {
    const sla = planSla({
      createdAt: T0,
      dueAt: T0 + 4 * HOUR,
      maxAttempts: 3,
      minWindowSeconds: 60,
      clock: { rerouteAtSlaFraction: 0.5, unassignedEscalationAtSlaFraction: 0.8 },
    });
    expect(sla.completeBy).toEqual([iso(T0 + 2 * HOUR), iso(T0 + 3 * HOUR), iso(T0 + 4 * HOUR)]);
  });

  it('escalates at the due time with no re-route when the policy allows none', () => {
    expect(plan(HOUR, 1).completeBy).toEqual([iso(T0 + HOUR)]);
  });
});

describe('wait bounds on the item clock', () => {
  it('ends the first completion wait at the re-route point, however late the assignment came', () => {
    const sla = plan(4 * HOUR);
    // Assigned 10 min after creation, then 2 h after.
    expect(completionWait(sla, 1, T0 + 10 * 60_000)).toMatchObject({
      seconds: 2 * 3600 + 50 * 60,
      until: iso(T0 + 3 * HOUR),
    });
    expect(completionWait(sla, 1, T0 + 2 * HOUR)).toMatchObject({ seconds: 3600, until: iso(T0 + 3 * HOUR) });
  });

  it('ends the last attempt at the due time, not a full SLA window after the re-route', () => {
    const sla = plan(24 * HOUR);
    expect(completionWait(sla, 2, T0 + 18.5 * HOUR)).toMatchObject({
      seconds: 5.5 * 3600,
      until: iso(T0 + 24 * HOUR),
    });
  });

  it('gives an assignee the minimum window when the re-route point is too close, but never past a near due time', () => {
    const sla = plan(HOUR, 2, 600);
    // Re-route point at 45 min; assigned at 40 min: 5 min left < 10 min floor → 10 min (due at 60 min).
    expect(completionWait(sla, 1, T0 + 40 * 60_000).seconds).toBe(600);
    // Assigned at 55 min: the floor would pass the due time → until the due time.
    expect(completionWait(sla, 1, T0 + 55 * 60_000)).toMatchObject({ seconds: 300, until: iso(T0 + HOUR) });
    // Already past due: the whole minimum window.
    expect(completionWait(sla, 2, T0 + 2 * HOUR).seconds).toBe(600);
  });

  it('bounds the assignment wait by the assign-by time, then by the due time, then by the minimum window', () => {
    const sla = plan(HOUR, 2, 600);
    expect(assignmentWait(sla, T0)).toMatchObject({ seconds: 54 * 60, until: iso(T0 + 54 * 60_000) });
    expect(assignmentWait(sla, T0 + 56 * 60_000)).toMatchObject({ seconds: 4 * 60, until: iso(T0 + HOUR) });
    expect(assignmentWait(sla, T0 + 2 * HOUR).seconds).toBe(600);
  });

  it('bounds a review by the due time', () => {
    expect(reviewWait(plan(4 * HOUR), T0 + HOUR)).toMatchObject({
      seconds: 3 * 3600,
      until: iso(T0 + 4 * HOUR),
    });
  });

  it('never asks for more than Step Functions accepts, nor less than one second', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 * 365 * 24 * 3600 }),
        fc.integer({ min: -10 * 24 * 3600, max: 20 * 365 * 24 * 3600 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (windowSeconds, offsetSeconds, maxAttempts, attempt) => {
          const sla = plan(windowSeconds * 1000, maxAttempts, 1);
          const now = T0 + offsetSeconds * 1000;
          for (const bound of [
            assignmentWait(sla, now),
            reviewWait(sla, now),
            completionWait(sla, attempt, now),
          ]) {
            expect(bound.seconds).toBeGreaterThanOrEqual(1);
            expect(bound.seconds).toBeLessThanOrEqual(MAX_TASK_TIMEOUT_SECONDS);
            expect(Number.isInteger(bound.seconds)).toBe(true);
            expect(Date.parse(bound.until)).toBe(now + bound.seconds * 1000);
          }
        },
      ),
    );
  });
});

describe('the re-route decision', () => {
  it('re-routes away from every agent who timed out so far while attempts and time remain', () => {
    const sla = plan(4 * HOUR, 3);
    const decision = decideReroute(
      sla,
      { attempt: 2, excludedAgents: ['agent-ana'] },
      'agent-ben',
      T0 + 3.5 * HOUR,
    );
    expect(decision).toMatchObject({
      reroute: true,
      routing: { attempt: 3, excludedAgents: ['agent-ana', 'agent-ben'] },
    });
  });

  it('escalates once the attempts are used up', () => {
    const decision = decideReroute(
      plan(HOUR),
      { attempt: 2, excludedAgents: ['agent-ana'] },
      'agent-ben',
      T0 + HOUR,
    );
    expect(decision.reroute).toBe(false);
    expect(decision.reason).toMatch(/after 2 attempt\(s\), the policy's maximum/);
  });

  it('escalates when the due time has come, even with attempts left', () => {
    const decision = decideReroute(
      plan(HOUR, 3, 600),
      { attempt: 1, excludedAgents: [] },
      'agent-ana',
      T0 + HOUR + 1,
    );
    expect(decision.reroute).toBe(false);
    expect(decision.reason).toMatch(/no completion by the due time/);
  });
});
