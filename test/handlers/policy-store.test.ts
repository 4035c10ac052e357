import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyChanged } from '../../domain/events/tuning';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import { DynamoDbOpsStore } from '../../lambdas/ops-api/dynamodb-ops-store';
import { createOpsApi } from '../../lambdas/ops-api/handler';
import { apiGatewayEvent } from '../../lambdas/ops-api/proxy-event';
import { DynamoDbTuningStore } from '../../lambdas/shared/dynamodb-tuning-store';
import {
  createInMemoryPorts,
  InMemoryAuditLog,
  InMemoryEventPublisher,
  InMemoryFeatureStore,
  InMemoryTables,
  ManualClock,
} from '../../lambdas/shared/in-memory';
import {
  POLICY_HISTORY_ID,
  PolicyConflictError,
  PolicyStore,
  PolicyVersionTakenError,
} from '../../lambdas/shared/policy-store';
import type { AuditLog, FeatureStore } from '../../lambdas/shared/ports';
import { InMemoryTuningStore, type TuningStore } from '../../lambdas/shared/tuning-store';
import { createApplyHandler } from '../../lambdas/tuning/apply/handler';
import { type DynamoDbTestEnvironment, startDynamoDbTestEnvironment } from '../support/dynamodb-local';

const T0 = Date.parse('2026-11-20T09:00:00.000Z');
const ANA = 'arn:aws:sts::111122223333:assumed-role/Operators/ana';
const BEN = 'arn:aws:sts::111122223333:assumed-role/Operators/ben';
const cautious: Policy = { ...DEFAULT_POLICY, version: 'cautious-1', minConfidence: 0.3 };

interface World {
  readonly policies: PolicyStore;
  readonly versions: TuningStore;
  readonly features: FeatureStore;
  readonly audit: AuditLog;
  readonly events: InMemoryEventPublisher;
  readonly clock: ManualClock;
}

function inMemoryWorld(): World {
  const tables = new InMemoryTables();
  const clock = new ManualClock(T0);
  const versions = new InMemoryTuningStore(tables);
  const features = new InMemoryFeatureStore(tables, clock);
  const audit = new InMemoryAuditLog(tables);
  const events = new InMemoryEventPublisher();
  return {
    policies: new PolicyStore({ versions, features, audit, events, clock }),
    versions,
    features,
    audit,
    events,
    clock,
  };
}

let db: DynamoDbTestEnvironment;
beforeAll(async () => {
  db = await startDynamoDbTestEnvironment();
}, 60_000);
afterAll(async () => {
  await db?.stop();
});

async function dynamoDbWorld(): Promise<
  World & { readonly tableNames: DynamoDbTestEnvironment['tableNames'] }
> {
  const ports = await db.freshTables();
  const versions = new DynamoDbTuningStore({
    client: db.documentClient,
    featuresTable: ports.tableNames.featuresTable,
  });
  const events = new InMemoryEventPublisher();
  const clock = new ManualClock(T0);
  return {
    policies: new PolicyStore({ versions, features: ports.features, audit: ports.audit, events, clock }),
    versions,
    features: ports.features,
    audit: ports.audit,
    events,
    clock,
    tableNames: ports.tableNames,
  };
}

const changedEvents = (events: InMemoryEventPublisher) =>
  events.published
    .filter((event) => event.detailType === 'PolicyChanged')
    .map((event) => PolicyChanged.parse(event.detail));

