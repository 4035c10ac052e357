import { describe, expect, it } from 'vitest';
import { DEFAULT_SLA_CLOCK, planSla } from '../../domain/policy';
import { createPlanWaitHandler } from '../../lambdas/plan-wait/handler';
import { InvalidTaskInputError } from '../../lambdas/shared/errors';
import { T0 } from './support';

const HOUR = 3_600_000;
// Created 1 h before T0, due 3 h after it: re-route at 3 h after creation, assign by 3.6 h.
const sla = planSla({
  createdAt: T0 - HOUR,
  dueAt: T0 + 3 * HOUR,
  maxAttempts: 2,
  minWindowSeconds: 900,
  clock: DEFAULT_SLA_CLOCK,
});

function handlerAt(now: number) {
  return createPlanWaitHandler({ clock: { now: () => now } });
}

describe('plan-wait handler', () => {
  it('bounds a completion wait by the attempt deadline on the item clock', async () => {
    // Act
    const bound = await handlerAt(T0)({ wait: 'completion', sla, attempt: 1 });

    // Assess
    expect(bound).toEqual({
      seconds: 2 * 3600,
      until: new Date(T0 + 2 * HOUR).toISOString(),
      reason: `re-route of attempt 1 at ${new Date(T0 + 2 * HOUR).toISOString()}`,
    });
  });

  it('bounds the assignment and review waits by the assign-by and due times', async () => {
    // Act
    const assignment = await handlerAt(T0)({ wait: 'assignment', sla });
    const review = await handlerAt(T0)({ wait: 'review', sla });

    // Assess
    expect(assignment).toMatchObject({ seconds: 2.6 * 3600, until: sla.assignBy });
    expect(review).toMatchObject({ seconds: 3 * 3600, until: sla.dueAt });
  });

  it('re-routes away from every agent who timed out, or escalates at the due time', async () => {
    // Act
    const early = await handlerAt(T0 + 2 * HOUR)({
      wait: 'reroute',
      sla,
      routing: { attempt: 1, excludedAgents: ['agent-old'] },
      agentId: 'agent-ana',
    });
    const late = await handlerAt(T0 + 3 * HOUR)({
      wait: 'reroute',
      sla,
      routing: { attempt: 1, excludedAgents: [] },
      agentId: 'agent-ana',
    });

    // Assess
    expect(early).toMatchObject({
      reroute: true,
      routing: { attempt: 2, excludedAgents: ['agent-old', 'agent-ana'] },
    });
    expect(late).toMatchObject({ reroute: false });
  });

  it('names the bad field of an input the state machine should never send', async () => {
    // Act
    const planning = handlerAt(T0)({ wait: 'completion', sla: { ...sla, completeBy: [] }, attempt: 1 });

    // Assess
    await expect(planning).rejects.toThrow(InvalidTaskInputError);
    await expect(planning).rejects.toThrow(/Plan Wait input is invalid at sla\.completeBy/);
  });
});
