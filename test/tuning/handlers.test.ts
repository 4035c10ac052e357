import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import {
  armKey,
  experimentArm,
  initialTuningState,
  startExperiment,
  type TuningState,
} from '../../domain/tuning';
import { InMemoryInstanceStore } from '../../lambdas/shared/in-memory';
import { instanceExpiresAt } from '../../lambdas/shared/table-layout';
import { InMemoryTuningStore } from '../../lambdas/shared/tuning-store';
import { createApplyHandler, PolicyConflictError } from '../../lambdas/tuning/apply/handler';
import { createCycleHandler, TuningStateConflictError } from '../../lambdas/tuning/cycle/handler';
import { createObserveHandler } from '../../lambdas/tuning/observe/handler';
import { PROJECT_ROOT } from '../../lib/definitions';
import { MINUTE, START, stores } from './support';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/events/helpdesk', name), 'utf8')) as Record<
    string,
    unknown
  >;
const created = fixture('work-item-created.json');
const completed = fixture('work-item-completed.json');
const CREATED_AT = Date.parse('2026-11-20T08:59:58Z');

function observeWorld() {
  const { tables, tuning, features } = stores();
  const instances = new InMemoryInstanceStore(tables);
  return { tuning, features, instances, handler: createObserveHandler({ tuning, instances }) };
}

