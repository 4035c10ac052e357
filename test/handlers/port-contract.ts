import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/policy';
import type { CompletionResult } from '../../domain/process';
import { updateHandlingStats } from '../../domain/scoring';
import type {
  AuditLog,
  EnqueueRequest,
  FeatureStore,
  InstanceStore,
  ScoredInstance,
} from '../../lambdas/shared/ports';
import { auditRecord } from '../../lambdas/shared/table-layout';

/**
 * The behaviour every FeatureStore / InstanceStore / AuditLog implementation must share, run
 * against the in-memory ports (in-memory-ports.test.ts) and DynamoDB Local (dynamodb-ports.test.ts),
 * so the handler tests' in-memory world cannot drift from what DynamoDB does.
 */
export interface PortsUnderTest {
  readonly features: FeatureStore;
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
}

const T0 = Date.parse('2026-11-20T09:00:00.000Z');

/** Fresh ids per test, so tests sharing one set of tables never see each other's rows. */
function ids(label: string) {
  const run = randomUUID().slice(0, 8);
  return {
    run,
    item: (n: number) => `${label}-${run}-item-${n}`,
    agent: (n: number) => `${label}-${run}-agent-${n}`,
    category: `cat-${run}`,
  };
}

function enqueueRequest(itemId: string, taskToken: string, enqueuedAt: number): EnqueueRequest {
  return {
    itemId,
    taskToken,
    category: 'billing',
    priority: 3,
    requiredSkills: [{ skill: 'billing', minProficiency: 2 }],
    createdAt: enqueuedAt - 60_000,
    slaDueAt: enqueuedAt + 3_600_000,
    attempt: 1,
    excludedAgents: [],
    enqueuedAt,
    at: enqueuedAt,
  };
}

function scoredInstance(itemId: string, at: number): ScoredInstance {
  return {
    itemId,
    category: 'billing',
    priority: 3,
    requiredSkills: [],
    createdAt: at - 60_000,
    slaDueAt: at + 3_600_000,
    attempt: 1,
    path: 'routing',
    predictedHandlingSeconds: 300,
    modelVersion: 'handling-v1',
    policyVersion: 'default',
    confidence: 0.8,
    at,
  };
}

const completion: CompletionResult = {
  schemaVersion: '1',
  id: 'placeholder',
  outcome: 'resolved',
  handledBy: 'agent-ana',
  completedAt: '2026-11-20T09:40:00.000Z',
  quality: { reopened: false, firstTimeResolution: true, rework: false },
};

async function addAgent(
  features: FeatureStore,
  agentId: string,
  capacity: number,
  status: 'available' | 'busy' | 'offline' = 'available',
) {
  await features.putAgentProfile({
    agentId,
    kind: 'person',
    status,
    capacity,
    skills: [{ skill: 'billing', proficiency: 3 }],
    changedAt: T0 - 60_000,
  });
}