describe.each([
  ['in memory', async () => inMemoryWorld()],
  ['DynamoDB Local', dynamoDbWorld],
])('the policy store (%s)', (_name, world) => {
  it('writes an immutable version, activates it, records actor and reason, and announces PolicyChanged', async () => {
    const { policies, versions, features, audit, events } = await world();

    const result = await policies.change({
      policy: cautious,
      baseVersion: DEFAULT_POLICY.version,
      kind: 'approved',
      reason: 'too many wrong automations',
      actor: 'ops:ben',
      approvedBy: 'ops:ben',
    });

    expect(result.outcome).toBe('activated');
    expect((await features.getActivePolicy()).version).toBe('cautious-1');
    expect(await versions.getPolicyVersion('cautious-1')).toMatchObject({
      parentVersion: 'default-1',
      createdBy: 'ops:ben',
      kind: 'approved',
    });
    const [record] = await audit.listForItem(POLICY_HISTORY_ID);
    expect(record).toMatchObject({ kind: 'POLICY_CHANGED', actor: 'ops:ben', policyVersion: 'cautious-1' });
    expect(JSON.parse(record?.details ?? '{}')).toMatchObject({
      reason: 'too many wrong automations',
      previousVersion: 'default-1',
      changes: ['minConfidence'],
    });
    expect(changedEvents(events)).toMatchObject([
      {
        policyVersion: 'cautious-1',
        previousVersion: 'default-1',
        approval: 'approved',
        approvedBy: 'ops:ben',
      },
    ]);
  });

  it('refuses a change computed from a version that is no longer active, keeping the version and the winner', async () => {
    const { policies, versions, features, events } = await world();
    await policies.change({
      policy: cautious,
      baseVersion: DEFAULT_POLICY.version,
      kind: 'manual',
      reason: 'first',
      actor: 'ops:ana',
    });

    const late = policies.change({
      policy: { ...DEFAULT_POLICY, version: 'default-1+t1', maxAutoRisk: 0.9 },
      baseVersion: DEFAULT_POLICY.version,
      kind: 'threshold-adapted',
      reason: 'reopens up',
      actor: 'flowtune:tuning',
    });

    await expect(late).rejects.toThrow(PolicyConflictError);
    await expect(late).rejects.toThrow(/the active policy is cautious-1, not default-1/);
    expect((await features.getActivePolicy()).version).toBe('cautious-1');
    expect(await versions.getPolicyVersion('default-1+t1')).toBeDefined();
    expect(changedEvents(events).map((event) => event.policyVersion)).toEqual(['cautious-1']);
  });

  it('retries from the new active version when the caller can recompute its change', async () => {
    const { policies, features } = await world();
    await policies.change({
      policy: cautious,
      baseVersion: 'default-1',
      kind: 'manual',
      reason: 'first',
      actor: 'a',
    });

    const result = await policies.change(
      {
        policy: { ...DEFAULT_POLICY, version: 'default-1+t1', maxAutoRisk: 0.9 },
        baseVersion: 'default-1',
        kind: 'threshold-adapted',
        reason: 'reopens up',
        actor: 'flowtune:tuning',
      },
      {
        rebase: (active) => ({
          policy: { ...active, version: `${active.version}+t2`, maxAutoRisk: 0.9 },
          baseVersion: active.version,
          kind: 'threshold-adapted',
          reason: 'reopens up (recomputed)',
          actor: 'flowtune:tuning',
        }),
      },
    );

    expect(result).toMatchObject({
      outcome: 'activated',
      version: 'cautious-1+t2',
      previousVersion: 'cautious-1',
    });
    const active = await features.getActivePolicy();
    expect([active.minConfidence, active.maxAutoRisk]).toEqual([0.3, 0.9]);
  });

  it('never reuses a version id for another document', async () => {
    const { policies } = await world();
    await policies.change({
      policy: cautious,
      baseVersion: 'default-1',
      kind: 'manual',
      reason: 'first',
      actor: 'a',
    });

    await expect(
      policies.change({
        policy: { ...cautious, minConfidence: 0.5 },
        baseVersion: 'cautious-1',
        kind: 'manual',
        reason: 'same id, other content',
        actor: 'b',
      }),
    ).rejects.toThrow(PolicyVersionTakenError);
  });

  it('rolls back to a stored version as a new, audited activation', async () => {
    const { policies, features } = await world();
    await policies.change({
      policy: cautious,
      baseVersion: 'default-1',
      kind: 'manual',
      reason: 'first',
      actor: 'a',
    });

    const result = await policies.rollbackTo({
      version: 'default-1',
      actor: 'ops:ana',
      reason: 'cautious-1 parks too much',
    });

    expect(result).toMatchObject({
      version: 'default-1',
      previousVersion: 'cautious-1',
      outcome: 'activated',
    });
    expect((await features.getActivePolicy()).version).toBe('default-1');
    expect((await policies.history()).map((entry) => [entry.version, entry.kind, entry.actor])).toEqual([
      ['cautious-1', 'manual', 'a'],
      ['default-1', 'rolled-back', 'ops:ana'],
    ]);
  });
});

