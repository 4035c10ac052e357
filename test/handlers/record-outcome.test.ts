import { describe, expect, it } from 'vitest';
import { CompletionResult, type ScoringResult } from '../../domain/process';
import { createRecordOutcomeHandler } from '../../lambdas/record-outcome/handler';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import { loadEvent, T0, validatedItem } from './support';

const item = validatedItem({ createdAt: '2026-11-20T08:59:00.000Z', slaDueAt: '2026-11-20T12:59:00.000Z' });

const scoring: ScoringResult = {
  score: {
    modelVersion: 'handling-shrinkage-v1',
    predictedHandlingSeconds: 1500,
    slaBreachRisk: 0.02,
    escalationRisk: 0.01,
    effectivePriority: 4.1,
    confidence: 0.9,
    secondsToDue: 14_400,
  },
  decision: { path: 'routing', reason: 'confident score within risk limits: route to the best agent' },
  policyVersion: 'default-1',
  sla: {
    createdAt: '2026-11-20T08:59:00.000Z',
    dueAt: '2026-11-20T12:59:00.000Z',
    assignBy: '2026-11-20T12:35:00.000Z',
    completeBy: ['2026-11-20T11:59:00.000Z', '2026-11-20T12:59:00.000Z'],
    minWindowSeconds: 900,
  },
  waits: {
    assignment: {
      seconds: 12_840,
      until: '2026-11-20T12:35:00.000Z',
      reason: 'assign by 2026-11-20T12:35:00.000Z',
    },
    review: {
      seconds: 14_340,
      until: '2026-11-20T12:59:00.000Z',
      reason: 'review deadline at 2026-11-20T12:59:00.000Z',
    },
  },
};

const assignment = {
  agentId: 'agent-ana',
  agentKind: 'person',
  predictedHandlingSeconds: 1500,
  explanation: {
    summary: 'Routed to agent-ana',
    chosen: { agentId: 'agent-ana', cost: 1.2, terms: [] },
    candidatesConsidered: 2,
  },
  policyVersion: 'default-1',
  modelVersion: 'handling-shrinkage-v1',
  experimentArm: 'none',
  routedAt: '2026-11-20T09:05:00.000Z',
} as const;

const completion = CompletionResult.parse(loadEvent('helpdesk/work-item-completed').detail);

const input = { itemId: 'HD-10428', item, scoring, assignment, completion, attempt: 1 };

/** HD-10428 enqueued at 09:01 and holding one of agent-ana's two slots. */
async function inProgress(ports: InMemoryPorts): Promise<void> {
  ports.features.seedAgent({
    agentId: 'agent-ana',
    kind: 'person',
    status: 'available',
    skills: [],
    capacity: 2,
    activeCount: 0,
    idleSince: 0,
  });
  await ports.instances.enqueue({
    itemId: 'HD-10428',
    taskToken: 'assignment-token',
    category: 'billing',
    priority: 3,
    requiredSkills: [],
    createdAt: Date.parse(item.createdAt),
    slaDueAt: Date.parse(item.slaDueAt),
    attempt: 1,
    excludedAgents: [],
    enqueuedAt: Date.parse('2026-11-20T09:01:00.000Z'),
    at: T0,
  });
  await ports.features.claimCapacity({
    agentId: 'agent-ana',
    itemId: 'HD-10428',
    taskToken: 'assignment-token',
    at: T0,
  });
}

function setup() {
  const ports = createInMemoryPorts(Date.parse('2026-11-20T09:40:10.000Z'));
  return { ...ports, handler: createRecordOutcomeHandler(ports) };
}

describe('record-outcome handler', () => {
  it('computes wait, handle and cycle times and the SLA result', async () => {
    // Prepare
    const world = setup();
    await inProgress(world);

    // Act
    const summary = await world.handler(input);

    // Assess
    expect(summary).toMatchObject({
      itemId: 'HD-10428',
      outcome: 'resolved',
      agentId: 'agent-ana',
      handledBy: 'agent-ana',
      waitSeconds: 240,
      handleSeconds: 1800,
      cycleSeconds: 2460,
      slaMet: true,
      predictionErrorSeconds: 300,
      capacityReleased: true,
      statsUpdated: true,
    });
  });

  it('feeds the handling time into global, category and category × agent statistics', async () => {
    // Prepare
    const world = setup();
    await inProgress(world);

    // Act
    await world.handler(input);

    // Assess
    const features = await world.features.readHandlingFeatures();
    expect(features.global).toEqual({ count: 1, mean: 1800, m2: 0 });
    expect(features.byCategory.billing).toEqual({ count: 1, mean: 1800, m2: 0 });
    expect(features.byCategoryAgent['billing#agent-ana']).toEqual({ count: 1, mean: 1800, m2: 0 });
  });

  it("releases the agent's slot, closes the instance, audits COMPLETED and asks for a round", async () => {
    // Prepare
    const world = setup();
    await inProgress(world);

    // Act
    await world.handler(input);

    // Assess
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(0);
    expect(await world.instances.get('HD-10428')).toMatchObject({ stage: 'COMPLETED' });
    const [completed] = (await world.audit.listForItem('HD-10428')).filter(
      (record) => record.kind === 'COMPLETED',
    );
    expect(completed).toMatchObject({
      recordKey: '2026-11-20T09:40:00.000Z#COMPLETED#1',
      policyVersion: 'default-1',
      modelVersion: 'handling-shrinkage-v1',
    });
    expect(world.dispatch.ticks.map((tick) => tick.reason)).toEqual(['completion:HD-10428']);
  });

  it('changes nothing twice when Step Functions retries the task', async () => {
    // Prepare
    const world = setup();
    await inProgress(world);
    await world.handler(input);

    // Act
    const retried = await world.handler(input);

    // Assess
    expect(retried).toMatchObject({ capacityReleased: false, statsUpdated: false });
    expect((await world.features.readHandlingFeatures()).global.count).toBe(1);
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(0);
  });

  it('leaves the statistics alone for abandoned work', async () => {
    // Prepare
    const world = setup();
    await inProgress(world);

    // Act
    const summary = await world.handler({ ...input, completion: { ...completion, outcome: 'abandoned' } });

    // Assess
    expect(summary.statsUpdated).toBe(false);
    expect((await world.features.readHandlingFeatures()).global.count).toBe(0);
    expect(summary.capacityReleased).toBe(true);
  });

  it('records an automation outcome without releasing any slot', async () => {
    // Prepare
    const world = setup();
    await world.instances.recordScored({
      itemId: 'HD-10428',
      category: 'billing',
      priority: 1,
      requiredSkills: [],
      createdAt: Date.parse(item.createdAt),
      slaDueAt: Date.parse(item.slaDueAt),
      attempt: 1,
      path: 'automation',
      predictedHandlingSeconds: 60,
      modelVersion: 'handling-shrinkage-v1',
      policyVersion: 'default-1',
      at: T0,
    });
    const automation = { ...assignment, agentId: 'automation-billing', agentKind: 'automation' as const };

    // Act
    const summary = await world.handler({
      ...input,
      assignment: automation,
      completion: { ...completion, handledBy: 'automation-billing' },
    });

    // Assess
    expect(summary).toMatchObject({ capacityReleased: false, statsUpdated: true, waitSeconds: 0 });
    expect(world.dispatch.ticks).toEqual([]);
  });
});
