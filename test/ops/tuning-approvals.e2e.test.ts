import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyChanged } from '../../domain/events/tuning';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import { armKey, experimentArm, startExperiment } from '../../domain/tuning';
import { type OpsServer, startOpsServer } from '../../local/ops-server';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { runOps } from '../support/ops-cli';
import { waitUntil } from '../support/wait-until';

const MINUTE = 60_000;

const CANDIDATE: Policy = {
  ...DEFAULT_POLICY,
  version: 'candidate-edf',
  routing: { strategy: 'edf', weights: {} },
};

describe('a tuning approval through the ops CLI against the local runtime', { timeout: 90_000 }, () => {
  let runtime: LocalRuntime;
  let server: OpsServer;

  const ops = (actor: string, ...args: string[]) => runOps(server.url, actor, ...args);

  beforeAll(async () => {
    runtime = await startLocalRuntime({ dispatchTickMs: false, retryIntervalMs: 10 });
    server = await startOpsServer(runtime);
    // An A/B trial of a candidate with another routing strategy (high impact: a person decides),
    // whose items met their SLA far more often over the last two hours.
    const now = runtime.clock.now();
    const experiment = startExperiment({
      experimentId: 'exp-edf',
      candidate: CANDIDATE,
      active: DEFAULT_POLICY,
      mode: 'ab',
      treatmentShare: 0.5,
      now: now - 3 * 60 * MINUTE,
      startedBy: 'ops:ana',
    });
    await runtime.tuning.store.saveExperiment(experiment);
    for (let index = 0; index < 400; index++) {
      const itemId = `T-${index}`;
      const arm = experimentArm(itemId, experiment);
      const met = arm === 'treatment' ? index % 50 !== 0 : index % 5 !== 0;
      await runtime.tuning.store.record(
        {
          kind: 'outcome',
          at: now - 2 * 60 * MINUTE + index * 15_000,
          arm: armKey(experiment.experimentId, arm),
          met,
        },
        `${itemId}#outcome`,
        60,
      );
    }
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.stop();
  });

  it('lists the promotion the cycle holds, and approving it with the CLI activates the candidate', async () => {
    // Prepare: one tuning cycle proposes the promotion and parks in Wait For Approval.
    const execution = runtime.tuning.startCycle();
    await waitUntil(async () => (await runtime.tuning.store.listPendingApprovals()).length > 0);

    // Act
    const listed = await ops('ana', 'approvals');
    const approved = await ops(
      'ana',
      'approvals',
      'approve',
      execution,
      '--reason',
      'EDF wins on SLA in the trial',
    );
    const done = await runtime.tuning.waitForExecution(execution, 30_000);

    // Assess
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(execution);
    expect(listed.out).toMatch(/promoted default-1 → candidate-edf/);
    expect(listed.out).toMatch(/routing strategy flowtune → edf/);
    expect(approved).toMatchObject({ code: 0, err: '' });
    expect(approved.out).toMatch(/^approved candidate-edf/);
    expect(done.status).toBe('SUCCEEDED');
    expect((await runtime.ports.features.getActivePolicy()).version).toBe('candidate-edf');
    const [changed] = runtime
      .emittedEvents('PolicyChanged')
      .map((event) => PolicyChanged.parse(event.detail));
    expect(changed).toMatchObject({ kind: 'promoted', approval: 'approved', approvedBy: 'local:ana' });
    expect((await ops('ana', 'approvals')).out).toBe('no tuning change waits for approval');
  });

  it('refuses a decision on a change that is no longer waiting, with exit code 1 and the reason', async () => {
    // Act
    const again = await ops(
      'ben',
      'approvals',
      'reject',
      runtime.tuning.executions()[0]?.name ?? '',
      '--reason',
      'too late',
    );

    // Assess
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/409 AlreadyDecided/);
  });

  it('explains its actions with --help and refuses an unknown one', async () => {
    // Act
    const help = await ops('ana', 'approvals', '--help');
    const unknown = ops('ana', 'approvals', 'promote', 'run-1');

    // Assess
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/approve APPROVAL_ID --reason TEXT/);
    expect(help.out).toMatch(/reject APPROVAL_ID --reason TEXT/);
    await expect(unknown).rejects.toThrow(/unknown action "promote"/);
  });
});
