import type { APIGatewayProxyResult } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import {
  accumulateOutcomes,
  armKey,
  DEFAULT_TUNING_CONFIG,
  evaluateExperiment,
  experimentArm,
} from '../../domain/tuning';
import { createOpsApi, type OpsApi } from '../../lambdas/ops-api/handler';
import { InMemoryOpsStore } from '../../lambdas/ops-api/in-memory-ops-store';
import { apiGatewayEvent } from '../../lambdas/ops-api/proxy-event';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import { PolicyStore } from '../../lambdas/shared/policy-store';
import { InMemoryTuningStore } from '../../lambdas/shared/tuning-store';

const T0 = Date.parse('2026-11-20T09:00:00.000Z');
const MINUTE = 60_000;
const ANA = 'arn:aws:sts::111122223333:assumed-role/Operators/ana';
const BOB = 'arn:aws:sts::111122223333:assumed-role/Operators/bob';

const CANDIDATE: Policy = {
  ...DEFAULT_POLICY,
  version: 'candidate-edf',
  minConfidence: 0.3,
  routing: { strategy: 'edf', weights: {} },
};

const START = {
  candidate: CANDIDATE,
  kind: 'ab',
  split: 0.2,
  guardrails: { maxAttainmentDrop: 0.05 },
  stopping: { maxDurationMinutes: 120, minDecidedPerArm: 50 },
  experimentId: 'exp-edf',
  reason: 'EDF should meet more deadlines at month end',
};

let ports: InMemoryPorts;
let tuning: InMemoryTuningStore;
let policies: PolicyStore;
let api: OpsApi;

beforeEach(() => {
  ports = createInMemoryPorts(T0);
  tuning = new InMemoryTuningStore(ports.tables);
  policies = new PolicyStore({
    versions: tuning,
    features: ports.features,
    audit: ports.audit,
    events: ports.events,
    clock: ports.clock,
  });
  api = createOpsApi({
    ...ports,
    policies,
    store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit),
    tuning,
  });
});

async function call(
  method: string,
  path: string,
  actor = ANA,
  body?: unknown,
): Promise<APIGatewayProxyResult> {
  return api.http(apiGatewayEvent({ method, path, actor, ...(body === undefined ? {} : { body }) }));
}

const json = (answer: APIGatewayProxyResult) => JSON.parse(answer.body) as Record<string, unknown>;

