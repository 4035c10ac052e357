import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bottleneckView, LIVE_STAGES } from '../../domain/ops/bottleneck';
import type { PolicyProposal } from '../../domain/ops/policy-proposal';
import { DEFAULT_POLICY } from '../../domain/policy';
import { DynamoDbOpsStore } from '../../lambdas/ops-api/dynamodb-ops-store';
import { InMemoryOpsStore } from '../../lambdas/ops-api/in-memory-ops-store';
import type { OpsStore } from '../../lambdas/ops-api/ports';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import type { AuditRecord, InstanceRecord } from '../../lambdas/shared/ports';
import { bareInstance } from '../../lambdas/shared/table-layout';
import { type DynamoDbTestEnvironment, startDynamoDbTestEnvironment } from '../support/dynamodb-local';
import { NOW, seededBacklog } from './seeded-backlog';

/**
 * The OpsStore contract, run against the in-memory store and against DynamoDB Local with the
 * tables of lib/definitions: the same conditions, the same answers.
 */

interface World {
  readonly store: OpsStore;
  seedInstance(record: InstanceRecord): Promise<void>;
  seedAuditItem(item: AuditRecord & Record<string, unknown>): Promise<void>;
  instance(itemId: string): Promise<InstanceRecord | undefined>;
}

const instance = (itemId: string, overrides: Partial<InstanceRecord>): InstanceRecord => ({
  ...bareInstance(itemId, NOW),
  category: 'billing',
  ...overrides,
});

const proposal = (version: string, at: string): PolicyProposal => ({
  version,
  policy: { ...DEFAULT_POLICY, version, minConfidence: 0.4 },
  rationale: 'review fewer routine items',
  proposedBy: 'arn:aws:iam::111122223333:user/ana',
  proposedAt: at,
  status: 'proposed',
  changes: ['minConfidence'],
});

let db: DynamoDbTestEnvironment;

beforeAll(async () => {
  db = await startDynamoDbTestEnvironment();
});

afterAll(async () => {
  await db?.stop();
});

async function inMemoryWorld(): Promise<World> {
  const ports = createInMemoryPorts(NOW);
  return {
    store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit),
    seedInstance: async (record) => {
      ports.tables.instances.set(record.itemId, record);
    },
    seedAuditItem: async (item) => {
      await ports.audit.append(item);
    },
    instance: (itemId) => ports.instances.get(itemId),
  };
}

async function dynamoDbWorld(): Promise<World> {
  const ports = await db.freshTables();
  return {
    store: new DynamoDbOpsStore({ client: db.documentClient, ...ports.tableNames }),
    seedInstance: async (record) => {
      await db.documentClient.send(
        new PutCommand({ TableName: ports.tableNames.instancesTable, Item: record }),
      );
    },
    seedAuditItem: async (item) => {
      await db.documentClient.send(new PutCommand({ TableName: ports.tableNames.auditTable, Item: item }));
    },
    instance: (itemId) => ports.instances.get(itemId),
  };
}

