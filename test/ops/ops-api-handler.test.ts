import type { APIGatewayProxyResult } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { APPEAL_ERROR } from '../../domain/ops/human-tasks';
import { DEFAULT_POLICY } from '../../domain/policy';
import { createOpsApi, type OpsApi } from '../../lambdas/ops-api/handler';
import { InMemoryOpsStore } from '../../lambdas/ops-api/in-memory-ops-store';
import { apiGatewayEvent } from '../../lambdas/ops-api/proxy-event';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import type { InstanceRecord } from '../../lambdas/shared/ports';
import { auditRecord, bareInstance } from '../../lambdas/shared/table-layout';

const T0 = Date.parse('2026-11-20T09:00:00.000Z');
const ANA = 'arn:aws:sts::111122223333:assumed-role/Operators/ana';
const BOB = 'arn:aws:sts::111122223333:assumed-role/Operators/bob';

let ports: InMemoryPorts;
let api: OpsApi;

beforeEach(() => {
  ports = createInMemoryPorts(T0);
  api = createOpsApi({
    ...ports,
    store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit),
  });
  ports.features.seedAgent({
    agentId: 'agent-ana',
    kind: 'person',
    status: 'available',
    skills: [{ skill: 'billing', proficiency: 4 }],
    capacity: 2,
    activeCount: 0,
    idleSince: T0 - 3_600_000,
  });
  ports.features.seedAgent({
    agentId: 'agent-full',
    kind: 'person',
    status: 'available',
    skills: [{ skill: 'billing', proficiency: 5 }],
    capacity: 1,
    activeCount: 1,
    idleSince: T0,
  });
  ports.features.seedAgent({
    agentId: 'agent-sales',
    kind: 'person',
    status: 'available',
    skills: [{ skill: 'sales', proficiency: 5 }],
    capacity: 3,
    activeCount: 0,
    idleSince: T0,
  });
});

/** A scored item parked in a wait, as the park Lambda (or the dispatcher's enqueue) leaves it. */
function parked(itemId: string, wait: 'human-review' | 'exception' | 'assignment' | 'completion'): string {
  const stage = {
    'human-review': 'HUMAN_REVIEW',
    exception: 'EXCEPTION',
    assignment: 'WAITING_ASSIGNMENT',
    completion: 'IN_PROGRESS',
  } as const;
  const token = ports.executions.issueToken(wait);
  const record: InstanceRecord = {
    ...bareInstance(itemId, T0),
    stage: stage[wait],
    stageEnteredAt: T0 - 20 * 60_000,
    category: 'billing',
    priority: 4,
    requiredSkills: [{ skill: 'billing', minProficiency: 3 }],
    createdAt: T0 - 30 * 60_000,
    slaDueAt: T0 + 60 * 60_000,
    path: wait === 'assignment' ? 'routing' : 'human-review',
    predictedHandlingSeconds: 600,
    policyVersion: 'p-7',
    modelVersion: 'm-3',
    taskToken: token,
    waitingFor: wait,
    ...(wait === 'completion' ? { assignee: 'agent-ana', capacityHeldBy: 'agent-ana' } : {}),
  };
  ports.tables.instances.set(itemId, record);
  return token;
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; actor?: string | null; query?: Record<string, string> } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const event = apiGatewayEvent({
    method,
    path,
    ...(options.actor === null ? {} : { actor: options.actor ?? ANA }),
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.rawBody === undefined ? {} : { rawBody: options.rawBody }),
    ...(options.query === undefined ? {} : { query: options.query }),
  });
  const answer: APIGatewayProxyResult = await api.http(event, { awsRequestId: 'req-1' });
  return { status: answer.statusCode, json: JSON.parse(answer.body) };
}

const kinds = async (itemId: string) => (await ports.audit.listForItem(itemId)).map((r) => r.kind as string);

