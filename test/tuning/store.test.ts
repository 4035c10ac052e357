import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import {
  DEFAULT_TUNING_CONFIG,
  emptyBucket,
  initialTuningState,
  observe,
  startExperiment,
} from '../../domain/tuning';
import { DynamoDbTuningStore } from '../../lambdas/shared/dynamodb-tuning-store';
import type { FeatureStore } from '../../lambdas/shared/ports';
import {
  fromAttributes,
  RUN_RETENTION_HOURS,
  type TuningStore,
  toAttributes,
} from '../../lambdas/shared/tuning-store';
import { type DynamoDbTestEnvironment, startDynamoDbTestEnvironment } from '../support/dynamodb-local';
import { MINUTE, START, stores } from './support';

/**
 * The TuningStore contract, run against the in-memory store and the DynamoDB store on DynamoDB
 * Local: the conditions written in the port's TSDoc must hold for both.
 */

/**
 * `sweepExpired` does what DynamoDB's TTL may do at any moment: delete every row whose `expiresAt`
 * has passed on the wall clock. DynamoDB Local runs such a job every few seconds, on real time,
 * and the tests' START (March 2026) is older than every retention: that job, landing between a
 * delivery and its redelivery, is what counted an observation twice under load. The in-memory
 * store keeps no TTL: nothing to sweep.
 */
type World = () => Promise<{
  tuning: TuningStore;
  features: FeatureStore;
  sweepExpired: () => Promise<void>;
}>;

