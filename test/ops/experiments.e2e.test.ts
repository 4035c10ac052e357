import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import { experimentArm } from '../../domain/tuning';
import { PROJECT_ROOT } from '../../lib/definitions';
import { type OpsServer, startOpsServer } from '../../local/ops-server';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { runOps } from '../support/ops-cli';

const CANDIDATE: Policy = {
  ...DEFAULT_POLICY,
  version: 'candidate-edf-local',
  routing: { strategy: 'edf', weights: {} },
};
const EXPERIMENT_ID = 'exp-local-ab';
const SPLIT = 0.5;

function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

/** Item ids that fall two in each arm of the experiment (the split is a pure function of the id). */
function itemsOfBothArms(): { readonly treatment: string[]; readonly control: string[] } {
  const arms = { treatment: [] as string[], control: [] as string[] };
  for (let index = 0; arms.treatment.length < 2 || arms.control.length < 2; index++) {
    const id = `TCK-exp-${index}`;
    const arm = experimentArm(id, { experimentId: EXPERIMENT_ID, mode: 'ab', treatmentShare: SPLIT });
    if (arms[arm].length < 2) arms[arm].push(id);
  }
  return arms;
}

describe('an A/B experiment through the ops CLI against the local runtime', { timeout: 120_000 }, () => {
  let runtime: LocalRuntime;
  let server: OpsServer;
  const ops = (actor: string, ...args: string[]) => runOps(server.url, actor, ...args);

  /** Creates an item now, waits for its routing, completes it (freeing the slot) and returns its ASSIGNED record. */
  async function routeOne(id: string) {
    const now = runtime.clock.now();
    await runtime.putEvent(
      'WorkItemCreated',
      { ...fixtureDetail('work-item-created'), id, createdAt: new Date(now).toISOString() },
      'helpdesk',
    );
    await runtime.waitForEmitted('WorkItemRouted', id, 30_000);
    await runtime.idle();
    const assigned = (await runtime.ports.audit.listForItem(id)).find((record) => record.kind === 'ASSIGNED');
    await runtime.putEvent(
      'WorkItemCompleted',
      {
        id,
        outcome: 'resolved',
        handledBy: 'agent-ana',
        completedAt: new Date(runtime.clock.now()).toISOString(),
      },
      'helpdesk',
    );
    await runtime.waitForExecution(id, 30_000);
    return {
      policyVersion: assigned?.policyVersion,
      arm: (JSON.parse(assigned?.details ?? '{}') as { experimentArm?: string }).experimentArm,
    };
  }

  beforeAll(async () => {
    runtime = await startLocalRuntime({ dispatchTickMs: false, retryIntervalMs: 10 });
    server = await startOpsServer(runtime);
    const now = runtime.clock.now();
    await runtime.putEvent(
      'AgentStatusChanged',
      {
        ...fixtureDetail('agent-status-changed'),
        changedAt: new Date(now).toISOString(),
        shiftEndsAt: new Date(now + 8 * 3_600_000).toISOString(),
      },
      'workforce',
    );
    await runtime.idle();
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.stop();
  });

  it("starts the experiment with the CLI, routes the treatment arm's items by the candidate (its version on ASSIGNED), shows its status and stops it", async () => {
    // Prepare
    const file = join(mkdtempSync(join(tmpdir(), 'flowtune-exp-')), 'candidate.json');
    writeFileSync(file, JSON.stringify(CANDIDATE));
    const { treatment, control } = itemsOfBothArms();

    // Act
    const started = await ops(
      'ana',
      'experiments',
      'start',
      '--policy-file',
      file,
      '--kind',
      'ab',
      '--split',
      String(SPLIT),
      '--max-minutes',
      '60',
      '--id',
      EXPERIMENT_ID,
      '--reason',
      'EDF should meet more deadlines',
    );
    const busy = await ops(
      'ben',
      'experiments',
      'start',
      '--policy-file',
      file,
      '--kind',
      'shadow',
      '--reason',
      'a second one',
    );
    const routed = new Map<string, Awaited<ReturnType<typeof routeOne>>>();
    for (const id of [...treatment, ...control]) routed.set(id, await routeOne(id));
    const status = await ops('ana', 'experiments', 'status', EXPERIMENT_ID);
    const stopped = await ops('ben', 'experiments', 'stop', EXPERIMENT_ID, '--reason', 'enough for the demo');
    const after = await routeOne('TCK-exp-after');
    const listed = await ops('ana', 'experiments', 'list');

    // Assess
    expect(started).toMatchObject({ code: 0, err: '' });
    expect(started.out).toMatch(
      /^started exp-local-ab \(candidate candidate-edf-local, control default-1\) by local:ana/,
    );
    expect(busy.code).toBe(1);
    expect(busy.err).toMatch(/409 ExperimentRunning: experiment exp-local-ab/);
    for (const id of treatment) {
      expect(routed.get(id)).toEqual({ policyVersion: CANDIDATE.version, arm: 'treatment' });
    }
    for (const id of control) {
      expect(routed.get(id)).toEqual({ policyVersion: DEFAULT_POLICY.version, arm: 'control' });
    }
    expect(status.code).toBe(0);
    expect(status.out).toContain('exp-local-ab  A/B, split 0.5  running');
    expect(status.out).toMatch(/promotion {2}ln Λ -?\d+\.\d\d of 3\.91/);
    expect(status.out).toMatch(/- promotes candidate-edf-local when both arms have at least 100 outcomes/);
    expect(status.out).toMatch(
      /- ends inconclusive \(default-1 stays\) at \S+ or when an arm reaches 5000 outcomes/,
    );
    expect(stopped).toMatchObject({ code: 0, err: '' });
    expect(stopped.out).toMatch(/^stopped exp-local-ab .* by local:ben/);
    expect(after).toEqual({ policyVersion: DEFAULT_POLICY.version, arm: 'none' });
    expect(listed.out).toMatch(/exp-local-ab\s+ab\s+0\.50\s+stopped/);
    expect((await runtime.ports.features.getActivePolicy()).version).toBe(DEFAULT_POLICY.version);
    expect((await runtime.policies.version(CANDIDATE.version))?.createdBy).toBe('local:ana');
    const trail = await runtime.ports.audit.listForItem(`experiment#${EXPERIMENT_ID}`);
    expect(trail.map((record) => [record.kind, record.actor])).toEqual([
      ['EXPERIMENT_STARTED', 'local:ana'],
      ['EXPERIMENT_STOPPED', 'local:ben'],
    ]);
  });

  it('explains its actions with --help and refuses an unreadable policy file naming the option', async () => {
    const help = await ops('ana', 'experiments', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/start --policy-file F --kind ab\|shadow/);
    expect(help.out).toMatch(/status EXPERIMENT_ID/);
    await expect(
      ops('ana', 'experiments', 'start', '--policy-file', '/dev/null', '--kind', 'ab', '--reason', 'x'),
    ).rejects.toThrow(/--policy-file/);
  });
});
