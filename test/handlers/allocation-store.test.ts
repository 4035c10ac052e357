import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INITIAL_ALLOCATION_STATE } from '../../domain/allocation/job';
import type { StaffingRecommended } from '../../domain/events/staffing';
import {
  type AllocationApproval,
  type AllocationStore,
  InMemoryAllocationStore,
  InvalidAllocationSettingsError,
} from '../../lambdas/shared/allocation-store';
import { DynamoDbAllocationStore } from '../../lambdas/shared/dynamodb-allocation-store';
import { DynamoDbFeatureStore } from '../../lambdas/shared/dynamodb-feature-store';
import { InMemoryFeatureStore, InMemoryTables, ManualClock } from '../../lambdas/shared/in-memory';
import type { FeatureStore } from '../../lambdas/shared/ports';
import { POLICY_PK } from '../../lambdas/shared/table-layout';
import { type DynamoDbTestEnvironment, startDynamoDbTestEnvironment } from '../support/dynamodb-local';
import { ALLOCATION_SETTINGS } from './allocation-support';

/**
 * The allocation job's store, in memory and on DynamoDB Local, held to the same contract; and
 * the feature stores' updatedAt, stamped from the injected clock rather than the machine's.
 */

const T0 = Date.parse('2026-11-20T09:00:00.000Z');

function approval(recommendationId: string, requestedAt: number): AllocationApproval {
  const recommendation: StaffingRecommended = {
    schemaVersion: '1',
    kind: 'move',
    recommendationId,
    runId: 'alloc-1',
    decision: 'approval-required',
    reason: 'Move flex-1 from loans to cards for the next 60 min',
    approvalReason: 'already 2 moves applied without approval this hour',
    queues: [
      {
        queueId: 'cards',
        forecastArrivalsPerHour: 80,
        predictedHandlingSeconds: 180,
        requiredServers: 6,
        onShiftServersBefore: 4,
        onShiftServersAfter: 5,
        targetServiceLevel: 0.8,
        targetSeconds: 60,
        expectedServiceLevelBefore: 0,
        expectedServiceLevelAfter: 0.56,
        model: 'erlang-c',
      },
    ],
    expectedGainPerHour: 44.7,
    confidence: 0.99,
    policyVersion: 'alloc-test-1',
    horizonMinutes: 60,
    recommendedAt: new Date(requestedAt).toISOString(),
    validUntil: new Date(requestedAt + 3_600_000).toISOString(),
    agentId: 'flex-1',
    fromQueue: 'loans',
    toQueue: 'cards',
    proficiency: 3,
  };
  return {
    recommendationId,
    recommendation,
    status: 'pending',
    requestedAt: new Date(requestedAt).toISOString(),
    validUntil: recommendation.validUntil,
    history: [],
  };
}