describe('a person’s approval racing the tuning loop on DynamoDB Local', () => {
  it('never loses a version: exactly one activates, the other gets a clear conflict, both are stored', async () => {
    // Prepare: five rounds, each a proposal by ana approved by ben while tuning applies a change
    // computed from the same active version.
    const world = await dynamoDbWorld();
    const ports = createInMemoryPorts(T0);
    const api = createOpsApi({
      ...ports,
      features: world.features,
      audit: world.audit,
      policies: world.policies,
      store: new DynamoDbOpsStore({ client: db.documentClient, ...world.tableNames }),
    });
    const apply = createApplyHandler({
      tuning: world.versions,
      policies: world.policies,
      clock: ports.clock,
    });
    const call = async (method: string, path: string, actor: string, body?: unknown) => {
      const answer = await api.http(
        apiGatewayEvent({ method, path, actor, ...(body === undefined ? {} : { body }) }),
      );
      return { status: answer.statusCode, body: JSON.parse(answer.body) as Record<string, unknown> };
    };
    const outcomes: string[] = [];

    for (let round = 1; round <= 5; round++) {
      world.clock.advance(60_000);
      const base = await world.features.getActivePolicy();
      const proposed = await call('POST', '/policies/proposals', ANA, {
        policy: { ...base, version: `human-${round}`, minConfidence: 0.1 + round / 100 },
        rationale: `round ${round}`,
      });
      expect(proposed.status).toBe(201);
      const tuningChange = {
        kind: 'threshold-adapted' as const,
        policy: { ...base, version: `${base.version}+t${round}`, maxAutoRisk: 0.9 - round / 100 },
        previousVersion: base.version,
        changes: ['maxAutoRisk'],
        reason: 'reopen rate up',
        needsApproval: false,
        approvalReasons: [],
        evidence: {},
      };

      // Act: both at once.
      const [approval, tuning] = await Promise.allSettled([
        call('POST', `/policies/proposals/human-${round}/approve`, BEN, { reason: 'looks right' }),
        apply({ proposal: tuningChange }),
      ]);

      // Assess: one winner, one refusal that names the active version, nothing overwritten unseen.
      const approved = approval.status === 'fulfilled' && approval.value.status === 200;
      const applied = tuning.status === 'fulfilled';
      expect(approved !== applied, `round ${round}: exactly one wins`).toBe(true);
      if (!approved) {
        expect(approval.status === 'fulfilled' && approval.value).toMatchObject({
          status: 409,
          body: { error: 'PolicyConflict' },
        });
      }
      if (!applied) expect(tuning.status === 'rejected' && tuning.reason).toBeInstanceOf(PolicyConflictError);
      const winner = approved ? `human-${round}` : tuningChange.policy.version;
      expect((await world.features.getActivePolicy()).version).toBe(winner);
      expect(await world.versions.getPolicyVersion(`human-${round}`)).toBeDefined();
      expect(await world.versions.getPolicyVersion(tuningChange.policy.version)).toBeDefined();
      outcomes.push(approved ? 'approval' : 'tuning');
    }

    // Every activation is in the history with its actor, and announced once.
    const history = await world.policies.history();
    expect(history).toHaveLength(5);
    expect(history.map((entry) => entry.actor)).toEqual(
      outcomes.map((winner) => (winner === 'approval' ? BEN : 'flowtune:tuning')),
    );
    expect(changedEvents(world.events)).toHaveLength(5);
  });
});
