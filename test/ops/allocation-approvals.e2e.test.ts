import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localMidnight } from '../../domain/allocation/forecast';
import { type AllocationApproval, ApprovalStatus } from '../../lambdas/shared/allocation-store';
import { DynamoDbAllocationStore } from '../../lambdas/shared/dynamodb-allocation-store';
import { type OpsServer, startOpsServer } from '../../local/ops-server';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { ALLOCATION_SETTINGS, DAY, QUARTER, seedArrivals, seedRoster } from '../handlers/allocation-support';
import { runOps } from '../support/ops-cli';
import { waitUntil } from '../support/wait-until';

/**
 * A staffing approval end to end: the local runtime's allocation timer runs the real job on
 * DynamoDB Local over a short-handed cards queue, the guardrails hold the third move for a person,
 * `flowtune ops staffing` lists it through the local ops server and approves it, and the job's
 * next run moves the agent under that person's name.
 */

describe('a staffing approval through the ops CLI against the local runtime', { timeout: 120_000 }, () => {
  let runtime: LocalRuntime;
  let server: OpsServer;
  let store: DynamoDbAllocationStore;

  const ops = (actor: string, ...args: string[]) => runOps(server.url, actor, ...args);

  const approvals = (...statuses: ApprovalStatus[]): Promise<AllocationApproval[]> =>
    store.listApprovals(statuses.length === 0 ? ApprovalStatus.options : statuses);

  beforeAll(async () => {
    // Rounds and the tuning loop stay off; only the allocation timer runs, often.
    runtime = await startLocalRuntime({ dispatchTickMs: false, allocationTickMs: 500 });
    server = await startOpsServer(runtime);
    store = new DynamoDbAllocationStore({
      client: runtime.documentClient,
      featuresTable: runtime.tables.featuresTable,
    });
    // Since yesterday's midnight, cards takes 80 calls' worth of work an hour with 2 agents; three
    // cross-skilled people sit in loans. The guardrails allow 2 moves an hour without a person.
    const now = runtime.clock.now();
    const thisQuarter = Math.floor(now / QUARTER) * QUARTER;
    await seedArrivals(runtime.tuning.store, localMidnight(now, 0) - DAY, thisQuarter, {
      cards: 4,
      'card-activation': 1,
      loans: 1,
    });
    await seedRoster(runtime.ports.features, now, undefined, { handlingSeconds: 720 });
    await store.saveSettings(ALLOCATION_SETTINGS);
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.stop();
  });

  it('lists the move the guardrails held, and approving it with the CLI has the next run apply it', async () => {
    // Prepare: the timer's run leaves a move for a person.
    await waitUntil(async () => (await approvals('pending')).length > 0);
    const [held] = await approvals('pending');
    if (held === undefined || held.recommendation.kind !== 'move') throw new Error('expected a held move');
    const { agentId, fromQueue, toQueue } = held.recommendation;

    // Act
    const listed = await ops('ana', 'staffing');
    const approved = await ops(
      'ana',
      'staffing',
      'approve',
      held.recommendationId,
      '--reason',
      'cards is drowning, loans is quiet',
    );
    await waitUntil(async () =>
      (await approvals('applied', 'failed')).some(
        (entry) => entry.recommendationId === held.recommendationId,
      ),
    );

    // Assess
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(held.recommendationId);
    expect(listed.out).toContain(`move ${agentId} from ${fromQueue} to ${toQueue} for 60 min`);
    expect(listed.out).toMatch(/why a person: .*moves applied without approval this hour/);
    expect(listed.out).toMatch(/cards: forecast \d+\/h × \d+ s, needs \d+ on shift, has \d+ → \d+/);
    expect(approved).toMatchObject({ code: 0, err: '' });
    expect(approved.out).toMatch(new RegExp(`^approved move ${agentId} from ${fromQueue} to ${toQueue}`));
    const [applied] = (await approvals('applied')).filter(
      (entry) => entry.recommendationId === held.recommendationId,
    );
    expect(applied?.history.map((entry) => [entry.status, entry.by])).toEqual([
      ['approved', 'local:ana'],
      ['applied', 'flowtune:allocation'],
    ]);
    const assignment = (await runtime.ports.features.listQueueAssignments()).find(
      (entry) => entry.agentId === agentId,
    );
    expect(assignment).toMatchObject({ queueId: toQueue, assignedBy: 'local:ana' });
    const trail = await runtime.auditTrail(`allocation#${held.recommendation.runId}`);
    expect(trail.find((record) => record.kind === 'HUMAN_APPROVED')).toMatchObject({ actor: 'local:ana' });
  });

  it('refuses a decision on a move that is no longer waiting, with exit code 1 and the reason', async () => {
    // Prepare
    const [applied] = await approvals('applied');
    if (applied === undefined) throw new Error('expected an applied approval');

    // Act
    const again = await ops('ben', 'staffing', 'reject', applied.recommendationId, '--reason', 'too late');

    // Assess
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/409 AlreadyDecided: .* is no longer pending: applied by flowtune:allocation/);
  });

  it('explains its actions with --help and refuses an unknown one or a missing reason', async () => {
    // Act
    const help = await ops('ana', 'staffing', '--help');
    const unknown = ops('ana', 'staffing', 'promote', 'alloc-1-1');
    const noReason = ops('ana', 'staffing', 'approve', 'alloc-1-1');

    // Assess
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/approve APPROVAL_ID --reason TEXT/);
    expect(help.out).toMatch(/reject APPROVAL_ID --reason TEXT/);
    await expect(unknown).rejects.toThrow(/unknown action "promote"/);
    await expect(noReason).rejects.toThrow(/--reason is required/);
  });
});