describe('the ops API handler: human actions', () => {
  it('approves an item in review: resumes its wait with the decision and records the signed caller', async () => {
    // Prepare
    const token = parked('HD-1', 'human-review');

    // Act
    const { status, json } = await call('POST', '/items/HD-1/approve', {
      body: { reason: 'known customer' },
    });

    // Assess
    expect(status).toBe(200);
    expect(json).toMatchObject({ itemId: 'HD-1', action: 'approve', actor: ANA });
    expect(ports.executions.tokenState(token)).toEqual({
      state: 'succeeded',
      output: { action: 'approve', actor: ANA, reason: 'known customer' },
    });
    const [record] = (await ports.audit.listForItem('HD-1')).filter(
      (r) => (r.kind as string) === 'HUMAN_APPROVED',
    );
    expect(record).toMatchObject({ actor: ANA, policyVersion: 'p-7', modelVersion: 'm-3' });
    expect(JSON.parse(record?.details ?? '{}')).toMatchObject({
      waitingFor: 'human-review',
      reason: 'known customer',
    });
  });

  it('approves (requeues) and rejects (closes) an exception with the resolution the state machine expects', async () => {
    // Prepare
    const requeueToken = parked('EX-1', 'exception');
    const closeToken = parked('EX-2', 'exception');

    // Act
    await call('POST', '/items/EX-1/approve', { body: { reason: 'agent back from leave' } });
    await call('POST', '/items/EX-2/reject', { body: { reason: 'customer withdrew' } });

    // Assess
    expect(ports.executions.tokenState(requeueToken)).toMatchObject({
      output: { action: 'requeue', actor: ANA },
    });
    expect(ports.executions.tokenState(closeToken)).toMatchObject({
      output: { action: 'close', actor: ANA },
    });
  });

  it('overrides a review to a named agent: claims its capacity, resumes with the explained assignment, records it', async () => {
    // Prepare
    const token = parked('HD-2', 'human-review');

    // Act
    const { status, json } = await call('POST', '/items/HD-2/override', {
      body: { agentId: 'agent-ana', reason: 'account owner' },
    });

    // Assess
    expect(status).toBe(200);
    expect(json).toMatchObject({ action: 'override', agentId: 'agent-ana' });
    expect((await ports.features.getAgent('agent-ana'))?.activeCount).toBe(1);
    expect(await ports.instances.get('HD-2')).toMatchObject({
      stage: 'ASSIGNED',
      assignee: 'agent-ana',
      capacityHeldBy: 'agent-ana',
      lastAssignmentToken: token,
    });
    expect(ports.executions.tokenState(token)).toMatchObject({
      state: 'succeeded',
      output: {
        action: 'override',
        actor: ANA,
        agentId: 'agent-ana',
        assignment: {
          agentId: 'agent-ana',
          agentKind: 'person',
          predictedHandlingSeconds: 600,
          policyVersion: 'p-7',
          explanation: { summary: `override by ${ANA}: account owner` },
        },
      },
    });
    expect(await kinds('HD-2')).toContain('OVERRIDDEN');
  });

  it('overrides an item waiting for the dispatcher by claiming with its assignment token', async () => {
    // Prepare
    const token = parked('WA-1', 'assignment');

    // Act
    const { status } = await call('POST', '/items/WA-1/override', {
      body: { agentId: 'agent-ana', reason: 'VIP' },
    });

    // Assess
    expect(status).toBe(200);
    expect(ports.executions.tokenState(token)).toMatchObject({
      state: 'succeeded',
      output: { agentId: 'agent-ana', experimentArm: 'none' },
    });
  });

  it('refuses an override to a full agent with 409, leaving the review pending and capacity untouched', async () => {
    // Prepare
    const token = parked('HD-3', 'human-review');

    // Act
    const { status, json } = await call('POST', '/items/HD-3/override', {
      body: { agentId: 'agent-full', reason: 'expert' },
    });

    // Assess
    expect(status).toBe(409);
    expect(json).toEqual({
      error: 'AgentUnavailable',
      message: 'agent agent-full has no free capacity (available, 1/1 items)',
    });
    expect(await ports.instances.get('HD-3')).toMatchObject({ stage: 'HUMAN_REVIEW', taskToken: token });
    expect((await ports.features.getAgent('agent-full'))?.activeCount).toBe(1);
    expect(ports.executions.tokenState(token)).toEqual({ state: 'pending' });
  });

  it('refuses an override to an agent without the skills (409) or unknown (404)', async () => {
    // Prepare
    parked('HD-4', 'human-review');

    // Act
    const unskilled = await call('POST', '/items/HD-4/override', {
      body: { agentId: 'agent-sales', reason: 'x-sell' },
    });
    const unknown = await call('POST', '/items/HD-4/override', {
      body: { agentId: 'agent-zed', reason: 'who' },
    });

    // Assess
    expect(unskilled).toMatchObject({
      status: 409,
      json: { message: expect.stringMatching(/lacks a required skill \(needs billing≥3\)/) },
    });
    expect(unknown).toMatchObject({ status: 404, json: { error: 'NotFound' } });
  });

  it('gives the slot back when the wait ended just before the override resumed it', async () => {
    // Prepare
    const token = parked('HD-5', 'human-review');
    ports.executions.expireToken(token);

    // Act
    const { status, json } = await call('POST', '/items/HD-5/override', {
      body: { agentId: 'agent-ana', reason: 'late' },
    });

    // Assess
    expect(status).toBe(409);
    expect(json.error).toBe('WaitEnded');
    expect((await ports.features.getAgent('agent-ana'))?.activeCount).toBe(0);
    expect(await kinds('HD-5')).not.toContain('OVERRIDDEN');
  });

  it('appeals a routed item: fails its completion wait with DecisionAppealed and records who and why', async () => {
    // Prepare
    const token = parked('IP-1', 'completion');

    // Act
    const { status } = await call('POST', '/items/IP-1/appeal', {
      body: { reason: 'wrong team' },
      actor: BOB,
    });

    // Assess
    expect(status).toBe(200);
    expect(ports.executions.tokenState(token)).toEqual({
      state: 'failed',
      error: APPEAL_ERROR,
      cause: `${BOB}: wrong team`,
    });
    const [record] = (await ports.audit.listForItem('IP-1')).filter((r) => (r.kind as string) === 'APPEALED');
    expect(record?.actor).toBe(BOB);
    expect(JSON.parse(record?.details ?? '{}')).toMatchObject({
      from: 'completion',
      previousAssignee: 'agent-ana',
    });
  });

  it('answers 409 with the reason for an action the wait does not allow, and 404 for an unknown item', async () => {
    // Prepare
    parked('HD-6', 'human-review');
    parked('IP-2', 'completion');

    // Act
    const appealInReview = await call('POST', '/items/HD-6/appeal', { body: { reason: 'why not' } });
    const approveInProgress = await call('POST', '/items/IP-2/approve', { body: { reason: 'fine' } });
    const missing = await call('POST', '/items/NOPE-1/approve', { body: { reason: 'fine' } });

    // Assess
    expect(appealInReview).toMatchObject({
      status: 409,
      json: {
        error: 'ActionNotAllowed',
        message: 'the item is still in review: nothing was decided yet to appeal',
      },
    });
    expect(approveInProgress.json.message).toMatch(/appeal first to re-open the decision/);
    expect(missing.status).toBe(404);
  });
});

