import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssignmentResult } from '../../domain/process';
import { updateHandlingStats } from '../../domain/scoring';
import { createDispatcherHandler, type RoundReport } from '../../lambdas/dispatcher/handler';
import { InMemoryExecutionControl, ManualClock } from '../../lambdas/shared/in-memory';
import type { EnqueueRequest } from '../../lambdas/shared/ports';
import { type DynamoDbTestEnvironment, startDynamoDbTestEnvironment } from '../support/dynamodb-local';
import { describePortContract } from './port-contract';
import { sqsEvent } from './support';

/**
 * The DynamoDB implementations of the ports against AWS's DynamoDB Local: the same contract the
 * in-memory twins pass, plus the three properties the design leans on, named explicitly.
 */
let db: DynamoDbTestEnvironment | undefined;

beforeAll(async () => {
  db = await startDynamoDbTestEnvironment();
});

afterAll(async () => {
  await db?.stop();
});

function environment(): DynamoDbTestEnvironment {
  if (db === undefined) throw new Error('DynamoDB Local did not start');
  return db;
}

describePortContract('DynamoDB Local', async () => environment().freshTables());

const T0 = Date.parse('2026-11-20T09:00:00.000Z');

function enqueueRequest(itemId: string, enqueuedAt: number): EnqueueRequest {
  return {
    itemId,
    taskToken: `token-${itemId}`,
    category: 'billing',
    priority: 3,
    requiredSkills: [],
    createdAt: enqueuedAt,
    slaDueAt: enqueuedAt + 3_600_000,
    attempt: 1,
    excludedAgents: [],
    enqueuedAt,
    at: enqueuedAt,
  };
}

describe('DynamoDB ports on DynamoDB Local', () => {
  it('capacity claim transaction rejects a claim over capacity and names the agent as the cause', async () => {
    // Prepare
    const { features, instances } = await environment().freshTables();
    await features.putAgentProfile({
      agentId: 'agent-ana',
      kind: 'person',
      status: 'available',
      capacity: 1,
      skills: [],
      changedAt: T0,
    });
    await instances.enqueue(enqueueRequest('HD-1', T0));
    await instances.enqueue(enqueueRequest('HD-2', T0 + 1));
    await features.claimCapacity({
      agentId: 'agent-ana',
      itemId: 'HD-1',
      taskToken: 'token-HD-1',
      at: T0 + 5,
    });

    // Act
    const overCapacity = await features.claimCapacity({
      agentId: 'agent-ana',
      itemId: 'HD-2',
      taskToken: 'token-HD-2',
      at: T0 + 6,
    });

    // Assess
    expect(overCapacity).toEqual({ outcome: 'conflict', reason: 'agent' });
    expect((await features.getAgent('agent-ana'))?.activeCount).toBe(1);
    expect((await instances.get('HD-2'))?.stage).toBe('WAITING_ASSIGNMENT');
  });

  it('byStage query returns the waiting set oldest first', async () => {
    // Prepare
    const { instances } = await environment().freshTables();
    const arrivals = [
      ['HD-c', T0 + 30_000],
      ['HD-a', T0 + 10_000],
      ['HD-d', T0 + 40_000],
      ['HD-b', T0 + 20_000],
    ] as const;
    for (const [itemId, at] of arrivals) await instances.enqueue(enqueueRequest(itemId, at));

    // Act
    const waiting = await instances.listByStage('WAITING_ASSIGNMENT');

    // Assess
    expect(waiting.map((record) => record.itemId)).toEqual(['HD-a', 'HD-b', 'HD-c', 'HD-d']);
  });

  it('optimistic stats update retries on a version conflict and loses no observation', async () => {
    // Prepare
    const { features } = await environment().freshTables();
    const key = { scope: 'global' as const };
    const seconds = Array.from({ length: 8 }, (_, index) => 60 * (index + 1));

    // Act
    await Promise.all(
      seconds.map((value) =>
        features.updateHandlingStats(key, (current) => updateHandlingStats(current, value)),
      ),
    );

    // Assess
    const stats = (await features.readHandlingFeatures()).global;
    expect(stats.count).toBe(8);
    expect(stats.mean).toBeCloseTo(270, 9);
    expect(await features.statsVersion(key)).toBe(8);
  });
});

describe('dispatcher handler over the DynamoDB ports', () => {
  it('assigns within capacity through real transactions and leaves the rest waiting', async () => {
    // Prepare
    const { features, instances, audit } = await environment().freshTables();
    const executions = new InMemoryExecutionControl();
    const rounds: RoundReport[] = [];
    const handler = createDispatcherHandler({
      features,
      instances,
      audit,
      executions,
      clock: new ManualClock(T0),
      onRound: (round) => rounds.push(round),
    });
    for (const [agentId, capacity] of [
      ['agent-ana', 2],
      ['agent-bo', 1],
    ] as const) {
      await features.putAgentProfile({
        agentId,
        kind: 'person',
        status: 'available',
        capacity,
        skills: [{ skill: 'billing', proficiency: 3 }],
        changedAt: T0 - 60_000,
      });
    }
    const messages = [1, 2, 3, 4, 5].map((n) => ({
      kind: 'enqueue' as const,
      taskToken: executions.issueToken(`assign-${n}`),
      itemId: `HD-${n}`,
      category: 'billing',
      requiredSkills: [{ skill: 'billing', minProficiency: 2 }],
      priority: 3,
      createdAt: new Date(T0 - 600_000).toISOString(),
      slaDueAt: new Date(T0 + 3_600_000).toISOString(),
      attempt: 1,
      excludedAgents: [],
      enqueuedAt: new Date(T0 - 60_000 + n).toISOString(),
    }));

    // Act
    const response = await handler(sqsEvent(messages, { fifo: true }));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(rounds[0]?.assigned).toHaveLength(3);
    expect((await features.getAgent('agent-ana'))?.activeCount).toBe(2);
    expect((await features.getAgent('agent-bo'))?.activeCount).toBe(1);
    expect(await instances.listByStage('WAITING_ASSIGNMENT')).toHaveLength(2);
    const resumed = messages.flatMap((message) => {
      const state = executions.tokenState(message.taskToken);
      return state?.state === 'succeeded' ? [AssignmentResult.parse(state.output)] : [];
    });
    expect(resumed).toHaveLength(3);
    const assignedTrail = await audit.listForItem(rounds[0]?.assigned[0]?.itemId ?? '');
    expect(assignedTrail.map((record) => record.kind)).toEqual(['ASSIGNED']);
  });
});