function contract(name: string, world: World) {
  describe(`TuningStore contract: ${name}`, () => {
    it('counts an observation once per key, whatever the redeliveries, and reads buckets back by time', async () => {
      // Prepare
      const { tuning } = await world();
      const arrival = {
        kind: 'arrival' as const,
        at: START + 30_000,
        category: 'billing',
        requiredSkills: [{ skill: 'billing', minProficiency: 2 }],
      };

      // Act
      const first = await tuning.record(arrival, 'T-1#arrival', 60);
      const again = await tuning.record(arrival, 'T-1#arrival', 60);
      await tuning.record({ ...arrival, at: START + MINUTE + 1 }, 'T-2#arrival', 60);
      await tuning.record(
        {
          kind: 'completion',
          at: START + 40_000,
          category: 'billing',
          agentId: 'a:1.x',
          observedSeconds: 400,
          predictedSeconds: 200,
        },
        'T-0#completion',
        60,
      );
      await tuning.record(
        { kind: 'outcome', at: START + 40_000, arm: 'exp-1/treatment', met: true },
        'T-0#outcome',
        60,
      );

      // Assess
      expect([first, again]).toEqual(['recorded', 'duplicate']);
      const buckets = await tuning.readBuckets(START, START + 2 * MINUTE);
      expect(buckets.map((bucket) => bucket.start)).toEqual([START, START + MINUTE]);
      const [bucket] = buckets;
      expect(bucket?.arrivals).toEqual({ billing: 1 });
      expect(bucket?.skills).toEqual({ billing: [{ skill: 'billing', minProficiency: 2 }] });
      expect(bucket?.handlingByAgent['billing#a:1.x']).toEqual({ count: 1, sum: 400, sumSq: 160_000 });
      expect(bucket?.residuals.billing?.sum).toBeCloseTo(Math.log(2), 10);
      expect(bucket?.largeErrors).toBe(0);
      expect(bucket?.outcomes).toEqual({ 'exp-1/treatment': { decided: 1, met: 1 } });
      expect(await tuning.readBuckets(START + 2 * MINUTE, START + 3 * MINUTE)).toEqual([]);
    });

    it('keeps a counted key through the TTL sweep, however old the observation (a redelivery stays a duplicate)', async () => {
      // Prepare: data older than the bucket retention on the wall clock (a replay, a late redelivery).
      const { tuning, sweepExpired } = await world();
      const arrival = { kind: 'arrival' as const, at: START, category: 'billing', requiredSkills: [] };
      const first = await tuning.record(arrival, 'T-1#arrival', 60);
      await tuning.recordStart({
        itemId: 'T-1',
        category: 'billing',
        startedAt: START,
        predictedSeconds: 300,
        attempt: 1,
      });
      await tuning.recordEnd('T-1', START + MINUTE);

      // Act: the TTL sweep comes between the delivery and its redelivery.
      await sweepExpired();
      const again = await tuning.record(arrival, 'T-1#arrival', 60);
      const lateStart = await tuning.recordStart({
        itemId: 'T-1',
        category: 'billing',
        startedAt: START,
        predictedSeconds: 300,
        attempt: 1,
      });

      // Assess
      expect([first, again, lateStart]).toEqual(['recorded', 'duplicate', 'unchanged']);
      const [bucket] = await tuning.readBuckets(START, START + MINUTE);
      expect(bucket?.arrivals).toEqual({ billing: 1 });
      expect(await tuning.listRunning(START + 2 * MINUTE)).toEqual([]);
    });

    it('keeps one start per item: a redelivery changes nothing, a re-route replaces it', async () => {
      // Prepare
      const { tuning } = await world();
      const first = {
        itemId: 'T-1',
        category: 'billing',
        startedAt: START,
        predictedSeconds: 300,
        attempt: 1,
      };
      const reroute = { ...first, startedAt: START + 5 * MINUTE, predictedSeconds: 200, attempt: 2 };

      // Act
      const recorded = await tuning.recordStart(first);
      const redelivered = await tuning.recordStart(first);
      const rerouted = await tuning.recordStart(reroute);
      const lateFirst = await tuning.recordStart(first);
      await tuning.recordStart({ ...first, itemId: 'T-2', category: 'orders', startedAt: START + MINUTE });

      // Assess: the snapshot holds what started before its time, the latest start of each item.
      expect([recorded, redelivered, rerouted, lateFirst]).toEqual([
        'recorded',
        'unchanged',
        'recorded',
        'unchanged',
      ]);
      expect(await tuning.listRunning(START + 10 * MINUTE)).toEqual([
        { itemId: 'T-2', category: 'orders', startedAt: START + MINUTE, predictedSeconds: 300, attempt: 1 },
        { ...reroute },
      ]);
      expect((await tuning.listRunning(START + 2 * MINUTE)).map((item) => item.itemId)).toEqual(['T-2']);
      expect(await tuning.listRunning(START)).toEqual([]);
    });

    it('ends an item at its earliest end, whatever the order of delivery, and ignores a start after it', async () => {
      // Prepare
      const { tuning } = await world();
      const start = {
        itemId: 'T-1',
        category: 'billing',
        startedAt: START,
        predictedSeconds: 300,
        attempt: 1,
      };
      await tuning.recordStart(start);

      // Act
      const ended = await tuning.recordEnd('T-1', START + 4 * MINUTE);
      const redelivered = await tuning.recordEnd('T-1', START + 4 * MINUTE);
      const later = await tuning.recordEnd('T-1', START + 9 * MINUTE);
      const reroutedAfterEnd = await tuning.recordStart({
        ...start,
        attempt: 2,
        startedAt: START + 5 * MINUTE,
      });
      // The completion of T-2 comes before its start.
      const endFirst = await tuning.recordEnd('T-2', START + 3 * MINUTE);
      const startAfter = await tuning.recordStart({ ...start, itemId: 'T-2', startedAt: START + MINUTE });

      // Assess: running until its end, then not.
      expect([ended, redelivered, later, reroutedAfterEnd, endFirst, startAfter]).toEqual([
        'recorded',
        'unchanged',
        'unchanged',
        'unchanged',
        'recorded',
        'unchanged',
      ]);
      expect(await tuning.listRunning(START + 4 * MINUTE - 1)).toEqual([{ ...start }]);
      expect(await tuning.listRunning(START + 4 * MINUTE)).toEqual([]);
      expect(await tuning.listRunning(START + 2 * MINUTE)).toEqual([{ ...start }]);
    });

    it('drops a start older than the retention from the snapshot', async () => {
      const { tuning } = await world();
      await tuning.recordStart({
        itemId: 'T-1',
        category: 'billing',
        startedAt: START,
        predictedSeconds: 300,
        attempt: 1,
      });
      const retention = RUN_RETENTION_HOURS * 60 * MINUTE;

      expect(await tuning.listRunning(START + retention - 1)).toHaveLength(1);
      expect(await tuning.listRunning(START + retention)).toEqual([]);
    });

    it('saves the state only on the revision it was read at', async () => {
      const { tuning } = await world();
      const state = initialTuningState(START);

      const created = await tuning.saveState(state, undefined);
      const duplicate = await tuning.saveState(state, undefined);
      const next = await tuning.saveState({ ...state, sequence: 3 }, 1);
      const stale = await tuning.saveState(state, 1);

      expect([created, duplicate, next, stale]).toEqual(['saved', 'conflict', 'saved', 'conflict']);
      expect(await tuning.readState()).toEqual({ state: { ...state, sequence: 3 }, revision: 2 });
    });

    it('keeps versions immutable and activates a policy only over the version it was computed from', async () => {
      const { tuning, features } = await world();
      const next: Policy = { ...DEFAULT_POLICY, version: 'default-1+t1', minConfidence: 0.1 };
      const record = {
        version: next.version,
        policy: next,
        parentVersion: DEFAULT_POLICY.version,
        kind: 'threshold-adapted' as const,
        reason: 'errors up',
        createdAt: new Date(START).toISOString(),
        createdBy: 'flowtune:tuning',
      };

      expect(await tuning.putPolicyVersion(record)).toBe('created');
      expect(await tuning.putPolicyVersion({ ...record, reason: 'rewritten' })).toBe('exists');
      expect(await tuning.activatePolicy(next, 'some-other-version')).toBe('conflict');
      expect(await tuning.activatePolicy(next, DEFAULT_POLICY.version)).toBe('activated');
      expect(await tuning.activatePolicy({ ...next, version: 'x' }, DEFAULT_POLICY.version)).toBe('conflict');

      expect((await features.getActivePolicy()).version).toBe('default-1+t1');
      expect((await tuning.getPolicyVersion('default-1+t1'))?.reason).toBe('errors up');
      expect((await tuning.listPolicyVersions()).map((entry) => entry.version)).toEqual(['default-1+t1']);
    });

    it('stores the experiment, the configuration and approvals, resolving an approval once', async () => {
      const { tuning } = await world();
      const candidate: Policy = { ...DEFAULT_POLICY, version: 'c-1' };
      const experiment = startExperiment({
        experimentId: 'exp-1',
        candidate,
        active: DEFAULT_POLICY,
        mode: 'ab',
        treatmentShare: 0.2,
        now: START,
        startedBy: 'ops:ana',
      });
      const proposal = {
        kind: 'promoted' as const,
        policy: candidate,
        previousVersion: DEFAULT_POLICY.version,
        changes: [],
        reason: 'better',
        needsApproval: true,
        approvalReasons: ['x'],
        evidence: {},
      };

      await tuning.saveExperiment(experiment);
      await tuning.saveConfig({ ...DEFAULT_TUNING_CONFIG, cycleMinutes: 5 });
      await tuning.putApprovalRequest({
        approvalId: 'run-1',
        taskToken: 'token',
        executionId: 'arn:x:run-1',
        proposal,
        requestedAt: new Date(START).toISOString(),
        status: 'pending',
      });
      const resolved = await tuning.resolveApprovalRequest('run-1', {
        status: 'approved',
        by: 'ops:ben',
        reason: 'ok',
        at: START,
      });
      const twice = await tuning.resolveApprovalRequest('run-1', {
        status: 'rejected',
        by: 'ops:cy',
        reason: 'no',
        at: START,
      });

      expect(await tuning.readExperiment()).toEqual(experiment);
      expect((await tuning.readConfig()).cycleMinutes).toBe(5);
      expect([resolved, twice]).toEqual(['resolved', 'not-pending']);
      expect(await tuning.listPendingApprovals()).toEqual([]);
      expect((await tuning.getApprovalRequest('run-1'))?.resolvedBy).toBe('ops:ben');
    });

    it('starts one experiment at a time: of two concurrent starts one wins, an id is never reused, a stale update loses', async () => {
      // Prepare
      const { tuning } = await world();
      const trial = (experimentId: string, version: string, now = START) =>
        startExperiment({
          experimentId,
          candidate: { ...DEFAULT_POLICY, version },
          active: DEFAULT_POLICY,
          mode: 'ab',
          treatmentShare: 0.2,
          now,
          startedBy: 'ops:ana',
        });

      // Act
      const raced = await Promise.all([
        tuning.beginExperiment(trial('exp-a', 'c-a')),
        tuning.beginExperiment(trial('exp-b', 'c-b')),
      ]);
      const winner = await tuning.readExperiment();
      if (winner === undefined) throw new Error('no experiment started');
      const stopped = { ...winner, status: 'stopped' as const, decidedAt: START + 1 };
      const stop = await tuning.updateExperiment(stopped, 'running');
      // A cycle that read it running saves its totals after the stop: it must lose.
      const staleCycle = await tuning.updateExperiment(
        { ...winner, totals: { control: { decided: 5, met: 5 }, treatment: { decided: 5, met: 5 } } },
        'running',
      );
      const reused = await tuning.beginExperiment(trial(winner.experimentId, 'c-again', START + 2));
      const next = await tuning.beginExperiment(trial('exp-c', 'c-c', START + 3));

      // Assess
      expect([...raced].sort()).toEqual(['busy', 'started']);
      expect([stop, staleCycle]).toEqual(['saved', 'conflict']);
      expect(reused).toBe('id-taken');
      expect(next).toBe('started');
      expect((await tuning.readExperiment())?.experimentId).toBe('exp-c');
      expect(await tuning.getExperiment(winner.experimentId)).toEqual(stopped);
      expect((await tuning.listExperiments()).map((entry) => [entry.experimentId, entry.status])).toEqual([
        ['exp-c', 'running'],
        [winner.experimentId, 'stopped'],
      ]);
    });
  });
}