describe('the ops API handler: reading', () => {
  it("shows an item's status, the actions open now and its trail, never its task token", async () => {
    // Prepare
    parked('HD-7', 'human-review');
    await ports.audit.append(
      auditRecord({
        itemId: 'HD-7',
        kind: 'SCORED',
        at: T0 - 25 * 60_000,
        actor: 'flowtune:score',
        details: { path: 'human-review' },
      }),
    );

    // Act
    const { status, json } = await call('GET', '/items/HD-7');

    // Assess
    expect(status).toBe(200);
    expect(json).toMatchObject({
      itemId: 'HD-7',
      stage: 'HUMAN_REVIEW',
      waitingFor: 'human-review',
      secondsInStage: 1200,
      queue: 'billing',
      overdue: false,
      actions: ['approve', 'reject', 'override'],
      trail: [{ kind: 'SCORED', actor: 'flowtune:score', details: { path: 'human-review' } }],
    });
    expect(JSON.stringify(json)).not.toMatch(/human-review-[0-9a-f-]{36}/);
  });

  it('lists pending human tasks oldest first, with the context the park recorded and the agents who could take them', async () => {
    // Prepare
    parked('HD-8', 'human-review');
    await ports.audit.append(
      auditRecord({
        itemId: 'HD-8',
        kind: 'HUMAN_REVIEW_REQUESTED',
        at: T0 - 20 * 60_000,
        actor: 'flowtune:park',
        details: {
          waitingFor: 'human-review',
          context: {
            score: { confidence: 0.2 },
            decision: { path: 'human-review', reason: 'confidence 0.20 is below 0.5' },
          },
        },
      }),
    );
    parked('IP-3', 'completion');

    // Act
    const { status, json } = await call('GET', '/tasks', { query: { limit: '10' } });

    // Assess
    expect(status).toBe(200);
    const tasks = json.tasks as {
      itemId: string;
      context: unknown;
      alternatives: { agentId: string; freeSlots: number }[];
    }[];
    expect(tasks.map((task) => task.itemId)).toEqual(['HD-8']);
    expect(tasks[0]?.context).toEqual({
      score: { confidence: 0.2 },
      decision: { path: 'human-review', reason: 'confidence 0.20 is below 0.5' },
    });
    expect(tasks[0]?.alternatives).toEqual([
      expect.objectContaining({ agentId: 'agent-ana', freeSlots: 2 }),
      expect.objectContaining({ agentId: 'agent-full', freeSlots: 0 }),
    ]);
  });

  it('serves the bottleneck view of the live items', async () => {
    // Prepare
    for (const index of [1, 2, 3, 4]) parked(`HD-b${index}`, 'human-review');
    parked('WA-b1', 'assignment');

    // Act
    const { status, json } = await call('GET', '/bottlenecks');

    // Assess
    expect(status).toBe(200);
    expect(json.headlines).toEqual([
      '80% of all 5 live items wait at human review (oldest 20m 00s)',
      '80% of 5 billing items wait at human review (oldest 20m 00s)',
    ]);
  });

  it('takes the backlog snapshot on its schedule and refuses events it does not know', async () => {
    // Prepare
    parked('HD-s1', 'human-review');

    // Act
    const snapshot = await api.handler({ kind: 'backlog-snapshot' });
    const unknown = api.handler({ kind: 'something-else' });

    // Assess
    expect(snapshot).toMatchObject({
      kind: 'backlog-snapshot',
      stages: expect.arrayContaining([{ stage: 'HUMAN_REVIEW', items: 1, oldestAgeSeconds: 1200 }]),
    });
    await expect(unknown).rejects.toThrow(/Ops function input is invalid at kind/);
  });
});