export function describePortContract(name: string, setup: () => Promise<PortsUnderTest>): void {
  describe(`port contract: ${name}`, () => {
    let ports: PortsUnderTest;

    beforeAll(async () => {
      ports = await setup();
    });

    describe('capacity claims', () => {
      it('rejects a claim over capacity: the transaction changes neither the agent nor the item', async () => {
        // Prepare
        const id = ids('over');
        await addAgent(ports.features, id.agent(1), 1);
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));
        await ports.instances.enqueue(enqueueRequest(id.item(2), 'token-2', T0 + 1));
        const first = await ports.features.claimCapacity({
          agentId: id.agent(1),
          itemId: id.item(1),
          taskToken: 'token-1',
          at: T0 + 10,
        });

        // Act
        const second = await ports.features.claimCapacity({
          agentId: id.agent(1),
          itemId: id.item(2),
          taskToken: 'token-2',
          at: T0 + 11,
        });

        // Assess
        expect(first).toEqual({ outcome: 'claimed' });
        expect(second).toEqual({ outcome: 'conflict', reason: 'agent' });
        expect((await ports.features.getAgent(id.agent(1)))?.activeCount).toBe(1);
        const assigned = await ports.instances.get(id.item(1));
        expect(assigned).toMatchObject({
          stage: 'ASSIGNED',
          assignee: id.agent(1),
          capacityHeldBy: id.agent(1),
          lastAssignmentToken: 'token-1',
        });
        expect(assigned?.taskToken).toBeUndefined();
        expect(await ports.instances.get(id.item(2))).toMatchObject({
          stage: 'WAITING_ASSIGNMENT',
          taskToken: 'token-2',
        });
      });

      it('rejects a claim whose token is no longer the one on the item, leaving the agent untouched', async () => {
        // Prepare
        const id = ids('token');
        await addAgent(ports.features, id.agent(1), 2);
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-current', T0));

        // Act
        const claim = await ports.features.claimCapacity({
          agentId: id.agent(1),
          itemId: id.item(1),
          taskToken: 'token-old',
          at: T0 + 10,
        });

        // Assess
        expect(claim).toEqual({ outcome: 'conflict', reason: 'instance' });
        expect((await ports.features.getAgent(id.agent(1)))?.activeCount).toBe(0);
      });

      it('rejects a claim on an agent that is not available', async () => {
        // Prepare
        const id = ids('busy');
        await addAgent(ports.features, id.agent(1), 3, 'busy');
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));

        // Act
        const claim = await ports.features.claimCapacity({
          agentId: id.agent(1),
          itemId: id.item(1),
          taskToken: 'token-1',
          at: T0 + 10,
        });

        // Assess
        expect(claim).toEqual({ outcome: 'conflict', reason: 'agent' });
      });

      it('never exceeds capacity when many claims race for the last slots', async () => {
        // Prepare
        const id = ids('race');
        await addAgent(ports.features, id.agent(1), 2);
        const items = [1, 2, 3, 4, 5, 6].map((n) => id.item(n));
        for (const [index, itemId] of items.entries()) {
          await ports.instances.enqueue(enqueueRequest(itemId, `token-${index}`, T0 + index));
        }

        // Act
        const outcomes = await Promise.all(
          items.map((itemId, index) =>
            ports.features.claimCapacity({
              agentId: id.agent(1),
              itemId,
              taskToken: `token-${index}`,
              at: T0 + 100,
            }),
          ),
        );

        // Assess
        expect(outcomes.filter((outcome) => outcome.outcome === 'claimed')).toHaveLength(2);
        expect((await ports.features.getAgent(id.agent(1)))?.activeCount).toBe(2);
      });

      it('releases a claim exactly once, however often the release is retried', async () => {
        // Prepare
        const id = ids('release');
        await addAgent(ports.features, id.agent(1), 1);
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));
        await ports.features.claimCapacity({
          agentId: id.agent(1),
          itemId: id.item(1),
          taskToken: 'token-1',
          at: T0,
        });

        // Act
        const first = await ports.features.releaseCapacity({
          itemId: id.item(1),
          agentId: id.agent(1),
          at: T0 + 500,
        });
        const again = await ports.features.releaseCapacity({
          itemId: id.item(1),
          agentId: id.agent(1),
          at: T0 + 600,
        });

        // Assess
        expect([first, again]).toEqual(['released', 'not-held']);
        const agentAfter = await ports.features.getAgent(id.agent(1));
        expect(agentAfter?.activeCount).toBe(0);
        expect(agentAfter?.idleSince).toBe(T0 + 500);
        expect((await ports.instances.get(id.item(1)))?.capacityHeldBy).toBeUndefined();
      });

      it('reverts a claim back to waiting with its token, once', async () => {
        // Prepare
        const id = ids('revert');
        await addAgent(ports.features, id.agent(1), 1);
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));
        const claim = { agentId: id.agent(1), itemId: id.item(1), taskToken: 'token-1', at: T0 + 5 };
        await ports.features.claimCapacity(claim);

        // Act
        const first = await ports.features.revertClaim(claim);
        const again = await ports.features.revertClaim(claim);

        // Assess
        expect([first, again]).toEqual(['reverted', 'not-claimed']);
        expect((await ports.features.getAgent(id.agent(1)))?.activeCount).toBe(0);
        const item = await ports.instances.get(id.item(1));
        expect(item).toMatchObject({
          stage: 'WAITING_ASSIGNMENT',
          taskToken: 'token-1',
          waitingFor: 'assignment',
        });
        expect(item?.assignee).toBeUndefined();
      });
    });

    describe('agents', () => {
      it('keeps activeCount across profile updates and ignores out-of-order changes', async () => {
        // Prepare
        const id = ids('profile');
        await addAgent(ports.features, id.agent(1), 2);
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));
        await ports.features.claimCapacity({
          agentId: id.agent(1),
          itemId: id.item(1),
          taskToken: 'token-1',
          at: T0,
        });
        const profile = {
          agentId: id.agent(1),
          kind: 'person' as const,
          status: 'available' as const,
          capacity: 3,
          skills: [{ skill: 'billing', proficiency: 4 }],
        };

        // Act
        const updated = await ports.features.putAgentProfile({ ...profile, changedAt: T0 + 1_000 });
        const stale = await ports.features.putAgentProfile({ ...profile, capacity: 1, changedAt: T0 + 500 });

        // Assess
        expect([updated, stale]).toEqual(['updated', 'stale']);
        expect(await ports.features.getAgent(id.agent(1))).toMatchObject({
          capacity: 3,
          activeCount: 1,
          skills: [{ skill: 'billing', proficiency: 4 }],
        });
      });

      it('restarts idleSince only when the agent turns available', async () => {
        // Prepare
        const id = ids('idle');
        const base = { agentId: id.agent(1), kind: 'person' as const, capacity: 1, skills: [] };
        await ports.features.putAgentProfile({ ...base, status: 'available', changedAt: T0 });

        // Act
        await ports.features.putAgentProfile({
          ...base,
          status: 'available',
          capacity: 2,
          changedAt: T0 + 1_000,
        });
        const afterStillAvailable = (await ports.features.getAgent(id.agent(1)))?.idleSince;
        await ports.features.putAgentProfile({ ...base, status: 'busy', changedAt: T0 + 2_000 });
        await ports.features.putAgentProfile({ ...base, status: 'available', changedAt: T0 + 3_000 });

        // Assess
        expect(afterStillAvailable).toBe(T0);
        expect((await ports.features.getAgent(id.agent(1)))?.idleSince).toBe(T0 + 3_000);
      });
    });

    describe('queue assignments', () => {
      const assignment = (agentId: string, queueId: string, at: number) => ({
        agentId,
        queueId,
        assignedAt: at,
        assignedBy: 'flowtune:allocation',
        recommendationId: `alloc-${at}-1`,
      });

      it('moves an agent only from the queue the move was planned from', async () => {
        // Prepare
        const id = ids('queue');
        await addAgent(ports.features, id.agent(1), 1);
        const first = await ports.features.assignQueue(assignment(id.agent(1), 'loans', T0), undefined);

        // Act
        const moved = await ports.features.assignQueue(assignment(id.agent(1), 'cards', T0 + 1), 'loans');
        const staleMove = await ports.features.assignQueue(
          assignment(id.agent(1), 'general', T0 + 2),
          'loans',
        );
        const staleFirst = await ports.features.assignQueue(
          assignment(id.agent(1), 'general', T0 + 3),
          undefined,
        );

        // Assess
        expect([first, moved, staleMove, staleFirst]).toEqual([
          'assigned',
          'assigned',
          'conflict',
          'conflict',
        ]);
        const mine = (await ports.features.listQueueAssignments()).filter(
          (entry) => entry.agentId === id.agent(1),
        );
        expect(mine).toEqual([assignment(id.agent(1), 'cards', T0 + 1)]);
      });

      it('never creates an agent by assigning it a queue', async () => {
        // Prepare
        const id = ids('ghost');

        // Act
        const outcome = await ports.features.assignQueue(assignment(id.agent(1), 'cards', T0), undefined);

        // Assess
        expect(outcome).toBe('unknown-agent');
        expect(await ports.features.getAgent(id.agent(1))).toBeUndefined();
        expect(
          (await ports.features.listQueueAssignments()).some((entry) => entry.agentId === id.agent(1)),
        ).toBe(false);
      });

      it('keeps the queue through profile updates and capacity claims, and the profile through a move', async () => {
        // Prepare
        const id = ids('keep');
        await addAgent(ports.features, id.agent(1), 2);
        await ports.features.assignQueue(
          { agentId: id.agent(1), queueId: 'cards', assignedAt: T0, assignedBy: 'ops:ana' },
          undefined,
        );
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));

        // Act
        await ports.features.claimCapacity({
          agentId: id.agent(1),
          itemId: id.item(1),
          taskToken: 'token-1',
          at: T0,
        });
        await ports.features.putAgentProfile({
          agentId: id.agent(1),
          kind: 'person',
          status: 'busy',
          capacity: 3,
          skills: [{ skill: 'cards', proficiency: 4 }],
          changedAt: T0 + 1_000,
        });

        // Assess
        const mine = (await ports.features.listQueueAssignments()).filter(
          (entry) => entry.agentId === id.agent(1),
        );
        expect(mine).toEqual([
          { agentId: id.agent(1), queueId: 'cards', assignedAt: T0, assignedBy: 'ops:ana' },
        ]);
        expect(await ports.features.getAgent(id.agent(1))).toMatchObject({
          status: 'busy',
          capacity: 3,
          activeCount: 1,
        });
      });
    });

    describe('handling statistics', () => {
      it('applies every concurrent update exactly once (optimistic concurrency on the version)', async () => {
        // Prepare
        const id = ids('stats');
        const key = { scope: 'category' as const, category: id.category };
        const observations = [100, 200, 300, 400, 500];

        // Act
        await Promise.all(
          observations.map((seconds) =>
            ports.features.updateHandlingStats(key, (current) => updateHandlingStats(current, seconds)),
          ),
        );

        // Assess
        const features = await ports.features.readHandlingFeatures();
        expect(features.byCategory[id.category]?.count).toBe(5);
        expect(features.byCategory[id.category]?.mean).toBeCloseTo(300, 9);
        expect(features.byCategory[id.category]?.m2).toBeCloseTo(100_000, 6);
      });

      it('files global, category and category × agent statistics where the scorer reads them', async () => {
        // Prepare
        const id = ids('levels');
        const observe = (seconds: number) => (current: Parameters<typeof updateHandlingStats>[0]) =>
          updateHandlingStats(current, seconds);

        // Act
        await ports.features.updateHandlingStats(
          { scope: 'category-agent', category: id.category, agentId: id.agent(1) },
          observe(90),
        );
        await ports.features.updateHandlingStats({ scope: 'category', category: id.category }, observe(120));

        // Assess
        const features = await ports.features.readHandlingFeatures();
        expect(features.byCategoryAgent[`${id.category}#${id.agent(1)}`]).toEqual({
          count: 1,
          mean: 90,
          m2: 0,
        });
        expect(features.byCategory[id.category]).toEqual({ count: 1, mean: 120, m2: 0 });
      });
    });

    describe('instances', () => {
      it('lists a stage oldest first', async () => {
        // Prepare
        const id = ids('order');
        await ports.instances.enqueue(enqueueRequest(id.item(1), 't1', T0 + 3_000));
        await ports.instances.enqueue(enqueueRequest(id.item(2), 't2', T0 + 1_000));
        await ports.instances.enqueue(enqueueRequest(id.item(3), 't3', T0 + 2_000));

        // Act
        const waiting = await ports.instances.listByStage('WAITING_ASSIGNMENT');

        // Assess
        const mine = waiting.map((record) => record.itemId).filter((itemId) => itemId.includes(id.run));
        expect(mine).toEqual([id.item(2), id.item(3), id.item(1)]);
      });

      it('ignores a redelivered enqueue whose token a claim already consumed', async () => {
        // Prepare
        const id = ids('redelivered');
        await addAgent(ports.features, id.agent(1), 1);
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));
        await ports.features.claimCapacity({
          agentId: id.agent(1),
          itemId: id.item(1),
          taskToken: 'token-1',
          at: T0,
        });

        // Act
        const redelivered = await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));

        // Assess
        expect(redelivered.ok).toBe(false);
        expect((await ports.instances.get(id.item(1)))?.stage).toBe('ASSIGNED');
      });

      it('keeps an early completion until one park consumes it; the completion wait cannot park past it', async () => {
        // Prepare
        const id = ids('early');
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));
        const early = { ...completion, id: id.item(1) };
        const stored = await ports.instances.storeEarlyCompletion(id.item(1), early);

        // Act
        const parked = await ports.instances.storeTaskToken({
          itemId: id.item(1),
          taskToken: 'wait-1',
          waitingFor: 'completion',
          stage: 'IN_PROGRESS',
          attempt: 1,
          at: T0 + 10,
        });
        const consumed = await ports.instances.consumeEarlyCompletion(id.item(1), T0 + 20, 'wait-1');
        const consumedAgain = await ports.instances.consumeEarlyCompletion(id.item(1), T0 + 30, 'wait-1');

        // Assess
        expect(stored.ok).toBe(true);
        expect(parked.ok).toBe(false);
        expect(consumed).toEqual(early);
        expect(consumedAgain).toBeUndefined();
        expect(await ports.instances.get(id.item(1))).toMatchObject({
          stage: 'IN_PROGRESS',
          completionReceivedAt: T0 + 20,
          pendingHandover: { taskToken: 'wait-1', completion: early, since: T0 + 20 },
        });
      });

      it('lets exactly one of two racing completions take the completion token', async () => {
        // Prepare
        const id = ids('take');
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));
        await ports.instances.storeTaskToken({
          itemId: id.item(1),
          taskToken: 'wait-1',
          waitingFor: 'completion',
          stage: 'IN_PROGRESS',
          attempt: 1,
          at: T0 + 10,
        });

        // Act
        const takes = await Promise.all([
          ports.instances.takeCompletionToken(id.item(1), 'wait-1', T0 + 20, {
            ...completion,
            id: id.item(1),
          }),
          ports.instances.takeCompletionToken(id.item(1), 'wait-1', T0 + 21, {
            ...completion,
            id: id.item(1),
          }),
        ]);

        // Assess
        expect(takes.filter((take) => take.ok)).toHaveLength(1);
        const after = await ports.instances.get(id.item(1));
        expect(after?.taskToken).toBeUndefined();
        expect(after?.completionReceivedAt).toBeDefined();
        expect(after?.pendingHandover?.taskToken).toBe('wait-1');
      });

      it('keeps a taken completion pending until its hand-over is confirmed, and blocks a completion park meanwhile', async () => {
        // Prepare
        const id = ids('handover');
        const taken = { ...completion, id: id.item(1) };
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));
        await ports.instances.storeTaskToken({
          itemId: id.item(1),
          taskToken: 'wait-1',
          waitingFor: 'completion',
          stage: 'IN_PROGRESS',
          attempt: 1,
          at: T0 + 10,
        });
        await ports.instances.takeCompletionToken(id.item(1), 'wait-1', T0 + 20, taken);

        // Act
        const nextWaitParked = await ports.instances.storeTaskToken({
          itemId: id.item(1),
          taskToken: 'wait-2',
          waitingFor: 'completion',
          stage: 'IN_PROGRESS',
          attempt: 2,
          at: T0 + 30,
        });
        const wrongConfirm = await ports.instances.confirmHandover(id.item(1), 'wait-other');
        const pendingBefore = (await ports.instances.get(id.item(1)))?.pendingHandover;
        const confirmed = await ports.instances.confirmHandover(id.item(1), 'wait-1');
        const confirmedAgain = await ports.instances.confirmHandover(id.item(1), 'wait-1');

        // Assess
        expect(nextWaitParked.ok).toBe(false);
        expect(wrongConfirm.ok).toBe(false);
        expect(pendingBefore).toEqual({ taskToken: 'wait-1', completion: taken, since: T0 + 20 });
        expect([confirmed.ok, confirmedAgain.ok]).toEqual([true, false]);
        const after = await ports.instances.get(id.item(1));
        expect(after?.pendingHandover).toBeUndefined();
        expect(after?.completionReceivedAt).toBe(T0 + 20);
      });

      it('keeps a completion or cancellation that overtook registration only while no record exists', async () => {
        // Prepare
        const id = ids('before');
        const early = { ...completion, id: id.item(1) };
        const cancellation = { reason: 'withdrawn', cancelledAt: '2026-11-20T09:19:57.000Z' };

        // Act
        const kept = await ports.instances.recordBeforeRegistration(id.item(1), T0, { completion: early });
        const keptAgain = await ports.instances.recordBeforeRegistration(id.item(1), T0 + 1, {
          cancellation,
        });
        const cancelled = await ports.instances.recordBeforeRegistration(id.item(2), T0, { cancellation });
        const scored = await ports.instances.recordScored(scoredInstance(id.item(1), T0 + 5));
        const scoredCancelled = await ports.instances.recordScored(scoredInstance(id.item(2), T0 + 5));

        // Assess
        expect([kept.ok, keptAgain.ok, cancelled.ok]).toEqual([true, false, true]);
        expect([scored.ok, scoredCancelled.ok]).toEqual([true, false]);
        const scoredRecord = await ports.instances.get(id.item(1));
        expect(scoredRecord).toMatchObject({ stage: 'SCORED', earlyCompletion: early, confidence: 0.8 });
        expect(scoredRecord?.awaitingCreationSince).toBeUndefined();
        // The kept cancellation waits on a bare record for Score, which cancels instead of scoring.
        expect(await ports.instances.get(id.item(2))).toMatchObject({
          stage: 'VALIDATING',
          cancellation,
          awaitingCreationSince: T0,
        });
      });

      it('forgets a record kept for a creation that never came, only while it still waits for it', async () => {
        // Prepare
        const id = ids('unclaimed');
        const early = { ...completion, id: id.item(1) };
        await ports.instances.recordBeforeRegistration(id.item(1), T0, { completion: early });
        await ports.instances.recordBeforeRegistration(id.item(2), T0, {
          completion: { ...early, id: id.item(2) },
        });
        await ports.instances.recordScored(scoredInstance(id.item(2), T0 + 5));

        // Act
        const wrongSince = await ports.instances.forgetUnclaimedFinish(id.item(1), T0 + 1);
        const forgotten = await ports.instances.forgetUnclaimedFinish(id.item(1), T0);
        const registered = await ports.instances.forgetUnclaimedFinish(id.item(2), T0);

        // Assess
        expect([wrongSince.ok, forgotten.ok, registered.ok]).toEqual([false, true, false]);
        expect(await ports.instances.get(id.item(1))).toBeUndefined();
        expect((await ports.instances.get(id.item(2)))?.stage).toBe('SCORED');
      });

      it('cancels only against the token it saw, and only once', async () => {
        // Prepare
        const id = ids('cancel');
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));
        const cancellation = { reason: 'withdrawn', cancelledAt: '2026-11-20T09:19:57.000Z' };

        // Act
        const wrongToken = await ports.instances.markCancelled(
          id.item(1),
          cancellation,
          'token-other',
          T0 + 5,
        );
        const right = await ports.instances.markCancelled(id.item(1), cancellation, 'token-1', T0 + 6);
        const again = await ports.instances.markCancelled(id.item(1), cancellation, undefined, T0 + 7);

        // Assess
        expect([wrongToken.ok, right.ok, again.ok]).toEqual([false, true, false]);
        const after = await ports.instances.get(id.item(1));
        expect(after).toMatchObject({ stage: 'CANCELLED', cancellation });
        expect(after?.taskToken).toBeUndefined();
      });

      it('parks an exception wait even for an item that has no record yet', async () => {
        // Prepare
        const id = ids('bare');

        // Act
        const parked = await ports.instances.storeTaskToken({
          itemId: id.item(1),
          taskToken: 'exception-1',
          waitingFor: 'exception',
          stage: 'EXCEPTION',
          attempt: 1,
          at: T0,
        });

        // Assess
        expect(parked.ok).toBe(true);
        expect(await ports.instances.get(id.item(1))).toMatchObject({
          stage: 'EXCEPTION',
          taskToken: 'exception-1',
          waitingFor: 'exception',
          requiredSkills: [],
        });
      });

      it('records the outcome once', async () => {
        // Prepare
        const id = ids('outcome');
        await ports.instances.enqueue(enqueueRequest(id.item(1), 'token-1', T0));

        // Act
        const first = await ports.instances.markOutcomeRecorded(id.item(1), T0 + 9, 2_000_000_000);
        const again = await ports.instances.markOutcomeRecorded(id.item(1), T0 + 10, 2_000_000_000);

        // Assess
        expect([first.ok, again.ok]).toEqual([true, false]);
        expect(await ports.instances.get(id.item(1))).toMatchObject({
          stage: 'COMPLETED',
          outcomeRecordedAt: T0 + 9,
        });
      });
    });

    describe('audit and policy', () => {
      it('appends a retried record once and reads the trail in time order', async () => {
        // Prepare
        const id = ids('audit');
        const later = auditRecord({
          itemId: id.item(1),
          kind: 'ASSIGNED',
          at: T0 + 2_000,
          actor: 'flowtune:test',
        });
        const earlier = auditRecord({ itemId: id.item(1), kind: 'SCORED', at: T0, actor: 'flowtune:test' });

        // Act
        const outcomes = [
          await ports.audit.append(later),
          await ports.audit.append(earlier),
          await ports.audit.append({ ...later }),
        ];

        // Assess
        expect(outcomes).toEqual(['appended', 'appended', 'exists']);
        const trail = await ports.audit.listForItem(id.item(1));
        expect(trail.map((record) => record.kind)).toEqual(['SCORED', 'ASSIGNED']);
        expect(trail[1]?.details).toBeUndefined();
      });

      it('keeps a different record whose key is taken under the next sequenced key instead of dropping it', async () => {
        // Prepare: three different facts that land on one key (same instant, same kind, no event id)
        const id = ids('audit-collide');
        const records = [1, 2, 3].map((n) =>
          auditRecord({
            itemId: id.item(1),
            kind: 'REJECTED',
            at: T0,
            actor: 'flowtune:test',
            details: { n },
          }),
        );

        // Act
        const outcomes: string[] = [];
        for (const record of records) outcomes.push(await ports.audit.append(record));
        const [, second] = records;
        const retried = second === undefined ? 'missing' : await ports.audit.append({ ...second });

        // Assess
        expect(outcomes).toEqual(['appended', 'appended', 'appended']);
        expect(retried).toBe('exists');
        const trail = await ports.audit.listForItem(id.item(1));
        expect(trail.map((record) => record.details)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
        expect(new Set(trail.map((record) => record.recordKey)).size).toBe(3);
      });

      it('serves the default policy until one is stored, then the stored one', async () => {
        // Prepare
        const before = await ports.features.getActivePolicy();
        const published = { ...DEFAULT_POLICY, version: `ops-${randomUUID().slice(0, 6)}`, maxReroutes: 3 };

        // Act
        await ports.features.putActivePolicy(published);

        // Assess
        expect(before).toEqual(DEFAULT_POLICY);
        expect(await ports.features.getActivePolicy()).toEqual(published);
      });
    });
  });
}
