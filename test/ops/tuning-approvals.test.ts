import type { APIGatewayProxyResult } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/policy';
import { APPROVAL_WAIT_SECONDS, ApprovalDecision, type PolicyChangeProposalJson } from '../../domain/tuning';
import { createOpsApi, type OpsApi } from '../../lambdas/ops-api/handler';
import { InMemoryOpsStore } from '../../lambdas/ops-api/in-memory-ops-store';
import { apiGatewayEvent } from '../../lambdas/ops-api/proxy-event';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import { type ApprovalRequest, InMemoryTuningStore } from '../../lambdas/shared/tuning-store';
import { readDefinition } from '../../lib/definitions';
import { TUNING_STATE_MACHINE } from '../../lib/definitions/tuning';

const T0 = Date.parse('2026-11-20T09:00:00.000Z');
const HOUR = 3_600_000;
const ANA = 'arn:aws:sts::111122223333:assumed-role/Operators/ana';
const BOB = 'arn:aws:sts::111122223333:assumed-role/Operators/bob';

const PROPOSAL: PolicyChangeProposalJson = {
  kind: 'promoted',
  policy: { ...DEFAULT_POLICY, version: 'candidate-edf', routing: { strategy: 'edf', weights: {} } },
  previousVersion: DEFAULT_POLICY.version,
  changes: ['routing.strategy'],
  reason: 'promoted candidate-edf: candidate better on SLA attainment',
  needsApproval: true,
  approvalReasons: ['routing strategy flowtune → edf'],
  experimentId: 'exp-edf',
  evidence: { controlDecided: 250, treatmentDecided: 248, difference: 0.09 },
};

let ports: InMemoryPorts;
let tuning: InMemoryTuningStore;
let api: OpsApi;

beforeEach(() => {
  ports = createInMemoryPorts(T0);
  tuning = new InMemoryTuningStore(ports.tables);
  api = createOpsApi({
    ...ports,
    store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit),
    tuning,
  });
});

/** A change the tuning workflow holds in Wait For Approval, with the token it waits on. */
async function held(
  approvalId: string,
  requestedAt: number,
  version = 'candidate-edf',
): Promise<ApprovalRequest> {
  const request: ApprovalRequest = {
    approvalId,
    taskToken: ports.executions.issueToken(`approval-${approvalId}`),
    executionId: `arn:aws:states:eu-west-1:111122223333:execution:Flowtune-Tuning:${approvalId}`,
    proposal: { ...PROPOSAL, policy: { ...PROPOSAL.policy, version } },
    requestedAt: new Date(requestedAt).toISOString(),
    status: 'pending',
  };
  await tuning.putApprovalRequest(request);
  return request;
}

async function call(
  method: string,
  path: string,
  actor = ANA,
  body?: unknown,
): Promise<APIGatewayProxyResult> {
  return api.http(apiGatewayEvent({ method, path, actor, ...(body === undefined ? {} : { body }) }));
}

const json = (answer: APIGatewayProxyResult) => JSON.parse(answer.body) as Record<string, unknown>;

describe('GET /tuning/approvals', () => {
  it('lists the held changes oldest first, with why each needs a person and its evidence, never the token', async () => {
    // Prepare
    await held('run-late', T0 - HOUR, 'candidate-b');
    const early = await held('run-early', T0 - 2 * HOUR);

    // Act
    const answer = await call('GET', '/tuning/approvals');

    // Assess
    expect(answer.statusCode).toBe(200);
    const { approvals } = json(answer) as { approvals: Record<string, unknown>[] };
    expect(approvals.map((approval) => approval.approvalId)).toEqual(['run-early', 'run-late']);
    expect(approvals[0]).toMatchObject({
      approvalId: 'run-early',
      kind: 'promoted',
      version: 'candidate-edf',
      previousVersion: DEFAULT_POLICY.version,
      approvalReasons: ['routing strategy flowtune → edf'],
      experimentId: 'exp-edf',
      evidence: PROPOSAL.evidence,
      waitingSeconds: 7200,
      expiresAt: new Date(T0 - 2 * HOUR + APPROVAL_WAIT_SECONDS * 1000).toISOString(),
    });
    expect(answer.body).not.toContain(early.taskToken);
  });

  it('leaves out changes whose wait has expired and those already decided', async () => {
    // Prepare
    await held('run-expired', T0 - APPROVAL_WAIT_SECONDS * 1000 - 1);
    await held('run-decided', T0 - HOUR);
    await tuning.resolveApprovalRequest('run-decided', { status: 'approved', by: BOB, reason: 'ok', at: T0 });

    // Act
    const answer = await call('GET', '/tuning/approvals');

    // Assess
    expect(json(answer)).toEqual({ approvals: [] });
  });

  it('answers 404 where no tuning loop runs behind the API', async () => {
    // Prepare
    const bare = createOpsApi({
      ...ports,
      store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit),
    });

    // Act
    const answer = await bare.http(apiGatewayEvent({ method: 'GET', path: '/tuning/approvals', actor: ANA }));

    // Assess
    expect(answer.statusCode).toBe(404);
  });
});