describe.each([
  ['in memory', inMemoryWorld],
  ['on DynamoDB Local', dynamoDbWorld],
] as const)('OpsStore %s', (_, makeWorld) => {
  it('reads a stage from the byStage index oldest first, with queue and SLA, and says when it stopped at the limit', async () => {
    // Prepare
    const world = await makeWorld();
    for (const [index, minutes] of [30, 10, 20].entries()) {
      await world.seedInstance(
        instance(`R-${index}`, {
          stage: 'HUMAN_REVIEW',
          stageEnteredAt: NOW - minutes * 60_000,
          slaDueAt: NOW,
        }),
      );
    }
    await world.seedInstance(instance('W-1', { stage: 'WAITING_ASSIGNMENT', stageEnteredAt: NOW }));

    // Act
    const all = await world.store.readStage('HUMAN_REVIEW', 10);
    const two = await world.store.readStage('HUMAN_REVIEW', 2);

    // Assess
    expect(all.entries.map((entry) => entry.itemId)).toEqual(['R-0', 'R-2', 'R-1']);
    expect(all.entries[0]).toEqual({
      itemId: 'R-0',
      stage: 'HUMAN_REVIEW',
      queue: 'billing',
      stageEnteredAt: NOW - 30 * 60_000,
      slaDueAt: NOW,
    });
    expect(all.truncated).toBe(false);
    expect(two.entries).toHaveLength(2);
    expect(two.truncated).toBe(true);
  });

  it("moves a person's wait into the waiting set only with its exact stage and token, once", async () => {
    // Prepare
    const world = await makeWorld();
    await world.seedInstance(
      instance('H-1', {
        stage: 'HUMAN_REVIEW',
        waitingFor: 'human-review',
        taskToken: 'review-token',
        assignee: 'x',
      }),
    );

    // Act
    const wrongToken = await world.store.beginOverride({
      itemId: 'H-1',
      taskToken: 'other',
      fromStage: 'HUMAN_REVIEW',
      at: NOW + 1,
    });
    const wrongStage = await world.store.beginOverride({
      itemId: 'H-1',
      taskToken: 'review-token',
      fromStage: 'EXCEPTION',
      at: NOW + 1,
    });
    const first = await world.store.beginOverride({
      itemId: 'H-1',
      taskToken: 'review-token',
      fromStage: 'HUMAN_REVIEW',
      at: NOW + 1,
    });
    const second = await world.store.beginOverride({
      itemId: 'H-1',
      taskToken: 'review-token',
      fromStage: 'HUMAN_REVIEW',
      at: NOW + 2,
    });

    // Assess
    expect([wrongToken, wrongStage, first, second]).toEqual([false, false, true, false]);
    expect(await world.instance('H-1')).toMatchObject({
      stage: 'WAITING_ASSIGNMENT',
      waitingFor: 'assignment',
      taskToken: 'review-token',
      stageEnteredAt: NOW + 1,
      enqueuedAt: NOW + 1,
    });
    expect((await world.instance('H-1'))?.assignee).toBeUndefined();
  });

  it('puts the wait back only while it is still waiting with the same token', async () => {
    // Prepare
    const world = await makeWorld();
    await world.seedInstance(
      instance('E-1', {
        stage: 'WAITING_ASSIGNMENT',
        waitingFor: 'assignment',
        taskToken: 'exception-token',
      }),
    );
    await world.seedInstance(instance('E-2', { stage: 'ASSIGNED', lastAssignmentToken: 'exception-token' }));

    // Act
    const restored = await world.store.abortOverride({
      itemId: 'E-1',
      taskToken: 'exception-token',
      toStage: 'EXCEPTION',
      at: NOW + 5,
    });
    const claimedMeanwhile = await world.store.abortOverride({
      itemId: 'E-2',
      taskToken: 'exception-token',
      toStage: 'EXCEPTION',
      at: NOW + 5,
    });

    // Assess
    expect(restored).toBe(true);
    expect(await world.instance('E-1')).toMatchObject({ stage: 'EXCEPTION', waitingFor: 'exception' });
    expect(claimedMeanwhile).toBe(false);
    expect((await world.instance('E-2'))?.stage).toBe('ASSIGNED');
  });

  it('returns the audit trail in order with every attribute, including those the ASL writes', async () => {
    // Prepare
    const world = await makeWorld();
    await world.seedAuditItem({
      itemId: 'T-1',
      recordKey: '2026-11-20T12:00:02.000Z#ROUTED#1',
      kind: 'ROUTED',
      at: '2026-11-20T12:00:02.000Z',
      actor: 'flowtune:process-instance',
      agentId: 'agent-ana',
      expiresAt: 1,
    });
    await world.seedAuditItem({
      itemId: 'T-1',
      recordKey: '2026-11-20T12:00:01.000Z#SCORED#1',
      kind: 'SCORED',
      at: '2026-11-20T12:00:01.000Z',
      actor: 'flowtune:score',
      expiresAt: 1,
    });

    // Act
    const trail = await world.store.trail('T-1');

    // Assess
    expect(trail.map((record) => record.kind)).toEqual(['SCORED', 'ROUTED']);
    expect(trail[1]?.agentId).toBe('agent-ana');
  });

  it('keeps proposals immutable and approves each one once', async () => {
    // Prepare
    const world = await makeWorld();

    // Act
    const created = await world.store.createProposal(proposal('v2', '2026-11-20T12:00:02.000Z'));
    const again = await world.store.createProposal(proposal('v2', '2026-11-20T12:00:03.000Z'));
    await world.store.createProposal(proposal('v1b', '2026-11-20T12:00:01.000Z'));
    const approval = {
      approvedBy: 'bob',
      approvedAt: '2026-11-20T12:05:00.000Z',
      approvalReason: 'looks right',
    };
    const approved = await world.store.markApproved('v2', approval);
    const twice = await world.store.markApproved('v2', { ...approval, approvedBy: 'cleo' });

    // Assess
    expect([created, again]).toEqual(['created', 'exists']);
    expect([approved, twice]).toEqual([true, false]);
    expect((await world.store.listProposals()).map((p) => [p.version, p.status])).toEqual([
      ['v1b', 'proposed'],
      ['v2', 'approved'],
    ]);
    expect(await world.store.getProposal('v2')).toMatchObject({
      approvedBy: 'bob',
      policy: { minConfidence: 0.4 },
    });
    expect(await world.store.getProposal('v9')).toBeUndefined();
  });
});

describe('the bottleneck view against DynamoDB Local', () => {
  it('reads a seeded backlog through the byStage index into the view the domain computes', async () => {
    // Prepare
    const world = await dynamoDbWorld();
    const backlog = seededBacklog();
    for (const entry of backlog) {
      await world.seedInstance(
        instance(entry.itemId, {
          stage: entry.stage,
          stageEnteredAt: entry.stageEnteredAt,
          category: entry.queue,
          slaDueAt: entry.slaDueAt,
        }),
      );
    }
    await world.seedInstance(instance('DONE-1', { stage: 'COMPLETED', stageEnteredAt: NOW - 1000 }));

    // Act
    const pages = await Promise.all(LIVE_STAGES.map((stage) => world.store.readStage(stage, 1000)));
    const view = bottleneckView(
      pages.flatMap((page) => page.entries),
      NOW,
    );

    // Assess
    expect(view.items).toBe(backlog.length);
    expect(view).toEqual(bottleneckView(backlog, NOW));
    expect(view.headlines).toContain('80% of 20 billing items wait at human review (oldest 3h 12m)');
  });
});
