import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StaffingRecommended } from '../../domain/events/staffing';
import type { StaffingApprovalView } from '../../lambdas/ops-api/allocation-approvals';
import { createOpsApi, type OpsApi } from '../../lambdas/ops-api/handler';
import { InMemoryOpsStore } from '../../lambdas/ops-api/in-memory-ops-store';
import { apiGatewayEvent } from '../../lambdas/ops-api/proxy-event';
import {
  type AllocationApproval,
  type AllocationStore,
  InMemoryAllocationStore,
} from '../../lambdas/shared/allocation-store';
import { DynamoDbAllocationStore } from '../../lambdas/shared/dynamodb-allocation-store';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import { type DynamoDbTestEnvironment, startDynamoDbTestEnvironment } from '../support/dynamodb-local';

/**
 * GET /allocation/approvals and POST /allocation/approvals/{approvalId}/approve|reject through the
 * ops handler, over the allocation job's store in memory and on DynamoDB Local (the conditional
 * transition out of `pending` is what makes a decision count once).
 */

const T0 = Date.parse('2026-11-20T09:07:00.000Z');
const MINUTE = 60_000;
const ANA = 'arn:aws:sts::111122223333:assumed-role/Operators/ana';
const BOB = 'arn:aws:sts::111122223333:assumed-role/Operators/bob';
const RUN = 'alloc-1763629620000';

const CARDS = {
  queueId: 'cards',
  forecastArrivalsPerHour: 80,
  predictedHandlingSeconds: 180,
  requiredServers: 6,
  onShiftServersBefore: 4,
  onShiftServersAfter: 5,
  targetServiceLevel: 0.8,
  targetSeconds: 60,
  expectedServiceLevelBefore: 0.31,
  expectedServiceLevelAfter: 0.62,
  model: 'erlang-c',
} as const;

const LOANS = {
  ...CARDS,
  queueId: 'loans',
  forecastArrivalsPerHour: 16,
  requiredServers: 3,
  onShiftServersBefore: 6,
  onShiftServersAfter: 5,
  targetSeconds: 120,
  expectedServiceLevelBefore: 0.99,
  expectedServiceLevelAfter: 0.98,
} as const;

/** A move the job held for a person, as the allocation handler stores it. */
function heldMove(
  sequence: number,
  requestedAt: number,
  overrides: { readonly agentId?: string; readonly validForMinutes?: number } = {},
): AllocationApproval {
  const recommendationId = `${RUN}-${sequence}`;
  const agentId = overrides.agentId ?? `flex-${sequence}`;
  const recommendation = StaffingRecommended.parse({
    schemaVersion: '1',
    kind: 'move',
    recommendationId,
    runId: RUN,
    decision: 'approval-required',
    reason: `Move ${agentId} from loans to cards for the next 60 min: cards expects 80 arrivals/h and has 4 of the 6 it needs`,
    approvalReason: 'already 2 moves applied without approval this hour (maxAutoMovesPerHour 2)',
    queues: [CARDS, LOANS],
    expectedGainPerHour: 24.8,
    forecastWape: 0.12,
    confidence: 0.93,
    policyVersion: 'alloc-test-1',
    horizonMinutes: 60,
    recommendedAt: new Date(requestedAt).toISOString(),
    validUntil: new Date(requestedAt + (overrides.validForMinutes ?? 60) * MINUTE).toISOString(),
    agentId,
    fromQueue: 'loans',
    toQueue: 'cards',
    proficiency: 3,
  });
  return {
    recommendationId,
    recommendation,
    status: 'pending',
    requestedAt: recommendation.recommendedAt,
    validUntil: recommendation.validUntil,
    history: [],
  };
}