describe('bucket attributes', () => {
  it('round-trip every field of a bucket', () => {
    let bucket = emptyBucket(START, 60);
    bucket = observe(bucket, {
      kind: 'arrival',
      at: START,
      category: 'vip',
      requiredSkills: [{ skill: 'billing', minProficiency: 4 }],
    });
    bucket = observe(bucket, { kind: 'decision', at: START, confidence: 0.83 });
    bucket = observe(bucket, {
      kind: 'completion',
      at: START,
      category: 'vip',
      agentId: 's-1',
      observedSeconds: 900,
      predictedSeconds: 300,
      reopened: true,
      rework: true,
      firstTimeResolution: false,
    });
    bucket = observe(bucket, { kind: 'outcome', at: START, arm: 'none', met: false });

    expect(fromAttributes(START, 60, toAttributes(bucket))).toEqual(bucket);
  });
});

contract('in memory', async () => {
  const { tuning, features } = stores();
  return { tuning, features, sweepExpired: async () => {} };
});

describe('on DynamoDB Local', () => {
  let db: DynamoDbTestEnvironment | undefined;
  beforeAll(async () => {
    db = await startDynamoDbTestEnvironment();
  });
  afterAll(async () => {
    await db?.stop();
  });

  contract('DynamoDB', async () => {
    if (db === undefined) throw new Error('DynamoDB Local did not start');
    const ports = await db.freshTables();
    const { documentClient } = db;
    const table = ports.tableNames.featuresTable;
    return {
      tuning: new DynamoDbTuningStore({
        client: documentClient,
        featuresTable: table,
      }),
      features: ports.features,
      sweepExpired: () => sweepExpired(documentClient, table, Date.now()),
    };
  });

  it('sweeps what has expired, as the TTL would (so the contract case above can fail)', async () => {
    if (db === undefined) throw new Error('DynamoDB Local did not start');
    const table = (await db.freshTables()).tableNames.featuresTable;
    const wallNow = Date.now();
    const expiresAt = Math.floor(wallNow / 1000);
    await db.documentClient.send(
      new PutCommand({ TableName: table, Item: { pk: 'X', sk: 'old', expiresAt } }),
    );
    await db.documentClient.send(
      new PutCommand({ TableName: table, Item: { pk: 'X', sk: 'kept', expiresAt: expiresAt + 3600 } }),
    );

    await sweepExpired(db.documentClient, table, wallNow);

    const left = await db.documentClient.send(new ScanCommand({ TableName: table }));
    expect(left.Items?.map((item) => item.sk)).toEqual(['kept']);
  });
});

/** DynamoDB's TTL, deterministically: deletes every item whose `expiresAt` (epoch s) is at or before `wallNow`. */
async function sweepExpired(client: DynamoDBDocumentClient, table: string, wallNow: number): Promise<void> {
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey }));
    for (const item of page.Items ?? []) {
      if (typeof item.expiresAt === 'number' && item.expiresAt <= Math.floor(wallNow / 1000)) {
        await client.send(new DeleteCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } }));
      }
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey !== undefined);
}