describe('POST /tuning/approvals/{approvalId}/approve and /reject', () => {
  it('resumes the waiting workflow with the approval, who and why, and records it', async () => {
    // Prepare
    const request = await held('run-1', T0 - HOUR);

    // Act
    const answer = await call('POST', '/tuning/approvals/run-1/approve', ANA, {
      reason: 'EDF wins on SLA in the trial',
    });

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(json(answer)).toMatchObject({
      approvalId: 'run-1',
      decision: 'approve',
      version: 'candidate-edf',
      actor: ANA,
    });
    const resumed = ports.executions.tokenState(request.taskToken);
    expect(resumed?.state).toBe('succeeded');
    expect(ApprovalDecision.parse(resumed?.state === 'succeeded' ? resumed.output : undefined)).toEqual({
      decision: 'approve',
      actor: ANA,
      reason: 'EDF wins on SLA in the trial',
    });
    expect(await tuning.getApprovalRequest('run-1')).toMatchObject({ status: 'approved', resolvedBy: ANA });
    const [audit] = await ports.audit.listForItem('policy#candidate-edf');
    expect(audit).toMatchObject({ kind: 'POLICY_APPROVED', actor: ANA, policyVersion: 'candidate-edf' });
    expect(JSON.parse(audit?.details ?? '{}')).toMatchObject({ source: 'tuning', approvalId: 'run-1' });
  });

  it('resumes it with a rejection, which the workflow turns into no change', async () => {
    // Prepare
    const request = await held('run-2', T0 - HOUR);

    // Act
    const answer = await call('POST', '/tuning/approvals/run-2/reject', BOB, {
      reason: 'not during the peak',
    });

    // Assess
    expect(answer.statusCode).toBe(200);
    const resumed = ports.executions.tokenState(request.taskToken);
    expect(resumed?.state === 'succeeded' ? resumed.output : undefined).toEqual({
      decision: 'reject',
      actor: BOB,
      reason: 'not during the peak',
    });
    expect((await ports.audit.listForItem('policy#candidate-edf'))[0]?.kind).toBe('POLICY_REJECTED');
  });

  it('refuses a second decision on the same change with 409 AlreadyDecided', async () => {
    // Prepare
    await held('run-3', T0 - HOUR);
    await call('POST', '/tuning/approvals/run-3/approve', ANA, { reason: 'looks right' });

    // Act
    const answer = await call('POST', '/tuning/approvals/run-3/reject', BOB, { reason: 'too late?' });

    // Assess
    expect(answer.statusCode).toBe(409);
    expect(json(answer)).toMatchObject({ error: 'AlreadyDecided' });
  });

  it('answers 409 WaitEnded when the workflow no longer waits, and records no decision', async () => {
    // Prepare: the wait timed out (the workflow dropped the change) but the request is still pending.
    const request = await held('run-4', T0 - HOUR);
    ports.executions.expireToken(request.taskToken);

    // Act
    const answer = await call('POST', '/tuning/approvals/run-4/approve', ANA, { reason: 'looks right' });

    // Assess
    expect(answer.statusCode).toBe(409);
    expect(json(answer)).toMatchObject({ error: 'WaitEnded' });
    expect((await tuning.getApprovalRequest('run-4'))?.status).toBe('pending');
    expect(await ports.audit.listForItem('policy#candidate-edf')).toEqual([]);
  });

  it('keeps the request pending when the resume fails, so the person can retry', async () => {
    // Prepare
    await held('run-5', T0 - HOUR);
    ports.executions.failNextResume(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    // Act
    const failed = await call('POST', '/tuning/approvals/run-5/approve', ANA, { reason: 'looks right' });
    const retried = await call('POST', '/tuning/approvals/run-5/approve', ANA, { reason: 'looks right' });

    // Assess
    expect([failed.statusCode, retried.statusCode]).toEqual([500, 200]);
    expect((await tuning.getApprovalRequest('run-5'))?.status).toBe('approved');
  });

  it('answers 404 for an unknown approval, and 400 naming the field for a malformed id or reason', async () => {
    // Act
    const unknown = await call('POST', '/tuning/approvals/run-none/approve', ANA, { reason: 'looks right' });
    const badId = await call('POST', '/tuning/approvals/run%20one/approve', ANA, { reason: 'looks right' });
    await held('run-6', T0 - HOUR);
    const noReason = await call('POST', '/tuning/approvals/run-6/approve', ANA, { reason: 'ok' });

    // Assess
    expect(unknown.statusCode).toBe(404);
    expect([badId.statusCode, json(badId).field]).toEqual([400, 'approvalId']);
    expect([noReason.statusCode, json(noReason).field]).toEqual([400, 'reason']);
  });
});

describe('the approval wait the listing assumes', () => {
  it('is the TimeoutSeconds of Wait For Approval in tuning.asl.json', () => {
    const asl = JSON.parse(readDefinition(TUNING_STATE_MACHINE)) as {
      States: Record<string, { TimeoutSeconds?: number }>;
    };

    expect(asl.States['Wait For Approval']?.TimeoutSeconds).toBe(APPROVAL_WAIT_SECONDS);
  });
});