/** An offload the job held because automating the category sends more than the guardrail allows. */
function heldOffload(sequence: number, requestedAt: number): AllocationApproval {
  const recommendationId = `${RUN}-${sequence}`;
  const recommendation = StaffingRecommended.parse({
    schemaVersion: '1',
    kind: 'offload',
    recommendationId,
    runId: RUN,
    decision: 'approval-required',
    reason: 'Send "card-activation" to automation for the next 60 min: half of cards arrivals are routine',
    approvalReason:
      'automating "card-activation" sends all of it (50% of cards) to automation, above the 30% the policy allows without approval',
    queues: [CARDS],
    expectedGainPerHour: 31.5,
    confidence: 0.93,
    policyVersion: 'alloc-test-1',
    horizonMinutes: 60,
    recommendedAt: new Date(requestedAt).toISOString(),
    validUntil: new Date(requestedAt + 60 * MINUTE).toISOString(),
    queueId: 'cards',
    category: 'card-activation',
    shareOfQueue: 0.5,
  });
  return {
    recommendationId,
    recommendation,
    status: 'pending',
    requestedAt: recommendation.recommendedAt,
    validUntil: recommendation.validUntil,
    history: [],
  };
}

let db: DynamoDbTestEnvironment | undefined;

beforeAll(async () => {
  db = await startDynamoDbTestEnvironment();
});

afterAll(async () => {
  await db?.stop();
});

const STORES: readonly [string, () => Promise<AllocationStore>][] = [
  ['in memory', async () => new InMemoryAllocationStore()],
  [
    'on DynamoDB Local',
    async () => {
      if (db === undefined) throw new Error('DynamoDB Local did not start');
      const { tableNames } = await db.freshTables();
      return new DynamoDbAllocationStore({
        client: db.documentClient,
        featuresTable: tableNames.featuresTable,
      });
    },
  ],
];

const json = (answer: APIGatewayProxyResult) => JSON.parse(answer.body) as Record<string, unknown>;

