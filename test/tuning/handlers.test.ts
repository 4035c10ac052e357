import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import {
  armKey,
  DEFAULT_TUNING_CONFIG,
  experimentArm,
  initialTuningState,
  startExperiment,
  type TuningState,
} from '../../domain/tuning';
import { InMemoryInstanceStore } from '../../lambdas/shared/in-memory';
import { POLICY_HISTORY_ID } from '../../lambdas/shared/policy-store';
import type { InstanceRecord } from '../../lambdas/shared/ports';
import { instanceExpiresAt } from '../../lambdas/shared/table-layout';
import { InMemoryTuningStore, type TrackedRunningItem } from '../../lambdas/shared/tuning-store';
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
const cancelled = fixture('work-item-cancelled.json');
const tuningFixture = (name: string) =>
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/tuning/fixtures', name), 'utf8')) as Record<
    string,
    unknown
  >;
/** Flowtune routed HD-10428 at 09:05 predicting 1,200 s; it escalated it at 09:50. */
const routed = tuningFixture('work-item-routed.json');
const escalated = tuningFixture('work-item-escalated.json');
const at = (time: string) => Date.parse(`2026-11-20T${time}Z`);
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
    seedScored(instances, { assignedAt: Date.parse('2026-11-20T09:05:00Z') });

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
    seedScored(instances, { slaDueAt: Date.parse('2026-11-20T12:00:00Z'), confidence: 0.73 });

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

  it('keeps a routed item running, with its instance category and routed prediction, until its completion', async () => {
    // Prepare
    const { tuning, instances, handler } = observeWorld();
    seedScored(instances);

    // Act
    const first = await handler(routed);
    const again = await handler(routed);
    const runningBefore = await tuning.listRunning(at('09:39:59'));
    await handler(completed);

    // Assess: running from 09:05 until the completion at 09:40, counted once.
    expect([first.status, again.status]).toEqual(['recorded', 'duplicate']);
    expect(runningBefore).toEqual<TrackedRunningItem[]>([
      {
        itemId: 'HD-10428',
        category: 'billing',
        startedAt: at('09:05:00'),
        predictedSeconds: 1200,
        attempt: 1,
      },
    ]);
    expect(await tuning.listRunning(at('09:05:00'))).toEqual([]);
    expect(await tuning.listRunning(at('09:40:00'))).toEqual([]);
    expect(await tuning.listRunning(at('09:39:59'))).toEqual(runningBefore);
  });

  it('replaces a start with its re-route, and ends it on escalation or cancellation', async () => {
    // Prepare
    const { tuning, instances, handler } = observeWorld();
    seedScored(instances);
    const detail = routed.detail as Record<string, unknown>;
    const reroute = {
      ...routed,
      detail: { ...detail, attempt: 2, predictedHandlingSeconds: 900, routedAt: '2026-11-20T09:30:00Z' },
    };

    // Act
    await handler(routed);
    const rerouted = await handler(reroute);
    const late = await handler(routed);
    const runningAfterReroute = await tuning.listRunning(at('09:45:00'));
    const escalation = await handler(escalated);
    const cancellation = await handler({
      ...cancelled,
      detail: { ...(cancelled.detail as object), cancelledAt: '2026-11-20T10:00:00Z' },
    });

    // Assess: the earliest end (the escalation at 09:50) stands.
    expect([rerouted.status, late.status, escalation.status, cancellation.status]).toEqual([
      'recorded',
      'duplicate',
      'recorded',
      'duplicate',
    ]);
    expect(runningAfterReroute).toEqual([
      {
        itemId: 'HD-10428',
        category: 'billing',
        startedAt: at('09:30:00'),
        predictedSeconds: 900,
        attempt: 2,
      },
    ]);
    expect(await tuning.listRunning(at('09:49:59'))).toHaveLength(1);
    expect(await tuning.listRunning(at('09:50:00'))).toEqual([]);
  });

  it('takes starts only from Flowtune, for scored items with a prediction', async () => {
    // Prepare
    const { tuning, instances, handler } = observeWorld();
    const unscored = await handler(routed);
    seedScored(instances);
    const detail = routed.detail as Record<string, unknown>;

    // Act
    const forged = await handler({ ...routed, source: 'helpdesk' });
    const noPrediction = await handler({ ...routed, detail: { ...detail, predictedHandlingSeconds: 0 } });
    const invalid = await handler({ ...routed, detail: { ...detail, routedAt: 'yesterday' } });

    // Assess
    expect([unscored, forged, noPrediction, invalid].map((response) => response.status)).toEqual([
      'ignored',
      'ignored',
      'ignored',
      'ignored',
    ]);
    expect(await tuning.listRunning(at('09:30:00'))).toEqual([]);
  });

  it('ignores a completion of an item it never saw scored, and events of other kinds', async () => {
    const { handler } = observeWorld();

    expect((await handler(completed)).status).toBe('ignored');
    expect((await handler({ ...completed, 'detail-type': 'AgentStatusChanged' })).status).toBe('ignored');
    expect((await handler({ not: 'an event' })).status).toBe('ignored');
  });
});