function describeAllocationStore(name: string, setup: () => Promise<AllocationStore>): void {
  describe(`allocation store: ${name}`, () => {
    it('has no settings until some are saved, then returns them validated', async () => {
      // Prepare
      const store = await setup();
      const before = await store.readSettings();

      // Act
      await store.saveSettings(ALLOCATION_SETTINGS);

      // Assess
      expect(before).toBeUndefined();
      expect((await store.readSettings())?.policy).toMatchObject({
        version: 'alloc-test-1',
        maxAutoMovesPerHour: 2,
      });
    });

    it('lets one run save the state per revision', async () => {
      // Prepare
      const store = await setup();

      // Act
      const first = await store.saveState(INITIAL_ALLOCATION_STATE, undefined);
      const racing = await store.saveState({ ...INITIAL_ALLOCATION_STATE, lastRunAt: T0 }, undefined);
      const next = await store.saveState({ ...INITIAL_ALLOCATION_STATE, lastRunAt: T0 + 1 }, 1);
      const stale = await store.saveState({ ...INITIAL_ALLOCATION_STATE, lastRunAt: T0 + 2 }, 1);

      // Assess
      expect([first, racing, next, stale]).toEqual(['saved', 'conflict', 'saved', 'conflict']);
      expect(await store.readState()).toEqual({
        state: { ...INITIAL_ALLOCATION_STATE, lastRunAt: T0 + 1 },
        revision: 2,
      });
    });

    it('keeps arrival rollups per interval length and reads a range of days in order', async () => {
      // Prepare
      const store = await setup();
      const counts = (value: number) => ({ cards: Array.from({ length: 96 }, () => value) });

      // Act
      await store.putArrivalDays([
        { day: '2026-11-19', intervalMinutes: 15, counts: counts(2) },
        { day: '2026-11-18', intervalMinutes: 15, counts: counts(1) },
        { day: '2026-11-20', intervalMinutes: 15, counts: counts(3) },
        { day: '2026-11-19', intervalMinutes: 30, counts: { cards: Array.from({ length: 48 }, () => 9) } },
      ]);
      await store.putArrivalDays([{ day: '2026-11-19', intervalMinutes: 15, counts: counts(5) }]);

      // Assess
      const days = await store.readArrivalDays(15, '2026-11-18', '2026-11-19');
      expect(days.map((day) => [day.day, day.counts.cards?.[0]])).toEqual([
        ['2026-11-18', 1],
        ['2026-11-19', 5],
      ]);
    });

    it('decides an approval once: two deciders never both win', async () => {
      // Prepare
      const store = await setup();
      await store.putApproval(approval('alloc-1-3', T0));
      const duplicate = await store.putApproval(approval('alloc-1-3', T0));

      // Act
      const approved = await store.transitionApproval('alloc-1-3', 'pending', 'approved', {
        by: 'ops:ana',
        reason: 'cards is drowning',
        at: T0 + 60_000,
      });
      const rejected = await store.transitionApproval('alloc-1-3', 'pending', 'rejected', {
        by: 'ops:bo',
        reason: 'no',
        at: T0 + 61_000,
      });
      const applied = await store.transitionApproval('alloc-1-3', 'approved', 'applied', {
        by: 'flowtune:allocation',
        reason: 'moved',
        at: T0 + 900_000,
      });

      // Assess
      expect([duplicate, approved, rejected, applied]).toEqual([
        'exists',
        'transitioned',
        'conflict',
        'transitioned',
      ]);
      const [stored] = await store.listApprovals(['applied']);
      expect(stored?.history.map((entry) => [entry.status, entry.by])).toEqual([
        ['approved', 'ops:ana'],
        ['applied', 'flowtune:allocation'],
      ]);
      expect(await store.listApprovals(['pending'])).toEqual([]);
      expect(stored?.recommendation).toEqual(approval('alloc-1-3', T0).recommendation);
    });
  });
}

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

describeAllocationStore('in-memory', async () => new InMemoryAllocationStore());
describeAllocationStore('DynamoDB Local', async () => {
  const { tableNames } = await environment().freshTables();
  return new DynamoDbAllocationStore({
    client: environment().documentClient,
    featuresTable: tableNames.featuresTable,
  });
});

describe('allocation settings as stored', () => {
  it('refuses an invalid settings document, naming the field', async () => {
    // Prepare: written by hand, with an offset the 15-minute intervals cannot start on.
    const { tableNames } = await environment().freshTables();
    const store = new DynamoDbAllocationStore({
      client: environment().documentClient,
      featuresTable: tableNames.featuresTable,
    });
    await environment().documentClient.send(
      new PutCommand({
        TableName: tableNames.featuresTable,
        Item: { ...ALLOCATION_SETTINGS, utcOffsetMinutes: 20, pk: POLICY_PK, sk: 'ALLOCATION' },
      }),
    );

    // Act
    const read = store.readSettings();

    // Assess
    await expect(read).rejects.toBeInstanceOf(InvalidAllocationSettingsError);
    await expect(read).rejects.toThrow(/utcOffsetMinutes: must be a multiple of policy.intervalMinutes/);
  });
});

describe('feature stores stamp updatedAt from the injected clock', () => {
  const stores: [string, () => Promise<{ features: FeatureStore; clock: ManualClock }>][] = [
    [
      'in-memory',
      async () => {
        const clock = new ManualClock(T0);
        return { features: new InMemoryFeatureStore(new InMemoryTables(), clock), clock };
      },
    ],
    [
      'DynamoDB Local',
      async () => {
        const clock = new ManualClock(T0);
        const { tableNames } = await environment().freshTables();
        return {
          features: new DynamoDbFeatureStore({ client: environment().documentClient, ...tableNames, clock }),
          clock,
        };
      },
    ],
  ];

  it.each(stores)('%s: an agent profile written at the injected time', async (_name, setup) => {
    // Prepare
    const { features, clock } = await setup();
    clock.set(Date.parse('2031-01-01T00:00:00Z'));

    // Act
    await features.putAgentProfile({
      agentId: 'agent-ana',
      kind: 'person',
      status: 'available',
      capacity: 1,
      skills: [],
      changedAt: T0,
    });

    // Assess
    expect(await features.getAgent('agent-ana')).toMatchObject({
      updatedAt: Date.parse('2031-01-01T00:00:00Z'),
    });
  });
});