describe.each(STORES)('staffing approvals, allocation store %s', (_, createStore) => {
  let ports: InMemoryPorts;
  let allocation: AllocationStore;
  let api: OpsApi;

  beforeEach(async () => {
    ports = createInMemoryPorts(T0);
    allocation = await createStore();
    api = createOpsApi({
      ...ports,
      store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit),
      allocation,
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

  describe('GET /allocation/approvals', () => {
    it('lists the held moves and offloads oldest first, with the guardrail, the figures per queue and the expiry', async () => {
      // Prepare
      await allocation.putApproval(heldOffload(4, T0 - 5 * MINUTE));
      await allocation.putApproval(heldMove(3, T0 - 7 * MINUTE));

      // Act
      const answer = await call('GET', '/allocation/approvals');

      // Assess
      expect(answer.statusCode).toBe(200);
      const { approvals } = json(answer) as { approvals: StaffingApprovalView[] };
      expect(approvals.map((approval) => approval.approvalId)).toEqual([`${RUN}-3`, `${RUN}-4`]);
      expect(approvals[0]).toEqual({
        approvalId: `${RUN}-3`,
        runId: RUN,
        kind: 'move',
        agentId: 'flex-3',
        fromQueue: 'loans',
        toQueue: 'cards',
        proficiency: 3,
        summary: 'move flex-3 from loans to cards for 60 min',
        requestedAt: new Date(T0 - 7 * MINUTE).toISOString(),
        waitingSeconds: 420,
        expiresAt: new Date(T0 + 53 * MINUTE).toISOString(),
        expiresInSeconds: 53 * 60,
        reason: expect.stringMatching(/^Move flex-3 from loans to cards/),
        approvalReason: 'already 2 moves applied without approval this hour (maxAutoMovesPerHour 2)',
        queues: [CARDS, LOANS],
        expectedGainPerHour: 24.8,
        forecastWape: 0.12,
        confidence: 0.93,
        policyVersion: 'alloc-test-1',
        horizonMinutes: 60,
      });
      expect(approvals[1]).toMatchObject({
        kind: 'offload',
        queueId: 'cards',
        category: 'card-activation',
        shareOfQueue: 0.5,
        summary: 'automate "card-activation" (50% of cards) for 60 min',
        approvalReason: expect.stringContaining('above the 30%'),
      });
    });

    it('leaves out approvals already decided and those whose horizon has ended', async () => {
      // Prepare
      await allocation.putApproval(heldMove(1, T0 - 10 * MINUTE));
      await allocation.transitionApproval(`${RUN}-1`, 'pending', 'approved', {
        by: BOB,
        reason: 'cards is drowning',
        at: T0 - MINUTE,
      });
      await allocation.putApproval(heldMove(2, T0 - 61 * MINUTE));

      // Act
      const answer = await call('GET', '/allocation/approvals');

      // Assess
      expect(json(answer)).toEqual({ approvals: [] });
    });
  });

  describe('POST /allocation/approvals/{approvalId}/approve and /reject', () => {
    it('records an approval under the person’s name for the next run, and audits it on the run’s trail', async () => {
      // Prepare
      await allocation.putApproval(heldMove(3, T0 - 7 * MINUTE));

      // Act
      const answer = await call('POST', `/allocation/approvals/${RUN}-3/approve`, ANA, {
        reason: 'cards is drowning, loans is quiet',
      });

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(json(answer)).toEqual({
        approvalId: `${RUN}-3`,
        decision: 'approve',
        kind: 'move',
        summary: 'move flex-3 from loans to cards for 60 min',
        actor: ANA,
        at: new Date(T0).toISOString(),
        outcome: expect.stringMatching(/^the next allocation run moves flex-3 to cards under your name/),
      });
      const [approved] = await allocation.listApprovals(['approved']);
      expect(approved?.history).toEqual([
        {
          status: 'approved',
          by: ANA,
          at: new Date(T0).toISOString(),
          reason: 'cards is drowning, loans is quiet',
        },
      ]);
      const [audit] = await ports.audit.listForItem(`allocation#${RUN}`);
      expect(audit).toMatchObject({ kind: 'HUMAN_APPROVED', actor: ANA, policyVersion: 'alloc-test-1' });
      expect(JSON.parse(audit?.details ?? '{}')).toMatchObject({
        source: 'allocation',
        approvalId: `${RUN}-3`,
        reason: 'cards is drowning, loans is quiet',
        recommendationKind: 'move',
      });
    });

    it('records a rejection: nothing will change, and the trail says who and why', async () => {
      // Prepare
      await allocation.putApproval(heldOffload(4, T0 - 5 * MINUTE));

      // Act
      const answer = await call('POST', `/allocation/approvals/${RUN}-4/reject`, BOB, {
        reason: 'activations need a person this week',
      });

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(json(answer)).toMatchObject({
        decision: 'reject',
        kind: 'offload',
        outcome: 'nothing changes: "card-activation" stays with people',
      });
      expect((await allocation.listApprovals(['rejected'])).map((entry) => entry.recommendationId)).toEqual([
        `${RUN}-4`,
      ]);
      const [audit] = await ports.audit.listForItem(`allocation#${RUN}`);
      expect(audit).toMatchObject({ kind: 'HUMAN_REJECTED', actor: BOB });
    });

    it('keeps one audit record per decision when two of a run are decided in the same millisecond', async () => {
      // Prepare
      await allocation.putApproval(heldMove(3, T0 - 7 * MINUTE));
      await allocation.putApproval(heldMove(5, T0 - 7 * MINUTE));

      // Act
      await call('POST', `/allocation/approvals/${RUN}-3/approve`, ANA, { reason: 'cards is drowning' });
      await call('POST', `/allocation/approvals/${RUN}-5/approve`, ANA, { reason: 'cards is drowning' });

      // Assess
      const trail = await ports.audit.listForItem(`allocation#${RUN}`);
      expect(trail.map((record) => JSON.parse(record.details ?? '{}').approvalId).sort()).toEqual([
        `${RUN}-3`,
        `${RUN}-5`,
      ]);
    });

    it('refuses a second decision with 409 AlreadyDecided, naming who decided first', async () => {
      // Prepare
      await allocation.putApproval(heldMove(3, T0 - 7 * MINUTE));
      await call('POST', `/allocation/approvals/${RUN}-3/approve`, ANA, { reason: 'cards is drowning' });

      // Act
      const answer = await call('POST', `/allocation/approvals/${RUN}-3/reject`, BOB, {
        reason: 'too late?',
      });

      // Assess
      expect(answer.statusCode).toBe(409);
      expect(json(answer)).toMatchObject({ error: 'AlreadyDecided' });
      expect(String(json(answer).message)).toContain(`approved by ${ANA}`);
      expect(await allocation.listApprovals(['rejected'])).toEqual([]);
    });

    it('lets exactly one of two people deciding at once win', async () => {
      // Prepare
      await allocation.putApproval(heldMove(3, T0 - 7 * MINUTE));

      // Act
      const answers = await Promise.all([
        call('POST', `/allocation/approvals/${RUN}-3/approve`, ANA, { reason: 'cards is drowning' }),
        call('POST', `/allocation/approvals/${RUN}-3/reject`, BOB, { reason: 'flex-3 is training' }),
      ]);

      // Assess
      expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 409]);
      const decided = await allocation.listApprovals(['approved', 'rejected']);
      expect(decided).toHaveLength(1);
      expect(decided[0]?.history).toHaveLength(1);
      expect(await ports.audit.listForItem(`allocation#${RUN}`)).toHaveLength(1);
    });

    it('answers 409 Expired once the horizon has ended, even before the job marks it, and records nothing', async () => {
      // Prepare: requested 70 minutes ago for 60; the job has not run since.
      await allocation.putApproval(heldMove(3, T0 - 70 * MINUTE));
      await allocation.putApproval(heldMove(6, T0 - 80 * MINUTE));
      await allocation.transitionApproval(`${RUN}-6`, 'pending', 'expired', {
        by: 'flowtune:allocation',
        reason: 'nobody decided in time',
        at: T0 - 15 * MINUTE,
      });

      // Act
      const lapsed = await call('POST', `/allocation/approvals/${RUN}-3/approve`, ANA, {
        reason: 'still needed',
      });
      const marked = await call('POST', `/allocation/approvals/${RUN}-6/approve`, ANA, {
        reason: 'still needed',
      });

      // Assess
      expect([lapsed.statusCode, json(lapsed).error]).toEqual([409, 'Expired']);
      expect([marked.statusCode, json(marked).error]).toEqual([409, 'Expired']);
      expect((await allocation.listApprovals(['pending'])).map((entry) => entry.recommendationId)).toEqual([
        `${RUN}-3`,
      ]);
      expect(await ports.audit.listForItem(`allocation#${RUN}`)).toEqual([]);
    });

    it('answers 404 for an unknown approval and 400 naming the field for a malformed id or reason', async () => {
      // Prepare
      await allocation.putApproval(heldMove(3, T0 - 7 * MINUTE));

      // Act
      const unknown = await call('POST', '/allocation/approvals/alloc:1-9/approve', ANA, {
        reason: 'looks right',
      });
      const badId = await call('POST', '/allocation/approvals/alloc%201/approve', ANA, {
        reason: 'looks right',
      });
      const shortReason = await call('POST', `/allocation/approvals/${RUN}-3/reject`, ANA, { reason: 'no' });
      const noBody = await call('POST', `/allocation/approvals/${RUN}-3/reject`, ANA);

      // Assess
      expect(unknown.statusCode).toBe(404);
      expect([badId.statusCode, json(badId).field]).toEqual([400, 'approvalId']);
      expect([shortReason.statusCode, json(shortReason).field]).toEqual([400, 'reason']);
      expect([noBody.statusCode, json(noBody).field]).toEqual([400, 'body']);
      expect((await allocation.listApprovals(['pending'])).map((entry) => entry.recommendationId)).toEqual([
        `${RUN}-3`,
      ]);
    });
  });
});

describe('staffing approvals without an allocation job behind the API', () => {
  it('answers 404 on the list and on a decision', async () => {
    // Prepare
    const ports = createInMemoryPorts(T0);
    const bare = createOpsApi({
      ...ports,
      store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit),
    });

    // Act
    const list = await bare.http(
      apiGatewayEvent({ method: 'GET', path: '/allocation/approvals', actor: ANA }),
    );
    const decide = await bare.http(
      apiGatewayEvent({
        method: 'POST',
        path: `/allocation/approvals/${RUN}-1/approve`,
        actor: ANA,
        body: { reason: 'looks right' },
      }),
    );

    // Assess
    expect([list.statusCode, decide.statusCode]).toEqual([404, 404]);
  });
});