describe('POST /experiments', () => {
  it('starts an A/B experiment of the candidate against the active policy, records its version and audits who and why', async () => {
    // Act
    const answer = await call('POST', '/experiments', ANA, START);

    // Assess
    expect(answer.statusCode).toBe(201);
    expect(json(answer)).toMatchObject({
      experimentId: 'exp-edf',
      action: 'started',
      status: 'running',
      candidateVersion: 'candidate-edf',
      controlVersion: DEFAULT_POLICY.version,
      actor: ANA,
    });
    const experiment = await tuning.readExperiment();
    expect(experiment).toMatchObject({
      experimentId: 'exp-edf',
      mode: 'ab',
      treatmentShare: 0.2,
      controlVersion: DEFAULT_POLICY.version,
      candidate: CANDIDATE,
      startedAt: T0,
      startedBy: ANA,
      status: 'running',
      startReason: START.reason,
      guardrails: { maxAttainmentDrop: 0.05 },
      stopping: { maxDurationMinutes: 120, minDecidedPerArm: 50 },
    });
    expect(await tuning.getPolicyVersion('candidate-edf')).toMatchObject({
      policy: CANDIDATE,
      parentVersion: DEFAULT_POLICY.version,
      createdBy: ANA,
      experimentId: 'exp-edf',
    });
    expect((await ports.features.getActivePolicy()).version).toBe(DEFAULT_POLICY.version);
    const trail = await ports.audit.listForItem('experiment#exp-edf');
    expect(trail).toHaveLength(1);
    expect(trail[0]).toMatchObject({
      kind: 'EXPERIMENT_STARTED',
      actor: ANA,
      policyVersion: 'candidate-edf',
    });
    expect(JSON.parse(trail[0]?.details ?? '{}')).toMatchObject({
      reason: START.reason,
      kind: 'ab',
      split: 0.2,
      controlVersion: DEFAULT_POLICY.version,
    });
  });

  it('starts a shadow experiment, which decides no item (split 0)', async () => {
    // Act
    const { split: _split, ...shadow } = START;
    const answer = await call('POST', '/experiments', ANA, { ...shadow, kind: 'shadow' });

    // Assess
    expect(answer.statusCode).toBe(201);
    expect(await tuning.readExperiment()).toMatchObject({ mode: 'shadow', treatmentShare: 0 });
  });

  it('answers 409 while another experiment runs, and of two concurrent starts exactly one wins', async () => {
    // Act
    const [first, second] = await Promise.all([
      call('POST', '/experiments', ANA, START),
      call('POST', '/experiments', BOB, {
        ...START,
        experimentId: 'exp-other',
        candidate: { ...CANDIDATE, version: 'cand-2' },
      }),
    ]);
    const third = await call('POST', '/experiments', BOB, { ...START, experimentId: 'exp-third' });

    // Assess
    expect([first?.statusCode, second?.statusCode].sort()).toEqual([201, 409]);
    expect(third.statusCode).toBe(409);
    expect(json(third)).toMatchObject({ error: 'ExperimentRunning' });
    expect(String(json(third).message)).toContain('stop it first');
    expect(await tuning.listExperiments()).toHaveLength(1);
  });

  it('refuses a second experiment under a used id, and a candidate version that names another document', async () => {
    // Prepare
    await call('POST', '/experiments', ANA, START);
    await call('POST', '/experiments/exp-edf/stop', ANA, { reason: 'wrong split' });

    // Act
    const sameId = await call('POST', '/experiments', ANA, {
      ...START,
      candidate: { ...CANDIDATE, version: 'cand-2' },
    });
    const takenVersion = await call('POST', '/experiments', ANA, {
      ...START,
      experimentId: 'exp-2',
      candidate: { ...CANDIDATE, maxReroutes: 3 },
    });

    // Assess
    expect(sameId.statusCode).toBe(409);
    expect(json(sameId)).toMatchObject({ error: 'ExperimentIdTaken' });
    expect(takenVersion.statusCode).toBe(409);
    expect(json(takenVersion)).toMatchObject({ error: 'VersionTaken' });
  });

  it.each([
    [
      'candidate.routing.strategy',
      { ...START, candidate: { ...CANDIDATE, routing: { strategy: 'fastest', weights: {} } } },
    ],
    ['kind', { ...START, kind: 'canary' }],
    ['split', { ...START, split: 0.8 }],
    ['split', { ...START, split: undefined }],
    ['split', { ...START, kind: 'shadow' }],
    ['guardrails.maxAttainmentDrop', { ...START, guardrails: { maxAttainmentDrop: 0 } }],
    ['guardrails', { ...START, guardrails: { sla: 0.9 } }],
    ['stopping.maxDecidedPerArm', { ...START, stopping: { minDecidedPerArm: 500, maxDecidedPerArm: 200 } }],
    ['reason', { ...START, reason: '' }],
    ['candidate.version', { ...START, candidate: { ...CANDIDATE, version: DEFAULT_POLICY.version } }],
    ['candidate', { ...START, candidate: { ...DEFAULT_POLICY, version: 'same-as-active' } }],
  ])('answers 400 naming %s', async (field, body) => {
    // Act
    const answer = await call('POST', '/experiments', ANA, body);

    // Assess
    expect(answer.statusCode).toBe(400);
    expect(json(answer).field).toBe(field);
    expect(await tuning.readExperiment()).toBeUndefined();
  });
});

