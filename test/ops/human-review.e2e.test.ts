import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { DEFAULT_POLICY } from '../../domain/policy';
import { PROJECT_ROOT } from '../../lib/definitions';
import { type OpsServer, startOpsServer } from '../../local/ops-server';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { runOpsSubcommand } from '../../ops/cli/ops';
import { waitUntil } from '../support/wait-until';

/**
 * People in the loop, end to end: the local runtime (DynamoDB Local, the real handlers, the real
 * ASL) with its ops server, driven through the `flowtune ops` CLI exactly as an operator would.
 */

function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

describe('human review through the ops CLI against the local runtime', { timeout: 90_000 }, () => {
  let runtime: LocalRuntime;
  let server: OpsServer;

  /** Runs `flowtune ops <args> --endpoint <server> --actor <actor> --json` and returns the JSON answer. */
  async function ops(
    actor: string,
    ...args: string[]
  ): Promise<{ code: number; json: unknown; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runOpsSubcommand([...args, '--endpoint', server.url, '--actor', actor, '--json'], {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      env: {},
    });
    return { code, json: out.length === 0 ? undefined : JSON.parse(out.join('\n')), err: err.join('\n') };
  }

  async function createItemInReview(itemId: string, overrides: Record<string, unknown> = {}): Promise<void> {
    await runtime.putEvent(
      'WorkItemCreated',
      {
        ...fixtureDetail('work-item-created'),
        id: itemId,
        createdAt: new Date().toISOString(),
        ...overrides,
      },
      'helpdesk',
    );
    await waitUntil(async () => (await runtime.instance(itemId))?.waitingFor === 'human-review');
  }

  async function agentOnline(agentId: string, capacity: number): Promise<void> {
    await runtime.putEvent(
      'AgentStatusChanged',
      {
        ...fixtureDetail('agent-status-changed'),
        agentId,
        capacity,
        changedAt: new Date().toISOString(),
        shiftEndsAt: new Date(Date.now() + 8 * 3_600_000).toISOString(),
      },
      'workforce',
    );
    await runtime.idle();
  }

  const kindsOf = async (itemId: string) => (await runtime.auditTrail(itemId)).map((record) => record.kind);

  beforeAll(async () => {
    runtime = await startLocalRuntime({ dispatchTickMs: false, retryIntervalMs: 10 });
    // A cold model has confidence 0: a policy minimum above it sends every item to human review.
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: 'ops-e2e-1',
      minConfidence: 0.5,
    });
    await agentOnline('agent-ana', 3);
    await agentOnline('agent-ben', 2);
    server = await startOpsServer(runtime);
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.stop();
  });

  it('lists the item in review with its context and alternatives, and approving it routes it', async () => {
    // Prepare
    const itemId = 'OPS-review-1';
    await createItemInReview(itemId);

    // Act
    const tasks = await ops('ana', 'tasks');
    const approved = await ops('ana', 'approve', itemId, '--reason', 'known customer, low risk');
    const routed = await runtime.waitForEmitted('WorkItemRouted', itemId, 30_000);
    await waitUntil(async () => (await runtime.instance(itemId))?.waitingFor === 'completion');

    // Assess
    expect(tasks.code).toBe(0);
    const task = (
      tasks.json as {
        tasks: {
          itemId: string;
          context: Record<string, unknown>;
          alternatives: { agentId: string }[];
          actions: string[];
        }[];
      }
    ).tasks.find((candidate) => candidate.itemId === itemId);
    expect(task?.context).toMatchObject({
      item: { id: itemId, category: 'billing' },
      score: { confidence: expect.any(Number) },
      decision: { path: 'human-review', reason: expect.stringContaining('confidence') },
    });
    expect(task?.alternatives.map((alt) => alt.agentId).sort()).toEqual(['agent-ana', 'agent-ben']);
    expect(task?.actions).toEqual(['approve', 'reject', 'override']);
    expect(approved).toMatchObject({ code: 0, json: { itemId, action: 'approve', actor: 'local:ana' } });
    expect(routed.detail).toMatchObject({ id: itemId, path: 'human-review' });
    const trail = await runtime.auditTrail(itemId);
    expect(trail.find((record) => record.kind === ('HUMAN_APPROVED' as string))).toMatchObject({
      actor: 'local:ana',
    });
    expect(trail.map((record) => record.kind)).toEqual(
      expect.arrayContaining(['HUMAN_REVIEW_REQUESTED', 'HUMAN_APPROVED', 'ASSIGNED', 'ROUTED']),
    );
  });

  it('overrides the item to a named agent, claiming its capacity, and records who and why', async () => {
    // Prepare
    const itemId = 'OPS-override-1';
    await createItemInReview(itemId);
    const before = await runtime.ports.features.getAgent('agent-ben');

    // Act
    const overridden = await ops(
      'ben',
      'override',
      itemId,
      '--agent',
      'agent-ben',
      '--reason',
      'account owner',
    );
    const routed = await runtime.waitForEmitted('WorkItemRouted', itemId, 30_000);
    await waitUntil(async () => (await runtime.instance(itemId))?.waitingFor === 'completion');

    // Assess
    expect(overridden).toMatchObject({
      code: 0,
      json: { action: 'override', agentId: 'agent-ben', actor: 'local:ben' },
    });
    expect(routed.detail).toMatchObject({
      assignee: { agentId: 'agent-ben' },
      explanation: { summary: 'override by local:ben: account owner' },
    });
    expect((await runtime.ports.features.getAgent('agent-ben'))?.activeCount).toBe(
      (before?.activeCount ?? 0) + 1,
    );
    const status = await ops('ben', 'status', itemId);
    const trail = (
      status.json as { trail: { kind: string; actor: string; details?: { agentId?: string } }[] }
    ).trail;
    expect(trail.find((entry) => entry.kind === 'OVERRIDDEN')).toMatchObject({
      actor: 'local:ben',
      details: { agentId: 'agent-ben', reason: 'account owner', from: 'human-review' },
    });
    expect(trail.find((entry) => entry.kind === 'ROUTED')).toMatchObject({
      details: { agentId: 'agent-ben' },
    });
  });

  it('re-opens the routed decision on appeal (capacity released), and a rejection then ends it', async () => {
    // Prepare: the item overridden to agent-ben above now waits for its completion.
    const itemId = 'OPS-override-1';
    const holding = (await runtime.ports.features.getAgent('agent-ben'))?.activeCount ?? 0;

    // Act
    const appealed = await ops('cleo', 'appeal', itemId, '--reason', 'customer asked for another team');
    await waitUntil(async () => (await runtime.instance(itemId))?.waitingFor === 'human-review');
    const released = (await runtime.ports.features.getAgent('agent-ben'))?.activeCount;
    const rejected = await ops('dan', 'reject', itemId, '--reason', 'duplicate of an open case');
    const rejection = await runtime.waitForEmitted('WorkItemRejected', itemId, 30_000);
    const execution = await runtime.waitForExecution(itemId, 30_000);

    // Assess
    expect(appealed).toMatchObject({ code: 0, json: { action: 'appeal', actor: 'local:cleo' } });
    expect(released).toBe(holding - 1);
    expect(rejected).toMatchObject({ code: 0, json: { action: 'reject', actor: 'local:dan' } });
    expect(rejection.detail).toMatchObject({ reason: 'rejected by local:dan: duplicate of an open case' });
    expect(execution).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'rejected' } });
    const kinds = await kindsOf(itemId);
    expect(kinds.filter((kind) => kind === 'HUMAN_REVIEW_REQUESTED')).toHaveLength(2);
    expect(kinds).toEqual(expect.arrayContaining(['OVERRIDDEN', 'APPEALED', 'HUMAN_REJECTED', 'REJECTED']));
  });

  it('re-opens an approved item still waiting for an agent when it is appealed', async () => {
    // Prepare: nobody speaks French, so after approval the item waits for the dispatcher.
    const itemId = 'OPS-appeal-waiting-1';
    await createItemInReview(itemId, { requiredSkills: [{ skill: 'french', minProficiency: 2 }] });
    await ops('ana', 'approve', itemId, '--reason', 'fine to route');
    await waitUntil(async () => (await runtime.instance(itemId))?.waitingFor === 'assignment');

    // Act
    const appealed = await ops('ben', 'appeal', itemId, '--reason', 'needs a French speaker: decide by hand');
    await waitUntil(async () => (await runtime.instance(itemId))?.waitingFor === 'human-review');
    const status = await ops('ben', 'status', itemId);

    // Assess
    expect(appealed).toMatchObject({
      code: 0,
      json: { action: 'appeal', outcome: expect.stringContaining('human review') },
    });
    expect(status.json).toMatchObject({ stage: 'HUMAN_REVIEW', actions: ['approve', 'reject', 'override'] });
    expect(await kindsOf(itemId)).toEqual(
      expect.arrayContaining(['HUMAN_APPROVED', 'APPEALED', 'HUMAN_REVIEW_REQUESTED']),
    );
  });

  it('refuses an action the item cannot take, with a 409 that says why, and changes nothing', async () => {
    // Prepare
    const itemId = 'OPS-review-2';
    await createItemInReview(itemId);

    // Act
    const appeal = await ops('ana', 'appeal', itemId, '--reason', 'too early');
    const unknownAgent = await ops('ana', 'override', itemId, '--agent', 'agent-nobody', '--reason', 'try');

    // Assess
    expect(appeal.code).toBe(1);
    expect(appeal.err).toMatch(/409 ActionNotAllowed: the item is still in review/);
    expect(unknownAgent.code).toBe(1);
    expect(unknownAgent.err).toMatch(/404 NotFound: no agent "agent-nobody"/);
    expect((await runtime.instance(itemId))?.waitingFor).toBe('human-review');
  });

  it('shows where work waits: the bottleneck view names human review', async () => {
    // Act
    const view = await ops('ana', 'bottlenecks');

    // Assess
    expect(view.code).toBe(0);
    const stages = (view.json as { stages: { stage: string; items: number }[] }).stages;
    expect(stages.find((cell) => cell.stage === 'HUMAN_REVIEW')?.items).toBeGreaterThanOrEqual(1);
  });
});