describe('the ops API handler: refusals a caller can fix, and failures it cannot', () => {
  it.each([
    ['a body that is not JSON', { rawBody: '{reason' }, 'body', 'the body must be a JSON object'],
    [
      'a missing reason',
      { body: {} },
      'reason',
      'reason: Invalid input: expected string, received undefined',
    ],
    [
      'a reason too short to say why',
      { body: { reason: 'ok' } },
      'reason',
      'reason: must say why, in at least 3 characters',
    ],
    [
      'an unknown field',
      { body: { reason: 'fine', actor: 'someone-else' } },
      'body',
      'body: Unrecognized key: "actor"',
    ],
  ])('answers 400 naming the field for %s', async (_, options, field, message) => {
    parked('HD-9', 'human-review');

    const { status, json } = await call('POST', '/items/HD-9/approve', options);

    expect(status).toBe(400);
    expect(json).toEqual({ error: 'InvalidRequest', field, message });
  });

  it('answers 400 for an item id that can never exist, 404 for an unknown route, 405 for a wrong method', async () => {
    const badId = await call('GET', `/items/${'x'.repeat(81)}`);
    const noRoute = await call('GET', '/nothing-here');
    const wrongMethod = await call('GET', '/items/HD-1/approve');

    expect(badId).toMatchObject({ status: 400, json: { field: 'itemId' } });
    expect(noRoute.status).toBe(404);
    expect(wrongMethod).toMatchObject({ status: 405, json: { error: 'MethodNotAllowed' } });
  });

  it('answers 403 when the request carries no signed caller', async () => {
    const { status, json } = await call('GET', '/bottlenecks', { actor: null });

    expect(status).toBe(403);
    expect(json.error).toBe('Unsigned');
  });

  it('answers 500 with the request id and no internals when a dependency fails', async () => {
    // Prepare
    ports.executions.failNextResume(
      new Error('connect ECONNREFUSED 10.0.0.1:443 at Socket.internal (node:net:1)'),
    );
    parked('HD-10', 'human-review');

    // Act
    const { status, json } = await call('POST', '/items/HD-10/approve', { body: { reason: 'fine' } });

    // Assess
    expect(status).toBe(500);
    expect(json).toEqual({
      error: 'InternalError',
      message: 'The operation failed on the server; the request id identifies it in the logs.',
      requestId: 'req-1',
    });
  });
});

