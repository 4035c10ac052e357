import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/policy';
import { HANDLING_MODEL_VERSION, updateHandlingStats } from '../../domain/scoring';
import { createScoreHandler } from '../../lambdas/score/handler';
import { InvalidTaskInputError } from '../../lambdas/shared/errors';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import { agent, T0, validatedItem } from './support';

/** A week of billing history: enough evidence for a confident score (with none, policy sends items to people). */
async function seedHistory(ports: InMemoryPorts): Promise<void> {
  const observations = Array.from({ length: 60 }, (_, index) => 420 + ((index * 37) % 240));
  for (const key of [{ scope: 'global' as const }, { scope: 'category' as const, category: 'billing' }]) {
    for (const seconds of observations) {
      await ports.features.updateHandlingStats(key, (current) => updateHandlingStats(current, seconds));
    }
  }
}

async function setup() {
  const ports = createInMemoryPorts(T0);
  ports.features.seedAgent(
    agent({ agentId: 'agent-ana', skills: [{ skill: 'billing', proficiency: 4 }], capacity: 2 }),
  );
  await seedHistory(ports);
  return { ...ports, handler: createScoreHandler(ports) };
}

describe('score handler', () => {
  it('returns the score, the path and the bounds the state machine reads, under the default policy', async () => {
    // Prepare
    const { handler } = await setup();

    // Act
    const result = await handler({ item: validatedItem(), attempt: 1 });

    // Assess
    expect(result.decision.path).toBe('routing');
    expect(result.policyVersion).toBe(DEFAULT_POLICY.version);
    expect(result.score.modelVersion).toBe(HANDLING_MODEL_VERSION);
    expect(result.score.secondsToDue).toBeCloseTo(4 * 3600 - 2, 0);
    // The item's own clock (created 08:59:58, due 12:59:58): re-route at 75 %, escalate at the due.
    expect(result.sla).toEqual({
      createdAt: '2026-11-20T08:59:58.000Z',
      dueAt: '2026-11-20T12:59:58.000Z',
      assignBy: '2026-11-20T12:35:58.000Z',
      completeBy: ['2026-11-20T11:59:58.000Z', '2026-11-20T12:59:58.000Z'],
      minWindowSeconds: DEFAULT_POLICY.minCompletionWindowSeconds,
    });
    // Scored at 09:00:00: the first assignment wait ends at the assign-by time (90 % of the window).
    expect(result.waits.assignment).toMatchObject({
      seconds: 3 * 3600 + 35 * 60 + 58,
      until: '2026-11-20T12:35:58.000Z',
    });
    expect(result.waits.review).toMatchObject({ seconds: 4 * 3600 - 2, until: '2026-11-20T12:59:58.000Z' });
  });

  it('writes the instance at SCORED with the decision confidence, and an audit record carrying the model and policy versions', async () => {
    // Prepare
    const { handler, instances, audit } = await setup();

    // Act
    const result = await handler({ item: validatedItem(), attempt: 1 });

    // Assess
    expect(await instances.get('HD-10428')).toMatchObject({
      stage: 'SCORED',
      stageEnteredAt: T0,
      category: 'billing',
      priority: 3,
      slaDueAt: Date.parse('2026-11-20T12:59:58.000Z'),
      path: 'routing',
      modelVersion: HANDLING_MODEL_VERSION,
      policyVersion: DEFAULT_POLICY.version,
      confidence: result.score.confidence,
    });
    const [scored] = await audit.listForItem('HD-10428');
    expect(scored).toMatchObject({
      kind: 'SCORED',
      attempt: 1,
      modelVersion: HANDLING_MODEL_VERSION,
      policyVersion: DEFAULT_POLICY.version,
    });
    expect(JSON.parse(scored?.details ?? '{}')).toEqual(result);
  });

  it('follows the stored policy: a routine category goes straight to automation', async () => {
    // Prepare
    const { handler, features } = await setup();
    await features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: 'ops-7',
      automationCategories: ['billing'],
      automationMaxPriority: 3,
      maxReroutes: 2,
    });

    // Act
    const result = await handler({ item: validatedItem(), attempt: 1 });

    // Assess
    expect(result).toMatchObject({
      policyVersion: 'ops-7',
      sla: {
        completeBy: ['2026-11-20T11:59:58.000Z', '2026-11-20T12:29:58.000Z', '2026-11-20T12:59:58.000Z'],
      },
      decision: { path: 'automation' },
    });
  });

  it('routes a cold start under the default policy, and sends it to review under a policy that demands confidence', async () => {
    // Prepare
    const ports = createInMemoryPorts(T0);
    const handler = createScoreHandler(ports);

    // Act
    const underDefault = await handler({ item: validatedItem(), attempt: 1 });
    await ports.features.putActivePolicy({ ...DEFAULT_POLICY, version: 'cautious-1', minConfidence: 0.3 });
    const underCautious = await handler({ item: validatedItem(), attempt: 1 });

    // Assess
    expect(underDefault.score.confidence).toBe(0);
    expect(underDefault.decision.path).toBe('routing');
    expect(underCautious.decision.path).toBe('human-review');
  });

  it('sends an item nobody on the roster can handle to human review', async () => {
    // Prepare
    const { handler } = await setup();
    const item = validatedItem({ requiredSkills: [{ skill: 'legal', minProficiency: 4 }] });

    // Act
    const result = await handler({ item, attempt: 1 });

    // Assess
    expect(result.decision.path).toBe('human-review');
    expect(result.score.slaBreachRisk).toBe(1);
  });

  it('falls back to the default policy when the stored one is unreadable', async () => {
    // Prepare
    const { handler, tables } = await setup();
    tables.activePolicy = { version: 'broken', minConfidence: 'high' };

    // Act
    const result = await handler({ item: validatedItem(), attempt: 1 });

    // Assess
    expect(result.policyVersion).toBe(DEFAULT_POLICY.version);
  });

  it('throws InvalidTaskInputError naming the field when the state machine passes a malformed item', async () => {
    // Prepare
    const { handler } = await setup();

    // Act
    const scoring = handler({ item: { ...validatedItem(), slaDueAt: 'tomorrow' }, attempt: 1 });

    // Assess
    await expect(scoring).rejects.toThrow(InvalidTaskInputError);
    await expect(handler({ item: { ...validatedItem(), slaDueAt: 'tomorrow' }, attempt: 1 })).rejects.toThrow(
      /item\.slaDueAt/,
    );
  });
});