describe('observe handler', () => {
  it('counts a WorkItemCreated as an arrival of its category, once however often it is delivered', async () => {
    // Prepare
    const { tuning, handler } = observeWorld();

    // Act
    const first = await handler(created);
    const again = await handler(created);

    // Assess
    expect([first.status, again.status]).toEqual(['recorded', 'duplicate']);
    const [bucket] = await tuning.readBuckets(CREATED_AT - MINUTE, CREATED_AT + MINUTE);
    expect(bucket?.arrivals).toEqual({ billing: 1 });
    expect(bucket?.skills.billing).toEqual([{ skill: 'billing', minProficiency: 2 }]);
  });

  it('measures a completion against the prediction it was routed with and counts its SLA outcome in its arm', async () => {
    // Prepare: the item was scored at 1,200 s predicted, due 09:30; an A/B experiment ran.
    const { tuning, instances, handler } = observeWorld();
    const candidate: Policy = { ...DEFAULT_POLICY, version: 'c-1' };
    const experiment = startExperiment({
      experimentId: 'exp-1',
      candidate,
      active: DEFAULT_POLICY,
      mode: 'ab',
      treatmentShare: 0.5,
      now: CREATED_AT - MINUTE,
      startedBy: 'ops:ana',
    });
    await tuning.saveExperiment(experiment);
    instances.seed({
      itemId: 'HD-10428',
      stage: 'IN_PROGRESS',
      stageEnteredAt: CREATED_AT,
      category: 'billing',
      priority: 3,
      requiredSkills: [],
      createdAt: CREATED_AT,
      slaDueAt: Date.parse('2026-11-20T09:30:00Z'),
      attempt: 1,
      excludedAgents: [],
      expiresAt: instanceExpiresAt(CREATED_AT),
      predictedHandlingSeconds: 1200,
      assignedAt: Date.parse('2026-11-20T09:05:00Z'),
    });

    // Act
    const response = await handler(completed);

    // Assess: 30 minutes handled (started 09:10) against 20 predicted; completed after the due time.
    expect(response.status).toBe('recorded');
    const [bucket] = await tuning.readBuckets(
      Date.parse('2026-11-20T09:40:00Z'),
      Date.parse('2026-11-20T09:41:00Z'),
    );
    expect(bucket?.handling.billing).toEqual({ count: 1, sum: 1800, sumSq: 1800 * 1800 });
    expect(bucket?.residuals.billing?.sum).toBeCloseTo(Math.log(1.5), 10);
    const arm = armKey('exp-1', experimentArm('HD-10428', experiment));
    expect(bucket?.outcomes).toEqual({ [arm]: { decided: 1, met: 0 } });
  });

  it('counts the decision confidence Score stored on the instance, once however often the completion comes', async () => {
    // Prepare
    const { tuning, instances, handler } = observeWorld();
    instances.seed({
      itemId: 'HD-10428',
      stage: 'IN_PROGRESS',
      stageEnteredAt: CREATED_AT,
      category: 'billing',
      priority: 3,
      requiredSkills: [],
      createdAt: CREATED_AT,
      slaDueAt: Date.parse('2026-11-20T12:00:00Z'),
      attempt: 1,
      excludedAgents: [],
      expiresAt: instanceExpiresAt(CREATED_AT),
      predictedHandlingSeconds: 1200,
      confidence: 0.73,
    });

    // Act
    await handler(completed);
    await handler(completed);

    // Assess: 0.73 falls in the eighth of ten bins.
    const [bucket] = await tuning.readBuckets(
      Date.parse('2026-11-20T09:40:00Z'),
      Date.parse('2026-11-20T09:41:00Z'),
    );
    expect(bucket?.confidence).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('ignores a completion of an item it never saw scored, and events of other kinds', async () => {
    const { handler } = observeWorld();

    expect((await handler(completed)).status).toBe('ignored');
    expect((await handler({ ...completed, 'detail-type': 'AgentStatusChanged' })).status).toBe('ignored');
    expect((await handler({ not: 'an event' })).status).toBe('ignored');
  });
});

/** A store where another cycle always saves first. */
class RacingTuningStore extends InMemoryTuningStore {
  override async saveState(state: TuningState, revision: number | undefined): Promise<'saved' | 'conflict'> {
    await super.saveState(state, revision);
    return super.saveState(state, revision);
  }
}

describe('cycle handler', () => {
  it('refuses to overwrite a state another cycle saved meanwhile', async () => {
    // Prepare: the stored state moves on between this cycle's read and its write.
    const { tables, features } = stores();
    const racing = new RacingTuningStore(tables);
    await racing.saveState(initialTuningState(START), undefined);
    const handler = createCycleHandler({
      tuning: racing,
      features,
      clock: { now: () => START + 10 * MINUTE },
    });

    // Act / Assess
    await expect(handler({})).rejects.toThrow(TuningStateConflictError);
  });
});

describe('apply handler', () => {
  it('refuses a change computed from a version that is no longer active', async () => {
    const { tuning, features } = stores();
    await features.putActivePolicy({ ...DEFAULT_POLICY, version: 'someone-else' });
    const handler = createApplyHandler({ tuning, features, clock: { now: () => START } });
    const proposal = {
      kind: 'threshold-adapted' as const,
      policy: { ...DEFAULT_POLICY, version: 'default-1+t1', minConfidence: 0.02 },
      previousVersion: DEFAULT_POLICY.version,
      changes: ['minConfidence'],
      reason: 'errors up',
      needsApproval: false,
      approvalReasons: [],
      evidence: {},
    };

    await expect(handler({ proposal })).rejects.toThrow(PolicyConflictError);
    expect((await features.getActivePolicy()).version).toBe('someone-else');
  });

  it('applies a retried change once: the second call finds it already active', async () => {
    const { tuning, features } = stores();
    const handler = createApplyHandler({ tuning, features, clock: { now: () => START } });
    const proposal = {
      kind: 'threshold-adapted' as const,
      policy: { ...DEFAULT_POLICY, version: 'default-1+t1', minConfidence: 0.02 },
      previousVersion: DEFAULT_POLICY.version,
      changes: ['minConfidence'],
      reason: 'errors up',
      needsApproval: false,
      approvalReasons: [],
      evidence: {},
    };

    const first = await handler({ proposal });
    const retry = await handler({ proposal });

    expect([first.outcome, retry.outcome]).toEqual(['activated', 'already-active']);
    expect(first.event).toMatchObject({
      kind: 'threshold-adapted',
      approval: 'automatic',
      policyVersion: 'default-1+t1',
    });
  });
});
