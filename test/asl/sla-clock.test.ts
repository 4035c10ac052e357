import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLA_CLASS_TARGET_SECONDS } from '../../domain/events';
import { DEFAULT_POLICY, type SlaPlan, type WaitBound } from '../../domain/policy';
import type { AuditRecord } from '../../lambdas/shared/ports';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { waitUntil } from '../support/wait-until';

/**
 * The item's own clock, run in process-instance.asl.json with every Task bound to the real
 * handlers and DynamoDB Local, on simulated time (the runtime's scaled clock, each SLA class's
 * window lasting 16 wall seconds). Nobody completes: the first assignee's window must
 * end at the policy's re-route point, the second at the due time, then the item escalates; an item
 * nobody can take goes to people at its assign-by time, before its due time.
 *
 * What is asserted does not depend on the machine's speed: the deadlines are fixed at scoring, each
 * wait's timer is set to end at its deadline (to the whole second Step Functions counts in), and
 * nothing fires before its deadline. How long after it the next record is written is load.
 */

// Long enough that a loaded machine still assigns well before each deadline.
const WALL_SECONDS_PER_WINDOW = 16;
const ASSIGN_BY = 0.95;
const SECOND = 1000;

interface Case {
  readonly slaClass: keyof typeof SLA_CLASS_TARGET_SECONDS;
  readonly maxReroutes: number;
  /** The policy's first re-route point, as a share of the SLA window. */
  readonly rerouteAt: number;
  readonly agents: readonly string[];
}

const CASES: readonly Case[] = [
  { slaClass: 'P1', maxReroutes: 1, rerouteAt: 0.6, agents: ['agent-ana', 'agent-ben'] },
  // Re-route points at 40 % and 70 %, escalation at 100 %.
  { slaClass: 'P2', maxReroutes: 2, rerouteAt: 0.4, agents: ['agent-ana', 'agent-ben', 'agent-cai'] },
  { slaClass: 'P3', maxReroutes: 1, rerouteAt: 0.7, agents: ['agent-ana', 'agent-ben'] },
  { slaClass: 'P4', maxReroutes: 1, rerouteAt: 0.5, agents: ['agent-ana', 'agent-ben'] },
];

const kinds = (trail: readonly AuditRecord[]) => trail.map((record) => record.kind);
const recordAt = (trail: readonly AuditRecord[], kind: string) =>
  trail.filter((record) => record.kind === kind).map((record) => Date.parse(record.at));

/** The bounds each entry of `state` was given, from the execution history (the state input). */
function boundsOf(runtime: LocalRuntime, itemId: string, state: string, wait: 'assignment' | 'completion') {
  return runtime.runner
    .getExecutionHistory(itemId)
    .flatMap((event) => (event.type === 'StateEntered' && event.state.name === state ? [event] : []))
    .map((event) => {
      const input = event.state.input as { scoring: { waits: Record<string, WaitBound> } };
      return input.scoring.waits[wait] as WaitBound;
    });
}

function expectTimerAt(bound: WaitBound | undefined, deadline: number): void {
  // Whole seconds, rounded up: the timer ends at the deadline, never before, within one second.
  const until = Date.parse(bound?.until ?? '');
  expect(until).toBeGreaterThanOrEqual(deadline);
  expect(until).toBeLessThan(deadline + SECOND);
}

