import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import type { ReviewDecision } from '../../domain/process';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';

/**
 * The decision paths of process-instance.asl.json executed in-process (aws-local-stepfunctions)
 * with every Task bound to the real handlers and DynamoDB Local: human review (approve and
 * reject) and straight-through automation. The routed, rejected-at-validation and
 * timeout → re-route → escalate paths are driven in test/local/runtime.test.ts.
 */

const CATEGORY = 'billing';

function workItem(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    kind: 'ticket',
    channel: 'email',
    category: CATEGORY,
    requiredSkills: [{ skill: CATEGORY, minProficiency: 2 }],
    priority: 3,
    slaClass: 'P2',
    createdAt: new Date().toISOString(),
    customerId: 'cust-4471',
    ...overrides,
  };
}

async function waitUntil<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('process-instance decision paths', { timeout: 60_000 }, () => {
  let runtime: LocalRuntime;

  async function usePolicy(overrides: Partial<Policy>): Promise<void> {
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: `paths-${Date.now()}`,
      ...overrides,
    });
  }

  async function reviewToken(itemId: string): Promise<string> {
    return waitUntil(async () => {
      const instance = await runtime.instance(itemId);
      return instance?.stage === 'HUMAN_REVIEW' && instance.waitingFor === 'human-review'
        ? instance.taskToken
        : undefined;
    }, `${itemId} waiting for human review`);
  }

  async function complete(itemId: string, handledBy: string): Promise<void> {
    await waitUntil(
      async () => ((await runtime.instance(itemId))?.waitingFor === 'completion' ? true : undefined),
      `${itemId} waiting for completion`,
    );
    await runtime.putEvent(
      'WorkItemCompleted',
      { id: itemId, outcome: 'resolved', handledBy, completedAt: new Date().toISOString() },
      'helpdesk',
    );
  }

  beforeAll(async () => {
    runtime = await startLocalRuntime({ dispatchTickMs: false, retryIntervalMs: 10 });
    await runtime.putEvent(
      'AgentStatusChanged',
      {
        agentId: 'agent-rui',
        status: 'available',
        capacity: 2,
        skills: [{ skill: CATEGORY, proficiency: 4 }],
        changedAt: new Date().toISOString(),
        shiftEndsAt: new Date(Date.now() + 8 * 3_600_000).toISOString(),
      },
      'workforce',
    );
    await runtime.idle();
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('sends a low-confidence item to human review with its context, then routes it once approved', async () => {
    // Prepare: no history yet, so confidence is 0, below the policy's minimum.
    await usePolicy({ minConfidence: 0.5 });
    const itemId = 'TCK-paths-review-ok';

    // Act
    await runtime.putEvent('WorkItemCreated', workItem(itemId), 'helpdesk');
    const token = await reviewToken(itemId);
    const approval: ReviewDecision = {
      action: 'approve',
      actor: 'lead:maria',
      reason: 'routine billing question',
    };
    runtime.tokens.sendTaskSuccess(token, approval);
    const routed = await runtime.waitForEmitted('WorkItemRouted', itemId, 30_000);
    await complete(itemId, 'agent-rui');
    const execution = await runtime.waitForExecution(itemId, 30_000);
    const kinds = (await runtime.auditTrail(itemId)).map((record) => record.kind);

    // Assess
    expect(routed.detail).toMatchObject({
      id: itemId,
      path: 'human-review',
      assignee: { agentId: 'agent-rui' },
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(kinds).toEqual(
      expect.arrayContaining(['SCORED', 'HUMAN_REVIEW_REQUESTED', 'ASSIGNED', 'ROUTED', 'COMPLETED']),
    );
  });

  it('ends an item a reviewer rejects as rejected, naming the reviewer and the reason', async () => {
    // Prepare
    await usePolicy({ minConfidence: 0.5 });
    const itemId = 'TCK-paths-review-no';

    // Act
    await runtime.putEvent('WorkItemCreated', workItem(itemId), 'helpdesk');
    const token = await reviewToken(itemId);
    runtime.tokens.sendTaskSuccess(token, {
      action: 'reject',
      actor: 'lead:maria',
      reason: 'duplicate of TCK-1',
    });
    const rejected = await runtime.waitForEmitted('WorkItemRejected', itemId, 30_000);
    const execution = await runtime.waitForExecution(itemId, 30_000);

    // Assess
    expect(rejected.detail).toMatchObject({
      field: '(human review)',
      reason: 'rejected by lead:maria: duplicate of TCK-1',
    });
    // An answered outcome, not a failure: the failed-executions alarm does not count it (issue 21 defect 9).
    expect(execution).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: 'rejected', field: '(human review)' },
    });
    const rejection = (await runtime.auditTrail(itemId)).find((record) => record.kind === 'REJECTED');
    expect(JSON.parse(rejection?.details ?? '{}')).toMatchObject({ field: '(human review)' });
  });

  it('hands a routine low-priority item straight to automation without a dispatch round', async () => {
    // Prepare
    await usePolicy({ minConfidence: 0, automationCategories: ['password-reset'], automationMaxPriority: 2 });
    const itemId = 'TCK-paths-automation';

    // Act
    await runtime.putEvent(
      'WorkItemCreated',
      workItem(itemId, { category: 'password-reset', requiredSkills: [], priority: 1 }),
      'helpdesk',
    );
    const routed = await runtime.waitForEmitted('WorkItemRouted', itemId, 30_000);
    await complete(itemId, 'automation-password-reset');
    const execution = await runtime.waitForExecution(itemId, 30_000);
    const kinds = (await runtime.auditTrail(itemId)).map((record) => record.kind);

    // Assess
    expect(routed.detail).toMatchObject({
      path: 'automation',
      assignee: { agentId: 'automation-password-reset', kind: 'automation' },
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(kinds).not.toContain('ASSIGNED');
    expect(kinds).toContain('COMPLETED');
  });
});
