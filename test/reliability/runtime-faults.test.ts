import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/policy';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { FaultPlan, type FaultPlanOptions } from '../../local/faults';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import {
  type accountFor,
  bringAgentsOnline,
  completeEveryRoutedItem,
  isAccountedFor,
  newWorkItem,
  settle,
} from './support';

/**
 * Faults through the whole local runtime (real handlers, real ASL with its Retry/Catch, DynamoDB
 * Local, local bus and queues), injected by the seeded fault plan through the runtime's
 * decoratePorts / decorateHandlers: work items with duplicates and early completions go through,
 * dead letters are redriven as docs/redrive.md says, and then every item is accounted for and
 * routed exactly once.
 */

let dynamoDb: DynamoDbLocal | undefined;

beforeAll(async () => {
  dynamoDb = await startDynamoDbLocal();
});

afterAll(async () => {
  await dynamoDb?.stop();
});

const AGENTS = ['agent-ana', 'agent-ben', 'agent-cai', 'agent-dee'];

async function runWithFaults(
  plan: FaultPlan,
  prefix: string,
  itemCount: number,
  options: { sdkFaults?: boolean } = {},
) {
  if (dynamoDb === undefined) throw new Error('DynamoDB Local did not start');
  const runtime: LocalRuntime = await startLocalRuntime({
    dynamoDb,
    dispatchTickMs: 200,
    retryIntervalMs: 10,
    queueRedeliveryDelayMs: 20,
    decoratePorts: (ports) => plan.decoratePorts(ports),
    decorateHandlers: plan.decorateHandler,
  });
  const detach = options.sdkFaults
    ? [
        plan.attachToDynamoDbClient(runtime.documentClient, 'handlers-sdk'),
        plan.attachToDynamoDbClient(runtime.dynamoDb.client, 'asl-sdk'),
      ]
    : [];
  const stopCompleting = completeEveryRoutedItem(runtime, { seed: 9, duplicateRate: 0.3 });
  try {
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: `${prefix}-policy`,
      minConfidence: 0,
    });
    await bringAgentsOnline(runtime, AGENTS);
    const itemIds = Array.from({ length: itemCount }, (_, index) => `${prefix}-${index}`);
    for (const [index, itemId] of itemIds.entries()) {
      const detail = newWorkItem(itemId);
      await runtime.putEvent('WorkItemCreated', detail, 'helpdesk');
      // Every third item is sent twice, as an at-least-once producer may.
      if (index % 3 === 0) await runtime.putEvent('WorkItemCreated', detail, 'helpdesk');
    }
    const { redriven, accounts } = await settle(runtime, itemIds);
    const agents = await runtime.ports.features.listAgents();
    return { runtime, redriven, accounts, agents };
  } finally {
    stopCompleting();
    for (const remove of detach) remove();
    await runtime.stop();
  }
}

function expectExactlyOnce(accounts: Awaited<ReturnType<typeof accountFor>>) {
  for (const account of accounts) {
    expect(isAccountedFor(account), account.itemId).toBe(true);
    expect(account.assigned, `${account.itemId} ASSIGNED`).toBeLessThanOrEqual(1);
    expect(account.routedEvents, `${account.itemId} WorkItemRouted`).toBeLessThanOrEqual(1);
    if (account.status === 'SUCCEEDED') {
      expect(account.routed, `${account.itemId} ROUTED`).toBe(1);
      expect(account.routedEvents, `${account.itemId} WorkItemRouted`).toBe(1);
      expect(
        account.kinds.filter((kind) => kind === 'COMPLETED'),
        account.itemId,
      ).toHaveLength(1);
    }
  }
}

describe('the local runtime under injected faults', { timeout: 180_000 }, () => {
  it('AWS calls throttled and failing at a rate: every item accounted for, routed exactly once, no capacity leaked', async () => {
    // Prepare
    const options: FaultPlanOptions = {
      seed: 2026,
      dynamoDb: { throttleRate: 0.02, errorRate: 0.01 },
      executions: { throttleRate: 0.02 },
      events: { errorRate: 0.02 },
      dispatch: { errorRate: 0.02 },
      dynamoDbRequests: { throttleRate: 0.03, errorRate: 0.01 },
    };
    const plan = new FaultPlan(options);

    // Act
    const { accounts, agents } = await runWithFaults(plan, 'AWS', 24, { sdkFaults: true });

    // Assess
    expectExactlyOnce(accounts);
    for (const account of accounts.filter((candidate) => candidate.status !== 'SUCCEEDED')) {
      expect(account.kinds, account.itemId).toContain('EXCEPTION');
    }
    const kinds = plan.byKind();
    expect(kinds.throttle ?? 0).toBeGreaterThan(0);
    expect(kinds['sdk-throttle'] ?? 0).toBeGreaterThan(0);
    const completed = accounts.filter((account) => account.status === 'SUCCEEDED');
    expect(completed.length).toBeGreaterThanOrEqual(22);
    // Items that reached the exception queue may still hold their slot (a person resolves them).
    const holding = accounts.filter((account) => account.status !== 'SUCCEEDED').length;
    expect(agents.reduce((sum, agent) => sum + agent.activeCount, 0)).toBeLessThanOrEqual(holding);
  });

  it('handlers crashing and timing out after their work: every item accounted for, routed exactly once', async () => {
    // Prepare
    const plan = new FaultPlan({
      seed: 7,
      handlers: {
        intake: { timeoutRate: 0.2, crashRate: 0.05 },
        validate: { crashRate: 0.1, timeoutRate: 0.1 },
        score: { crashRate: 0.15, timeoutRate: 0.1 },
        dispatcher: { crashRate: 0.1, timeoutRate: 0.2 },
        completion: { crashRate: 0.2, timeoutRate: 0.1 },
        agentStatus: { crashRate: 0.2 },
        recordOutcome: { crashRate: 0.1, timeoutRate: 0.2 },
      },
    });

    // Act
    const { accounts, agents } = await runWithFaults(plan, 'CRASH', 24);

    // Assess
    expectExactlyOnce(accounts);
    expect(plan.byKind().crash ?? 0).toBeGreaterThan(0);
    expect(plan.byKind().timeout ?? 0).toBeGreaterThan(0);
    // A task that fails more often than its Retry allows sends the item to people, never nowhere.
    const completed = accounts.filter((account) => account.status === 'SUCCEEDED');
    expect(completed.length).toBeGreaterThanOrEqual(22);
    for (const account of accounts.filter((candidate) => candidate.status !== 'SUCCEEDED')) {
      expect(account.kinds, account.itemId).toContain('EXCEPTION');
    }
    const holding = accounts.length - completed.length;
    expect(agents.reduce((sum, agent) => sum + agent.activeCount, 0)).toBeLessThanOrEqual(holding);
  });
});