describe('GET /experiments and /experiments/{experimentId}', () => {
  it('lists the current experiment and the past ones, latest first', async () => {
    // Prepare
    await call('POST', '/experiments', ANA, {
      ...START,
      experimentId: 'exp-1',
      candidate: { ...CANDIDATE, version: 'c-1' },
    });
    await call('POST', '/experiments/exp-1/stop', ANA, { reason: 'superseded' });
    ports.clock.advance(MINUTE);
    await call('POST', '/experiments', BOB, START);

    // Act
    const answer = await call('GET', '/experiments');

    // Assess
    expect(answer.statusCode).toBe(200);
    const body = json(answer) as { current: Record<string, unknown>; experiments: Record<string, unknown>[] };
    expect(body.current).toMatchObject({ experimentId: 'exp-edf', status: 'running', startedBy: BOB });
    expect(body.experiments.map((entry) => [entry.experimentId, entry.status])).toEqual([
      ['exp-edf', 'running'],
      ['exp-1', 'stopped'],
    ]);
  });

  it("shows the arms' KPIs, the tests' evidence as the tuning loop computes it, and what happens next", async () => {
    // Prepare: the experiment running, and a cycle that counted 200 outcomes into its arms.
    await call('POST', '/experiments', ANA, START);
    const running = await tuning.readExperiment();
    if (running === undefined) throw new Error('not started');
    for (let index = 0; index < 200; index++) {
      const itemId = `T-${index}`;
      const arm = experimentArm(itemId, running);
      await tuning.record(
        {
          kind: 'outcome',
          at: T0 + index * 1000,
          arm: armKey(running.experimentId, arm),
          met: index % 4 !== 0,
        },
        `${itemId}#outcome`,
        60,
      );
    }
    ports.clock.set(T0 + 10 * MINUTE);
    // What a cycle does with them: the same pure functions.
    const counted = accumulateOutcomes(running, await tuning.readBuckets(T0, T0 + 5 * MINUTE));
    const expected = evaluateExperiment(counted, DEFAULT_TUNING_CONFIG.experiment, ports.clock.now());
    await tuning.updateExperiment(counted, 'running');

    // Act
    const answer = await call('GET', '/experiments/exp-edf');

    // Assess
    expect(answer.statusCode).toBe(200);
    const view = json(answer) as Record<string, unknown> & {
      arms: {
        control: { decided: number; met: number; slaAttainment: number };
        treatment: { decided: number };
      };
      evidence: Record<string, number>;
      next: string[];
    };
    const { control, treatment } = counted.totals;
    expect(control.decided + treatment.decided).toBe(200);
    expect(view.arms.control).toEqual({
      decided: control.decided,
      met: control.met,
      slaAttainment: control.met / control.decided,
    });
    expect(view.arms.treatment.decided).toBe(treatment.decided);
    expect(view.evidence).toMatchObject({
      promotionLogLikelihood: expected.evidence.promotionLogLikelihood,
      harmLogLikelihood: expected.evidence.harmLogLikelihood,
      promotionBoundary: Math.log(1 / DEFAULT_TUNING_CONFIG.experiment.promotionAlpha),
    });
    expect(view).toMatchObject({
      decision: 'continue',
      changes: expect.arrayContaining(['minConfidence', 'routing.strategy']),
      settings: { minDecidedPerArm: 50, maxDurationMinutes: 120, maxAttainmentDrop: 0.05 },
      endsAt: new Date(T0 + 120 * MINUTE).toISOString(),
    });
    expect(view.next[0]).toMatch(/^promotes candidate-edf when both arms have at least 50 outcomes/);
    expect(view.next[0]).toContain("waits for a person's approval (routing strategy flowtune → edf)");
    expect(view.next[1]).toMatch(
      /^rolls back to default-1 when .* or its attainment is more than 5\.0% below control's/,
    );
    expect(view.next[2]).toBe(
      `ends inconclusive (default-1 stays) at ${new Date(T0 + 120 * MINUTE).toISOString()} or when an arm reaches 5000 outcomes, whichever comes first`,
    );
  });

  it('answers 404 for an unknown experiment and 400 for a malformed id', async () => {
    expect((await call('GET', '/experiments/exp-none')).statusCode).toBe(404);
    const bad = await call('GET', '/experiments/no%20spaces');
    expect(bad.statusCode).toBe(400);
    expect(json(bad).field).toBe('experimentId');
  });

  it('answers 404 where no tuning loop runs behind the API', async () => {
    const bare = createOpsApi({
      ...ports,
      store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit),
    });
    expect(
      (await bare.http(apiGatewayEvent({ method: 'GET', path: '/experiments', actor: ANA }))).statusCode,
    ).toBe(404);
  });
});