describe('the ops API handler: policy proposals', () => {
  const proposed = { ...DEFAULT_POLICY, version: 'v2', minConfidence: 0.5 };

  it('stores a valid proposal without activating it, and records it on the policy trail', async () => {
    const { status, json } = await call('POST', '/policies/proposals', {
      body: { policy: proposed, rationale: 'send low-confidence items to review' },
    });

    expect(status).toBe(201);
    expect(json).toMatchObject({
      version: 'v2',
      status: 'proposed',
      proposedBy: ANA,
      changes: ['minConfidence'],
    });
    expect((await ports.features.getActivePolicy()).version).toBe(DEFAULT_POLICY.version);
    expect(await kinds('policy#v2')).toEqual(['POLICY_PROPOSED']);
  });

  it('rejects a policy the schema refuses (400, naming the field) and a version already in use (409)', async () => {
    const invalid = await call('POST', '/policies/proposals', {
      body: { policy: { ...proposed, maxAutoRisk: 3 }, rationale: 'riskier' },
    });
    const sameVersion = await call('POST', '/policies/proposals', {
      body: { policy: { ...proposed, version: DEFAULT_POLICY.version }, rationale: 'same version' },
    });

    expect(invalid).toMatchObject({ status: 400, json: { field: 'policy.maxAutoRisk' } });
    expect(sameVersion).toMatchObject({ status: 409, json: { error: 'ProposalNotAccepted' } });
  });

  it('activates a proposal only when someone other than its author approves it', async () => {
    await call('POST', '/policies/proposals', {
      body: { policy: proposed, rationale: 'send low-confidence items to review' },
    });

    ports.clock.advance(60_000);
    const own = await call('POST', '/policies/proposals/v2/approve', { body: { reason: 'mine is good' } });
    const other = await call('POST', '/policies/proposals/v2/approve', {
      body: { reason: 'reviewed' },
      actor: BOB,
    });
    const listed = await call('GET', '/policies/proposals');

    expect(own).toMatchObject({ status: 409, json: { error: 'ApprovalNotAllowed' } });
    expect(other).toMatchObject({ status: 200, json: { version: 'v2', active: true, approvedBy: BOB } });
    expect((await ports.features.getActivePolicy()).minConfidence).toBe(0.5);
    expect(listed.json).toMatchObject({
      active: { version: 'v2' },
      proposals: [{ version: 'v2', status: 'approved' }],
    });
    expect(await kinds('policy#v2')).toEqual(['POLICY_PROPOSED', 'POLICY_APPROVED']);
  });
});