describe('the item clock in the process instance', { timeout: 240_000 }, () => {
  let dynamoDb: DynamoDbLocal;

  beforeAll(async () => {
    dynamoDb = await startDynamoDbLocal();
  });

  afterAll(async () => {
    await dynamoDb?.stop();
  });

  async function runtimeFor(windowSeconds: number, testCase: Case): Promise<LocalRuntime> {
    const runtime = await startLocalRuntime({
      dynamoDb,
      timeScale: windowSeconds / WALL_SECONDS_PER_WINDOW,
      dispatchTickMs: false,
      tuningTickMs: false,
      allocationTickMs: false,
      retryIntervalMs: 10,
    });
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: `sla-clock-${testCase.slaClass}`,
      minConfidence: 0,
      maxAutoRisk: 1,
      maxReroutes: testCase.maxReroutes,
      minCompletionWindowSeconds: 60,
      slaClock: { rerouteAtSlaFraction: testCase.rerouteAt, unassignedEscalationAtSlaFraction: ASSIGN_BY },
    });
    for (const agentId of testCase.agents) {
      const now = runtime.clock.now();
      await runtime.putEvent(
        'AgentStatusChanged',
        {
          agentId,
          status: 'available',
          capacity: 2,
          skills: [{ skill: 'billing', proficiency: 4 }],
          changedAt: new Date(now).toISOString(),
          shiftEndsAt: new Date(now + 30 * 24 * 3_600_000).toISOString(),
        },
        'workforce',
      );
    }
    await runtime.idle();
    return runtime;
  }

  async function create(runtime: LocalRuntime, itemId: string, slaClass: string, skill = 'billing') {
    const createdAt = runtime.clock.now();
    await runtime.putEvent(
      'WorkItemCreated',
      {
        id: itemId,
        kind: 'ticket',
        channel: 'email',
        category: 'billing',
        requiredSkills: [{ skill, minProficiency: 2 }],
        priority: 3,
        slaClass,
        createdAt: new Date(createdAt).toISOString(),
      },
      'helpdesk',
    );
    return createdAt;
  }

  async function escalatedTrail(runtime: LocalRuntime, itemId: string): Promise<AuditRecord[]> {
    await runtime.waitForEmitted('WorkItemEscalated', itemId, 60_000);
    // The audit record follows the event (Audit Escalation comes after Escalate).
    await waitUntil(async () => kinds(await runtime.auditTrail(itemId)).includes('ESCALATED'), 10_000);
    return runtime.auditTrail(itemId);
  }

  const slaOf = (trail: readonly AuditRecord[]) =>
    (JSON.parse(trail.find((record) => record.kind === 'SCORED')?.details ?? '{}') as { sla: SlaPlan }).sla;

  it.each(CASES)(
    '$slaClass: re-routes from $rerouteAt of the SLA window ($maxReroutes time(s)) and escalates at the due time, away from every agent who timed out',
    async (testCase) => {
      // Prepare
      const windowSeconds = SLA_CLASS_TARGET_SECONDS[testCase.slaClass];
      const window = windowSeconds * SECOND;
      const runtime = await runtimeFor(windowSeconds, testCase);
      const itemId = `TCK-clock-${testCase.slaClass}`;
      try {
        // Act
        const createdAt = await create(runtime, itemId, testCase.slaClass);
        const trail = await escalatedTrail(runtime, itemId);

        // Assess: the deadlines fixed at scoring are the policy's.
        const attempts = testCase.maxReroutes + 1;
        const sla = slaOf(trail);
        expect(Date.parse(sla.createdAt)).toBe(createdAt);
        const reroutePoints = Array.from(
          { length: testCase.maxReroutes },
          (_, k) =>
            createdAt +
            Math.round(window * (testCase.rerouteAt + (k * (1 - testCase.rerouteAt)) / testCase.maxReroutes)),
        );
        const dueAt = createdAt + window;
        expect(sla.completeBy.map(Date.parse)).toEqual([...reroutePoints, dueAt]);
        expect(Date.parse(sla.assignBy)).toBe(createdAt + Math.round(window * ASSIGN_BY));

        // Each completion wait's timer ends at its attempt's deadline; the first assignment wait's at assign-by.
        const completionTimers = boundsOf(runtime, itemId, 'Wait For Completion', 'completion');
        expect(completionTimers).toHaveLength(attempts);
        for (const [k, deadline] of [...reroutePoints, dueAt].entries())
          expectTimerAt(completionTimers[k], deadline);
        expectTimerAt(
          boundsOf(runtime, itemId, 'Wait For Assignment', 'assignment')[0],
          Date.parse(sla.assignBy),
        );

        // Nothing fires early: each re-route after its point, the escalation after the due time.
        const reroutedAt = recordAt(trail, 'REROUTED');
        expect(reroutedAt).toHaveLength(testCase.maxReroutes);
        for (const [k, at] of reroutedAt.entries())
          expect(at).toBeGreaterThanOrEqual(reroutePoints[k] as number);
        expect(recordAt(trail, 'ESCALATED')[0]).toBeGreaterThanOrEqual(dueAt);

        // Every attempt went to a different agent: each re-route excluded all who timed out before.
        const routedTo = runtime
          .emittedEvents('WorkItemRouted')
          .filter((event) => (event.detail as { id: string }).id === itemId)
          .map((event) => (event.detail as { assignee: { agentId: string } }).assignee.agentId);
        expect(new Set(routedTo).size).toBe(attempts);
        const lastReroute = JSON.parse(
          trail.filter((record) => record.kind === 'REROUTED').at(-1)?.details ?? '{}',
        );
        expect(lastReroute.routing.excludedAgents).toEqual(routedTo.slice(0, -1));
        const escalated = runtime
          .emittedEvents('WorkItemEscalated')
          .find((event) => (event.detail as { id: string }).id === itemId);
        expect(escalated?.detail).toMatchObject({
          reason: `no completion by the deadline after ${attempts} attempt(s)`,
        });
        expect((await runtime.ports.features.listAgents()).map((agent) => agent.activeCount)).toEqual(
          testCase.agents.map(() => 0),
        );
      } finally {
        await runtime.stop();
      }
    },
  );

  it('sends an item nobody can take to people at its assign-by time, before its due time: "no eligible agent"', async () => {
    // Prepare
    const testCase: Case = { slaClass: 'P2', maxReroutes: 1, rerouteAt: 0.75, agents: ['agent-ana'] };
    const windowSeconds = SLA_CLASS_TARGET_SECONDS.P2;
    const runtime = await runtimeFor(windowSeconds, testCase);
    const itemId = 'TCK-clock-nobody';
    try {
      // Act: nobody on the roster has the skill.
      await create(runtime, itemId, 'P2', 'mandarin');
      const trail = await escalatedTrail(runtime, itemId);

      // Assess
      const sla = slaOf(trail);
      const assignBy = Date.parse(sla.assignBy);
      const [timer] = boundsOf(runtime, itemId, 'Wait For Assignment', 'assignment');
      expectTimerAt(timer, assignBy);
      expect(Date.parse(timer?.until ?? '')).toBeLessThan(Date.parse(sla.dueAt));
      expect(recordAt(trail, 'ESCALATED')[0]).toBeGreaterThanOrEqual(assignBy);
      expect(kinds(trail)).not.toContain('ROUTED');
      const escalated = runtime
        .emittedEvents('WorkItemEscalated')
        .find((event) => (event.detail as { id: string }).id === itemId);
      expect(escalated?.detail).toMatchObject({ reason: 'no eligible agent after 1 attempt(s)' });
      const record = JSON.parse(trail.find((entry) => entry.kind === 'ESCALATED')?.details ?? '{}');
      expect(record).toMatchObject({ Error: 'no eligible agent' });
      expect(record.Cause).toContain(`not assigned by ${timer?.until}`);
    } finally {
      await runtime.stop();
    }
  });
});