describe('POST /experiments/{experimentId}/stop', () => {
  it('stops the running experiment under the caller, with the reason, and audits it', async () => {
    // Prepare
    await call('POST', '/experiments', ANA, START);
    ports.clock.advance(5 * MINUTE);

    // Act
    const answer = await call('POST', '/experiments/exp-edf/stop', BOB, { reason: 'queue change planned' });

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(json(answer)).toMatchObject({
      experimentId: 'exp-edf',
      action: 'stopped',
      status: 'stopped',
      actor: BOB,
    });
    expect(await tuning.readExperiment()).toMatchObject({
      status: 'stopped',
      stoppedBy: BOB,
      decidedAt: T0 + 5 * MINUTE,
      reason: `stopped by ${BOB}: queue change planned`,
    });
    const kinds = (await ports.audit.listForItem('experiment#exp-edf')).map((record) => [
      record.kind,
      record.actor,
    ]);
    expect(kinds).toEqual([
      ['EXPERIMENT_STARTED', ANA],
      ['EXPERIMENT_STOPPED', BOB],
    ]);
    const status = json(await call('GET', '/experiments/exp-edf')) as { next: string[] };
    expect(status.next[0]).toContain(`ended stopped at ${new Date(T0 + 5 * MINUTE).toISOString()} by ${BOB}`);
  });

  it('answers 409 on an experiment that already ended, and on one whose promotion waits for approval', async () => {
    // Prepare
    await call('POST', '/experiments', ANA, START);
    await call('POST', '/experiments/exp-edf/stop', ANA, { reason: 'first stop' });
    const awaiting = {
      ...START,
      experimentId: 'exp-wait',
      candidate: { ...CANDIDATE, version: 'cand-wait' },
    };
    await call('POST', '/experiments', ANA, awaiting);
    const current = await tuning.readExperiment();
    if (current === undefined) throw new Error('not started');
    await tuning.updateExperiment({ ...current, status: 'awaiting-approval', decidedAt: T0 }, 'running');

    // Act
    const again = await call('POST', '/experiments/exp-edf/stop', BOB, { reason: 'second stop' });
    const waiting = await call('POST', '/experiments/exp-wait/stop', BOB, { reason: 'too late' });
    const blocked = await call('POST', '/experiments', BOB, {
      ...START,
      experimentId: 'exp-3',
      candidate: { ...CANDIDATE, version: 'c-3' },
    });

    // Assess
    expect(again.statusCode).toBe(409);
    expect(json(again)).toMatchObject({ error: 'ExperimentEnded' });
    expect(waiting.statusCode).toBe(409);
    expect(String(json(waiting).message)).toContain('flowtune ops approvals');
    expect(blocked.statusCode).toBe(409);
    expect((await ports.audit.listForItem('experiment#exp-edf')).map((record) => record.kind)).toEqual([
      'EXPERIMENT_STARTED',
      'EXPERIMENT_STOPPED',
    ]);
  });

  it('answers 400 naming the reason when it is missing, and 404 for an unknown experiment', async () => {
    await call('POST', '/experiments', ANA, START);
    const missing = await call('POST', '/experiments/exp-edf/stop', BOB, {});
    expect(missing.statusCode).toBe(400);
    expect(json(missing).field).toBe('reason');
    expect((await call('POST', '/experiments/exp-none/stop', BOB, { reason: 'no such' })).statusCode).toBe(
      404,
    );
    expect((await tuning.readExperiment())?.status).toBe('running');
  });
});