/** HD-10428 scored and in progress (billing, predicted 20 min), with any field overridden. */
function seedScored(instances: InMemoryInstanceStore, overrides: Partial<InstanceRecord> = {}): void {
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
    ...overrides,
  });
}

/** A store where another cycle always saves first. */
class RacingTuningStore extends InMemoryTuningStore {
  override async saveState(state: TuningState, revision: number | undefined): Promise<'saved' | 'conflict'> {
    await super.saveState(state, revision);
    return super.saveState(state, revision);
  }
}

/** A person stops the experiment right after the cycle read it running. */
class StoppedMeanwhileStore extends InMemoryTuningStore {
  override async readExperiment() {
    const read = await super.readExperiment();
    if (read?.status === 'running') {
      await super.updateExperiment(
        { ...read, status: 'stopped', stoppedBy: 'ops:ana', decidedAt: START },
        'running',
      );
    }
    return read;
  }
}

/** Remembers the times it was asked for the work in progress. */
class SnapshotRecordingStore extends InMemoryTuningStore {
  readonly asked: number[] = [];
  override async listRunning(asOf: number): Promise<TrackedRunningItem[]> {
    this.asked.push(asOf);
    return super.listRunning(asOf);
  }
}

describe('cycle handler', () => {
  it('sends the residual test the items running at the end of the last bucket it reads', async () => {
    // Prepare: 30 billing completions over minutes 0-2 (the warm-up), and three starts: one still
    // running at the end of minute 2, one that started after it, one that completed before it.
    const { tables, features } = stores();
    const tuning = new SnapshotRecordingStore(tables);
    await tuning.saveConfig({
      ...DEFAULT_TUNING_CONFIG,
      drift: { ...DEFAULT_TUNING_CONFIG.drift, residualWarmup: 20 },
    });
    for (let index = 0; index < 30; index++) {
      await tuning.record(
        {
          kind: 'completion',
          at: START + (index % 3) * MINUTE + 1000,
          category: 'billing',
          agentId: 'a-1',
          observedSeconds: 100 * (1 + (index % 5) / 10),
          predictedSeconds: 100,
        },
        `T-${index}#completion`,
        60,
      );
    }
    const start = { category: 'billing', predictedSeconds: 10, attempt: 1 };
    await tuning.recordStart({ ...start, itemId: 'R-running', startedAt: START });
    await tuning.recordStart({ ...start, itemId: 'R-later', startedAt: START + 3 * MINUTE + 1000 });
    await tuning.recordStart({ ...start, itemId: 'R-done', startedAt: START });
    await tuning.recordEnd('R-done', START + 2 * MINUTE);
    const handler = createCycleHandler({ tuning, features, clock: { now: () => START + 5 * MINUTE } });

    // Act
    await handler({});

    // Assess: asked as of the end of minute 2; the item 18 times over its prediction is evidence up.
    expect(tuning.asked).toEqual([START + 3 * MINUTE]);
    const residuals = (await tuning.readState())?.state.residuals.billing;
    expect(residuals?.censoredUp).toBeGreaterThan(0);
  });

  it('runs without a snapshot before any bucket was read', async () => {
    const { tables, features } = stores();
    const tuning = new SnapshotRecordingStore(tables);
    const handler = createCycleHandler({ tuning, features, clock: { now: () => START } });

    await handler({});

    expect(tuning.asked).toEqual([]);
  });

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

describe('cycle handler and a person stopping the experiment', () => {
  it('never undoes a stop made during the cycle, and drops the decision it computed on the stopped experiment', async () => {
    // Prepare: an A/B trial whose treatment misses every SLA (the harm test rolls it back).
    const { tables, features } = stores();
    const tuning = new StoppedMeanwhileStore(tables);
    const experiment = startExperiment({
      experimentId: 'exp-stop',
      candidate: { ...DEFAULT_POLICY, version: 'c-bad' },
      active: DEFAULT_POLICY,
      mode: 'ab',
      treatmentShare: 0.5,
      now: START,
      startedBy: 'ops:ana',
    });
    await tuning.saveExperiment(experiment);
    await tuning.saveState(initialTuningState(START), undefined);
    for (let index = 0; index < 200; index++) {
      const arm = experimentArm(`T-${index}`, experiment);
      await tuning.record(
        { kind: 'outcome', at: START + index * 5_000, arm: armKey('exp-stop', arm), met: arm === 'control' },
        `T-${index}#outcome`,
        60,
      );
    }
    const handler = createCycleHandler({ tuning, features, clock: { now: () => START + 30 * MINUTE } });

    // Act
    const output = await handler({});

    // Assess
    expect(output.hasPolicyChange).toBe(false);
    expect(output.experiment).toBeUndefined();
    expect(await tuning.readExperiment()).toMatchObject({ status: 'stopped', stoppedBy: 'ops:ana' });
  });

  it('still rolls the same trial back when nobody stops it (the test above can fail)', async () => {
    const { tuning, features } = stores();
    const experiment = startExperiment({
      experimentId: 'exp-stop',
      candidate: { ...DEFAULT_POLICY, version: 'c-bad' },
      active: DEFAULT_POLICY,
      mode: 'ab',
      treatmentShare: 0.5,
      now: START,
      startedBy: 'ops:ana',
    });
    await tuning.saveExperiment(experiment);
    await tuning.saveState(initialTuningState(START), undefined);
    for (let index = 0; index < 200; index++) {
      const arm = experimentArm(`T-${index}`, experiment);
      await tuning.record(
        { kind: 'outcome', at: START + index * 5_000, arm: armKey('exp-stop', arm), met: arm === 'control' },
        `T-${index}#outcome`,
        60,
      );
    }
    const handler = createCycleHandler({ tuning, features, clock: { now: () => START + 30 * MINUTE } });

    const output = await handler({});

    expect(output.policyChange?.kind).toBe('rolled-back');
    expect((await tuning.readExperiment())?.status).toBe('rolled-back');
  });
});

describe('apply handler', () => {
  it('refuses a change computed from a version that is no longer active', async () => {
    const { tuning, features, policies } = stores();
    await features.putActivePolicy({ ...DEFAULT_POLICY, version: 'someone-else' });
    const handler = createApplyHandler({ tuning, policies, clock: { now: () => START } });
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
    const { tuning, policies, published, audit } = stores();
    const handler = createApplyHandler({ tuning, policies, clock: { now: () => START } });
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
    // Announced by the policy store, and recorded once in the policy history whatever the retries.
    expect(published.published.map((event) => event.detailType)).toEqual(['PolicyChanged', 'PolicyChanged']);
    expect(
      (await audit.listForItem(POLICY_HISTORY_ID)).map((record) => [record.policyVersion, record.actor]),
    ).toEqual([['default-1+t1', 'flowtune:tuning']]);
  });
});
