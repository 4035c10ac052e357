import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/policy';
import { createConnectorHandler } from '../../lambdas/connector/handler';
import { CircuitBreaker } from '../../lambdas/shared/circuit-breaker';
import { InMemoryConnector, ResilientConnector } from '../../lambdas/shared/connector';
import { idempotent } from '../../lambdas/shared/idempotency';
import { CONNECTOR_RULES, IDEMPOTENCY_TABLE } from '../../lib/definitions/connectors';
import { createTables, type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { compileEventPattern } from '../../local/event-pattern';
import type { LocalEvent } from '../../local/event-router';
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
        plan.attachToDynamoDbClient(runtime.runnerDynamoDb, 'asl-sdk'),
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

  it('a connector that is down, then slow: decisions stand, and after the redrive each reaches the system exactly once', async () => {
    // Prepare
    if (dynamoDb === undefined) throw new Error('DynamoDB Local did not start');
    const plan = new FaultPlan({ seed: 11, connector: { slowRate: 0.3, slowMs: 30, timeoutMs: 10 } });
    plan.setConnectorDown(true);
    const system = new InMemoryConnector('rpa');
    const tables = await createTables(dynamoDb.client, [IDEMPOTENCY_TABLE], `i${randomUUID().slice(0, 8)}-`);
    const client = dynamoDb.client;
    const connector = createConnectorHandler({
      connector: new ResilientConnector({
        connector: plan.decorateConnector(system),
        breaker: new CircuitBreaker({ name: 'rpa', failureThreshold: 3, openMs: 100 }),
        retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      }),
      once: (deliver) =>
        idempotent(deliver, {
          tableName: tables[IDEMPOTENCY_TABLE.id] ?? '',
          eventKeyJmesPath: '[detail.id, detail.attempt]',
          keyPrefix: 'connector',
          expiresAfterSeconds: 3_600,
          client,
        }),
    });
    const lambdaContext = () => ({ awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 15_000 });
    const matchesRule = compileEventPattern(CONNECTOR_RULES.automationRouted.pattern);
    // The rule's target, as Lambda invokes it asynchronously: three tries, then the async DLQ.
    const deadLetters: LocalEvent[] = [];
    const invoke = async (event: LocalEvent) => {
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          return await connector(event, lambdaContext());
        } catch {
          // Lambda retries an asynchronous invocation twice.
        }
      }
      deadLetters.push(event);
      return undefined;
    };
    const runtime = await startLocalRuntime({ dynamoDb, dispatchTickMs: 200, retryIntervalMs: 10 });
    const pending = new Set<Promise<unknown>>();
    const unsubscribe = runtime.router.onEvent(({ event }) => {
      if (!matchesRule(event)) return;
      const delivery = invoke(event).finally(() => pending.delete(delivery));
      pending.add(delivery);
    });
    const stopCompleting = completeEveryRoutedItem(runtime, { seed: 5 });
    const itemIds = Array.from({ length: 12 }, (_, index) => `AUTO-${index}`);
    try {
      await runtime.ports.features.putActivePolicy({
        ...DEFAULT_POLICY,
        version: 'automation-1',
        minConfidence: 0,
        automationCategories: ['billing'],
        automationMaxPriority: 2,
      });

      // Act
      for (const itemId of itemIds) {
        await runtime.putEvent(
          'WorkItemCreated',
          newWorkItem(itemId, { priority: 1, requiredSkills: [] }),
          'helpdesk',
        );
      }
      const { accounts } = await settle(runtime, itemIds);
      await Promise.all(pending);
      const deadWhileDown = deadLetters.length;
      plan.setConnectorDown(false);
      await new Promise((resolve) => setTimeout(resolve, 150));
      for (let round = 0; round < 5 && deadLetters.length > 0; round++) {
        // The redrive (docs/redrive.md): the dead-lettered events replayed, each one twice over.
        const redriven = deadLetters.splice(0);
        for (const event of [...redriven, ...redriven]) await invoke(event);
      }

      // Assess
      expect(accounts.every((account) => account.status === 'SUCCEEDED')).toBe(true);
      expect(deadWhileDown).toBe(itemIds.length);
      expect(deadLetters).toEqual([]);
      expect([...system.accepted.keys()].sort()).toEqual(itemIds.map((itemId) => `${itemId}#1`).sort());
      expect(system.calls).toBe(itemIds.length);
      expect(plan.byKind().down ?? 0).toBeGreaterThan(0);
    } finally {
      unsubscribe();
      stopCompleting();
      await runtime.stop();
    }
  });
});
